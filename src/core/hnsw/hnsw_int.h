/*
 * hnsw_int.h - private to src/core/hnsw/: the graph struct, the node record, node locks, the
 * per-thread search scratch, heaps and the distance functions every phase shares.
 *
 * Node record (one per slot, node_size bytes, in chunks laid out by vs_chunk_locate so that growth
 * never moves a node):
 *
 *   offset  size      field     guarded by / meaning
 *   0       1         lock      the node's spinlock (guards n0, links0, *upper)
 *   1       1         flags     atomic: CLAIMED (an insert owns the slot), READY (level/upper set),
 *                               DELETED (never returned)
 *   2       1         level     written once before READY, read-only after
 *   3       1         -         padding
 *   4       4         n0        level-0 link count                       (lock)
 *   8       8         upper     levels 1..level: (1 + m) uint32 each: count, ids  (lock)
 *   16      4 * 2m    links0    level-0 neighbour ids                    (lock)
 *
 * Level-0 links sit contiguously inside the chunk (the hot data of every search); upper levels,
 * present on ~1/m of the nodes, are one small allocation per node.
 */
#ifndef VS_CORE_HNSW_INT_H
#define VS_CORE_HNSW_INT_H

#include "core/hnsw.h"
#include "util/alloc.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define hnsw_cpu_relax() _mm_pause()
#else
#define hnsw_cpu_relax() ((void)0)
#endif

enum { NODE_CLAIMED = 1, NODE_READY = 2, NODE_DELETED = 4 };

#define HNSW_NO_ENTRY UINT64_MAX

typedef struct hnsw_node {
    _Atomic uint8_t lock;
    _Atomic uint8_t flags;
    uint8_t level;
    uint8_t _pad;
    uint32_t n0;
    uint32_t *upper;
    uint32_t links0[];
} hnsw_node;

struct hnsw_graph {
    /* Immutable after create/read. */
    hnsw_params params;
    uint32_t m, m0; /* max links on levels >= 1, on level 0 */
    double ml;      /* level multiplier 1/ln(m) */
    vs_metric metric;
    uint32_t dim;
    const vs_vectors_t *vecs;
    vs_dist_fn dot, l2sq;
    size_t node_size;

    /* Entry point, packed (level << 32 | slot), HNSW_NO_ENTRY when empty. Readers load it with
     * acquire and take no lock. Writers change it only while holding entry_lock exclusively
     * (the two-lock pattern, see insert.c). */
    _Atomic uint64_t entry;
    pthread_rwlock_t entry_lock;     /* shared: any insert; exclusive: an insert raising the top */
    pthread_mutex_t entry_wait_lock; /* held by a waiting exclusive taker so new inserts queue */

    /* Node chunks: grown under grow_lock, read lock-free through the directory. */
    pthread_mutex_t grow_lock;
    vs_chunk_dir dir;

    _Atomic uint32_t n_nodes;   /* READY nodes */
    _Atomic uint32_t n_deleted; /* nodes with DELETED set */
    _Atomic uint32_t bound;     /* 1 + highest claimed slot */
    _Atomic size_t bytes;       /* node chunks + upper link blocks */
};

/* --- nodes ------------------------------------------------------------------------------ */

static inline hnsw_node *hnsw_node_at(const hnsw_graph_t *g, uint32_t slot)
{
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    char *chunk = vs_chunk_dir_get(&g->dir, c);
    return chunk ? (hnsw_node *)(chunk + (size_t)off * g->node_size) : NULL;
}

static inline uint8_t hnsw_node_flags(const hnsw_node *n)
{
    return atomic_load_explicit(&((hnsw_node *)n)->flags, memory_order_acquire);
}

static inline void hnsw_node_lock(hnsw_node *n)
{
    for (;;) {
        if (!atomic_exchange_explicit(&n->lock, 1, memory_order_acquire)) return;
        unsigned spins = 0;
        while (atomic_load_explicit(&n->lock, memory_order_relaxed)) {
            if (++spins < 128)
                hnsw_cpu_relax();
            else
                sched_yield();
        }
    }
}

