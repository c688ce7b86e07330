/*
 * main.c - vecstore-server: wires configuration, logging, signals, the service and the listeners.
 *
 * Start-up, in order (SPEC section 1):
 *   1. srv_config_parse: a bad flag or variable prints `error: ...` (one line) and exits 2;
 *      --help / --version print to stdout and exit 0.
 *   2. The log level is set; SIGTERM/SIGINT are blocked and SIGPIPE ignored before any thread is
 *      created, then the signal watcher thread starts (signals.h).
 *   3. svc_open (creates the db directory; failure -> exit 1 with the reason).
 *   4. The HTTP listener starts and prints `HTTP listening on HOST:PORT` on stdout; the gRPC
 *      port is checked free (a bind probe). A listener that cannot start (port in use) -> exit 1,
 *      the log line names the address and port.
 *   5. Without an API key a WARN line says the server is open to every client.
 *   6. svc_recover loads every namespace while /health answers and /ready says 503. Failure ->
 *      exit 1 with the service's message (file and offset). The catalog is not closed then, so a
 *      half-loaded namespace never writes a snapshot.
 *   7. The gRPC listener starts and prints `gRPC listening on HOST:PORT`. It opens after
 *      recovery on purpose: HTTP has /ready to say "recovering", while for a gRPC client
 *      (--no-http deployments, whose readiness signal is the port itself) an accepting port means
 *      every namespace is loaded and grpc.health.v1 answers SERVING. A port taken between the
 *      probe of step 4 and now still exits 1.
 * Shutdown, on the first SIGTERM/SIGINT: svc_begin_shutdown (new data requests get 503), both
 * listeners stop accepting (quiesce), then are destroyed (in-flight requests finish), svc_close
 * waits up to 10 s for the last tickets and writes the snapshots; exit 0. A second signal during
 * shutdown exits at once with status 1 (signals.c).
 *
 * Exit statuses: 0 clean shutdown or --help/--version; 1 start-up failure, failed recovery or a
 * forced second signal; 2 invalid configuration.
 *
 * No rules live here: limits and validation belong to service/, decoding to the adapters.
 * Concurrency: main is the only thread that touches the listener handles and the service handle's
 * life cycle; everything else is the adapters' and the service's own threads.
 */
#include "server/config.h"
#include "server/signals.h"

#include "service/service.h"
#include "util/log.h"

#ifdef VS_HAVE_HTTP
#include "http/http_server.h"
#endif
#ifdef VS_HAVE_GRPC
#include "grpc/grpc_server.h"
#endif

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

#define SRV_DRAIN_TIMEOUT_MS 10000

typedef struct listeners {
#ifdef VS_HAVE_HTTP
    vs_http_server_t *http;
#endif
#ifdef VS_HAVE_GRPC
    vs_grpc_server_t *grpc;
#endif
    int unused_; /* keeps the struct non-empty in a build without adapters */
} listeners;

/* After a listener failed to start: is something else bound to host:port? (A hint for the log
 * line; the adapter's own message may not say why its bind failed.) */
static bool port_taken(const char *host, uint16_t port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char serv[8];
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    if (getaddrinfo(host, serv, &hints, &res) != 0 || !res) return false;
    bool taken = false;
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        taken = bind(fd, res->ai_addr, res->ai_addrlen) != 0 && errno == EADDRINUSE;
        close(fd);
    }
    freeaddrinfo(res);
    return taken;
}

/* "HOST:PORT", IPv6 literals in brackets. */
static void addr_str(const char *host, uint16_t port, char *buf, size_t n)
{
    if (strchr(host, ':'))
        snprintf(buf, n, "[%s]:%u", host, (unsigned)port);
    else
        snprintf(buf, n, "%s:%u", host, (unsigned)port);
}

static void announce(const char *proto, const srv_config *cfg, uint16_t port)
{
    char addr[300];
    addr_str(cfg->host, port, addr, sizeof addr);
    printf("%s listening on %s%s\n", proto, addr, cfg->tls_cert ? " (TLS)" : "");
    fflush(stdout);
}

