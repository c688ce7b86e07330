/*
 * fuzz_proto.c - libFuzzer target for the protobuf request decoding of every gRPC method: the
 * protobuf-c unpack (behind gs_unpack's nesting pre-scan, src/grpc/codec.c) and the adapter's
 * conversion of each request into the service structs (src/grpc/data.c, admin.c, stream.c).
 *
 * What: byte 0 of the input picks the method, the rest is the request message exactly as it
 * would arrive in a gRPC frame:
 *   0..10   VecStoreService unary RPCs (gs_data_methods: Upsert .. HealthCheck), run for real
 *           through their handler (data.c) against the stub service below;
 *   11..21  VecStoreAdminService RPCs (gs_admin_methods), likewise (admin.c);
 *   22      QueryStream: gs_unpack(QueryStreamRequest) + the same conversion rpc_query_stream
 *           does (gs_query_in, hybrid when text_query is set) -> stub svc_query;
 *   23      grpc.health.v1.Health/Check and 24 ServerReflection: the raw-wire readers of
 *           stream.c (health_service, refl_answer), reached by including stream.c.
 * Byte 0 = 255 runs method (size % 22) with too_large set (the 413 path: nothing decoded, the
 * namespace scanned from the raw bytes).
 *
 * The stub service (svc_*) stands where src/service is: it checks what the adapter hands it
 * (strings NUL-terminated and exactly their stated length, vectors readable for their dim,
 * encoded metadata valid per vs_value_validate and equal to itself after the reply-side
 * conversion gs_meta_decode -> gs_meta_encode), and answers with records and namespaces whose
 * metadata is the request's, so the reply encoders run too. A namespace or id starting with '!'
 * makes the stub fail (the error reply path).
 * Checks on every reply: OK replies unpack as the method's response message; error replies have
 * no body and a non-empty message. abort() on any violation.
 *
 * Memory: everything is freed per input (LeakSanitizer). Callers: fuzz/run.sh (fuzz_proto.srcs
 * generates the protobuf-c code and the descriptor into build-fuzz/gen).
 */
#include "../src/grpc/stream.c" /* health_service, refl_answer are static there */

#include "core/value.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_proto: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static volatile float g_sink;

/* A string the adapter handed over: NUL-terminated and exactly len bytes when len is known. */
static void check_cstr(const char *s, size_t len, bool has_len, const char *what)
{
    if (s == NULL) return;
    size_t n = strlen(s);
    if (has_len && n != len) fail("string length does not match", what);
}

static void touch_floats(const float *v, uint32_t dim)
{
    float acc = 0;
    for (uint32_t i = 0; i < dim; i++) acc += v[i];
    g_sink = acc;
}

/* Metadata the adapter encoded: valid, an object, and unchanged by the reply-side conversion. */
static void check_meta(const uint8_t *meta, size_t len)
{
    if (meta == NULL) return;
    if (!vs_value_validate(meta, len, VS_VALUE_MAX_DEPTH)) fail("invalid encoded metadata", NULL);
    vs_value v = vs_value_of(meta, len);
    if (vs_value_type(v) != VS_VAL_OBJECT) fail("metadata is not an object", NULL);
    gs_arena a;
    gs_arena_init(&a);
    size_t n = 0;
    gs_map_entry **e =
        gs_meta_decode(&a, meta, len, &vecstore__get_response__metadata_entry__descriptor, &n);
    if (!a.oom && (e != NULL || vs_value_count(v) == 0)) {
        size_t len2 = 0;
        bool deep = false, oom = false;
        uint8_t *again = gs_meta_encode(e, n, &len2, &deep, &oom);
        if (again == NULL && !oom) fail("re-encoding decoded metadata fails", NULL);
        /* bytes, not vs_value_equal: a NaN number (legal on the wire) must survive as is */
        if (again != NULL && (len2 != len || memcmp(again, meta, len) != 0))
            fail("metadata changes through gs_meta_decode/gs_meta_encode", NULL);
        vs_free(again);
    }
    gs_arena_free(&a);
}

static bool refuse(const char *s)
{
    return s != NULL && s[0] == '!';
}

/* ---------------------------------------------------------------------------- stub service */

