/*
 * test_filter.c - unit tests of the filter language (src/core/filter/, SPEC 6):
 *   1. every case of /work/shared/acceptance/checks_filter.py (137 filters over its 8 records,
 *      exact id sets), built with the value builder of core/value.h;
 *   2. the same cases through the payload index: candidates are a superset of the matches and
 *      the estimate an upper bound (core/payload_index.h);
 *   3. syntax errors with their exact messages and columns (columns count UTF-8 code points);
 *   4. the limits (4096 bytes, depth 64 accepted; 4097, 65 rejected; IN / NOT IN / IS NOT NULL
 *      do not count) and the lexer's number rules;
 *   5. out-of-memory at every allocation of a parse: a clean VS_ERR_NOMEM, no leak (ASan).
 */
#include "core/filter.h"
#include "core/payload_index.h"
#include "core/value.h"

#include "util/alloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_fails;

static void check_true(bool c, const char *expr, const char *file, int line)
{
    g_checks++;
    if (!c) {
        fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, expr);
        exit(1);
    }
}

#define ASSERT(c) check_true((c), #c, __FILE__, __LINE__)

/* Generated from /work/shared/acceptance/checks_filter.py (DATA and TABLES). */
static const char *const DATA[][2] = {
    {"r1", "{\"category\": \"tech\", \"year\": 2021, \"tags\": [\"ml\", \"ai\"], \"price\": 9.99, "
           "\"author\": {\"name\": \"ann\", \"age\": 31}, \"note\": null, \"active\": true, "
           "\"title\": \"it's fine\", \"nums\": [1, 2, 3]}"},
    {"r2", "{\"category\": \"tech\", \"year\": 2019, \"tags\": [\"db\"], \"price\": 20, "
           "\"author\": {\"name\": \"bob\", \"age\": 45}, \"active\": false, \"weird key\": 1, "
           "\"we\\\"ird\": 1, \"mixed\": [1, null, \"x\"]}"},
    {"r3", "{\"category\": \"science\", \"year\": 2020, \"tags\": [\"ml\"], \"price\": 5, "
           "\"author\": {\"name\": \"cy\"}, \"note\": \"x\", \"active\": true, \"city\": "
           "\"Zürich\", \"list\": [{\"k\": 1}]}"},
    {"r4", "{\"category\": \"art\", \"year\": \"2020\", \"tags\": [], \"price\": null, \"active\": "
           "true}"},
    {"r5", "{\"category\": \"Tech\", \"year\": 2022, \"tags\": [\"ai\", \"ml\", \"db\"], "
           "\"author\": {\"name\": \"ann\", \"age\": 28}, \"in\": 1, \"title\": \"machine "
           "learning\", \"nums\": [4, 5]}"},
    {"r6", "{}"},
    {"r7",
     "{\"category\": \"science\", \"year\": 2018, \"tags\": \"ml-notes\", \"price\": 100, "
     "\"active\": false, \"author\": {\"name\": \"dee\", \"address\": {\"city\": \"Oslo\"}}}"},
    {"r8", "{\"category\": \"tech\", \"year\": 2023, \"price\": 0, \"note\": null, \"n\": -3.5, "
           "\"path\": \"C:\\\\dir\"}"},
};
static const struct {
    const char *table, *filter, *want;
} CASES[] = {
    {"comparisons", "category = 'tech'", "r1 r2 r8"},
    {"comparisons", "category != 'tech'", "r3 r4 r5 r7"},
    {"comparisons", "category <> 'tech'", "r3 r4 r5 r7"},
    {"comparisons", "category = 'TECH'", ""},
    {"comparisons", "year > 2020", "r1 r5 r8"},
    {"comparisons", "year >= 2020", "r1 r3 r5 r8"},
    {"comparisons", "year < 2020", "r2 r7"},
    {"comparisons", "year <= 2019", "r2 r7"},
    {"comparisons", "price = 20", "r2"},
    {"comparisons", "price = 20.0", "r2"},
    {"comparisons", "price < 10", "r1 r3 r8"},
    {"comparisons", "active = true", "r1 r3 r4"},
    {"comparisons", "active = false", "r2 r7"},
    {"comparisons", "active != true", "r2 r7"},
    {"comparisons", "category < 'tech'", "r3 r4 r5 r7"},
    {"comparisons", "category > 'science'", "r1 r2 r8"},
    {"comparisons", "city = 'Zürich'", "r3"},
    {"comparisons", "active < true", ""},
    {"comparisons", "active >= false", ""},
    {"comparisons", "mixed = 1", ""},
    {"comparisons", "mixed != 1", ""},
    {"numbers", "price = 9.99", "r1"},
    {"numbers", "year = 2.021e3", "r1"},
    {"numbers", "price >= 1e2", "r7"},
    {"numbers", "n = -3.5", "r8"},
    {"numbers", "n < 0", "r8"},
    {"numbers", "price > -1", "r1 r2 r3 r7 r8"},
    {"numbers", "author.age >= 31.0", "r1 r2"},
    {"boolean_logic", "category = 'tech' AND year >= 2020", "r1 r8"},
    {"boolean_logic", "category = 'tech' OR tags CONTAINS 'ai'", "r1 r2 r5 r8"},
    {"boolean_logic", "category = 'art' OR category = 'tech' AND year > 2021", "r4 r8"},
    {"boolean_logic", "(category = 'art' OR category = 'tech') AND year > 2021", "r8"},
    {"boolean_logic", "category = 'tech' AND (year >= 2020 OR tags CONTAINS 'ml')", "r1 r8"},
    {"boolean_logic", "NOT category = 'tech'", "r3 r4 r5 r6 r7"},
    {"boolean_logic", "NOT (category = 'tech')", "r3 r4 r5 r6 r7"},
    {"boolean_logic", "NOT (category = 'tech' OR category = 'science')", "r4 r5 r6"},
    {"boolean_logic", "NOT NOT category = 'tech'", "r1 r2 r8"},
    {"boolean_logic", "((((category = 'tech'))))", "r1 r2 r8"},
    {"boolean_logic", "NOT active = true", "r2 r5 r6 r7 r8"},
    {"boolean_logic", "category = 'tech' AND NOT year < 2020", "r1 r8"},
    {"boolean_logic", "year > 2020 AND year < 2023 OR category = 'art'", "r1 r4 r5"},
    {"boolean_logic",
     "active = true AND (category = 'science' OR category = 'art') AND NOT tags CONTAINS 'ml'",
     "r4"},
    {"in_not_in", "category IN ('tech', 'art')", "r1 r2 r4 r8"},
    {"in_not_in", "category NOT IN ('tech', 'art')", "r3 r5 r7"},
    {"in_not_in", "year IN (2019, 2020)", "r2 r3"},
    {"in_not_in", "year IN ('2020')", "r4"},
    {"in_not_in", "category IN ('nothing')", ""},
    {"in_not_in", "NOT category IN ('tech')", "r3 r4 r5 r6 r7"},
    {"in_not_in", "author.name IN ('ann', 'dee')", "r1 r5 r7"},
    {"in_not_in", "year NOT IN (2018, 2019, 2020, 2021, 2022)", "r8"},
    {"in_not_in", "zzz NOT IN (1, 2)", ""},
    {"in_not_in", "NOT zzz IN (1, 2)", "r1 r2 r3 r4 r5 r6 r7 r8"},
    {"in_not_in", "year NOT IN ('2021')", "r4"},
    {"in_not_in", "year NOT IN ('2020')", ""},
    {"in_not_in", "tags NOT IN ('ml')", "r7"},
    {"in_not_in", "price NOT IN (20, 5)", "r1 r7 r8"},
    {"null", "note IS NULL", "r1 r2 r4 r5 r6 r7 r8"},
    {"null", "note IS NOT NULL", "r3"},
    {"null", "price IS NULL", "r4 r5 r6"},
    {"null", "price IS NOT NULL", "r1 r2 r3 r7 r8"},
    {"null", "zzz IS NULL", "r1 r2 r3 r4 r5 r6 r7 r8"},
    {"null", "author.address.city IS NOT NULL", "r7"},
    {"null", "NOT note IS NULL", "r3"},
    {"null", "note = null", "r1 r2 r4 r5 r6 r7 r8"},
    {"null", "note != null", "r3"},
    {"null", "note <> null", "r3"},
    {"null", "note = NULL", "r1 r2 r4 r5 r6 r7 r8"},
    {"null", "price = null", "r4 r5 r6"},
    {"null", "price != null", "r1 r2 r3 r7 r8"},
    {"null", "zzz = null", "r1 r2 r3 r4 r5 r6 r7 r8"},
    {"null", "zzz != null", ""},
    {"null", "NOT note = null", "r3"},
    {"null", "author.address.city != null", "r7"},
    {"null", "category = 'tech' AND note = null", "r1 r2 r8"},
    {"null", "mixed = null", "r1 r3 r4 r5 r6 r7 r8"},
    {"null", "mixed IS NOT NULL", "r2"},
    {"contains", "tags CONTAINS 'ml'", "r1 r3 r5 r7"},
    {"contains", "tags CONTAINS 'db'", "r2 r5"},
    {"contains", "tags CONTAINS 'm'", "r7"},
    {"contains", "title CONTAINS 'learn'", "r5"},
    {"contains", "title CONTAINS 's f'", "r1"},
    {"contains", "nums CONTAINS 2", "r1"},
    {"contains", "nums CONTAINS '2'", ""},
    {"contains", "category CONTAINS 'ech'", "r1 r2 r5 r8"},
    {"contains", "NOT tags CONTAINS 'ml'", "r2 r4 r6 r8"},
    {"contains", "mixed CONTAINS null", "r2"},
    {"contains", "mixed CONTAINS 'x'", "r2"},
    {"contains", "mixed CONTAINS 1", "r2"},
    {"contains", "mixed CONTAINS '1'", ""},
    {"between", "price BETWEEN 5 AND 20", "r1 r2 r3"},
    {"between", "year BETWEEN 2019 AND 2021", "r1 r2 r3"},
    {"between", "year BETWEEN 2021 AND 2019", ""},
    {"between", "price BETWEEN 0 AND 5 OR year = 2018", "r3 r7 r8"},
    {"between", "author.age BETWEEN 28 AND 31", "r1 r5"},
    {"between", "NOT price BETWEEN 5 AND 20", "r4 r5 r6 r7 r8"},
    {"between", "category BETWEEN 'a' AND 't'", "r3 r4 r7"},
    {"paths", "author.name = 'ann'", "r1 r5"},
    {"paths", "author.age > 30", "r1 r2"},
    {"paths", "author.address.city = 'Oslo'", "r7"},
    {"paths", "\"author\".\"name\" = 'bob'", "r2"},
    {"paths", "\"weird key\" = 1", "r2"},
    {"paths", "category.x = 1", ""},
    {"paths", "author = 'ann'", ""},
    {"paths", "author.name.first = 'ann'", ""},
    {"paths", "author.address.city IN ('Oslo')", "r7"},
    {"paths", "list.k = 1", ""},
    {"paths", "list.k IS NULL", "r1 r2 r3 r4 r5 r6 r7 r8"},
    {"paths", "\"in\" = 1", "r5"},
    {"paths", "\"we\"\"ird\" = 1", "r2"},
    {"quotes", "title = 'it''s fine'", "r1"},
    {"quotes", "title != 'it''s fine'", "r5"},
    {"quotes", "title = 'it'", ""},
    {"quotes", "title CONTAINS ''''", "r1"},
    {"quotes", "path = 'C:\\dir'", "r8"},
    {"quotes", "path CONTAINS '\\'", "r8"},
    {"type_mismatch", "year = '2020'", "r4"},
    {"type_mismatch", "year = 2020", "r3"},
    {"type_mismatch", "tags = 'ml'", ""},
    {"type_mismatch", "active = 1", ""},
    {"type_mismatch", "price = '20'", ""},
    {"type_mismatch", "zzz != 1", ""},
    {"type_mismatch", "NOT zzz = 1", "r1 r2 r3 r4 r5 r6 r7 r8"},
    {"type_mismatch", "note = 'x'", "r3"},
    {"type_mismatch", "year > '2000'", "r4"},
    {"type_mismatch", "category > 5", ""},
    {"keywords_case_and_spacing", "category = 'tech' and not year < 2020", "r1 r8"},
    {"keywords_case_and_spacing", "tags contains 'ml' AnD price between 5 and 10", "r1 r3"},
    {"keywords_case_and_spacing", "note is null and category in ('science')", "r7"},
    {"keywords_case_and_spacing", "note iS nOt NuLl", "r3"},
    {"keywords_case_and_spacing", "category not in ('tech') or active = TRUE", "r1 r3 r4 r5 r7"},
    {"keywords_case_and_spacing", "  category='tech'  ", "r1 r2 r8"},
    {"keywords_case_and_spacing", "category='tech' AND year>2020", "r1 r8"},
    {"keywords_case_and_spacing", "(category='art')OR(category='science')", "r3 r4 r7"},
    {"keywords_case_and_spacing", "category\t=\t'tech'", "r1 r2 r8"},
    {"keywords_case_and_spacing", "category = 'tech'\r\nAND year > 2020", "r1 r8"},
    {"keywords_case_and_spacing", "", "r1 r2 r3 r4 r5 r6 r7 r8"},
    {"keywords_case_and_spacing", "  \t\n ", "r1 r2 r3 r4 r5 r6 r7 r8"},
};

