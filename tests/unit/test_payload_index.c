/*
 * test_payload_index.c - unit tests of src/core/payload_index.c:
 *   1. exact candidate sets and estimates for simple predicates over 1000 regular records
 *      (keyword, numeric ranges, IN, CONTAINS on arrays, AND intersection, OR union), and the
 *      unbounded cases (NOT, !=, IS NULL, string CONTAINS on a string path, over max);
 *   2. a randomised property test: thousands of random records (mixed types, arrays, nested
 *      objects, long strings, missing fields) under random upserts and deletes, and random
 *      filters: candidates are always a sorted, duplicate-free superset of the flt_eval matches
 *      and the estimate an upper bound; removing everything leaves nothing behind;
 *   3. numeric chunks and chunked keyword lists under heavy churn (splits, merges) against
 *      brute-force counts, with AND / OR over them;
 *   4. an empty index is small; pidx_add under allocation failure is all-or-nothing.
 * Random parts print their seed; rerun with PIDX_SEED=<n>.
 */
#include "core/payload_index.h"

#include "core/filter.h"
#include "core/value.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks;

static void check_true(bool c, const char *expr, const char *file, int line)
{
    g_checks++;
    if (!c) {
        fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, expr);
        exit(1);
    }
}

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

#define ASSERT(c)         check_true((c), #c, __FILE__, __LINE__)
#define ASSERT_EQ_U(a, b) check_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)

static uint64_t g_rng;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return g_rng;
}
static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static flt_expr_t *parse(const char *f)
{
    flt_expr_t *e = NULL;
    vs_status st;
    if (flt_parse(f, strlen(f), &e, &st) != VS_OK) {
        fprintf(stderr, "FAIL parse %s: %s\n", f, st.msg);
        exit(1);
    }
    return e;
}

/* Candidates of f (or SIZE_MAX when unbounded) within max. */
static size_t n_cands(const pidx_t *p, const char *f, size_t max)
{
    flt_expr_t *e = parse(f);
    uint32_t *s = NULL;
    size_t n = 0;
    bool ok = pidx_candidates(p, e, max, &s, &n);
    flt_free(e);
    vs_free(s);
    return ok ? n : SIZE_MAX;
}

static size_t est(const pidx_t *p, const char *f, size_t n_total)
{
    flt_expr_t *e = parse(f);
    size_t n = pidx_estimate(p, e, n_total);
    flt_free(e);
    return n;
}

/* ---- 1. exact sizes ---- */

static uint8_t *regular_record(int i, size_t *len)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "bucket", 6), vs_vb_number(&b, i % 10);
    char g[8];
    snprintf(g, sizeof g, "g%d", i % 3);
    vs_vb_key(&b, "grp", 3), vs_vb_string(&b, g, strlen(g));
    vs_vb_key(&b, "val", 3), vs_vb_number(&b, i);
    vs_vb_key(&b, "arr", 3), vs_vb_begin_array(&b);
    vs_vb_number(&b, i % 5), vs_vb_number(&b, i % 7), vs_vb_string(&b, g, strlen(g));
    vs_vb_end(&b);
    vs_vb_key(&b, "rare", 4), vs_vb_bool(&b, i % 100 == 7);
    vs_vb_key(&b, "o", 1), vs_vb_begin_object(&b);
    vs_vb_key(&b, "p", 1), vs_vb_number(&b, i % 4);
    vs_vb_end(&b);
    vs_vb_end(&b);
    bool td;
    uint8_t *m = vs_vb_finish(&b, len, &td);
    ASSERT(m != NULL);
    return m;
}