static inline void hnsw_node_unlock(hnsw_node *n)
{
    atomic_store_explicit(&n->lock, 0, memory_order_release);
}

/* The link list of `n` at `level`: count pointer and ids (caller holds the node lock). */
static inline uint32_t *hnsw_links(const hnsw_graph_t *g, hnsw_node *n, uint32_t level,
                                   uint32_t **count)
{
    if (level == 0) {
        *count = &n->n0;
        return n->links0;
    }
    uint32_t *b = n->upper + (size_t)(level - 1) * (1 + g->m);
    *count = b;
    return b + 1;
}

static inline uint32_t hnsw_max_links(const hnsw_graph_t *g, uint32_t level)
{
    return level == 0 ? g->m0 : g->m;
}

/* Copies the links of `n` at `level` into out (room for m0 ids) under the node lock. */
static inline uint32_t hnsw_copy_links(const hnsw_graph_t *g, hnsw_node *n, uint32_t level,
                                       uint32_t *out)
{
    uint32_t *cnt;
    hnsw_node_lock(n);
    uint32_t *ids = hnsw_links(g, n, level, &cnt);
    uint32_t c = *cnt;
    memcpy(out, ids, c * sizeof(uint32_t));
    hnsw_node_unlock(n);
    return c;
}

/* --- distances (lower is better) -------------------------------------------------------- */

/* q is prepared: for COSINE it is unit length (hnsw_prepare_query). */
static inline float hnsw_qdist(const hnsw_graph_t *g, const float *q, uint32_t slot)
{
    const float *v = vecs_at(g->vecs, slot);
    switch (g->metric) {
    case VS_METRIC_L2:
        return g->l2sq(q, v, g->dim);
    case VS_METRIC_DOT:
        return -g->dot(q, v, g->dim);
    default:
        return 1.0f - g->dot(q, v, g->dim) * vecs_inv_norm_at(g->vecs, slot);
    }
}

/* Distance between two stored nodes. */
static inline float hnsw_node_dist(const hnsw_graph_t *g, uint32_t a, uint32_t b)
{
    const float *va = vecs_at(g->vecs, a), *vb = vecs_at(g->vecs, b);
    switch (g->metric) {
    case VS_METRIC_L2:
        return g->l2sq(va, vb, g->dim);
    case VS_METRIC_DOT:
        return -g->dot(va, vb, g->dim);
    default:
        return 1.0f -
               g->dot(va, vb, g->dim) * vecs_inv_norm_at(g->vecs, a) * vecs_inv_norm_at(g->vecs, b);
    }
}

static inline void hnsw_prefetch_vec(const hnsw_graph_t *g, uint32_t slot)
{
    const char *p = (const char *)vecs_at(g->vecs, slot);
    __builtin_prefetch(p, 0, 3);
    if (g->dim > 16) __builtin_prefetch(p + 64, 0, 3);
}

/* --- per-thread scratch (search.c) ------------------------------------------------------ */

/* Max-heap of hits by dist. A min-heap is the same heap over negated distances. */
typedef struct hnsw_heap {
    hnsw_hit *a;
    uint32_t n, cap;
} hnsw_heap;

typedef struct hnsw_scratch {
    uint16_t *tags; /* visited set: tags[slot] == epoch <=> visited in the current pass */
    uint32_t tags_cap;
    uint16_t epoch;
    hnsw_heap cand, top, acc;
    uint32_t *nbr;  /* neighbour copy, m0 + 1 ids */
    uint32_t *todo; /* unvisited neighbours of the node being expanded */
    uint32_t nbr_cap;
    float *qbuf; /* prepared query */
    uint32_t qbuf_cap;
    hnsw_hit *work, *sel, *tmp; /* insert: sorted W, selected neighbours, shrink candidates */
    uint32_t work_cap;
    hnsw_hit *plan; /* insert: the chosen neighbours of every level, m per level */
    uint32_t plan_cap;
} hnsw_scratch;

/* This thread's scratch sized for g (visited set >= bound, heaps >= ef, links >= m0); NULL on
 * out of memory. Freed when the thread exits. */
