/*
 * service.c - the protocol-neutral operation API of service.h: admission (auth, namespace,
 * status, body size, rate and concurrency limits), validation, quotas, the query-result cache,
 * usage counters and metrics. Vector operations are in this file; admin operations in
 * service_admin.c; shared helpers in svc_int.h.
 *
 * Every message a user sees is built here, where the facts are known, with the exact wording of
 * SPEC sections 3, 8 and 11 where they quote one.
 *
 * Concurrency: the service holds no lock of its own on the request path. Namespaces are
 * reference counted (a ticket holds one); the rate bucket and concurrent-query counter live under
 * the namespace's admission mutex; counters are atomics.
 */
#include "service/svc_int.h"

#include "core/collection.h"
#include "core/filter.h"
#include "core/value.h"
#include "service/ratelimit.h"
#include "util/alloc.h"
#include "util/fmt.h"
#include "util/log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t svc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- life cycle ---- */

vs_err svc_open(const vs_service_config *cfg, vs_service_t **out, vs_status *st)
{
    vs_service_t *s = vs_calloc(1, sizeof *s);
    if (!s) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    snprintf(s->db_path, sizeof s->db_path, "%s", cfg->db_path ? cfg->db_path : "vecstore.db");
    s->cfg.db_path = s->db_path;
    if (cfg->api_key) {
        snprintf(s->admin_key, sizeof s->admin_key, "%s", cfg->api_key);
        s->cfg.api_key = s->admin_key;
    }
    vs_catalog_config cc = {s->db_path, (int)cfg->fsync, cfg->default_dimension,
                            (int)cfg->default_metric};
    vs_err rc = cat_open(&cc, &s->cat, st);
    if (rc != VS_OK) {
        vs_free(s);
        return rc;
    }
    s->metrics = metrics_create();
    s->cache = qcache_create(4096, 64u << 20);
    pthread_mutex_init(&s->keys_mu, NULL);
    atomic_init(&s->state, VS_STATE_RECOVERING);
    *out = s;
    return VS_OK;
}

vs_err svc_recover(vs_service_t *s, vs_status *st)
{
    vs_err rc = cat_load_all(s->cat, st);
    if (rc == VS_OK) rc = svc_keys_load(s, st);
    if (rc == VS_OK) atomic_store(&s->state, VS_STATE_READY);
    return rc;
}

vs_svc_state svc_state(const vs_service_t *s)
{
    return (vs_svc_state)atomic_load(&s->state);
}
const vs_service_config *svc_config(const vs_service_t *s)
{
    return &s->cfg;
}

void svc_begin_shutdown(vs_service_t *s)
{
    atomic_store(&s->state, VS_STATE_SHUTTING_DOWN);
}

