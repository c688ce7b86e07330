/*
 * text_index.c - in-memory inverted index with BM25 scoring for hybrid search (SPEC 7).
 *
 * How it works:
 *   - Dictionary: `dict` maps a term's bytes to a term id; `terms[id]` owns the term's bytes and
 *     its postings, an unordered array of (slot, tf, dpos). Ids of terms that lost their last
 *     posting are freed at once and reused through a free list (`free_head`, linked by next_free).
 *   - Documents: `docs[slot]` holds the document length (tokens of all its string values) and its
 *     entries, one (term, ppos) per distinct term. ppos is where the slot's posting sits in the
 *     term's array and the posting's dpos is where the entry sits in the document's array: the two
 *     point at each other, so removing a document is O(its distinct terms): each posting is
 *     swap-removed (the last posting of the list moves into the hole and the moved posting's
 *     document entry is re-pointed through its dpos). Statistics stay exact at every instant.
 *   - txt_add tokenizes every string value (vs_value walk; keys are not text), sorts the term ids
 *     to get (term, tf) runs, reserves all memory first and then links postings and entries, so a
 *     failed allocation leaves the index unchanged (terms created for the failed add are freed).
 *   - txt_search tokenizes the query, counts each distinct known term's occurrences (qtf),
 *     accumulates qtf * IDF * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) per slot in
 *     doubles (term-at-a-time, into an open-addressing slot -> score table sized to the postings
 *     touched, or a dense per-slot array when those postings cover a quarter of the slot range),
 *     then keeps the best `topn` accepted slots in a bounded heap (worst at the root).
 *     Ranking uses the float score that is returned, ties by slot, so the output order is exactly
 *     "float score descending, slot ascending".
 *
 * Invariants (txt_check verifies all of them):
 *  1. A term id is live iff terms[id].str != NULL; a live term has 1 <= n_post <= cap_post, and
 *     dict maps its bytes to its id; dict holds exactly the live terms.
 *  2. For each live term id and posting p = terms[id].post[i]: docs[p.slot] is present,
 *     docs[p.slot].ents[p.dpos] == {id, i}, and p.tf >= 1. Conversely every entry of a present
 *     document points at a posting that points back at it.
 *  3. A document is present iff docs[slot].ents != NULL (an empty document uses the static
 *     `no_ents`); its entries have distinct terms and their tf sum to its length.
 *  4. n_docs = present documents, total_len = sum of their lengths.
 *  5. heap_bytes = sum over live terms of (len + 1 + cap_post * sizeof(txt_post)) + sum over
 *     present documents of n_ents * sizeof(txt_dent).
 *
 * Concurrency: none inside; the owning collection's rwlock guards the whole index (add/remove
 * exclusive, search shared: a search only reads and allocates its own scratch).
 * Callers: core/collection.c (upsert, delete, soft-delete, restore, load, compaction, hybrid).
 */
#include "core/text_index.h"

#include "core/tokenize.h"
#include "util/alloc.h"
#include "util/hashmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TXT_NONE           UINT32_MAX
#define TXT_MAX_WALK_DEPTH 64 /* metadata is validated to depth 33; this only bounds recursion */

typedef struct txt_post {
    uint32_t slot;
    uint32_t tf;   /* occurrences of the term in the document, >= 1 */
    uint32_t dpos; /* index of the matching entry in docs[slot].ents */
} txt_post;

typedef struct txt_dent {
    uint32_t term;
    uint32_t ppos; /* index of the matching posting in terms[term].post */
} txt_dent;

typedef struct txt_term {
    char *str; /* owned, NUL-terminated; NULL = free id */
    uint32_t len;
    uint32_t n_post; /* = n, the number of documents holding the term */
    uint32_t cap_post;
    uint32_t next_free; /* free ids only: next free id or TXT_NONE */
    txt_post *post;
} txt_term;

typedef struct txt_doc {
    txt_dent *ents; /* NULL = slot absent; no_ents for a present document without tokens */
    uint32_t n_ents;
    uint32_t len; /* tokens of all its string values */
} txt_doc;

