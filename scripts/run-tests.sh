#!/usr/bin/env bash
# run-tests.sh - the project's whole test run (`make test` calls it; .ci/run calls `make test`).
#
# Steps, in order (each one is run even if an earlier one failed, except after a failed build):
#   build        `make build` (release, build/) and `make test-build` (ASan+UBSan, build-test/)
#   unit         ctest --test-dir build-test -L unit          (sanitizer build)
#   crash        ctest --test-dir build-test -L crash         (sanitizer build; SIGKILL rounds)
#   integration  ctest --test-dir build -L integration        (the RELEASE binary: ctest in build/
#                sets VECSTORE_SERVER=build/vecstore-server, so the Python tests run fast; the same
#                tests are registered in build-test/ too, to run against the sanitizer binary by
#                hand: ctest --test-dir build-test -L integration)
#   fuzz         fuzz/run.sh 60, when fuzz/run.sh exists
#   acceptance   <shared>/acceptance/run --server build/vecstore-server, when the suite exists
#                ($VECSTORE_ACCEPTANCE, else ../shared/acceptance, else /work/shared/acceptance;
#                it is not part of the repo)
# Usage: scripts/run-tests.sh [STEP ...]   (default: every step; e.g. `scripts/run-tests.sh unit`)
# Environment: BUILD (build), TEST_BUILD (build-test), JOBS (nproc), VS_SKIP_BUILD=1 skips `build`.
# Prints a summary; exit status 0 only if every step that ran passed.
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TEST_BUILD=${TEST_BUILD:-build-test}
JOBS=${JOBS:-$(nproc)}
ALL_STEPS=(build unit crash integration fuzz acceptance)
if [ $# -gt 0 ]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi
for s in "${STEPS[@]}"; do
  case " ${ALL_STEPS[*]} " in *" $s "*) ;; *) echo "run-tests: unknown step '$s' (steps: ${ALL_STEPS[*]})" >&2; exit 2 ;; esac
done

SUMMARY=()
FAILED=0
record() { # name status seconds [note]
  SUMMARY+=("$(printf '%-12s %-5s %5ss  %s' "$1" "$2" "$3" "${4:-}")")
  [ "$2" = FAIL ] && FAILED=1
  return 0
}
run_step() { # name command...
  local name=$1; shift
  echo
  echo "==> $name: $*"
  local t0=$SECONDS
  if "$@"; then record "$name" PASS $((SECONDS - t0)); else record "$name" FAIL $((SECONDS - t0)) "exit status $?"; fi
}
has_files() { compgen -G "$1" >/dev/null; }

acceptance_dir() {
  local d
  for d in "${VECSTORE_ACCEPTANCE:-}" ../shared/acceptance /work/shared/acceptance; do
    if [ -n "$d" ] && [ -x "$d/run" ]; then (cd "$d" && pwd); return 0; fi
  done
  return 1
}

for step in "${STEPS[@]}"; do
  case $step in
  build)
    if [ "${VS_SKIP_BUILD:-0}" = 1 ]; then record build SKIP 0 "VS_SKIP_BUILD=1"; continue; fi
    run_step build make --no-print-directory build test-build BUILD="$BUILD" TEST_BUILD="$TEST_BUILD" JOBS="$JOBS"
    if [ "$FAILED" = 1 ]; then
      echo "run-tests: the build failed; nothing else can run" >&2
      break
    fi
    ;;
  unit)
    run_step unit ctest --test-dir "$TEST_BUILD" --output-on-failure --no-tests=error -L unit -j "$JOBS"
    ;;
  crash)
    if has_files 'tests/crash/crash_*.c'; then
      run_step crash ctest --test-dir "$TEST_BUILD" --output-on-failure --no-tests=error -L crash
    else
      record crash SKIP 0 "no tests/crash/crash_*.c"
    fi
    ;;
  integration)
    if has_files 'tests/integration/test_*.py'; then
      run_step integration ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -L integration
    else
      record integration SKIP 0 "no tests/integration/test_*.py"
    fi
    ;;
  fuzz)
    if [ -x fuzz/run.sh ]; then
      run_step fuzz ./fuzz/run.sh 60
    else
      record fuzz SKIP 0 "no fuzz/run.sh"
    fi
    ;;
  acceptance)
    if dir=$(acceptance_dir); then
      # the suite runs the README's `make run ...` itself: no make state of ours may leak into it
      run_step acceptance env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u TEST_BUILD \
        "$dir/run" --server "$BUILD/vecstore-server" --repo "$PWD"
    else
      echo "run-tests: no acceptance suite (shared/acceptance is not part of the repo): skipped"
      record acceptance SKIP 0 "suite not found"
    fi
    ;;
  esac
done

echo
echo "==> summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" = 0 ]; then echo "run-tests: OK"; else echo "run-tests: FAILED"; fi
exit "$FAILED"
