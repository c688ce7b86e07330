/*
 * admin.c - VecStoreAdminService: namespaces, quotas, statuses, aggregate stats and per-namespace
 * API keys, translated to the service's svc_ns_* / svc_key_* calls.
 *
 * How: decode, call the service (which checks the admin key first), encode the namespace as
 * proto/vecstore.proto's Namespace. Quotas: a set oneof is a value, an unset one is "absent"
 * (left as is on update, unlimited on create); UpdateNamespaceQuotasRequest.replace turns unset
 * into "unlimited" (the only way to express JSON's null over protobuf). A request that is too
 * large or malformed is answered before the service (RESOURCE_EXHAUSTED / INVALID_ARGUMENT):
 * admin calls have no ticket to carry it.
 *
 * Invariants: the decoded request is freed and every vs_ns_info released on every path.
 * Concurrency: runs on the poller thread that received the call; no shared state.
 * Callers: server.c through gs_admin_methods.
 */
#include "gs_int.h"

#include "util/alloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef void (*admin_fn)(gs_ctx *x, void *msg, gs_reply *r);

static void admin_call(gs_ctx *x, gs_reply *r, const ProtobufCMessageDescriptor *desc, admin_fn fn)
{
    if (x->too_large) {
        gs_reply_error(r, VS_ERR_TOO_LARGE, "request message too large");
        return;
    }
    char err[256];
    ProtobufCMessage *msg = gs_unpack(desc, x->in, x->in_len, err, sizeof(err));
    if (msg == NULL) {
        gs_reply_error(r, VS_ERR_INVALID_ARGUMENT, err);
        return;
    }
    fn(x, msg, r);
    protobuf_c_message_free_unpacked(msg, &gs_pb_alloc);
}

