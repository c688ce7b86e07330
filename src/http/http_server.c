/*
 * http_server.c - the libmicrohttpd daemon: listening socket, request contexts, the hand-off of
 * each request to the worker pool, and orderly shutdown.
 *
 * How: we bind the listening socket ourselves (so a port in use is reported with its errno) and
 * give it to MHD, which runs an internal epoll thread pool (MHD_USE_INTERNAL_POLLING_THREAD |
 * MHD_USE_EPOLL). A request's life on the MHD side:
 *   URI callback      -> a request context from the free list, holding the raw target (path and
 *                        query are decoded by the router, never by MHD)
 *   access call 1     -> route match (404/405 decided now, answered after the body)
 *   access calls 2..  -> body bytes appended while within max_body_bytes, counted beyond it
 *   last access call  -> cheap routes (health, ready, metrics, errors) answer at once; others
 *                        suspend the connection and go to the worker pool (util/threadpool.h)
 *   worker            -> router_run (decode, service call, encode), phase DONE, resume
 *   access call again -> queue the prepared answer (MHD_RESPMEM_PERSISTENT over the request's
 *                        own buffer: no copy), count it (svc_count_http)
 *   completion        -> the context and its buffers go back to the free list
 * WebSocket upgrades leave through ws.c.
 *
 * TLS (--tls-cert/--tls-key, SPEC 11): the PEM files are read into memory and checked with
 * OpenSSL before anything binds (a certificate, a private key, the key matching the certificate,
 * at least one CA certificate), so a bad file fails start-up naming the flag and the file. MHD's
 * GnuTLS backend then serves TLS 1.2/1.3 from the same bytes (MHD_OPTION_HTTPS_MEM_*; GnuTLS
 * copies them into its credentials during MHD_start_daemon, so we free them after). With
 * --tls-client-ca, MHD only *requests* a client certificate (GNUTLS_CERT_REQUEST); on_conn_notify
 * turns that into GNUTLS_CERT_REQUIRE plus GnuTLS's own chain check
 * (gnutls_session_set_verify_cert) on each new session, before its handshake runs, so a client
 * without a certificate signed by that CA fails the handshake like on the gRPC port. Those two
 * GnuTLS calls are looked up with dlsym: libgnutls is already in the process (libmicrohttpd links
 * it) but not on our link line. WebSocket upgrades need nothing more: MHD keeps the TLS record
 * layer and hands ws.c a plain socketpair end (verified by tests/integration/test_tls.py).
 *
 * Invariants:
 *   1. An MHD thread never runs a search or a write: only RT_INLINE routes run on it.
 *   2. A suspended request is touched only by its worker until MHD_resume_connection; MHD never
 *      completes a suspended connection, so the context outlives the job.
 *   3. Every answered request is counted once, with its route pattern (never the raw path).
 *   4. No more than max_body_bytes of a body is ever buffered.
 *
 * Concurrency: free_list under `mu`; counters atomic; everything else in a request belongs to
 * the thread named in invariant 2. Callers: src/server (start, quiesce, destroy).
 */
#include "http/http_internal.h"

#include "util/alloc.h"
#include "util/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h> /* types and constants only: functions come through dlsym (TLS) */
#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_FREE_LIST_MAX  1024
#define HTTP_KEEP_BUF_BYTES (256u * 1024u) /* larger buffers are freed, not kept for reuse */
#define HTTP_DRAIN_MS       10000

/* ------------------------------------------------------------------ request contexts */

static http_req_t *req_acquire(vs_http_server_t *h, const char *uri)
{
    http_req_t *r = NULL;
    pthread_mutex_lock(&h->mu);
    if (h->free_list) {
        r = h->free_list;
        h->free_list = r->next_free;
        h->n_free--;
    }
    pthread_mutex_unlock(&h->mu);
    if (!r) {
        r = vs_calloc(1, sizeof(*r));
        if (!r) return NULL;
    }
    r->srv = h;
    r->next_free = NULL;
    vs_buf_reset(&r->uri);
    vs_buf_append_str(&r->uri, uri ? uri : "/");
    vs_buf_append_u8(&r->uri, 0);
    if (r->uri.oom) {
        vs_buf_free(&r->uri);
        vs_free(r);
        return NULL;
    }
    char *q = strchr((char *)r->uri.data, '?');
    if (q) *q++ = '\0';
    r->query = q;
    r->conn = NULL;
    r->method = 0;
    r->method_str = "";
    r->route = NULL;
    r->allow = 0;
    r->n_params = 0;
    r->ns_query = r->key_query = r->api_key = NULL;
    vs_buf_reset(&r->pbuf);
    vs_buf_reset(&r->body);
    r->body_seen = 0;
    r->too_large = false;
    atomic_store(&r->phase, PH_NEW);
    r->status = 500;
    vs_buf_reset(&r->out);
    r->content_type = "application/json";
    r->is_upgrade = false;
    atomic_fetch_add(&h->active_requests, 1);
    return r;
}

