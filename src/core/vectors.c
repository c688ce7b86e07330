/*
 * vectors.c - the vector arena (see vectors.h for the contract).
 *
 * How: slot -> (chunk, offset) by vs_chunk_locate; a chunk of n slots is one 64-byte aligned
 * block: n * dim floats (the vectors, each at slot * dim), then n uint32 words holding the bit
 * pattern of 1/|v| or VECS_UNSET. vecs_set writes the floats, then publishes the inverse norm
 * with a release store; vecs_get/vecs_inv_norm load it with acquire, so a reader never sees a
 * slot as set before its floats are visible.
 *
 * Invariants:
 *   1. A chunk, once published in the directory, never moves or changes size until destroy.
 *   2. inv word == VECS_UNSET  <=>  the slot was never set.
 *   3. bound = 1 + highest slot set; bytes = struct + directory + chunks.
 *
 * Concurrency: a single writer (callers serialise vecs_set); readers take no lock. The
 * directory is grown by copy + atomic publish with the old block retired (vs_chunk_dir_put).
 * Callers: store.c (records), hnsw/ (every distance), collection.c (snapshots).
 */
#include "core/vectors.h"

#include "core/distance.h"
#include "util/alloc.h"

#include <math.h>
#include <string.h>

#define VECS_UNSET    0xFFFFFFFFu /* a NaN pattern 1/|v| never produces */
#define DIR_FIRST_CAP 16u

void *vs_aligned_alloc64(size_t n)
{
    char *raw = vs_malloc(n + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    ((void **)p)[-1] = raw;
    return (void *)p;
}

void vs_aligned_free64(void *p)
{
    if (p) vs_free(((void **)p)[-1]);
}

vs_err vs_chunk_dir_put(vs_chunk_dir *d, uint32_t c, void *chunk, vs_status *st)
{
    vs_chunk_dir_block *b = atomic_load_explicit(&d->cur, memory_order_relaxed);
    if (!b || c >= b->cap) {
        uint32_t cap = b ? b->cap : DIR_FIRST_CAP;
        while (cap <= c) cap *= 2;
        size_t sz = sizeof(vs_chunk_dir_block) + (size_t)cap * sizeof(_Atomic(void *));
        vs_chunk_dir_block *nb = vs_malloc(sz);
        if (!nb) return vs_status_set(st, VS_ERR_NOMEM, "out of memory growing a chunk directory");
        nb->cap = cap;
        nb->next_retired = NULL;
        for (uint32_t i = 0; i < cap; i++) {
            void *x =
                b && i < b->cap ? atomic_load_explicit(&b->chunk[i], memory_order_relaxed) : NULL;
            atomic_init(&nb->chunk[i], x);
        }
        if (b) {
            b->next_retired = d->retired;
            d->retired = b;
        }
        atomic_fetch_add_explicit(&d->bytes, sz, memory_order_relaxed);
        atomic_store_explicit(&d->cur, nb, memory_order_release);
        b = nb;
    }
    atomic_store_explicit(&b->chunk[c], chunk, memory_order_release);
    return VS_OK;
}

void vs_chunk_dir_free(vs_chunk_dir *d, void (*free_chunk)(void *chunk, void *ctx), void *ctx)
{
    vs_chunk_dir_block *b = atomic_load_explicit(&d->cur, memory_order_relaxed);
    if (b)
        for (uint32_t i = 0; i < b->cap; i++) {
            void *x = atomic_load_explicit(&b->chunk[i], memory_order_relaxed);
            if (x && free_chunk) free_chunk(x, ctx);
        }
    vs_free(b);
    while (d->retired) {
        vs_chunk_dir_block *n = d->retired->next_retired;
        vs_free(d->retired);
        d->retired = n;
    }
    atomic_store_explicit(&d->cur, NULL, memory_order_relaxed);
    atomic_store_explicit(&d->bytes, 0, memory_order_relaxed);
}

static inline _Atomic uint32_t *inv_words(const vs_vectors_t *v, float *chunk, uint32_t c)
{
    return (_Atomic uint32_t *)(chunk + (size_t)vs_chunk_slots(c) * v->_dim);
}

vs_vectors_t *vecs_create(uint32_t dim)
{
    if (dim == 0) return NULL;
    vs_vectors_t *v = vs_calloc(1, sizeof *v);
    if (!v) return NULL;
    v->_dim = dim;
    atomic_init(&v->_bound, 0);
    atomic_init(&v->_bytes, 0);
    atomic_init(&v->_dir.cur, NULL);
    atomic_init(&v->_dir.bytes, 0);
    return v;
}

static void free_chunk(void *chunk, void *ctx)
{
    (void)ctx;
    vs_aligned_free64(chunk);
}

void vecs_destroy(vs_vectors_t *v)
{
    if (!v) return;
    vs_chunk_dir_free(&v->_dir, free_chunk, NULL);
    vs_free(v);
}

static float inv_norm_of(const float *vec, uint32_t dim)
{
    float n = vs_norm(vec, dim);
    return n > 0.0f && isfinite(n) ? 1.0f / n : 0.0f;
}

vs_err vecs_set(vs_vectors_t *v, uint32_t slot, const float *vec, vs_status *st)
{
    if (!v || !vec) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "vecs_set: NULL argument");
    if (slot == UINT32_MAX)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "vecs_set: slot %u out of range", slot);
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    float *chunk = vs_chunk_dir_get(&v->_dir, c);
    if (!chunk) {
        size_t n = vs_chunk_slots(c);
        size_t sz = n * v->_dim * sizeof(float) + n * sizeof(uint32_t);
        chunk = vs_aligned_alloc64(sz);
        if (!chunk)
            return vs_status_set(st, VS_ERR_NOMEM, "out of memory: vector chunk of %zu bytes", sz);
        _Atomic uint32_t *inv = inv_words(v, chunk, c);
        for (size_t i = 0; i < n; i++) atomic_init(&inv[i], VECS_UNSET);
        vs_err rc = vs_chunk_dir_put(&v->_dir, c, chunk, st);
        if (rc != VS_OK) {
            vs_aligned_free64(chunk);
            return rc;
        }
        atomic_fetch_add_explicit(&v->_bytes, sz, memory_order_relaxed);
    }
    memcpy(chunk + (size_t)off * v->_dim, vec, (size_t)v->_dim * sizeof(float));
    float in = inv_norm_of(vec, v->_dim);
    uint32_t bits;
    memcpy(&bits, &in, sizeof bits);
    atomic_store_explicit(&inv_words(v, chunk, c)[off], bits, memory_order_release);
    if (slot + 1 > atomic_load_explicit(&v->_bound, memory_order_relaxed))
        atomic_store_explicit(&v->_bound, slot + 1, memory_order_release);
    return VS_OK;
}

