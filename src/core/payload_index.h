/*
 * payload_index.h - keyword and numeric indexes over every metadata path of a collection, used by
 * the query planner to estimate a filter's cardinality and to enumerate its candidate slots.
 *
 * Every dotted path into nested objects is indexed: strings and booleans as keywords (path, value)
 * -> sorted slot list, numbers in a per-path ordered (value, slot) structure for ranges; the
 * scalar elements of an array are indexed under the array's own path (for CONTAINS and IN). The
 * answers are supersets: the caller runs flt_eval on each candidate (core/filter.h).
 *
 * Ownership: pidx_create / pidx_destroy; the index copies what it keeps and borrows nothing from
 * the metadata it is given. *slots_out of pidx_candidates is the caller's (vs_free).
 * Thread-safety: none inside. The caller (core/collection.c) holds its collection rwlock:
 * exclusive for pidx_add / pidx_remove, shared for the queries, which never write.
 */
#ifndef VS_CORE_PAYLOAD_INDEX_H
#define VS_CORE_PAYLOAD_INDEX_H

#include "vecstore/err.h"

#include "core/filter.h"
#include "core/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pidx pidx_t;

/* An empty index costs sizeof(pidx) bytes (well under 2 KiB). NULL on out of memory. */
pidx_t *pidx_create(void);
void pidx_destroy(pidx_t *p);
/* Indexes slot's metadata (an encoded object). All or nothing: on VS_ERR_NOMEM nothing of it
 * stays. A slot must not be added twice without a remove in between. */
vs_err pidx_add(pidx_t *p, uint32_t slot, vs_value meta, vs_status *st);
/* Unindexes slot; meta = exactly what was added for slot. Never fails (if its small scratch
 * allocation fails, some entries stay behind as stale ones: answers stay supersets). */
void pidx_remove(pidx_t *p, uint32_t slot, vs_value meta);
/* Upper bound of the number of slots the filter can match (n_total = indexed live slots; the
 * answer is at most n_total). NULL filter -> n_total. */
size_t pidx_estimate(const pidx_t *p, const flt_expr_t *e, size_t n_total);
/* A sorted, duplicate-free superset of the slots matching e, if the index can bound it with at
 * most `max` slots; false otherwise (e.g. NOT / != / IS NULL at the top, a string CONTAINS on a
 * path holding strings, or too many). Caller frees *slots_out with vs_free (NULL when n is 0). */
bool pidx_candidates(const pidx_t *p, const flt_expr_t *e, size_t max, uint32_t **slots_out,
                     size_t *n_out);
/* Heap bytes held by the index (structures, keys, slot lists). */
size_t pidx_memory_bytes(const pidx_t *p);

#endif