struct txt_index {
    vs_hmap dict; /* term bytes (borrowed from terms[id].str) -> id */
    txt_term *terms;
    uint32_t n_terms, cap_terms; /* ids in [0, n_terms) have been used; some may be free */
    uint32_t free_head;
    txt_doc *docs; /* indexed by slot */
    uint32_t cap_docs;
    uint32_t n_docs;
    uint64_t total_len;
    size_t heap_bytes; /* invariant 5 */
};

static txt_dent no_ents[1];

txt_index_t *txt_create(void)
{
    txt_index_t *t = vs_calloc(1, sizeof *t);
    if (!t) return NULL;
    vs_hmap_init(&t->dict);
    t->free_head = TXT_NONE;
    return t;
}

void txt_destroy(txt_index_t *t)
{
    if (!t) return;
    for (uint32_t i = 0; i < t->n_terms; i++) {
        vs_free(t->terms[i].str);
        vs_free(t->terms[i].post);
    }
    for (uint32_t s = 0; s < t->cap_docs; s++)
        if (t->docs[s].ents != no_ents) vs_free(t->docs[s].ents);
    vs_free(t->terms);
    vs_free(t->docs);
    vs_hmap_free(&t->dict);
    vs_free(t);
}

uint32_t txt_doc_count(const txt_index_t *t)
{
    return t ? t->n_docs : 0;
}

size_t txt_memory_bytes(const txt_index_t *t)
{
    if (!t) return 0;
    return sizeof *t + vs_hmap_memory_bytes(&t->dict) + (size_t)t->cap_terms * sizeof(txt_term) +
           (size_t)t->cap_docs * sizeof(txt_doc) + t->heap_bytes;
}

/* ---- terms ---- */

static bool term_lookup(const txt_index_t *t, const char *tok, size_t len, uint32_t *id)
{
    return len <= UINT32_MAX && vs_hmap_get(&t->dict, tok, len, id);
}

/* The id of tok, creating the term (with no postings) if new. false on out of memory. */
static bool term_intern(txt_index_t *t, const char *tok, size_t len, uint32_t *id_out)
{
    if (term_lookup(t, tok, len, id_out)) return true;
    if (len >= UINT32_MAX) return false;
    uint32_t id = t->free_head;
    if (id == TXT_NONE) {
        if (t->n_terms == TXT_NONE - 1) return false;
        if (t->n_terms == t->cap_terms) {
            size_t ncap = t->cap_terms ? (size_t)t->cap_terms * 2 : 64;
            if (ncap > TXT_NONE - 1) ncap = TXT_NONE - 1;
            txt_term *nt = vs_realloc(t->terms, ncap * sizeof *nt);
            if (!nt) return false;
            t->terms = nt;
            t->cap_terms = (uint32_t)ncap;
        }
        id = t->n_terms;
    }
    char *s = vs_malloc(len + 1);
    if (!s) return false;
    memcpy(s, tok, len);
    s[len] = '\0';
    if (!vs_hmap_put(&t->dict, s, len, id)) {
        vs_free(s);
        return false;
    }
    if (id == t->free_head)
        t->free_head = t->terms[id].next_free;
    else
        t->n_terms++;
    t->terms[id] = (txt_term){s, (uint32_t)len, 0, 0, TXT_NONE, NULL};
    t->heap_bytes += len + 1;
    *id_out = id;
    return true;
}

/* Frees a term that has no postings left and puts its id on the free list. */
static void term_release(txt_index_t *t, uint32_t id)
{
    txt_term *tm = &t->terms[id];
    vs_hmap_del(&t->dict, tm->str, tm->len);
    t->heap_bytes -= tm->len + 1 + (size_t)tm->cap_post * sizeof(txt_post);
    vs_free(tm->str);
    vs_free(tm->post);
    *tm = (txt_term){NULL, 0, 0, 0, t->free_head, NULL};
    t->free_head = id;
}

/* Room for one more posting of term id. */
static bool term_reserve(txt_index_t *t, uint32_t id)
{
    txt_term *tm = &t->terms[id];
    if (tm->n_post < tm->cap_post) return true;
    size_t ncap = tm->cap_post ? (size_t)tm->cap_post * 2 : 2;
    if (ncap > UINT32_MAX) ncap = UINT32_MAX;
    if (ncap <= tm->cap_post) return false;
    txt_post *np = vs_realloc(tm->post, ncap * sizeof *np);
    if (!np) return false;
    t->heap_bytes += (ncap - tm->cap_post) * sizeof *np;
    tm->post = np;
    tm->cap_post = (uint32_t)ncap;
    return true;
}

