/*
 * insert.c - Algorithm 1 (INSERT) of the paper with Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC,
 * extendCandidates = false, keepPrunedConnections = false, as hnswlib does).
 *
 * How: the new node claims its slot (CLAIMED flag), draws its level l (graph.c), allocates its
 * upper link block and turns READY. From the entry point it descends greedily to level l + 1,
 * then on each level lc = min(l, L) .. 0 it runs SEARCH-LAYER with ef_construction from the
 * previous level's result W and picks up to M neighbours from W with the heuristic (all of W
 * when it holds fewer than M). Then, level 0 first and upwards, it writes its own list and adds
 * itself to each chosen neighbour's list; a full list (M above level 0, 2M on level 0) is shrunk
 * with the same heuristic over its old links plus the new node.
 *
 * Entry point (the two-lock pattern of pgvector's hnswbuild.c): every insert passes through
 * entry_wait_lock (lock + unlock at once, so it queues behind an insert waiting for exclusive
 * access), then holds entry_lock shared for its whole insertion. An insert whose level is above
 * the current top (or into an empty graph) drops the shared lock, takes entry_wait_lock, then
 * entry_lock exclusively, releases entry_wait_lock, re-reads the entry point and, once linked,
 * publishes itself as the new entry point before releasing entry_lock. Only such inserts
 * (about one in M^k at level k) serialise; searches never take these locks.
 *
 * Invariants:
 *   1. A node's own list on level lc is written before any other node links to it on lc, and its
 *      lists on levels < lc before anyone links to it on lc: a node reachable by a search always
 *      has its level, upper block, vector and the lists below in place.
 *   2. Every link on level lc points to a node whose level is >= lc; no self links, no
 *      duplicates (a node is added to a neighbour's list once, by its own insert).
 *   3. At most one node lock is held at a time (no lock order between nodes is needed).
 *
 * Concurrency: see above; node lists change only under their node lock. Callers: collection.c
 * (upsert, snapshot rebuild), tests, bench.
 */
#include "hnsw_int.h"

#include <stdlib.h>

/* Algorithm 4 over the ascending candidates a[0..n), compacting the chosen ones (at most m) to
 * the front of a in place: a candidate is kept when it is closer to the base element than to
 * every candidate kept before it. Returns how many were kept. */
static uint32_t select_heuristic(const hnsw_graph_t *g, hnsw_hit *a, uint32_t n, uint32_t m)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n && kept < m; i++) {
        hnsw_hit e = a[i];
        bool good = true;
        for (uint32_t j = 0; j < kept; j++)
            if (hnsw_node_dist(g, e.slot, a[j].slot) < e.dist) {
                good = false;
                break;
            }
        if (good) a[kept++] = e;
    }
    return kept;
}

static int hit_cmp(const void *x, const void *y)
{
    const hnsw_hit *a = x, *b = y;
    return a->dist < b->dist   ? -1
           : a->dist > b->dist ? 1
                               : (a->slot > b->slot) - (a->slot < b->slot);
}

/* Adds `id` (at distance d from nb) to nb's list on level lc, shrinking a full list. */
static void add_link(const hnsw_graph_t *g, hnsw_scratch *sc, uint32_t nb, uint32_t id, float d,
                     uint32_t lc)
{
    hnsw_node *n = hnsw_node_at(g, nb);
    uint32_t max = hnsw_max_links(g, lc), *cnt;
    hnsw_node_lock(n);
    uint32_t *ids = hnsw_links(g, n, lc, &cnt);
    if (*cnt < max) {
        ids[(*cnt)++] = id;
    } else {
        hnsw_hit *t = sc->tmp;
        uint32_t c = *cnt;
        for (uint32_t i = 0; i < c; i++) t[i] = (hnsw_hit){ids[i], hnsw_node_dist(g, nb, ids[i])};
        t[c] = (hnsw_hit){id, d};
        qsort(t, c + 1, sizeof *t, hit_cmp);
        uint32_t k = select_heuristic(g, t, c + 1, max);
        for (uint32_t i = 0; i < k; i++) ids[i] = t[i].slot;
        *cnt = k;
    }
    hnsw_node_unlock(n);
}

/* Links the READY node `slot` (prepared vector q, level l) below the entry point e. First the
 * searches run top-down (each level's W seeds the next, as in Algorithm 1) and the chosen
 * neighbours of every level are kept in sc->plan; then the links are written bottom-up, so when
 * the node becomes reachable on a level, its lists on all lower levels are already in place and
 * a search descending through it never lands on a node without level-0 links. */
