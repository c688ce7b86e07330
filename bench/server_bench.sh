#!/usr/bin/env bash
# server_bench.sh - issue 5 (HTTP query throughput against the engine in process) and issue 6 (gRPC
# vs HTTP). Results: bench/results/server_query.txt and bench/results/grpc_vs_http.txt
# (+ bench/results/server_profile.txt with PERF=1). Run `make build` first.
#
# Steps:
#  1. data: the first 100,000 base vectors of sift-photos-128 (else synthetic-clustered-128, else
#     seeded random), 128-d, l2; query bodies: the dataset's first 10,000 query vectors (the
#     server's query-result cache holds 4,096 entries, so rotating 10,000 distinct bodies
#     cyclically makes every query a miss: real searches), its first 300 (the brief's "a few
#     hundred": mostly cache hits after the first pass, reported apart), and 10,000 random
#     uniform [-1,1) vectors (random.Random(1)), the same kind of queries grpc_bench.py sends.
#  2. build/vecstore-server --fsync never on 127.0.0.1 (fresh db in $WORK), namespace `bench`
#     (dim 128, l2) created with POST /admin/namespaces, loaded with POST /v1/batch-upsert
#     (100 bodies of 1,000 records, curl, one after another; time reported).
#  3. (server restarted before every run: empty query-result cache) wrk -t2 (-t1 for 1 connection: wrk needs connections >= threads) -d${SECS}s --latency
#     -s bench/server_query.lua at 1, 8, 64 connections; cache hits/misses read from /metrics
#     around each run.
#  4. tools/grpc_bench/grpc_bench.py --n 0 --namespace bench (no extra load: the same 100k) at 1, 8,
#     64 clients, each paired with a wrk run of the random-uniform bodies at the same concurrency
#     (GROUNDS rounds at 8); server and client CPU seconds per run.
#  5. SIGTERM the server, then bench/engine_inproc.c on the same db dir: coll_search from 1 and 2
#     threads, same bodies, same ef and limit.
#  6. ratio rounds (C): ROUNDS times a wrk 8-connection run then, server stopped, an in-process
#     2-thread run, back to back, so each ratio compares runs under the same background load.
# Environment: SECS (10), ROUNDS (3), GROUNDS (3), EF (64 = the default ef_search), WORK (/tmp/vecstore-server-bench),
# KEEP_DB=1 (reuse $WORK/db from an earlier run), HTTP_PORT (18481), GRPC_PORT (18482), PERF=1 (perf record the server during the 8-connection run).
# `bench/server_bench.sh profile` re-renders server_profile.txt from $WORK/perf.data.
# A benchmark, not a test: nothing fails on timings.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/vecstore-server-bench}
DATA=${VECSTORE_DATA:-$HOME/.cache/vecstore-data}
SECS=${SECS:-10}
EF=${EF:-64}
ROUNDS=${ROUNDS:-3}
GROUNDS=${GROUNDS:-3}
HTTP_PORT=${HTTP_PORT:-18481}
GRPC_PORT=${GRPC_PORT:-18482}
URL=http://127.0.0.1:$HTTP_PORT
OUT=bench/results/server_query.txt
GOUT=bench/results/grpc_vs_http.txt
mkdir -p "$WORK" bench/results
# Renders bench/results/server_profile.txt from $WORK/perf.data (the A c=8 run of a PERF=1 run).
# `bench/server_bench.sh profile` only re-renders it from an existing perf.data.
render_profile() {
    local pr="perf report -i $WORK/perf.data --no-children -g none --stdio"
    {
        echo "command: PERF=1 bench/server_bench.sh; perf record -F 999 -g -p <server pid> during the A c=8 wrk run"
        echo "(10,000 distinct dataset queries, all cache misses); views below: $pr --sort ... (self time)"
        echo "server: build/vecstore-server of $(stat -c %y "$WORK/vecstore-server" | cut -d. -f1), perf.data of $(stat -c %y "$WORK/perf.data" | cut -d. -f1)"
        echo "machine: nproc=$(nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
        echo
        echo "# --sort dso,symbol --percent-limit 0.7"
        $pr --sort dso,symbol --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep '%' | head -60
        echo
        echo "# --sort comm (threads: http-worker = the query pool, MHD-single = libmicrohttpd's event thread)"
        $pr --sort comm 2>/dev/null | grep '%' | head -20
        echo
        echo "# --sort comm,dso"
        $pr --sort comm,dso --percent-limit 0.05 2>/dev/null | grep '%' | head -20
        echo
        echo "# --comm MHD-single --sort sym --percent-limit 0.2"
        $pr --comm MHD-single --sort sym --percent-limit 0.2 2>/dev/null | grep '%' | head -20
        echo
        echo "# --comm http-worker --sort dso,sym --percent-limit 0.3"
        $pr --comm http-worker --sort dso,sym --percent-limit 0.3 2>/dev/null | grep '%' | head -30
        echo
        echo "# kernel call chains of the http-worker samples: perf report -i perf.data --no-children -g caller,0.5 --comm http-worker --dso '[kernel.kallsyms]' --stdio"
        perf report -i "$WORK/perf.data" --no-children -g caller,0.5 --comm http-worker --dso '[kernel.kallsyms]' --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -40
    } >bench/results/server_profile.txt
}
if [ "${1:-}" = profile ]; then
    render_profile
    exit 0