/* Gives back posting memory once a list is a quarter full (best effort: a failed shrink keeps it).
 */
static void term_shrink(txt_index_t *t, uint32_t id)
{
    txt_term *tm = &t->terms[id];
    if (tm->cap_post < 16 || tm->n_post > tm->cap_post / 4) return;
    uint32_t ncap = tm->cap_post / 2;
    txt_post *np = vs_realloc(tm->post, (size_t)ncap * sizeof *np);
    if (!np) return;
    t->heap_bytes -= (size_t)(tm->cap_post - ncap) * sizeof *np;
    tm->post = np;
    tm->cap_post = ncap;
}

/* ---- documents ---- */

static bool docs_reserve(txt_index_t *t, uint32_t slot)
{
    if (slot < t->cap_docs) return true;
    size_t ncap = t->cap_docs ? (size_t)t->cap_docs * 2 : 64;
    if (ncap < (size_t)slot + 1) ncap = (size_t)slot + 1;
    if (ncap > UINT32_MAX) ncap = UINT32_MAX;
    txt_doc *nd = vs_realloc(t->docs, ncap * sizeof *nd);
    if (!nd) return false;
    memset(nd + t->cap_docs, 0, (ncap - t->cap_docs) * sizeof *nd);
    t->docs = nd;
    t->cap_docs = (uint32_t)ncap;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A growable list of term ids, filled by the tokenizer callbacks. */
typedef struct id_list {
    txt_index_t *t;       /* txt_add: terms are interned; NULL in search (lookup only) */
    const txt_index_t *q; /* txt_search: the index to look tokens up in */
    uint32_t *ids;
    size_t n, cap;
    uint64_t n_tokens;
    bool is_oom;
} id_list;

static bool ids_push_room(id_list *l)
{
    if (l->n < l->cap) return true;
    size_t ncap = l->cap ? l->cap * 2 : 64;
    uint32_t *ni = vs_realloc(l->ids, ncap * sizeof *ni);
    if (!ni) return false;
    l->ids = ni;
    l->cap = ncap;
    return true;
}

static void on_doc_token(void *ctx, const char *tok, size_t len)
{
    id_list *l = ctx;
    uint32_t id;
    if (l->is_oom) return;
    if (!ids_push_room(l) || !term_intern(l->t, tok, len, &id)) {
        l->is_oom = true;
        return;
    }
    l->ids[l->n++] = id;
    l->n_tokens++;
}

static void on_query_token(void *ctx, const char *tok, size_t len)
{
    id_list *l = ctx;
    uint32_t id;
    if (l->is_oom || !term_lookup(l->q, tok, len, &id)) return;
    if (!ids_push_room(l)) {
        l->is_oom = true;
        return;
    }
    l->ids[l->n++] = id;
}

/* Tokenizes every string value of v (object keys are not text). */
static void walk(vs_value v, id_list *l, int depth)
{
    vs_val_type ty = vs_value_type(v);
    if (ty == VS_VAL_STRING) {
        size_t n;
        const char *s = vs_value_string(v, &n);
        if (s) vs_tokenize(s, n, on_doc_token, l);
    } else if ((ty == VS_VAL_ARRAY || ty == VS_VAL_OBJECT) && depth < TXT_MAX_WALK_DEPTH) {
        vs_value_iter it;
        vs_value e;
        const char *k;
        size_t kl;
        vs_value_iter_init(&it, v);
        while (!l->is_oom && vs_value_iter_next(&it, &k, &kl, &e)) walk(e, l, depth + 1);
    }
}

vs_err txt_add(txt_index_t *t, uint32_t slot, vs_value meta, vs_status *st)
{
    if (slot == TXT_NONE)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "text index: slot %u out of range", slot);
    txt_remove(t, slot);
    id_list l = {.t = t};
    if (meta.p) walk(meta, &l, 0);
    uint32_t n_ents = 0;
    txt_dent *ents = NULL;
    bool is_ok = !l.is_oom && l.n_tokens <= UINT32_MAX && docs_reserve(t, slot);
    if (is_ok) {
        if (l.n) qsort(l.ids, l.n, sizeof *l.ids, cmp_u32);
        for (size_t i = 0; i < l.n; i++) n_ents += i == 0 || l.ids[i] != l.ids[i - 1];
        ents = n_ents ? vs_malloc((size_t)n_ents * sizeof *ents) : no_ents;
        is_ok = ents != NULL;
    }
    for (size_t i = 0; is_ok && i < l.n; i++)
        if (i == 0 || l.ids[i] != l.ids[i - 1]) is_ok = term_reserve(t, l.ids[i]);
    if (!is_ok) { /* undo: drop the terms this add created (live terms always have postings) */
        for (size_t i = 0; i < l.n; i++)
            if (t->terms[l.ids[i]].str && t->terms[l.ids[i]].n_post == 0) term_release(t, l.ids[i]);
        if (ents != no_ents) vs_free(ents);
        vs_free(l.ids);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory indexing the text of slot %u", slot);
    }
    /* link: nothing below can fail */
    uint32_t e = 0;
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        while (j < l.n && l.ids[j] == l.ids[i]) j++;
        txt_term *tm = &t->terms[l.ids[i]];
        uint32_t p = tm->n_post++;
        tm->post[p] = (txt_post){slot, (uint32_t)(j - i), e};
        ents[e++] = (txt_dent){l.ids[i], p};
        i = j;
    }
    t->docs[slot] = (txt_doc){ents, n_ents, (uint32_t)l.n_tokens};
    t->n_docs++;
    t->total_len += l.n_tokens;
    if (ents != no_ents) t->heap_bytes += (size_t)n_ents * sizeof *ents;
    vs_free(l.ids);
    return VS_OK;
}

