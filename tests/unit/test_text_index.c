/*
 * test_text_index.c - unit tests of src/core/text_index.c (BM25 of SPEC 7):
 *   - exact BM25 scores on the acceptance corpus (checks_hybrid.py EXACT_CORPUS), both against
 *     literal values computed by the acceptance's Python reference and against the formula fed
 *     with hand-counted document lengths and term frequencies;
 *   - removal and re-add keep N, n and the average length exact (h8 soft-deleted and restored;
 *     a record without query terms still moves every score);
 *   - repeated query tokens count each time, case and punctuation in queries;
 *   - the accept filter never changes the statistics and is only asked about matching slots;
 *   - topn and ties (float score descending, slot ascending);
 *   - nested objects and arrays are text, keys / numbers / booleans / null are not; empty
 *     documents count in N and in the average length; Unicode lower-casing; invalid UTF-8;
 *   - replacing a slot, allocation failures at every step of txt_add (index unchanged), and a
 *     random churn of adds, removes and re-adds checked with txt_check after every operation and
 *     against a brute-force BM25 (seed printed; rerun with TEXT_SEED=<n>).
 */
#include "core/text_index.h"

#include "core/value.h"
#include "util/alloc.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long g_checks;

static void fail_here(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, what);
    exit(1);
}

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        g_checks++;                                                                                \
        if (!(c)) fail_here(__FILE__, __LINE__, #c);                                               \
    } while (0)

static void check_u64(uint64_t a, uint64_t b, const char *ea, const char *eb, const char *file,
                      int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "%s:%d: FAIL: %s == %s (%llu vs %llu)\n", file, line, ea, eb,
                (unsigned long long)a, (unsigned long long)b);
        exit(1);
    }
}
#define ASSERT_EQ_U(a, b) check_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)

static void check_near(double a, double b, double tol, const char *ea, const char *eb,
                       const char *file, int line)
{
    g_checks++;
    if (!(fabs(a - b) <= tol)) {
        fprintf(stderr, "%s:%d: FAIL: %s ~ %s (%.9g vs %.9g)\n", file, line, ea, eb, a, b);
        exit(1);
    }
}
#define ASSERT_NEAR(a, b) check_near((a), (b), 1e-5, #a, #b, __FILE__, __LINE__)

static void check_index(const txt_index_t *t, int line)
{
    vs_status st;
    g_checks++;
    if (txt_check(t, &st) != VS_OK) {
        fprintf(stderr, "%s:%d: FAIL: txt_check: %s\n", __FILE__, line, st.msg);
        exit(1);
    }
}
#define CHECK_INDEX(t) check_index((t), __LINE__)

/* ---- metadata from JSON text (test helper; the engine never sees JSON) ---- */

static void build(vs_vbuilder *b, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        vs_vb_null(b);
        break;
    case JSON_TRUE:
        vs_vb_bool(b, true);
        break;
    case JSON_FALSE:
        vs_vb_bool(b, false);
        break;
    case JSON_INTEGER:
        vs_vb_number(b, (double)json_integer_value(j));
        break;
    case JSON_REAL:
        vs_vb_number(b, json_real_value(j));
        break;
    case JSON_STRING:
        vs_vb_string(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_ARRAY:
        vs_vb_begin_array(b);
        for (size_t i = 0; i < json_array_size(j); i++) build(b, json_array_get(j, i));
        vs_vb_end(b);
        break;
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        vs_vb_begin_object(b);
        json_object_foreach(j, k, v)
        {
            vs_vb_key(b, k, strlen(k));
            build(b, v);
        }
        vs_vb_end(b);
        break;
    }
    }
}

typedef struct meta {
    uint8_t *p;
    size_t len;
} meta;

static meta meta_of(const char *json)
{
    json_error_t err;
    json_t *j = json_loads(json, 0, &err);
    if (!j) {
        fprintf(stderr, "bad test JSON %s: %s\n", json, err.text);
        exit(1);
    }
    vs_vbuilder b;
    vs_vb_init(&b);
    build(&b, j);
    json_decref(j);
    meta m;
    m.p = vs_vb_finish(&b, &m.len, NULL);
    ASSERT(m.p != NULL);
    return m;
}