static void trim_buf(vs_buf *b)
{
    if (b->cap > HTTP_KEEP_BUF_BYTES) vs_buf_free(b);
    vs_buf_reset(b);
}

static void req_destroy(http_req_t *r)
{
    vs_buf_free(&r->uri);
    vs_buf_free(&r->pbuf);
    vs_buf_free(&r->body);
    vs_buf_free(&r->out);
    vs_free(r);
}

static void req_release(vs_http_server_t *h, http_req_t *r)
{
    trim_buf(&r->uri);
    trim_buf(&r->pbuf);
    trim_buf(&r->body);
    trim_buf(&r->out);
    pthread_mutex_lock(&h->mu);
    if (h->n_free < HTTP_FREE_LIST_MAX) {
        r->next_free = h->free_list;
        h->free_list = r;
        h->n_free++;
        r = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    if (r) req_destroy(r);
    atomic_fetch_sub(&h->active_requests, 1);
}

/* ------------------------------------------------------------------ MHD callbacks */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    return req_acquire(cls, uri);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn, (void)toe;
    http_req_t *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    req_release(cls, r);
}

/* MHD's last message on this thread: MHD_start_daemon logs why it failed (e.g. GnuTLS refusing a
 * key OpenSSL accepted) on the caller's thread, and http_server_start repeats it. */
static _Thread_local char mhd_last_msg[256];

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    snprintf(mhd_last_msg, sizeof(mhd_last_msg), "%s", line);
    if (vs_log_enabled(VS_LOG_DEBUG)) vs_log_debug("libmicrohttpd: %s", line);
}

static unsigned method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0) return HM_GET;
    if (strcmp(m, "POST") == 0) return HM_POST;
    if (strcmp(m, "PUT") == 0) return HM_PUT;
    if (strcmp(m, "DELETE") == 0) return HM_DELETE;
    return HM_OTHER;
}

static bool header_has_token(struct MHD_Connection *conn, const char *name, const char *token)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    return v && strcasestr(v, token) != NULL;
}

static void add_allow(struct MHD_Response *resp, unsigned allow)
{
    char s[48] = "";
    static const struct {
        unsigned bit;
        const char *name;
    } M[] = {{HM_GET, "GET"}, {HM_POST, "POST"}, {HM_PUT, "PUT"}, {HM_DELETE, "DELETE"}};
    for (size_t i = 0; i < sizeof(M) / sizeof(M[0]); i++) {
        if (!(allow & M[i].bit)) continue;
        if (s[0]) strcat(s, ", ");
        strcat(s, M[i].name);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, s);
}

enum MHD_Result http_queue_answer(http_req_t *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->out.len, r->out.data, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->status == 405 && r->allow) add_allow(resp, r->allow);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    svc_count_http(r->srv->svc, router_route_label(r),
                   r->method == HM_OTHER ? "OTHER" : r->method_str, r->status);
    return ret;
}

static void job_run(void *ctx)
{
    http_req_t *r = ctx;
    router_run(r);
    atomic_store(&r->phase, PH_DONE);
    MHD_resume_connection(r->conn);
}