void txt_remove(txt_index_t *t, uint32_t slot)
{
    if (!t || slot >= t->cap_docs || !t->docs[slot].ents) return;
    txt_doc *d = &t->docs[slot];
    for (uint32_t i = 0; i < d->n_ents; i++) {
        uint32_t id = d->ents[i].term, p = d->ents[i].ppos;
        txt_term *tm = &t->terms[id];
        uint32_t last = --tm->n_post;
        if (p != last) {
            txt_post mv = tm->post[last];
            tm->post[p] = mv;
            t->docs[mv.slot].ents[mv.dpos].ppos = p;
        }
        if (tm->n_post == 0)
            term_release(t, id);
        else
            term_shrink(t, id);
    }
    t->n_docs--;
    t->total_len -= d->len;
    if (d->ents != no_ents) {
        t->heap_bytes -= (size_t)d->n_ents * sizeof *d->ents;
        vs_free(d->ents);
    }
    *d = (txt_doc){NULL, 0, 0};
}

/* ---- search ---- */

/* Score accumulator. Hash mode: open addressing, linear probing, key TXT_NONE = empty, sized
 * to twice the postings touched. Dense mode (when the postings touched are at least a quarter of
 * the slot range): vals indexed by slot, 0 = untouched (every contribution is > 0). */
typedef struct acc_tab {
    uint32_t *keys;
    double *vals;
    size_t cap, mask;
    bool is_dense;
} acc_tab;

static bool acc_init(acc_tab *a, size_t sum_df, uint32_t cap_docs)
{
    memset(a, 0, sizeof *a);
    if ((size_t)cap_docs <= 4 * sum_df) {
        a->is_dense = true;
        a->cap = cap_docs;
        a->vals = vs_calloc(cap_docs, sizeof *a->vals);
        return a->vals != NULL;
    }
    size_t cap = 16;
    while (cap < 2 * sum_df) cap *= 2;
    a->cap = cap, a->mask = cap - 1;
    a->keys = vs_malloc(cap * sizeof *a->keys);
    a->vals = vs_malloc(cap * sizeof *a->vals);
    if (!a->keys || !a->vals) return false;
    memset(a->keys, 0xFF, cap * sizeof *a->keys);
    return true;
}

static void acc_free(acc_tab *a)
{
    vs_free(a->keys), vs_free(a->vals);
}