static void add_json(txt_index_t *t, uint32_t slot, const char *json)
{
    meta m = meta_of(json);
    vs_status st;
    ASSERT(txt_add(t, slot, vs_value_of(m.p, m.len), &st) == VS_OK);
    vs_free(m.p); /* the index keeps no pointer into the metadata */
    CHECK_INDEX(t);
}

static size_t search(const txt_index_t *t, const char *q, size_t topn, txt_hit *out)
{
    return txt_search(t, q, strlen(q), NULL, NULL, topn, out);
}

/* The contract's order: float score descending, then slot ascending; every score > 0. */
static void assert_ordered(const txt_hit *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ASSERT(h[i].score > 0);
        if (i)
            ASSERT(h[i - 1].score > h[i].score ||
                   (h[i - 1].score == h[i].score && h[i - 1].slot < h[i].slot));
    }
}

/* ---- BM25 by hand ---- */

static double bm25_term(double qtf, double tf, double dl, double n, double N, double avgdl)
{
    if (tf == 0) return 0;
    double idf = log(1 + (N - n + 0.5) / (n + 0.5));
    return qtf * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl));
}

/* The acceptance corpus (checks_hybrid.py EXACT_CORPUS), slot i+1 = h(i+1), with its token
 * statistics counted by hand: dl = tokens of every string value (keys, numbers, bools excluded). */
static const char *const CORPUS[8] = {
    "{\"title\": \"apple apple banana\"}",
    "{\"title\": \"apple pie\", \"tags\": [\"fresh\", \"apple bread\"], \"year\": 2020}",
    "{\"body\": \"cherry cherry cherry\", \"n\": 5, \"ok\": true}",
    "{\"title\": \"Banana\", \"info\": {\"note\": \"a yellow banana split\"}}",
    "{\"title\": \"grape\"}",
    "{\"text\": \"apple\"}",
    "{\"title\": \"the quick brown fox eats an apple over the lazy dog\"}",
    "{\"title\": \"apple apple apple apple banana kiwi\"}",
};
static const double DL[8] = {3, 5, 3, 5, 1, 1, 11, 6};
static const double TF_APPLE[8] = {2, 2, 0, 0, 0, 1, 1, 4};
static const double TF_BANANA[8] = {1, 0, 0, 2, 0, 0, 0, 1};

/* Expected scores for query "apple" x qa + "banana" x qb over the live documents. */
static void expected_scores(const bool live[8], double qa, double qb, double out[8])
{
    double N = 0, total = 0, na = 0, nb = 0;
    for (int i = 0; i < 8; i++) {
        if (!live[i]) continue;
        N++, total += DL[i];
        na += TF_APPLE[i] > 0, nb += TF_BANANA[i] > 0;
    }
    for (int i = 0; i < 8; i++)
        out[i] = live[i] ? bm25_term(qa, TF_APPLE[i], DL[i], na, N, total / N) +
                               bm25_term(qb, TF_BANANA[i], DL[i], nb, N, total / N)
                         : 0;
}

/* The results of q must be exactly the live documents with a positive expected score. */
static void assert_scores(const txt_index_t *t, const char *q, const bool live[8], double qa,
                          double qb, int line)
{
    double want[8];
    expected_scores(live, qa, qb, want);
    txt_hit h[16];
    size_t n = search(t, q, 16, h);
    assert_ordered(h, n);
    size_t n_want = 0;
    for (int i = 0; i < 8; i++) n_want += want[i] > 0;
    g_checks++;
    if (n != n_want) {
        fprintf(stderr, "%s:%d: FAIL: query '%s': %zu hits, expected %zu\n", __FILE__, line, q, n,
                n_want);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t s = h[i].slot;
        g_checks++;
        if (s < 1 || s > 8 || fabs(h[i].score - want[s - 1]) > 1e-5) {
            fprintf(stderr, "%s:%d: FAIL: query '%s': slot %u score %.9g, expected %.9g\n",
                    __FILE__, line, q, s, h[i].score, s >= 1 && s <= 8 ? want[s - 1] : -1.0);
            exit(1);
        }
    }
}