#define N_REC (sizeof DATA / sizeof DATA[0])

static uint8_t *g_meta[N_REC];
static size_t g_meta_len[N_REC];

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
    case JSON_ARRAY: {
        vs_vb_begin_array(b);
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) build(b, e);
        vs_vb_end(b);
        break;
    }
    case JSON_OBJECT: {
        vs_vb_begin_object(b);
        const char *k;
        json_t *e;
        json_object_foreach(j, k, e)
        {
            vs_vb_key(b, k, strlen(k));
            build(b, e);
        }
        vs_vb_end(b);
        break;
    }
    }
}

static uint8_t *encode_json(const char *text, size_t *len_out)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, err.text);
        exit(1);
    }
    vs_vbuilder b;
    vs_vb_init(&b);
    build(&b, j);
    json_decref(j);
    bool too_deep;
    uint8_t *p = vs_vb_finish(&b, len_out, &too_deep);
    ASSERT(p != NULL);
    return p;
}

static vs_value meta(size_t i)
{
    return vs_value_of(g_meta[i], g_meta_len[i]);
}

/* The ids (space-separated, sorted like DATA) matching f, or NULL (and msg) on a parse error. */
static bool run(const char *f, size_t len, char *got, size_t got_size, vs_status *st)
{
    flt_expr_t *e = (flt_expr_t *)1;
    vs_err rc = flt_parse(f, len, &e, st);
    if (rc != VS_OK) {
        ASSERT(e == (flt_expr_t *)1); /* out written only on success */
        return false;
    }
    got[0] = 0;
    for (size_t i = 0; i < N_REC; i++) {
        if (!flt_eval(e, meta(i))) continue;
        if (got[0]) strncat(got, " ", got_size - strlen(got) - 1);
        strncat(got, DATA[i][0], got_size - strlen(got) - 1);
    }
    flt_free(e);
    return true;
}