static void acc_add(acc_tab *a, uint32_t slot, double v)
{
    if (a->is_dense) {
        a->vals[slot] += v;
        return;
    }
    size_t i = (size_t)(((uint64_t)slot * 0x9E3779B97F4A7C15ull) >> 32) & a->mask;
    while (a->keys[i] != slot && a->keys[i] != TXT_NONE) i = (i + 1) & a->mask;
    if (a->keys[i] == TXT_NONE) {
        a->keys[i] = slot;
        a->vals[i] = 0;
    }
    a->vals[i] += v;
}

/* Entry i of the table: false if empty, else its slot and score. */
static bool acc_entry(const acc_tab *a, size_t i, uint32_t *slot, double *v)
{
    if (a->is_dense ? a->vals[i] == 0 : a->keys[i] == TXT_NONE) return false;
    *slot = a->is_dense ? (uint32_t)i : a->keys[i];
    *v = a->vals[i];
    return true;
}

/* h ranks below g: lower score, or the same score and a higher slot. */
static bool worse(txt_hit h, txt_hit g)
{
    return h.score < g.score || (h.score == g.score && h.slot > g.slot);
}

static void sift_down(txt_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && worse(h[l], h[m])) m = l;
        if (l + 1 < n && worse(h[l + 1], h[m])) m = l + 1;
        if (m == i) return;
        txt_hit x = h[i];
        h[i] = h[m], h[m] = x;
        i = m;
    }
}

static void sift_up(txt_hit *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(h[i], h[p])) return;
        txt_hit x = h[i];
        h[i] = h[p], h[p] = x;
        i = p;
    }
}

static int cmp_best_first(const void *a, const void *b)
{
    txt_hit x = *(const txt_hit *)a, y = *(const txt_hit *)b;
    return worse(y, x) ? -1 : worse(x, y) ? 1 : 0;
}

size_t txt_search(const txt_index_t *t, const char *query, size_t qlen, txt_accept_fn accept,
                  void *ctx, size_t topn, txt_hit *out)
{
    if (!t || !topn || !t->n_docs || !t->total_len || !query) return 0;
    id_list l = {.q = t};
    vs_tokenize(query, qlen, on_query_token, &l);
    if (l.is_oom || !l.n) {
        vs_free(l.ids);
        return 0;
    }
    qsort(l.ids, l.n, sizeof *l.ids, cmp_u32);
    size_t sum_df = 0;
    for (size_t i = 0; i < l.n; i++)
        if (i == 0 || l.ids[i] != l.ids[i - 1]) sum_df += t->terms[l.ids[i]].n_post;
    acc_tab a;
    if (!acc_init(&a, sum_df, t->cap_docs)) {
        acc_free(&a), vs_free(l.ids);
        return 0;
    }

    /* tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) with the per-query constants hoisted */
    const double k1 = TXT_BM25_K1, b = TXT_BM25_B, N = t->n_docs;
    const double avgdl = (double)t->total_len / N, norm0 = k1 * (1.0 - b), norm1 = k1 * b / avgdl;
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        while (j < l.n && l.ids[j] == l.ids[i]) j++;
        const txt_term *tm = &t->terms[l.ids[i]];
        double n = tm->n_post;
        double w =
            (double)(j - i) * log(1.0 + (N - n + 0.5) / (n + 0.5)) * (k1 + 1.0); /* qtf * IDF */
        for (uint32_t p = 0; p < tm->n_post; p++) {
            double tf = tm->post[p].tf, dl = t->docs[tm->post[p].slot].len;
            acc_add(&a, tm->post[p].slot, w * tf / (tf + norm0 + norm1 * dl));
        }
        i = j;
    }

    size_t n_out = 0;
    for (size_t i = 0; i < a.cap; i++) {
        uint32_t slot;
        double v;
        if (!acc_entry(&a, i, &slot, &v)) continue;
        txt_hit h = {slot, (float)v};
        if (!(h.score > 0)) continue;
        if (n_out == topn && !worse(out[0], h)) continue;
        if (accept && !accept(ctx, h.slot)) continue;
        if (n_out < topn) {
            out[n_out] = h;
            sift_up(out, n_out++);
        } else {
            out[0] = h;
            sift_down(out, n_out, 0);
        }
    }
    qsort(out, n_out, sizeof *out, cmp_best_first);
    acc_free(&a), vs_free(l.ids);
    return n_out;
}

