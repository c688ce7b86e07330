/*
 * grpc_server.h - the gRPC listener of VecStore: VecStoreService, VecStoreAdminService
 * (proto/vecstore.proto), grpc.health.v1.Health and server reflection, over the gRPC C core.
 *
 * The adapter only translates protobuf <-> the service API (src/service/service.h); every rule
 * (auth, status, quotas, validation, messages) lives in the service.
 *
 * Ownership: grpc_server_start creates the listener; the caller destroys it with
 * grpc_server_destroy (after grpc_server_quiesce or not). The service must outlive it.
 * Thread-safety: start/quiesce/destroy are called by the server main thread only.
 */
#ifndef VS_GRPC_GRPC_SERVER_H
#define VS_GRPC_GRPC_SERVER_H

#include "service/service.h"

#include <stddef.h>
#include <stdint.h>

typedef struct vs_grpc_server vs_grpc_server_t;

typedef struct vs_grpc_config {
    const char *host;         /* address to bind ("0.0.0.0", "127.0.0.1", "::", a name) */
    uint16_t port;            /* 1..65535 */
    unsigned threads;         /* handler threads; 0 = number of cores (at least 4 either way) */
    size_t max_message_bytes; /* largest request message (--max-body-bytes); 0 = 64 MiB */
    const char *tls_cert, *tls_key, *tls_client_ca; /* PEM files; NULL cert/key = insecure */
} vs_grpc_config;

/* Binds and starts serving. Port in use -> VS_ERR_IO "gRPC port <port> is already in use". */
vs_err vs_grpc_server_start(vs_service_t *svc, const vs_grpc_config *cfg, vs_grpc_server_t **out,
                            vs_status *st);
/* Stops accepting new calls (in-flight ones continue); ends health Watch streams. Idempotent. */
void vs_grpc_server_quiesce(vs_grpc_server_t *g);
/* Finishes in-flight calls (up to 10 s, then cancels them), shuts down, frees. NULL is a no-op. */
void vs_grpc_server_destroy(vs_grpc_server_t *g);

#ifndef VS_GRPC_INTERNAL
/* The names the server main was specified with. The gRPC C core already exports
 * grpc_server_start and grpc_server_destroy (with other signatures), so the functions carry the
 * vs_ prefix and these aliases keep callers outside the adapter (which never include
 * <grpc/grpc.h>) source-compatible. */
#define grpc_server_start   vs_grpc_server_start
#define grpc_server_quiesce vs_grpc_server_quiesce
#define grpc_server_destroy vs_grpc_server_destroy
#endif

#endif
