/*
 * stream.c - the streaming and side services: VecStoreService.QueryStream (server-streaming),
 * grpc.health.v1.Health (Check, Watch) and server reflection (grpc.reflection.v1alpha and v1,
 * ServerReflectionInfo, bidi).
 *
 * How:
 * - QueryStream runs the whole query on the poller that received it (admission, decode and
 *   search as a unary Query, op VS_OP_STREAM_QUERY, hybrid when text_query is set), then sends
 *   one message per result, one at a time (the next send starts when the previous completes),
 *   then a `complete` message with the status. A client cancel fails the pending send and
 *   completes RECV_CLOSE_ON_SERVER; the stream stops there. The ticket (concurrency slot) is
 *   released when the stream ends, whichever way.
 * - Health and reflection messages are tiny and encoded by hand (gs_pb_*): health.proto and
 *   reflection.proto are not needed at build time. Reflection answers list_services,
 *   file_by_filename("vecstore.proto") and file_containing_symbol("vecstore.*") with the
 *   FileDescriptorProto generated from proto/vecstore.proto at build time
 * (gs_vecstore_descriptor_set).
 * - Watch streams are kept in g->watchers; gs_watch_poll (pollers, every ~200 ms, and quiesce)
 *   sends a new status when it changes and ends every stream with UNAVAILABLE at quiesce.
 *
 * Invariants:
 *   1. A stream object counts its outstanding batches in `pending` (the close batch plus at most
 *      one send/receive batch); whoever drops it to 0 frees the object and unrefs the call.
 *   2. A send chain transfers its pending count from one batch to the next; only its end drops it.
 *   3. A Watch's state is read and written under g->watch_mu only.
 *
 * Concurrency: completions of one object may run on two pollers at once (its close batch and
 * its send chain); they share only the atomic `pending` and `cancelled` (QueryStream,
 * reflection) or take g->watch_mu (Watch).
 * Callers: server.c through gs_stream_methods.
 */
#include "gs_int.h"

#include "util/alloc.h"
#include "util/log.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include <stdio.h>
#include <string.h>

#define QS_PATH    "/vecstore.VecStoreService/QueryStream"
#define WATCH_PATH "/grpc.health.v1.Health/Watch"

/* ---------------------------------------------------------------------------- QueryStream */

typedef struct gs_qstream {
    gs_tag send_tag, close_tag;
    vs_grpc_server_t *g;
    grpc_call *call;
    atomic_int pending;
    atomic_bool cancelled;
    int close_cancelled;
    vs_ticket_t *ticket;
    vs_query_out out;
    bool has_out;
    uint32_t next;
    bool sent_initial, finishing;
    int code;
    char details[VS_STATUS_MSG_MAX];
    grpc_byte_buffer *bb;
} gs_qstream;

static void qs_free(gs_qstream *s)
{
    if (s->ticket) svc_release(s->ticket);
    if (s->has_out) vs_query_out_free(&s->out);
    svc_count_grpc(s->g->svc, QS_PATH, s->code);
    grpc_call_unref(s->call);
    vs_free(s);
}

static void qs_unpend(gs_qstream *s)
{
    if (atomic_fetch_sub(&s->pending, 1) == 1) qs_free(s);
}

/* Packs one QueryStreamResponse (a result, or the final message when h is NULL). */
static grpc_byte_buffer *qs_message(gs_qstream *s, const vs_hit *h, uint32_t rank)
{
    gs_arena a;
    gs_arena_init(&a);
    Vecstore__QueryStreamResponse m = VECSTORE__QUERY_STREAM_RESPONSE__INIT;
    Vecstore__QueryStats stats = VECSTORE__QUERY_STATS__INIT;
    if (h != NULL) {
        m.result = gs_hit_out(&a, h, s->out.dim, s->out.hybrid);
        m.rank = rank;
    } else {
        m.complete = 1;
        stats.took_us = s->out.took_us;
        stats.plan = (char *)(s->out.plan ? s->out.plan : "");
        stats.visited = s->out.visited;
        stats.count = s->out.n_hits;
        m.stats = &stats;
    }
    grpc_byte_buffer *bb = NULL;
    if (!a.oom) {
        size_t n = protobuf_c_message_get_packed_size(&m.base);
        grpc_slice sl = grpc_slice_malloc(n);
        protobuf_c_message_pack(&m.base, GRPC_SLICE_START_PTR(sl));
        bb = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
    }
    gs_arena_free(&a);
    return bb;
}

