/*
 * text_index.h - the BM25 text index of hybrid search (SPEC section 7).
 *
 * A record's text is every string value of its metadata, nested objects and arrays included
 * (object keys, numbers, booleans and nulls are not text), tokenized by vs_tokenize (tokenize.h).
 * A document's length is the number of tokens of all its string values. Scoring is BM25 with
 * k1 = 1.2, b = 0.75 and IDF = ln(1 + (N - n + 0.5) / (n + 0.5)), where N (documents), n
 * (documents holding the term) and the average document length are over the slots currently in the
 * index, whatever the accept filter of a search. The caller keeps exactly the live records in the
 * index (it removes soft-deleted ones and re-adds restored ones), so these are SPEC 7's statistics.
 *
 * Query terms: the query is tokenized the same way and every occurrence of a token counts, so
 * "apple apple" weighs apple twice (as the acceptance check's reference implementation does:
 * score(d) = sum over query tokens t of IDF(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl /
 * avgdl))). Tokens absent from the index contribute nothing.
 *
 * Ownership: the index copies what it needs from `meta` (the value is only read during txt_add).
 * Thread-safety: none inside. The caller's collection rwlock guards it: txt_add / txt_remove under
 * the exclusive lock, txt_search / txt_doc_count / txt_memory_bytes under the shared lock (a search
 * only reads the index and allocates its own scratch).
 */
#ifndef VS_CORE_TEXT_INDEX_H
#define VS_CORE_TEXT_INDEX_H

#include "core/value.h"
#include "vecstore/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TXT_BM25_K1 1.2
#define TXT_BM25_B  0.75

typedef struct txt_index txt_index_t;

typedef struct txt_hit {
    uint32_t slot;
    float score; /* BM25, > 0 */
} txt_hit;

/* Search filter: true if the slot may appear in the results. NULL accepts every slot. */
typedef bool (*txt_accept_fn)(void *ctx, uint32_t slot);

/* An empty index (one small allocation, < 1 KiB). NULL on out of memory. */
txt_index_t *txt_create(void);
void txt_destroy(txt_index_t *t);

/* Indexes the text of `meta` (any encoded value; a missing view is an empty document, which still
 * counts in N and in the average length) under `slot` (< UINT32_MAX). A slot is added once; adding
 * a slot already present replaces its document. VS_ERR_NOMEM leaves the index as it was (the slot
 * absent). */
vs_err txt_add(txt_index_t *t, uint32_t slot, vs_value meta, vs_status *st);
/* Removes slot's document, O(its distinct terms). No-op if absent. */
void txt_remove(txt_index_t *t, uint32_t slot);

/* Writes to out the best `topn` accepted slots with BM25 > 0, best first (higher score; equal
 * float scores by lower slot), and returns their count. `accept` is called only for slots that
 * match at least one query term and could still enter the top `topn`. Returns 0 for an empty
 * query, an empty index, topn 0, or if scratch memory cannot be allocated. */
size_t txt_search(const txt_index_t *t, const char *query, size_t qlen, txt_accept_fn accept,
                  void *ctx, size_t topn, txt_hit *out);

/* N: the number of documents (slots) in the index. */
uint32_t txt_doc_count(const txt_index_t *t);
/* Heap bytes held by the index (O(1), kept up to date by add/remove). */
size_t txt_memory_bytes(const txt_index_t *t);

/* Checker (STYLE 8): verifies every invariant of text_index.c (postings <-> document entries,
 * document frequencies, N, total length, the dictionary, the byte count) in O(size). VS_OK or
 * VS_ERR_INTERNAL with the first violation in st. For tests and debug builds. */
vs_err txt_check(const txt_index_t *t, vs_status *st);

#endif
