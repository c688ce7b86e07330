/*
 * server.c - the gRPC listener over the gRPC C core: start, pollers, request slots, unary calls,
 * unknown methods, graceful shutdown.
 *
 * How it works:
 * - One completion queue; n_threads pollers call grpc_completion_queue_next on it and run
 *   whatever completes (a gs_tag callback). A call's handler runs on the poller that received
 *   it: the service API is synchronous and searches are short; n_threads (>= 4) pollers keep
 *   slow writes (fsync) from blocking the others.
 * - Every registered method has n_threads "slots": a pending grpc_server_request_registered_call
 *   each. A slot that completes is re-armed at once (after copying what it needs out of it), so
 *   up to n_threads calls of one method are matched without waiting; the core queues the rest.
 *   Unary and server-streaming methods read their request with the slot
 *   (GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER); bidi ones (reflection) read it themselves.
 *   Methods not in the table land in generic slots and get UNIMPLEMENTED.
 * - A unary call: read the payload, map metadata (authorization / x-api-key) and the deadline
 *   into vs_req, run the handler, then one batch SEND_INITIAL_METADATA + SEND_MESSAGE +
 *   SEND_STATUS_FROM_SERVER + RECV_CLOSE_ON_SERVER; its completion frees the call.
 * - Message size: the core refuses messages over 2 x max_message_bytes + 1 MiB; between
 *   max_message_bytes and that, the handler sees too_large and the service answers 413 ->
 *   RESOURCE_EXHAUSTED after the checks SPEC 11 puts first (key, namespace, status).
 * - Shutdown: quiesce = grpc_server_shutdown_and_notify (no new calls; pending slots complete
 *   with ok = false and are not re-armed) and the end of Watch streams; destroy waits for the
 *   shutdown tag up to 10 s, then cancels all calls, destroys the server, shuts the queue down
 *   and joins the pollers once it has drained.
 *
 * Invariants:
 *   1. Every call object holds one reference on its grpc_call, dropped when its last batch
 *      completes; every byte buffer sent is destroyed after its batch completes.
 *   2. A slot is re-armed only while the server is not quiescing.
 *   3. svc_count_grpc is called once per finished call with its final status code.
 *
 * Concurrency: slot and call objects are touched by one poller at a time (the one running
 * their completion); quiescing is atomic; shutdown_done is under mu; watchers under watch_mu.
 * Callers: server main (grpc_server_start / quiesce / destroy).
 */
#include "gs_int.h"

#include "util/alloc.h"
#include "util/log.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GS_DEFAULT_MAX_MSG (64u * 1024u * 1024u)
#define GS_MIN_THREADS     4
#define GS_POLL_MS         200
#define GS_DRAIN_MS        10000

typedef struct gs_slot {
    gs_tag tag;
    vs_grpc_server_t *g;
    const gs_method *m; /* NULL: a generic (unknown method) slot */
    void *handle;       /* registered method */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_call_details details; /* generic slots */
} gs_slot;

typedef struct gs_unary {
    gs_tag tag;
    grpc_call *call;
    grpc_byte_buffer *resp;
    int cancelled;
} gs_unary;

int64_t gs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------------------- helpers */

bool gs_start_batch(grpc_call *call, const grpc_op *ops, size_t n, gs_tag *tag)
{
    grpc_call_error e = grpc_call_start_batch(call, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        vs_log_warn("grpc: start_batch failed: %s", grpc_call_error_to_string(e));
        return false;
    }
    return true;
}