static void qs_send_status(gs_qstream *s)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    if (!s->sent_initial) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    s->sent_initial = true;
    grpc_slice det = grpc_slice_from_copied_string(s->details);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)s->code;
    ops[n++].data.send_status_from_server.status_details = s->code ? &det : NULL;
    s->finishing = true;
    bool ok = gs_start_batch(s->call, ops, n, &s->send_tag);
    grpc_slice_unref(det);
    if (!ok) qs_unpend(s);
}

/* Sends the next message of the chain, or ends it. The chain's pending count moves along. */
static void qs_send_next(gs_qstream *s)
{
    if (atomic_load(&s->cancelled)) {
        s->code = GRPC_STATUS_CANCELLED;
        qs_unpend(s);
        return;
    }
    bool last = s->next >= s->out.n_hits;
    s->bb = qs_message(s, last ? NULL : &s->out.hits[s->next], s->next + 1);
    if (s->bb == NULL) {
        s->code = GRPC_STATUS_INTERNAL;
        snprintf(s->details, sizeof(s->details), "%s", vs_err_default_msg(VS_ERR_NOMEM));
        qs_send_status(s);
        return;
    }
    s->next++;
    grpc_op ops[3];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    if (!s->sent_initial) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    s->sent_initial = true;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = s->bb;
    if (last) {
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n++].data.send_status_from_server.status = GRPC_STATUS_OK;
        s->finishing = true;
        s->code = 0;
    }
    if (!gs_start_batch(s->call, ops, n, &s->send_tag)) {
        grpc_byte_buffer_destroy(s->bb);
        s->bb = NULL;
        s->code = GRPC_STATUS_CANCELLED;
        qs_unpend(s);
    }
}

static void qs_on_send(gs_tag *t, bool ok)
{
    gs_qstream *s = gs_container_of(t, gs_qstream, send_tag);
    if (s->bb) grpc_byte_buffer_destroy(s->bb);
    s->bb = NULL;
    if (s->finishing || !ok) {
        if (!ok && s->code == 0) s->code = GRPC_STATUS_CANCELLED;
        qs_unpend(s);
        return;
    }
    qs_send_next(s);
}

static void qs_on_close(gs_tag *t, bool ok)
{
    (void)ok;
    gs_qstream *s = gs_container_of(t, gs_qstream, close_tag);
    if (s->close_cancelled) atomic_store(&s->cancelled, true);
    qs_unpend(s);
}

static void rpc_query_stream(gs_ctx *x, grpc_call *call)
{
    gs_qstream *s = vs_calloc(1, sizeof(*s));
    if (s == NULL) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_INTERNAL, "out of memory", NULL);
        grpc_call_unref(call);
        return;
    }
    s->send_tag.fn = qs_on_send;
    s->close_tag.fn = qs_on_close;
    s->g = x->g;
    s->call = call;
    atomic_init(&s->pending, 2);
    atomic_init(&s->cancelled, false);

    /* The life cycle of data.c's data_call, keeping the ticket for the stream's length. */
    const ProtobufCMessageDescriptor *desc = &vecstore__query_stream_request__descriptor;
    char err[256] = "request message too large";
    char ns[128];
    Vecstore__QueryStreamRequest *m = NULL;
    if (!x->too_large)
        m = (Vecstore__QueryStreamRequest *)gs_unpack(desc, x->in, x->in_len, err, sizeof(err));
    if (m != NULL)
        x->req.namespace_id = m->namespace_;
    else if (gs_scan_string_field(x->in, x->in_len, 4, ns, sizeof(ns)))
        x->req.namespace_id = ns;
    vs_status st;
    vs_status_clear(&st);
    vs_err rc = svc_admit(x->svc, &x->req, VS_OP_STREAM_QUERY, x->too_large, &s->ticket, &st);
    if (rc == VS_OK && m == NULL) rc = svc_reject(s->ticket, VS_ERR_INVALID_ARGUMENT, err, &st);
    if (rc == VS_OK) {
        vs_query_in q;
        gs_query_in(&q, m->vector, m->n_vector, m->limit, m->filter, m->ef,
                    m->include_metadata_opt_case != 0, m->include_metadata,
                    m->include_vector_opt_case != 0, m->include_vector);
        bool hybrid = m->text_query != NULL && m->text_query[0] != '\0';
        if (hybrid) {
            q.hybrid = true;
            q.text_query = m->text_query;
            q.text_len = strlen(m->text_query);
            if (m->alpha_opt_case != 0) {
                q.has_alpha = true;
                q.alpha = m->alpha;
            }
            rc = svc_hybrid_query(s->ticket, &q, &s->out, &st);
        } else {
            rc = svc_query(s->ticket, &q, &s->out, &st);
        }
        s->has_out = rc == VS_OK;
    }
    if (m != NULL) protobuf_c_message_free_unpacked(&m->base, &gs_pb_alloc);
    if (rc != VS_OK) {
        vs_err code = st.code == VS_OK ? VS_ERR_INTERNAL : st.code;
        s->code = vs_err_grpc_status(code);
        snprintf(s->details, sizeof(s->details), "%s",
                 st.msg[0] ? st.msg : vs_err_default_msg(code));
    }

    grpc_op close_op;
    memset(&close_op, 0, sizeof(close_op));
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &s->close_cancelled;
    if (!gs_start_batch(call, &close_op, 1, &s->close_tag)) atomic_fetch_sub(&s->pending, 1);
    if (rc != VS_OK)
        qs_send_status(s);
    else
        qs_send_next(s);
}