static void test_acceptance_tables(void)
{
    /* An empty want means none; the keywords table's "" filter means "all". */
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        char got[256];
        vs_status st;
        vs_status_clear(&st);
        const char *f = CASES[c].filter;
        if (!run(f, strlen(f), got, sizeof got, &st)) {
            fprintf(stderr, "FAIL [%s] %s: parse error %s\n", CASES[c].table, f, st.msg);
            g_fails++;
            continue;
        }
        g_checks++;
        if (strcmp(got, CASES[c].want) != 0) {
            fprintf(stderr, "FAIL [%s] %s: expected {%s}, got {%s}\n", CASES[c].table, f,
                    CASES[c].want, got);
            g_fails++;
        }
    }
    ASSERT(g_fails == 0);
    printf("acceptance tables: %zu filters OK\n", sizeof CASES / sizeof CASES[0]);
}

/* The payload index over the same records: candidates ⊇ matches, estimate >= matches, and the
 * candidates of simple bounded predicates are exact. */
static void test_index_superset(void)
{
    pidx_t *p = pidx_create();
    ASSERT(p != NULL);
    vs_status st;
    for (size_t i = 0; i < N_REC; i++) ASSERT(pidx_add(p, (uint32_t)i, meta(i), &st) == VS_OK);
    size_t n_bounded = 0;
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        flt_expr_t *e = NULL;
        const char *f = CASES[c].filter;
        ASSERT(flt_parse(f, strlen(f), &e, &st) == VS_OK);
        if (!e) continue;
        size_t n_match = 0;
        bool match[N_REC];
        for (size_t i = 0; i < N_REC; i++) n_match += (match[i] = flt_eval(e, meta(i)));
        size_t est = pidx_estimate(p, e, N_REC);
        if (est < n_match || est > N_REC) {
            fprintf(stderr, "FAIL estimate of %s: %zu, %zu match\n", f, est, n_match);
            exit(1);
        }
        uint32_t *slots = NULL;
        size_t n = 0;
        if (pidx_candidates(p, e, N_REC, &slots, &n)) {
            n_bounded++;
            for (size_t k = 1; k < n; k++) ASSERT(slots[k - 1] < slots[k]);
            size_t covered = 0;
            for (size_t k = 0; k < n; k++) {
                ASSERT(slots[k] < N_REC);
                covered += match[slots[k]];
            }
            if (covered != n_match) {
                fprintf(stderr, "FAIL candidates of %s miss a match\n", f);
                exit(1);
            }
            vs_free(slots);
        }
        flt_free(e);
    }
    printf("index superset: %zu of the filters bounded by the index\n", n_bounded);
    ASSERT(n_bounded >= 40);
    pidx_destroy(p);
}

