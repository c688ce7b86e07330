/*
 * fuzz_filter.c - libFuzzer target for the filter language: flt_parse on arbitrary bytes, then
 * flt_eval and the payload index on a fixed set of records.
 *
 * Besides crashes and sanitizer reports, it aborts (a finding) when:
 *   - a rejected filter's message is not "Invalid filter: ... at column N" with N within
 *     1 .. characters + 1 (limit errors excepted: they name the limit, not a column), or its code
 *     is not INVALID_ARGUMENT / NOMEM;
 *   - an accepted filter is over FLT_MAX_BYTES;
 *   - the payload index's candidates miss a record flt_eval matches, are unsorted or duplicated,
 *     or its estimate is below the number of matches.
 * The records (built once with the value builder) mix every type, arrays, nested objects,
 * missing fields, a long string and keyword-named keys, so evaluation walks every rule.
 */
#include "core/filter.h"
#include "core/payload_index.h"
#include "core/value.h"
#include "util/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_REC 12

static uint8_t *g_meta[N_REC];
static size_t g_len[N_REC];
static pidx_t *g_pidx;

static void str(vs_vbuilder *b, const char *s)
{
    vs_vb_string(b, s, strlen(s));
}
static void key(vs_vbuilder *b, const char *k)
{
    vs_vb_key(b, k, strlen(k));
}

static void build(int i, vs_vbuilder *b)
{
    static const char *const cats[] = {"tech", "science", "Tech", "art", "", "it's"};
    vs_vb_begin_object(b);
    if (i % 5 != 4) key(b, "category"), str(b, cats[i % 6]);
    key(b, "year");
    if (i % 4 == 3)
        str(b, "2020");
    else
        vs_vb_number(b, 2016 + i);
    key(b, "tags");
    vs_vb_begin_array(b);
    if (i % 2) str(b, "ml");
    if (i % 3) str(b, "ai");
    if (i % 4 == 1) vs_vb_null(b), vs_vb_number(b, i), vs_vb_bool(b, true);
    if (i == 7) vs_vb_begin_object(b), key(b, "k"), vs_vb_number(b, 1), vs_vb_end(b);
    vs_vb_end(b);
    key(b, "price");
    if (i % 6 == 5)
        vs_vb_null(b);
    else
        vs_vb_number(b, (i - 3) * 2.5);
    key(b, "active"), vs_vb_bool(b, i % 3 == 0);
    key(b, "author");
    vs_vb_begin_object(b);
    key(b, "name"), str(b, i % 2 ? "ann" : "bob");
    if (i % 3) key(b, "age"), vs_vb_number(b, 20 + i);
    if (i == 5)
        key(b, "address"), vs_vb_begin_object(b), key(b, "city"), str(b, "Oslo"), vs_vb_end(b);
    vs_vb_end(b);
    if (i == 2) key(b, "in"), vs_vb_number(b, 1);
    if (i == 3) key(b, "we\"ird"), vs_vb_number(b, 1);
    if (i == 4) key(b, "city"), str(b, "Z\xc3\xbcrich");
    if (i == 6) key(b, "title"), str(b, "a very long title that is longer than forty-eight bytes");
    if (i == 8) key(b, "path"), str(b, "C:\\dir");
    if (i == 9) key(b, "tags2"), str(b, "ml-notes");
    if (i == 10) key(b, "n"), vs_vb_number(b, -0.0);
    vs_vb_end(b);
}

static void init(void)
{
    g_pidx = pidx_create();
    for (int i = 0; i < N_REC; i++) {
        vs_vbuilder b;
        vs_vb_init(&b);
        if (i == N_REC - 1) { /* {} */
            vs_vb_begin_object(&b);
            vs_vb_end(&b);
        } else {
            build(i, &b);
        }
        bool td;
        g_meta[i] = vs_vb_finish(&b, &g_len[i], &td);
        vs_status st;
        if (!g_meta[i] || pidx_add(g_pidx, (uint32_t)i, vs_value_of(g_meta[i], g_len[i]), &st))
            abort();
    }
}

static size_t n_chars(const uint8_t *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += (s[i] & 0xC0) != 0x80;
    return c;
}

static void check_error(const uint8_t *data, size_t size, vs_err rc, const vs_status *st)
{
    if (rc == VS_ERR_NOMEM) return;
    if (rc != VS_ERR_INVALID_ARGUMENT) abort();
    if (strncmp(st->msg, "Invalid filter: ", 16) != 0) abort();
    if (size > FLT_MAX_BYTES) return; /* the length message names the limit */
    const char *m = strstr(st->msg, " at column ");
    if (!m) abort();
    char *end;
    unsigned long col = strtoul(m + 11, &end, 10);
    if (*end != 0 || col < 1 || col > n_chars(data, size) + 1) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_pidx) init();
    flt_expr_t *e = NULL;
    vs_status st;
    vs_err rc = flt_parse((const char *)data, size, &e, &st);
    if (rc != VS_OK) {
        check_error(data, size, rc, &st);
        return 0;
    }
    if (size > FLT_MAX_BYTES) abort();
    bool match[N_REC];
    size_t n_match = 0;
    for (int i = 0; i < N_REC; i++)
        n_match += match[i] = flt_eval(e, vs_value_of(g_meta[i], g_len[i]));
    if (e) {
        if (pidx_estimate(g_pidx, e, N_REC) < n_match) abort();
        uint32_t *c = NULL;
        size_t n = 0;
        if (pidx_candidates(g_pidx, e, N_REC, &c, &n)) {
            size_t covered = 0;
            for (size_t k = 0; k < n; k++) {
                if (c[k] >= N_REC || (k && c[k - 1] >= c[k])) abort();
                covered += match[c[k]];
            }
            if (covered != n_match) abort();
            vs_free(c);
        }
    } else if (n_match != N_REC) {
        abort(); /* no filter matches everything */
    }
    flt_free(e);
    return 0;
}