/* ---------------------------------------------------------------------------- health */

static bool known_service(const char *name, size_t n)
{
    static const char *const names[] = {"", "vecstore.VecStoreService",
                                        "vecstore.VecStoreAdminService", "grpc.health.v1.Health"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0) return true;
    return false;
}

/* The `service` field of a HealthCheckRequest; false if malformed. */
static bool health_service(const uint8_t *p, size_t n, const uint8_t **name, size_t *len)
{
    size_t off = 0;
    uint32_t f, wt;
    const uint8_t *v;
    size_t vl;
    uint64_t num;
    bool bad = false;
    *name = (const uint8_t *)"";
    *len = 0;
    while (gs_pb_next(p, n, &off, &f, &wt, &v, &vl, &num, &bad))
        if (f == 1 && wt == 2) *name = v, *len = vl;
    return !bad;
}

static void health_message(gs_reply *r, int status)
{
    vs_buf b = VS_BUF_INIT;
    gs_pb_uint(&b, 1, (uint64_t)status);
    if (b.oom) {
        vs_buf_free(&b);
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
        return;
    }
    r->code = 0;
    r->body_len = b.len;
    r->body = vs_buf_detach(&b, &r->body_len);
    if (r->body == NULL) r->body = vs_malloc(1), r->body_len = 0; /* SERVING never encodes empty */
}

/* Always open (SPEC 11): no key, not counted as a data request. */
static void rpc_health_check(gs_ctx *x, gs_reply *r)
{
    const uint8_t *name;
    size_t len;
    if (x->too_large || !health_service(x->in, x->in_len, &name, &len)) {
        gs_reply_error(r, VS_ERR_INVALID_ARGUMENT, "malformed HealthCheckRequest");
        return;
    }
    if (!known_service((const char *)name, len)) {
        r->code = GRPC_STATUS_NOT_FOUND;
        snprintf(r->details, sizeof(r->details), "unknown service %.*s", (int)len, name);
        return;
    }
    health_message(r, gs_serving_status(x->g));
}

struct gs_watch {
    gs_tag send_tag, close_tag;
    vs_grpc_server_t *g;
    grpc_call *call;
    int pending;
    bool sending, finishing, closed, dead, sent_initial, known;
    int last;
    int close_cancelled;
    grpc_byte_buffer *bb;
    gs_watch_t *next, *prev;
};

static void watch_maybe_free_locked(gs_watch_t *w)
{
    if (w->pending > 0) return;
    vs_grpc_server_t *g = w->g;
    if (w->prev)
        w->prev->next = w->next;
    else
        g->watchers = w->next;
    if (w->next) w->next->prev = w->prev;
    svc_count_grpc(g->svc, WATCH_PATH, w->close_cancelled ? GRPC_STATUS_CANCELLED : 0);
    grpc_call_unref(w->call);
    vs_free(w);
}

