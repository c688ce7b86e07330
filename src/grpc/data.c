/*
 * data.c - VecStoreService's unary RPCs: decode the protobuf request, walk the service's request
 * life cycle, encode the answer.
 *
 * How (service.h, "Request life cycle"):
 *   1. decode (unless too large); a malformed message keeps its error for step 3, and the
 *      namespace is still read from the raw bytes (gs_scan_string_field);
 *   2. svc_admit (401 -> 403 -> 404 -> 403 -> 413 -> 429);
 *   3. a decode error -> svc_reject (400);
 *   4. the operation (svc_upsert, svc_query, ...), which validates and enforces quotas;
 *   5. svc_release.
 * The proto3 defaults map to the HTTP API's: limit 0 = default 10, ef 0 = namespace default,
 * include_metadata unset = true, include_vector unset = false, alpha unset = 0.5, empty filter =
 * none, empty vector = missing (the service answers "missing field 'vector'").
 *
 * Invariants: every path through data_call releases the ticket it got and frees the decoded
 * message; replies are built in a per-call arena.
 * Concurrency: runs on the poller thread that received the call; no shared state.
 * Callers: server.c through gs_data_methods.
 */
#include "gs_int.h"

#include "util/alloc.h"

#include <stdio.h>
#include <string.h>

#ifndef VS_VERSION
#define VS_VERSION "0.1.0"
#endif

typedef void (*body_fn)(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r);

/* Steps 1-5 of the life cycle around one operation body. */
static void data_call(gs_ctx *x, gs_reply *r, vs_op op, const ProtobufCMessageDescriptor *desc,
                      body_fn body)
{
    char err[256] = "request message too large";
    char ns[128];
    ProtobufCMessage *msg = NULL;
    const ProtobufCFieldDescriptor *nsf =
        protobuf_c_message_descriptor_get_field_by_name(desc, "namespace");
    if (!x->too_large) msg = gs_unpack(desc, x->in, x->in_len, err, sizeof(err));
    if (msg != NULL) {
        x->req.namespace_id = *(char **)((char *)msg + nsf->offset);
    } else if (gs_scan_string_field(x->in, x->in_len, nsf->id, ns, sizeof(ns))) {
        x->req.namespace_id = ns;
    }
    vs_status st;
    vs_status_clear(&st);
    vs_ticket_t *t = NULL;
    if (svc_admit(x->svc, &x->req, op, x->too_large, &t, &st) != VS_OK) {
        gs_reply_status(r, &st);
    } else {
        if (msg == NULL) {
            svc_reject(t, VS_ERR_INVALID_ARGUMENT, err, &st);
            gs_reply_status(r, &st);
        } else {
            body(x, t, msg, r);
        }
        svc_release(t);
    }
    if (msg != NULL) protobuf_c_message_free_unpacked(msg, &gs_pb_alloc);
}

/* ---------------------------------------------------------------------------- writes */

/* Fills rec from the decoded fields; *meta_out is the encoded metadata to free afterwards.
 * false on out of memory. */
static bool record_in(vs_record_in *rec, const char *id, const float *vec, size_t n_vec,
                      gs_map_entry **md, size_t n_md, uint8_t **meta_out)
{
    memset(rec, 0, sizeof(*rec));
    *meta_out = NULL;
    rec->id = id ? id : "";
    rec->id_len = strlen(rec->id);
    rec->vector = vec;
    rec->dim = n_vec > UINT32_MAX ? UINT32_MAX : (uint32_t)n_vec;
    if (n_md == 0) return true;
    bool too_deep = false, oom = false;
    size_t len = 0;
    uint8_t *meta = gs_meta_encode(md, n_md, &len, &too_deep, &oom);
    if (oom) return false;
    rec->meta = meta;
    rec->meta_len = len;
    rec->meta_too_deep = too_deep;
    *meta_out = meta;
    return true;
}

static void upsert_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__UpsertRequest *m = msg;
    vs_record_in rec;
    uint8_t *meta = NULL;
    vs_status st;
    vs_status_clear(&st);
    if (!record_in(&rec, m->id, m->vector, m->n_vector, (gs_map_entry **)m->metadata, m->n_metadata,
                   &meta)) {
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
        return;
    }
    if (svc_upsert(t, &rec, &st) == VS_OK) {
        Vecstore__UpsertResponse resp = VECSTORE__UPSERT_RESPONSE__INIT;
        resp.id = (char *)rec.id;
        resp.upserted = 1;
        gs_reply_pack(r, &resp.base);
    } else {
        gs_reply_status(r, &st);
    }
    vs_free(meta);
}