const float *vecs_get(const vs_vectors_t *v, uint32_t slot)
{
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    float *chunk = vs_chunk_dir_get(&v->_dir, c);
    if (!chunk) return NULL;
    uint32_t bits = atomic_load_explicit(&inv_words(v, chunk, c)[off], memory_order_acquire);
    return bits == VECS_UNSET ? NULL : chunk + (size_t)off * v->_dim;
}

float vecs_inv_norm(const vs_vectors_t *v, uint32_t slot)
{
    uint32_t c, off;
    vs_chunk_locate(slot, &c, &off);
    float *chunk = vs_chunk_dir_get(&v->_dir, c);
    if (!chunk) return 0.0f;
    uint32_t bits = atomic_load_explicit(&inv_words(v, chunk, c)[off], memory_order_acquire);
    if (bits == VECS_UNSET) return 0.0f;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint32_t vecs_dim(const vs_vectors_t *v)
{
    return v ? v->_dim : 0;
}

uint32_t vecs_slot_bound(const vs_vectors_t *v)
{
    return v ? atomic_load_explicit(&v->_bound, memory_order_acquire) : 0;
}

size_t vecs_memory_bytes(const vs_vectors_t *v)
{
    if (!v) return 0;
    return sizeof *v + atomic_load_explicit(&v->_dir.bytes, memory_order_relaxed) +
           atomic_load_explicit(&v->_bytes, memory_order_relaxed);
}
