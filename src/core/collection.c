/*
 * collection.c - one namespace's in-memory engine (collection.h): writes, the query planner,
 * hybrid fusion, compaction and the snapshot streams.
 *
 * Write path (caller serialises writers):
 *   1. exclusive: store_add each record as PENDING, map its id, add it to the payload index;
 *   2. shared: link each new slot into the HNSW graph (node locks only, queries keep running);
 *   3. exclusive: publish: PENDING -> LIVE, the replaced slots -> DEAD (graph-deleted, unindexed).
 *   A query therefore sees a record's old version until step 3 and the new one after: never both,
 *   never a mix (SPEC 2).
 *
 * Query planner (SPEC 6 / issue 4), for a live count n, ef and M:
 *   - no live record: "empty";
 *   - a small namespace (slots <= EXACT_SMALL): exact scan, "exact" / "exact_filtered";
 *   - a filter whose payload-index candidates number at most sqrt(ef * 2M * n): exact scan of the
 *     candidates, "exact_filtered". Rationale: an exact scan costs one distance per candidate,
 *     s*n for selectivity s; a filtered graph walk costs about ef*2M/s distances; they cross at
 *     s*n = sqrt(ef*2M*n) (measured in bench/filter_bench: see bench/results);
 *   - otherwise HNSW with the filter applied during traversal ("hnsw" / "hnsw_filtered"): rejected
 *     nodes still route and the graph widens ef until k matches are found.
 *
 * Hybrid (SPEC 7): vector and BM25 candidate lists of max(4k, 100) each under the same filter,
 * min-max normalised (all equal -> 1, absent -> 0), score = alpha*v + (1-alpha)*t, ties by id.
 *
 * Snapshot payloads (inside the storage layer's checksummed containers, docs/storage.md):
 *   vectors.bin : u32 dim, u32 metric, u32 n_slots, n_slots state bytes, n_slots*dim f32 vectors,
 *                 then for each slot not DEAD: u32 id length, id bytes
 *   metadata.bin: u32 n, then for each slot not DEAD: u32 length, encoded metadata (0 = {})
 *   hnsw_index.bin: u32 has_graph, then the graph's own stream (hnsw_write)
 */
#include "core/collection.h"

#include "core/payload_index.h"
#include "core/text_index.h"
#include "util/alloc.h"
#include "util/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_SMALL           1024 /* namespaces this small are searched exactly, without the graph */
#define HYBRID_MIN_CANDIDATES 100

struct vs_coll {
    coll_settings settings;
    pthread_rwlock_t lock; /* guards store, pidx, txt and the graph pointer (see header) */
    _Atomic int linking;   /* writes between coll_upsert_begin and _finish */
    pthread_mutex_t idle_mu; /* with idle_cv: coll_wait_idle sleeps until linking is 0 */
    pthread_cond_t idle_cv;
    vs_store store;
    hnsw_graph_t *graph; /* NULL until the dimension is fixed */
    pidx_t *pidx;        /* LIVE, SOFT and PENDING slots */
    txt_index_t *txt;    /* LIVE slots only */
};

static void rdlock(vs_coll_t *c)
{
    pthread_rwlock_rdlock(&c->lock);
}
static void wrlock(vs_coll_t *c)
{
    pthread_rwlock_wrlock(&c->lock);
}
static void unlock(vs_coll_t *c)
{
    pthread_rwlock_unlock(&c->lock);
}

static hnsw_params graph_params(const coll_settings *s)
{
    hnsw_params p = {s->m, s->ef_construction, s->ef_search, 0x5eed5eedULL};
    return p;
}

vs_coll_t *coll_create(const coll_settings *s)
{
    vs_coll_t *c = vs_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->settings = *s;
    if (!c->settings.m) c->settings.m = HNSW_DEFAULT_M;
    if (!c->settings.ef_construction) c->settings.ef_construction = HNSW_DEFAULT_EF_CONSTRUCTION;
    if (!c->settings.ef_search) c->settings.ef_search = HNSW_DEFAULT_EF_SEARCH;
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &a);
    pthread_rwlockattr_destroy(&a);
    pthread_mutex_init(&c->idle_mu, NULL);
    pthread_cond_init(&c->idle_cv, NULL);
    store_init(&c->store, 0, s->metric);
    c->pidx = pidx_create();
    c->txt = txt_create();
    if (!c->pidx || !c->txt) {
        coll_destroy(c);
        return NULL;
    }
    return c;
}

void coll_destroy(vs_coll_t *c)
{
    if (!c) return;
    if (c->graph) hnsw_destroy(c->graph);
    store_free(&c->store);
    if (c->pidx) pidx_destroy(c->pidx);
    if (c->txt) txt_destroy(c->txt);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->idle_mu);
    pthread_cond_destroy(&c->idle_cv);
    vs_free(c);
}

const coll_settings *coll_get_settings(const vs_coll_t *c)
{
    return &c->settings;
}