static void take_body(http_req_t *r, const char *data, size_t n)
{
    size_t max = r->srv->cfg.max_body_bytes;
    r->body_seen += n;
    if (r->too_large) return;
    if (r->body_seen > max) {
        r->too_large = true; /* never buffer past the limit (invariant 4) */
        vs_buf_free(&r->body);
        return;
    }
    vs_buf_append(&r->body, data, n);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    vs_http_server_t *h = cls;
    (void)url, (void)version;
    http_req_t *r = *con_cls;
    if (!r) {
        r = req_acquire(h, url);
        if (!r) return MHD_NO;
        *con_cls = r;
    }
    switch (atomic_load(&r->phase)) {
    case PH_NEW: {
        r->conn = conn;
        r->method_str = method;
        r->method = method_bit(method);
        const char *path = (const char *)r->uri.data;
        router_match(r, path, strlen(path));
        atomic_store(&r->phase, PH_BODY);
        if (r->route && (r->route->flags & RT_WS) &&
            header_has_token(conn, "Upgrade", "websocket")) {
            req_read_headers(r);
            r->is_upgrade = true;
            atomic_store(&r->phase, PH_DONE);
            return ws_handle_upgrade(r);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n > 0 && n <= h->cfg.max_body_bytes) vs_buf_reserve(&r->body, (size_t)n);
        }
        return MHD_YES;
    }
    case PH_BODY:
        if (*upload_size) {
            take_body(r, upload_data, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        req_read_headers(r);
        if (!r->route || (r->route->flags & RT_INLINE) || h->run_inline) {
            router_run(r);
            atomic_store(&r->phase, PH_DONE);
            return http_queue_answer(r);
        }
        atomic_store(&r->phase, PH_RUNNING);
        MHD_suspend_connection(conn);
        if (!vs_pool_submit(h->pool, job_run, r)) job_run(r);
        return MHD_YES;
    case PH_DONE:
        if (r->is_upgrade) return MHD_YES;
        atomic_store(&r->phase, PH_RUNNING); /* queued once */
        return http_queue_answer(r);
    default:
        return MHD_YES;
    }
}

/* ------------------------------------------------------------------ TLS */

#define HTTP_TLS_MAX_PEM                                                                           \
    (1u << 20) /* a certificate chain or key file larger than this is refused */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" /* as gRPC: TLS 1.2+ */

typedef struct http_tls {
    char *cert, *key, *ca; /* NUL-terminated PEM text; ca NULL without --tls-client-ca */
} http_tls;

/* GnuTLS entry points for client certificates (file comment). Set once by tls_bind_gnutls before
 * the daemon starts (its threads are created after: they see the values); never changed. */
typedef void (*tls_set_request_fn)(gnutls_session_t, gnutls_certificate_request_t);
typedef void (*tls_set_verify_fn)(gnutls_session_t, const char *, unsigned);
static tls_set_request_fn tls_set_request;
static tls_set_verify_fn tls_set_verify;

static void tls_free(http_tls *t)
{
    vs_free(t->cert);
    vs_free(t->key);
    vs_free(t->ca);
    memset(t, 0, sizeof(*t));
}

/* Reads one PEM file whole (NUL-terminated). Errors name the flag and the path. */
static char *tls_read_pem(const char *path, const char *flag, vs_status *st)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        vs_status_set(st, VS_ERR_IO, "cannot read %s %s: %s", flag, path, strerror(errno));
        return NULL;
    }
    vs_buf b = VS_BUF_INIT;
    char tmp[4096];
    size_t n;
    bool too_big = false;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (b.len + n > HTTP_TLS_MAX_PEM) {
            too_big = true;
            break;
        }
        vs_buf_append(&b, tmp, n);
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    vs_buf_append_u8(&b, 0);
    if (too_big || failed || b.oom || b.len == 1) {
        vs_buf_free(&b);
        if (too_big)
            vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "%s %s is larger than %u bytes", flag, path,
                          HTTP_TLS_MAX_PEM);
        else if (failed)
            vs_status_set(st, VS_ERR_IO, "cannot read %s %s: read error", flag, path);
        else if (b.oom)
            vs_status_set(st, VS_ERR_NOMEM, "out of memory reading %s %s", flag, path);
        else
            vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "%s %s is empty", flag, path);
        return NULL;
    }
    size_t len;
    return (char *)vs_buf_detach(&b, &len);
}

/* OpenSSL's reason for the last failure, or "" (the queue is cleared either way). */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "not PEM";
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0; /* an encrypted key is refused: there is no flag for its passphrase */
}

static X509 *pem_first_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

/* Checks what GnuTLS will be given, so a bad file is reported with its flag and path (MHD alone
 * only says the daemon did not start). */
static vs_err tls_check(const vs_http_config *cfg, const http_tls *t, vs_status *st)
{
    vs_err rc = VS_OK;
    EVP_PKEY *pk = NULL;
    X509 *crt = pem_first_cert(t->cert);
    if (!crt) {
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                           "--tls-cert %s holds no PEM certificate (%s)", cfg->tls_cert,
                           ossl_reason());
        goto out;
    }
    BIO *b = BIO_new_mem_buf(t->key, -1);
    pk = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    if (!pk) {
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                           "--tls-key %s holds no unencrypted PEM private key (%s)", cfg->tls_key,
                           ossl_reason());
        goto out;
    }
    if (X509_check_private_key(crt, pk) != 1) {
        ERR_clear_error();
        rc =
            vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                          "--tls-key %s is not the private key of the certificate in --tls-cert %s",
                          cfg->tls_key, cfg->tls_cert);
        goto out;
    }
    if (t->ca) {
        X509 *ca = pem_first_cert(t->ca);
        if (!ca)
            rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                               "--tls-client-ca %s holds no PEM certificate (%s)",
                               cfg->tls_client_ca, ossl_reason());
        X509_free(ca);
    }
