#!/usr/bin/env bash
# run_filter_bench.sh - builds bench/filter_bench.c against build/libvsengine.a (make build first)
# and runs it on one shared dataset, writing bench/results/filter_<dataset>[-n<N>].txt with the
# exact command lines at the top.
#
# Usage: bench/run_filter_bench.sh DATASET [N_BASE] [extra filter_bench flags...]
#   DATASET: a folder name under ${VECSTORE_DATA:-$HOME/.cache/vecstore-data}
#            (fashion-mnist-784, sift-photos-128, ...); N_BASE: first N base vectors (0 = all).
# Env: FILTER_BENCH_CACHE (graph cache folder, default /tmp/filter_bench_cache),
#      OUT (result file, default as above), BIN (binary path, default build/bench/filter_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
ds=${1:?usage: bench/run_filter_bench.sh DATASET [N_BASE] [flags...]}
n=${2:-0}
shift $(( $# >= 2 ? 2 : 1 ))
data=${VECSTORE_DATA:-$HOME/.cache/vecstore-data}/$ds
bin=${BIN:-build/bench/filter_bench}
[ -f build/libvsengine.a ] || { echo "build/libvsengine.a missing: run make build" >&2; exit 2; }
mkdir -p "$(dirname "$bin")" bench/results
cc="gcc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -Isrc bench/filter_bench.c build/libvsengine.a -lm -lpthread -lcrypto -ljansson -o $bin"
$cc
suffix=""; [ "$n" != 0 ] && suffix="-n$n"
out=${OUT:-bench/results/filter_${ds}${suffix}.txt}
run="$bin -n $n $* $data"
{
    echo "# command: bench/run_filter_bench.sh $ds $n $*"
    echo "# build:   $cc"
    echo "# run:     $run"
    echo "# commit:  $(git rev-parse --short HEAD) on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
    echo "# note:    the machine is shared with other sessions; the load average below is the noise level"
    echo
} >"$out.tmp"
$run | tee -a "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