uint32_t coll_dim(const vs_coll_t *c)
{
    return c->settings.dim ? c->settings.dim : c->store.dim;
}

uint64_t coll_record_bytes(const vs_coll_t *c, uint32_t dim, size_t id_len, size_t meta_len)
{
    (void)c;
    return (uint64_t)dim * 4 + id_len + meta_len + 136;
}

/* Fixes the dimension on the first vector: creates the arena and the graph. Exclusive lock held. */
static vs_err ensure_dim(vs_coll_t *c, uint32_t dim, vs_status *st)
{
    if (c->graph) return VS_OK;
    vs_err rc = store_set_dim(&c->store, dim, st);
    if (rc != VS_OK) return rc;
    hnsw_params p = graph_params(&c->settings);
    c->graph = hnsw_create(&p, c->store.vecs, c->settings.metric);
    if (!c->graph) return vs_status_set(st, VS_ERR_NOMEM, "out of memory creating the HNSW graph");
    c->settings.dim = dim;
    return VS_OK;
}

/* Drops one slot from the indexes and turns it DEAD. Exclusive lock held. */
static void kill_one(vs_coll_t *c, uint32_t slot)
{
    uint8_t s = store_state(&c->store, slot);
    if (s == REC_DEAD || s == REC_FREE) return;
    pidx_remove(c->pidx, slot, store_meta(&c->store, slot));
    if (s == REC_LIVE) txt_remove(c->txt, slot);
    if (c->graph) hnsw_mark_deleted(c->graph, slot);
    store_set_state(&c->store, slot, REC_DEAD);
}

/* Retires every older version that `slot` replaces (a chain when writes of one id overlap). */
static void retire_chain(vs_coll_t *c, uint32_t slot)
{
    /* a DEAD version's older ones were retired with it, so the walk stops at the first one */
    for (uint32_t y = c->store.replaces[slot]; y != UINT32_MAX && store_state(&c->store, y) != REC_DEAD;
         y = c->store.replaces[y])
        kill_one(c, y);
}

/* Kills a record: the slot and every older version it replaces. */
static void kill_slot(vs_coll_t *c, uint32_t slot)
{
    retire_chain(c, slot);
    kill_one(c, slot);
}

/* Phase 1 of a write (the caller's apply ticket held): every record takes a PENDING slot, its id
 * is mapped to it, and the slot it replaces is remembered in `replaces` so publishing (or a delete)
 * retires the whole chain of versions. */
vs_err coll_upsert_begin(vs_coll_t *c, const coll_rec *recs, size_t n, uint32_t dim,
                         coll_pending *out, vs_status *st)
{
    memset(out, 0, sizeof *out);
    if (!n) return VS_OK;
    if (coll_dim(c) && dim != coll_dim(c))
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "Dimension mismatch: expected %u, got %u",
                             coll_dim(c), dim);
    uint32_t *slots = vs_malloc(n * 2 * sizeof *slots);
    if (!slots) return vs_status_set(st, VS_ERR_NOMEM, "out of memory applying a batch");
    uint32_t *old = slots + n; /* UINT32_MAX = nothing replaced */
    vs_err rc = VS_OK;
    size_t added = 0;
    wrlock(c);
    rc = ensure_dim(c, dim, st);
    for (size_t i = 0; rc == VS_OK && i < n; i++) {
        uint32_t prev;
        old[i] = store_lookup(&c->store, recs[i].id, recs[i].id_len, &prev) ? prev : UINT32_MAX;
        rc = store_add(&c->store, recs[i].id, recs[i].id_len, recs[i].vec, recs[i].meta,
                       recs[i].meta_len, &slots[i], st);
        if (rc != VS_OK) break;
        added++;
        c->store.replaces[slots[i]] = old[i];
        rc = store_map(&c->store, slots[i], st);
        if (rc == VS_OK) rc = pidx_add(c->pidx, slots[i], store_meta(&c->store, slots[i]), st);
    }
    if (rc != VS_OK) { /* nothing of the batch becomes visible; the old versions keep their ids */
        for (size_t i = added; i-- > 0;) {
            kill_one(c, slots[i]);
            if (old[i] != UINT32_MAX && store_state(&c->store, old[i]) != REC_DEAD)
                store_map(&c->store, old[i], NULL);
        }
        unlock(c);
        vs_free(slots);
        return rc;
    }
    atomic_fetch_add(&c->linking, 1);
    unlock(c);
    out->slots = slots;
    out->n = added;
    return VS_OK;
}

/* Phases 2 and 3, without the ticket, so writers link graph nodes concurrently: link each new
 * node (shared lock; the graph has node locks), then publish under the exclusive lock: PENDING ->
 * LIVE and every older version of the id -> DEAD. */
