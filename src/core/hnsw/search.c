/*
 * search.c - graph traversal: Algorithm 2 (SEARCH-LAYER) of the paper, the greedy descent through
 * the upper levels (Algorithm 5, K-NN-SEARCH, with ef = 1 above level 0), filtered search, and
 * the per-thread scratch that keeps malloc off the search path.
 *
 * How: the visited set is an epoch-tagged uint16 array per thread (tags[slot] == epoch means
 * visited in this pass; a new pass bumps the epoch, and only the 65,536th pass clears the array).
 * Candidates C are a min-heap (a max-heap over negated distances), the result set W a max-heap of
 * at most ef. Expanding a node copies its link list under the node's lock, marks the unvisited
 * ids and prefetches their vectors before computing any distance, so the memory loads overlap.
 * A filtered search (accept fn, or deleted nodes present) routes through every node but collects
 * only accepted, non-deleted ones in a third heap of k; while it has fewer than k, the pass is
 * repeated with ef doubled, until ef covers every node (then every reachable node was visited,
 * since W never fills and nothing is pruned).
 *
 * Invariants:
 *   1. The scratch of a thread is used by one search or insert at a time (callbacks must not
 *      re-enter the graph).
 *   2. Heaps never exceed their reserved capacity (cand grows on demand, see push_cand).
 *
 * Concurrency: no graph-wide lock; one node lock at a time, held only while copying a list. The
 * entry point is read with one acquire load. A node found in a list has its vector set and its
 * level written (both happened before the inserter released the list's lock).
 * Callers: hnsw_search (collection.c, tests, bench); hnsw_search_layer/greedy from insert.c.
 */
#include "hnsw_int.h"

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread hnsw_scratch *tls_scratch;

static void scratch_free(void *p)
{
    hnsw_scratch *sc = p;
    if (!sc) return;
    vs_free(sc->tags);
    vs_free(sc->cand.a), vs_free(sc->top.a), vs_free(sc->acc.a);
    vs_free(sc->nbr), vs_free(sc->todo), vs_free(sc->qbuf);
    vs_free(sc->work), vs_free(sc->sel), vs_free(sc->tmp), vs_free(sc->plan);
    vs_free(sc);
    tls_scratch = NULL;
}

static void scratch_key_init(void)
{
    (void)pthread_key_create(&scratch_key, scratch_free);
}

bool hnsw_heap_reserve(hnsw_heap *h, uint32_t n)
{
    if (h->cap >= n) return true;
    uint32_t cap = h->cap ? h->cap : 64;
    while (cap < n) cap *= 2;
    hnsw_hit *a = vs_realloc(h->a, (size_t)cap * sizeof *a);
    if (!a) return false;
    h->a = a;
    h->cap = cap;
    return true;
}

static bool grow_tags(hnsw_scratch *sc, uint32_t need)
{
    if (sc->tags_cap >= need) return true;
    uint32_t cap = sc->tags_cap ? sc->tags_cap : 1024;
    while (cap < need) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
    uint16_t *t = vs_realloc(sc->tags, (size_t)cap * sizeof *t);
    if (!t) return false;
    memset(t + sc->tags_cap, 0, (size_t)(cap - sc->tags_cap) * sizeof *t);
    sc->tags = t;
    sc->tags_cap = cap;
    return true;
}

static bool grow_u32(uint32_t **p, uint32_t n)
{
    uint32_t *x = vs_realloc(*p, (size_t)n * sizeof *x);
    if (!x) return false;
    *p = x;
    return true;
}

static bool grow_hits(hnsw_hit **p, uint32_t n)
{
    hnsw_hit *x = vs_realloc(*p, (size_t)n * sizeof *x);
    if (!x) return false;
    *p = x;
    return true;
}