static void watch_send_locked(gs_watch_t *w, int status)
{
    vs_buf b = VS_BUF_INIT;
    gs_pb_uint(&b, 1, (uint64_t)status);
    if (b.oom) {
        vs_buf_free(&b);
        return;
    }
    w->bb = gs_bb_from(b.data, b.len);
    vs_buf_free(&b);
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    if (!w->sent_initial) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = w->bb;
    if (gs_start_batch(w->call, ops, n, &w->send_tag)) {
        w->sent_initial = true;
        w->sending = true;
        w->pending++;
        w->last = status;
    } else {
        grpc_byte_buffer_destroy(w->bb);
        w->bb = NULL;
        w->dead = true;
    }
}

static void watch_finish_locked(gs_watch_t *w)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    if (!w->sent_initial) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    grpc_slice det = grpc_slice_from_static_string("server is shutting down");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = GRPC_STATUS_UNAVAILABLE;
    ops[n++].data.send_status_from_server.status_details = &det;
    w->finishing = true;
    if (gs_start_batch(w->call, ops, n, &w->send_tag)) {
        w->sent_initial = true;
        w->sending = true;
        w->pending++;
    } else {
        w->dead = true;
    }
}

static void watch_on_send(gs_tag *t, bool ok)
{
    gs_watch_t *w = gs_container_of(t, gs_watch_t, send_tag);
    pthread_mutex_t *mu = &w->g->watch_mu;
    pthread_mutex_lock(mu);
    if (w->bb) grpc_byte_buffer_destroy(w->bb);
    w->bb = NULL;
    w->sending = false;
    if (!ok) w->dead = true;
    w->pending--;
    watch_maybe_free_locked(w);
    pthread_mutex_unlock(mu);
}

static void watch_on_close(gs_tag *t, bool ok)
{
    (void)ok;
    gs_watch_t *w = gs_container_of(t, gs_watch_t, close_tag);
    pthread_mutex_t *mu = &w->g->watch_mu;
    pthread_mutex_lock(mu);
    w->closed = true;
    w->pending--;
    watch_maybe_free_locked(w);
    pthread_mutex_unlock(mu);
}

void gs_watch_poll(vs_grpc_server_t *g)
{
    bool quiescing = atomic_load(&g->quiescing);
    int status = gs_serving_status(g);
    pthread_mutex_lock(&g->watch_mu);
    for (gs_watch_t *w = g->watchers; w != NULL; w = w->next) {
        if (w->closed || w->dead || w->sending || w->finishing) continue;
        if (quiescing)
            watch_finish_locked(w);
        else if (w->known && status != w->last)
            watch_send_locked(w, status);
    }
    pthread_mutex_unlock(&g->watch_mu);
}

static void rpc_health_watch(gs_ctx *x, grpc_call *call)
{
    const uint8_t *name;
    size_t len;
    if (x->too_large || !health_service(x->in, x->in_len, &name, &len)) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_INVALID_ARGUMENT,
                                     "malformed HealthCheckRequest", NULL);
        grpc_call_unref(call);
        return;
    }
    gs_watch_t *w = vs_calloc(1, sizeof(*w));
    if (w == NULL) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_INTERNAL, "out of memory", NULL);
        grpc_call_unref(call);
        return;
    }
    vs_grpc_server_t *g = x->g;
    w->send_tag.fn = watch_on_send;
    w->close_tag.fn = watch_on_close;
    w->g = g;
    w->call = call;
    w->known = known_service((const char *)name, len);
    pthread_mutex_lock(&g->watch_mu);
    w->next = g->watchers;
    if (g->watchers) g->watchers->prev = w;
    g->watchers = w;
    grpc_op close_op;
    memset(&close_op, 0, sizeof(close_op));
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &w->close_cancelled;
    if (gs_start_batch(call, &close_op, 1, &w->close_tag))
        w->pending++;
    else
        w->closed = true;
    if (!w->closed) {
        if (atomic_load(&g->quiescing))
            watch_finish_locked(w);
        else
            watch_send_locked(w, w->known ? gs_serving_status(g) : 3 /* SERVICE_UNKNOWN */);
    }
    watch_maybe_free_locked(w);
    pthread_mutex_unlock(&g->watch_mu);
}

/* ---------------------------------------------------------------------------- reflection */

static const char *const g_services[] = {
    "vecstore.VecStoreService",
    "vecstore.VecStoreAdminService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
};

