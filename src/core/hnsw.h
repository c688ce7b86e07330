/*
 * hnsw.h - the HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
 * search using Hierarchical Navigable Small World graphs", 2016/2018) over a vs_vectors_t arena.
 *
 * The graph stores only links: node `slot` is the vector vecs_get(vecs, slot), which the caller
 * writes before hnsw_insert. Slots may be sparse; a replaced record gets a new slot and the old
 * one is marked deleted (it keeps routing, it is never returned).
 *
 * Ownership: the graph borrows the arena (it must outlive the graph) and owns its links.
 * Concurrency: hnsw_insert is safe against concurrent inserts and searches; hnsw_mark_deleted is
 * safe against everything; hnsw_write must not run concurrently with hnsw_insert (searches are
 * fine). Accept callbacks run on the searching thread and must not call back into any graph.
 */
#ifndef VS_CORE_HNSW_H
#define VS_CORE_HNSW_H

#include "vecstore/err.h"

#include "core/distance.h"
#include "core/vectors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hnsw_graph hnsw_graph_t;

typedef struct hnsw_params {
    uint32_t m;               /* links per node on levels >= 1; level 0 keeps 2m */
    uint32_t ef_construction; /* candidate list size while inserting */
    uint32_t ef_search;       /* default candidate list size of a search */
    uint64_t seed;            /* level draws: level(slot) depends only on (seed, slot) */
} hnsw_params;

#define HNSW_MIN_M                   2
#define HNSW_DEFAULT_M               16
#define HNSW_MAX_M                   100
#define HNSW_MIN_EF_CONSTRUCTION     4
#define HNSW_DEFAULT_EF_CONSTRUCTION 200
#define HNSW_MAX_EF_CONSTRUCTION     1000
#define HNSW_MIN_EF_SEARCH           1
/* Measured (bench/results/engine_*.txt, M=16, ef_construction=200): the smallest ef_search of
 * the sweep reaching recall@10 >= 0.95 on both shared datasets: fashion-mnist-784 (60k) 0.9975,
 * sift-photos-128 (first 500k) 0.9661; at 48 sift gives 0.9495. */
#define HNSW_DEFAULT_EF_SEARCH 64
#define HNSW_MAX_EF_SEARCH     1000
#define HNSW_MAX_LEVEL         31

typedef bool (*hnsw_accept_fn)(void *ctx, uint32_t slot); /* NULL = accept every node */
typedef struct hnsw_hit {
    uint32_t slot;
    float dist; /* lower is better */
} hnsw_hit;
typedef struct hnsw_search_stats {
    uint32_t visited; /* distances computed, all passes */
    uint32_t ef_used; /* ef of the last pass */
} hnsw_search_stats;

/* NULL p = defaults; a zero field = its default. NULL on NULL vecs, a parameter out of range or
 * out of memory. */
hnsw_graph_t *hnsw_create(const hnsw_params *p, const vs_vectors_t *vecs, vs_metric metric);
void hnsw_destroy(hnsw_graph_t *g);
hnsw_params hnsw_get_params(const hnsw_graph_t *g);

/* Inserts the node `slot` whose vector is already in vecs (Algorithm 1). Thread-safe against
 * concurrent inserts and searches. INVALID_ARGUMENT if the slot has no vector or is already in
 * the graph; NOMEM. */
vs_err hnsw_insert(hnsw_graph_t *g, uint32_t slot, vs_status *st);
/* Never returned again, still routes. No-op for a slot not in the graph. */
void hnsw_mark_deleted(hnsw_graph_t *g, uint32_t slot);
bool hnsw_is_deleted(const hnsw_graph_t *g, uint32_t slot);

/* k best accepted, non-deleted nodes, ascending dist; returns how many (<= k). ef = max(ef, k)
 * (0 = params ef_search). With an accept fn (or deleted nodes), rejected nodes still route; the
 * search widens ef (doubling) until k accepted results are found or every reachable node has
 * been visited. stats may be NULL. */
uint32_t hnsw_search(const hnsw_graph_t *g, const float *query, uint32_t k, uint32_t ef,
                     hnsw_accept_fn accept, void *ctx, hnsw_hit *out, hnsw_search_stats *stats);
/* Distance as the graph sees it, lower = better: L2 -> squared L2; DOT -> -dot; COSINE ->
 * 1 - dot(q, v) / (|q||v|). */
float hnsw_distance(const hnsw_graph_t *g, const float *query, uint32_t slot);
uint32_t hnsw_count(const hnsw_graph_t *g); /* nodes inserted (deleted included) */
size_t hnsw_memory_bytes(const hnsw_graph_t *g);

/* Serialisation (format table in hnsw/io.c). write calls `w` repeatedly; read rebuilds the exact
 * graph without computing distances, validating every field and neighbour id: a corrupt stream
 * gives NULL + VS_ERR_CORRUPT (a failing read fn's own code is passed through). */
typedef vs_err (*hnsw_write_fn)(void *ctx, const void *p, size_t n, vs_status *st);
typedef vs_err (*hnsw_read_fn)(void *ctx, void *p, size_t n, vs_status *st);
vs_err hnsw_write(const hnsw_graph_t *g, hnsw_write_fn w, void *ctx, vs_status *st);
hnsw_graph_t *hnsw_read(const vs_vectors_t *vecs, vs_metric metric, hnsw_read_fn r, void *ctx,
                        vs_status *st);

/* Structural checker for tests: neighbour ids in range and present, no self loops or duplicate
 * links, list sizes and level bounds, entry point on the top level. false + reason on failure. */
bool hnsw_check(const hnsw_graph_t *g, char *why, size_t why_len);

#endif