vs_err coll_upsert_finish(vs_coll_t *c, coll_pending *p, vs_status *st)
{
    vs_err rc = VS_OK;
    if (!p->n) return VS_OK;
    rdlock(c);
    for (size_t i = 0; i < p->n && rc == VS_OK; i++) {
        if (store_state(&c->store, p->slots[i]) != REC_PENDING) continue;
        rc = hnsw_insert(c->graph, p->slots[i], st);
    }
    unlock(c);
    wrlock(c);
    for (size_t i = 0; i < p->n; i++) {
        uint32_t slot = p->slots[i];
        if (rc != VS_OK) {
            if (store_state(&c->store, slot) == REC_PENDING) {
                uint32_t prev = c->store.replaces[slot];
                kill_one(c, slot);
                if (prev != UINT32_MAX && store_state(&c->store, prev) != REC_DEAD)
                    store_map(&c->store, prev, NULL);
            }
            continue;
        }
        retire_chain(c, slot);
        if (store_state(&c->store, slot) != REC_PENDING) continue; /* deleted or superseded meanwhile */
        store_set_state(&c->store, slot, REC_LIVE);
        vs_status tst;
        if (txt_add(c->txt, slot, store_meta(&c->store, slot), &tst) != VS_OK)
            vs_log_warn("text index: %s", tst.msg);
    }
    unlock(c);
    vs_free(p->slots);
    p->slots = NULL;
    p->n = 0;
    pthread_mutex_lock(&c->idle_mu);
    if (atomic_fetch_sub(&c->linking, 1) == 1) pthread_cond_broadcast(&c->idle_cv);
    pthread_mutex_unlock(&c->idle_mu);
    return rc;
}

void coll_wait_idle(vs_coll_t *c)
{
    pthread_mutex_lock(&c->idle_mu);
    while (atomic_load(&c->linking) > 0) pthread_cond_wait(&c->idle_cv, &c->idle_mu);
    pthread_mutex_unlock(&c->idle_mu);
}

vs_err coll_upsert(vs_coll_t *c, const coll_rec *recs, size_t n, uint32_t dim, vs_status *st)
{
    coll_pending p;
    vs_err rc = coll_upsert_begin(c, recs, n, dim, &p, st);
    if (rc == VS_OK) rc = coll_upsert_finish(c, &p, st);
    return rc;
}

static vs_err find_current(vs_coll_t *c, const char *id, size_t id_len, uint32_t *slot,
                           vs_status *st)
{
    if (!store_lookup(&c->store, id, id_len, slot))
        return vs_status_set(st, VS_ERR_NOT_FOUND, "Vector '%.*s' not found",
                             (int)(id_len > 200 ? 200 : id_len), id);
    return VS_OK;
}

vs_err coll_delete(vs_coll_t *c, const char *id, size_t id_len, vs_status *st)
{
    wrlock(c);
    uint32_t slot;
    vs_err rc = find_current(c, id, id_len, &slot, st);
    if (rc == VS_OK) kill_slot(c, slot);
    unlock(c);
    return rc;
}

vs_err coll_soft_delete(vs_coll_t *c, const char *id, size_t id_len, vs_status *st)
{
    wrlock(c);
    uint32_t slot;
    vs_err rc = find_current(c, id, id_len, &slot, st);
    if (rc == VS_OK && store_state(&c->store, slot) == REC_LIVE) {
        txt_remove(c->txt, slot);
        store_set_state(&c->store, slot, REC_SOFT);
    }
    unlock(c);
    return rc;
}

vs_err coll_restore(vs_coll_t *c, const char *id, size_t id_len, vs_status *st)
{
    wrlock(c);
    uint32_t slot;
    vs_err rc = find_current(c, id, id_len, &slot, st);
    if (rc == VS_OK && store_state(&c->store, slot) == REC_SOFT) {
        store_set_state(&c->store, slot, REC_LIVE);
        rc = txt_add(c->txt, slot, store_meta(&c->store, slot), st);
    }
    unlock(c);
    return rc;
}

bool coll_exists(vs_coll_t *c, const char *id, size_t id_len)
{
    return coll_state_of(c, id, id_len) != 0;
}

int coll_state_of(vs_coll_t *c, const char *id, size_t id_len)
{
    rdlock(c);
    uint32_t slot;
    int s = 0;
    if (store_lookup(&c->store, id, id_len, &slot))
        s = store_state(&c->store, slot) == REC_SOFT ? REC_SOFT : REC_LIVE;
    unlock(c);
    return s;
}

