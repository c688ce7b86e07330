/*
 * graph.c - the HNSW graph object: creation and parameters, node storage, level draws, deletion
 * marks, counters and the public distance.
 *
 * How: nodes live in chunks addressed like the vector arena (vs_chunk_locate), one fixed-size
 * record per slot (layout in hnsw_int.h) so a node never moves; a chunk is allocated, zero-filled,
 * on the first insert of a slot in it. Levels follow the paper: l = floor(-ln(U) * mL) with
 * mL = 1/ln(M), where U is a hash of (seed, slot), so a rebuild gives the same levels whatever the
 * thread interleaving.
 *
 * Invariants:
 *   1. A published chunk never moves or shrinks; a node record belongs to one slot forever.
 *   2. flags only gain bits: CLAIMED, then READY (level/upper written before, with release).
 *   3. n_nodes counts READY nodes, n_deleted nodes with DELETED.
 *
 * Concurrency: chunk creation is serialised by grow_lock (double-checked through the lock-free
 * directory); flags are atomics; everything else a node holds is guarded by its own lock (see
 * hnsw_int.h). Locking order across the graph: entry_wait_lock -> entry_lock -> grow_lock, and a
 * node lock is always the innermost lock, never two node locks at once.
 * Callers: collection.c, tests, bench.
 */
#include "hnsw_int.h"