static void test_exact(void)
{
    pidx_t *p = pidx_create();
    enum { N = 1000 };
    uint8_t *m[N];
    size_t len[N];
    vs_status st;
    for (int i = 0; i < N; i++) {
        m[i] = regular_record(i, &len[i]);
        ASSERT(pidx_add(p, (uint32_t)i, vs_value_of(m[i], len[i]), &st) == VS_OK);
    }
    ASSERT_EQ_U(n_cands(p, "bucket = 3", N), 100);
    ASSERT_EQ_U(est(p, "bucket = 3", N), 100);
    ASSERT_EQ_U(n_cands(p, "grp = 'g1'", N), 333);
    ASSERT_EQ_U(n_cands(p, "grp IN ('g0', 'g2')", N), 667);
    ASSERT_EQ_U(n_cands(p, "val BETWEEN 100 AND 199", N), 100);
    ASSERT_EQ_U(n_cands(p, "val < 10", N), 10);
    ASSERT_EQ_U(n_cands(p, "val <= 10", N), 11);
    ASSERT_EQ_U(n_cands(p, "val > 989", N), 10);
    ASSERT_EQ_U(n_cands(p, "val >= 989", N), 11);
    ASSERT_EQ_U(n_cands(p, "val = 500", N), 1);
    ASSERT_EQ_U(n_cands(p, "val = 500.5", N), 0);
    ASSERT_EQ_U(n_cands(p, "val IN (1, 2, 3, 2000)", N), 3);
    ASSERT_EQ_U(n_cands(p, "rare = true", N), 10);
    ASSERT_EQ_U(n_cands(p, "rare = false", N), 990);
    ASSERT_EQ_U(n_cands(p, "o.p = 2", N), 250);
    ASSERT_EQ_U(n_cands(p, "arr CONTAINS 4", N), 314);           /* i%5 == 4 or i%7 == 4 */
    ASSERT_EQ_U(n_cands(p, "arr CONTAINS 'g2'", N), 333);        /* no string at arr itself */
    ASSERT_EQ_U(n_cands(p, "bucket = 3 AND grp = 'g0'", N), 34); /* i % 30 == 3 */
    ASSERT_EQ_U(est(p, "bucket = 3 AND grp = 'g0'", N), 100);    /* min of the children */
    ASSERT_EQ_U(n_cands(p, "bucket = 1 OR bucket = 2", N), 200);
    ASSERT_EQ_U(est(p, "bucket = 1 OR bucket = 2", N), 200);
    ASSERT_EQ_U(n_cands(p, "val < 10 OR val >= 995", N), 15);
    ASSERT_EQ_U(n_cands(p, "bucket = 3 AND NOT grp = 'g0'", N), 100); /* the bounded child */
    ASSERT_EQ_U(n_cands(p, "missing = 1", N), 0);
    ASSERT_EQ_U(n_cands(p, "val < true", N), 0); /* never true: empty, not unbounded */
    ASSERT_EQ_U(n_cands(p, "val BETWEEN 1 AND 'z'", N), 0);
    ASSERT_EQ_U(n_cands(p, "bucket = 3 AND val < true", N), 0);
    /* unbounded */
    ASSERT_EQ_U(n_cands(p, "NOT bucket = 3", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket != 3", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket IS NULL", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket IS NOT NULL", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket NOT IN (1)", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket IN (1, null)", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "grp CONTAINS 'g'", N), SIZE_MAX); /* substring of a string */
    ASSERT_EQ_U(n_cands(p, "grp < 'g1'", N), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket = 3 OR grp != 'g0'", N), SIZE_MAX);
    ASSERT_EQ_U(est(p, "NOT bucket = 3", N), N);
    ASSERT_EQ_U(est(p, "bucket = 3 OR grp != 'g0'", N), N);
    ASSERT_EQ_U(est(p, "grp CONTAINS 'g'", 123), 123); /* capped at n_total */
    /* max */
    ASSERT_EQ_U(n_cands(p, "bucket = 3", 99), SIZE_MAX);
    ASSERT_EQ_U(n_cands(p, "bucket = 3", 100), 100);
    ASSERT_EQ_U(n_cands(p, "bucket = 1 OR bucket = 2", 199), SIZE_MAX);
    /* the candidates themselves, sorted */
    {
        flt_expr_t *e = parse("val >= 995 OR val < 2");
        uint32_t *s = NULL;
        size_t n = 0;
        ASSERT(pidx_candidates(p, e, N, &s, &n));
        uint32_t want[] = {0, 1, 995, 996, 997, 998, 999};
        ASSERT_EQ_U(n, 7);
        for (size_t i = 0; i < n; i++) ASSERT_EQ_U(s[i], want[i]);
        vs_free(s);
        ASSERT(!pidx_candidates(p, NULL, N, &s, &n)); /* no filter: not the index's job */
        flt_free(e);
    }
    /* upsert: remove the old version, add a new one */
    pidx_remove(p, 3, vs_value_of(m[3], len[3]));
    ASSERT_EQ_U(n_cands(p, "bucket = 3", N), 99);
    ASSERT_EQ_U(n_cands(p, "val = 3", N), 0);
    ASSERT(pidx_add(p, 3, vs_value_of(m[13], len[13]), &st) == VS_OK);
    ASSERT_EQ_U(n_cands(p, "bucket = 3", N), 100); /* slot 3 again */
    ASSERT_EQ_U(n_cands(p, "val = 13", N), 2);
    pidx_remove(p, 3, vs_value_of(m[13], len[13]));
    printf("1000 records: %zu bytes\n", pidx_memory_bytes(p));
    for (int i = 0; i < N; i++)
        if (i != 3) pidx_remove(p, (uint32_t)i, vs_value_of(m[i], len[i]));
    ASSERT_EQ_U(n_cands(p, "bucket = 3 OR val < 500 OR arr CONTAINS 'g2'", N), 0);
    size_t empty = pidx_memory_bytes(p);
    printf("after removing all: %zu bytes\n", empty);
    ASSERT(empty < 64 * 1024); /* maps keep their capacity, nothing else */
    for (int i = 0; i < N; i++) vs_free(m[i]);
    pidx_destroy(p);
}

/* ---- 2. random property ---- */

static const char *const WORDS[] = {"red", "green", "blue", "ml", "ai", "db", "x", ""};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])
static const char *const FIELDS[] = {"a", "b", "c", "tags", "o.x", "o.y", "big"};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

static char g_long[3][80];

static void rand_scalar(vs_vbuilder *b, bool allow_container)
{
    switch (pick(allow_container ? 9 : 7)) {
    case 0:
        vs_vb_null(b);
        break;
    case 1:
        vs_vb_bool(b, pick(2));
        break;
    case 2:
    case 3:
        vs_vb_number(b, (double)pick(20) - 5);
        break;
    case 4:
        vs_vb_number(b, pick(2) ? 0.0 : -0.0);
        break;
    case 5: {
        const char *w = WORDS[pick(N_WORDS)];
        vs_vb_string(b, w, strlen(w));
        break;
    }
    case 6: {
        const char *w = g_long[pick(3)];
        vs_vb_string(b, w, strlen(w));
        break;
    }
    case 7:
        vs_vb_begin_array(b);
        for (unsigned i = 0, n = pick(4); i < n; i++) rand_scalar(b, false);
        vs_vb_end(b);
        break;
    default:
        vs_vb_begin_object(b);
        vs_vb_key(b, "x", 1), rand_scalar(b, false);
        vs_vb_end(b);
        break;
    }
}

static uint8_t *rand_record(size_t *len)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    static const char *const top[] = {"a", "b", "c", "big"};
    for (int i = 0; i < 4; i++) {
        if (pick(4) == 0) continue; /* missing */
        vs_vb_key(&b, top[i], strlen(top[i]));
        rand_scalar(&b, true);
    }
    if (pick(3)) { /* tags: usually an array with duplicates */
        vs_vb_key(&b, "tags", 4);
        if (pick(5) == 0) {
            rand_scalar(&b, false);
        } else {
            vs_vb_begin_array(&b);
            for (unsigned i = 0, n = pick(6); i < n; i++) rand_scalar(&b, pick(8) == 0);
            vs_vb_end(&b);
        }
    }
    if (pick(2)) {
        vs_vb_key(&b, "o", 1);
        vs_vb_begin_object(&b);
        if (pick(3)) vs_vb_key(&b, "x", 1), rand_scalar(&b, true);
        if (pick(3)) vs_vb_key(&b, "y", 1), rand_scalar(&b, false);
        vs_vb_end(&b);
    }
    vs_vb_end(&b);
    bool td;
    uint8_t *m = vs_vb_finish(&b, len, &td);
    ASSERT(m != NULL);
    return m;
}

