/*
 * collection.h - one namespace's in-memory engine: the record store, the HNSW graph, the payload
 * and BM25 indexes, the query planner and hybrid fusion. Durability lives one layer up
 * (src/engine/namespace.c): it orders writes through the write-ahead log and calls in here.
 *
 * Concurrency: `lock` (rwlock, writer-preferring) guards the store and the payload/text indexes.
 * Queries hold it shared for the whole search (short); writers hold it exclusive only for the
 * table updates, and link graph nodes while holding it shared (the graph has per-node locks).
 * Callers must serialise writers among themselves (the namespace's apply ticket does); compaction
 * and snapshot writing run with writers held out. Lock order: namespace ticket -> coll.lock ->
 * graph node locks.
 * Ownership: results (coll_result) own their memory; free with coll_result_free.
 */
#ifndef VS_CORE_COLLECTION_H
#define VS_CORE_COLLECTION_H

#include "vecstore/err.h"

#include "core/distance.h"
#include "core/filter.h"
#include "core/hnsw.h"
#include "core/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct coll_settings {
    uint32_t dim; /* 0 = fixed by the first vector */
    vs_metric metric;
    uint32_t m, ef_construction, ef_search;
} coll_settings;

typedef struct vs_coll vs_coll_t;

typedef struct coll_rec {
    const char *id;
    size_t id_len;
    const float *vec;
    const uint8_t *meta; /* NULL = {} */
    size_t meta_len;
} coll_rec;

typedef struct coll_query {
    const float *vec;
    uint32_t k;
    uint32_t ef; /* 0 = settings */
    const flt_expr_t *filter;
    bool hybrid;
    const char *text;
    size_t text_len;
    double alpha;
    bool want_meta, want_vec;
} coll_query;

typedef struct coll_hit {
    const char *id;
    uint32_t id_len;
    float score, vscore, tscore;
    const uint8_t *meta; /* NULL unless want_meta */
    uint32_t meta_len;
    const float *vec; /* NULL unless want_vec */
} coll_hit;

typedef struct coll_result {
    coll_hit *hits;
    uint32_t n;
    const char *plan;
    uint64_t visited;
    void *mem; /* one block owning hits and their bytes */
} coll_result;

typedef struct coll_stats {
    uint32_t dim;
    vs_metric metric;
    uint64_t live, soft, dead, slots;
    uint64_t reclaimable_bytes, memory_bytes, logical_bytes;
    uint32_t m, ef_construction, ef_search, levels;
} coll_stats;

vs_coll_t *coll_create(const coll_settings *s);
void coll_destroy(vs_coll_t *c);
const coll_settings *coll_get_settings(const vs_coll_t *c);
uint32_t coll_dim(const vs_coll_t *c);

/* Writers (serialised by the caller). A batch is applied as a unit: every record is visible from
 * the same instant (publish under one exclusive section). */
vs_err coll_upsert(vs_coll_t *c, const coll_rec *recs, size_t n, uint32_t dim, vs_status *st);
/* coll_upsert in two steps: begin under the caller's writer order (slots taken, ids mapped), finish
 * without it (graph linking runs concurrently with other writers, then the records are published).
 * Every begin must be followed by a finish. coll_wait_idle returns when no write is between them
 * (snapshots and compaction call it with new writes held out). */
typedef struct coll_pending {
    uint32_t *slots;
    size_t n;
} coll_pending;
vs_err coll_upsert_begin(vs_coll_t *c, const coll_rec *recs, size_t n, uint32_t dim,
                         coll_pending *out, vs_status *st);
vs_err coll_upsert_finish(vs_coll_t *c, coll_pending *p, vs_status *st);
void coll_wait_idle(vs_coll_t *c);
vs_err coll_delete(vs_coll_t *c, const char *id, size_t id_len, vs_status *st);
vs_err coll_soft_delete(vs_coll_t *c, const char *id, size_t id_len, vs_status *st);
vs_err coll_restore(vs_coll_t *c, const char *id, size_t id_len, vs_status *st);
/* Purges soft-deleted and deleted records and rebuilds the graph over the live ones; queries keep
 * running on the old structures until the swap. */
vs_err coll_compact(vs_coll_t *c, uint64_t *removed, vs_status *st);

/* Readers. */
bool coll_exists(vs_coll_t *c, const char *id, size_t id_len);
/* 0 = absent, else REC_LIVE / REC_SOFT (a PENDING record reads as live). */
int coll_state_of(vs_coll_t *c, const char *id, size_t id_len);
typedef struct coll_record {
    char *id;
    uint32_t id_len;
    float *vec;
    uint32_t dim;
    uint8_t *meta;
    uint32_t meta_len;
    bool soft_deleted;
} coll_record;
vs_err coll_get(vs_coll_t *c, const char *id, size_t id_len, coll_record *out, vs_status *st);
void coll_record_free(coll_record *r);
vs_err coll_search(vs_coll_t *c, const coll_query *q, coll_result *out, vs_status *st);
void coll_result_free(coll_result *r);
void coll_get_stats(vs_coll_t *c, coll_stats *out);
/* Logical bytes a record adds (SPEC 8 storage accounting: vector + id + metadata + index entry). */
uint64_t coll_record_bytes(const vs_coll_t *c, uint32_t dim, size_t id_len, size_t meta_len);

/* Snapshot streams (the storage layer frames and checksums them). Call with writers held out. */
typedef vs_err (*coll_write_fn)(void *ctx, const void *p, size_t n, vs_status *st);
typedef vs_err (*coll_read_fn)(void *ctx, void *p, size_t n, vs_status *st);
vs_err coll_write_vectors(vs_coll_t *c, coll_write_fn w, void *ctx, vs_status *st);
vs_err coll_write_metadata(vs_coll_t *c, coll_write_fn w, void *ctx, vs_status *st);
vs_err coll_write_graph(vs_coll_t *c, coll_write_fn w, void *ctx, vs_status *st);
/* Loads the three streams into an empty collection created with the same settings. */
vs_err coll_load(vs_coll_t *c, coll_read_fn rv, void *cv, coll_read_fn rm, void *cm,
                 coll_read_fn rg, void *cg, vs_status *st);

#endif