grpc_byte_buffer *gs_bb_from(const uint8_t *p, size_t n)
{
    grpc_slice s = grpc_slice_malloc(n);
    if (n) memcpy(GRPC_SLICE_START_PTR(s), p, n);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static bool slice_eq(grpc_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return GRPC_SLICE_LENGTH(s) == n && memcmp(GRPC_SLICE_START_PTR(s), lit, n) == 0;
}

/* authorization: Bearer <key> (case-insensitive scheme) or x-api-key: <key>. A malformed
 * authorization value is passed on whole so the service refuses it (401). */
static char *api_key_of(const grpc_metadata_array *md)
{
    char *key = NULL;
    for (size_t i = 0; i < md->count && key == NULL; i++) {
        const grpc_metadata *e = &md->metadata[i];
        const char *v = (const char *)GRPC_SLICE_START_PTR(e->value);
        size_t n = GRPC_SLICE_LENGTH(e->value);
        if (slice_eq(e->key, "authorization")) {
            if (n >= 7 && strncasecmp(v, "Bearer ", 7) == 0) {
                v += 7;
                n -= 7;
                while (n && *v == ' ') v++, n--;
            }
            key = vs_strndup(v, n);
        }
    }
    for (size_t i = 0; i < md->count && key == NULL; i++) {
        const grpc_metadata *e = &md->metadata[i];
        if (slice_eq(e->key, "x-api-key"))
            key = vs_strndup((const char *)GRPC_SLICE_START_PTR(e->value),
                             GRPC_SLICE_LENGTH(e->value));
    }
    return key;
}

static int64_t deadline_us(gpr_timespec d)
{
    if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) == 0 || d.tv_sec >= INT64_MAX / 4) return 0;
    gpr_timespec left = gpr_time_sub(d, gpr_now(d.clock_type));
    int64_t us = left.tv_sec * 1000000 + left.tv_nsec / 1000;
    if (us > (int64_t)365 * 24 * 3600 * 1000000) return 0;
    int64_t abs = gs_now_us() + us;
    return abs > 0 ? abs : 1;
}

/* ---------------------------------------------------------------------------- slots */

static void on_slot(gs_tag *t, bool ok);

static void arm_slot(gs_slot *s)
{
    vs_grpc_server_t *g = s->g;
    if (atomic_load(&g->quiescing)) return;
    s->tag.fn = on_slot;
    s->call = NULL;
    s->payload = NULL;
    grpc_metadata_array_init(&s->md);
    grpc_call_error e;
    if (s->m == NULL) {
        grpc_call_details_init(&s->details);
        e = grpc_server_request_call(g->server, &s->call, &s->details, &s->md, g->cq, g->cq,
                                     &s->tag);
    } else {
        e = grpc_server_request_registered_call(g->server, s->handle, &s->call, &s->deadline,
                                                &s->md, s->m->kind == GS_BIDI ? NULL : &s->payload,
                                                g->cq, g->cq, &s->tag);
    }
    if (e != GRPC_CALL_OK) {
        vs_log_warn("grpc: request_call(%s) failed: %s", s->m ? s->m->path : "*",
                    grpc_call_error_to_string(e));
        grpc_metadata_array_destroy(&s->md);
        if (s->m == NULL) grpc_call_details_destroy(&s->details);
    }
}

static void on_unary_done(gs_tag *t, bool ok)
{
    (void)ok;
    gs_unary *u = gs_container_of(t, gs_unary, tag);
    if (u->resp) grpc_byte_buffer_destroy(u->resp);
    grpc_call_unref(u->call);
    vs_free(u);
}

/* Sends the reply of a unary call and hands the call to on_unary_done. */
static void finish_unary(grpc_call *call, const gs_reply *r)
{
    gs_unary *u = vs_calloc(1, sizeof(*u));
    if (u == NULL) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_INTERNAL, "out of memory", NULL);
        grpc_call_unref(call);
        return;
    }
    u->tag.fn = on_unary_done;
    u->call = call;
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (r->code == 0) {
        u->resp = gs_bb_from(r->body, r->body_len);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = u->resp;
    }
    grpc_slice details = grpc_slice_from_copied_string(r->details);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)r->code;
    ops[n++].data.send_status_from_server.status_details = r->code ? &details : NULL;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &u->cancelled;
    bool started = gs_start_batch(call, ops, n, &u->tag);
    grpc_slice_unref(details);
    if (!started) on_unary_done(&u->tag, false);
}

static void run_call(vs_grpc_server_t *g, const gs_method *m, grpc_call *call,
                     grpc_byte_buffer *payload, char *api_key, int64_t deadline)
{
    gs_ctx x;
    memset(&x, 0, sizeof(x));
    x.g = g;
    x.svc = g->svc;
    x.req.proto = VS_PROTO_GRPC;
    x.req.api_key = api_key;
    x.req.deadline_us = deadline;

    grpc_slice body = grpc_empty_slice();
    if (payload != NULL) {
        grpc_byte_buffer_reader rd;
        if (grpc_byte_buffer_reader_init(&rd, payload)) {
            body = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
        }
        grpc_byte_buffer_destroy(payload);
    }
    x.in = GRPC_SLICE_START_PTR(body);
    x.in_len = GRPC_SLICE_LENGTH(body);
    x.too_large = x.in_len > g->max_msg;

    if (m->kind == GS_UNARY) {
        gs_reply r;
        memset(&r, 0, sizeof(r));
        m->unary(&x, &r);
        svc_count_grpc(g->svc, m->path, r.code);
        finish_unary(call, &r);
        vs_free(r.body);
    } else {
        m->stream(&x, call); /* takes the call over; counts it when it ends */
    }
    grpc_slice_unref(body);
}