static void rand_literal(char *out, size_t size)
{
    switch (pick(6)) {
    case 0:
        snprintf(out, size, "%d", (int)pick(20) - 5);
        break;
    case 1:
        snprintf(out, size, "%d.5", (int)pick(20) - 5);
        break;
    case 2:
        snprintf(out, size, "'%s'", WORDS[pick(N_WORDS)]);
        break;
    case 3:
        snprintf(out, size, "'%s'", g_long[pick(3)]);
        break;
    case 4:
        snprintf(out, size, pick(2) ? "true" : "false");
        break;
    default:
        snprintf(out, size, pick(3) ? "'%s'" : "null", WORDS[pick(N_WORDS)]);
        break;
    }
}

static void rand_filter(char *out, size_t size, int depth)
{
    char l1[120], l2[120], l3[120], sub1[2048], sub2[2048];
    unsigned k = depth >= 3 ? 6 + pick(9) : pick(15);
    const char *f = FIELDS[pick(N_FIELDS)];
    rand_literal(l1, sizeof l1), rand_literal(l2, sizeof l2), rand_literal(l3, sizeof l3);
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">="};
    switch (k) {
    case 0:
    case 1:
    case 2:
        rand_filter(sub1, sizeof sub1, depth + 1), rand_filter(sub2, sizeof sub2, depth + 1);
        snprintf(out, size, "(%s) AND (%s)", sub1, sub2);
        break;
    case 3:
    case 4:
        rand_filter(sub1, sizeof sub1, depth + 1), rand_filter(sub2, sizeof sub2, depth + 1);
        snprintf(out, size, "(%s) OR (%s)", sub1, sub2);
        break;
    case 5:
        rand_filter(sub1, sizeof sub1, depth + 1);
        snprintf(out, size, "NOT (%s)", sub1);
        break;
    case 6:
    case 7:
    case 8:
        snprintf(out, size, "%s %s %s", f, ops[pick(6)], l1);
        break;
    case 9:
        snprintf(out, size, "%s %sIN (%s, %s, %s)", f, pick(3) ? "" : "NOT ", l1, l2, l3);
        break;
    case 10:
        snprintf(out, size, "%s IS %sNULL", f, pick(2) ? "" : "NOT ");
        break;
    case 11:
    case 12:
        snprintf(out, size, "%s CONTAINS %s", f, l1);
        break;
    default:
        if (pick(2)) {
            int a = (int)pick(20) - 5;
            snprintf(out, size, "%s BETWEEN %d AND %d", f, a, a + (int)pick(8) - 1);
        } else {
            snprintf(out, size, "%s BETWEEN %s AND %s", f, l1, l2);
        }
        break;
    }
}