vs_err coll_get(vs_coll_t *c, const char *id, size_t id_len, coll_record *out, vs_status *st)
{
    memset(out, 0, sizeof *out);
    rdlock(c);
    uint32_t slot;
    vs_err rc = find_current(c, id, id_len, &slot, st);
    if (rc == VS_OK) {
        const store_rec *r = &c->store.recs[slot];
        uint32_t dim = c->store.dim;
        out->id = vs_strndup(r->id, r->id_len);
        out->id_len = r->id_len;
        out->vec = vs_malloc((size_t)dim * sizeof(float));
        out->dim = dim;
        out->meta_len = r->meta ? r->meta_len : 0;
        out->meta = out->meta_len ? vs_malloc(out->meta_len) : NULL;
        out->soft_deleted = store_state(&c->store, slot) == REC_SOFT;
        if (!out->id || !out->vec || (out->meta_len && !out->meta)) {
            rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory reading a record");
        } else {
            memcpy(out->vec, vecs_get(c->store.vecs, slot), (size_t)dim * sizeof(float));
            if (out->meta_len) memcpy(out->meta, r->meta, out->meta_len);
        }
    }
    unlock(c);
    if (rc != VS_OK) coll_record_free(out);
    return rc;
}

void coll_record_free(coll_record *r)
{
    vs_free(r->id);
    vs_free(r->vec);
    vs_free(r->meta);
    memset(r, 0, sizeof *r);
}

/* ---- search ---- */

typedef struct accept_ctx {
    const vs_store *store;
    const flt_expr_t *filter;
} accept_ctx;

static bool accept_live(void *ctx, uint32_t slot)
{
    accept_ctx *a = ctx;
    if (store_state(a->store, slot) != REC_LIVE) return false;
    return !a->filter || flt_eval(a->filter, store_meta(a->store, slot));
}

static bool accept_filter_only(void *ctx, uint32_t slot)
{
    accept_ctx *a = ctx;
    return !a->filter || flt_eval(a->filter, store_meta(a->store, slot));
}

/* The ef a filtered graph walk needs to find k matches with the recall of an unfiltered one: a
 * walk at selectivity s meets about s of the nodes it scores, so it needs ef + k/s (measured in
 * bench/results/filter_*.txt: recall >= 0.95 at every selectivity). s comes from the payload
 * index's estimate, or, when it cannot bound the filter (NOT, !=, IS NULL), from evaluating the
 * filter on up to 256 live records spread over the slots. Shared lock held. */
static uint32_t filtered_ef(vs_coll_t *c, const flt_expr_t *filter, uint32_t k, uint32_t ef)
{
    vs_store *s = &c->store;
    double n_live = (double)s->n_live, matches = (double)pidx_estimate(c->pidx, filter, s->n_live);
    if (matches >= n_live && s->n_slots) {
        uint32_t step = s->n_slots / 256 ? s->n_slots / 256 : 1, seen = 0, hit = 0;
        for (uint32_t i = 0; i < s->n_slots && seen < 256; i += step) {
            if (store_state(s, i) != REC_LIVE) continue;
            seen++;
            hit += flt_eval(filter, store_meta(s, i));
        }
        matches = seen ? n_live * (hit + 1.0) / (seen + 1.0) : n_live;
    }
    if (matches < 1) matches = 1;
    double want = ef + ceil((double)k * n_live / matches);
    return want > HNSW_MAX_EF_SEARCH ? HNSW_MAX_EF_SEARCH : (uint32_t)want;
}

/* The k nearest live records under the filter, by the planner in the file comment. Shared lock
 * held. */
static uint32_t vector_candidates(vs_coll_t *c, const float *q, uint32_t k, uint32_t ef,
                                  const flt_expr_t *filter, store_hit *out, const char **plan,
                                  uint64_t *visited)
{
    vs_store *s = &c->store;
    accept_ctx a = {s, filter};
    if (!s->n_live || !c->graph) {
        *plan = "empty";
        return 0;
    }
    if (s->n_slots <= EXACT_SMALL) {
        *plan = filter ? "exact_filtered" : "exact";
        return store_exact_search(s, q, k, NULL, 0, filter ? accept_filter_only : NULL, &a, out,
                                  visited);
    }
    uint32_t ef0 = ef ? ef : c->settings.ef_search;
    if (filter) {
        /* measured crossover (bench/results/filter_*.txt): a quarter of sqrt(ef * 2M * n) */
        double budget = sqrt((double)ef0 * 2.0 * c->settings.m * (double)s->n_live) / 4.0;
        size_t max = budget < 1024 ? 1024 : (size_t)budget;
        uint32_t *cand = NULL;
        size_t n_cand = 0;
        if (pidx_candidates(c->pidx, filter, max, &cand, &n_cand)) {
            uint32_t n =
                store_exact_search(s, q, k, cand, n_cand, accept_filter_only, &a, out, visited);
            vs_free(cand);
            *plan = "exact_filtered";
            return n;
        }
    }
    hnsw_hit *hh = vs_malloc((size_t)k * sizeof *hh);
    if (!hh) return 0;
    hnsw_search_stats hs = {0, 0};
    bool need_accept = filter || s->n_soft || s->n_pending;
    if (filter) ef = filtered_ef(c, filter, k, ef0);
    uint32_t n = hnsw_search(c->graph, q, k, ef, need_accept ? accept_live : NULL, &a, hh, &hs);
    for (uint32_t i = 0; i < n; i++) out[i] = (store_hit){hh[i].slot, hh[i].dist};
    /* the graph orders equal distances arbitrarily: ties by id, as everywhere (insertion sort, k
     * small) */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && store_hit_cmp(s, out[j - 1], out[j]) > 0; j--) {
            store_hit t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    vs_free(hh);
    *visited += hs.visited;
    *plan = filter ? "hnsw_filtered" : "hnsw";
    return n;
}