static void batch_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__BatchUpsertRequest *m = msg;
    size_t n = m->n_records;
    vs_record_in *recs = vs_calloc(n ? n : 1, sizeof(*recs));
    uint8_t **metas = vs_calloc(n ? n : 1, sizeof(*metas));
    vs_status st;
    vs_status_clear(&st);
    bool ok = recs != NULL && metas != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const Vecstore__Record *rc = m->records[i];
        ok = record_in(&recs[i], rc->id, rc->vector, rc->n_vector, (gs_map_entry **)rc->metadata,
                       rc->n_metadata, &metas[i]);
    }
    size_t done = 0;
    if (!ok) {
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
    } else if (svc_batch_upsert(t, recs, n, &done, &st) == VS_OK) {
        Vecstore__BatchUpsertResponse resp = VECSTORE__BATCH_UPSERT_RESPONSE__INIT;
        resp.upserted = done;
        gs_reply_pack(r, &resp.base);
    } else {
        gs_reply_status(r, &st);
    }
    for (size_t i = 0; metas != NULL && i < n; i++) vs_free(metas[i]);
    vs_free(metas);
    vs_free(recs);
}

/* ---------------------------------------------------------------------------- queries */

void gs_query_in(vs_query_in *q, const float *vec, size_t n_vec, uint32_t limit, const char *filter,
                 uint32_t ef, bool has_im, bool im, bool has_iv, bool iv)
{
    memset(q, 0, sizeof(*q));
    q->vector = vec;
    q->dim = n_vec > UINT32_MAX ? UINT32_MAX : (uint32_t)n_vec;
    q->has_vector = n_vec > 0;
    q->has_limit = limit != 0;
    q->limit = limit;
    q->limit_raw = limit;
    if (filter != NULL && filter[0] != '\0') {
        q->filter = filter;
        q->filter_len = strlen(filter);
    }
    q->has_ef = ef != 0;
    q->ef = ef;
    q->ef_raw = ef;
    q->include_metadata = has_im ? im : true;
    q->include_vector = has_iv ? iv : false;
    q->alpha = 0.5;
}

Vecstore__QueryResult *gs_hit_out(gs_arena *a, const vs_hit *h, uint32_t dim, bool hybrid)
{
    Vecstore__QueryResult *res = gs_arena_alloc(a, sizeof(*res));
    if (res == NULL) return NULL;
    vecstore__query_result__init(res);
    res->id = gs_arena_strndup(a, h->id, h->id_len);
    res->score = h->score;
    if (hybrid) {
        res->vector_score = h->vector_score;
        res->text_score = h->text_score;
    }
    if (h->meta != NULL) {
        size_t n = 0;
        res->metadata = (Vecstore__QueryResult__MetadataEntry **)gs_meta_decode(
            a, h->meta, h->meta_len, &vecstore__query_result__metadata_entry__descriptor, &n);
        res->n_metadata = res->metadata ? n : 0;
    }
    if (h->vector != NULL) {
        res->vector = (float *)h->vector; /* borrowed until the reply is packed */
        res->n_vector = dim;
    }
    return res;
}

static void query_reply(gs_reply *r, const vs_query_out *out)
{
    gs_arena a;
    gs_arena_init(&a);
    Vecstore__QueryResponse resp = VECSTORE__QUERY_RESPONSE__INIT;
    Vecstore__QueryStats stats = VECSTORE__QUERY_STATS__INIT;
    stats.took_us = out->took_us;
    stats.plan = (char *)(out->plan ? out->plan : "");
    stats.visited = out->visited;
    stats.count = out->n_hits;
    resp.stats = &stats;
    if (out->n_hits > 0) {
        resp.results = gs_arena_alloc(&a, out->n_hits * sizeof(*resp.results));
        for (uint32_t i = 0; resp.results != NULL && i < out->n_hits; i++)
            resp.results[i] = gs_hit_out(&a, &out->hits[i], out->dim, out->hybrid);
        resp.n_results = out->n_hits;
    }
    if (a.oom)
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
    else
        gs_reply_pack(r, &resp.base);
    gs_arena_free(&a);
}

static void query_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__QueryRequest *m = msg;
    vs_query_in q;
    gs_query_in(&q, m->vector, m->n_vector, m->limit, m->filter, m->ef,
                m->include_metadata_opt_case !=
                    VECSTORE__QUERY_REQUEST__INCLUDE_METADATA_OPT__NOT_SET,
                m->include_metadata,
                m->include_vector_opt_case != VECSTORE__QUERY_REQUEST__INCLUDE_VECTOR_OPT__NOT_SET,
                m->include_vector);
    vs_query_out out;
    memset(&out, 0, sizeof(out));
    vs_status st;
    vs_status_clear(&st);
    if (svc_query(t, &q, &out, &st) == VS_OK) {
        query_reply(r, &out);
        vs_query_out_free(&out);
    } else {
        gs_reply_status(r, &st);
    }
}