static void check_filters(const pidx_t *p, uint8_t **m, size_t *len, uint32_t n_slots, int rounds,
                          size_t *n_bounded, size_t *n_total)
{
    bool *match = malloc(n_slots);
    for (int r = 0; r < rounds; r++) {
        char f[2048];
        rand_filter(f, sizeof f, 0);
        flt_expr_t *e = parse(f);
        size_t n_match = 0, n_live = 0;
        for (uint32_t s = 0; s < n_slots; s++) {
            match[s] = m[s] && flt_eval(e, vs_value_of(m[s], len[s]));
            n_match += match[s];
            n_live += m[s] != NULL;
        }
        size_t es = pidx_estimate(p, e, n_live);
        if (es < n_match) {
            fprintf(stderr, "FAIL estimate %zu < %zu matches for %s\n", es, n_match, f);
            exit(1);
        }
        uint32_t *c = NULL;
        size_t nc = 0;
        (*n_total)++;
        if (pidx_candidates(p, e, n_slots, &c, &nc)) {
            (*n_bounded)++;
            size_t covered = 0;
            for (size_t i = 0; i < nc; i++) {
                if (i) ASSERT(c[i - 1] < c[i]);
                ASSERT(c[i] < n_slots);
                covered += match[c[i]];
            }
            if (covered != n_match) {
                fprintf(stderr, "FAIL candidates cover %zu of %zu matches for %s\n", covered,
                        n_match, f);
                exit(1);
            }
            vs_free(c);
        }
        flt_free(e);
    }
    free(match);
}