hnsw_scratch *hnsw_scratch_get(const hnsw_graph_t *g, uint32_t ef)
{
    hnsw_scratch *sc = tls_scratch;
    if (!sc) {
        pthread_once(&scratch_once, scratch_key_init);
        sc = vs_calloc(1, sizeof *sc);
        if (!sc) return NULL;
        if (pthread_setspecific(scratch_key, sc) != 0) {
            vs_free(sc);
            return NULL;
        }
        tls_scratch = sc;
    }
    if (!grow_tags(sc, atomic_load_explicit(&g->bound, memory_order_acquire))) return NULL;
    uint32_t links = g->m0 + 1;
    if (sc->nbr_cap < links) {
        if (!grow_u32(&sc->nbr, links) || !grow_u32(&sc->todo, links)) return NULL;
        sc->nbr_cap = links;
    }
    if (sc->qbuf_cap < g->dim) {
        float *q = vs_realloc(sc->qbuf, (size_t)g->dim * sizeof *q);
        if (!q) return NULL;
        sc->qbuf = q;
        sc->qbuf_cap = g->dim;
    }
    uint32_t w = (ef > g->m0 ? ef : g->m0) + 2;
    if (sc->work_cap < w) {
        if (!grow_hits(&sc->work, w) || !grow_hits(&sc->sel, w) || !grow_hits(&sc->tmp, w))
            return NULL;
        sc->work_cap = w;
    }
    if (!hnsw_heap_reserve(&sc->top, w) || !hnsw_heap_reserve(&sc->cand, w + links)) return NULL;
    return sc;
}

bool hnsw_scratch_reserve_plan(hnsw_scratch *sc, uint32_t n)
{
    if (sc->plan_cap >= n) return true;
    if (!grow_hits(&sc->plan, n)) return false;
    sc->plan_cap = n;
    return true;
}

const float *hnsw_prepare_query(const hnsw_graph_t *g, hnsw_scratch *sc, const float *q)
{
    if (g->metric != VS_METRIC_COSINE) return q;
    float n = sqrtf(g->dot(q, q, g->dim));
    float inv = n > 0.0f && isfinite(n) ? 1.0f / n : 0.0f;
    for (uint32_t i = 0; i < g->dim; i++) sc->qbuf[i] = q[i] * inv;
    return sc->qbuf;
}

static inline uint16_t next_epoch(hnsw_scratch *sc)
{
    if (++sc->epoch == 0) {
        memset(sc->tags, 0, (size_t)sc->tags_cap * sizeof *sc->tags);
        sc->epoch = 1;
    }
    return sc->epoch;
}

/* A min-heap push onto cand, growing it if a long walk filled it. */
static inline bool push_cand(hnsw_scratch *sc, uint32_t slot, float dist)
{
    if (sc->cand.n == sc->cand.cap && !hnsw_heap_reserve(&sc->cand, sc->cand.cap * 2)) return false;
    hnsw_heap_push(&sc->cand, slot, -dist);
    return true;
}

/* Offers a visited node to the filtered result heap. */
static inline void offer(const hnsw_graph_t *g, hnsw_scratch *sc, const hnsw_filter *f,
                         uint32_t slot, float d)
{
    hnsw_heap *acc = &sc->acc;
    if (acc->n >= f->k && d >= acc->a[0].dist) return;
    if (hnsw_node_flags(hnsw_node_at(g, slot)) & NODE_DELETED) return;
    if (f->accept && !f->accept(f->ctx, slot)) return;
    if (acc->n < f->k)
        hnsw_heap_push(acc, slot, d);
    else
        hnsw_heap_replace_top(acc, slot, d);
}

void hnsw_search_layer(const hnsw_graph_t *g, hnsw_scratch *sc, const float *q, const hnsw_hit *eps,
                       uint32_t n_eps, uint32_t ef, uint32_t level, const hnsw_filter *f,
                       uint32_t *visited)
{
    uint16_t ep = next_epoch(sc);
    hnsw_heap *top = &sc->top, *cand = &sc->cand;
    uint16_t *tags = sc->tags;
    top->n = cand->n = 0;
    for (uint32_t i = 0; i < n_eps; i++) {
        if (eps[i].slot >= sc->tags_cap) { /* a node inserted after the scratch was sized */
            if (!grow_tags(sc, eps[i].slot + 1)) continue;
            tags = sc->tags;
        }
        if (tags[eps[i].slot] == ep) continue;
        tags[eps[i].slot] = ep;
        push_cand(sc, eps[i].slot, eps[i].dist);
        if (top->n < ef)
            hnsw_heap_push(top, eps[i].slot, eps[i].dist);
        else if (eps[i].dist < top->a[0].dist)
            hnsw_heap_replace_top(top, eps[i].slot, eps[i].dist);
        if (f) offer(g, sc, f, eps[i].slot, eps[i].dist);
    }
    uint32_t n_vis = 0;
    while (cand->n) {
        float cd = -cand->a[0].dist;
        if (top->n >= ef && cd > top->a[0].dist) break;
        uint32_t c = hnsw_heap_pop(cand).slot;
        uint32_t cnt = hnsw_copy_links(g, hnsw_node_at(g, c), level, sc->nbr);
        uint32_t nt = 0;
        for (uint32_t j = 0; j < cnt; j++) {
            uint32_t id = sc->nbr[j];
            if (id >= sc->tags_cap) {
                if (!grow_tags(sc, id + 1)) continue;
                tags = sc->tags;
            }
            if (tags[id] == ep) continue;
            tags[id] = ep;
            sc->todo[nt++] = id;
            hnsw_prefetch_vec(g, id);
        }
        n_vis += nt;
        for (uint32_t j = 0; j < nt; j++) {
            uint32_t id = sc->todo[j];
            float d = hnsw_qdist(g, q, id);
            if (top->n < ef || d < top->a[0].dist) {
                if (push_cand(sc, id, d)) __builtin_prefetch(hnsw_node_at(g, id), 0, 3);
                if (top->n < ef)
                    hnsw_heap_push(top, id, d);
                else
                    hnsw_heap_replace_top(top, id, d);
            }
            if (f) offer(g, sc, f, id, d);
        }
    }
    *visited += n_vis;
}

