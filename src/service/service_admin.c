/*
 * service_admin.c - the namespace admin operations (SPEC 8), aggregate statistics and the
 * Prometheus exposition's per-namespace rows.
 *
 * Tiers (the guide's values): free = 10000 vectors, 100 MiB, 10 req/s, 2 concurrent queries,
 * dimension 1536, 100 results, batches of 100; pro = 1000000, 10 GiB, 100, 20, 4096, 1000, 1000;
 * enterprise = unlimited. Admin operations need the admin key (when one is set) and are neither
 * rate-limited nor counted as data requests.
 */
#include "service/svc_int.h"

#include "core/collection.h"
#include "core/hnsw.h"
#include "util/alloc.h"
#include "util/log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LIMITS(X)                                                                                  \
    X(max_vectors)                                                                                 \
    X(max_storage_bytes) X(max_requests_per_second) X(max_concurrent_queries) X(max_dimension)     \
        X(max_results_per_query) X(max_batch_size)

static const struct {
    const char *name;
    double v[7];
} tiers[] = {
    {"free", {10000, 104857600, 10, 2, 1536, 100, 100}},
    {"pro", {1000000, 10737418240.0, 100, 20, 4096, 1000, 1000}},
};

static vs_err tier_limits(const char *tier, vs_ns_limits *l, vs_status *st)
{
    memset(l, 0, sizeof *l);
    if (strcmp(tier, "enterprise") == 0) return VS_OK;
    for (size_t i = 0; i < 2; i++) {
        if (strcmp(tier, tiers[i].name) != 0) continue;
        vs_limit *f = &l->max_vectors;
        for (int j = 0; j < 7; j++) f[j] = (vs_limit){true, tiers[i].v[j]};
        return VS_OK;
    }
    return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                         "Unknown tier '%.40s': use free, pro or enterprise", tier);
}