static void answer_unimplemented(grpc_call *call, grpc_slice method)
{
    gs_reply r;
    memset(&r, 0, sizeof(r));
    r.code = GRPC_STATUS_UNIMPLEMENTED;
    snprintf(r.details, sizeof(r.details), "Method not found: %.*s", (int)GRPC_SLICE_LENGTH(method),
             (const char *)GRPC_SLICE_START_PTR(method));
    finish_unary(call, &r);
}

static void on_slot(gs_tag *t, bool ok)
{
    gs_slot *s = gs_container_of(t, gs_slot, tag);
    vs_grpc_server_t *g = s->g;
    grpc_call *call = s->call;
    if (!ok || call == NULL) { /* server shutting down */
        if (s->payload) grpc_byte_buffer_destroy(s->payload);
        grpc_metadata_array_destroy(&s->md);
        if (s->m == NULL) grpc_call_details_destroy(&s->details);
        return;
    }
    char *key = api_key_of(&s->md);
    if (s->m == NULL) {
        grpc_slice method = grpc_slice_ref(s->details.method);
        grpc_metadata_array_destroy(&s->md);
        grpc_call_details_destroy(&s->details);
        arm_slot(s);
        answer_unimplemented(call, method);
        grpc_slice_unref(method);
        vs_free(key);
        return;
    }
    const gs_method *m = s->m;
    grpc_byte_buffer *payload = s->payload;
    int64_t dl = deadline_us(s->deadline);
    grpc_metadata_array_destroy(&s->md);
    arm_slot(s);
    run_call(g, m, call, payload, key, dl);
    vs_free(key);
}

/* ---------------------------------------------------------------------------- pollers */

