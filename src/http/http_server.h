/*
 * http_server.h - the HTTP/1.1 + WebSocket listener (libmicrohttpd + wslay) in front of the
 * service API (service/service.h). The server main starts one per process.
 *
 * Ownership: the server borrows svc (it must outlive the server) and copies cfg.
 * Thread-safety: start/quiesce/destroy are called by one thread (the server main).
 */
#ifndef VS_HTTP_HTTP_SERVER_H
#define VS_HTTP_HTTP_SERVER_H

#include "service/service.h"
#include "vecstore/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct vs_http_server vs_http_server_t;

typedef struct vs_http_config {
    const char *host; /* bind address, e.g. "0.0.0.0" or "127.0.0.1" */
    uint16_t port;
    unsigned threads;          /* worker threads for searches/writes (0 = cores) */
    size_t max_body_bytes;     /* 413 over this (never buffers more than this) */
    size_t max_ws_frame_bytes; /* WebSocket message over this -> close 1009 */
    unsigned max_connections;  /* 10000 */
    unsigned idle_timeout_s;   /* 30: a connection silent that long is closed */
    const char *tls_cert, *tls_key, *tls_client_ca; /* NULL = plain HTTP (TLS: a later issue) */
} vs_http_config;

/* Binds and starts serving. Port in use -> VS_ERR_IO with message "HTTP port <port> is already in
 * use (<host>:<port>: Address already in use)". */
vs_err http_server_start(vs_service_t *svc, const vs_http_config *cfg, vs_http_server_t **out,
                         vs_status *st);
/* Stops accepting new connections (the listening socket is closed). */
void http_server_quiesce(vs_http_server_t *h);
/* Finishes in-flight requests (up to 10 s), closes every connection, frees. */
void http_server_destroy(vs_http_server_t *h);

#endif