hnsw_hit hnsw_greedy_descend(const hnsw_graph_t *g, hnsw_scratch *sc, const float *q, hnsw_hit ep,
                             uint32_t top, uint32_t stop, uint32_t *visited)
{
    hnsw_hit cur = ep;
    for (uint32_t lc = top; lc > stop; lc--) {
        bool changed = true;
        while (changed) {
            changed = false;
            uint32_t cnt = hnsw_copy_links(g, hnsw_node_at(g, cur.slot), lc, sc->nbr);
            for (uint32_t j = 0; j < cnt; j++) hnsw_prefetch_vec(g, sc->nbr[j]);
            *visited += cnt;
            for (uint32_t j = 0; j < cnt; j++) {
                float d = hnsw_qdist(g, q, sc->nbr[j]);
                if (d < cur.dist) {
                    cur = (hnsw_hit){sc->nbr[j], d};
                    changed = true;
                }
            }
        }
    }
    return cur;
}

uint32_t hnsw_search(const hnsw_graph_t *g, const float *query, uint32_t k, uint32_t ef,
                     hnsw_accept_fn accept, void *ctx, hnsw_hit *out, hnsw_search_stats *stats)
{
    if (stats) *stats = (hnsw_search_stats){0, 0};
    if (!g || !query || !out || k == 0) return 0;
    uint64_t e = atomic_load_explicit(&g->entry, memory_order_acquire);
    if (e == HNSW_NO_ENTRY) return 0;
    if (ef == 0) ef = g->params.ef_search;
    if (ef < k) ef = k;
    hnsw_scratch *sc = hnsw_scratch_get(g, ef);
    if (!sc) return 0;
    const float *q = hnsw_prepare_query(g, sc, query);
    uint32_t visited = 1, n = 0;
    hnsw_hit ep = {(uint32_t)e, 0.0f};
    ep.dist = hnsw_qdist(g, q, ep.slot);
    ep = hnsw_greedy_descend(g, sc, q, ep, (uint32_t)(e >> 32), 0, &visited);
    bool filtering = accept || atomic_load_explicit(&g->n_deleted, memory_order_relaxed) > 0;
    uint32_t n_total = atomic_load_explicit(&g->n_nodes, memory_order_acquire);
    for (;;) {
        if (!hnsw_heap_reserve(&sc->top, ef + 2) || !hnsw_heap_reserve(&sc->acc, k + 1)) break;
        hnsw_filter f = {accept, ctx, k};
        sc->acc.n = 0;
        hnsw_search_layer(g, sc, q, &ep, 1, ef, 0, filtering ? &f : NULL, &visited);
        if (!filtering) {
            while (sc->top.n > k) hnsw_heap_pop(&sc->top);
            n = hnsw_heap_drain_sorted(&sc->top, out);
            break;
        }
        if (sc->acc.n >= k || ef >= n_total) {
            n = hnsw_heap_drain_sorted(&sc->acc, out);
            break;
        }
        ef = ef > n_total / 2 ? n_total : ef * 2;
    }
    if (stats) *stats = (hnsw_search_stats){visited, ef};
    return n;
}
