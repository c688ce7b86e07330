/*
 * service.h - the one protocol-neutral operation API that HTTP, WebSocket and gRPC adapters call.
 *
 * Every rule lives behind this header: authentication, namespace status, body size, rate and
 * concurrency limits, validation with user-facing messages, quotas, metrics, the query-result
 * cache. Adapters only translate bytes <-> these plain C structs and map vs_err to their wire
 * status with vs_err_http_status / vs_err_grpc_status (include/vecstore/err.h).
 *
 * Request life cycle (SPEC 11 fixes the order of checks; the first failure answers):
 *   1. The adapter reads the request and the body. If the body is over cfg.max_body_bytes it does
 *      not decode it (body_too_large = true). Otherwise it decodes it; if decoding fails it keeps
 *      the error message for step 3 but still finds the namespace (body field, else ?namespace=,
 *      else NULL = "default").
 *   2. svc_admit(): 401 no/invalid key -> 403 key's reach -> 404 namespace -> 403 status ->
 *      413 body_too_large -> 429 rate limit / concurrent queries. Counts the data request
 *      (total_requests, vecstore_namespace_requests_total) whatever the outcome once the namespace
 *      is known. On success it returns a ticket.
 *   3. A decode error: svc_reject(ticket, VS_ERR_INVALID_ARGUMENT, msg) -> 400 (counted).
 *   4. The operation (svc_upsert, svc_query, ...): 400 validation -> 429 quotas -> 404 record ->
 *      the work. Operation counters count successes only.
 *   5. svc_release(ticket) always (frees the concurrency slot, observes latency).
 * Admin routes (svc_ns_*, svc_key_*) need the admin key when one is configured and are never
 * rate-limited or counted as data requests.
 *
 * Ownership: input structs are borrowed for the call. Output structs own their memory and are
 * released with their _free function (adapters never free individual fields).
 * Thread-safety: every function may be called from any thread concurrently.
 */
#ifndef VS_SERVICE_SERVICE_H
#define VS_SERVICE_SERVICE_H

#include "vecstore/err.h"

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vs_service vs_service_t;
typedef struct vs_ticket vs_ticket_t;

typedef enum { VS_MET_COSINE = 0, VS_MET_L2 = 1, VS_MET_DOT = 2 } vs_svc_metric;
typedef enum { VS_SYNC_ALWAYS = 0, VS_SYNC_EVERYSEC = 1, VS_SYNC_NEVER = 2 } vs_svc_fsync;
typedef enum { VS_PROTO_HTTP = 0, VS_PROTO_WS = 1, VS_PROTO_GRPC = 2 } vs_protocol;

/* ---- configuration and life cycle ---- */

typedef struct vs_service_config {
    const char *db_path;          /* directory; created if missing */
    uint32_t default_dimension;   /* --dimension for a new `default` namespace; 0 = unset */
    vs_svc_metric default_metric; /* --metric for a new `default` namespace */
    vs_svc_fsync fsync;           /* --fsync */
    unsigned threads;             /* --threads; 0 = cores */
    size_t max_body_bytes;        /* --max-body-bytes (adapters enforce, service reports 413) */
    size_t max_ws_frame_bytes;    /* --max-ws-frame-bytes */
    const char *api_key;          /* --api-key; NULL = open server */
    bool metrics_require_key;     /* --metrics-require-key */
} vs_service_config;

typedef enum {
    VS_STATE_RECOVERING = 0,
    VS_STATE_READY = 1,
    VS_STATE_SHUTTING_DOWN = 2
} vs_svc_state;

/* Creates the service and the db directory (fails fast: path is a regular file, unreadable, ...:
 * the message names the path). Does not load namespaces yet: state RECOVERING. */
vs_err svc_open(const vs_service_config *cfg, vs_service_t **out, vs_status *st);
/* Loads every namespace (snapshot + log replay). Blocking; main runs it after the listeners are
 * up so /ready answers 503 meanwhile. On error the state stays RECOVERING and the caller exits 1.
 */
vs_err svc_recover(vs_service_t *s, vs_status *st);
vs_svc_state svc_state(const vs_service_t *s);
/* SIGTERM: new data requests get 503 UNAVAILABLE ("server is shutting down"); /ready says so. */
void svc_begin_shutdown(vs_service_t *s);
/* Waits for in-flight tickets (up to timeout_ms), writes every namespace's snapshot, frees all. */
void svc_close(vs_service_t *s, int timeout_ms);
const vs_service_config *svc_config(const vs_service_t *s);

/* ---- requests ---- */

typedef enum {
    VS_OP_UPSERT = 0,
    VS_OP_BATCH_UPSERT,
    VS_OP_QUERY,
    VS_OP_HYBRID_QUERY,
    VS_OP_STREAM_QUERY, /* a WebSocket query or a gRPC QueryStream */
    VS_OP_GET,
    VS_OP_DELETE,
    VS_OP_SOFT_DELETE,
    VS_OP_RESTORE,
    VS_OP_COMPACT,
    VS_OP_STATS,
    VS_OP__COUNT
} vs_op;