static const char *opt_str(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---------------------------------------------------------------------------- conversions */

static uint64_t to_u64(double v)
{
    return v <= 0 || isnan(v) ? 0 : v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
}
static uint32_t to_u32(double v)
{
    return v <= 0 || isnan(v) ? 0 : v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
}

static Vecstore__NamespaceQuotas *quotas_out(gs_arena *a, const vs_quotas *q)
{
    Vecstore__NamespaceQuotas *m = gs_arena_alloc(a, sizeof(*m));
    if (m == NULL) return NULL;
    vecstore__namespace_quotas__init(m);
    if (q->max_vectors.set) {
        m->max_vectors_opt_case = VECSTORE__NAMESPACE_QUOTAS__MAX_VECTORS_OPT_MAX_VECTORS;
        m->max_vectors = to_u64(q->max_vectors.value);
    }
    if (q->max_storage_bytes.set) {
        m->max_storage_bytes_opt_case =
            VECSTORE__NAMESPACE_QUOTAS__MAX_STORAGE_BYTES_OPT_MAX_STORAGE_BYTES;
        m->max_storage_bytes = to_u64(q->max_storage_bytes.value);
    }
    if (q->max_requests_per_second.set) {
        m->max_requests_per_second_opt_case =
            VECSTORE__NAMESPACE_QUOTAS__MAX_REQUESTS_PER_SECOND_OPT_MAX_REQUESTS_PER_SECOND;
        m->max_requests_per_second = q->max_requests_per_second.value;
    }
    if (q->max_concurrent_queries.set) {
        m->max_concurrent_queries_opt_case =
            VECSTORE__NAMESPACE_QUOTAS__MAX_CONCURRENT_QUERIES_OPT_MAX_CONCURRENT_QUERIES;
        m->max_concurrent_queries = to_u32(q->max_concurrent_queries.value);
    }
    if (q->max_dimension.set) {
        m->max_dimension_opt_case = VECSTORE__NAMESPACE_QUOTAS__MAX_DIMENSION_OPT_MAX_DIMENSION;
        m->max_dimension = to_u32(q->max_dimension.value);
    }
    if (q->max_results_per_query.set) {
        m->max_results_per_query_opt_case =
            VECSTORE__NAMESPACE_QUOTAS__MAX_RESULTS_PER_QUERY_OPT_MAX_RESULTS_PER_QUERY;
        m->max_results_per_query = to_u32(q->max_results_per_query.value);
    }
    if (q->max_batch_size.set) {
        m->max_batch_size_opt_case = VECSTORE__NAMESPACE_QUOTAS__MAX_BATCH_SIZE_OPT_MAX_BATCH_SIZE;
        m->max_batch_size = to_u32(q->max_batch_size.value);
    }
    return m;
}

static vs_quota_update qup(bool set, double v, bool replace)
{
    vs_quota_update u = {VS_QUP_ABSENT, 0};
    if (set) {
        u.kind = VS_QUP_VALUE;
        u.value = v;
    } else if (replace) {
        u.kind = VS_QUP_NULL;
    }
    return u;
}

static void quotas_in(vs_quotas_update *u, const Vecstore__NamespaceQuotas *q, bool replace)
{
    memset(u, 0, sizeof(*u));
    if (q == NULL) {
        if (replace) {
            vs_quota_update null = {VS_QUP_NULL, 0};
            u->max_vectors = u->max_storage_bytes = u->max_requests_per_second = null;
            u->max_concurrent_queries = u->max_dimension = u->max_results_per_query = null;
            u->max_batch_size = null;
        }
        return;
    }
    u->max_vectors = qup(q->max_vectors_opt_case != 0, (double)q->max_vectors, replace);
    u->max_storage_bytes =
        qup(q->max_storage_bytes_opt_case != 0, (double)q->max_storage_bytes, replace);
    u->max_requests_per_second =
        qup(q->max_requests_per_second_opt_case != 0, q->max_requests_per_second, replace);
    u->max_concurrent_queries =
        qup(q->max_concurrent_queries_opt_case != 0, q->max_concurrent_queries, replace);
    u->max_dimension = qup(q->max_dimension_opt_case != 0, q->max_dimension, replace);
    u->max_results_per_query =
        qup(q->max_results_per_query_opt_case != 0, q->max_results_per_query, replace);
    u->max_batch_size = qup(q->max_batch_size_opt_case != 0, q->max_batch_size, replace);
}

static Vecstore__Namespace *ns_out(gs_arena *a, const vs_ns_info *in)
{
    Vecstore__Namespace *m = gs_arena_alloc(a, sizeof(*m));
    Vecstore__NamespaceUsage *u = gs_arena_alloc(a, sizeof(*u));
    Vecstore__HnswSettings *h = gs_arena_alloc(a, sizeof(*h));
    if (m == NULL || u == NULL || h == NULL) return NULL;
    vecstore__namespace__init(m);
    vecstore__namespace_usage__init(u);
    vecstore__hnsw_settings__init(h);
    m->id = gs_arena_strndup(a, in->id, strlen(in->id));
    const char *name = in->name ? in->name : in->id;
    m->name = gs_arena_strndup(a, name, strlen(name));
    m->status = (char *)(in->status ? in->status : "");
    m->created_at = in->created_at;
    m->dimension = in->dimension;
    m->metric = (char *)(in->metric ? in->metric : "");
    m->quotas = quotas_out(a, &in->quotas);
    u->vector_count = in->vector_count;
    u->active_count = in->active_count;
    u->deleted_count = in->deleted_count;
    u->storage_bytes = in->storage_bytes;
    u->total_requests = in->total_requests;
    u->total_queries = in->total_queries;
    u->total_upserts = in->total_upserts;
    u->total_deletes = in->total_deletes;
    m->usage = u;
    h->m = in->m;
    h->ef_construction = in->ef_construction;
    h->ef_search = in->ef_search;
    m->hnsw = h;
    m->quota_utilization = in->quota_utilization;
    return m;
}

/* Answers NamespaceResponse{info} and releases info. */
static void ns_reply(gs_reply *r, vs_ns_info *info)
{
    gs_arena a;
    gs_arena_init(&a);
    Vecstore__NamespaceResponse resp = VECSTORE__NAMESPACE_RESPONSE__INIT;
    resp.namespace_ = ns_out(&a, info);
    if (a.oom)
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
    else
        gs_reply_pack(r, &resp.base);
    gs_arena_free(&a);
    vs_ns_info_free(info);
}

/* ---------------------------------------------------------------------------- RPC bodies */

static void create_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__CreateNamespaceRequest *m = msg;
    vs_ns_create c;
    memset(&c, 0, sizeof(c));
    c.id = m->id;
    c.name = opt_str(m->name);
    c.tier = opt_str(m->tier);
    c.has_quotas = m->quotas != NULL;
    quotas_in(&c.quotas, m->quotas, false);
    c.dimension = m->dimension;
    c.has_metric = opt_str(m->metric) != NULL;
    c.metric = opt_str(m->metric);
    if (m->hnsw != NULL) {
        c.m = m->hnsw->m;
        c.ef_construction = m->hnsw->ef_construction;
        c.ef_search = m->hnsw->ef_search;
    }
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_create(x->svc, &x->req, &c, &info, &st) == VS_OK)
        ns_reply(r, &info);
    else
        gs_reply_status(r, &st);
}