void svc_close(vs_service_t *s, int timeout_ms)
{
    if (!s) return;
    int64_t deadline = svc_now_us() + (int64_t)timeout_ms * 1000;
    while (atomic_load(&s->in_flight) > 0 && svc_now_us() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cat_close(s->cat);
    metrics_destroy(s->metrics);
    qcache_destroy(s->cache);
    svc_keys_free(s);
    pthread_mutex_destroy(&s->keys_mu);
    vs_free(s);
}

/* ---- admission ---- */

static bool is_write(vs_op op)
{
    return op == VS_OP_UPSERT || op == VS_OP_BATCH_UPSERT || op == VS_OP_DELETE ||
           op == VS_OP_SOFT_DELETE || op == VS_OP_RESTORE || op == VS_OP_COMPACT;
}

static bool is_query(vs_op op)
{
    return op == VS_OP_QUERY || op == VS_OP_HYBRID_QUERY || op == VS_OP_STREAM_QUERY;
}

typedef struct admit_ctx {
    const vs_ns_limits *lim;
    bool query;
    int64_t now;
    vs_err rc;
    double rate;
    int64_t in_flight;
    bool counted;
    bool rate_refused;
} admit_ctx;

static void free_bucket(void *p)
{
    bucket_destroy(p);
    vs_free(p);
}

/* The rate limiter (ratelimit.h: burst = one second of rate, starts full, a refused request takes
 * nothing), then the concurrent-query counter. Runs under the namespace's admission mutex. */
static void admit_limits(vs_ns_admission *a, void *p)
{
    admit_ctx *c = p;
    if (c->lim->max_requests_per_second.set) {
        double rate = c->lim->max_requests_per_second.value;
        if (!a->limiter) {
            vs_bucket *b = vs_malloc(sizeof *b);
            if (b) {
                bucket_init(b);
                a->limiter = b;
                a->limiter_free = free_bucket;
            }
        }
        if (!a->limiter || !bucket_take(a->limiter, rate, c->now)) {
            c->rc = VS_ERR_QUOTA_EXCEEDED;
            c->rate = rate;
            c->rate_refused = true;
            return;
        }
    }
    if (c->query && c->lim->max_concurrent_queries.set) {
        if ((double)a->in_flight_queries >= c->lim->max_concurrent_queries.value) {
            c->rc = VS_ERR_QUOTA_EXCEEDED;
            c->in_flight = a->in_flight_queries;
            return;
        }
    }
    if (c->query) {
        a->in_flight_queries++;
        c->counted = true;
    }
}

static void release_query(vs_ns_admission *a, void *p)
{
    (void)p;
    a->in_flight_queries--;
}

static vs_err reject_at_admission(vs_service_t *s, vs_err code, vs_status *st)
{
    (void)st; /* already filled by the caller */
    metrics_count_error(s->metrics, vs_err_name(code));
    return code;
}

vs_err svc_admit(vs_service_t *s, const vs_req *req, vs_op op, bool body_too_large,
                 vs_ticket_t **out, vs_status *st)
{
    *out = NULL;
    int state = atomic_load(&s->state);
    if (state == VS_STATE_RECOVERING)
        return reject_at_admission(
            s,
            vs_status_set(st, VS_ERR_UNAVAILABLE, "Server is recovering its data; retry shortly"),
            st);
    if (state == VS_STATE_SHUTTING_DOWN)
        return reject_at_admission(
            s, vs_status_set(st, VS_ERR_UNAVAILABLE, "Server is shutting down"), st);
    const char *ns_id = req->namespace_id && *req->namespace_id ? req->namespace_id : "default";
    vs_err rc = svc_auth_data(s, req->api_key, ns_id, st);
    if (rc != VS_OK) return reject_at_admission(s, rc, st);
    vs_ns_t *ns = cat_get(s->cat, ns_id);
    if (!ns) {
        return reject_at_admission(
            s, vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%.80s' not found", ns_id), st);
    }
    ns_count(ns, 1, 0, 0, 0);
    vs_ns_meta meta;
    ns_get_meta(ns, &meta);
    rc = VS_OK;
    if (meta.status == VS_NS_SUSPENDED || meta.status == VS_NS_PENDING_DELETION)
        rc = vs_status_set(st, VS_ERR_PERMISSION_DENIED,
                           "Namespace '%s' is %s: all requests are rejected", meta.id,
                           vs_ns_status_name(meta.status));
    else if (meta.status == VS_NS_READ_ONLY && is_write(op))
        rc = vs_status_set(st, VS_ERR_PERMISSION_DENIED,
                           "Namespace '%s' is read_only: writes are rejected", meta.id);
    else if (body_too_large)
        rc = vs_status_set(st, VS_ERR_TOO_LARGE, "Request body exceeds the limit of %zu bytes",
                           s->cfg.max_body_bytes);
    admit_ctx ac = {&meta.limits, is_query(op), svc_now_us(), VS_OK, 0, 0, false, false};
    if (rc == VS_OK) {
        ns_with_admission(ns, admit_limits, &ac);
        if (ac.rc != VS_OK && ac.rate_refused) {
            char r[32];
            vs_fmt_double(r, ac.rate);
            rc = vs_status_set(st, ac.rc, "Rate limit exceeded: %s requests/second", r);
        } else if (ac.rc != VS_OK) {
            rc = vs_status_set(st, ac.rc, "Concurrent query limit exceeded: %lld / %.0f",
                               (long long)ac.in_flight, meta.limits.max_concurrent_queries.value);
        }
    }
    if (rc != VS_OK) {
        ns_release(ns);
        return reject_at_admission(s, rc, st);
    }
    vs_ticket_t *t = vs_calloc(1, sizeof *t);
    if (!t) {
        if (ac.counted) ns_with_admission(ns, release_query, NULL);
        ns_release(ns);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    }
    t->s = s;
    t->ns = ns;
    t->op = op;
    t->holds_query_slot = ac.counted;
    t->start_us = ac.now;
    t->meta = meta;
    t->deadline_us = req->deadline_us;
    atomic_fetch_add(&s->in_flight, 1);
    *out = t;
    return VS_OK;
}

vs_err svc_reject(vs_ticket_t *t, vs_err code, const char *msg, vs_status *st)
{
    vs_status_set(st, code, "%s", msg ? msg : vs_err_default_msg(code));
    metrics_count_error(t->s->metrics, vs_err_name(code));
    return code;
}

void svc_release(vs_ticket_t *t)
{
    if (!t) return;
    if (t->holds_query_slot) ns_with_admission(t->ns, release_query, NULL);
    ns_release(t->ns);
    atomic_fetch_sub(&t->s->in_flight, 1);
    vs_free(t);
}

const char *svc_ticket_namespace(const vs_ticket_t *t)
{
    return t->meta.id;
}

static vs_err fail(vs_ticket_t *t, vs_err rc, vs_status *st)
{
    (void)st; /* already filled where the error was found */
    if (rc != VS_OK) metrics_count_error(t->s->metrics, vs_err_name(rc));
    return rc;
}

/* ---- validation ---- */

static vs_err check_id(const char *id, size_t len, vs_status *st)
{
    if (!id || len == 0)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Invalid id: must not be empty");
    if (len > 512)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid id: %zu bytes exceeds the limit of 512 bytes", len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "Invalid id: control characters are not allowed (byte %zu)", i);
    return VS_OK;
}

static vs_err check_vector(const vs_ns_meta *m, const float *v, uint32_t dim, const char *what,
                           vs_status *st)
{
    if (!v || dim == 0)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid %s: must hold at least one number", what);
    if (dim > 65536)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid %s: dimension %u exceeds the limit of 65536", what, dim);
    for (uint32_t i = 0; i < dim; i++)
        if (!isfinite(v[i]))
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "Invalid %s: element %u is not a finite float32 (NaN, Infinity "
                                 "and values beyond +-3.4e38 are rejected)",
                                 what, i);
    if (m->dim && dim != m->dim)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Dimension mismatch: expected %u, got %u",
                             m->dim, dim);
    if (m->metric == VS_METRIC_COSINE) {
        bool zero = true;
        for (uint32_t i = 0; i < dim && zero; i++) zero = v[i] == 0.0f;
        if (zero)
            return vs_status_set(
                st, VS_ERR_INVALID_ARGUMENT,
                "Invalid %s: a zero vector has no direction under the cosine metric", what);
    }
    return VS_OK;
}