fi

# a private copy of the server, so a concurrent `make build` cannot swap it mid-run
cp build/vecstore-server "$WORK/vecstore-server"
gcc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -Isrc bench/engine_inproc.c build/libvsengine.a \
    -lm -lpthread -lcrypto -ljansson -o "$WORK/engine_inproc"

ds=""
for d in sift-photos-128 synthetic-clustered-128; do
    if [ -f "$DATA/$d/info.json" ]; then ds=$DATA/$d; break; fi
done

# ---- 1. data (python3 stdlib only) ----
python3 - "$ds" "$WORK" <<'EOF'
import json, os, random, struct, sys
ds, work = sys.argv[1], sys.argv[2]
N, DIM = 100000, 128
def read_fvecs(path, n):
    out = []
    with open(path, 'rb') as f:
        for _ in range(n):
            h = f.read(4)
            if not h: break
            d = struct.unpack('<i', h)[0]
            out.append(struct.unpack('<%df' % d, f.read(4 * d)))
    return out
def fmt(v):
    return '[' + ','.join(('%d' % x) if x == int(x) else repr(x) for x in v) + ']'
if ds:
    base = read_fvecs(os.path.join(ds, 'base.fvecs'), N)
    qs = read_fvecs(os.path.join(ds, 'query.fvecs'), 10000)
else:
    r = random.Random(1281000)
    base = [[r.gauss(0, 1) for _ in range(DIM)] for _ in range(N)]
    qs = [[r.gauss(0, 1) for _ in range(DIM)] for _ in range(10000)]
os.makedirs(os.path.join(work, 'batches'), exist_ok=True)
for b in range(0, N, 1000):
    recs = ','.join('{"id":"v%07d","vector":%s}' % (i, fmt(base[i])) for i in range(b, min(N, b + 1000)))
    with open(os.path.join(work, 'batches', '%03d.json' % (b // 1000)), 'w') as f:
        f.write('{"namespace":"bench","records":[' + recs + ']}')
def bodies(name, vecs):
    with open(os.path.join(work, name), 'w') as f:
        for v in vecs:
            f.write('{"namespace":"bench","vector":%s,"limit":10,"ef":%s}\n' % (fmt(v), os.environ.get('EF', '64')))
bodies('q_data10000.txt', qs[:10000])
bodies('q_data300.txt', qs[:300])
r = random.Random(1)
bodies('q_rand10000.txt', [[r.uniform(-1.0, 1.0) for _ in range(DIM)] for _ in range(10000)])
EOF

header() {
    echo "command: bench/server_bench.sh  (SECS=$SECS EF=$EF PERF=${PERF:-0})"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit: $(git rev-parse --short HEAD)"
    echo "server: build/vecstore-server of $(stat -c %y build/vecstore-server | cut -d. -f1) (copied to \$WORK before the run)"
    echo "machine: nproc=$(nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB RAM; client (wrk / python) and server share these cores"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: other sessions run builds/benchmarks)"
    echo "data: ${ds:-seeded random N(0,1)} first 100,000 base vectors (dim 128, l2), namespace bench"
    echo
}

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; } # utime+stime of a process, in clock ticks
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1==m{print $2}'; }

# ---- 2. server + load ----
# The server is restarted (SIGTERM: snapshot; start: load it) before every measured run, so each
# run starts with an empty query-result cache and no run is served from an earlier run's entries.
SPID=""
start_server() {
    "$WORK/vecstore-server" --db-path "$WORK/db" --host 127.0.0.1 --http-port "$HTTP_PORT" --grpc-port "$GRPC_PORT" \
        --fsync never --dimension 128 --metric l2 >>"$WORK/server.log" 2>&1 &
    SPID=$!
    for _ in $(seq 300); do curl -sf "$URL/ready" >/dev/null && return 0; sleep 0.1; done
    echo "server did not start: $WORK/server.log" >&2
    exit 1
}
stop_server() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}
trap stop_server EXIT
REUSED=0
if [ "${KEEP_DB:-0}" = 1 ] && [ -d "$WORK/db/bench" ]; then
    REUSED=1
    start_server