static void hybrid_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__HybridQueryRequest *m = msg;
    vs_query_in q;
    gs_query_in(&q, m->vector, m->n_vector, m->limit, m->filter, m->ef,
                m->include_metadata_opt_case !=
                    VECSTORE__HYBRID_QUERY_REQUEST__INCLUDE_METADATA_OPT__NOT_SET,
                m->include_metadata,
                m->include_vector_opt_case !=
                    VECSTORE__HYBRID_QUERY_REQUEST__INCLUDE_VECTOR_OPT__NOT_SET,
                m->include_vector);
    q.hybrid = true;
    if (m->text_query != NULL && m->text_query[0] != '\0') {
        q.text_query = m->text_query;
        q.text_len = strlen(m->text_query);
    }
    if (m->alpha_opt_case == VECSTORE__HYBRID_QUERY_REQUEST__ALPHA_OPT_ALPHA) {
        q.has_alpha = true;
        q.alpha = m->alpha;
    }
    vs_query_out out;
    memset(&out, 0, sizeof(out));
    vs_status st;
    vs_status_clear(&st);
    if (svc_hybrid_query(t, &q, &out, &st) == VS_OK) {
        query_reply(r, &out);
        vs_query_out_free(&out);
    } else {
        gs_reply_status(r, &st);
    }
}

/* ---------------------------------------------------------------------------- single records */