typedef struct fused {
    uint32_t slot;
    float v, t, score; /* normalised vector and text scores, final score */
} fused;

/* Best score first, ties by id (store_hit_cmp's rule; qsort_r context = the store). */
static int fused_cmp(const void *x, const void *y, void *store)
{
    const fused *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return store_hit_cmp(store, (store_hit){a->slot, 0}, (store_hit){b->slot, 0});
}

static void minmax(float *x, size_t n)
{
    if (!n) return;
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    for (size_t i = 0; i < n; i++)
        x[i] = hi == lo ? 1.0f : (float)(((double)x[i] - lo) / ((double)hi - lo));
}

/* Hybrid fusion of SPEC 7. Returns fused hits sorted best first (caller frees). */
static fused *hybrid(vs_coll_t *c, const coll_query *q, uint32_t *n_out, const char **plan,
                     uint64_t *visited)
{
    vs_store *s = &c->store;
    uint32_t want = q->k * 4 > HYBRID_MIN_CANDIDATES ? q->k * 4 : HYBRID_MIN_CANDIDATES;
    store_hit *vh = vs_malloc((size_t)want * sizeof *vh);
    txt_hit *th = vs_malloc((size_t)want * sizeof *th);
    fused *f = vs_malloc((size_t)want * 2 * sizeof *f);
    float *vs = vs_malloc((size_t)want * sizeof *vs), *ts = vs_malloc((size_t)want * sizeof *ts);
    if (!vh || !th || !f || !vs || !ts) {
        vs_free(vh), vs_free(th), vs_free(f), vs_free(vs), vs_free(ts);
        *n_out = 0;
        return NULL;
    }
    uint32_t nv = vector_candidates(c, q->vec, want, q->ef > want ? q->ef : want, q->filter, vh,
                                    plan, visited);
    accept_ctx a = {s, q->filter};
    size_t nt =
        q->text_len ? txt_search(c->txt, q->text, q->text_len, accept_live, &a, want, th) : 0;
    for (uint32_t i = 0; i < nv; i++) vs[i] = -vh[i].dist; /* similarity: higher is better */
    for (size_t i = 0; i < nt; i++) ts[i] = th[i].score;
    minmax(vs, nv);
    minmax(ts, nt);
    uint32_t n = 0;
    for (uint32_t i = 0; i < nv; i++) f[n++] = (fused){vh[i].slot, vs[i], 0, 0};
    for (size_t i = 0; i < nt; i++) {
        uint32_t j = 0;
        while (j < nv && f[j].slot != th[i].slot) j++;
        if (j < nv)
            f[j].t = ts[i];
        else
            f[n++] = (fused){th[i].slot, 0, ts[i], 0};
    }
    for (uint32_t i = 0; i < n; i++)
        f[i].score = (float)(q->alpha * f[i].v + (1.0 - q->alpha) * f[i].t);
    qsort_r(f, n, sizeof *f, fused_cmp, s);
    vs_free(vh), vs_free(th), vs_free(vs), vs_free(ts);
    *n_out = n < q->k ? n : q->k;
    return f;
}

/* Copies hits into one block owned by the result. Shared lock held. */
static vs_err materialise(vs_coll_t *c, const coll_query *q, const uint32_t *slots,
                          const float *score, const float *vscore, const float *tscore, uint32_t n,
                          coll_result *out, vs_status *st)
{
    vs_store *s = &c->store;
    size_t dim = s->dim, total = (size_t)n * sizeof(coll_hit);
    for (uint32_t i = 0; i < n; i++) {
        const store_rec *r = &s->recs[slots[i]];
        total += r->id_len + 1;
        if (q->want_meta) total += r->meta_len;
        if (q->want_vec) total += dim * sizeof(float) + 4;
    }
    char *mem = vs_malloc(total + 8);
    if (!mem) return vs_status_set(st, VS_ERR_NOMEM, "out of memory building query results");
    coll_hit *hits = (coll_hit *)mem;
    char *p = mem + (size_t)n * sizeof(coll_hit);
    for (uint32_t i = 0; i < n; i++) {
        const store_rec *r = &s->recs[slots[i]];
        coll_hit *h = &hits[i];
        memset(h, 0, sizeof *h);
        if (q->want_vec) { /* floats first, kept 4-byte aligned */
            size_t pad = (4 - ((uintptr_t)p & 3)) & 3;
            p += pad;
            memcpy(p, vecs_get(s->vecs, slots[i]), dim * sizeof(float));
            h->vec = (const float *)p;
            p += dim * sizeof(float);
        }
        memcpy(p, r->id, r->id_len);
        p[r->id_len] = '\0';
        h->id = p;
        h->id_len = r->id_len;
        p += r->id_len + 1;
        if (q->want_meta) {
            if (r->meta) {
                memcpy(p, r->meta, r->meta_len);
                h->meta = (const uint8_t *)p;
                h->meta_len = r->meta_len;
                p += r->meta_len;
            } else {
                vs_value e = vs_value_empty_object();
                h->meta = e.p;
                h->meta_len = (uint32_t)e.len;
            }
        }
        h->score = score[i];
        h->vscore = vscore ? vscore[i] : 0;
        h->tscore = tscore ? tscore[i] : 0;
    }
    out->hits = hits;
    out->n = n;
    out->mem = mem;
    return VS_OK;
}