/* The FileDescriptorProto of vecstore.proto: field 1 of the embedded FileDescriptorSet. */
static bool vecstore_fdp(const uint8_t **p, size_t *n)
{
    size_t off = 0;
    uint32_t f, wt;
    const uint8_t *v;
    size_t vl;
    uint64_t num;
    bool bad;
    while (gs_pb_next(gs_vecstore_descriptor_set, gs_vecstore_descriptor_set_len, &off, &f, &wt, &v,
                      &vl, &num, &bad))
        if (f == 1 && wt == 2) {
            *p = v;
            *n = vl;
            return true;
        }
    return false;
}

static bool has_prefix(const uint8_t *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static void refl_error(vs_buf *out, int code, const char *msg)
{
    vs_buf e = VS_BUF_INIT;
    gs_pb_uint(&e, 1, (uint64_t)code);
    gs_pb_bytes(&e, 2, msg, strlen(msg));
    gs_pb_bytes(out, 7, e.data, e.len);
    if (e.oom) out->oom = true;
    vs_buf_free(&e);
}

static void refl_file(vs_buf *out)
{
    const uint8_t *fdp;
    size_t n;
    if (!vecstore_fdp(&fdp, &n)) {
        refl_error(out, GRPC_STATUS_INTERNAL, "descriptor not available");
        return;
    }
    vs_buf f = VS_BUF_INIT;
    gs_pb_bytes(&f, 1, fdp, n);
    gs_pb_bytes(out, 4, f.data, f.len);
    if (f.oom) out->oom = true;
    vs_buf_free(&f);
}

/* Builds the ServerReflectionResponse for one ServerReflectionRequest. */
static void refl_answer(const uint8_t *req, size_t n, vs_buf *out)
{
    size_t off = 0;
    uint32_t f, wt, kind = 0;
    const uint8_t *v, *arg = NULL, *host = NULL;
    size_t vl, arg_len = 0, host_len = 0;
    uint64_t num;
    bool bad = false;
    while (gs_pb_next(req, n, &off, &f, &wt, &v, &vl, &num, &bad)) {
        if (wt != 2) continue;
        if (f == 1) {
            host = v, host_len = vl;
        } else if (f >= 3 && f <= 7) {
            kind = f;
            arg = v, arg_len = vl;
        }
    }
    if (host) gs_pb_bytes(out, 1, host, host_len);
    gs_pb_bytes(out, 2, req, n);
    if (bad) {
        refl_error(out, GRPC_STATUS_INVALID_ARGUMENT, "malformed ServerReflectionRequest");
        return;
    }
    switch (kind) {
    case 3: /* file_by_filename */
        if (arg_len == strlen("vecstore.proto") && memcmp(arg, "vecstore.proto", arg_len) == 0)
            refl_file(out);
        else
            refl_error(out, GRPC_STATUS_NOT_FOUND, "file not found");
        break;
    case 4: /* file_containing_symbol */
        if ((arg_len == 8 && memcmp(arg, "vecstore", 8) == 0) ||
            has_prefix(arg, arg_len, "vecstore."))
            refl_file(out);
        else
            refl_error(out, GRPC_STATUS_NOT_FOUND, "symbol not found");
        break;
    case 6: /* all_extension_numbers_of_type: vecstore.proto declares no extensions */
        if (has_prefix(arg, arg_len, "vecstore.")) {
            vs_buf e = VS_BUF_INIT;
            gs_pb_bytes(&e, 1, arg, arg_len);
            gs_pb_bytes(out, 5, e.data, e.len);
            vs_buf_free(&e);
        } else {
            refl_error(out, GRPC_STATUS_NOT_FOUND, "type not found");
        }
        break;
    case 7: { /* list_services */
        vs_buf l = VS_BUF_INIT;
        for (size_t i = 0; i < sizeof(g_services) / sizeof(g_services[0]); i++) {
            vs_buf sv = VS_BUF_INIT;
            gs_pb_bytes(&sv, 1, g_services[i], strlen(g_services[i]));
            gs_pb_bytes(&l, 1, sv.data, sv.len);
            vs_buf_free(&sv);
        }
        gs_pb_bytes(out, 6, l.data, l.len);
        vs_buf_free(&l);
        break;
    }
    case 5: /* file_containing_extension */
        refl_error(out, GRPC_STATUS_NOT_FOUND, "extension not found");
        break;
    default:
        refl_error(out, GRPC_STATUS_INVALID_ARGUMENT, "empty ServerReflectionRequest");
        break;
    }
}

typedef struct gs_refl {
    gs_tag tag, close_tag;
    vs_grpc_server_t *g;
    const char *path;
    grpc_call *call;
    atomic_int pending;
    int close_cancelled;
    bool done;
    grpc_byte_buffer *recv, *send;
} gs_refl;

static void refl_unpend(gs_refl *s)
{
    if (atomic_fetch_sub(&s->pending, 1) != 1) return;
    svc_count_grpc(s->g->svc, s->path, s->close_cancelled ? GRPC_STATUS_CANCELLED : 0);
    grpc_call_unref(s->call);
    vs_free(s);
}

static void refl_on_close(gs_tag *t, bool ok)
{
    (void)ok;
    refl_unpend(gs_container_of(t, gs_refl, close_tag));
}

static void refl_on_batch(gs_tag *t, bool ok)
{
    gs_refl *s = gs_container_of(t, gs_refl, tag);
    if (s->send) grpc_byte_buffer_destroy(s->send);
    s->send = NULL;
    if (s->done || !ok) {
        if (s->recv) grpc_byte_buffer_destroy(s->recv);
        s->recv = NULL;
        refl_unpend(s);
        return;
    }
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    if (s->recv == NULL) { /* the client half-closed: end the stream */
        s->done = true;
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n++].data.send_status_from_server.status = GRPC_STATUS_OK;
    } else {
        grpc_slice in = grpc_empty_slice();
        grpc_byte_buffer_reader rd;
        if (grpc_byte_buffer_reader_init(&rd, s->recv)) {
            in = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
        }
        grpc_byte_buffer_destroy(s->recv);
        s->recv = NULL;
        vs_buf out = VS_BUF_INIT;
        refl_answer(GRPC_SLICE_START_PTR(in), GRPC_SLICE_LENGTH(in), &out);
        grpc_slice_unref(in);
        if (out.oom) {
            vs_buf_free(&out);
            s->done = true;
            grpc_slice det = grpc_slice_from_static_string("out of memory");
            ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
            ops[n].data.send_status_from_server.status = GRPC_STATUS_INTERNAL;
            ops[n++].data.send_status_from_server.status_details = &det;
            if (!gs_start_batch(s->call, ops, n, &s->tag)) refl_unpend(s);
            return;
        }
        s->send = gs_bb_from(out.data, out.len);
        vs_buf_free(&out);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = s->send;
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n++].data.recv_message.recv_message = &s->recv;
    }
    if (!gs_start_batch(s->call, ops, n, &s->tag)) {
        if (s->send) grpc_byte_buffer_destroy(s->send);
        s->send = NULL;
        refl_unpend(s);
    }
}