static double score_of(const txt_hit *h, size_t n, uint32_t slot)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].slot == slot) return h[i].score;
    return 0;
}

static void test_empty(void)
{
    txt_index_t *t = txt_create();
    ASSERT(t != NULL);
    ASSERT(txt_memory_bytes(t) < 1024);
    ASSERT_EQ_U(txt_doc_count(t), 0);
    txt_hit h[4];
    ASSERT_EQ_U(search(t, "anything", 4, h), 0);
    txt_remove(t, 0);
    txt_remove(t, 12345);
    CHECK_INDEX(t);
    add_json(t, 0, "{}");
    ASSERT_EQ_U(txt_doc_count(t), 1);
    ASSERT_EQ_U(search(t, "anything", 4, h), 0);
    txt_remove(t, 0);
    ASSERT_EQ_U(txt_doc_count(t), 0);
    CHECK_INDEX(t);
    txt_destroy(t);
    txt_destroy(NULL);
}

static void test_exact_corpus(void)
{
    txt_index_t *t = txt_create();
    for (uint32_t i = 0; i < 8; i++) add_json(t, i + 1, CORPUS[i]);
    ASSERT_EQ_U(txt_doc_count(t), 8);
    bool live[8] = {true, true, true, true, true, true, true, true};
    txt_hit h[16];

    /* literal values from the acceptance's reference implementation, all 8 live */
    size_t n = search(t, "apple banana", 16, h);
    ASSERT_EQ_U(n, 6);
    ASSERT_NEAR(score_of(h, n, 1), 1.8266230823837515);
    ASSERT_NEAR(score_of(h, n, 2), 0.6509989588417193);
    ASSERT_NEAR(score_of(h, n, 4), 1.2484728563218122);
    ASSERT_NEAR(score_of(h, n, 6), 0.7195576727235322);
    ASSERT_NEAR(score_of(h, n, 7), 0.3040953436449892);
    ASSERT_NEAR(score_of(h, n, 8), 1.602962951459015);
    ASSERT_EQ_U(h[0].slot, 1), ASSERT_EQ_U(h[1].slot, 8), ASSERT_EQ_U(h[2].slot, 4);
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);

    /* h8 soft-deleted: N 7, avgdl 29/7, n(apple) 4, n(banana) 2 */
    txt_remove(t, 8);
    CHECK_INDEX(t);
    live[7] = false;
    ASSERT_EQ_U(txt_doc_count(t), 7);
    n = search(t, "apple banana", 16, h);
    ASSERT_EQ_U(n, 5);
    ASSERT_NEAR(score_of(h, n, 1), 2.1687824393456867);
    ASSERT_NEAR(score_of(h, n, 2), 0.7476218420539154);
    ASSERT_NEAR(score_of(h, n, 4), 1.5113853699715367);
    ASSERT_NEAR(score_of(h, n, 6), 0.8342780101101647);
    ASSERT_NEAR(score_of(h, n, 7), 0.3430675929424976);
    ASSERT_EQ_U(h[0].slot, 1), ASSERT_EQ_U(h[1].slot, 4), ASSERT_EQ_U(h[2].slot, 6),
        ASSERT_EQ_U(h[3].slot, 2), ASSERT_EQ_U(h[4].slot, 7);
    /* the formula with the hand-counted statistics, for h1: tf 2 and 1, dl 3, N 7, avgdl 29/7 */
    double h1 = bm25_term(1, 2, 3, 4, 7, 29.0 / 7) + bm25_term(1, 1, 3, 2, 7, 29.0 / 7);
    ASSERT_NEAR(h1, 2.1687824393456867);
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);
    assert_scores(t, "banana", live, 0, 1, __LINE__);
    n = search(t, "banana", 16, h);
    ASSERT_NEAR(score_of(h, n, 1), 1.3111134569894425);
    ASSERT_NEAR(score_of(h, n, 4), 1.5113853699715367);

    /* repeated query tokens count each time; case and punctuation do not matter */
    n = search(t, "apple apple", 16, h);
    ASSERT_EQ_U(n, 4);
    ASSERT_NEAR(score_of(h, n, 1), 1.7153379647124882);
    ASSERT_NEAR(score_of(h, n, 6), 1.6685560202203293);
    assert_scores(t, "apple apple", live, 2, 0, __LINE__);
    assert_scores(t, "APPLE, Banana!", live, 1, 1, __LINE__);
    assert_scores(t, "banana apple apple banana banana", live, 2, 3, __LINE__);
    assert_scores(t, "apple kiwi zzz", live, 1, 0, __LINE__); /* kiwi only in the removed h8 */
    ASSERT_EQ_U(search(t, "kiwi", 16, h), 0);
    ASSERT_EQ_U(search(t, "zzz ... !!", 16, h), 0);
    ASSERT_EQ_U(search(t, "", 16, h), 0);
    ASSERT_EQ_U(search(t, "apple", 0, h), 0);

    /* removing an absent slot changes nothing; restoring h8 gives back the 8-document scores */
    txt_remove(t, 8);
    txt_remove(t, 100);
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);
    add_json(t, 8, CORPUS[7]);
    live[7] = true;
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);
    n = search(t, "apple banana", 16, h);
    ASSERT_NEAR(score_of(h, n, 8), 1.602962951459015);
    n = search(t, "kiwi", 16, h);
    ASSERT_EQ_U(n, 1);
    ASSERT_EQ_U(h[0].slot, 8);
    ASSERT_NEAR(h[0].score, bm25_term(1, 1, 6, 1, 8, 35.0 / 8));

    /* h3 holds no query term but its length and presence move every score */
    txt_remove(t, 3);
    live[2] = false;
    CHECK_INDEX(t);
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);
    add_json(t, 3, CORPUS[2]);
    live[2] = true;
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);

    /* remove everything in another order, then re-add: same as the start */
    for (uint32_t s = 8; s >= 1; s--) {
        txt_remove(t, s);
        CHECK_INDEX(t);
    }
    ASSERT_EQ_U(txt_doc_count(t), 0);
    ASSERT_EQ_U(search(t, "apple banana", 16, h), 0);
    for (uint32_t i = 0; i < 8; i++) add_json(t, i + 1, CORPUS[i]);
    assert_scores(t, "apple banana", live, 1, 1, __LINE__);
    txt_destroy(t);
}

