/*
 * store.h - the record table of one collection: slot -> (id, metadata, state), id -> current slot,
 * and the vectors (in a vs_vectors_t arena, same slot numbers). Exact (brute-force) search over it.
 *
 * Slots are never reused until compaction: an upsert of an existing id takes a NEW slot (PENDING
 * until its graph node is linked), and the old slot turns DEAD when the new one is published, so
 * a query sees the old record or the new one, never a mix (SPEC 2).
 *
 * States: FREE -> PENDING -> LIVE <-> SOFT -> DEAD.  DEAD slots keep their vector (the graph still
 * routes through it) but their id and metadata are freed at once.
 *
 * Concurrency: the owner (collection) guards everything with its rwlock: mutations exclusive,
 * reads shared. `state` bytes are also read without the lock by graph accept callbacks, hence
 * atomics (a stale read there is re-checked under the lock before results are copied out).
 * Ownership: the store owns ids, metadata blobs and the arena.
 */
#ifndef VS_CORE_STORE_H
#define VS_CORE_STORE_H

#include "vecstore/err.h"

#include "core/distance.h"
#include "core/value.h"
#include "core/vectors.h"
#include "util/hashmap.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_MAX_ID_BYTES 512

enum { REC_FREE = 0, REC_PENDING = 1, REC_LIVE = 2, REC_SOFT = 3, REC_DEAD = 4 };

typedef struct store_rec {
    char *id;      /* owned; NULL once DEAD */
    uint8_t *meta; /* owned encoded object; NULL = {} */
    uint32_t id_len;
    uint32_t meta_len;
} store_rec;

typedef struct store_hit {
    uint32_t slot;
    float dist;
} store_hit;

typedef struct vs_store {
    uint32_t dim; /* 0 until fixed by the first vector */
    vs_metric metric;
    vs_vectors_t *vecs; /* NULL until dim is fixed */
    store_rec *recs;
    _Atomic uint8_t *state;
    uint32_t *replaces; /* per slot: the older version of its id it replaces (UINT32_MAX none) */
    uint32_t n_slots; /* slots handed out */
    uint32_t cap;
    vs_hmap ids; /* id -> current slot (PENDING, LIVE or SOFT) */
    uint64_t n_live, n_soft, n_pending, n_dead;
    uint64_t dead_bytes; /* bytes compact would free for DEAD slots (vector + index entry) */
    uint64_t data_bytes; /* ids + metadata of PENDING/LIVE/SOFT slots */
} vs_store;

void store_init(vs_store *s, uint32_t dim, vs_metric metric);
void store_free(vs_store *s);
/* Fixes the dimension (creates the arena). */
vs_err store_set_dim(vs_store *s, uint32_t dim, vs_status *st);
/* Takes the next slot as PENDING with copies of id, vector and metadata (vec NULL: the arena
 * already holds this slot's vector, as when loading a snapshot); does not touch the id map. */
vs_err store_add(vs_store *s, const char *id, size_t id_len, const float *vec, const uint8_t *meta,
                 size_t meta_len, uint32_t *slot_out, vs_status *st);
bool store_lookup(const vs_store *s, const char *id, size_t id_len, uint32_t *slot_out);
/* Points the id of `slot` at it in the id map. */
vs_err store_map(vs_store *s, uint32_t slot, vs_status *st);
/* Moves slot to a new state keeping the counters; DEAD frees id and metadata and unmaps the id
 * if it still maps to this slot. */
void store_set_state(vs_store *s, uint32_t slot, uint8_t state);
static inline uint8_t store_state(const vs_store *s, uint32_t slot)
{
    return slot < s->n_slots ? atomic_load_explicit(&s->state[slot], memory_order_acquire)
                             : REC_FREE;
}
static inline vs_value store_meta(const vs_store *s, uint32_t slot)
{
    const store_rec *r = &s->recs[slot];
    return r->meta ? vs_value_of(r->meta, r->meta_len) : vs_value_empty_object();
}
/* Bytes one record costs in the logical-size accounting (vector + id + metadata + index entry). */
uint64_t store_record_bytes(const vs_store *s, uint32_t id_len, uint32_t meta_len);
size_t store_memory_bytes(const vs_store *s);

/* Distance as the graph defines it (lower is better) between a prepared query and a slot;
 * qnorm_inv is 1/|q| for cosine (ignored otherwise). */
float store_distance(const vs_store *s, const float *q, float q_inv_norm, uint32_t slot);
/* Converts a graph distance to the user-facing score (SPEC 2). */
float store_score(vs_metric metric, float dist);

typedef bool (*store_accept_fn)(void *ctx, uint32_t slot);
/* Orders hits by distance, ties by id. */
int store_hit_cmp(const vs_store *s, store_hit a, store_hit b);
/* Exact top-k over `slots` (or every slot when slots == NULL) that are LIVE and accepted.
 * Returns the count, ascending distance, ties by slot. */
uint32_t store_exact_search(const vs_store *s, const float *q, uint32_t k, const uint32_t *slots,
                            size_t n_slots, store_accept_fn accept, void *ctx, store_hit *out,
                            uint64_t *visited);

#endif