vs_err coll_search(vs_coll_t *c, const coll_query *q, coll_result *out, vs_status *st)
{
    memset(out, 0, sizeof *out);
    out->plan = "empty";
    if (!q->k) return VS_OK;
    vs_err rc = VS_OK;
    rdlock(c);
    if (!c->store.n_live || !c->graph) {
        unlock(c);
        return VS_OK;
    }
    if (q->hybrid) {
        uint32_t n = 0;
        fused *f = hybrid(c, q, &n, &out->plan, &out->visited);
        uint32_t *slots = vs_malloc((size_t)(n ? n : 1) * sizeof *slots);
        float *sc = vs_malloc((size_t)(n ? n : 1) * sizeof(float) * 3);
        if (!f && n) rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory in hybrid search");
        if (rc == VS_OK && (!slots || !sc))
            rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory in hybrid search");
        if (rc == VS_OK) {
            for (uint32_t i = 0; i < n; i++) {
                slots[i] = f[i].slot;
                sc[i] = f[i].score;
                sc[n + i] = f[i].v;
                sc[2 * n + i] = f[i].t;
            }
            rc = materialise(c, q, slots, sc, sc + n, sc + 2 * n, n, out, st);
        }
        vs_free(f), vs_free(slots), vs_free(sc);
    } else {
        store_hit *h = vs_malloc((size_t)q->k * sizeof *h);
        uint32_t *slots = vs_malloc((size_t)q->k * sizeof *slots);
        float *sc = vs_malloc((size_t)q->k * sizeof *sc);
        if (!h || !slots || !sc) {
            rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory in search");
        } else {
            uint32_t n =
                vector_candidates(c, q->vec, q->k, q->ef, q->filter, h, &out->plan, &out->visited);
            for (uint32_t i = 0; i < n; i++) {
                slots[i] = h[i].slot;
                sc[i] = store_score(c->settings.metric, h[i].dist);
            }
            rc = materialise(c, q, slots, sc, NULL, NULL, n, out, st);
        }
        vs_free(h), vs_free(slots), vs_free(sc);
    }
    unlock(c);
    return rc;
}

void coll_result_free(coll_result *r)
{
    vs_free(r->mem);
    memset(r, 0, sizeof *r);
}

void coll_get_stats(vs_coll_t *c, coll_stats *o)
{
    memset(o, 0, sizeof *o);
    rdlock(c);
    vs_store *s = &c->store;
    o->dim = coll_dim(c);
    o->metric = c->settings.metric;
    o->live = s->n_live + s->n_pending;
    o->soft = s->n_soft;
    o->dead = s->n_dead;
    o->slots = s->n_slots;
    o->m = c->settings.m;
    o->ef_construction = c->settings.ef_construction;
    o->ef_search = c->settings.ef_search;
    /* soft-deleted records: everything they hold; dead slots: the vector and index entry left */
    uint64_t soft_bytes = 0;
    for (uint32_t i = 0; s->n_soft && i < s->n_slots; i++)
        if (store_state(s, i) == REC_SOFT)
            soft_bytes += store_record_bytes(s, s->recs[i].id_len, s->recs[i].meta_len);
    o->reclaimable_bytes = s->dead_bytes + soft_bytes;
    o->logical_bytes = (o->live + o->soft) * store_record_bytes(s, 0, 0) + s->data_bytes;
    o->memory_bytes = sizeof *c + store_memory_bytes(s) +
                      (c->graph ? hnsw_memory_bytes(c->graph) : 0) + pidx_memory_bytes(c->pidx) +
                      txt_memory_bytes(c->txt);
    unlock(c);
}

/* ---- compaction ---- */