struct vs_ticket {
    const char *ns;
    bool admitted;
};
static struct vs_ticket g_ticket;
static uint8_t *g_meta; /* a copy of the last record's metadata (for the replies); per input */
static size_t g_meta_len;
static uint8_t *g_fixed; /* replies' metadata when no record was seen: built once, kept */
static size_t g_fixed_len;

static void build_fixed(void)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "title", 5);
    vs_vb_string(&b, "Hello", 5);
    vs_vb_key(&b, "year", 4);
    vs_vb_number(&b, 2024);
    vs_vb_key(&b, "tags", 4);
    vs_vb_begin_array(&b);
    vs_vb_string(&b, "ml", 2);
    vs_vb_bool(&b, true);
    vs_vb_null(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "x", 1);
    vs_vb_number(&b, -0.5);
    vs_vb_end(&b);
    vs_vb_end(&b);
    vs_vb_end(&b);
    bool deep = false;
    g_fixed = vs_vb_finish(&b, &g_fixed_len, &deep);
    vs_vb_free(&b);
    if (g_fixed == NULL) fail("cannot build the fixed metadata", NULL);
}

/* The metadata replies carry: the last record's, else the fixed one. */
static const uint8_t *reply_meta(size_t *len)
{
    *len = g_meta ? g_meta_len : g_fixed_len;
    return g_meta ? g_meta : g_fixed;
}
static float g_vec[4] = {1, 2, 3, 4};

vs_svc_state svc_state(const vs_service_t *s)
{
    (void)s;
    return VS_STATE_READY;
}

vs_err svc_admit(vs_service_t *s, const vs_req *req, vs_op op, bool body_too_large,
                 vs_ticket_t **out, vs_status *st)
{
    (void)s;
    if (op >= VS_OP__COUNT) fail("bad op", NULL);
    if (req->proto != VS_PROTO_GRPC) fail("request not marked gRPC", NULL);
    check_cstr(req->namespace_id, 0, false, "namespace");
    *out = NULL;
    if (body_too_large) return vs_status_set(st, VS_ERR_TOO_LARGE, "request message too large");
    if (refuse(req->namespace_id))
        return vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%s' not found", req->namespace_id);
    g_ticket.ns = req->namespace_id;
    g_ticket.admitted = true;
    *out = &g_ticket;
    return VS_OK;
}

vs_err svc_reject(vs_ticket_t *t, vs_err code, const char *msg, vs_status *st)
{
    if (t == NULL || !t->admitted) fail("reject without a ticket", NULL);
    if (msg == NULL || msg[0] == '\0') fail("reject without a message", NULL);
    return vs_status_set(st, code, "%s", msg);
}

void svc_release(vs_ticket_t *t)
{
    if (t == NULL || !t->admitted) fail("release without a ticket", NULL);
    t->admitted = false;
}

static void check_record(const vs_record_in *r)
{
    if (r->id == NULL) fail("record id NULL", NULL);
    check_cstr(r->id, r->id_len, true, "record id");
    if (r->dim && r->vector == NULL) fail("vector NULL with a dimension", NULL);
    touch_floats(r->vector, r->dim);
    if (r->meta_too_deep && r->meta != NULL) fail("too deep metadata was encoded", NULL);
    if (r->meta != NULL && r->meta_len == 0) fail("metadata of length 0", NULL);
    check_meta(r->meta, r->meta_len);
    if (r->meta != NULL) {
        uint8_t *copy = vs_malloc(r->meta_len);
        if (copy != NULL) {
            memcpy(copy, r->meta, r->meta_len);
            vs_free(g_meta);
            g_meta = copy;
            g_meta_len = r->meta_len;
        }
    }
}

vs_err svc_upsert(vs_ticket_t *t, const vs_record_in *rec, vs_status *st)
{
    if (!t->admitted) fail("operation without a ticket", NULL);
    check_record(rec);
    if (refuse(rec->id)) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "bad id");
    return VS_OK;
}

vs_err svc_batch_upsert(vs_ticket_t *t, const vs_record_in *recs, size_t n, size_t *n_upserted,
                        vs_status *st)
{
    if (!t->admitted) fail("operation without a ticket", NULL);
    for (size_t i = 0; i < n; i++) check_record(&recs[i]);
    if (n > 0 && refuse(recs[0].id)) return vs_status_set(st, VS_ERR_QUOTA_EXCEEDED, "quota");
    *n_upserted = n;
    return VS_OK;
}