static void expect_error(const char *f, const char *want)
{
    vs_status st;
    vs_status_clear(&st);
    flt_expr_t *e = NULL;
    vs_err rc = flt_parse(f, strlen(f), &e, &st);
    g_checks++;
    if (rc != VS_ERR_INVALID_ARGUMENT || strcmp(st.msg, want) != 0) {
        fprintf(stderr, "FAIL %s\n  expected: %s\n  got (%d): %s\n", f, want, (int)rc, st.msg);
        g_fails++;
    }
    if (rc == VS_OK) flt_free(e);
}

static void test_errors(void)
{
    /* The SPEC's example and the column in characters (the ü is one column, two bytes). */
    expect_error("category = AND year = 1",
                 "Invalid filter: expected a value after '=' at column 12");
    expect_error("city = 'Zürich' OR x = AND y = 1",
                 "Invalid filter: expected a value after '=' at column 24");
    /* Every bad filter of checks_http.py's http_error_bad_filters_various, pinned. */
    static const char *const golden[][2] = {
        {"category = ", "Invalid filter: expected a value after '=' at column 12"},
        {"(category = 'tech'", "Invalid filter: expected AND, OR or ')' at column 19"},
        {"category = 'tech", "Invalid filter: expected a closing ' for the string (a quote inside "
                             "is doubled: 'it''s') at column 12"},
        {"category == 'tech'", "Invalid filter: expected a value after '=' at column 11"},
        {"category = 'tech' AND", "Invalid filter: expected a field name, NOT or '(' at column 22"},
        {"category IN ()", "Invalid filter: expected a value after '(' at column 14"},
        {"category IN ('a' 'b')",
         "Invalid filter: expected ',' or ')' in the IN list at column 18"},
        {"year BETWEEN 1", "Invalid filter: expected AND after BETWEEN's first value at column 15"},
        {"IS NULL", "Invalid filter: expected a field name, NOT or '(' (IS is a keyword: quote a "
                    "field named like it, e.g. \"IS\") at column 1"},
        {"category 'tech'", "Invalid filter: expected an operator (=, !=, <>, <, <=, >, >=, IN, "
                            "NOT IN, IS, CONTAINS or BETWEEN) after the field name at column 10"},
        {"category = 'tech')",
         "Invalid filter: expected AND, OR or the end of the filter (unmatched ')') at column 18"},
        {"NOT", "Invalid filter: expected a field name, NOT or '(' at column 4"},
        {"category ~ 'x'", "Invalid filter: unexpected character '~' at column 10"},
        {"category = tech", "Invalid filter: expected a value after '=' (strings are "
                            "single-quoted: 'text') at column 12"},
        {"AND category = 'x'", "Invalid filter: expected a field name, NOT or '(' (AND is a "
                               "keyword: quote a field named like it, e.g. \"AND\") at column 1"},
        {"x IS NOT", "Invalid filter: expected NULL after IS NOT at column 9"},
        {"x CONTAINS", "Invalid filter: expected a value after CONTAINS at column 11"},
        {"1 = x", "Invalid filter: expected a field name, NOT or '(' at column 1"},
        {"category = 'a' OR OR category = 'b'",
         "Invalid filter: expected a field name, NOT or '(' (OR is a keyword: quote a field named "
         "like it, e.g. \"OR\") at column 19"},
        {"\"unterminated = 1",
         "Invalid filter: expected a closing \" for the quoted name at column 1"},
        {"in = 1", "Invalid filter: expected a field name, NOT or '(' (IN is a keyword: quote a "
                   "field named like it, e.g. \"in\") at column 1"},
        {"and = 1", "Invalid filter: expected a field name, NOT or '(' (AND is a keyword: quote a "
                    "field named like it, e.g. \"and\") at column 1"},
        {"price = .5", "Invalid filter: expected a value after '=' at column 9"},
        {"price = 5.",
         "Invalid filter: expected a number in JSON form (e.g. 5, -0.5, 2.5e3) at column 9"},
        {"price = +5", "Invalid filter: unexpected character '+' at column 9"},
        {"year = 02021", "Invalid filter: expected a number without leading zeros at column 8"},
        {"price = 1e",
         "Invalid filter: expected a number in JSON form (e.g. 5, -0.5, 2.5e3) at column 9"},
        {"price = 0x10", "Invalid filter: expected a space, an operator or a parenthesis after the "
                         "number at column 10"},
        {"year = 2020AND category = 'tech'", "Invalid filter: expected a space, an operator or a "
                                             "parenthesis after the number at column 12"},
        {"year BETWEEN 2019AND 2021", "Invalid filter: expected a space, an operator or a "
                                      "parenthesis after the number at column 18"},
        {"price = 5or year = 1", "Invalid filter: expected a space, an operator or a parenthesis "
                                 "after the number at column 10"},
        {"\"\" = 1", "Invalid filter: expected a non-empty quoted name at column 1"},
        {"author.\"\" IS NULL", "Invalid filter: expected a non-empty quoted name at column 8"},
        {"price = 1e400",
         "Invalid filter: expected a number within the finite doubles (|x| < 1.8e308) at column 9"},
        {"price < -1e309",
         "Invalid filter: expected a number within the finite doubles (|x| < 1.8e308) at column 9"},
        {"price IN (1, 2e308)", "Invalid filter: expected a number within the finite doubles (|x| "
                                "< 1.8e308) at column 14"},
        {"author . name = 'ann'", "Invalid filter: expected an operator after the field name (no "
                                  "spaces around '.' in a path) at column 8"},
        {"author. name = 'ann'",
         "Invalid filter: expected a field name right after '.' (no spaces in a path) at column 9"},
        {"author .name = 'ann'", "Invalid filter: expected an operator after the field name (no "
                                 "spaces around '.' in a path) at column 8"},
        {"x IN ()", "Invalid filter: expected a value after '(' at column 7"},
        {"t =", "Invalid filter: expected a value after '=' at column 4"},
        {"a.in = 1", "Invalid filter: expected a field name after '.' (IN is a keyword: quote it "
                     "as a name, e.g. \"in\") at column 3"},
        {"x = 1 y", "Invalid filter: expected AND, OR or the end of the filter at column 7"},
        {"x = 'a' AND (y = 1", "Invalid filter: expected AND, OR or ')' at column 19"},
        {"x = \"s\"", "Invalid filter: expected a value after '=' (strings are single-quoted: "
                      "'text') at column 5"},
        {"é = 1", "Invalid filter: unexpected character 'é' at column 1"},
        {"x = 1\x01"
         "",
         "Invalid filter: unexpected character U+0001 at column 6"},
        {"x IS", "Invalid filter: expected NULL after IS at column 5"},
        {"x NOT = 1", "Invalid filter: expected IN after NOT at column 7"},
        {"x BETWEEN 1 OR 2",
         "Invalid filter: expected AND after BETWEEN's first value at column 13"},
        {"x IN 1", "Invalid filter: expected '(' after IN at column 6"},
        {"x = -",
         "Invalid filter: expected a number in JSON form (e.g. 5, -0.5, 2.5e3) at column 5"},
        {"x = 1.5e+",
         "Invalid filter: expected a number in JSON form (e.g. 5, -0.5, 2.5e3) at column 5"},
    };
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++)
        expect_error(golden[i][0], golden[i][1]);
    /* every message has the shape the HTTP checks require, with the column inside the string */
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        const char *m = strstr(golden[i][1], " at column ");
        ASSERT(m && strncmp(golden[i][1], "Invalid filter: ", 16) == 0);
        long col = strtol(m + 11, NULL, 10);
        ASSERT(col >= 1 && (size_t)col <= strlen(golden[i][0]) + 1);
    }
    /* columns count code points: 'é' and 'ü' are two bytes, '€' three, one column each */
    expect_error("\"é\" = 'ü€' AND",
                 "Invalid filter: expected a field name, NOT or '(' at column 15");
    expect_error("x = '€' y",
                 "Invalid filter: expected AND, OR or the end of the filter at column 9");
    /* a NUL byte inside the given length is an error, not the end */
    {
        vs_status st;
        flt_expr_t *e = NULL;
        ASSERT(flt_parse("x = 1\0y", 7, &e, &st) == VS_ERR_INVALID_ARGUMENT);
        ASSERT(strcmp(st.msg, "Invalid filter: unexpected character U+0000 at column 6") == 0);
    }
    /* invalid UTF-8 never reaches the message raw */
    expect_error("x = 1 \xff", "Invalid filter: unexpected byte 0xFF (not UTF-8) at column 7");
    ASSERT(g_fails == 0);
}