vs_err coll_compact(vs_coll_t *c, uint64_t *removed, vs_status *st)
{
    /* Writers are held out by the caller, so the old store is stable: build beside it while
     * queries run, then swap under the exclusive lock. */
    coll_wait_idle(c);
    vs_store *s = &c->store;
    *removed = s->n_soft + s->n_dead;
    if (!*removed) return VS_OK;
    vs_coll_t *n = coll_create(&c->settings);
    if (!n) return vs_status_set(st, VS_ERR_NOMEM, "out of memory compacting");
    vs_err rc = VS_OK;
    coll_rec batch[256];
    size_t nb = 0;
    for (uint32_t i = 0; i < s->n_slots && rc == VS_OK; i++) {
        if (store_state(s, i) != REC_LIVE) continue;
        const store_rec *r = &s->recs[i];
        batch[nb++] = (coll_rec){r->id, r->id_len, vecs_get(s->vecs, i), r->meta, r->meta_len};
        if (nb == 256) {
            rc = coll_upsert(n, batch, nb, s->dim, st);
            nb = 0;
        }
    }
    if (rc == VS_OK && nb) rc = coll_upsert(n, batch, nb, s->dim, st);
    if (rc != VS_OK) {
        coll_destroy(n);
        return rc;
    }
    wrlock(c);
    vs_store tmp_store = c->store;
    hnsw_graph_t *tg = c->graph;
    pidx_t *tp = c->pidx;
    txt_index_t *tt = c->txt;
    c->store = n->store;
    c->graph = n->graph;
    c->pidx = n->pidx;
    c->txt = n->txt;
    if (!c->graph) { /* every record was purged: keep the dimension */
        uint32_t dim = tmp_store.dim;
        ensure_dim(c, dim, NULL);
    }
    n->store = tmp_store;
    n->graph = tg;
    n->pidx = tp;
    n->txt = tt;
    unlock(c);
    coll_destroy(n);
    return VS_OK;
}

/* ---- snapshot streams ---- */

static vs_err put_u32(coll_write_fn w, void *ctx, uint32_t v, vs_status *st)
{
    uint8_t b[4];
    vs_store_u32(b, v);
    return w(ctx, b, 4, st);
}

vs_err coll_write_vectors(vs_coll_t *c, coll_write_fn w, void *ctx, vs_status *st)
{
    rdlock(c);
    vs_store *s = &c->store;
    vs_err rc = put_u32(w, ctx, coll_dim(c), st);
    if (rc == VS_OK) rc = put_u32(w, ctx, (uint32_t)c->settings.metric, st);
    if (rc == VS_OK) rc = put_u32(w, ctx, s->n_slots, st);
    if (rc == VS_OK && s->n_slots) rc = w(ctx, (const void *)s->state, s->n_slots, st);
    for (uint32_t i = 0; rc == VS_OK && i < s->n_slots; i++)
        rc = w(ctx, vecs_get(s->vecs, i), (size_t)s->dim * sizeof(float), st);
    for (uint32_t i = 0; rc == VS_OK && i < s->n_slots; i++) {
        if (store_state(s, i) == REC_DEAD) continue;
        rc = put_u32(w, ctx, s->recs[i].id_len, st);
        if (rc == VS_OK) rc = w(ctx, s->recs[i].id, s->recs[i].id_len, st);
    }
    unlock(c);
    return rc;
}

vs_err coll_write_metadata(vs_coll_t *c, coll_write_fn w, void *ctx, vs_status *st)
{
    rdlock(c);
    vs_store *s = &c->store;
    vs_err rc = put_u32(w, ctx, (uint32_t)(s->n_slots - s->n_dead), st);
    for (uint32_t i = 0; rc == VS_OK && i < s->n_slots; i++) {
        if (store_state(s, i) == REC_DEAD) continue;
        rc = put_u32(w, ctx, s->recs[i].meta_len, st);
        if (rc == VS_OK && s->recs[i].meta_len)
            rc = w(ctx, s->recs[i].meta, s->recs[i].meta_len, st);
    }
    unlock(c);
    return rc;
}

vs_err coll_write_graph(vs_coll_t *c, coll_write_fn w, void *ctx, vs_status *st)
{
    rdlock(c);
    vs_err rc = put_u32(w, ctx, c->graph ? 1 : 0, st);
    if (rc == VS_OK && c->graph) rc = hnsw_write(c->graph, (hnsw_write_fn)w, ctx, st);
    unlock(c);
    return rc;
}

static vs_err get_u32(coll_read_fn r, void *ctx, uint32_t *v, vs_status *st)
{
    uint8_t b[4];
    vs_err rc = r(ctx, b, 4, st);
    if (rc == VS_OK) *v = vs_load_u32(b);
    return rc;
}

