/*
 * metrics.h - the Prometheus metrics registry of the service layer and its text exposition
 * (format 0.0.4, SPEC 9).
 *
 * The registry holds the process-wide counters (operations, cache, errors, requests by route),
 * the query latency histogram, and renders them together with values the caller supplies at
 * scrape time (vector totals and per-namespace rows, which live in the catalog) and process
 * metrics read from /proc/self.
 *
 * Ownership: metrics_create/metrics_destroy pair; label strings passed in are copied, the
 * caller keeps its own. Rows passed to metrics_render are borrowed for the call.
 * Thread-safety: every function may be called from any thread concurrently. Plain counters and
 * the histogram are lock-free atomics; the labelled families are under one mutex (they are few,
 * short critical sections). metrics_destroy must not race with anything else.
 */
#ifndef VS_SERVICE_METRICS_H
#define VS_SERVICE_METRICS_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vs_metrics vs_metrics_t;

/* Upper bound on distinct label tuples per labelled family. Past it, new tuples are counted in
 * one overflow series whose every label value is "other", so totals stay exact. */
#define METRICS_MAX_SERIES 1000

/* Latency histogram bucket upper bounds (seconds), 100 us .. 10 s; +Inf is implicit. */
#define METRICS_N_BUCKETS 16

/* NULL on out of memory. */
vs_metrics_t *metrics_create(void);
void metrics_destroy(vs_metrics_t *m);

void metrics_add_upserts(vs_metrics_t *m, uint64_t n); /* vecstore_upsert_total */
void metrics_add_queries(vs_metrics_t *m, uint64_t n); /* vecstore_query_total */
void metrics_add_deletes(vs_metrics_t *m, uint64_t n); /* vecstore_delete_total */
/* vecstore_query_duration_seconds; a negative or NaN duration is observed as 0. */
void metrics_observe_query_seconds(vs_metrics_t *m, double s);
void metrics_cache_hit(vs_metrics_t *m);  /* vecstore_cache_hits_total */
void metrics_cache_miss(vs_metrics_t *m); /* vecstore_cache_misses_total */
/* vecstore_errors_total{code}; code_name is a vs_err_name() string. */
void metrics_count_error(vs_metrics_t *m, const char *code_name);
/* vecstore_http_requests_total{route,method,status}; route is the route pattern
 * ("/v1/vectors/{id}"), never the raw path, so the number of series stays bounded. */
void metrics_count_http(vs_metrics_t *m, const char *route, const char *method, int status);
/* vecstore_grpc_requests_total{method,code}; code is the numeric gRPC status. */
void metrics_count_grpc(vs_metrics_t *m, const char *method, int code);

typedef struct metrics_ns_row {
    const char *namespace_id;
    uint64_t vector_count;
    double quota_utilization;
    uint64_t requests_total;
} metrics_ns_row;

/* Appends the whole exposition (text format 0.0.4) to out: the counters above, the histogram,
 * vecstore_vectors_total (untyped, = vectors_total), vecstore_namespaces (gauge, = n_rows),
 * per-namespace vecstore_namespace_vector_count (untyped), vecstore_namespace_quota_utilization
 * (gauge) and vecstore_namespace_requests_total (counter) labelled namespace, and the process_*
 * metrics. Every family has # HELP and # TYPE, once. Out of memory shows as out->oom. */
void metrics_render(vs_metrics_t *m, vs_buf *out, uint64_t vectors_total,
                    const metrics_ns_row *rows, size_t n_rows);

/* Test and introspection accessors (exact current values). */
uint64_t metrics_get_upserts(vs_metrics_t *m);
uint64_t metrics_get_queries(vs_metrics_t *m);
uint64_t metrics_get_deletes(vs_metrics_t *m);
uint64_t metrics_get_cache_hits(vs_metrics_t *m);
uint64_t metrics_get_cache_misses(vs_metrics_t *m);

/* Appends s to out escaped as a label value of the text format: backslash, double quote and
 * line feed are escaped; bytes that are not valid UTF-8 become U+FFFD. */
void metrics_escape_label(vs_buf *out, const char *s);

#endif
