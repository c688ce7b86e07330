#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks need, and the npm
# packages of the Node.js tests into the repo's own ignored folder (.cache/node). Idempotent:
# packages already present are skipped by apt-get, npm install is a no-op when up to date.
# Run as root (or with sudo available). Shared by the Dockerfile's build stage.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config git ca-certificates
  libmicrohttpd-dev libwslay-dev libjansson-dev libssl-dev libgnutls28-dev
  libgrpc-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler protobuf-compiler-grpc)
TEST_PKGS=(clang libclang-rt-14-dev python3 python3-grpcio python3-protobuf python3-grpc-tools
  python3-websocket python3-requests python3-numpy python3-yaml python-is-python3
  prometheus curl procps)
BENCH_PKGS=(libhnswlib-dev g++ wrk)

want=("${BUILD_PKGS[@]}")
case "${1:-all}" in
  build) ;;
  all) want+=("${TEST_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
  *) echo "usage: $0 [build|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js 20+ and npm may come from elsewhere (NodeSource); only ask Debian when they are absent.
if [ "${1:-all}" = all ] && ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${1:-all}" = all ]; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  if [ ! -d "$here/.cache/node/node_modules/@grpc/grpc-js" ]; then
    mkdir -p "$here/.cache/node"
    npm install --silent --no-audit --no-fund --prefix "$here/.cache/node" \
      @grpc/grpc-js @grpc/proto-loader >/dev/null
  fi
fi