else
    rm -rf "$WORK/db" "$WORK/server.log"
    start_server
    curl -sf -X POST "$URL/admin/namespaces" -H 'Content-Type: application/json' \
        -d '{"id":"bench","dimension":128,"metric":"l2"}' >/dev/null
fi

run_wrk() { # connections bodies-file label
    local c=$1 t=2 h0 m0
    [ "$c" -lt 2 ] && t=1
    stop_server
    start_server
    h0=$(metric vecstore_cache_hits_total)
    m0=$(metric vecstore_cache_misses_total)
    if [ -n "${PERF_RUN:-}" ]; then
        perf record -F 999 -g -p "$SPID" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
        PERF_PID=$!
    fi
    local s0 w0
    s0=$(cpu_ticks "$SPID")
    echo "## $3: wrk -t$t -c$c -d${SECS}s --latency -s bench/server_query.lua $URL -- $2"
    /usr/bin/time -o "$WORK/wrk.time" -f "%U %S" wrk -t"$t" -c"$c" -d"${SECS}s" --latency -s bench/server_query.lua "$URL" -- "$2" |
        grep -E 'Latency|Req/Sec|requests in|Requests/sec|Transfer/sec|Non-2xx|Socket errors|^ +(50|75|90|99)%|lua:' | tee "$WORK/wrk.out"
    local s1
    s1=$(cpu_ticks "$SPID")
    echo "  CPU seconds during the run: server $(awk -v a="$s0" -v b="$s1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz}') ($(awk -v a="$s0" -v b="$s1" -v hz="$(getconf CLK_TCK)" -v n="$(awk '/requests in/{print $1}' "$WORK/wrk.out")" 'BEGIN{printf "%.0f", n/((b-a)/hz)}') requests per server CPU-s), wrk $(awk '{printf "%.2f", $1+$2}' "$WORK/wrk.time") (of $((2 * SECS)) available on 2 cores)"
    echo "  server query-result cache during the run: hits $(( $(metric vecstore_cache_hits_total) - h0 )), misses $(( $(metric vecstore_cache_misses_total) - m0 ))"
    echo
    echo "SUMMARY http $c $(awk '/Requests\/sec/{print $2}' "$WORK/wrk.out") $(awk '/requests in/{print $1}' "$WORK/wrk.out") $(awk -v a="$s0" -v b="$s1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz}')" >>"$WORK/summary.txt"
    if [ -n "${PERF_RUN:-}" ]; then wait "$PERF_PID" || true; PERF_RUN=""; fi
}

