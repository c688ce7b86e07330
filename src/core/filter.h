/*
 * filter.h - the metadata filter language of SPEC section 6: parser and evaluator.
 *
 * A filter string such as `category = 'tech' AND (year >= 2020 OR tags CONTAINS 'ml')` is parsed
 * once per request into an immutable expression tree (flt_expr_t), then evaluated against the
 * encoded metadata of each candidate record (core/value.h) with no allocation and no JSON.
 * docs/filters.md describes the language and its type rules for users.
 *
 * Ownership: flt_parse hands the caller a tree that it releases with flt_free; the tree owns all
 * its memory (one arena) and borrows nothing from the filter string.
 * Thread-safety: a parsed tree is read-only; any number of threads may flt_eval it at once.
 * Callers: service/ parses the request's filter; core/collection.c evaluates it per candidate and
 * core/payload_index.c reads the tree (through filter/filter_int.h) to bound the candidates.
 */
#ifndef VS_CORE_FILTER_H
#define VS_CORE_FILTER_H

#include "vecstore/err.h"

#include "core/value.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct flt_expr flt_expr_t;

#define FLT_MAX_BYTES 4096 /* SPEC 12: filter length in bytes (a maximum: 4096 is accepted) */
#define FLT_MAX_DEPTH 64   /* SPEC 12: grouping parentheses + unary NOTs enclosing a predicate */

/* Parses a filter of len bytes (need not be NUL-terminated). Empty or all-whitespace -> *out = NULL
 * and VS_OK (no filter). Errors -> VS_ERR_INVALID_ARGUMENT with st->msg exactly
 * "Invalid filter: <what was expected> at column N" (column 1-based in characters, i.e. UTF-8
 * code points), e.g. "Invalid filter: expected a value after '=' at column 12"; over
 * FLT_MAX_BYTES or nesting over FLT_MAX_DEPTH -> also INVALID_ARGUMENT with a message naming the
 * limit. Out of memory -> VS_ERR_NOMEM. *out is written only on success. */
vs_err flt_parse(const char *s, size_t len, flt_expr_t **out, vs_status *st);
void flt_free(flt_expr_t *e);
/* True when metadata `meta` (an encoded object, see value.h) matches. Pure, thread-safe. A NULL
 * tree (no filter) matches everything. */
bool flt_eval(const flt_expr_t *e, vs_value meta);

#endif