static bool start_http(const srv_config *cfg, vs_service_t *svc, listeners *l)
{
    char addr[300];
    vs_status st;
    (void)svc, (void)st, (void)l, (void)announce, (void)port_taken; /* unused without adapters */
    if (cfg->http_enabled) {
        addr_str(cfg->host, cfg->http_port, addr, sizeof addr);
#ifdef VS_HAVE_HTTP
        vs_http_config hc = {
            .host = cfg->host,
            .port = cfg->http_port,
            .threads = cfg->threads,
            .max_body_bytes = cfg->max_body_bytes,
            .max_ws_frame_bytes = cfg->max_ws_frame_bytes,
            .max_connections = cfg->max_connections,
            .idle_timeout_s = cfg->idle_timeout_s,
            .tls_cert = cfg->tls_cert,
            .tls_key = cfg->tls_key,
            .tls_client_ca = cfg->tls_client_ca,
        };
        vs_status_clear(&st);
        if (http_server_start(svc, &hc, &l->http, &st) != VS_OK) {
            vs_log_error("cannot start the HTTP server on %s (--http-port %u): %s%s", addr,
                         (unsigned)cfg->http_port, st.msg,
                         !strstr(st.msg, "in use") && port_taken(cfg->host, cfg->http_port)
                             ? " (address already in use)"
                             : "");
            return false;
        }
        announce("HTTP", cfg, cfg->http_port);
#else
        vs_log_error("this build has no HTTP adapter; cannot listen on %s (use --no-http)", addr);
        return false;
#endif
    }
    return true;
}

static bool start_grpc(const srv_config *cfg, vs_service_t *svc, listeners *l)
{
    char addr[300];
    vs_status st;
    (void)svc, (void)st, (void)l; /* unused without the adapter */
    if (cfg->grpc_enabled) {
        addr_str(cfg->host, cfg->grpc_port, addr, sizeof addr);
#ifdef VS_HAVE_GRPC
        vs_grpc_config gc = {
            .host = cfg->host,
            .port = cfg->grpc_port,
            .threads = cfg->threads,
            .max_message_bytes = cfg->max_body_bytes,
            .tls_cert = cfg->tls_cert,
            .tls_key = cfg->tls_key,
            .tls_client_ca = cfg->tls_client_ca,
        };
        vs_status_clear(&st);
        if (grpc_server_start(svc, &gc, &l->grpc, &st) != VS_OK) {
            vs_log_error("cannot start the gRPC server on %s (--grpc-port %u): %s%s", addr,
                         (unsigned)cfg->grpc_port, st.msg,
                         !strstr(st.msg, "in use") && port_taken(cfg->host, cfg->grpc_port)
                             ? " (address already in use)"
                             : "");
            return false;
        }
        announce("gRPC", cfg, cfg->grpc_port);
#else
        vs_log_error("this build has no gRPC adapter; cannot listen on %s (use --no-grpc)", addr);
        return false;
#endif
    }
    return true;
}

/* Stop accepting on both, then wait for in-flight requests and free them. Idempotent. */
static void stop_listeners(listeners *l)
{
#ifdef VS_HAVE_HTTP
    if (l->http) http_server_quiesce(l->http);
#endif
#ifdef VS_HAVE_GRPC
    if (l->grpc) grpc_server_quiesce(l->grpc);
#endif
#ifdef VS_HAVE_HTTP
    if (l->http) http_server_destroy(l->http);
    l->http = NULL;
#endif
#ifdef VS_HAVE_GRPC
    if (l->grpc) grpc_server_destroy(l->grpc);
    l->grpc = NULL;
#endif
    (void)l;
}

static void log_config(const srv_config *c)
{
    vs_log_info("vecstore-server %s starting db_path=%s fsync=%s threads=%u", VS_VERSION,
                c->db_path, srv_fsync_name(c->fsync), c->threads);
    vs_log_debug("config host=%s http=%s http_port=%u grpc=%s grpc_port=%u dimension=%u metric=%s "
                 "max_body_bytes=%zu max_ws_frame_bytes=%zu max_connections=%u idle_timeout_s=%u "
                 "api_key=%s metrics_require_key=%s tls=%s client_ca=%s log_level=%s",
                 c->host, c->http_enabled ? "on" : "off", (unsigned)c->http_port,
                 c->grpc_enabled ? "on" : "off", (unsigned)c->grpc_port, c->dimension,
                 srv_metric_name(c->metric), c->max_body_bytes, c->max_ws_frame_bytes,
                 c->max_connections, c->idle_timeout_s, c->api_key ? "set" : "none",
                 c->metrics_require_key ? "yes" : "no", c->tls_cert ? "on" : "off",
                 c->tls_client_ca ? "on" : "off", vs_log_level_name(c->log_level));
    if (c->log_env_ignored_name)
        vs_log_warn("%s=%s names no log level (error, warn, info, debug, trace): using %s",
                    c->log_env_ignored_name, c->log_env_ignored_value,
                    vs_log_level_name(c->log_level));
}

