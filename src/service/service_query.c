/*
 * service_query.c - vector and hybrid queries: validation, the namespace's static result limit,
 * the query-result cache, the search itself and its metrics.
 *
 * Cache: key = namespace id, NUL, the namespace's write generation, and every input that changes
 * the answer (vector bytes, limit, ef, filter text, include flags, hybrid text and alpha). A write
 * bumps the generation, so an old entry can never be served again; entries age out of the LRU.
 * The cached value is the answer serialised as: u32 n, u32 dim, u8 hybrid, u64 visited, u64 plan
 * pointer (static strings), then per hit: f32 score, vscore, tscore, u32 id_len, id, u32 meta_len
 * (UINT32_MAX = none), meta, u8 has_vector, dim x f32.
 */
#include "service/svc_int.h"

#include "core/collection.h"
#include "core/filter.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fmt.h"

#include <math.h>
#include <string.h>

typedef struct answer {
    vs_hit *hits;
    uint8_t *bytes; /* the serialised answer the hits point into */
    float *vecs;    /* aligned copies of the returned vectors */
} answer;

static void build_key(vs_buf *k, vs_ticket_t *t, const vs_query_in *q, bool hybrid)
{
    vs_buf_append(k, t->meta.id, strlen(t->meta.id) + 1);
    vs_buf_append_u64(k, ns_generation(t->ns));
    vs_buf_append_u32(k, q->dim);
    vs_buf_append(k, q->vector, (size_t)q->dim * sizeof(float));
    vs_buf_append_u32(k, q->limit);
    vs_buf_append_u32(k, q->ef);
    vs_buf_append_u8(k, (uint8_t)(q->include_metadata | q->include_vector << 1 | hybrid << 2));
    vs_buf_append_u32(k, (uint32_t)q->filter_len);
    vs_buf_append(k, q->filter, q->filter_len);
    if (hybrid) {
        vs_buf_append_u32(k, (uint32_t)q->text_len);
        vs_buf_append(k, q->text_query, q->text_len);
        vs_buf_append(k, &q->alpha, sizeof q->alpha);
    }
}

static void serialise(vs_buf *b, const coll_result *r, uint32_t dim, bool hybrid)
{
    vs_buf_append_u32(b, r->n);
    vs_buf_append_u32(b, dim);
    vs_buf_append_u8(b, hybrid);
    vs_buf_append_u64(b, r->visited);
    uint64_t plan = (uint64_t)(uintptr_t)r->plan;
    vs_buf_append_u64(b, plan);
    for (uint32_t i = 0; i < r->n; i++) {
        const coll_hit *h = &r->hits[i];
        vs_buf_append(b, &h->score, 4);
        vs_buf_append(b, &h->vscore, 4);
        vs_buf_append(b, &h->tscore, 4);
        vs_buf_append_u32(b, h->id_len);
        vs_buf_append(b, h->id, h->id_len);
        vs_buf_append_u32(b, h->meta ? h->meta_len : UINT32_MAX);
        if (h->meta) vs_buf_append(b, h->meta, h->meta_len);
        vs_buf_append_u8(b, h->vec ? 1 : 0);
        if (h->vec) vs_buf_append(b, h->vec, (size_t)dim * 4);
    }
}

/* Rebuilds an answer from serialised bytes (takes ownership of bytes). */
static vs_err materialise(uint8_t *bytes, size_t len, vs_query_out *out, vs_status *st)
{
    (void)len;
    const uint8_t *p = bytes;
    uint32_t n = vs_load_u32(p), dim = vs_load_u32(p + 4);
    out->hybrid = p[8];
    out->visited = vs_load_u64(p + 9);
    out->plan = (const char *)(uintptr_t)vs_load_u64(p + 17);
    p += 25;
    answer *a = vs_calloc(1, sizeof *a);
    vs_hit *hits = vs_calloc(n ? n : 1, sizeof *hits);
    /* vectors are copied out aligned: one float block for all of them */
    float *vecs = NULL;
    if (!a || !hits) goto oom;
    size_t n_vec = 0;
    const uint8_t *scan = p;
    for (uint32_t i = 0; i < n; i++) {
        scan += 12;
        uint32_t il = vs_load_u32(scan);
        scan += 4 + il;
        uint32_t ml = vs_load_u32(scan);
        scan += 4 + (ml == UINT32_MAX ? 0 : ml);
        if (*scan++) {
            n_vec++;
            scan += (size_t)dim * 4;
        }
    }
    if (n_vec && !(vecs = vs_malloc(n_vec * dim * sizeof(float)))) goto oom;
    size_t vi = 0;
    for (uint32_t i = 0; i < n; i++) {
        vs_hit *h = &hits[i];
        memcpy(&h->score, p, 4);
        memcpy(&h->vector_score, p + 4, 4);
        memcpy(&h->text_score, p + 8, 4);
        p += 12;
        h->id_len = vs_load_u32(p);
        h->id = (const char *)p + 4;
        p += 4 + h->id_len;
        uint32_t ml = vs_load_u32(p);
        p += 4;
        if (ml != UINT32_MAX) {
            h->meta = p;
            h->meta_len = ml;
            p += ml;
        }
        if (*p++) {
            memcpy(vecs + vi * dim, p, (size_t)dim * 4);
            h->vector = vecs + vi * dim;
            vi++;
            p += (size_t)dim * 4;
        }
    }
    a->hits = hits;
    a->bytes = bytes;
    a->vecs = vecs;
    out->hits = hits;
    out->n_hits = n;
    out->dim = dim;
    out->_mem = a;
    return VS_OK;
oom:
    vs_free(vecs);
    vs_free(a);
    vs_free(hits);
    vs_free(bytes);
    return vs_status_set(st, VS_ERR_NOMEM, "out of memory building query results");
}