out:
    X509_free(crt);
    EVP_PKEY_free(pk);
    return rc;
}

/* Finds the two GnuTLS calls that make client certificates mandatory (file comment). */
static vs_err tls_bind_gnutls(vs_status *st)
{
    void *req = dlsym(RTLD_DEFAULT, "gnutls_certificate_server_set_request");
    void *ver = dlsym(RTLD_DEFAULT, "gnutls_session_set_verify_cert");
    if (!req || !ver)
        return vs_status_set(st, VS_ERR_INTERNAL,
                             "--tls-client-ca: the GnuTLS under libmicrohttpd lacks "
                             "gnutls_session_set_verify_cert (GnuTLS >= 3.4.6 needed)");
    *(void **)&tls_set_request = req;
    *(void **)&tls_set_verify = ver;
    return VS_OK;
}

/* Reads and checks the PEM files of cfg into t. Nothing to do without --tls-cert. */
static vs_err tls_load(const vs_http_config *cfg, http_tls *t, vs_status *st)
{
    memset(t, 0, sizeof(*t));
    if (!cfg->tls_cert && !cfg->tls_key && !cfg->tls_client_ca) return VS_OK;
    if (!cfg->tls_cert || !cfg->tls_key)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "TLS needs both --tls-cert and --tls-key");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return vs_status_set(st, VS_ERR_INTERNAL, "this libmicrohttpd was built without TLS");
    vs_err rc = VS_OK;
    if (!(t->cert = tls_read_pem(cfg->tls_cert, "--tls-cert", st)) ||
        !(t->key = tls_read_pem(cfg->tls_key, "--tls-key", st)) ||
        (cfg->tls_client_ca && !(t->ca = tls_read_pem(cfg->tls_client_ca, "--tls-client-ca", st))))
        rc = st && st->code != VS_OK ? st->code : VS_ERR_IO;
    if (rc == VS_OK) rc = tls_check(cfg, t, st);
    if (rc == VS_OK && t->ca) rc = tls_bind_gnutls(st);
    if (rc != VS_OK) tls_free(t);
    return rc;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a new connection's GnuTLS session exists, its handshake has not
 * run yet. With --tls-client-ca the session now requires a client certificate and verifies its
 * chain against the trust list (MHD_OPTION_HTTPS_MEM_TRUST) inside the handshake. */
static void on_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                           enum MHD_ConnectionNotificationCode code)
{
    vs_http_server_t *h = cls;
    (void)socket_ctx;
    if (code != MHD_CONNECTION_NOTIFY_STARTED || !h->cfg.tls_client_ca) return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) {
        /* Fail closed: a session we cannot configure would not ask for a certificate. */
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        vs_log_warn("HTTP: no TLS session to require a client certificate on; closing");
        if (fi) shutdown(fi->connect_fd, SHUT_RDWR);
        return;
    }
    tls_set_request((gnutls_session_t)ci->tls_session, GNUTLS_CERT_REQUIRE);
    tls_set_verify((gnutls_session_t)ci->tls_session, NULL, 0);
}

/* ------------------------------------------------------------------ listener */