int main(int argc, char **argv)
{
    srv_config cfg;
    char err[1024];
    switch (srv_config_parse(argc, argv, environ, &cfg, err, sizeof err)) {
    case SRV_CFG_HELP:
        srv_config_help(stdout);
        return 0;
    case SRV_CFG_VERSION:
        printf("vecstore-server %s\n", VS_VERSION);
        return 0;
    case SRV_CFG_ERROR:
        fprintf(stderr, "error: %s\n", err);
        return 2;
    case SRV_CFG_RUN:
        break;
    }

    vs_log_set_level(cfg.log_level);
    srv_signals_block();
    if (!srv_signals_start()) {
        vs_log_error("cannot start the signal watcher thread");
        return 1;
    }
    log_config(&cfg);

    vs_service_config sc = {
        .db_path = cfg.db_path,
        .default_dimension = cfg.dimension,
        .default_metric = cfg.metric,
        .fsync = cfg.fsync,
        .threads = cfg.threads,
        .max_body_bytes = cfg.max_body_bytes,
        .max_ws_frame_bytes = cfg.max_ws_frame_bytes,
        .api_key = cfg.api_key,
        .metrics_require_key = cfg.metrics_require_key,
    };
    vs_service_t *svc = NULL;
    vs_status st;
    vs_status_clear(&st);
    if (svc_open(&sc, &svc, &st) != VS_OK) {
        vs_log_error("cannot open the database %s: %s", cfg.db_path, st.msg);
        return 1;
    }

    listeners lst;
    memset(&lst, 0, sizeof lst);
    if (!start_http(&cfg, svc, &lst)) {
        stop_listeners(&lst);
        svc_close(svc, 0); /* nothing is loaded yet: no snapshot is written */
        return 1;
    }
    /* gRPC opens after recovery (below); fail fast now if its port is taken. */
    if (cfg.grpc_enabled && port_taken(cfg.host, cfg.grpc_port)) {
        char addr[300];
        addr_str(cfg.host, cfg.grpc_port, addr, sizeof addr);
        vs_log_error("cannot start the gRPC server on %s (--grpc-port %u): address already in use",
                     addr, (unsigned)cfg.grpc_port);
        stop_listeners(&lst);
        svc_close(svc, 0);
        return 1;
    }
    if (!cfg.api_key)
        vs_log_warn("running without an API key: every client has full access to every namespace "
                    "and the admin API (set --api-key or VECSTORE_API_KEY)");

    vs_status_clear(&st);
    if (svc_recover(svc, &st) != VS_OK) {
        vs_log_error("recovery failed, not starting: %s", st.msg);
        stop_listeners(&lst);
        fflush(stdout);
        _exit(1); /* deliberately no svc_close: a half-loaded namespace must not be snapshotted */
    }
    if (!start_grpc(&cfg, svc, &lst)) {
        stop_listeners(&lst);
        svc_close(svc, SRV_DRAIN_TIMEOUT_MS);
        return 1;
    }
    vs_log_info("ready: every namespace is loaded db_path=%s", cfg.db_path);

    int sig = srv_signals_wait();
    vs_log_info("%s received: shutting down (in-flight requests get up to %d s; a second signal "
                "exits at once)",
                sig == SIGINT ? "SIGINT" : "SIGTERM", SRV_DRAIN_TIMEOUT_MS / 1000);
    svc_begin_shutdown(svc);
    stop_listeners(&lst);
    svc_close(svc, SRV_DRAIN_TIMEOUT_MS);
    vs_log_info("shutdown complete");
    fflush(stdout);
    return 0;
}