static vs_err query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st)
{
    if (!t->admitted) fail("operation without a ticket", NULL);
    if (q->has_vector != (q->dim > 0)) fail("has_vector disagrees with dim", NULL);
    touch_floats(q->vector, q->dim);
    check_cstr(q->filter, q->filter_len, true, "filter");
    check_cstr(q->text_query, q->text_len, true, "text_query");
    if (q->filter != NULL && q->filter_len == 0) fail("empty filter passed on", NULL);
    if (q->has_limit != (q->limit != 0)) fail("has_limit disagrees with limit", NULL);
    if (refuse(q->filter)) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Invalid filter");
    vs_hit *h = vs_calloc(2, sizeof(*h));
    if (h == NULL) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    size_t ml;
    const uint8_t *meta = reply_meta(&ml);
    for (int i = 0; i < 2; i++) {
        h[i].id = i ? "b" : "a";
        h[i].id_len = 1;
        h[i].score = 1.0f / (float)(i + 1);
        h[i].meta = q->include_metadata ? meta : NULL;
        h[i].meta_len = q->include_metadata ? ml : 0;
        h[i].vector = q->include_vector ? g_vec : NULL;
    }
    out->hits = h;
    out->n_hits = 2;
    out->dim = 4;
    out->hybrid = q->hybrid;
    out->plan = "exact";
    out->_mem = h;
    return VS_OK;
}

vs_err svc_query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st)
{
    if (q->hybrid) fail("svc_query given a hybrid query", NULL);
    return query(t, q, out, st);
}

vs_err svc_hybrid_query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st)
{
    if (!q->hybrid) fail("svc_hybrid_query given a plain query", NULL);
    return query(t, q, out, st);
}

void vs_query_out_free(vs_query_out *out)
{
    vs_free(out->_mem);
    memset(out, 0, sizeof(*out));
}

static vs_err by_id(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st)
{
    if (!t->admitted) fail("operation without a ticket", NULL);
    if (id == NULL) fail("id NULL", NULL);
    check_cstr(id, id_len, true, "id");
    if (refuse(id)) return vs_status_set(st, VS_ERR_NOT_FOUND, "Vector '%s' not found", id);
    return VS_OK;
}

vs_err svc_get(vs_ticket_t *t, const char *id, size_t id_len, vs_record_out *out, vs_status *st)
{
    vs_err rc = by_id(t, id, id_len, st);
    if (rc) return rc;
    out->id = vs_malloc(id_len + 1);
    out->vector = vs_malloc(sizeof(g_vec));
    size_t ml;
    const uint8_t *meta = reply_meta(&ml);
    out->meta = vs_malloc(ml);
    if (out->id == NULL || out->vector == NULL || out->meta == NULL) {
        vs_record_out_free(out);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    }
    memcpy(out->id, id, id_len + 1);
    out->id_len = id_len;
    memcpy(out->vector, g_vec, sizeof(g_vec));
    out->dim = 4;
    memcpy(out->meta, meta, ml);
    out->meta_len = ml;
    out->state = "live";
    return VS_OK;
}

void vs_record_out_free(vs_record_out *out)
{
    vs_free(out->id);
    vs_free(out->vector);
    vs_free(out->meta);
    memset(out, 0, sizeof(*out));
}

vs_err svc_delete(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st)
{
    return by_id(t, id, id_len, st);
}
vs_err svc_soft_delete(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st)
{
    return by_id(t, id, id_len, st);
}
vs_err svc_restore(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st)
{
    return by_id(t, id, id_len, st);
}

vs_err svc_compact(vs_ticket_t *t, vs_compact_out *out, vs_status *st)
{
    (void)st;
    if (!t->admitted) fail("operation without a ticket", NULL);
    out->removed = 3;
    out->took_ms = 1;
    return VS_OK;
}

vs_err svc_stats(vs_ticket_t *t, vs_stats_out *out, vs_status *st)
{
    (void)st;
    if (!t->admitted) fail("operation without a ticket", NULL);
    snprintf(out->namespace_id, sizeof(out->namespace_id), "%s", t->ns ? t->ns : "default");
    out->dimension = 4;
    out->metric = "cosine";
    out->index_type = "hnsw";
    return VS_OK;
}

/* ---- admin ---- */