typedef struct vs_req {
    vs_protocol proto;
    const char *api_key;      /* from Authorization: Bearer / x-api-key / ?api_key=; NULL = none */
    const char *namespace_id; /* NULL or "" = "default" */
    int64_t deadline_us;      /* absolute CLOCK_MONOTONIC microseconds; 0 = none (gRPC deadlines) */
} vs_req;

/* Steps 2 of the life cycle. On success *out is a ticket to pass to the operation and release. */
vs_err svc_admit(vs_service_t *s, const vs_req *req, vs_op op, bool body_too_large,
                 vs_ticket_t **out, vs_status *st);
/* A request the adapter could not decode: records the failure and fills st. Returns code. */
vs_err svc_reject(vs_ticket_t *t, vs_err code, const char *msg, vs_status *st);
void svc_release(vs_ticket_t *t);
/* The namespace id a ticket resolved to (for error bodies / logs). */
const char *svc_ticket_namespace(const vs_ticket_t *t);

/* ---- vector operations ---- */

typedef struct vs_record_in {
    const char *id;
    size_t id_len;
    const float
        *vector; /* values as decoded; validation (finite, dimension, zero) is the service's */
    uint32_t dim;
    const uint8_t *meta; /* encoded metadata object (src/core/value.h); NULL = {} */
    size_t meta_len;
    bool meta_too_deep; /* the adapter's builder hit the depth limit: answered 400 by the service */
} vs_record_in;

vs_err svc_upsert(vs_ticket_t *t, const vs_record_in *rec, vs_status *st);
/* Validated whole before anything is written; all-or-nothing; the last of a repeated id wins.
 * *n_upserted = records applied (n). */
vs_err svc_batch_upsert(vs_ticket_t *t, const vs_record_in *recs, size_t n, size_t *n_upserted,
                        vs_status *st);

typedef struct vs_query_in {
    const float *vector;
    uint32_t dim;
    bool has_vector; /* false -> 400 "missing field 'vector'" */
    uint32_t limit;  /* 0 with has_limit false = default 10 */
    bool has_limit;
    int64_t limit_raw;  /* the value as given (to report a bad limit exactly) */
    const char *filter; /* NULL = none */
    size_t filter_len;
    uint32_t ef; /* 0 = namespace default */
    bool has_ef;
    int64_t ef_raw;
    bool include_metadata; /* adapters default true */
    bool include_vector;   /* adapters default false */
    bool hybrid;           /* hybrid query (svc_hybrid_query, or a stream query with text) */
    const char *text_query;
    size_t text_len;
    double alpha; /* used when has_alpha; default 0.5 */
    bool has_alpha;
} vs_query_in;

typedef struct vs_hit {
    const char *id;
    size_t id_len;
    float score;
    float vector_score;  /* hybrid only */
    float text_score;    /* hybrid only */
    const uint8_t *meta; /* encoded metadata (NULL unless include_metadata) */
    size_t meta_len;
    const float *vector; /* NULL unless include_vector */
} vs_hit;

typedef struct vs_query_out {
    vs_hit *hits;
    uint32_t n_hits;
    uint32_t dim;
    bool hybrid;
    uint64_t took_us;
    const char *plan; /* static string: "exact", "hnsw", "hnsw_filtered", "exact_filtered", "empty",
                         "cache" ... */
    uint64_t visited;
    void *_mem; /* owns hits and everything they point to */
} vs_query_out;

vs_err svc_query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st);
vs_err svc_hybrid_query(vs_ticket_t *t, const vs_query_in *q, vs_query_out *out, vs_status *st);
void vs_query_out_free(vs_query_out *out);

typedef struct vs_record_out {
    char *id;
    size_t id_len;
    float *vector;
    uint32_t dim;
    uint8_t *meta;
    size_t meta_len;
    const char *state; /* "live" or "soft_deleted" (static) */
} vs_record_out;

vs_err svc_get(vs_ticket_t *t, const char *id, size_t id_len, vs_record_out *out, vs_status *st);
void vs_record_out_free(vs_record_out *out);
vs_err svc_delete(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st);
vs_err svc_soft_delete(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st);
vs_err svc_restore(vs_ticket_t *t, const char *id, size_t id_len, vs_status *st);

typedef struct vs_compact_out {
    uint64_t removed;
    uint64_t took_ms;
} vs_compact_out;
vs_err svc_compact(vs_ticket_t *t, vs_compact_out *out, vs_status *st);

typedef struct vs_stats_out {
    char namespace_id[72];
    uint32_t dimension; /* 0 = not fixed yet (JSON null) */
    const char *metric; /* "cosine" | "l2" | "dot" */
    uint64_t vector_count, active_count, deleted_count;
    uint64_t reclaimable_bytes;
    uint64_t memory_bytes, disk_bytes;
    /* index */
    const char *index_type; /* "hnsw" */
    uint32_t m, ef_construction, ef_search;
    uint64_t index_nodes;
    uint32_t index_levels;
} vs_stats_out;
vs_err svc_stats(vs_ticket_t *t, vs_stats_out *out, vs_status *st);