static void on_shutdown(gs_tag *t, bool ok)
{
    (void)ok;
    vs_grpc_server_t *g = gs_container_of(t, vs_grpc_server_t, shutdown_tag);
    pthread_mutex_lock(&g->mu);
    g->shutdown_done = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void maybe_poll_watchers(vs_grpc_server_t *g)
{
    int64_t now = gs_now_us();
    long long last = atomic_load(&g->last_poll_us);
    if (now - last < GS_POLL_MS * 1000) return;
    if (!atomic_compare_exchange_strong(&g->last_poll_us, &last, now)) return;
    gs_watch_poll(g);
}

static void *poller(void *arg)
{
    vs_grpc_server_t *g = arg;
    for (;;) {
        gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_millis(GS_POLL_MS, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(g->cq, dl, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type == GRPC_OP_COMPLETE) {
            gs_tag *t = ev.tag;
            t->fn(t, ev.success != 0);
        }
        maybe_poll_watchers(g);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------- start / stop */

static void gpr_to_vs_log(gpr_log_func_args *a)
{
    vs_log_level lv = a->severity == GPR_LOG_SEVERITY_ERROR  ? VS_LOG_WARN
                      : a->severity == GPR_LOG_SEVERITY_INFO ? VS_LOG_DEBUG
                                                             : VS_LOG_TRACE;
    if (vs_log_enabled(lv)) vs_log(lv, "grpc core: %s", a->message);
}

static char *read_file(const char *path, vs_status *st, const char *what)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        vs_status_set(st, VS_ERR_IO, "cannot read %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    vs_buf b = VS_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) vs_buf_append(&b, tmp, n);
    fclose(f);
    vs_buf_append_u8(&b, 0);
    if (b.oom) {
        vs_buf_free(&b);
        vs_status_set(st, VS_ERR_NOMEM, NULL);
        return NULL;
    }
    size_t len;
    return (char *)vs_buf_detach(&b, &len);
}

static grpc_server_credentials *make_creds(const vs_grpc_config *cfg, vs_status *st)
{
    if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
        return grpc_insecure_server_credentials_create();
    char *cert = read_file(cfg->tls_cert, st, "TLS certificate");
    char *key = cert ? read_file(cfg->tls_key, st, "TLS key") : NULL;
    char *ca = NULL;
    if (key && cfg->tls_client_ca) ca = read_file(cfg->tls_client_ca, st, "TLS client CA");
    grpc_server_credentials *c = NULL;
    if (cert && key && (ca || !cfg->tls_client_ca)) {
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        c = grpc_ssl_server_credentials_create_ex(
            ca, &pair, 1,
            ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
        if (c == NULL) vs_status_set(st, VS_ERR_IO, "invalid TLS certificate or key for gRPC");
    }
    vs_free(cert);
    vs_free(key);
    vs_free(ca);
    return c;
}

/* true when host:port is taken (the core binds with SO_REUSEPORT off, but reports no reason). */
static bool port_in_use(const char *host, uint16_t port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    if (getaddrinfo(host && *host ? host : NULL, ps, &hints, &res) != 0) return false;
    bool busy = false;
    for (struct addrinfo *ai = res; ai && !busy; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE) busy = true;
        close(fd);
    }
    freeaddrinfo(res);
    return busy;
}

static bool wait_shutdown(vs_grpc_server_t *g, int ms);

static void free_server(vs_grpc_server_t *g)
{
    vs_free(g->slots);
    vs_free(g->threads);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->watch_mu);
    vs_free(g);
}

vs_err vs_grpc_server_start(vs_service_t *svc, const vs_grpc_config *cfg, vs_grpc_server_t **out,
                            vs_status *st)
{
    const char *host = cfg->host && *cfg->host ? cfg->host : "0.0.0.0";
    if (port_in_use(host, cfg->port))
        return vs_status_set(st, VS_ERR_IO, "gRPC port %u is already in use", cfg->port);

    vs_grpc_server_t *g = vs_calloc(1, sizeof(*g));
    if (g == NULL) return vs_status_set(st, VS_ERR_NOMEM, NULL);
    g->svc = svc;
    g->max_msg = cfg->max_message_bytes ? cfg->max_message_bytes : GS_DEFAULT_MAX_MSG;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cfg->threads ? cfg->threads : (ncpu > 0 ? (unsigned)ncpu : 1);
    g->n_threads = n < GS_MIN_THREADS ? GS_MIN_THREADS : n;
    atomic_init(&g->quiescing, false);
    atomic_init(&g->last_poll_us, 0);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_mutex_init(&g->watch_mu, NULL);
    g->shutdown_tag.fn = on_shutdown;

    gpr_set_log_function(gpr_to_vs_log);
    gpr_set_log_verbosity(vs_log_enabled(VS_LOG_DEBUG) ? GPR_LOG_SEVERITY_DEBUG
                                                       : GPR_LOG_SEVERITY_ERROR);
    grpc_init();

    size_t core_max = g->max_msg * 2 + (1u << 20);
    if (core_max > INT_MAX || core_max < g->max_msg) core_max = INT_MAX;
    grpc_arg args[3];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)core_max;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = -1;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    grpc_channel_args ca = {3, args};
    g->server = grpc_server_create(&ca, NULL);
    g->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(g->server, g->cq, NULL);

    const gs_method *tables[3] = {gs_data_methods, gs_admin_methods, gs_stream_methods};
    size_t counts[3] = {gs_n_data_methods, gs_n_admin_methods, gs_n_stream_methods};
    size_t n_methods = counts[0] + counts[1] + counts[2];
    g->n_slots = (n_methods + 1) * g->n_threads;
    g->slots = vs_calloc(g->n_slots, sizeof(*g->slots));
    g->threads = vs_calloc(g->n_threads, sizeof(*g->threads));
    if (g->slots == NULL || g->threads == NULL) {
        vs_status_set(st, VS_ERR_NOMEM, NULL);
        goto fail_core;
    }
    size_t k = 0;
    for (int t = 0; t < 3; t++) {
        for (size_t i = 0; i < counts[t]; i++) {
            const gs_method *m = &tables[t][i];
            void *h = grpc_server_register_method(g->server, m->path, NULL,
                                                  m->kind == GS_BIDI
                                                      ? GRPC_SRM_PAYLOAD_NONE
                                                      : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                                                  0);
            if (h == NULL) {
                vs_status_set(st, VS_ERR_INTERNAL, "cannot register gRPC method %s", m->path);
                goto fail_core;
            }
            for (unsigned j = 0; j < g->n_threads; j++, k++)
                g->slots[k] = (gs_slot){.g = g, .m = m, .handle = h};
        }
    }
    for (unsigned j = 0; j < g->n_threads; j++, k++) g->slots[k] = (gs_slot){.g = g, .m = NULL};

    char addr[300];
    snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, cfg->port);
    grpc_server_credentials *creds = make_creds(cfg, st);
    if (creds == NULL) goto fail_core;
    int bound = grpc_server_add_http2_port(g->server, addr, creds);
    grpc_server_credentials_release(creds);
    if (bound == 0) {
        if (port_in_use(host, cfg->port))
            vs_status_set(st, VS_ERR_IO, "gRPC port %u is already in use", cfg->port);
        else
            vs_status_set(st, VS_ERR_IO, "cannot listen for gRPC on %s", addr);
        goto fail_core;
    }
    unsigned started = 0;
    for (; started < g->n_threads; started++)
        if (pthread_create(&g->threads[started], NULL, poller, g) != 0) break;
    if (started < g->n_threads) {
        vs_status_set(st, VS_ERR_INTERNAL, "cannot start gRPC threads");
        g->n_threads = started;
        if (started > 0) {
            atomic_store(&g->quiescing, true);
            grpc_server_shutdown_and_notify(g->server, g->cq, &g->shutdown_tag);
            grpc_server_cancel_all_calls(g->server);
            wait_shutdown(g, INT_MAX / 2);
            grpc_server_destroy(g->server);
            grpc_completion_queue_shutdown(g->cq);
            for (unsigned j = 0; j < started; j++) pthread_join(g->threads[j], NULL);
            grpc_completion_queue_destroy(g->cq);
            free_server(g);
            grpc_shutdown();
            return st->code;
        }
        goto fail_core;
    }
    grpc_server_start(g->server);
    for (size_t i = 0; i < g->n_slots; i++) arm_slot(&g->slots[i]);
    vs_log_debug("grpc: serving on %s with %u threads, max message %zu bytes", addr, g->n_threads,
                 g->max_msg);
    *out = g;
    return VS_OK;

fail_core:
    atomic_store(&g->quiescing, true);
    grpc_server_shutdown_and_notify(g->server, g->cq, &g->shutdown_tag);
    grpc_server_cancel_all_calls(g->server);
    grpc_completion_queue_shutdown(g->cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type == GRPC_OP_COMPLETE) ((gs_tag *)ev.tag)->fn(ev.tag, ev.success != 0);
    }
    grpc_server_destroy(g->server);
    grpc_completion_queue_destroy(g->cq);
    free_server(g);
    grpc_shutdown();
    return st->code;
}