static vs_err check_record(const vs_ns_meta *m, const vs_record_in *r, vs_status *st)
{
    vs_err rc = check_id(r->id, r->id_len, st);
    if (rc == VS_OK) rc = check_vector(m, r->vector, r->dim, "vector", st);
    if (rc == VS_OK && r->meta_too_deep)
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                           "Invalid metadata: nesting exceeds %d levels", VS_VALUE_MAX_DEPTH);
    if (rc == VS_OK && r->meta_len > VS_VALUE_MAX_ENCODED)
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                           "Invalid metadata: %zu bytes encoded exceeds the limit of %u bytes",
                           r->meta_len, VS_VALUE_MAX_ENCODED);
    if (rc == VS_OK && r->meta && vs_value_type(vs_value_of(r->meta, r->meta_len)) != VS_VAL_OBJECT)
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Invalid metadata: must be a JSON object");
    return rc;
}

static const char *shortest(char *buf, double d)
{
    vs_fmt_double(buf, d);
    return buf;
}

/* Quotas of a write: the records that would be new and the bytes they add. */
static vs_err check_write_quotas(vs_ticket_t *t, const vs_record_in *recs, size_t n, uint32_t dim,
                                 vs_status *st)
{
    const vs_ns_limits *l = &t->meta.limits;
    char a[32], b[32];
    if (l->max_dimension.set && dim > l->max_dimension.value)
        return vs_status_set(st, VS_ERR_QUOTA_EXCEEDED,
                             "Dimension %u exceeds the namespace limit of %s", dim,
                             shortest(a, l->max_dimension.value));
    if (!l->max_vectors.set && !l->max_storage_bytes.set) return VS_OK;
    vs_coll_t *c = ns_coll(t->ns);
    coll_stats cs;
    coll_get_stats(c, &cs);
    uint64_t count = cs.live + cs.soft, added = 0, bytes = cs.logical_bytes, add_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = i + 1; j < n && !dup; j++)
            dup = recs[j].id_len == recs[i].id_len &&
                  memcmp(recs[j].id, recs[i].id, recs[i].id_len) == 0;
        if (dup) continue; /* the last copy of an id counts */
        if (!coll_exists(c, recs[i].id, recs[i].id_len)) added++;
        add_bytes += coll_record_bytes(c, dim, recs[i].id_len, recs[i].meta_len);
    }
    if (l->max_vectors.set && added && (double)(count + added) > l->max_vectors.value)
        return vs_status_set(st, VS_ERR_QUOTA_EXCEEDED, "Vector quota exceeded: %llu / %s vectors",
                             (unsigned long long)count, shortest(a, l->max_vectors.value));
    if (l->max_storage_bytes.set && (double)(bytes + add_bytes) > l->max_storage_bytes.value)
        return vs_status_set(st, VS_ERR_QUOTA_EXCEEDED, "Storage quota exceeded: %llu / %s bytes",
                             (unsigned long long)(bytes + add_bytes),
                             shortest(b, l->max_storage_bytes.value));
    return VS_OK;
}