static char *repeat(const char *prefix, const char *unit, int n, const char *mid, const char *unit2,
                    int n2, const char *suffix)
{
    size_t len =
        strlen(prefix) + strlen(unit) * n + strlen(mid) + strlen(unit2) * n2 + strlen(suffix) + 1;
    char *s = malloc(len);
    strcpy(s, prefix);
    for (int i = 0; i < n; i++) strcat(s, unit);
    strcat(s, mid);
    for (int i = 0; i < n2; i++) strcat(s, unit2);
    strcat(s, suffix);
    return s;
}

/* Pads "category = 'tech' OR category = '" + fill... + "'" to exactly nbytes (as checks_filter.py).
 */
static char *pad_to(const char *fill, size_t nbytes)
{
    const char *prefix = "category = 'tech' OR category = '";
    char *s = malloc(nbytes + 1);
    size_t n = strlen(prefix), fl = strlen(fill);
    memcpy(s, prefix, n);
    while (n + fl + 1 <= nbytes) memcpy(s + n, fill, fl), n += fl;
    while (n + 1 < nbytes) s[n++] = 'x';
    s[n++] = '\'';
    s[n] = 0;
    return s;
}

static void expect_tech(const char *what, const char *f)
{
    char got[256];
    vs_status st;
    g_checks++;
    if (!run(f, strlen(f), got, sizeof got, &st) || strcmp(got, "r1 r2 r8") != 0) {
        fprintf(stderr, "FAIL limit ok case %s: %s\n", what, st.msg);
        g_fails++;
    }
}