void vs_grpc_server_quiesce(vs_grpc_server_t *g)
{
    if (g == NULL) return;
    bool expected = false;
    if (!atomic_compare_exchange_strong(&g->quiescing, &expected, true)) return;
    grpc_server_shutdown_and_notify(g->server, g->cq, &g->shutdown_tag);
    gs_watch_poll(g);
}

static bool wait_shutdown(vs_grpc_server_t *g, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&g->mu);
    while (!g->shutdown_done)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT) break;
    bool done = g->shutdown_done;
    pthread_mutex_unlock(&g->mu);
    return done;
}

void vs_grpc_server_destroy(vs_grpc_server_t *g)
{
    if (g == NULL) return;
    vs_grpc_server_quiesce(g);
    if (!wait_shutdown(g, GS_DRAIN_MS)) {
        vs_log_warn("grpc: calls still running after %d ms; cancelling them", GS_DRAIN_MS);
        grpc_server_cancel_all_calls(g->server);
        while (!wait_shutdown(g, 1000)) gs_watch_poll(g);
    }
    grpc_server_destroy(g->server);
    grpc_completion_queue_shutdown(g->cq);
    for (unsigned j = 0; j < g->n_threads; j++) pthread_join(g->threads[j], NULL);
    grpc_completion_queue_destroy(g->cq);
    free_server(g);
    grpc_shutdown();
}