{
    header
    rm -f "$WORK/rounds.txt"
    if [ "$REUSED" = 1 ]; then
        echo "load: reused the database loaded by an earlier run (KEEP_DB=1)"
    else
        t0=$(date +%s.%N)
        for f in "$WORK"/batches/*.json; do
            curl -sf -X POST "$URL/v1/batch-upsert" -H 'Content-Type: application/json' --data-binary @"$f" >/dev/null
        done
        t1=$(date +%s.%N)
        echo "load: 100 x POST /v1/batch-upsert of 1,000 records (curl, sequential, --fsync never): $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f s, %.0f vectors/s", b-a, 100000/(b-a)}')"
    fi
    echo "count: $(curl -s "$URL/admin/namespaces/bench/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["vector_count"], "vectors")')"
    echo
    echo "# A. 10,000 distinct dataset query vectors rotated (every query a cache miss: real HNSW searches)"
    for c in 1 8 64; do
        PERF_RUN=""
        [ "$c" = 8 ] && [ "${PERF:-0}" = 1 ] && PERF_RUN=1
        run_wrk "$c" "$WORK/q_data10000.txt" "A c=$c"
    done
    echo "# C. paired rounds under the same background load: [server: wrk A c=8] then [server stopped: in-process 2 threads], ${ROUNDS} times"
    for r in $(seq "$ROUNDS"); do
        run_wrk 8 "$WORK/q_data10000.txt" "C round $r server c=8" >"$WORK/round.txt" 2>&1
        q=$(awk '/Requests\/sec/{print $2}' "$WORK/round.txt")
        stop_server
        "$WORK/engine_inproc" "$WORK/db" bench "$WORK/q_data10000.txt" 2 "$SECS" "$EF" 10 2>/dev/null >"$WORK/round_in.txt"
        i=$(sed -n 's/.* \([0-9]*\) queries\/s.*/\1/p' "$WORK/round_in.txt")
        icpu=$(sed -n 's/.* \([0-9]*\) queries per CPU-second.*/\1/p' "$WORK/round_in.txt")
        scpu=$(sed -n 's/.*CPU seconds during the run: server \([0-9.]*\) .*/\1/p' "$WORK/round.txt")
        qn=$(awk '/requests in/{print $1}' "$WORK/round.txt")
        sq=$(awk -v n="$qn" -v c="$scpu" 'BEGIN{printf "%.0f", n/c}')
        echo "round $r: server c=8 $q queries/s (p99 $(grep -m1 '99%' "$WORK/round.txt" | awk '{print $2}'), $qn queries on $scpu server CPU-s = $sq per CPU-s; wrk $(awk '{printf "%.2f", $1+$2}' "$WORK/wrk.time") CPU-s) | in-process 2 threads $i queries/s ($icpu per CPU-s) | ratio $(awk -v a="$q" -v b="$i" 'BEGIN{printf "%.2f", a/b}'), per CPU-s $(awk -v a="$sq" -v b="$icpu" 'BEGIN{printf "%.2f", a/b}')"
        echo "$q $i $sq $icpu" >>"$WORK/rounds.txt"
    done
    med() { sort -g | awk '{a[NR]=$1} END{printf "%.2f", (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
    echo "median ratio of queries/s over the rounds: $(awk '{print $1/$2}' "$WORK/rounds.txt" | med) (target >= 0.70)"
    echo "median ratio of queries per CPU-second (server process vs in-process; independent of the share of the machine each run got): $(awk '{print $3/$4}' "$WORK/rounds.txt" | med)"
    echo
    echo "# B. 300 distinct dataset query vectors rotated (the brief's 'a few hundred': after the first pass every query is a query-result cache hit; not a search benchmark)"
    for c in 1 8 64; do run_wrk "$c" "$WORK/q_data300.txt" "B c=$c"; done
} >"$OUT.tmp" 2>&1
cat "$OUT.tmp"

run_grpc() { # clients label
    local s0 h0
    stop_server
    start_server
    h0=$(metric vecstore_cache_hits_total)
    s0=$(cpu_ticks "$SPID")
    echo "## $2: /usr/bin/python3 tools/grpc_bench/grpc_bench.py --addr 127.0.0.1:$GRPC_PORT --n 0 --namespace bench --seconds $SECS --clients $1"
    # grpc_bench.py forks its workers after opening a channel; now and then a worker dies at start
    # and the parent waits forever: bounded by timeout, retried (at most 3 attempts, each noted).
    local attempt
    for attempt in 1 2 3; do
        if [ "$attempt" -gt 1 ]; then
            echo "  (attempt $((attempt - 1)) hung: grpc_bench.py's parent waited for a worker that died; retrying on a restarted server)"
            stop_server
            start_server
            h0=$(metric vecstore_cache_hits_total)
            s0=$(cpu_ticks "$SPID")
        fi
        timeout $((SECS + 60)) /usr/bin/time -o "$WORK/py.time" -f "%U %S" /usr/bin/python3 tools/grpc_bench/grpc_bench.py \
            --addr 127.0.0.1:"$GRPC_PORT" --n 0 --namespace bench --seconds "$SECS" --clients "$1" >"$WORK/py.raw" 2>&1 || true
        grep -q '^op=query' "$WORK/py.raw" && break
    done
    grep -v '^loaded' "$WORK/py.raw" | tee "$WORK/py.out"
    local scpu n
    scpu=$(awk -v a="$s0" -v b="$(cpu_ticks "$SPID")" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz}')
    n=$(awk '/^op=query/{print $5}' "$WORK/py.out")
    echo "  CPU seconds during the run: server $scpu ($(awk -v n="$n" -v c="$scpu" 'BEGIN{printf "%.0f", n/c}') calls per server CPU-s), client (python, all processes, incl. start-up) $(awk '{printf "%.2f", $1+$2}' "$WORK/py.time") (of $((2 * SECS)) available on 2 cores)"
    echo "  server query-result cache hits during the run: $(( $(metric vecstore_cache_hits_total) - h0 ))"
    echo "SUMMARY grpc $1 $(awk '/^op=query/{for(i=1;i<=NF;i++) if($i=="calls/s,") print $(i-1)}' "$WORK/py.out") $n $scpu" >>"$WORK/summary.txt"
    echo
}

rm -f "$WORK/summary.txt"
{
    echo "# Paired runs: for each concurrency C, HTTP (wrk, random-uniform bodies) then gRPC (grpc_bench.py), each on a"
    echo "# freshly restarted server (empty query cache); C=8 is repeated $GROUNDS times (medians at the end)."
    for c in 1 8 64; do
        rounds=1
        [ "$c" = 8 ] && rounds=$GROUNDS
        for r in $(seq "$rounds"); do
            run_wrk "$c" "$WORK/q_rand10000.txt" "HTTP c=$c round $r"
            run_grpc "$c" "gRPC c=$c round $r"
        done
    done
} >"$WORK/grpc_part.txt" 2>&1
cat "$WORK/grpc_part.txt"

# ---- 5. stop the server, in-process baseline ----
stop_server
{
    echo "# in process (server stopped; the same db dir): $WORK/engine_inproc $WORK/db bench BODIES THREADS $SECS $EF 10"
    for t in 1 2; do "$WORK/engine_inproc" "$WORK/db" bench "$WORK/q_data10000.txt" "$t" "$SECS" "$EF" 10 2>/dev/null; done
    "$WORK/engine_inproc" "$WORK/db" bench "$WORK/q_rand10000.txt" 2 "$SECS" "$EF" 10 2>/dev/null | sed 's/^/random-uniform bodies: /'
} | tee "$WORK/inproc.txt"

http8=$(awk '/^## A c=8:/{f=1} f&&/Requests\/sec/{print $2; exit}' "$OUT.tmp")
inp2=$(awk '/threads=2/ && !/random-uniform/{for(i=1;i<=NF;i++) if($i=="queries/s,") print $(i-1)}' "$WORK/inproc.txt" | head -1)
{
    echo
    grep -v '^random-uniform' "$WORK/inproc.txt"
    echo
    echo "ratio (A and the first in-process run above, not paired): server queries/s at 8 connections (A) / in-process with 2 threads = $http8 / $inp2 = $(awk -v a="$http8" -v b="$inp2" 'BEGIN{printf "%.2f", a/b}') (target >= 0.70)"
} | tee -a "$OUT.tmp"
mv "$OUT.tmp" "$OUT"

{
    header
    echo "Client-side CPU caveat: client and server share the 2 cores. wrk is a C event loop (little CPU"
    echo "per request); grpc_bench.py runs one Python process per client (protobuf encode + grpcio per"
    echo "call, far more client CPU per request), so gRPC figures here understate the server and the"
    echo "comparison favours HTTP. Both send 128-d random-uniform [-1,1) vectors, limit 10, default"
    echo "ef_search ($EF), metadata included (the default of both), namespace bench."
    echo
    grep -v '^SUMMARY' "$WORK/grpc_part.txt"
    echo "# in process, same random-uniform bodies, 2 threads:"
    grep '^random-uniform' "$WORK/inproc.txt" | sed 's/^random-uniform bodies: //'
    echo
    med() { sort -g | awk '{a[NR]=$1} END{printf "%.0f", (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
    echo "# at 8 concurrent, medians of the $GROUNDS paired rounds:"
    echo "#   HTTP (wrk):            $(awk '$2=="http" && $3==8' "$WORK/summary.txt" | tail -n "$GROUNDS" | awk '{print $4}' | med) requests/s, $(awk '$2=="http" && $3==8' "$WORK/summary.txt" | tail -n "$GROUNDS" | awk '{print $5/$6}' | med) requests per server CPU-second"
    echo "#   gRPC (grpc_bench.py):  $(awk '$2=="grpc" && $3==8' "$WORK/summary.txt" | awk '{print $4}' | med) calls/s,    $(awk '$2=="grpc" && $3==8' "$WORK/summary.txt" | awk '{print $5/$6}' | med) calls per server CPU-second"
    echo "# (requests per server CPU-second compares the two front ends' server-side cost without the client's"
    echo "# share of the cores; the wall-clock rate of gRPC is capped by the Python client's CPU.)"
} >"$GOUT"
cat "$GOUT" | tail -3

if [ "${PERF:-0}" = 1 ] && [ -f "$WORK/perf.data" ]; then render_profile; fi