static vs_err admin_ns(const vs_req *req, const char *id, vs_ns_info *out, vs_status *st)
{
    if (req->proto != VS_PROTO_GRPC) fail("request not marked gRPC", NULL);
    if (id == NULL) fail("namespace id NULL", NULL);
    check_cstr(id, 0, false, "namespace id");
    if (refuse(id)) return vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%s' not found", id);
    if (out != NULL) {
        snprintf(out->id, sizeof(out->id), "%s", id);
        out->name = strdup(id);
        if (out->name == NULL) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
        out->status = "active";
        out->metric = "l2";
        out->quotas.max_vectors = (vs_quota){true, 10};
        out->quotas.max_requests_per_second = (vs_quota){true, 2.5};
    }
    return VS_OK;
}

void vs_ns_info_free(vs_ns_info *info)
{
    free(info->name);
    info->name = NULL;
}

void vs_ns_info_array_free(vs_ns_info *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) vs_ns_info_free(&arr[i]);
    vs_free(arr);
}

static void check_qup(const vs_quotas_update *u)
{
    const vs_quota_update *q[7] = {&u->max_vectors,
                                   &u->max_storage_bytes,
                                   &u->max_requests_per_second,
                                   &u->max_concurrent_queries,
                                   &u->max_dimension,
                                   &u->max_results_per_query,
                                   &u->max_batch_size};
    for (int i = 0; i < 7; i++)
        if (q[i]->kind != VS_QUP_ABSENT && q[i]->kind != VS_QUP_NULL && q[i]->kind != VS_QUP_VALUE)
            fail("bad quota update kind", NULL);
}

vs_err svc_ns_create(vs_service_t *s, const vs_req *req, const vs_ns_create *c, vs_ns_info *out,
                     vs_status *st)
{
    (void)s;
    check_cstr(c->name, 0, false, "name");
    check_cstr(c->tier, 0, false, "tier");
    check_cstr(c->metric, 0, false, "metric");
    if (c->has_metric != (c->metric != NULL)) fail("has_metric disagrees with metric", NULL);
    check_qup(&c->quotas);
    return admin_ns(req, c->id, out, st);
}

vs_err svc_ns_list(vs_service_t *s, const vs_req *req, vs_ns_info **out, size_t *n_out,
                   vs_status *st)
{
    (void)s;
    vs_ns_info *arr = vs_calloc(2, sizeof(*arr));
    if (arr == NULL) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    admin_ns(req, "default", &arr[0], st);
    admin_ns(req, "tenant-a", &arr[1], st);
    *out = arr;
    *n_out = 2;
    return VS_OK;
}

vs_err svc_ns_get(vs_service_t *s, const vs_req *req, const char *id, vs_ns_info *out,
                  vs_status *st)
{
    (void)s;
    return admin_ns(req, id, out, st);
}

vs_err svc_ns_update_quotas(vs_service_t *s, const vs_req *req, const char *id,
                            const vs_quotas_update *u, vs_ns_info *out, vs_status *st)
{
    (void)s;
    check_qup(u);
    return admin_ns(req, id, out, st);
}

vs_err svc_ns_update_status(vs_service_t *s, const vs_req *req, const char *id, const char *status,
                            vs_ns_info *out, vs_status *st)
{
    (void)s;
    if (status == NULL) fail("status NULL", NULL);
    check_cstr(status, 0, false, "status");
    return admin_ns(req, id, out, st);
}

vs_err svc_ns_delete(vs_service_t *s, const vs_req *req, const char *id, vs_status *st)
{
    (void)s;
    return admin_ns(req, id, NULL, st);
}

vs_err svc_admin_stats(vs_service_t *s, const vs_req *req, vs_admin_stats *out, vs_status *st)
{
    (void)s;
    (void)req;
    (void)st;
    out->total_namespaces = 2;
    return VS_OK;
}

vs_err svc_key_create(vs_service_t *s, const vs_req *req, const char *ns_id, vs_key_info *out,
                      vs_status *st)
{
    (void)s;
    vs_err rc = admin_ns(req, ns_id, NULL, st);
    if (rc) return rc;
    snprintf(out->key_id, sizeof(out->key_id), "k1");
    snprintf(out->key, sizeof(out->key), "vs_secret");
    snprintf(out->namespace_id, sizeof(out->namespace_id), "%s", ns_id);
    return VS_OK;
}