static void connect(const hnsw_graph_t *g, hnsw_scratch *sc, uint32_t slot, hnsw_node *node,
                    const float *q, uint32_t l, uint64_t e)
{
    uint32_t top = (uint32_t)(e >> 32), visited = 0, n_plan[HNSW_MAX_LEVEL + 1];
    uint32_t lmax = l < top ? l : top;
    hnsw_hit ep = {(uint32_t)e, 0.0f};
    ep.dist = hnsw_qdist(g, q, ep.slot);
    if (top > l) ep = hnsw_greedy_descend(g, sc, q, ep, top, l, &visited);
    sc->work[0] = ep;
    uint32_t n_w = 1;
    for (uint32_t lc = lmax;; lc--) {
        hnsw_search_layer(g, sc, q, sc->work, n_w, g->params.ef_construction, lc, NULL, &visited);
        n_w = hnsw_heap_drain_sorted(&sc->top, sc->work);
        hnsw_hit *sel = sc->plan + (size_t)lc * g->m;
        uint32_t n = n_w < g->m ? n_w : g->m;
        if (n_w <= g->m)
            memcpy(sel, sc->work, (size_t)n_w * sizeof *sel);
        else {
            memcpy(sc->sel, sc->work, (size_t)n_w * sizeof *sc->sel);
            n = select_heuristic(g, sc->sel, n_w, g->m);
            memcpy(sel, sc->sel, (size_t)n * sizeof *sel);
        }
        n_plan[lc] = n;
        if (lc == 0) break;
    }
    for (uint32_t lc = 0; lc <= lmax; lc++) {
        const hnsw_hit *sel = sc->plan + (size_t)lc * g->m;
        uint32_t *cnt;
        hnsw_node_lock(node);
        uint32_t *ids = hnsw_links(g, node, lc, &cnt);
        for (uint32_t i = 0; i < n_plan[lc]; i++) ids[i] = sel[i].slot;
        *cnt = n_plan[lc];
        hnsw_node_unlock(node);
        for (uint32_t i = 0; i < n_plan[lc]; i++)
            add_link(g, sc, sel[i].slot, slot, sel[i].dist, lc);
    }
}

static void raise_bound(hnsw_graph_t *g, uint32_t slot)
{
    uint32_t b = atomic_load_explicit(&g->bound, memory_order_relaxed);
    while (slot + 1 > b && !atomic_compare_exchange_weak_explicit(
                               &g->bound, &b, slot + 1, memory_order_release, memory_order_relaxed))
        ;
}

vs_err hnsw_insert(hnsw_graph_t *g, uint32_t slot, vs_status *st)
{
    if (!g) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "hnsw_insert: NULL graph");
    const float *v = vecs_get(g->vecs, slot);
    if (!v)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "hnsw_insert: slot %u has no vector",
                             slot);
    hnsw_node *node = hnsw_node_ensure(g, slot);
    if (!node) return vs_status_set(st, VS_ERR_NOMEM, "out of memory adding graph node %u", slot);
    uint8_t old = atomic_fetch_or_explicit(&node->flags, NODE_CLAIMED, memory_order_acq_rel);
    if (old & NODE_CLAIMED)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "hnsw_insert: slot %u already in graph",
                             slot);
    uint32_t level = hnsw_random_level(g, slot);
    uint32_t *upper = NULL;
    raise_bound(g, slot);
    hnsw_scratch *sc = hnsw_scratch_get(g, g->params.ef_construction);
    bool ok = sc && hnsw_scratch_reserve_plan(sc, (level + 1) * g->m);
    if (ok && level > 0) ok = (upper = hnsw_upper_alloc(g, level)) != NULL;
    if (!ok) {
        atomic_fetch_and_explicit(&node->flags, (uint8_t)~NODE_CLAIMED, memory_order_release);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory inserting graph node %u", slot);
    }
    hnsw_node_lock(node);
    node->level = (uint8_t)level;
    node->upper = upper;
    node->n0 = 0;
    hnsw_node_unlock(node);
    atomic_fetch_or_explicit(&node->flags, NODE_READY, memory_order_release);
    const float *q = hnsw_prepare_query(g, sc, v);

    pthread_mutex_lock(&g->entry_wait_lock);
    pthread_mutex_unlock(&g->entry_wait_lock);
    pthread_rwlock_rdlock(&g->entry_lock);
    uint64_t e = atomic_load_explicit(&g->entry, memory_order_acquire);
    bool exclusive = false;
    if (e == HNSW_NO_ENTRY || level > (uint32_t)(e >> 32)) {
        pthread_rwlock_unlock(&g->entry_lock);
        pthread_mutex_lock(&g->entry_wait_lock);
        pthread_rwlock_wrlock(&g->entry_lock);
        pthread_mutex_unlock(&g->entry_wait_lock);
        exclusive = true;
        e = atomic_load_explicit(&g->entry, memory_order_acquire);
    }
    if (e != HNSW_NO_ENTRY) connect(g, sc, slot, node, q, level, e);
    atomic_fetch_add_explicit(&g->n_nodes, 1, memory_order_release);
    if (exclusive && (e == HNSW_NO_ENTRY || level > (uint32_t)(e >> 32)))
        atomic_store_explicit(&g->entry, hnsw_entry_pack(slot, level), memory_order_release);
    pthread_rwlock_unlock(&g->entry_lock);
    return VS_OK;
}
