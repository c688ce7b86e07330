#!/bin/sh
# fuzz/run.sh SECONDS [target] - builds every libFuzzer target of fuzz/ (fuzz_<name>.c, its sources
# listed one per line in fuzz_<name>.srcs, relative to the repo root; a line starting with `-` is a
# compiler/linker flag, one starting with `$ ` a command run in the repo root first, e.g. to
# generate code into build-fuzz/) into build-fuzz/ with clang,
# ASan and UBSan, then runs each (or only <target>, e.g. `filter` or `fuzz_filter`) for SECONDS
# with -max_total_time. The committed seed corpus fuzz/corpus/<name>/ is read, never written:
# new inputs go to build-fuzz/corpus/<name>/, crashes to build-fuzz/artifacts/<name>/.
# Exits non-zero if a build fails or any target finds a crash, leak, timeout or sanitizer report.
set -u
secs=${1:?usage: fuzz/run.sh SECONDS [target]}
only=${2:-}
only=${only#fuzz_}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build-fuzz"
CC=${CC:-clang}
mkdir -p "$out"
status=0
found=0
for src in "$root"/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    short=${name#fuzz_}
    [ -n "$only" ] && [ "$only" != "$short" ] && continue
    found=1
    srcs=""
    if [ -f "$root/fuzz/$name.srcs" ]; then
        while IFS= read -r f; do
            case "$f" in
            ''|'#'*) continue ;;
            # "$ cmd": run in the repo root before the build (code generation into build-fuzz/)
            '$ '*) (cd "$root" && sh -c "${f#\$ }" </dev/null) || { echo "FAIL: $f"; status=1; } ;;
            -*) srcs="$srcs $f" ;; # a compiler/linker flag (-lfoo; -I paths relative to the root)
            *) srcs="$srcs $root/$f" ;;
            esac
        done < "$root/fuzz/$name.srcs"
    fi
    echo "== build $name"
    # shellcheck disable=SC2086
    if ! (cd "$root" && $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$root/include" -I"$root/src" "$src" $srcs -lm -pthread -o "$out/$name"); then
        echo "FAIL: build of $name"
        status=1
        continue
    fi
    corpus="$out/corpus/$short"
    art="$out/artifacts/$short"
    mkdir -p "$corpus" "$art"
    dict=""
    [ -f "$root/fuzz/$short.dict" ] && dict="-dict=$root/fuzz/$short.dict"
    seeds=""
    [ -d "$root/fuzz/corpus/$short" ] && seeds="$root/fuzz/corpus/$short"
    echo "== run $name for ${secs}s"
    # shellcheck disable=SC2086
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$out/$name" -max_total_time="$secs" -max_len=4200 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" $dict "$corpus" $seeds \
        > "$out/$short.log" 2>&1
    rc=$?
    grep -aE "^(Done [0-9]+ runs|stat::number_of_executed_units|stat::new_units_added)" "$out/$short.log"
    if [ $rc -ne 0 ]; then
        echo "FAIL: $name exited $rc (log: $out/$short.log, artifacts: $art/)"
        tail -40 "$out/$short.log"
        status=1
    else
        echo "OK: $name"
    fi
done
if [ $found -eq 0 ]; then
    echo "no fuzz target matches '${2:-}'"
    exit 2
fi
exit $status