vs_err svc_key_list(vs_service_t *s, const vs_req *req, const char *ns_id, vs_key_info **out,
                    size_t *n_out, vs_status *st)
{
    (void)s;
    vs_err rc = admin_ns(req, ns_id, NULL, st);
    if (rc) return rc;
    *out = vs_calloc(1, sizeof(**out));
    if (*out == NULL) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    snprintf((*out)->key_id, sizeof((*out)->key_id), "k1");
    snprintf((*out)->namespace_id, sizeof((*out)->namespace_id), "%s", ns_id);
    *n_out = 1;
    return VS_OK;
}

vs_err svc_key_revoke(vs_service_t *s, const vs_req *req, const char *ns_id, const char *key_id,
                      vs_status *st)
{
    (void)s;
    if (key_id == NULL) fail("key id NULL", NULL);
    check_cstr(key_id, 0, false, "key id");
    return admin_ns(req, ns_id, NULL, st);
}

void svc_count_grpc(vs_service_t *s, const char *method, int code)
{
    (void)s, (void)method, (void)code;
}

/* server.c functions stream.c refers to; no call object exists here, so none is reached. */
bool gs_start_batch(grpc_call *call, const grpc_op *ops, size_t n, gs_tag *tag)
{
    (void)call, (void)ops, (void)n, (void)tag;
    fail("gs_start_batch reached", NULL);
    return false;
}
grpc_byte_buffer *gs_bb_from(const uint8_t *p, size_t n)
{
    (void)p, (void)n;
    fail("gs_bb_from reached", NULL);
    return NULL;
}
int64_t gs_now_us(void)
{
    return 0;
}

/* ---------------------------------------------------------------------------- the driver */

/* Response message of each method of gs_data_methods then gs_admin_methods, by path suffix. */
static const struct {
    const char *suffix;
    const ProtobufCMessageDescriptor *resp;
} RESP[] = {
    {"/Upsert", &vecstore__upsert_response__descriptor},
    {"/BatchUpsert", &vecstore__batch_upsert_response__descriptor},
    {"/Query", &vecstore__query_response__descriptor},
    {"/HybridQuery", &vecstore__query_response__descriptor},
    {"/Get", &vecstore__get_response__descriptor},
    {"/Delete", &vecstore__delete_response__descriptor},
    {"/SoftDelete", &vecstore__soft_delete_response__descriptor},
    {"/Restore", &vecstore__restore_response__descriptor},
    {"/Compact", &vecstore__compact_response__descriptor},
    {"/GetStats", &vecstore__get_stats_response__descriptor},
    {"/HealthCheck", &vecstore__health_check_response__descriptor},
    {"/CreateNamespace", &vecstore__namespace_response__descriptor},
    {"/ListNamespaces", &vecstore__list_namespaces_response__descriptor},
    {"/GetNamespace", &vecstore__namespace_response__descriptor},
    {"/UpdateNamespaceQuotas", &vecstore__namespace_response__descriptor},
    {"/UpdateNamespaceStatus", &vecstore__namespace_response__descriptor},
    {"/GetNamespaceStats", &vecstore__namespace_stats_response__descriptor},
    {"/GetAggregateStats", &vecstore__aggregate_stats_response__descriptor},
    {"/DeleteNamespace", &vecstore__delete_namespace_response__descriptor},
    {"/CreateApiKey", &vecstore__create_api_key_response__descriptor},
    {"/ListApiKeys", &vecstore__list_api_keys_response__descriptor},
    {"/RevokeApiKey", &vecstore__revoke_api_key_response__descriptor},
};

static const ProtobufCMessageDescriptor *resp_desc(const char *path)
{
    const char *slash = strrchr(path, '/');
    for (size_t i = 0; i < sizeof(RESP) / sizeof(RESP[0]); i++)
        if (strcmp(slash, RESP[i].suffix) == 0) return RESP[i].resp;
    fail("no response descriptor for", path);
    return NULL;
}