/* ---- accept filter ---- */

typedef struct accept_log {
    uint32_t allowed_mask; /* bit s: slot s accepted */
    uint32_t asked_mask;
    int n_calls;
} accept_log;

static bool accept_mask(void *ctx, uint32_t slot)
{
    accept_log *a = ctx;
    a->n_calls++;
    a->asked_mask |= 1u << slot;
    return (a->allowed_mask >> slot) & 1;
}

static void test_accept_filter(void)
{
    txt_index_t *t = txt_create();
    for (uint32_t i = 0; i < 8; i++) add_json(t, i + 1, CORPUS[i]);
    txt_hit all[16], h[16];
    size_t n_all = search(t, "apple banana", 16, all);
    /* "title IS NOT NULL" (h1 h2 h4 h5 h7 h8) and "year IS NULL" (all but h2) */
    uint32_t masks[] = {1u << 1 | 1u << 2 | 1u << 4 | 1u << 5 | 1u << 7 | 1u << 8,
                        0x1FEu & ~(1u << 2), 0, 0x1FE};
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        accept_log a = {masks[m], 0, 0};
        size_t n = txt_search(t, "apple banana", 12, accept_mask, &a, 16, h);
        assert_ordered(h, n);
        size_t k = 0;
        for (size_t i = 0; i < n_all; i++) {
            if (!((masks[m] >> all[i].slot) & 1)) continue;
            ASSERT(k < n);
            ASSERT_EQ_U(h[k].slot, all[i].slot);
            ASSERT(h[k].score == all[i].score); /* statistics do not depend on the filter */
            k++;
        }
        ASSERT_EQ_U(k, n);
        /* asked only about slots holding a query term (h3 and h5 hold none) */
        ASSERT_EQ_U(a.asked_mask & (1u << 3 | 1u << 5), 0);
        ASSERT(a.n_calls <= 6);
    }
    /* with a full top 1, later candidates that cannot enter are not even asked */
    accept_log a = {0x1FE, 0, 0};
    size_t n = txt_search(t, "apple banana", 12, accept_mask, &a, 1, h);
    ASSERT_EQ_U(n, 1);
    ASSERT_EQ_U(h[0].slot, all[0].slot);
    ASSERT(a.n_calls >= 1 && a.n_calls <= 6);
    txt_destroy(t);
}