/* ---- checker ---- */

vs_err txt_check(const txt_index_t *t, vs_status *st)
{
    size_t live_terms = 0, free_terms = 0, heap = 0;
    for (uint32_t id = 0; id < t->n_terms; id++) {
        const txt_term *tm = &t->terms[id];
        if (!tm->str) continue;
        live_terms++;
        heap += tm->len + 1 + (size_t)tm->cap_post * sizeof(txt_post);
        uint32_t got;
        if (!vs_hmap_get(&t->dict, tm->str, tm->len, &got) || got != id)
            return vs_status_set(st, VS_ERR_INTERNAL, "term %u '%s' not in the dictionary", id,
                                 tm->str);
        if (tm->n_post == 0 || tm->n_post > tm->cap_post)
            return vs_status_set(st, VS_ERR_INTERNAL, "term %u: %u postings, capacity %u", id,
                                 tm->n_post, tm->cap_post);
        for (uint32_t i = 0; i < tm->n_post; i++) {
            txt_post p = tm->post[i];
            if (p.tf == 0 || p.slot >= t->cap_docs || !t->docs[p.slot].ents ||
                p.dpos >= t->docs[p.slot].n_ents || t->docs[p.slot].ents[p.dpos].term != id ||
                t->docs[p.slot].ents[p.dpos].ppos != i)
                return vs_status_set(st, VS_ERR_INTERNAL,
                                     "term %u posting %u (slot %u) does not match its document", id,
                                     i, p.slot);
        }
    }
    for (uint32_t id = t->free_head; id != TXT_NONE; id = t->terms[id].next_free) {
        if (id >= t->n_terms || t->terms[id].str || ++free_terms > t->n_terms)
            return vs_status_set(st, VS_ERR_INTERNAL, "free list broken at term %u", id);
    }
    if (live_terms != t->dict.n || live_terms + free_terms != t->n_terms)
        return vs_status_set(st, VS_ERR_INTERNAL,
                             "%zu live + %zu free terms, %u ids, dictionary %zu", live_terms,
                             free_terms, t->n_terms, t->dict.n);
    uint32_t n_docs = 0;
    uint64_t total = 0;
    for (uint32_t s = 0; s < t->cap_docs; s++) {
        const txt_doc *d = &t->docs[s];
        if (!d->ents) continue;
        n_docs++;
        total += d->len;
        if (d->ents != no_ents) heap += (size_t)d->n_ents * sizeof(txt_dent);
        uint64_t sum_tf = 0;
        for (uint32_t i = 0; i < d->n_ents; i++) {
            txt_dent e = d->ents[i];
            if (e.term >= t->n_terms || !t->terms[e.term].str ||
                e.ppos >= t->terms[e.term].n_post || t->terms[e.term].post[e.ppos].slot != s ||
                t->terms[e.term].post[e.ppos].dpos != i)
                return vs_status_set(st, VS_ERR_INTERNAL,
                                     "slot %u entry %u does not match its posting", s, i);
            if (i && e.term == d->ents[i - 1].term)
                return vs_status_set(st, VS_ERR_INTERNAL, "slot %u: term %u twice", s, e.term);
            sum_tf += t->terms[e.term].post[e.ppos].tf;
        }
        if (sum_tf != d->len)
            return vs_status_set(st, VS_ERR_INTERNAL, "slot %u: length %u, tf sum %llu", s, d->len,
                                 (unsigned long long)sum_tf);
    }
    if (n_docs != t->n_docs || total != t->total_len)
        return vs_status_set(
            st, VS_ERR_INTERNAL, "%u documents (counted %u), total length %llu (counted %llu)",
            t->n_docs, n_docs, (unsigned long long)t->total_len, (unsigned long long)total);
    if (heap != t->heap_bytes)
        return vs_status_set(st, VS_ERR_INTERNAL, "heap bytes %zu, counted %zu", t->heap_bytes,
                             heap);
    return VS_OK;
}