static void expect_limit_error(const char *what, const char *f, const char *want_substr)
{
    char got[256];
    vs_status st;
    vs_status_clear(&st);
    g_checks++;
    if (run(f, strlen(f), got, sizeof got, &st) || st.code != VS_ERR_INVALID_ARGUMENT ||
        !strstr(st.msg, want_substr)) {
        fprintf(stderr, "FAIL limit bad case %s: %s\n", what, st.msg);
        g_fails++;
    }
}

static void test_limits(void)
{
    const char *t = "category = 'tech'";
    const char *nin = "category NOT IN ('science', 'art', 'Tech')";
    char *s;
    s = pad_to("x", 4096), ASSERT(strlen(s) == 4096), expect_tech("4096 bytes", s), free(s);
    s = pad_to("\xc3\xa9", 4096), ASSERT(strlen(s) == 4096), expect_tech("4096 bytes é", s),
    free(s);
    s = repeat(t, " ", 4096 - 17, "", "", 0, ""), expect_tech("4096 with spaces", s), free(s);
    s = repeat("", "(", 64, t, ")", 64, ""), expect_tech("64 parens", s), free(s);
    s = repeat("", "NOT ", 64, t, "", 0, ""), expect_tech("64 NOTs", s), free(s);
    s = repeat("", "NOT (", 32, t, ")", 32, ""), expect_tech("32 NOT (", s), free(s);
    s = repeat("", "(", 64, "category IN ('tech', 'x')", ")", 64, ""), expect_tech("IN", s),
    free(s);
    s = repeat("", "NOT ", 64, nin, "", 0, ""), expect_tech("NOT IN", s), free(s);
    s = repeat("", "(", 64, "category IS NOT NULL AND category = 'tech'", ")", 64, "");
    expect_tech("IS NOT NULL", s), free(s);
    {
        char *inner = repeat("", "NOT ", 32, nin, "", 0, "");
        s = repeat("", "(", 32, inner, ")", 32, ""), expect_tech("32 ( + 32 NOT", s), free(s);
        free(inner);
    }
    const char *too_long = "over the limit of 4096 bytes";
    const char *too_deep = "nesting deeper than the limit of 64";
    s = pad_to("x", 4097), expect_limit_error("4097", s, too_long), free(s);
    s = pad_to("\xc3\xa9", 4097), expect_limit_error("4097 é", s, too_long), free(s);
    s = repeat(t, " ", 4097 - 17, "", "", 0, ""), expect_limit_error("4097 sp", s, too_long),
    free(s);
    s = repeat("category = '", "x", 4100, "'", "", 0, ""), expect_limit_error("4113", s, too_long),
    free(s);
    s = repeat("", "(", 65, t, ")", 65, ""), expect_limit_error("65 (", s, too_deep), free(s);
    s = repeat("", "NOT ", 65, t, "", 0, ""), expect_limit_error("65 NOT", s, too_deep), free(s);
    s = repeat("", "NOT (", 32, "NOT category = 'tech'", ")", 32, "");
    expect_limit_error("65 NOT (", s, too_deep), free(s);
    s = repeat("", "(", 65, "category IN ('tech', 'x')", ")", 65, "");
    expect_limit_error("65 IN", s, too_deep), free(s);
    s = repeat("", "NOT ", 65, nin, "", 0, ""), expect_limit_error("65 NOT IN", s, too_deep),
    free(s);
    s = repeat("", "(", 200, t, ")", 200, ""), expect_limit_error("200", s, too_deep), free(s);
    s = repeat("", "NOT ", 300, t, "", 0, ""), expect_limit_error("300", s, too_deep), free(s);
    s = repeat("", "NOT (", 40, t, ")", 40, ""), expect_limit_error("80", s, too_deep), free(s);
    /* the depth error points at the 65th opener */
    s = repeat("", "(", 65, t, ")", 65, "");
    expect_error(s, "Invalid filter: nesting deeper than the limit of 64 parentheses and NOTs at "
                    "column 65");
    free(s);
    /* a long flat OR chain is not nesting */
    s = repeat("x = 1", " OR x = 1", 400, "", "", 0, "");
    {
        flt_expr_t *e = NULL;
        vs_status st;
        ASSERT(flt_parse(s, strlen(s), &e, &st) == VS_OK && e);
        flt_free(e);
    }
    free(s);
    ASSERT(g_fails == 0);
}