static void test_topn_and_ties(void)
{
    txt_index_t *t = txt_create();
    uint32_t tie_slots[] = {50, 30, 90, 10, 70};
    for (size_t i = 0; i < 5; i++) add_json(t, tie_slots[i], "{\"t\": \"tie words\"}");
    add_json(t, 60, "{\"t\": \"tie tie words\"}");
    add_json(t, 20, "{\"t\": \"tie and a great many other words in a long text\"}");
    add_json(t, 40, "{\"t\": \"unrelated\"}");
    txt_hit h[16];
    size_t n = search(t, "tie", 16, h);
    assert_ordered(h, n);
    ASSERT_EQ_U(n, 7);
    uint32_t want[] = {60, 10, 30, 50, 70, 90, 20};
    for (size_t i = 0; i < n; i++) ASSERT_EQ_U(h[i].slot, want[i]);
    for (size_t topn = 1; topn <= 8; topn++) {
        txt_hit p[16];
        size_t k = search(t, "tie", topn, p);
        ASSERT_EQ_U(k, topn < 7 ? topn : 7);
        for (size_t i = 0; i < k; i++) ASSERT(p[i].slot == h[i].slot && p[i].score == h[i].score);
    }
    /* a slot beyond the first allocation and slot 0 both work */
    add_json(t, 0, "{\"t\": \"tie words\"}");
    add_json(t, 1000000, "{\"t\": \"tie words\"}");
    n = search(t, "tie", 3, h);
    ASSERT_EQ_U(h[1].slot, 0);
    ASSERT_EQ_U(h[2].slot, 10);
    vs_status st;
    ASSERT(txt_add(t, UINT32_MAX, vs_value_empty_object(), &st) == VS_ERR_INVALID_ARGUMENT);
    CHECK_INDEX(t);
    txt_destroy(t);
}

static void test_what_is_text(void)
{
    txt_index_t *t = txt_create();
    add_json(t, 0,
             "{\"body\": \"a long rambling text where zebra appears once among plenty of other "
             "common words\"}");
    add_json(t, 1, "{\"deep\": {\"er\": {\"text\": \"zebra\"}}}");
    add_json(t, 2, "{\"tags\": [\"stripes\", [\"zebra crossing\"]]}");
    add_json(t, 3, "{\"zebra\": 1, \"body\": \"horses and ponies\"}");
    add_json(t, 4,
             "{\"body\": \"no match\", \"count\": 3, \"flag\": true, \"x\": null, \"zebra\": [1, "
             "false, null]}");
    txt_hit h[8];
    size_t n = search(t, "zebra", 8, h);
    ASSERT_EQ_U(n, 3);
    ASSERT_EQ_U(h[0].slot, 1); /* dl 1 */
    ASSERT_EQ_U(h[1].slot, 2); /* dl 3 */
    ASSERT_EQ_U(h[2].slot, 0);
    /* N 5, n 3, lengths 14 1 3 3 2 -> avgdl 23/5 */
    ASSERT_NEAR(h[0].score, bm25_term(1, 1, 1, 3, 5, 23.0 / 5));
    ASSERT_NEAR(h[1].score, bm25_term(1, 1, 3, 3, 5, 23.0 / 5));
    ASSERT_NEAR(h[2].score, bm25_term(1, 1, 14, 3, 5, 23.0 / 5));
    ASSERT_EQ_U(search(t, "true", 8, h), 0);
    ASSERT_EQ_U(search(t, "3 count flag", 8, h), 0);
    /* a document without text counts in N and in the average length */
    add_json(t, 5, "{}");
    add_json(t, 6, "{\"n\": 42}");
    n = search(t, "zebra", 8, h);
    ASSERT_NEAR(h[0].score, bm25_term(1, 1, 1, 3, 7, 23.0 / 7));
    /* the missing view is an empty document too */
    vs_status st;
    ASSERT(txt_add(t, 7, vs_value_missing(), &st) == VS_OK);
    n = search(t, "zebra", 8, h);
    ASSERT_NEAR(h[0].score, bm25_term(1, 1, 1, 3, 8, 23.0 / 8));
    /* a top-level string or array is walked as well */
    add_json(t, 8, "[\"zebra\"]");
    ASSERT_EQ_U(search(t, "zebra", 8, h), 4);
    /* replacing a slot's document */
    add_json(t, 1, "{\"text\": \"no stripes here\"}");
    ASSERT_EQ_U(txt_doc_count(t), 9);
    n = search(t, "zebra", 8, h);
    ASSERT_EQ_U(n, 3);
    ASSERT(score_of(h, n, 1) == 0);
    ASSERT(score_of(h, search(t, "stripes", 8, h), 1) > 0);
    txt_destroy(t);
}