/* ---- namespaces (admin) ---- */

/* A quota: unset = unlimited. */
typedef struct vs_quota {
    bool set;
    double value;
} vs_quota;

typedef struct vs_quotas {
    vs_quota max_vectors, max_storage_bytes, max_requests_per_second, max_concurrent_queries,
        max_dimension, max_results_per_query, max_batch_size;
} vs_quotas;

/* A quota change: absent leaves it, VS_QUP_NULL makes it unlimited, VS_QUP_VALUE sets value. */
typedef enum { VS_QUP_ABSENT = 0, VS_QUP_NULL = 1, VS_QUP_VALUE = 2 } vs_qup_kind;
typedef struct vs_quota_update {
    vs_qup_kind kind;
    double value;
} vs_quota_update;
typedef struct vs_quotas_update {
    vs_quota_update max_vectors, max_storage_bytes, max_requests_per_second, max_concurrent_queries,
        max_dimension, max_results_per_query, max_batch_size;
} vs_quotas_update;

typedef struct vs_ns_create {
    const char *id;
    const char *name; /* NULL = id */
    const char *tier; /* "free" | "pro" | "enterprise"; NULL = use quotas */
    bool has_quotas;
    vs_quotas_update quotas; /* VS_QUP_ABSENT fields are unlimited at creation */
    uint32_t dimension;      /* 0 = fixed by the first vector */
    bool has_metric;
    const char *metric;                     /* "cosine" | "l2" | "dot" (validated by the service) */
    uint32_t m, ef_construction, ef_search; /* 0 = defaults */
} vs_ns_create;

typedef struct vs_ns_info {
    char id[72];
    char *name;
    const char *status; /* "active" | "suspended" | "read_only" | "pending_deletion" (static) */
    int64_t created_at; /* Unix seconds */
    uint32_t dimension; /* 0 = null */
    const char *metric;
    uint32_t m, ef_construction, ef_search;
    vs_quotas quotas;
    /* usage */
    uint64_t vector_count, active_count, deleted_count, storage_bytes;
    uint64_t total_requests, total_queries, total_upserts, total_deletes;
    double quota_utilization;
} vs_ns_info;

void vs_ns_info_free(vs_ns_info *info); /* frees fields, not the struct */

vs_err svc_ns_create(vs_service_t *s, const vs_req *req, const vs_ns_create *c, vs_ns_info *out,
                     vs_status *st);
vs_err svc_ns_list(vs_service_t *s, const vs_req *req, vs_ns_info **out, size_t *n_out,
                   vs_status *st);
void vs_ns_info_array_free(vs_ns_info *arr, size_t n);
vs_err svc_ns_get(vs_service_t *s, const vs_req *req, const char *id, vs_ns_info *out,
                  vs_status *st);
vs_err svc_ns_update_quotas(vs_service_t *s, const vs_req *req, const char *id,
                            const vs_quotas_update *u, vs_ns_info *out, vs_status *st);
vs_err svc_ns_update_status(vs_service_t *s, const vs_req *req, const char *id, const char *status,
                            vs_ns_info *out, vs_status *st);
vs_err svc_ns_delete(vs_service_t *s, const vs_req *req, const char *id, vs_status *st);

typedef struct vs_admin_stats {
    uint64_t total_namespaces, active_namespaces, total_vectors, total_requests;
} vs_admin_stats;
vs_err svc_admin_stats(vs_service_t *s, const vs_req *req, vs_admin_stats *out, vs_status *st);

/* Per-namespace API keys (SPEC 11). The secret is shown once, in the create answer. */
typedef struct vs_key_info {
    char key_id[40];
    char key[80]; /* only filled by svc_key_create */
    char namespace_id[72];
    int64_t created_at;
} vs_key_info;
vs_err svc_key_create(vs_service_t *s, const vs_req *req, const char *ns_id, vs_key_info *out,
                      vs_status *st);
vs_err svc_key_list(vs_service_t *s, const vs_req *req, const char *ns_id, vs_key_info **out,
                    size_t *n_out, vs_status *st); /* free *out with vs_free */
vs_err svc_key_revoke(vs_service_t *s, const vs_req *req, const char *ns_id, const char *key_id,
                      vs_status *st);

/* ---- open endpoints, metrics ---- */

/* /metrics access: VS_OK, or 401 when --metrics-require-key and no valid key (any valid key). */
vs_err svc_check_metrics_access(vs_service_t *s, const char *api_key, vs_status *st);
/* Appends the Prometheus text exposition (format 0.0.4) of every metric. */
void svc_metrics_render(vs_service_t *s, vs_buf *out);
/* Adapters report each finished HTTP request / gRPC call for the per-route counters
 * (vecstore_http_requests_total{route,method,status}, vecstore_grpc_requests_total{method,code}).
 * route is the route pattern ("/v1/vectors/{id}"), never the raw path. */
void svc_count_http(vs_service_t *s, const char *route, const char *method, int status);
void svc_count_grpc(vs_service_t *s, const char *method, int code);

#endif