static void list_body(gs_ctx *x, void *msg, gs_reply *r)
{
    (void)msg;
    vs_ns_info *arr = NULL;
    size_t n = 0;
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_list(x->svc, &x->req, &arr, &n, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    gs_arena a;
    gs_arena_init(&a);
    Vecstore__ListNamespacesResponse resp = VECSTORE__LIST_NAMESPACES_RESPONSE__INIT;
    if (n > 0) {
        resp.namespaces = gs_arena_alloc(&a, n * sizeof(*resp.namespaces));
        for (size_t i = 0; resp.namespaces != NULL && i < n; i++)
            resp.namespaces[i] = ns_out(&a, &arr[i]);
        resp.n_namespaces = n;
    }
    if (a.oom)
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
    else
        gs_reply_pack(r, &resp.base);
    gs_arena_free(&a);
    vs_ns_info_array_free(arr, n);
}

static void get_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__GetNamespaceRequest *m = msg;
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_get(x->svc, &x->req, m->namespace_id, &info, &st) == VS_OK)
        ns_reply(r, &info);
    else
        gs_reply_status(r, &st);
}

static void quotas_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__UpdateNamespaceQuotasRequest *m = msg;
    vs_quotas_update u;
    quotas_in(&u, m->quotas, m->replace != 0);
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_update_quotas(x->svc, &x->req, m->namespace_id, &u, &info, &st) == VS_OK)
        ns_reply(r, &info);
    else
        gs_reply_status(r, &st);
}

static void status_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__UpdateNamespaceStatusRequest *m = msg;
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_update_status(x->svc, &x->req, m->namespace_id, m->status, &info, &st) == VS_OK)
        ns_reply(r, &info);
    else
        gs_reply_status(r, &st);
}

static void ns_stats_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__GetNamespaceStatsRequest *m = msg;
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_get(x->svc, &x->req, m->namespace_id, &info, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__NamespaceStatsResponse resp = VECSTORE__NAMESPACE_STATS_RESPONSE__INIT;
    resp.namespace_id = info.id;
    resp.vector_count = info.vector_count;
    resp.active_count = info.active_count;
    resp.deleted_count = info.deleted_count;
    resp.dimension = info.dimension;
    resp.quota_utilization = info.quota_utilization;
    resp.total_requests = info.total_requests;
    resp.total_queries = info.total_queries;
    resp.total_upserts = info.total_upserts;
    resp.total_deletes = info.total_deletes;
    resp.status = (char *)(info.status ? info.status : "");
    gs_reply_pack(r, &resp.base);
    vs_ns_info_free(&info);
}