static void test_unicode_and_bad_utf8(void)
{
    txt_index_t *t = txt_create();
    add_json(t, 0,
             "{\"body\": \"this rather long sentence mentions über exactly one single time among "
             "the many words\"}");
    add_json(t, 1, "{\"body\": \"ÜBER\"}");
    add_json(t, 2, "{\"body\": \"über alles, ÜBER-all: über\"}");
    add_json(t, 3, "{\"body\": \"uber rides\"}");
    add_json(t, 4, "{\"body\": \"ÉCOLE Straße ΣΟΦΊΑ\"}");
    txt_hit h[8];
    size_t n = search(t, "Über", 8, h);
    ASSERT_EQ_U(n, 3);
    ASSERT_EQ_U(h[0].slot, 2), ASSERT_EQ_U(h[1].slot, 1), ASSERT_EQ_U(h[2].slot, 0);
    n = search(t, "école STRASSE straße σοφία", 8, h);
    ASSERT_EQ_U(n, 1);
    ASSERT_EQ_U(h[0].slot, 4);
    /* invalid UTF-8 inside a stored string (built directly: JSON parsers refuse it) */
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "body", 4);
    static const char bad[] = "broken \xff\xfe utf8 rocket\xc3",
                      emoji[] = "emoji \xf0\x9f\x9a\x80 rocket launch";
    vs_vb_string(&b, bad, sizeof bad - 1);
    vs_vb_key(&b, "e", 1);
    vs_vb_string(&b, emoji, sizeof emoji - 1);
    vs_vb_end(&b);
    size_t len;
    uint8_t *p = vs_vb_finish(&b, &len, NULL);
    vs_status st;
    ASSERT(txt_add(t, 5, vs_value_of(p, len), &st) == VS_OK);
    vs_free(p);
    CHECK_INDEX(t);
    n = search(t, "rocket \xf0\x9f\x9a\x80 \xff", 8, h);
    ASSERT_EQ_U(n, 1);
    ASSERT_EQ_U(h[0].slot, 5);
    /* dl of slot 5: broken utf8 rocket emoji rocket launch = 6; tf(rocket) 2 */
    ASSERT_NEAR(h[0].score, bm25_term(1, 2, 6, 1, 6, (14 + 1 + 5 + 2 + 3 + 6) / 6.0));
    txt_destroy(t);
}

/* ---- allocation failures ---- */