static void test_random(uint64_t seed)
{
    g_rng = seed;
    printf("random property test: seed %llu (rerun with PIDX_SEED=%llu)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    for (int i = 0; i < 3; i++) {
        memset(g_long[i], 'a' + i, 60);
        g_long[i][60 + i] = 0; /* 60..62 bytes: keyed by hash */
    }
    enum { N = 3000 };
    uint8_t **m = calloc(N, sizeof *m);
    size_t *len = calloc(N, sizeof *len);
    pidx_t *p = pidx_create();
    vs_status st;
    for (uint32_t s = 0; s < N; s++) {
        m[s] = rand_record(&len[s]);
        ASSERT(pidx_add(p, s, vs_value_of(m[s], len[s]), &st) == VS_OK);
    }
    size_t n_bounded = 0, n_total = 0;
    check_filters(p, m, len, N, 1500, &n_bounded, &n_total);
    /* churn: upserts (remove + add another record) and deletes, then check again */
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < N / 2; k++) {
            uint32_t s = pick(N);
            if (m[s]) {
                pidx_remove(p, s, vs_value_of(m[s], len[s]));
                vs_free(m[s]);
                m[s] = NULL;
            }
            if (pick(4)) {
                m[s] = rand_record(&len[s]);
                ASSERT(pidx_add(p, s, vs_value_of(m[s], len[s]), &st) == VS_OK);
            }
        }
        check_filters(p, m, len, N, 500, &n_bounded, &n_total);
    }
    printf("random property test: %zu filters, %zu bounded by the index, %zu bytes\n", n_total,
           n_bounded, pidx_memory_bytes(p));
    ASSERT(n_bounded > n_total / 5);
    for (uint32_t s = 0; s < N; s++) {
        if (!m[s]) continue;
        pidx_remove(p, s, vs_value_of(m[s], len[s]));
        vs_free(m[s]);
        m[s] = NULL;
    }
    /* nothing left: every bounded filter has no candidate */
    for (int r = 0; r < 300; r++) {
        char f[2048];
        rand_filter(f, sizeof f, 0);
        flt_expr_t *e = parse(f);
        uint32_t *c = NULL;
        size_t nc = 0;
        if (pidx_candidates(p, e, N, &c, &nc)) ASSERT_EQ_U(nc, 0);
        ASSERT_EQ_U(pidx_estimate(p, e, 0), 0);
        vs_free(c);
        flt_free(e);
    }
    free(m);
    free(len);
    pidx_destroy(p);
}

/* ---- 3. numeric chunks and big keyword lists under churn ---- */

static uint8_t *vk_record(double v, int k, size_t *len)
{
    static const char *const ks[] = {"a", "b", "c"};
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "v", 1), vs_vb_number(&b, v);
    vs_vb_key(&b, "k", 1), vs_vb_string(&b, ks[k], 1);
    vs_vb_end(&b);
    bool td;
    uint8_t *m = vs_vb_finish(&b, len, &td);
    ASSERT(m != NULL);
    return m;
}

static void test_churn(void)
{
    pidx_t *p = pidx_create();
    enum { N = 20000 };
    static double val[N];
    static int kv[N];
    static bool live[N];
    vs_status st;
    char f[128];
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < N; k++) {
            uint32_t s = pick(N);
            size_t l;
            if (live[s]) {
                uint8_t *old = vk_record(val[s], kv[s], &l);
                pidx_remove(p, s, vs_value_of(old, l));
                vs_free(old);
                live[s] = false;
            }
            if (round >= 2 && pick(3)) continue; /* the last rounds shrink: merges */
            val[s] = (double)pick(500) / 4;      /* many duplicates */
            kv[s] = (int)pick(3);                /* ~6600 slots each: chunked keyword lists */
            uint8_t *m = vk_record(val[s], kv[s], &l);
            ASSERT(pidx_add(p, s, vs_value_of(m, l), &st) == VS_OK);
            vs_free(m);
            live[s] = true;
        }
        for (int q = 0; q < 100; q++) {
            double lo = (double)pick(520) / 4 - 2, hi = lo + (double)pick(100) / 4;
            int kk = (int)pick(3);
            size_t want = 0, want_k = 0, want_and = 0, want_gt = 0;
            for (int s = 0; s < N; s++) {
                bool in = live[s] && val[s] >= lo && val[s] <= hi;
                want += in;
                want_k += live[s] && kv[s] == kk;
                want_and += in && kv[s] == kk;
                want_gt += live[s] && val[s] > lo;
            }
            snprintf(f, sizeof f, "v BETWEEN %.2f AND %.2f", lo, hi);
            ASSERT_EQ_U(est(p, f, N), want);
            ASSERT_EQ_U(n_cands(p, f, N), want);
            snprintf(f, sizeof f, "v > %.2f", lo);
            ASSERT_EQ_U(n_cands(p, f, N), want_gt);
            snprintf(f, sizeof f, "k = '%c'", "abc"[kk]);
            ASSERT_EQ_U(est(p, f, N), want_k);
            ASSERT_EQ_U(n_cands(p, f, N), want_k);
            /* AND: the range, narrowed by the chunked keyword list: exact */
            snprintf(f, sizeof f, "v BETWEEN %.2f AND %.2f AND k = '%c'", lo, hi, "abc"[kk]);
            ASSERT_EQ_U(n_cands(p, f, N), want_and);
            snprintf(f, sizeof f, "k = '%c' OR k = '%c'", "abc"[kk], "abc"[(kk + 1) % 3]);
            size_t want_or = 0;
            for (int s = 0; s < N; s++)
                want_or += live[s] && (kv[s] == kk || kv[s] == (kk + 1) % 3);
            ASSERT_EQ_U(n_cands(p, f, N), want_or);
        }
    }
    printf("churn: %zu bytes for the survivors\n", pidx_memory_bytes(p));
    for (int s = 0; s < N; s++) {
        if (!live[s]) continue;
        size_t l;
        uint8_t *old = vk_record(val[s], kv[s], &l);
        pidx_remove(p, (uint32_t)s, vs_value_of(old, l));
        vs_free(old);
    }
    ASSERT_EQ_U(n_cands(p, "k IN ('a', 'b', 'c') OR v > -1", N), 0);
    pidx_destroy(p);
}