/* Applies an update to limits; validates values (non-negative, whole numbers where counts). */
static vs_err apply_update(vs_ns_limits *l, const vs_quotas_update *u, vs_status *st)
{
#define APPLY(f)                                                                                   \
    if (u->f.kind == VS_QUP_NULL) l->f = (vs_limit){false, 0};                                     \
    if (u->f.kind == VS_QUP_VALUE) {                                                               \
        if (!(u->f.value >= 0) || !isfinite(u->f.value))                                           \
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,                                      \
                                 "Invalid quota '%s': must be a non-negative number or null", #f); \
        if (strcmp(#f, "max_requests_per_second") != 0 && u->f.value != floor(u->f.value))         \
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,                                      \
                                 "Invalid quota '%s': must be a whole number or null", #f);        \
        l->f = (vs_limit){true, u->f.value};                                                       \
    }
    LIMITS(APPLY)
#undef APPLY
    return VS_OK;
}

static void to_quotas(const vs_ns_limits *l, vs_quotas *q)
{
#define COPY(f) q->f = (vs_quota){l->f.set, l->f.value};
    LIMITS(COPY)
#undef COPY
}

static void fill_info(vs_ns_t *ns, vs_ns_info *o)
{
    memset(o, 0, sizeof *o);
    vs_ns_meta m;
    ns_get_meta(ns, &m);
    coll_stats cs;
    coll_get_stats(ns_coll(ns), &cs);
    snprintf(o->id, sizeof o->id, "%s", m.id);
    o->name = vs_strdup(m.name);
    o->status = vs_ns_status_name(m.status);
    o->created_at = m.created_at;
    o->dimension = cs.dim ? cs.dim : m.dim;
    o->metric = svc_metric_name(m.metric);
    o->m = cs.m;
    o->ef_construction = cs.ef_construction;
    o->ef_search = cs.ef_search;
    to_quotas(&m.limits, &o->quotas);
    o->vector_count = cs.live + cs.soft;
    o->active_count = cs.live;
    o->deleted_count = cs.soft;
    o->storage_bytes = cs.logical_bytes;
    o->total_requests = m.usage.total_requests;
    o->total_queries = m.usage.total_queries;
    o->total_upserts = m.usage.total_upserts;
    o->total_deletes = m.usage.total_deletes;
    double u = 0;
    if (m.limits.max_vectors.set && m.limits.max_vectors.value > 0)
        u = fmax(u, (double)o->vector_count / m.limits.max_vectors.value);
    if (m.limits.max_storage_bytes.set && m.limits.max_storage_bytes.value > 0)
        u = fmax(u, (double)o->storage_bytes / m.limits.max_storage_bytes.value);
    o->quota_utilization = u;
}

void vs_ns_info_free(vs_ns_info *info)
{
    vs_free(info->name);
    info->name = NULL;
}

void vs_ns_info_array_free(vs_ns_info *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) vs_ns_info_free(&arr[i]);
    vs_free(arr);
}

static int parse_metric(const char *s)
{
    if (!strcmp(s, "cosine")) return 0;
    if (!strcmp(s, "l2")) return 1;
    if (!strcmp(s, "dot")) return 2;
    return -1;
}

vs_err svc_ns_create(vs_service_t *s, const vs_req *req, const vs_ns_create *c, vs_ns_info *out,
                     vs_status *st)
{
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    if (!c->id || !*c->id) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "missing field 'id'");
    if (!vs_ns_id_valid(c->id))
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid namespace id '%.80s': use 1-64 letters, digits, '_' or '-', "
                             "starting with a letter or digit",
                             c->id);
    vs_ns_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%s", c->id);
    snprintf(m.name, sizeof m.name, "%s", c->name ? c->name : c->id);
    m.created_at = (int64_t)time(NULL);
    if (c->tier) {
        rc = tier_limits(c->tier, &m.limits, st);
        if (rc != VS_OK) return rc;
    }
    if (c->has_quotas) {
        rc = apply_update(&m.limits, &c->quotas, st);
        if (rc != VS_OK) return rc;
    }
    if (c->dimension > 65536)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Invalid dimension %u: must be 1-65536",
                             c->dimension);
    m.dim = c->dimension;
    if (c->has_metric) {
        int mt = c->metric ? parse_metric(c->metric) : -1;
        if (mt < 0)
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "Invalid metric '%.40s': use cosine, l2 or dot",
                                 c->metric ? c->metric : "");
        m.metric = mt;
    }
    if ((c->m && (c->m < HNSW_MIN_M || c->m > HNSW_MAX_M)) ||
        (c->ef_construction && (c->ef_construction < HNSW_MIN_EF_CONSTRUCTION ||
                                c->ef_construction > HNSW_MAX_EF_CONSTRUCTION)) ||
        (c->ef_search && (c->ef_search < HNSW_MIN_EF_SEARCH || c->ef_search > HNSW_MAX_EF_SEARCH)))
        return vs_status_set(
            st, VS_ERR_INVALID_ARGUMENT,
            "Invalid hnsw settings: m %u-%u, ef_construction %u-%u, ef_search %u-%u", HNSW_MIN_M,
            HNSW_MAX_M, HNSW_MIN_EF_CONSTRUCTION, HNSW_MAX_EF_CONSTRUCTION, HNSW_MIN_EF_SEARCH,
            HNSW_MAX_EF_SEARCH);
    m.m = c->m;
    m.ef_construction = c->ef_construction;
    m.ef_search = c->ef_search;
    vs_ns_t *ns = NULL;
    rc = cat_create(s->cat, &m, &ns, st);
    if (rc != VS_OK) return rc;
    if (out) fill_info(ns, out);
    ns_release(ns);
    return VS_OK;
}

vs_err svc_ns_list(vs_service_t *s, const vs_req *req, vs_ns_info **out, size_t *n_out,
                   vs_status *st)
{
    *out = NULL;
    *n_out = 0;
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    vs_ns_t **all;
    size_t n = cat_list(s->cat, &all);
    vs_ns_info *arr = vs_calloc(n ? n : 1, sizeof *arr);
    for (size_t i = 0; i < n; i++) {
        if (arr) fill_info(all[i], &arr[i]);
        ns_release(all[i]);
    }
    vs_free(all);
    if (!arr) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    *out = arr;
    *n_out = n;
    return VS_OK;
}

static vs_err admin_ns(vs_service_t *s, const vs_req *req, const char *id, vs_ns_t **ns,
                       vs_status *st)
{
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    *ns = id ? cat_get(s->cat, id) : NULL;
    if (!*ns)
        return vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%.80s' not found", id ? id : "");
    return VS_OK;
}