static void test_oom(void)
{
    int n_failures = 0;
    for (long k = 0;; k++) {
        txt_index_t *t = txt_create();
        for (uint32_t i = 0; i < 7; i++) add_json(t, i + 1, CORPUS[i]);
        txt_hit before[16], after[16];
        size_t nb = search(t, "apple banana kiwi", 16, before);
        size_t mem = txt_memory_bytes(t);
        meta m = meta_of("{\"title\": \"apple apple apple apple banana kiwi\", \"x\": [\"brand new "
                         "words here\"]}");
        vs_status st;
        vs_alloc_fail_after(k);
        vs_err rc = txt_add(t, 5000, vs_value_of(m.p, m.len), &st);
        vs_alloc_fail_after(-1);
        vs_free(m.p);
        CHECK_INDEX(t);
        if (rc == VS_OK) {
            ASSERT_EQ_U(txt_doc_count(t), 8);
            ASSERT(search(t, "kiwi brand", 16, after) == 1);
            txt_destroy(t);
            break;
        }
        n_failures++;
        ASSERT(rc == VS_ERR_NOMEM);
        ASSERT_EQ_U(txt_doc_count(t), 7);
        ASSERT(txt_memory_bytes(t) >= mem); /* capacity may have grown; nothing leaked (ASan) */
        size_t na = search(t, "apple banana kiwi", 16, after);
        ASSERT_EQ_U(na, nb);
        for (size_t i = 0; i < na; i++)
            ASSERT(after[i].slot == before[i].slot && after[i].score == before[i].score);
        ASSERT_EQ_U(search(t, "brand", 16, after), 0);
        txt_destroy(t);
    }
    ASSERT(n_failures >= 5);
    /* a search that cannot allocate returns nothing and leaks nothing */
    txt_index_t *t = txt_create();
    for (uint32_t i = 0; i < 8; i++) add_json(t, i + 1, CORPUS[i]);
    txt_hit h[16];
    for (long k = 0; k < 3; k++) {
        vs_alloc_fail_after(k);
        size_t n = search(t, "apple banana", 16, h);
        vs_alloc_fail_after(-1);
        ASSERT_EQ_U(n, 0);
    }
    ASSERT_EQ_U(search(t, "apple banana", 16, h), 6);
    vs_alloc_fail_after(0);
    ASSERT(txt_create() == NULL);
    vs_alloc_fail_after(-1);
    txt_destroy(t);
    printf("oom: %d failure points of txt_add checked\n", n_failures);
}

/* ---- random churn against brute force ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define CH_SLOTS  150
#define CH_VOCAB  24
#define CH_MAXTOK 40
static const char *const VOCAB[CH_VOCAB] = {
    "alpha", "beta",  "gamma",  "delta",   "eps", "zeta", "eta",     "theta",
    "iota",  "kappa", "lambda", "mu",      "nu",  "xi",   "omicron", "pi",
    "rho",   "sigma", "tau",    "upsilon", "phi", "chi",  "psi",     "omega"};

typedef struct ch_doc {
    bool is_in;
    int n_tok;
    int tok[CH_MAXTOK];
} ch_doc;

static ch_doc g_docs[CH_SLOTS];

static bool accept_even(void *ctx, uint32_t slot)
{
    (void)ctx;
    return slot % 2 == 0;
}

static void churn_add(txt_index_t *t, uint32_t s)
{
    ch_doc *d = &g_docs[s];
    d->n_tok = (int)(rnd() % CH_MAXTOK);
    /* Zipf-ish: low word ids are common */
    for (int i = 0; i < d->n_tok; i++) d->tok[i] = (int)(rnd() % (1 + rnd() % CH_VOCAB));
    /* as one string, two strings and an array, with random case */
    char text[2][CH_MAXTOK * 10];
    size_t len[2] = {0, 0};
    for (int i = 0; i < d->n_tok; i++) {
        int part = (rnd() % 2);
        for (const char *w = VOCAB[d->tok[i]]; *w; w++)
            text[part][len[part]++] = rnd() % 3 ? *w : (char)(*w - 32);
        text[part][len[part]++] = rnd() % 2 ? ' ' : ',';
    }
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "a", 1);
    vs_vb_string(&b, text[0], len[0]);
    vs_vb_key(&b, "n", 1);
    vs_vb_number(&b, 7);
    vs_vb_key(&b, "l", 1);
    vs_vb_begin_array(&b);
    vs_vb_string(&b, text[1], len[1]);
    vs_vb_end(&b);
    vs_vb_end(&b);
    size_t ml;
    uint8_t *p = vs_vb_finish(&b, &ml, NULL);
    vs_status st;
    ASSERT(txt_add(t, s, vs_value_of(p, ml), &st) == VS_OK);
    vs_free(p);
    d->is_in = true;
}