/* ---- 4. memory and allocation failure ---- */

static void test_empty_and_oom(void)
{
    pidx_t *p = pidx_create();
    printf("empty index: %zu bytes\n", pidx_memory_bytes(p));
    ASSERT(pidx_memory_bytes(p) < 2048);
    vs_status st;
    size_t l0;
    uint8_t *m0 = regular_record(7, &l0);
    ASSERT(pidx_add(p, 7, vs_value_of(m0, l0), &st) == VS_OK);
    size_t l;
    uint8_t *m = regular_record(3, &l);
    int n_fail = 0;
    for (long k = 0;; k++) {
        vs_alloc_fail_after(k);
        vs_err rc = pidx_add(p, 3, vs_value_of(m, l), &st);
        vs_alloc_fail_after(-1);
        if (rc == VS_OK) break;
        ASSERT(rc == VS_ERR_NOMEM);
        n_fail++;
        /* all or nothing: slot 3 is nowhere, slot 7 untouched */
        ASSERT_EQ_U(n_cands(p, "bucket IN (3, 7)", 100), 1);
        ASSERT_EQ_U(n_cands(p, "grp = 'g0'", 100), 0);
        ASSERT_EQ_U(n_cands(p, "grp = 'g1'", 100), 1);
        ASSERT_EQ_U(n_cands(p, "arr CONTAINS 3", 100), 0);
        ASSERT_EQ_U(n_cands(p, "o.p = 3", 100), 1);
    }
    ASSERT(n_fail >= 5);
    printf("oom: %d failing allocations in pidx_add left the index unchanged\n", n_fail);
    ASSERT_EQ_U(n_cands(p, "bucket IN (3, 7)", 100), 2);
    pidx_remove(p, 3, vs_value_of(m, l));
    pidx_remove(p, 7, vs_value_of(m0, l0));
    ASSERT_EQ_U(n_cands(p, "bucket IN (3, 7) OR grp = 'g1'", 100), 0);
    vs_free(m);
    vs_free(m0);
    pidx_destroy(p);

    /* the 1025th slot of a keyword list moves it into chunks: that step fails cleanly too */
    p = pidx_create();
    for (uint32_t s = 0; s < 1024; s++) {
        m = vk_record(s, 0, &l);
        ASSERT(pidx_add(p, s * 2, vs_value_of(m, l), &st) == VS_OK);
        vs_free(m);
    }
    m = vk_record(5000, 0, &l);
    n_fail = 0;
    for (long k = 0;; k++) {
        vs_alloc_fail_after(k);
        vs_err rc = pidx_add(p, 777, vs_value_of(m, l), &st);
        vs_alloc_fail_after(-1);
        if (rc == VS_OK) break;
        n_fail++;
        ASSERT_EQ_U(n_cands(p, "k = 'a'", 5000), 1024);
        ASSERT_EQ_U(n_cands(p, "v = 5000", 5000), 0);
    }
    ASSERT(n_fail >= 3);
    ASSERT_EQ_U(n_cands(p, "k = 'a'", 5000), 1025);
    ASSERT_EQ_U(n_cands(p, "k = 'a' AND v >= 5000", 5000), 1);
    pidx_remove(p, 777, vs_value_of(m, l));
    ASSERT_EQ_U(n_cands(p, "k = 'a'", 5000), 1024);
    vs_free(m);
    pidx_destroy(p);
}

int main(void)
{
    const char *env = getenv("PIDX_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 0x9e3779b97f4a7c15ULL;
    if (!seed) seed = 1;
    test_exact();
    test_random(seed);
    g_rng = seed ^ 0x5555;
    test_churn();
    test_empty_and_oom();
    printf("test_payload_index: %d checks passed\n", g_checks);
    return 0;
}