/* Literal values reach the tree exactly (checked through evaluation on crafted metadata). */
static void test_numbers_and_strings(void)
{
    static const struct {
        const char *meta, *filter;
        bool want;
    } cases[] = {
        {"{\"x\": 0}", "x = -0", true},
        {"{\"x\": -0.0}", "x = 0", true},
        {"{\"x\": 1e-300}", "x > 0", true},
        {"{\"x\": 0}", "x = 1e-400", true}, /* underflows to 0: finite, accepted */
        {"{\"x\": 9007199254740993}", "x = 9007199254740992", true}, /* both round to 2^53 */
        {"{\"x\": 1.7976931348623157e308}", "x = 1.7976931348623157e308", true},
        {"{\"x\": 12.5}", "x = 125E-1", true},
        {"{\"x\": 12.5}", "x BETWEEN 12.5 AND 12.5", true},
        {"{\"x\": \"a\"}", "x BETWEEN 1 AND 'z'", false}, /* a number and a string: never */
        {"{\"x\": true}", "x BETWEEN false AND true", false},
        {"{\"x\": null}", "x IN (null)", true},
        {"{}", "x IN (1, null)", true},
        {"{\"x\": 1}", "x NOT IN (null)", true},
        {"{}", "x NOT IN (null)", false},
        {"{\"x\": 2}", "x NOT IN (1, null)", true},
        {"{\"x\": null}", "x < null", false},
        {"{\"x\": \"\"}", "x CONTAINS ''", true},
        {"{\"x\": [\"\"]}", "x CONTAINS ''", true},
        {"{\"x\": [\"a\"]}", "x CONTAINS ''", false},
        {"{\"x\": [[1]]}", "x CONTAINS 1", false},
        {"{\"x\": [true]}", "x CONTAINS TRUE", true},
        {"{\"x\": \"ab\"}", "x < 'abc'", true},
        {"{\"x\": \"\\u00e9\"}", "x > 'z'", true}, /* bytes: 0xC3 > 'z' */
        {"{\"a.b\": 1}", "\"a.b\" = 1", true},
        {"{\"a.b\": 1}", "a.b = 1", false},
        {"{\"a\": {\"b\": 1}}", "a.\"b\" = 1", true},
        {"{\"AND\": 1}", "\"AND\" = 1", true},
        {"{\"x\": 1}", "X = 1", false}, /* names are case-sensitive, keywords are not */
        {"{\"x\": \"it's\"}", "x = 'it''s' AnD NoT x = 'it'", true},
        {"{\"x\": \"''\"}", "x = ''''''", true},
        {"{\"_a1\": 1}", "_a1 = 1", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *m = encode_json(cases[i].meta, &len);
        flt_expr_t *e = NULL;
        vs_status st;
        if (flt_parse(cases[i].filter, strlen(cases[i].filter), &e, &st) != VS_OK) {
            fprintf(stderr, "FAIL %s: %s\n", cases[i].filter, st.msg);
            exit(1);
        }
        bool got = flt_eval(e, vs_value_of(m, len));
        g_checks++;
        if (got != cases[i].want) {
            fprintf(stderr, "FAIL %s on %s: got %d\n", cases[i].filter, cases[i].meta, got);
            exit(1);
        }
        flt_free(e);
        vs_free(m);
    }
    /* no filter */
    flt_expr_t *e = (flt_expr_t *)1;
    vs_status st;
    ASSERT(flt_parse("", 0, &e, &st) == VS_OK && e == NULL);
    ASSERT(flt_parse(NULL, 0, &e, &st) == VS_OK && e == NULL);
    ASSERT(flt_eval(NULL, vs_value_empty_object()));
}

/* Every allocation of a parse fails in turn: a clean NOMEM each time (ASan checks for leaks). */
static void test_oom(void)
{
    const char *f = "category = 'tech' AND (year >= 2020 OR tags CONTAINS 'ml') AND x IN (1, 2, 3, "
                    "4, 5, 6, 7, 8, 9) AND a.b.c.d.e IS NOT NULL";
    int n_fail = 0;
    for (long k = 0;; k++) {
        vs_alloc_fail_after(k);
        flt_expr_t *e = NULL;
        vs_status st;
        vs_err rc = flt_parse(f, strlen(f), &e, &st);
        vs_alloc_fail_after(-1);
        if (rc == VS_OK) {
            ASSERT(e != NULL);
            flt_free(e);
            break;
        }
        ASSERT(rc == VS_ERR_NOMEM);
        n_fail++;
    }
    ASSERT(n_fail >= 1);
    printf("oom: %d failing allocations survived\n", n_fail);
}

int main(void)
{
    for (size_t i = 0; i < N_REC; i++) g_meta[i] = encode_json(DATA[i][1], &g_meta_len[i]);
    test_acceptance_tables();
    test_index_superset();
    test_errors();
    test_limits();
    test_numbers_and_strings();
    test_oom();
    for (size_t i = 0; i < N_REC; i++) vs_free(g_meta[i]);
    printf("test_filter: %d checks passed\n", g_checks);
    return 0;
}