static void get_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__GetRequest *m = msg;
    vs_record_out rec;
    memset(&rec, 0, sizeof(rec));
    vs_status st;
    vs_status_clear(&st);
    if (svc_get(t, m->id, strlen(m->id), &rec, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    gs_arena a;
    gs_arena_init(&a);
    Vecstore__GetResponse resp = VECSTORE__GET_RESPONSE__INIT;
    resp.id = gs_arena_strndup(&a, rec.id, rec.id_len);
    resp.vector = rec.vector;
    resp.n_vector = rec.vector ? rec.dim : 0;
    size_t n = 0;
    resp.metadata = (Vecstore__GetResponse__MetadataEntry **)gs_meta_decode(
        &a, rec.meta, rec.meta_len, &vecstore__get_response__metadata_entry__descriptor, &n);
    resp.n_metadata = resp.metadata ? n : 0;
    resp.state = (char *)(rec.state ? rec.state : "live");
    if (a.oom)
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
    else
        gs_reply_pack(r, &resp.base);
    gs_arena_free(&a);
    vs_record_out_free(&rec);
}

static void delete_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__DeleteRequest *m = msg;
    vs_status st;
    vs_status_clear(&st);
    if (svc_delete(t, m->id, strlen(m->id), &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__DeleteResponse resp = VECSTORE__DELETE_RESPONSE__INIT;
    resp.id = m->id;
    resp.deleted = 1;
    gs_reply_pack(r, &resp.base);
}

static void soft_delete_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__SoftDeleteRequest *m = msg;
    vs_status st;
    vs_status_clear(&st);
    if (svc_soft_delete(t, m->id, strlen(m->id), &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__SoftDeleteResponse resp = VECSTORE__SOFT_DELETE_RESPONSE__INIT;
    resp.id = m->id;
    resp.soft_deleted = 1;
    gs_reply_pack(r, &resp.base);
}

static void restore_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    Vecstore__RestoreRequest *m = msg;
    vs_status st;
    vs_status_clear(&st);
    if (svc_restore(t, m->id, strlen(m->id), &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__RestoreResponse resp = VECSTORE__RESTORE_RESPONSE__INIT;
    resp.id = m->id;
    resp.restored = 1;
    gs_reply_pack(r, &resp.base);
}

static void compact_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    (void)msg;
    vs_compact_out out;
    memset(&out, 0, sizeof(out));
    vs_status st;
    vs_status_clear(&st);
    if (svc_compact(t, &out, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__CompactResponse resp = VECSTORE__COMPACT_RESPONSE__INIT;
    resp.removed = out.removed;
    resp.took_ms = out.took_ms;
    gs_reply_pack(r, &resp.base);
}

static void stats_body(gs_ctx *x, vs_ticket_t *t, void *msg, gs_reply *r)
{
    (void)x;
    (void)msg;
    vs_stats_out s;
    memset(&s, 0, sizeof(s));
    vs_status st;
    vs_status_clear(&st);
    if (svc_stats(t, &s, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__IndexStats idx = VECSTORE__INDEX_STATS__INIT;
    idx.type = (char *)(s.index_type ? s.index_type : "hnsw");
    idx.m = s.m;
    idx.ef_construction = s.ef_construction;
    idx.ef_search = s.ef_search;
    idx.nodes = s.index_nodes;
    idx.levels = s.index_levels;
    Vecstore__GetStatsResponse resp = VECSTORE__GET_STATS_RESPONSE__INIT;
    resp.namespace_ = s.namespace_id;
    resp.dimension = s.dimension;
    resp.metric = (char *)(s.metric ? s.metric : "");
    resp.vector_count = s.vector_count;
    resp.active_count = s.active_count;
    resp.deleted_count = s.deleted_count;
    resp.reclaimable_bytes = s.reclaimable_bytes;
    resp.index = &idx;
    resp.memory_bytes = s.memory_bytes;
    resp.disk_bytes = s.disk_bytes;
    gs_reply_pack(r, &resp.base);
}

/* ---------------------------------------------------------------------------- RPC entry points */

#define DATA_RPC(fn, op, desc, body)                                                               \
    static void fn(gs_ctx *x, gs_reply *r)                                                         \
    {                                                                                              \
        data_call(x, r, op, &desc, body);                                                          \
    }

DATA_RPC(rpc_upsert, VS_OP_UPSERT, vecstore__upsert_request__descriptor, upsert_body)
DATA_RPC(rpc_batch, VS_OP_BATCH_UPSERT, vecstore__batch_upsert_request__descriptor, batch_body)
DATA_RPC(rpc_query, VS_OP_QUERY, vecstore__query_request__descriptor, query_body)
DATA_RPC(rpc_hybrid, VS_OP_HYBRID_QUERY, vecstore__hybrid_query_request__descriptor, hybrid_body)
DATA_RPC(rpc_get, VS_OP_GET, vecstore__get_request__descriptor, get_body)
DATA_RPC(rpc_delete, VS_OP_DELETE, vecstore__delete_request__descriptor, delete_body)
DATA_RPC(rpc_soft_delete, VS_OP_SOFT_DELETE, vecstore__soft_delete_request__descriptor,
         soft_delete_body)
DATA_RPC(rpc_restore, VS_OP_RESTORE, vecstore__restore_request__descriptor, restore_body)
DATA_RPC(rpc_compact, VS_OP_COMPACT, vecstore__compact_request__descriptor, compact_body)
DATA_RPC(rpc_stats, VS_OP_STATS, vecstore__get_stats_request__descriptor, stats_body)

int gs_serving_status(vs_grpc_server_t *g)
{
    if (atomic_load(&g->quiescing)) return 2;
    return svc_state(g->svc) == VS_STATE_READY ? 1 : 2;
}

/* Always open: no key, not a data request. */
static void rpc_health(gs_ctx *x, gs_reply *r)
{
    vs_svc_state s = svc_state(x->svc);
    Vecstore__HealthCheckResponse resp = VECSTORE__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = gs_serving_status(x->g) == 1
                      ? VECSTORE__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : VECSTORE__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    resp.state = (char *)(s == VS_STATE_READY        ? "ready"
                          : s == VS_STATE_RECOVERING ? "recovering"
                                                     : "shutting_down");
    resp.version = (char *)VS_VERSION;
    gs_reply_pack(r, &resp.base);
}

#define SVC "/vecstore.VecStoreService/"

const gs_method gs_data_methods[] = {
    {SVC "Upsert", GS_UNARY, rpc_upsert, NULL},
    {SVC "BatchUpsert", GS_UNARY, rpc_batch, NULL},
    {SVC "Query", GS_UNARY, rpc_query, NULL},
    {SVC "HybridQuery", GS_UNARY, rpc_hybrid, NULL},
    {SVC "Get", GS_UNARY, rpc_get, NULL},
    {SVC "Delete", GS_UNARY, rpc_delete, NULL},
    {SVC "SoftDelete", GS_UNARY, rpc_soft_delete, NULL},
    {SVC "Restore", GS_UNARY, rpc_restore, NULL},
    {SVC "Compact", GS_UNARY, rpc_compact, NULL},
    {SVC "GetStats", GS_UNARY, rpc_stats, NULL},
    {SVC "HealthCheck", GS_UNARY, rpc_health, NULL},
};
const size_t gs_n_data_methods = sizeof(gs_data_methods) / sizeof(gs_data_methods[0]);