static void start_reflection(gs_ctx *x, grpc_call *call, const char *path)
{
    gs_refl *s = vs_calloc(1, sizeof(*s));
    if (s == NULL) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_INTERNAL, "out of memory", NULL);
        grpc_call_unref(call);
        return;
    }
    s->tag.fn = refl_on_batch;
    s->close_tag.fn = refl_on_close;
    s->g = x->g;
    s->path = path;
    s->call = call;
    atomic_init(&s->pending, 2);
    grpc_op close_op;
    memset(&close_op, 0, sizeof(close_op));
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &s->close_cancelled;
    if (!gs_start_batch(call, &close_op, 1, &s->close_tag)) atomic_fetch_sub(&s->pending, 1);
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &s->recv;
    if (!gs_start_batch(call, ops, 2, &s->tag)) refl_unpend(s);
}

static void rpc_reflection_v1alpha(gs_ctx *x, grpc_call *call)
{
    start_reflection(x, call, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
}

static void rpc_reflection_v1(gs_ctx *x, grpc_call *call)
{
    start_reflection(x, call, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
}

const gs_method gs_stream_methods[] = {
    {QS_PATH, GS_SERVER_STREAM, NULL, rpc_query_stream},
    {"/grpc.health.v1.Health/Check", GS_UNARY, rpc_health_check, NULL},
    {WATCH_PATH, GS_SERVER_STREAM, NULL, rpc_health_watch},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", GS_BIDI, NULL,
     rpc_reflection_v1alpha},
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", GS_BIDI, NULL, rpc_reflection_v1},
};
const size_t gs_n_stream_methods = sizeof(gs_stream_methods) / sizeof(gs_stream_methods[0]);