vs_err svc_ns_get(vs_service_t *s, const vs_req *req, const char *id, vs_ns_info *out,
                  vs_status *st)
{
    vs_ns_t *ns;
    vs_err rc = admin_ns(s, req, id, &ns, st);
    if (rc != VS_OK) return rc;
    fill_info(ns, out);
    ns_release(ns);
    return VS_OK;
}

vs_err svc_ns_update_quotas(vs_service_t *s, const vs_req *req, const char *id,
                            const vs_quotas_update *u, vs_ns_info *out, vs_status *st)
{
    vs_ns_t *ns;
    vs_err rc = admin_ns(s, req, id, &ns, st);
    if (rc != VS_OK) return rc;
    vs_ns_meta m;
    ns_get_meta(ns, &m);
    rc = apply_update(&m.limits, u, st);
    if (rc == VS_OK) rc = ns_set_limits(ns, &m.limits, st);
    if (rc == VS_OK && out) fill_info(ns, out);
    ns_release(ns);
    return rc;
}

vs_err svc_ns_update_status(vs_service_t *s, const vs_req *req, const char *id, const char *status,
                            vs_ns_info *out, vs_status *st)
{
    vs_ns_t *ns;
    vs_err rc = admin_ns(s, req, id, &ns, st);
    if (rc != VS_OK) return rc;
    vs_ns_status ss;
    if (!status || !vs_ns_status_parse(status, &ss))
        rc = vs_status_set(
            st, VS_ERR_INVALID_ARGUMENT,
            "Invalid status '%.40s': use active, suspended, read_only or pending_deletion",
            status ? status : "");
    if (rc == VS_OK) rc = ns_set_status(ns, ss, st);
    if (rc == VS_OK && out) fill_info(ns, out);
    ns_release(ns);
    return rc;
}

vs_err svc_ns_delete(vs_service_t *s, const vs_req *req, const char *id, vs_status *st)
{
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    if (id && strcmp(id, "default") == 0)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "The default namespace cannot be deleted");
    rc = cat_delete(s->cat, id ? id : "", st);
    if (rc == VS_OK) {
        qcache_drop_prefix(s->cache, id, strlen(id) + 1);
        pthread_mutex_lock(&s->keys_mu);
        size_t j = 0;
        for (size_t i = 0; i < s->n_keys; i++)
            if (strcmp(s->keys[i].namespace_id, id) != 0) s->keys[j++] = s->keys[i];
        s->n_keys = j;
        pthread_mutex_unlock(&s->keys_mu);
    }
    return rc;
}

vs_err svc_admin_stats(vs_service_t *s, const vs_req *req, vs_admin_stats *out, vs_status *st)
{
    memset(out, 0, sizeof *out);
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    vs_ns_t **all;
    size_t n = cat_list(s->cat, &all);
    for (size_t i = 0; i < n; i++) {
        vs_ns_meta m;
        ns_get_meta(all[i], &m);
        coll_stats cs;
        coll_get_stats(ns_coll(all[i]), &cs);
        out->total_namespaces++;
        if (m.status == VS_NS_ACTIVE) out->active_namespaces++;
        out->total_vectors += cs.live + cs.soft;
        out->total_requests += m.usage.total_requests;
        ns_release(all[i]);
    }
    vs_free(all);
    return VS_OK;
}

void svc_metrics_render(vs_service_t *s, vs_buf *out)
{
    vs_ns_t **all;
    size_t n = cat_list(s->cat, &all);
    metrics_ns_row *rows = vs_calloc(n ? n : 1, sizeof *rows);
    vs_ns_info *info = vs_calloc(n ? n : 1, sizeof *info);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows && info) {
            fill_info(all[i], &info[i]);
            rows[i] = (metrics_ns_row){info[i].id, info[i].vector_count, info[i].quota_utilization,
                                       info[i].total_requests};
            total += info[i].vector_count;
        }
        ns_release(all[i]);
    }
    vs_free(all);
    metrics_render(s->metrics, out, total, rows, rows && info ? n : 0);
    if (info) vs_ns_info_array_free(info, n);
    vs_free(rows);
}

void svc_count_http(vs_service_t *s, const char *route, const char *method, int status)
{
    metrics_count_http(s->metrics, route, method, status);
}

void svc_count_grpc(vs_service_t *s, const char *method, int code)
{
    metrics_count_grpc(s->metrics, method, code);
}