hnsw_scratch *hnsw_scratch_get(const hnsw_graph_t *g, uint32_t ef);
/* Room for n planned neighbours (insert.c); false on out of memory. */
bool hnsw_scratch_reserve_plan(hnsw_scratch *sc, uint32_t n);
/* Normalises (COSINE) or copies q into sc->qbuf. */
const float *hnsw_prepare_query(const hnsw_graph_t *g, hnsw_scratch *sc, const float *q);

bool hnsw_heap_reserve(hnsw_heap *h, uint32_t n);
static inline void hnsw_heap_push(hnsw_heap *h, uint32_t slot, float dist)
{
    uint32_t i = h->n++;
    hnsw_hit *a = h->a;
    while (i > 0) {
        uint32_t p = (i - 1) >> 1;
        if (a[p].dist >= dist) break;
        a[i] = a[p];
        i = p;
    }
    a[i].slot = slot;
    a[i].dist = dist;
}
static inline void hnsw_heap_sift_down(hnsw_heap *h, uint32_t i, hnsw_hit x)
{
    hnsw_hit *a = h->a;
    uint32_t n = h->n;
    for (;;) {
        uint32_t l = 2 * i + 1;
        if (l >= n) break;
        uint32_t r = l + 1, c = (r < n && a[r].dist > a[l].dist) ? r : l;
        if (a[c].dist <= x.dist) break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
}
static inline hnsw_hit hnsw_heap_pop(hnsw_heap *h)
{
    hnsw_hit top = h->a[0];
    h->n--;
    if (h->n) hnsw_heap_sift_down(h, 0, h->a[h->n]);
    return top;
}
static inline void hnsw_heap_replace_top(hnsw_heap *h, uint32_t slot, float dist)
{
    hnsw_hit x = {slot, dist};
    hnsw_heap_sift_down(h, 0, x);
}
/* Empties a max-heap into out[0..n) ascending by dist; returns n. */
static inline uint32_t hnsw_heap_drain_sorted(hnsw_heap *h, hnsw_hit *out)
{
    uint32_t n = h->n;
    for (uint32_t i = n; i > 0; i--) out[i - 1] = hnsw_heap_pop(h);
    return n;
}

/* --- search (search.c) ------------------------------------------------------------------ */

/* Optional result filter of a level-0 pass: nodes passing it are collected in sc->acc (at most k,
 * max-heap). */
typedef struct hnsw_filter {
    hnsw_accept_fn accept;
    void *ctx;
    uint32_t k;
} hnsw_filter;

/* Algorithm 2 (SEARCH-LAYER): from the entry points eps (distances known), the ef nearest
 * nodes to q on `level` are left in sc->top (a max-heap). Adds distance computations to
 * *visited. */
void hnsw_search_layer(const hnsw_graph_t *g, hnsw_scratch *sc, const float *q, const hnsw_hit *eps,
                       uint32_t n_eps, uint32_t ef, uint32_t level, const hnsw_filter *f,
                       uint32_t *visited);
/* Greedy descent (SEARCH-LAYER with ef = 1) from `ep` on levels top..stop+1; returns the
 * closest node found on level stop+1 (or ep itself). */
hnsw_hit hnsw_greedy_descend(const hnsw_graph_t *g, hnsw_scratch *sc, const float *q, hnsw_hit ep,
                             uint32_t top, uint32_t stop, uint32_t *visited);

/* --- graph.c ---------------------------------------------------------------------------- */

/* The node record of slot, allocating its chunk if needed (zero-filled). NULL on NOMEM. */
hnsw_node *hnsw_node_ensure(hnsw_graph_t *g, uint32_t slot);
/* Allocates a node's upper link block for `level` (>= 1); NULL on NOMEM. */
uint32_t *hnsw_upper_alloc(hnsw_graph_t *g, uint32_t level);
/* Level of a new node: floor(-ln(U) * mL), U drawn from (seed, slot), capped. */
uint32_t hnsw_random_level(const hnsw_graph_t *g, uint32_t slot);
static inline uint64_t hnsw_entry_pack(uint32_t slot, uint32_t level)
{
    return ((uint64_t)level << 32) | slot;
}

#endif