#include <math.h>

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint32_t hnsw_random_level(const hnsw_graph_t *g, uint32_t slot)
{
    uint64_t r = splitmix64(g->params.seed ^ splitmix64(slot));
    double u = ((double)(r >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
    double l = floor(-log(u) * g->ml);
    return l > HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (uint32_t)l;
}

static bool params_resolve(const hnsw_params *in, hnsw_params *out)
{
    hnsw_params p = in ? *in : (hnsw_params){0, 0, 0, 0};
    if (!p.m) p.m = HNSW_DEFAULT_M;
    if (!p.ef_construction) p.ef_construction = HNSW_DEFAULT_EF_CONSTRUCTION;
    if (!p.ef_search) p.ef_search = HNSW_DEFAULT_EF_SEARCH;
    if (p.m < HNSW_MIN_M || p.m > HNSW_MAX_M) return false;
    if (p.ef_construction < HNSW_MIN_EF_CONSTRUCTION ||
        p.ef_construction > HNSW_MAX_EF_CONSTRUCTION)
        return false;
    if (p.ef_search < HNSW_MIN_EF_SEARCH || p.ef_search > HNSW_MAX_EF_SEARCH) return false;
    *out = p;
    return true;
}

hnsw_graph_t *hnsw_create(const hnsw_params *p, const vs_vectors_t *vecs, vs_metric metric)
{
    hnsw_params rp;
    if (!vecs || vecs_dim(vecs) == 0 || !params_resolve(p, &rp)) return NULL;
    if (metric != VS_METRIC_COSINE && metric != VS_METRIC_L2 && metric != VS_METRIC_DOT)
        return NULL;
    hnsw_graph_t *g = vs_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->params = rp;
    g->m = rp.m;
    g->m0 = 2 * rp.m;
    g->ml = 1.0 / log((double)rp.m);
    g->metric = metric;
    g->dim = vecs_dim(vecs);
    g->vecs = vecs;
    g->dot = vs_dot_kernel();
    g->l2sq = vs_l2sq_kernel();
    g->node_size = sizeof(hnsw_node) + (size_t)g->m0 * sizeof(uint32_t);
    atomic_init(&g->entry, HNSW_NO_ENTRY);
    atomic_init(&g->dir.cur, NULL);
    atomic_init(&g->dir.bytes, 0);
    atomic_init(&g->n_nodes, 0);
    atomic_init(&g->n_deleted, 0);
    atomic_init(&g->bound, 0);
    atomic_init(&g->bytes, 0);
    if (pthread_rwlock_init(&g->entry_lock, NULL) != 0) goto fail0;
    if (pthread_mutex_init(&g->entry_wait_lock, NULL) != 0) goto fail1;
    if (pthread_mutex_init(&g->grow_lock, NULL) != 0) goto fail2;
    return g;
fail2:
    pthread_mutex_destroy(&g->entry_wait_lock);
fail1:
    pthread_rwlock_destroy(&g->entry_lock);
fail0:
    vs_free(g);
    return NULL;
}

/* Upper link blocks were freed by hnsw_destroy, which knows each chunk's index and size. */
static void free_chunk(void *chunk, void *ctx)
{
    (void)ctx;
    vs_aligned_free64(chunk);
}

void hnsw_destroy(hnsw_graph_t *g)
{
    if (!g) return;
    vs_chunk_dir_block *b = atomic_load_explicit(&g->dir.cur, memory_order_relaxed);
    for (uint32_t c = 0; b && c < b->cap; c++) {
        char *chunk = atomic_load_explicit(&b->chunk[c], memory_order_relaxed);
        if (!chunk) continue;
        uint32_t n = vs_chunk_slots(c);
        for (uint32_t i = 0; i < n; i++) {
            hnsw_node *nd = (hnsw_node *)(chunk + (size_t)i * g->node_size);
            vs_free(nd->upper);
        }
    }
    vs_chunk_dir_free(&g->dir, free_chunk, NULL);
    pthread_mutex_destroy(&g->grow_lock);
    pthread_mutex_destroy(&g->entry_wait_lock);
    pthread_rwlock_destroy(&g->entry_lock);
    vs_free(g);
}

hnsw_params hnsw_get_params(const hnsw_graph_t *g)
{
    return g->params;
}

hnsw_node *hnsw_node_ensure(hnsw_graph_t *g, uint32_t slot)
{
    hnsw_node *n = hnsw_node_at(g, slot);
    if (n) return n;
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    pthread_mutex_lock(&g->grow_lock);
    char *chunk = vs_chunk_dir_get(&g->dir, c);
    if (!chunk) {
        size_t sz = (size_t)vs_chunk_slots(c) * g->node_size;
        chunk = vs_aligned_alloc64(sz);
        if (chunk) {
            memset(chunk, 0, sz);
            if (vs_chunk_dir_put(&g->dir, c, chunk, NULL) != VS_OK) {
                vs_aligned_free64(chunk);
                chunk = NULL;
            } else {
                atomic_fetch_add_explicit(&g->bytes, sz, memory_order_relaxed);
            }
        }
    }
    pthread_mutex_unlock(&g->grow_lock);
    return chunk ? (hnsw_node *)(chunk + (size_t)off * g->node_size) : NULL;
}

uint32_t *hnsw_upper_alloc(hnsw_graph_t *g, uint32_t level)
{
    size_t sz = (size_t)level * (1 + g->m) * sizeof(uint32_t);
    uint32_t *u = vs_calloc(1, sz);
    if (u) atomic_fetch_add_explicit(&g->bytes, sz, memory_order_relaxed);
    return u;
}

void hnsw_mark_deleted(hnsw_graph_t *g, uint32_t slot)
{
    if (!g) return;
    hnsw_node *n = hnsw_node_at(g, slot);
    if (!n) return;
    uint8_t old = atomic_fetch_or_explicit(&n->flags, NODE_DELETED, memory_order_acq_rel);
    if (!(old & NODE_DELETED)) atomic_fetch_add_explicit(&g->n_deleted, 1, memory_order_relaxed);
}

bool hnsw_is_deleted(const hnsw_graph_t *g, uint32_t slot)
{
    if (!g) return false;
    const hnsw_node *n = hnsw_node_at(g, slot);
    return n && (hnsw_node_flags(n) & NODE_DELETED);
}

uint32_t hnsw_count(const hnsw_graph_t *g)
{
    return g ? atomic_load_explicit(&g->n_nodes, memory_order_acquire) : 0;
}

size_t hnsw_memory_bytes(const hnsw_graph_t *g)
{
    if (!g) return 0;
    return sizeof *g + atomic_load_explicit(&g->dir.bytes, memory_order_relaxed) +
           atomic_load_explicit(&g->bytes, memory_order_relaxed);
}

float hnsw_distance(const hnsw_graph_t *g, const float *query, uint32_t slot)
{
    const float *v = vecs_get(g->vecs, slot);
    if (!v || !query) return INFINITY;
    switch (g->metric) {
    case VS_METRIC_L2:
        return g->l2sq(query, v, g->dim);
    case VS_METRIC_DOT:
        return -g->dot(query, v, g->dim);
    default: {
        float qn = sqrtf(g->dot(query, query, g->dim));
        float qi = qn > 0.0f && isfinite(qn) ? 1.0f / qn : 0.0f;
        return 1.0f - g->dot(query, v, g->dim) * qi * vecs_inv_norm(g->vecs, slot);
    }
    }
}
