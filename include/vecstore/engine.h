/*
 * engine.h - the engine API: durable namespaces (collection + write-ahead log + snapshots) and the
 * catalog that creates, lists, loads and deletes them. The service layer is its only caller.
 *
 * Write path of a namespace (DESIGN "Write"): the record is appended to the WAL under the
 * namespace's log mutex (file order = sequence order), the group fsync makes it durable, then it
 * is applied to memory in sequence order (the apply ticket), then the caller is answered.
 * Durable first, visible second, acknowledged third.
 *
 * Ownership: vs_ns_t handles from the catalog are reference counted: every cat_get/cat_list
 * reference is dropped with ns_release. A deleted namespace is freed when its last reference goes.
 * Thread-safety: every function may be called concurrently.
 */
#ifndef VECSTORE_ENGINE_H
#define VECSTORE_ENGINE_H

#include "vecstore/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vs_ns vs_ns_t;
typedef struct vs_catalog vs_catalog_t;
typedef struct vs_coll vs_coll_t;

#define VS_NS_ID_MAX 64

typedef struct vs_limit {
    bool set;
    double value;
} vs_limit;

typedef struct vs_ns_limits {
    vs_limit max_vectors, max_storage_bytes, max_requests_per_second, max_concurrent_queries,
        max_dimension, max_results_per_query, max_batch_size;
} vs_ns_limits;

typedef enum {
    VS_NS_ACTIVE = 0,
    VS_NS_SUSPENDED = 1,
    VS_NS_READ_ONLY = 2,
    VS_NS_PENDING_DELETION = 3,
} vs_ns_status;

typedef struct vs_ns_usage {
    uint64_t total_requests, total_queries, total_upserts, total_deletes;
} vs_ns_usage;

/* namespace.json: settings, quotas, status, usage. */
typedef struct vs_ns_meta {
    char id[VS_NS_ID_MAX + 8];
    char name[256];
    vs_ns_status status;
    int64_t created_at;
    uint32_t dim; /* 0 = not fixed yet */
    int metric;   /* vs_metric: 0 cosine, 1 l2, 2 dot */
    uint32_t m, ef_construction, ef_search;
    vs_ns_limits limits;
    vs_ns_usage usage;
} vs_ns_meta;

const char *vs_ns_status_name(vs_ns_status s);
bool vs_ns_status_parse(const char *s, vs_ns_status *out);
/* `[A-Za-z0-9][A-Za-z0-9_-]{0,63}` */
bool vs_ns_id_valid(const char *id);

/* ---- catalog ---- */

typedef struct vs_catalog_config {
    const char *db_path;
    int fsync;            /* vs_fsync_policy */
    uint32_t default_dim; /* for a new `default` namespace */
    int default_metric;
} vs_catalog_config;

/* Creates the db directory if needed; fails if it is a file or unusable (message names it). */
vs_err cat_open(const vs_catalog_config *cfg, vs_catalog_t **out, vs_status *st);
/* Loads every namespace directory (snapshot + log replay), creates `default` if absent. */
vs_err cat_load_all(vs_catalog_t *c, vs_status *st);
/* Snapshots and frees everything. */
void cat_close(vs_catalog_t *c);
/* NULL if absent. */
vs_ns_t *cat_get(vs_catalog_t *c, const char *id);
/* A new namespace (meta->id valid; ALREADY_EXISTS if taken). *out may be NULL. */
vs_err cat_create(vs_catalog_t *c, const vs_ns_meta *meta, vs_ns_t **out, vs_status *st);
/* Removes the namespace and its directory durably (rename to a tombstone, fsync, remove). */
vs_err cat_delete(vs_catalog_t *c, const char *id, vs_status *st);
/* Every namespace, sorted by id; release each and vs_free the array. */
size_t cat_list(vs_catalog_t *c, vs_ns_t ***out);

/* ---- namespace ---- */

void ns_acquire(vs_ns_t *ns);
void ns_release(vs_ns_t *ns);
const char *ns_id(const vs_ns_t *ns);
void ns_get_meta(vs_ns_t *ns, vs_ns_meta *out); /* a consistent copy (usage included) */
vs_err ns_set_limits(vs_ns_t *ns, const vs_ns_limits *l, vs_status *st);
vs_err ns_set_status(vs_ns_t *ns, vs_ns_status s, vs_status *st);
vs_ns_status ns_status(vs_ns_t *ns);
vs_coll_t *ns_coll(vs_ns_t *ns);
/* Counts a data request / successful operations (persisted with namespace.json). */
void ns_count(vs_ns_t *ns, uint64_t requests, uint64_t queries, uint64_t upserts, uint64_t deletes);
/* Changes on every applied write (the query cache keys on it). */
uint64_t ns_generation(vs_ns_t *ns);

typedef struct vs_ns_rec {
    const char *id;
    size_t id_len;
    const float *vec;
    const uint8_t *meta;
    size_t meta_len;
} vs_ns_rec;

/* Durable writes. Dimension mismatch is checked by the caller; the first write fixes the dim. */
vs_err ns_upsert(vs_ns_t *ns, const vs_ns_rec *recs, size_t n, uint32_t dim, vs_status *st);
vs_err ns_delete(vs_ns_t *ns, const char *id, size_t id_len, vs_status *st);
vs_err ns_soft_delete(vs_ns_t *ns, const char *id, size_t id_len, vs_status *st);
vs_err ns_restore(vs_ns_t *ns, const char *id, size_t id_len, vs_status *st);
vs_err ns_compact(vs_ns_t *ns, uint64_t *removed, vs_status *st);
/* Writes the three snapshot files and resets the log. */
vs_err ns_snapshot(vs_ns_t *ns, vs_status *st);
uint64_t ns_disk_bytes(vs_ns_t *ns);

/* Per-namespace admission state used by the service (rate limiter, concurrent queries). */
typedef struct vs_ns_admission {
    void *limiter;                 /* the service's rate limiter state, created on first use */
    void (*limiter_free)(void *p); /* called when the namespace is freed */
    int64_t in_flight_queries;
} vs_ns_admission;
/* Runs fn under the namespace's admission mutex. */
void ns_with_admission(vs_ns_t *ns, void (*fn)(vs_ns_admission *a, void *ctx), void *ctx);

#endif