static void check_reply(const gs_reply *r, const char *path)
{
    if (r->code != 0) {
        if (r->body != NULL) fail("error reply with a body", path);
        if (r->details[0] == '\0') fail("error reply without a message", path);
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(resp_desc(path), NULL, r->body_len, r->body);
    if (m == NULL) fail("OK reply does not unpack as its response", path);
    protobuf_c_message_free_unpacked(m, NULL);
}

static struct vs_grpc_server g_server; /* zeroed: not quiescing */

static void run_unary(const gs_method *m, const uint8_t *in, size_t n, bool too_large)
{
    gs_ctx x;
    memset(&x, 0, sizeof(x));
    x.g = &g_server;
    x.svc = NULL;
    x.req.proto = VS_PROTO_GRPC;
    x.in = n ? in : NULL;
    x.in_len = n;
    x.too_large = too_large;
    gs_reply r;
    memset(&r, 0, sizeof(r));
    m->unary(&x, &r);
    vs_free(g_meta);
    g_meta = NULL;
    g_meta_len = 0;
    if (g_ticket.admitted) fail("ticket not released", m->path);
    check_reply(&r, m->path);
    vs_free(r.body);
}

/* rpc_query_stream's decoding and conversion (stream.c), without a call object. */
static void run_query_stream(const uint8_t *in, size_t n)
{
    char err[256];
    Vecstore__QueryStreamRequest *m = (Vecstore__QueryStreamRequest *)gs_unpack(
        &vecstore__query_stream_request__descriptor, in, n, err, sizeof(err));
    if (m == NULL) {
        if (err[0] == '\0') fail("gs_unpack failed without a message", NULL);
        char ns[128];
        gs_scan_string_field(in, n, 4, ns, sizeof(ns));
        return;
    }
    vs_req req = {VS_PROTO_GRPC, NULL, m->namespace_, 0};
    vs_ticket_t *t = NULL;
    vs_status st;
    vs_status_clear(&st);
    if (svc_admit(NULL, &req, VS_OP_STREAM_QUERY, false, &t, &st) == VS_OK) {
        vs_query_in q;
        gs_query_in(&q, m->vector, m->n_vector, m->limit, m->filter, m->ef,
                    m->include_metadata_opt_case != 0, m->include_metadata,
                    m->include_vector_opt_case != 0, m->include_vector);
        vs_query_out out;
        memset(&out, 0, sizeof(out));
        vs_err rc;
        if (m->text_query != NULL && m->text_query[0] != '\0') {
            q.hybrid = true;
            q.text_query = m->text_query;
            q.text_len = strlen(m->text_query);
            if (m->alpha_opt_case != 0) {
                q.has_alpha = true;
                q.alpha = m->alpha;
            }
            rc = svc_hybrid_query(t, &q, &out, &st);
        } else {
            rc = svc_query(t, &q, &out, &st);
        }
        if (rc == VS_OK) {
            gs_arena a;
            gs_arena_init(&a);
            for (uint32_t i = 0; i < out.n_hits; i++) {
                Vecstore__QueryResult *res = gs_hit_out(&a, &out.hits[i], out.dim, out.hybrid);
                if (res == NULL && !a.oom) fail("gs_hit_out failed", NULL);
            }
            gs_arena_free(&a);
            vs_query_out_free(&out);
        }
        svc_release(t);
    }
    protobuf_c_message_free_unpacked(&m->base, &gs_pb_alloc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_fixed == NULL) build_fixed();
    if (size == 0) return 0;
    unsigned sel = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    size_t nd = gs_n_data_methods, na = gs_n_admin_methods;
    if (sel == 255) {
        size_t i = size % (nd + na);
        run_unary(i < nd ? &gs_data_methods[i] : &gs_admin_methods[i - nd], in, n, true);
        return 0;
    }
    sel %= (unsigned)(nd + na + 3);
    if (sel < nd) {
        run_unary(&gs_data_methods[sel], in, n, false);
    } else if (sel < nd + na) {
        run_unary(&gs_admin_methods[sel - nd], in, n, false);
    } else if (sel == nd + na) {
        run_query_stream(in, n);
    } else if (sel == nd + na + 1) {
        const uint8_t *name;
        size_t len;
        if (health_service(in, n, &name, &len) && len > n)
            fail("health service name overrun", NULL);
        gs_reply r;
        memset(&r, 0, sizeof(r));
        gs_ctx x;
        memset(&x, 0, sizeof(x));
        x.g = &g_server;
        x.in = in;
        x.in_len = n;
        rpc_health_check(&x, &r);
        vs_free(r.body);
    } else {
        vs_buf out = VS_BUF_INIT;
        refl_answer(in, n, &out);
        vs_buf_free(&out);
    }
    return 0;
}