static void churn_query(const txt_index_t *t, bool use_filter)
{
    int nq = 1 + (int)(rnd() % 4), q[4];
    char qs[64];
    size_t ql = 0;
    for (int i = 0; i < nq; i++) {
        q[i] = (int)(rnd() % CH_VOCAB);
        ql += (size_t)snprintf(qs + ql, sizeof qs - ql, "%s ", VOCAB[q[i]]);
    }
    double N = 0, total = 0, df[CH_VOCAB] = {0};
    for (int s = 0; s < CH_SLOTS; s++) {
        if (!g_docs[s].is_in) continue;
        N++, total += g_docs[s].n_tok;
        bool seen[CH_VOCAB] = {false};
        for (int i = 0; i < g_docs[s].n_tok; i++) seen[g_docs[s].tok[i]] = true;
        for (int w = 0; w < CH_VOCAB; w++) df[w] += seen[w];
    }
    double want[CH_SLOTS];
    size_t n_want = 0;
    for (int s = 0; s < CH_SLOTS; s++) {
        want[s] = 0;
        if (!g_docs[s].is_in || (use_filter && s % 2)) continue;
        for (int i = 0; i < nq; i++) {
            double tf = 0;
            for (int k = 0; k < g_docs[s].n_tok; k++) tf += g_docs[s].tok[k] == q[i];
            want[s] += bm25_term(1, tf, g_docs[s].n_tok, df[q[i]], N, total / N);
        }
        n_want += want[s] > 0;
    }
    txt_hit h[CH_SLOTS], p[CH_SLOTS];
    size_t n = txt_search(t, qs, ql, use_filter ? accept_even : NULL, NULL, CH_SLOTS, h);
    assert_ordered(h, n);
    ASSERT_EQ_U(n, n_want);
    for (size_t i = 0; i < n; i++) {
        ASSERT(h[i].slot < CH_SLOTS);
        check_near(h[i].score, want[h[i].slot], 1e-5 * (1 + want[h[i].slot]), "score",
                   "brute force", __FILE__, __LINE__);
    }
    size_t topn = 1 + rnd() % 10;
    size_t k = txt_search(t, qs, ql, use_filter ? accept_even : NULL, NULL, topn, p);
    ASSERT_EQ_U(k, n < topn ? n : topn);
    for (size_t i = 0; i < k; i++) ASSERT(p[i].slot == h[i].slot && p[i].score == h[i].score);
}

static void test_churn(void)
{
    const char *env = getenv("TEXT_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 1234;
    printf("churn: seed %llu (TEXT_SEED=%llu to rerun)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 0x9E3779B97F4A7C15ull + 7;
    memset(g_docs, 0, sizeof g_docs);
    txt_index_t *t = txt_create();
    size_t peak = 0;
    for (int op = 0; op < 6000; op++) {
        uint32_t s = (uint32_t)(rnd() % CH_SLOTS);
        int r = (int)(rnd() % 10);
        if (r < 5) {
            if (!g_docs[s].is_in)
                churn_add(t, s); /* add / restore */
            else
                churn_add(t, s); /* replace */
        } else if (r < 9) {
            txt_remove(t, s);
            g_docs[s].is_in = false;
        } else {
            churn_query(t, rnd() % 2);
        }
        CHECK_INDEX(t);
        uint32_t n_in = 0;
        for (int i = 0; i < CH_SLOTS; i++) n_in += g_docs[i].is_in;
        ASSERT_EQ_U(txt_doc_count(t), n_in);
        if (txt_memory_bytes(t) > peak) peak = txt_memory_bytes(t);
    }
    for (int i = 0; i < 200; i++) churn_query(t, i % 2);
    for (uint32_t s = 0; s < CH_SLOTS; s++) txt_remove(t, s);
    CHECK_INDEX(t);
    ASSERT_EQ_U(txt_doc_count(t), 0);
    ASSERT(txt_memory_bytes(t) <= peak);
    txt_destroy(t);
}

int main(void)
{
    test_empty();
    test_exact_corpus();
    test_accept_filter();
    test_topn_and_ties();
    test_what_is_text();
    test_unicode_and_bad_utf8();
    test_oom();
    test_churn();
    printf("test_text_index: %ld checks passed\n", g_checks);
    return 0;
}