/* ---- writes ---- */

static vs_err do_upsert(vs_ticket_t *t, const vs_record_in *recs, size_t n, vs_status *st)
{
    uint32_t dim = recs[0].dim;
    vs_ns_rec *nr = vs_malloc(n * sizeof *nr);
    if (!nr) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        vs_value mv =
            recs[i].meta ? vs_value_of(recs[i].meta, recs[i].meta_len) : vs_value_empty_object();
        /* an empty object is stored as "no metadata" */
        bool empty = vs_value_count(mv) == 0;
        nr[i] = (vs_ns_rec){recs[i].id, recs[i].id_len, recs[i].vector, empty ? NULL : mv.p,
                            empty ? 0 : mv.len};
    }
    vs_err rc = ns_upsert(t->ns, nr, n, dim, st);
    vs_free(nr);
    if (rc == VS_OK) {
        metrics_add_upserts(t->s->metrics, n);
        ns_count(t->ns, 0, 0, n, 0);
    }
    return rc;
}

vs_err svc_upsert(vs_ticket_t *t, const vs_record_in *rec, vs_status *st)
{
    vs_err rc = check_record(&t->meta, rec, st);
    if (rc == VS_OK) rc = check_write_quotas(t, rec, 1, rec->dim, st);
    if (rc == VS_OK) rc = do_upsert(t, rec, 1, st);
    return fail(t, rc, st);
}

vs_err svc_batch_upsert(vs_ticket_t *t, const vs_record_in *recs, size_t n, size_t *n_upserted,
                        vs_status *st)
{
    *n_upserted = 0;
    vs_err rc = VS_OK;
    if (n == 0)
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                           "Invalid batch: 'records' must hold at least one record");
    if (rc == VS_OK && n > 10000)
        rc = vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                           "Invalid batch: %zu records exceeds the limit of 10000", n);
    for (size_t i = 0; rc == VS_OK && i < n; i++) {
        vs_status rst;
        vs_err r = check_record(&t->meta, &recs[i], &rst);
        if (r == VS_OK && recs[i].dim != recs[0].dim)
            r = vs_status_set(&rst, VS_ERR_INVALID_ARGUMENT,
                              "Dimension mismatch: expected %u, got %u", recs[0].dim, recs[i].dim);
        if (r != VS_OK) rc = vs_status_set(st, r, "records[%zu]: %s", i, rst.msg);
    }
    const vs_ns_limits *l = &t->meta.limits;
    char a[32];
    if (rc == VS_OK && l->max_batch_size.set && (double)n > l->max_batch_size.value)
        rc = vs_status_set(st, VS_ERR_QUOTA_EXCEEDED,
                           "Batch of %zu records exceeds the namespace limit of %s", n,
                           shortest(a, l->max_batch_size.value));
    if (rc == VS_OK) rc = check_write_quotas(t, recs, n, recs[0].dim, st);
    if (rc == VS_OK) rc = do_upsert(t, recs, n, st);
    if (rc == VS_OK) *n_upserted = n;
    return fail(t, rc, st);
}