vs_err coll_load(vs_coll_t *c, coll_read_fn rv, void *cv, coll_read_fn rm, void *cm,
                 coll_read_fn rg, void *cg, vs_status *st)
{
    vs_store *s = &c->store;
    uint32_t dim = 0, metric = 0, n = 0, n_meta = 0, has_graph = 0;
    vs_err rc = get_u32(rv, cv, &dim, st);
    if (rc == VS_OK) rc = get_u32(rv, cv, &metric, st);
    if (rc == VS_OK) rc = get_u32(rv, cv, &n, st);
    if (rc != VS_OK) return rc;
    if (metric != (uint32_t)c->settings.metric || (n && !dim) || dim > 65536)
        return vs_status_set(st, VS_ERR_CORRUPT,
                             "vectors.bin: header does not match the namespace settings");
    uint8_t *states = vs_malloc(n ? n : 1);
    float *vec = vs_malloc((size_t)(dim ? dim : 1) * sizeof(float));
    if (!states || !vec) {
        vs_free(states), vs_free(vec);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory loading vectors");
    }
    wrlock(c);
    if (dim) rc = ensure_dim(c, dim, st);
    if (rc == VS_OK && n) rc = rv(cv, states, n, st);
    for (uint32_t i = 0; rc == VS_OK && i < n; i++) {
        if (states[i] < REC_PENDING || states[i] > REC_DEAD) {
            rc = vs_status_set(st, VS_ERR_CORRUPT, "vectors.bin: bad record state %u at slot %u",
                               states[i], i);
            break;
        }
        rc = rv(cv, vec, (size_t)dim * sizeof(float), st);
        if (rc == VS_OK) rc = vecs_set(s->vecs, i, vec, st);
    }
    if (rc == VS_OK) rc = get_u32(rm, cm, &n_meta, st);
    /* slot table: ids from vectors.bin, metadata from metadata.bin, in the same slot order */
    char *idbuf = vs_malloc(STORE_MAX_ID_BYTES + 1);
    uint8_t *mbuf = NULL;
    size_t mcap = 0;
    uint32_t seen = 0;
    for (uint32_t i = 0; rc == VS_OK && i < n; i++) {
        if (states[i] == REC_DEAD) { /* keeps its vector for routing; no id, no metadata */
            uint32_t slot = 0;
            rc = store_add(s, "", 0, NULL, NULL, 0, &slot, st);
            if (rc == VS_OK) store_set_state(s, slot, REC_DEAD);
            continue;
        }
        uint32_t il = 0, ml = 0;
        rc = get_u32(rv, cv, &il, st);
        if (rc == VS_OK && (il == 0 || il > STORE_MAX_ID_BYTES))
            rc = vs_status_set(st, VS_ERR_CORRUPT, "vectors.bin: bad id length %u at slot %u", il,
                               i);
        if (rc == VS_OK) rc = rv(cv, idbuf, il, st);
        if (rc == VS_OK) rc = get_u32(rm, cm, &ml, st);
        if (rc == VS_OK && ml > VS_VALUE_MAX_ENCODED * 2)
            rc = vs_status_set(st, VS_ERR_CORRUPT,
                               "metadata.bin: bad metadata length %u at slot %u", ml, i);
        if (rc == VS_OK && ml > mcap) {
            uint8_t *nb = vs_realloc(mbuf, ml);
            if (!nb)
                rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory loading metadata");
            else
                mbuf = nb, mcap = ml;
        }
        if (rc == VS_OK && ml) rc = rm(cm, mbuf, ml, st);
        if (rc == VS_OK && ml && !vs_value_validate(mbuf, ml, VS_VALUE_MAX_DEPTH + 1))
            rc = vs_status_set(st, VS_ERR_CORRUPT, "metadata.bin: invalid metadata at slot %u", i);
        uint32_t slot = 0;
        if (rc == VS_OK) rc = store_add(s, idbuf, il, NULL, mbuf, ml, &slot, st);
        if (rc == VS_OK) rc = store_map(s, slot, st);
        if (rc == VS_OK) rc = pidx_add(c->pidx, slot, store_meta(s, slot), st);
        if (rc == VS_OK) {
            store_set_state(s, slot, states[i] == REC_SOFT ? REC_SOFT : REC_LIVE);
            if (states[i] != REC_SOFT) rc = txt_add(c->txt, slot, store_meta(s, slot), st);
        }
        seen++;
    }
    if (rc == VS_OK && seen != n_meta)
        rc = vs_status_set(st, VS_ERR_CORRUPT, "metadata.bin: %u records, vectors.bin: %u", n_meta,
                           seen);
    vs_free(idbuf), vs_free(mbuf), vs_free(states), vs_free(vec);
    if (rc == VS_OK) rc = get_u32(rg, cg, &has_graph, st);
    if (rc == VS_OK && has_graph && c->graph) {
        hnsw_graph_t *g = hnsw_read(s->vecs, c->settings.metric, (hnsw_read_fn)rg, cg, st);
        if (!g) {
            rc = st && st->code ? st->code : VS_ERR_CORRUPT;
        } else {
            hnsw_destroy(c->graph);
            c->graph = g;
            for (uint32_t i = 0; i < s->n_slots; i++)
                if (store_state(s, i) == REC_DEAD) hnsw_mark_deleted(g, i);
        }
    } else if (rc == VS_OK && c->graph) {
        for (uint32_t i = 0; rc == VS_OK && i < s->n_slots; i++) rc = hnsw_insert(c->graph, i, st);
    }
    unlock(c);
    return rc;
}