static int open_listener(const vs_http_config *cfg, vs_status *st)
{
    const char *host = cfg->host && *cfg->host ? cfg->host : "0.0.0.0";
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)cfg->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        vs_status_set(st, VS_ERR_IO, "cannot resolve HTTP host '%s': %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        vs_status_set(st, VS_ERR_IO, "socket() for HTTP %s:%s failed: %s", host, port,
                      strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            vs_status_set(st, VS_ERR_IO, "HTTP port %s is already in use (%s:%s: %s)", port, host,
                          port, strerror(e));
        else
            vs_status_set(st, VS_ERR_IO, "cannot listen on HTTP %s:%s: %s", host, port,
                          strerror(e));
        close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

vs_err http_server_start(vs_service_t *svc, const vs_http_config *cfg, vs_http_server_t **out,
                         vs_status *st)
{
    *out = NULL;
    vs_http_server_t *h = vs_calloc(1, sizeof(*h));
    if (!h) return vs_status_set(st, VS_ERR_NOMEM, "out of memory starting the HTTP server");
    h->svc = svc;
    h->cfg = *cfg;
    if (!h->cfg.max_body_bytes) h->cfg.max_body_bytes = 64u << 20;
    if (!h->cfg.max_ws_frame_bytes) h->cfg.max_ws_frame_bytes = 16u << 20;
    if (!h->cfg.max_connections) h->cfg.max_connections = 10000;
    if (!h->cfg.idle_timeout_s) h->cfg.idle_timeout_s = 30;
    h->listen_fd = -1;
    pthread_mutex_init(&h->mu, NULL);
    http_tls tls;
    vs_err tls_rc = tls_load(cfg, &tls, st);
    if (tls_rc != VS_OK) {
        http_server_destroy(h);
        return tls_rc;
    }

    unsigned workers = cfg->threads ? cfg->threads : online_cpus();
    h->pool = vs_pool_create(workers, "http-worker");
    if (!h->pool) {
        tls_free(&tls);
        http_server_destroy(h);
        return vs_status_set(st, VS_ERR_NOMEM, "cannot start %u HTTP worker threads", workers);
    }
    h->listen_fd = open_listener(&h->cfg, st);
    if (h->listen_fd < 0) {
        vs_err rc = st ? st->code : VS_ERR_IO;
        tls_free(&tls);
        http_server_destroy(h);
        return rc;
    }
    unsigned mhd_threads = online_cpus() >= 8 ? 4 : online_cpus() >= 4 ? 2 : 1;
    /* Handlers run on the MHD pool (one thread per core) by default: on the quiet machine it
     * serves 10.9-12.7k queries/s against 8.6-9.5k with the worker hand-off (wrk -c8, 100k x 128,
     * docs/decisions.md). VS_HTTP_DISPATCH=handoff keeps the hand-off for comparison. */
    const char *dispatch = getenv("VS_HTTP_DISPATCH");
    if (!dispatch || strcmp(dispatch, "handoff") != 0) {
        h->run_inline = true;
        mhd_threads = workers;
    }
    struct MHD_OptionItem opts[16];
    size_t n = 0;
    unsigned tls_flag = 0;
    if (tls.cert) {
        tls_flag = MHD_USE_TLS;
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls.cert};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls.key};
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES};
        if (tls.ca) opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, tls.ca};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, h->listen_fd, NULL};
    if (mhd_threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, mhd_threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, h->cfg.max_connections, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.idle_timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    mhd_last_msg[0] = '\0';
    h->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_ALLOW_UPGRADE | MHD_USE_ITC | MHD_USE_TURBO | MHD_USE_ERROR_LOG | tls_flag,
        0, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_ARRAY,
        opts, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_conn_notify, h, MHD_OPTION_END);
    tls_free(&tls); /* GnuTLS copied the PEM text into its credentials (file comment) */
    if (!h->daemon) {
        if (tls_flag)
            vs_status_set(st, VS_ERR_IO,
                          "cannot start HTTPS on %s:%u with --tls-cert %s and --tls-key %s: %s",
                          h->cfg.host ? h->cfg.host : "0.0.0.0", (unsigned)cfg->port, cfg->tls_cert,
                          cfg->tls_key,
                          mhd_last_msg[0] ? mhd_last_msg : "libmicrohttpd refused them");
        else
            vs_status_set(st, VS_ERR_IO, "cannot start the HTTP server on %s:%u%s%s",
                          h->cfg.host ? h->cfg.host : "0.0.0.0", (unsigned)cfg->port,
                          mhd_last_msg[0] ? ": " : "", mhd_last_msg);
        http_server_destroy(h);
        return VS_ERR_IO;
    }
    *out = h;
    return VS_OK;
}

void http_server_quiesce(vs_http_server_t *h)
{
    if (!h || h->quiesced) return;
    h->quiesced = true;
    if (h->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(h->daemon);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    } else if (h->listen_fd >= 0) {
        close(h->listen_fd);
    }
    h->listen_fd = -1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void http_server_destroy(vs_http_server_t *h)
{
    if (!h) return;
    http_server_quiesce(h);
    atomic_store(&h->stopping, true); /* WebSocket connections close after their current query */
    if (h->daemon) {
        long deadline = now_ms() + HTTP_DRAIN_MS;
        while ((atomic_load(&h->active_requests) > 0 || atomic_load(&h->active_ws) > 0) &&
               now_ms() < deadline) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    /* Runs the jobs still queued and joins the workers: nothing resumes a connection after. */
    if (h->pool) vs_pool_destroy(h->pool);
    h->pool = NULL;
    while (atomic_load(&h->active_ws) > 0) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (h->daemon) MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    while (h->free_list) {
        http_req_t *r = h->free_list;
        h->free_list = r->next_free;
        req_destroy(r);
    }
    pthread_mutex_destroy(&h->mu);
    vs_free(h);
}