static vs_err id_op(vs_ticket_t *t, const char *id, size_t len, int kind, vs_status *st)
{
    vs_err rc = check_id(id, len, st);
    if (rc == VS_OK) {
        if (kind == 0)
            rc = ns_delete(t->ns, id, len, st);
        else if (kind == 1)
            rc = ns_soft_delete(t->ns, id, len, st);
        else
            rc = ns_restore(t->ns, id, len, st);
    }
    if (rc == VS_OK && kind != 2) {
        metrics_add_deletes(t->s->metrics, 1);
        ns_count(t->ns, 0, 0, 0, 1);
    }
    return fail(t, rc, st);
}

vs_err svc_delete(vs_ticket_t *t, const char *id, size_t l, vs_status *st)
{
    return id_op(t, id, l, 0, st);
}
vs_err svc_soft_delete(vs_ticket_t *t, const char *id, size_t l, vs_status *st)
{
    return id_op(t, id, l, 1, st);
}
vs_err svc_restore(vs_ticket_t *t, const char *id, size_t l, vs_status *st)
{
    return id_op(t, id, l, 2, st);
}

vs_err svc_compact(vs_ticket_t *t, vs_compact_out *out, vs_status *st)
{
    int64_t t0 = svc_now_us();
    memset(out, 0, sizeof *out);
    vs_err rc = ns_compact(t->ns, &out->removed, st);
    out->took_ms = (uint64_t)((svc_now_us() - t0) / 1000);
    return fail(t, rc, st);
}

vs_err svc_get(vs_ticket_t *t, const char *id, size_t len, vs_record_out *out, vs_status *st)
{
    memset(out, 0, sizeof *out);
    vs_err rc = check_id(id, len, st);
    coll_record r;
    if (rc == VS_OK) rc = coll_get(ns_coll(t->ns), id, len, &r, st);
    if (rc == VS_OK) {
        out->id = r.id;
        out->id_len = r.id_len;
        out->vector = r.vec;
        out->dim = r.dim;
        out->meta = r.meta;
        out->meta_len = r.meta_len;
        out->state = r.soft_deleted ? "soft_deleted" : "live";
    }
    return fail(t, rc, st);
}

void vs_record_out_free(vs_record_out *o)
{
    vs_free(o->id);
    vs_free(o->vector);
    vs_free(o->meta);
    memset(o, 0, sizeof *o);
}

vs_err svc_stats(vs_ticket_t *t, vs_stats_out *o, vs_status *st)
{
    (void)st;
    memset(o, 0, sizeof *o);
    coll_stats cs;
    coll_get_stats(ns_coll(t->ns), &cs);
    snprintf(o->namespace_id, sizeof o->namespace_id, "%s", t->meta.id);
    o->dimension = cs.dim;
    o->metric = svc_metric_name(cs.metric);
    o->vector_count = cs.live + cs.soft;
    o->active_count = cs.live;
    o->deleted_count = cs.soft;
    o->reclaimable_bytes = cs.reclaimable_bytes;
    o->memory_bytes = cs.memory_bytes;
    o->disk_bytes = ns_disk_bytes(t->ns);
    o->index_type = "hnsw";
    o->m = cs.m;
    o->ef_construction = cs.ef_construction;
    o->ef_search = cs.ef_search;
    o->index_nodes = cs.slots;
    return VS_OK;
}

const char *svc_metric_name(int m)
{
    return m == VS_METRIC_L2 ? "l2" : m == VS_METRIC_DOT ? "dot" : "cosine";
}