void vs_query_out_free(vs_query_out *out)
{
    answer *a = out->_mem;
    if (a) {
        vs_free(a->hits);
        vs_free(a->bytes);
        vs_free(a->vecs);
        vs_free(a);
    }
    memset(out, 0, sizeof *out);
}

static vs_err validate(vs_ticket_t *t, const vs_query_in *q, bool hybrid, uint32_t *limit,
                       vs_status *st)
{
    if (!q->has_vector) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "missing field 'vector'");
    if (!q->vector || q->dim == 0)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid vector: must hold at least one number");
    for (uint32_t i = 0; i < q->dim; i++)
        if (!isfinite(q->vector[i]))
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "Invalid vector: element %u is not a finite float32 (NaN, "
                                 "Infinity and values beyond +-3.4e38 are rejected)",
                                 i);
    uint32_t dim = t->meta.dim ? t->meta.dim : coll_dim(ns_coll(t->ns));
    if (dim && q->dim != dim)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Dimension mismatch: expected %u, got %u",
                             dim, q->dim);
    if (t->meta.metric == VS_METRIC_COSINE) {
        bool zero = true;
        for (uint32_t i = 0; i < q->dim && zero; i++) zero = q->vector[i] == 0.0f;
        if (zero)
            return vs_status_set(
                st, VS_ERR_INVALID_ARGUMENT,
                "Invalid vector: a zero vector has no direction under the cosine metric");
    }
    *limit = 10;
    if (q->has_limit) {
        if (q->limit_raw < 1 || q->limit_raw > 10000)
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "Invalid limit %lld: must be between 1 and 10000",
                                 (long long)q->limit_raw);
        *limit = (uint32_t)q->limit_raw;
    }
    if (q->has_ef && (q->ef_raw < 1 || q->ef_raw > 10000))
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid ef %lld: must be between 1 and 10000", (long long)q->ef_raw);
    if (hybrid) {
        if (!q->text_query)
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "missing field 'text_query'");
        if (q->has_alpha && !(q->alpha >= 0.0 && q->alpha <= 1.0))
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "Invalid alpha: must be between 0 and 1");
    }
    return VS_OK;
}

static vs_err run_query(vs_ticket_t *t, const vs_query_in *qin, bool hybrid, vs_query_out *out,
                        vs_status *st)
{
    memset(out, 0, sizeof *out);
    vs_service_t *s = t->s;
    uint32_t limit = 10;
    vs_err rc = validate(t, qin, hybrid, &limit, st);
    flt_expr_t *filter = NULL;
    if (rc == VS_OK && qin->filter) rc = flt_parse(qin->filter, qin->filter_len, &filter, st);
    const vs_ns_limits *l = &t->meta.limits;
    if (rc == VS_OK && l->max_results_per_query.set &&
        (double)limit > l->max_results_per_query.value) {
        char a[32];
        vs_fmt_double(a, l->max_results_per_query.value);
        rc = vs_status_set(st, VS_ERR_QUOTA_EXCEEDED,
                           "limit %u exceeds the namespace limit of %s results", limit, a);
    }
    if (rc != VS_OK) {
        flt_free(filter);
        metrics_count_error(s->metrics, vs_err_name(rc));
        return rc;
    }
    vs_query_in q = *qin;
    q.limit = limit;
    q.ef = qin->has_ef ? (uint32_t)qin->ef_raw : 0;
    q.alpha = qin->has_alpha ? qin->alpha : 0.5;
    int64_t t0 = svc_now_us();
    vs_buf key = VS_BUF_INIT;
    build_key(&key, t, &q, hybrid);
    void *cached = NULL;
    size_t clen = 0;
    if (!key.oom && qcache_get(s->cache, key.data, key.len, &cached, &clen)) {
        metrics_cache_hit(s->metrics);
        rc = materialise(cached, clen, out, st);
    } else {
        metrics_cache_miss(s->metrics);
        coll_query cq = {q.vector,        limit,   q.ef,
                         filter,          hybrid,  q.text_query,
                         q.text_len,      q.alpha, q.include_metadata,
                         q.include_vector};
        if (hybrid && !cq.text) cq.text_len = 0;
        coll_result r;
        rc = coll_search(ns_coll(t->ns), &cq, &r, st);
        if (rc == VS_OK) {
            vs_buf v = VS_BUF_INIT;
            serialise(&v, &r, q.dim, hybrid);
            coll_result_free(&r);
            if (v.oom) {
                vs_buf_free(&v);
                rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory");
            } else {
                if (!key.oom) qcache_put(s->cache, key.data, key.len, v.data, v.len);
                size_t vlen;
                uint8_t *bytes = vs_buf_detach(&v, &vlen);
                rc = materialise(bytes, vlen, out, st);
            }
        }
    }
    vs_buf_free(&key);
    flt_free(filter);
    out->took_us = (uint64_t)(svc_now_us() - t0);
    out->hybrid = hybrid;
    if (rc == VS_OK) {
        metrics_add_queries(s->metrics, 1);
        if (!hybrid && t->op != VS_OP_STREAM_QUERY)
            metrics_observe_query_seconds(s->metrics, (double)out->took_us / 1e6);
        ns_count(t->ns, 0, 1, 0, 0);
    } else {
        metrics_count_error(s->metrics, vs_err_name(rc));
    }
    return rc;
}

vs_err svc_query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st)
{
    return run_query(t, q, q->hybrid, out, st);
}

vs_err svc_hybrid_query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st)
{
    return run_query(t, q, true, out, st);
}