static void agg_body(gs_ctx *x, void *msg, gs_reply *r)
{
    (void)msg;
    vs_admin_stats s;
    memset(&s, 0, sizeof(s));
    vs_status st;
    vs_status_clear(&st);
    if (svc_admin_stats(x->svc, &x->req, &s, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__AggregateStatsResponse resp = VECSTORE__AGGREGATE_STATS_RESPONSE__INIT;
    resp.total_namespaces = s.total_namespaces;
    resp.active_namespaces = s.active_namespaces;
    resp.total_vectors = s.total_vectors;
    resp.total_requests = s.total_requests;
    gs_reply_pack(r, &resp.base);
}

static void delete_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__DeleteNamespaceRequest *m = msg;
    vs_status st;
    vs_status_clear(&st);
    if (svc_ns_delete(x->svc, &x->req, m->namespace_id, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__DeleteNamespaceResponse resp = VECSTORE__DELETE_NAMESPACE_RESPONSE__INIT;
    resp.id = m->namespace_id;
    resp.deleted = 1;
    gs_reply_pack(r, &resp.base);
}

static void key_create_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__CreateApiKeyRequest *m = msg;
    vs_key_info k;
    memset(&k, 0, sizeof(k));
    vs_status st;
    vs_status_clear(&st);
    if (svc_key_create(x->svc, &x->req, m->namespace_id, &k, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__CreateApiKeyResponse resp = VECSTORE__CREATE_API_KEY_RESPONSE__INIT;
    resp.key_id = k.key_id;
    resp.key = k.key;
    resp.namespace_ = k.namespace_id;
    resp.created_at = k.created_at;
    gs_reply_pack(r, &resp.base);
    memset(&k, 0, sizeof(k)); /* the secret does not linger on the stack */
}

static void key_list_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__ListApiKeysRequest *m = msg;
    vs_key_info *keys = NULL;
    size_t n = 0;
    vs_status st;
    vs_status_clear(&st);
    if (svc_key_list(x->svc, &x->req, m->namespace_id, &keys, &n, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    gs_arena a;
    gs_arena_init(&a);
    Vecstore__ListApiKeysResponse resp = VECSTORE__LIST_API_KEYS_RESPONSE__INIT;
    if (n > 0) {
        resp.keys = gs_arena_alloc(&a, n * sizeof(*resp.keys));
        for (size_t i = 0; resp.keys != NULL && i < n; i++) {
            Vecstore__ApiKeyInfo *ki = gs_arena_alloc(&a, sizeof(*ki));
            if (ki == NULL) break;
            vecstore__api_key_info__init(ki);
            ki->key_id = keys[i].key_id;
            ki->namespace_ = keys[i].namespace_id;
            ki->created_at = keys[i].created_at;
            resp.keys[i] = ki;
        }
        resp.n_keys = n;
    }
    if (a.oom)
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
    else
        gs_reply_pack(r, &resp.base);
    gs_arena_free(&a);
    vs_free(keys);
}

static void key_revoke_body(gs_ctx *x, void *msg, gs_reply *r)
{
    Vecstore__RevokeApiKeyRequest *m = msg;
    vs_status st;
    vs_status_clear(&st);
    if (svc_key_revoke(x->svc, &x->req, m->namespace_id, m->key_id, &st) != VS_OK) {
        gs_reply_status(r, &st);
        return;
    }
    Vecstore__RevokeApiKeyResponse resp = VECSTORE__REVOKE_API_KEY_RESPONSE__INIT;
    resp.key_id = m->key_id;
    resp.revoked = 1;
    gs_reply_pack(r, &resp.base);
}

#define ADMIN_RPC(fn, desc, body)                                                                  \
    static void fn(gs_ctx *x, gs_reply *r)                                                         \
    {                                                                                              \
        admin_call(x, r, &desc, body);                                                             \
    }

ADMIN_RPC(rpc_create, vecstore__create_namespace_request__descriptor, create_body)
ADMIN_RPC(rpc_list, vecstore__list_namespaces_request__descriptor, list_body)
ADMIN_RPC(rpc_get, vecstore__get_namespace_request__descriptor, get_body)
ADMIN_RPC(rpc_quotas, vecstore__update_namespace_quotas_request__descriptor, quotas_body)
ADMIN_RPC(rpc_status, vecstore__update_namespace_status_request__descriptor, status_body)
ADMIN_RPC(rpc_ns_stats, vecstore__get_namespace_stats_request__descriptor, ns_stats_body)
ADMIN_RPC(rpc_agg, vecstore__get_aggregate_stats_request__descriptor, agg_body)
ADMIN_RPC(rpc_delete, vecstore__delete_namespace_request__descriptor, delete_body)
ADMIN_RPC(rpc_key_create, vecstore__create_api_key_request__descriptor, key_create_body)
ADMIN_RPC(rpc_key_list, vecstore__list_api_keys_request__descriptor, key_list_body)
ADMIN_RPC(rpc_key_revoke, vecstore__revoke_api_key_request__descriptor, key_revoke_body)

#define ADM "/vecstore.VecStoreAdminService/"

const gs_method gs_admin_methods[] = {
    {ADM "CreateNamespace", GS_UNARY, rpc_create, NULL},
    {ADM "ListNamespaces", GS_UNARY, rpc_list, NULL},
    {ADM "GetNamespace", GS_UNARY, rpc_get, NULL},
    {ADM "UpdateNamespaceQuotas", GS_UNARY, rpc_quotas, NULL},
    {ADM "UpdateNamespaceStatus", GS_UNARY, rpc_status, NULL},
    {ADM "GetNamespaceStats", GS_UNARY, rpc_ns_stats, NULL},
    {ADM "GetAggregateStats", GS_UNARY, rpc_agg, NULL},
    {ADM "DeleteNamespace", GS_UNARY, rpc_delete, NULL},
    {ADM "CreateApiKey", GS_UNARY, rpc_key_create, NULL},
    {ADM "ListApiKeys", GS_UNARY, rpc_key_list, NULL},
    {ADM "RevokeApiKey", GS_UNARY, rpc_key_revoke, NULL},
};
const size_t gs_n_admin_methods = sizeof(gs_admin_methods) / sizeof(gs_admin_methods[0]);
