# syntax=docker/dockerfile:1
# VecStore server image: `docker build -t vecstore:latest .` then `docker-compose up -d`.
#
# Stage 1 (build) installs the Debian 12 build dependencies with the same script a developer
# runs (scripts/install-deps.sh build) and builds with the same command (make build), so the
# image and a local build never drift apart. Stage 2 (runtime) holds only the shared libraries
# the binary links against (checked by tests/integration/test_deploy_files.py against `ldd`),
# curl for the health check, and the binary itself, running as the unprivileged user `vecstore`.

ARG DEBIAN_IMAGE=debian:12

# ----------------------------------------------------------------------------- build
FROM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY . .
RUN ./scripts/install-deps.sh build \
 && make build \
 && install -D -m 0755 build/vecstore-server /out/vecstore-server \
 && /out/vecstore-server --version

# ----------------------------------------------------------------------------- runtime
FROM ${DEBIAN_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libwslay1 libjansson4 libssl3 libgrpc29 libprotobuf-c1 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vecstore \
 && useradd --system --uid 10001 --gid vecstore --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin vecstore \
 && mkdir -p /data \
 && chown vecstore:vecstore /data

COPY --from=build /out/vecstore-server /usr/local/bin/vecstore-server

# The database directory lives on the volume: one sub-directory per namespace
# (/data/vectors.db/default/, /data/vectors.db/customer-123/, ...).
VOLUME /data
ENV DB_PATH=/data/vectors.db \
    RUST_LOG=info

USER vecstore
WORKDIR /data

# gRPC and HTTP/REST (+ WebSocket, /metrics).
EXPOSE 50051 8080

# /health answers 200 while the process serves (also while it recovers; /ready waits for that).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${VECSTORE_HTTP_PORT:-8080}/health" >/dev/null || exit 1

# SIGTERM: stop accepting, finish in-flight requests (<= 10 s), write the snapshots, exit 0.
# Give the container enough time for it: `docker stop -t 60`, compose stop_grace_period: 60s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/vecstore-server"]
CMD []
