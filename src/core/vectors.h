/*
 * vectors.h - the vector arena: slot -> float32 vector as written, plus its inverse norm.
 *
 * Storage is chunked so growth never moves a vector: readers hold no lock while the (single)
 * writer appends. The chunk geometry (vs_chunk_locate) is shared with the graph's node arrays:
 * chunks 0..8 hold 16, 16, 32, ..., 2048 slots (so a small arena stays small), every later chunk
 * holds VS_CHUNK_SLOTS (4096). The chunk directory grows by copy + atomic pointer publish; old
 * directories are retired until destroy.
 *
 * Ownership: the arena copies vectors in; pointers from vecs_get stay valid until vecs_destroy
 * (a later vecs_set of the same slot overwrites the floats in place).
 * Concurrency: one writer at a time (the caller serialises writers); any number of lock-free
 * readers. A reader that can see a slot id published after vecs_set returned (through any
 * release/acquire pair, e.g. a graph node lock) sees the whole vector.
 */
#ifndef VS_CORE_VECTORS_H
#define VS_CORE_VECTORS_H

#include "vecstore/err.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vs_vectors vs_vectors_t;

vs_vectors_t *vecs_create(uint32_t dim); /* NULL for dim 0 or out of memory */
void vecs_destroy(vs_vectors_t *v);
/* Copies vec (dim floats) into slot; grows as needed. One writer at a time. */
vs_err vecs_set(vs_vectors_t *v, uint32_t slot, const float *vec, vs_status *st);
const float *vecs_get(const vs_vectors_t *v, uint32_t slot); /* NULL if never set */
float vecs_inv_norm(const vs_vectors_t *v, uint32_t slot);   /* 1/|v| (0 for a zero vector) */
uint32_t vecs_dim(const vs_vectors_t *v);
size_t vecs_memory_bytes(const vs_vectors_t *v);
/* One more than the highest slot ever set (0 when empty). */
uint32_t vecs_slot_bound(const vs_vectors_t *v);

/* Chunk geometry shared by the arena and the graph's node arrays. */
#define VS_CHUNK_FIRST_LOG2 4  /* chunk 0 and 1 hold 16 slots */
#define VS_CHUNK_SLOTS_LOG2 12 /* chunks from 9 on hold 4096 slots */
#define VS_CHUNK_SLOTS      (1u << VS_CHUNK_SLOTS_LOG2)
#define VS_CHUNK_GEOM       (VS_CHUNK_SLOTS_LOG2 - VS_CHUNK_FIRST_LOG2 + 1) /* 9 geometric chunks */

/* Chunk index and offset in the chunk of `slot`. */
static inline void vs_chunk_locate(uint32_t slot, uint32_t *chunk, uint32_t *off)
{
    if (slot >= VS_CHUNK_SLOTS) {
        *chunk = VS_CHUNK_GEOM - 1 + (slot >> VS_CHUNK_SLOTS_LOG2);
        *off = slot & (VS_CHUNK_SLOTS - 1);
    } else if (slot < (1u << VS_CHUNK_FIRST_LOG2)) {
        *chunk = 0;
        *off = slot;
    } else {
        uint32_t h = 31u - (uint32_t)__builtin_clz(slot);
        *chunk = h - VS_CHUNK_FIRST_LOG2 + 1;
        *off = slot - (1u << h);
    }
}

/* Number of slots chunk `c` holds. */
static inline uint32_t vs_chunk_slots(uint32_t c)
{
    if (c == 0) return 1u << VS_CHUNK_FIRST_LOG2;
    if (c < VS_CHUNK_GEOM) return 1u << (c + VS_CHUNK_FIRST_LOG2 - 1);
    return VS_CHUNK_SLOTS;
}

/*
 * The chunk directory: chunk index -> chunk pointer, grown by copy + atomic publish (old blocks
 * are kept on a retired list until vs_chunk_dir_free, so a reader holding an old block is safe).
 * vs_chunk_dir_get is lock-free; vs_chunk_dir_put must be serialised by the caller.
 */
typedef struct vs_chunk_dir_block vs_chunk_dir_block;
typedef struct vs_chunk_dir {
    _Atomic(vs_chunk_dir_block *) cur;
    vs_chunk_dir_block *retired; /* writer only */
    _Atomic size_t bytes;        /* directory blocks, current and retired */
} vs_chunk_dir;
struct vs_chunk_dir_block {
    uint32_t cap;
    vs_chunk_dir_block *next_retired;
    _Atomic(void *) chunk[];
};

static inline void *vs_chunk_dir_get(const vs_chunk_dir *d, uint32_t c)
{
    vs_chunk_dir_block *b = atomic_load_explicit(&d->cur, memory_order_acquire);
    if (!b || c >= b->cap) return NULL;
    return atomic_load_explicit(&b->chunk[c], memory_order_acquire);
}
/* Publishes `chunk` as chunk c (growing the directory); VS_ERR_NOMEM leaves it unchanged. */
vs_err vs_chunk_dir_put(vs_chunk_dir *d, uint32_t c, void *chunk, vs_status *st);
/* Calls free_chunk on every chunk, then frees the directory blocks. */
void vs_chunk_dir_free(vs_chunk_dir *d, void (*free_chunk)(void *chunk, void *ctx), void *ctx);

/* The arena's layout is visible only for the inline accessors below (fields are private). */
struct vs_vectors {
    uint32_t _dim;
    _Atomic uint32_t _bound;
    _Atomic size_t _bytes; /* chunks only */
    vs_chunk_dir _dir;
};

/* Fast paths for the graph: `slot` must be known to be set (e.g. it came from a graph link). */
static inline const float *vecs_at(const vs_vectors_t *v, uint32_t slot)
{
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    const float *chunk = (const float *)vs_chunk_dir_get(&v->_dir, c);
    return chunk + (size_t)off * v->_dim;
}
static inline float vecs_inv_norm_at(const vs_vectors_t *v, uint32_t slot)
{
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    const float *chunk = (const float *)vs_chunk_dir_get(&v->_dir, c);
    const _Atomic uint32_t *w =
        (const _Atomic uint32_t *)(chunk + (size_t)vs_chunk_slots(c) * v->_dim);
    uint32_t bits = atomic_load_explicit(&w[off], memory_order_relaxed);
    float f;
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
}

/* 64-byte aligned allocation through the vs_malloc seam (the raw pointer is kept just before). */
void *vs_aligned_alloc64(size_t n);
void vs_aligned_free64(void *p);

#endif
