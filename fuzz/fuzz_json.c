/*
 * fuzz_json.c - libFuzzer target for the HTTP / WebSocket JSON request decoding
 * (src/http/json_codec.c) of every route that takes a body.
 *
 * What: each input is one request body. It is parsed twice, with jc_parse_object (jansson only)
 * and with jc_parse_fast (the vector fast path), and every decoder the router and ws.c call on a
 * body runs on both trees: jc_namespace, jc_decode_upsert (/v1/upsert), jc_decode_batch
 * (/v1/batch-upsert), jc_decode_query (/v1/query, /query, /v1/hybrid-query, a WebSocket query),
 * jc_decode_ns_create (POST /admin/namespaces), jc_decode_quotas_update (PUT .../quotas),
 * jc_decode_status (PUT .../status). Routes without a body (GET/DELETE by id, compact, stats)
 * decode nothing but the namespace, which jc_namespace covers.
 *
 * Checks (abort() on failure, so libFuzzer reports the input):
 *   1. The fast path is invisible: both parses succeed or fail alike with the same message, and
 *      every decoder answers the same code and message and the same records / query (ids, float
 *      bit patterns, encoded metadata bytes, limits, filter, flags).
 *   2. Every error is VS_ERR_INVALID_ARGUMENT with a non-empty message (json_codec.c invariant 1).
 *   3. Decoded strings are exactly their length (id_len, filter_len) inside the body's tree.
 *   4. Encoded metadata passes vs_value_validate, and metadata written back as JSON (jc_meta) is
 *      valid JSON that decodes to an equal value (the GET answer round trip); the error, query,
 *      stats and namespace writers run on the decoded values too.
 *
 * Memory: everything allocated per input is freed before returning (LeakSanitizer checks it).
 * Callers: fuzz/run.sh (sources in fuzz/fuzz_json.srcs).
 */
#include "http/json_codec.h"

#include "core/value.h"
#include "util/alloc.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_json: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void check_err(vs_err rc, const vs_status *st, const char *where)
{
    if (rc == VS_OK) return;
    if (rc != VS_ERR_INVALID_ARGUMENT) fail("decoder error is not INVALID_ARGUMENT", where);
    if (st->msg[0] == '\0') fail("decoder error without a message", where);
}

static void same_err(vs_err a, const vs_status *sa, vs_err b, const vs_status *sb,
                     const char *where)
{
    check_err(a, sa, where);
    check_err(b, sb, where);
    if (a != b) fail("fast path changes the outcome", where);
    if (a != VS_OK && strcmp(sa->msg, sb->msg) != 0) fail("fast path changes the message", sb->msg);
}

static bool same_str(const char *a, size_t al, const char *b, size_t bl)
{
    if ((a == NULL) != (b == NULL)) return false;
    return a == NULL || (al == bl && memcmp(a, b, al) == 0);
}

/* Metadata written back as JSON decodes to an equal value (the GET /v1/vectors/{id} path). */
static void meta_round_trip(const uint8_t *meta, size_t len)
{
    if (!vs_value_validate(meta, len, VS_VALUE_MAX_DEPTH)) fail("invalid encoded metadata", NULL);
    vs_buf b;
    vs_buf_init(&b);
    jc_meta(&b, meta, len);
    if (b.oom) {
        vs_buf_free(&b);
        return;
    }
    /* Parsed with JSON_DECODE_INT_AS_REAL: jc_double writes integral doubles from 2^63 to 1e21
     * as plain digits (valid JSON, e.g. 150000000000000000000), which jansson's default integer
     * mode - and so jc_parse_object - refuses as "too big integer" (reported to the lead; switch
     * back to jc_parse_object once jc_double writes them with an exponent). */
    json_error_t je;
    json_t *root = json_loadb((const char *)b.data, b.len,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
    if (root == NULL || !json_is_object(root))
        fail("jc_meta wrote JSON that does not parse as an object", (const char *)b.data);
    vs_status st;
    vs_status_clear(&st);
    uint8_t *again = NULL;
    size_t again_len = 0;
    bool deep = false;
    if (jc_encode_metadata(root, &again, &again_len, &deep, &st) == VS_OK) {
        if (again == NULL) fail("metadata written back is too deep", NULL);
        if (!vs_value_equal(vs_value_of(meta, len), vs_value_of(again, again_len)))
            fail("metadata round trip changes the value", (const char *)b.data);
        vs_free(again);
    }
    json_decref(root);
    vs_buf_free(&b);
}

static void check_records(const jc_records *a, const jc_records *b, const char *where)
{
    if (a->n != b->n) fail("record counts differ", where);
    for (size_t i = 0; i < a->n; i++) {
        const vs_record_in *x = &a->recs[i], *y = &b->recs[i];
        if (x->id == NULL) fail("record without an id", where);
        if (!same_str(x->id, x->id_len, y->id, y->id_len)) fail("record ids differ", where);
        if (x->dim != y->dim) fail("record dimensions differ", where);
        if (x->dim && memcmp(x->vector, y->vector, x->dim * sizeof(float)) != 0)
            fail("record vectors differ", where);
        if (x->meta_too_deep != y->meta_too_deep) fail("metadata depth verdicts differ", where);
        if ((x->meta == NULL) != (y->meta == NULL) || x->meta_len != y->meta_len ||
            (x->meta && memcmp(x->meta, y->meta, x->meta_len) != 0))
            fail("encoded metadata differs", where);
        if (x->meta) meta_round_trip(x->meta, x->meta_len);
        if (x->meta_too_deep && x->meta) fail("too deep metadata was encoded", where);
    }
}

static void check_query(const vs_query_in *a, const vs_query_in *b)
{
    if (a->has_vector != b->has_vector || a->dim != b->dim) fail("query vectors differ", NULL);
    if (a->dim && memcmp(a->vector, b->vector, a->dim * sizeof(float)) != 0)
        fail("query vector values differ", NULL);
    if (a->has_limit != b->has_limit || a->limit != b->limit || a->limit_raw != b->limit_raw ||
        a->has_ef != b->has_ef || a->ef != b->ef || a->ef_raw != b->ef_raw)
        fail("query limit/ef differ", NULL);
    if (!same_str(a->filter, a->filter_len, b->filter, b->filter_len) ||
        !same_str(a->text_query, a->text_len, b->text_query, b->text_len))
        fail("query strings differ", NULL);
    if (a->include_metadata != b->include_metadata || a->include_vector != b->include_vector ||
        a->hybrid != b->hybrid || a->has_alpha != b->has_alpha ||
        memcmp(&a->alpha, &b->alpha, sizeof(double)) != 0)
        fail("query flags differ", NULL);
}

/* Runs the writers a route would run with decoded values in them. */
static void write_query_answer(const vs_query_in *q, const jc_records *recs)
{
    vs_buf b;
    vs_buf_init(&b);
    vs_hit hit;
    memset(&hit, 0, sizeof(hit));
    vs_query_out out;
    memset(&out, 0, sizeof(out));
    out.plan = "exact";
    out.dim = q->dim;
    out.hybrid = q->hybrid;
    if (recs != NULL && recs->n > 0) {
        const vs_record_in *r = &recs->recs[0];
        hit.id = r->id;
        hit.id_len = r->id_len;
        hit.meta = r->meta;
        hit.meta_len = r->meta_len;
        hit.vector = r->dim == q->dim ? r->vector : NULL;
        out.hits = &hit;
        out.n_hits = 1;
    }
    jc_write_query(&b, &out, q);
    if (out.n_hits) {
        jc_write_ws_hit(&b, &hit, 1, q->dim, q->hybrid, q->include_metadata, "\"r\"", 3);
        vs_record_out rec = {(char *)hit.id,
                             hit.id_len,
                             (float *)hit.vector,
                             hit.vector ? q->dim : 0,
                             (uint8_t *)hit.meta,
                             hit.meta_len,
                             "live"};
        jc_write_record(&b, &rec);
    }
    jc_write_ws_complete(&b, &out, NULL, 0);
    vs_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    vs_status sa, sb;
    vs_status_clear(&sa);
    vs_status_clear(&sb);

    json_t *plain = NULL, *fastroot = NULL;
    jc_fast fast;
    jc_fast_init(&fast);
    vs_err ra = jc_parse_object(body, size, &plain, &sa);
    vs_err rb = jc_parse_fast(body, size, &fast, &fastroot, &sb);
    same_err(ra, &sa, rb, &sb, "parse");
    if (ra != VS_OK) {
        vs_buf b;
        vs_buf_init(&b);
        jc_write_error(&b, sa.msg); /* the 400 answer quotes jansson's text */
        vs_buf_free(&b);
        jc_fast_free(&fast);
        return 0;
    }

    /* namespace (every route) */
    const char *na = NULL, *nb = NULL;
    vs_status_clear(&sa);
    vs_status_clear(&sb);
    ra = jc_namespace(plain, &na, &sa);
    rb = jc_namespace(fastroot, &nb, &sb);
    same_err(ra, &sa, rb, &sb, "namespace");
    if ((na == NULL) != (nb == NULL) || (na && strcmp(na, nb) != 0))
        fail("namespaces differ", NULL);

    /* /v1/upsert and /v1/batch-upsert */
    jc_records ua, ub;
    for (int batch = 0; batch < 2; batch++) {
        vs_status_clear(&sa);
        vs_status_clear(&sb);
        ra = batch ? jc_decode_batch(plain, NULL, &ua, &sa)
                   : jc_decode_upsert(plain, NULL, &ua, &sa);
        rb = batch ? jc_decode_batch(fastroot, &fast, &ub, &sb)
                   : jc_decode_upsert(fastroot, &fast, &ub, &sb);
        same_err(ra, &sa, rb, &sb, batch ? "batch" : "upsert");
        if (ra == VS_OK) {
            check_records(&ua, &ub, batch ? "batch" : "upsert");
            if (!batch) {
                vs_buf b;
                vs_buf_init(&b);
                jc_str(&b, ua.recs[0].id, ua.recs[0].id_len);
                vs_buf_free(&b);
            }
            jc_records_free(&ua);
            jc_records_free(&ub);
        }
    }

    /* /v1/query, /v1/hybrid-query, WebSocket query */
    jc_records keep;
    memset(&keep, 0, sizeof(keep));
    vs_status_clear(&sa);
    bool have_rec = jc_decode_upsert(plain, NULL, &keep, &sa) == VS_OK;
    for (int mode = 0; mode < 3; mode++) {
        bool hybrid = mode == 1, ws = mode == 2;
        vs_query_in qa, qb;
        float *va = NULL, *vb = NULL;
        vs_status_clear(&sa);
        vs_status_clear(&sb);
        ra = jc_decode_query(plain, NULL, hybrid, ws, &qa, &va, &sa);
        rb = jc_decode_query(fastroot, &fast, hybrid, ws, &qb, &vb, &sb);
        same_err(ra, &sa, rb, &sb, "query");
        if (ra == VS_OK) {
            check_query(&qa, &qb);
            if (qa.filter && strnlen(qa.filter, qa.filter_len) > qa.filter_len)
                fail("filter length", NULL);
            write_query_answer(&qa, have_rec ? &keep : NULL);
        }
        vs_free(va);
        vs_free(vb);
    }
    if (have_rec) jc_records_free(&keep);

    /* admin bodies (no fast path: the router parses them with jc_parse_object) */
    vs_ns_create c;
    vs_status_clear(&sa);
    if (jc_decode_ns_create(plain, &c, &sa) == VS_OK) {
        if (c.id == NULL) fail("ns_create without an id", NULL);
        vs_ns_info info;
        memset(&info, 0, sizeof(info));
        snprintf(info.id, sizeof(info.id), "%s", c.id);
        info.name = (char *)c.name;
        info.status = "active";
        info.metric = c.metric;
        info.dimension = c.dimension;
        info.m = c.m;
        info.ef_construction = c.ef_construction;
        info.ef_search = c.ef_search;
#define QCOPY(f)                                                                                   \
    info.quotas.f.set = c.quotas.f.kind == VS_QUP_VALUE;                                           \
    info.quotas.f.value = c.quotas.f.value
        QCOPY(max_vectors);
        QCOPY(max_storage_bytes);
        QCOPY(max_requests_per_second);
        QCOPY(max_concurrent_queries);
        QCOPY(max_dimension);
        QCOPY(max_results_per_query);
        QCOPY(max_batch_size);
#undef QCOPY
        vs_buf b;
        vs_buf_init(&b);
        jc_write_ns(&b, &info);
        jc_write_ns_stats(&b, &info);
        vs_buf_free(&b);
    } else {
        check_err(VS_ERR_INVALID_ARGUMENT, &sa, "ns_create");
    }
    vs_quotas_update u;
    vs_status_clear(&sa);
    if (jc_decode_quotas_update(plain, &u, &sa) != VS_OK)
        check_err(VS_ERR_INVALID_ARGUMENT, &sa, "quotas");
    const char *status = NULL;
    vs_status_clear(&sa);
    if (jc_decode_status(plain, &status, &sa) == VS_OK) {
        if (status == NULL) fail("status decoded as NULL", NULL);
    } else {
        check_err(VS_ERR_INVALID_ARGUMENT, &sa, "status");
    }

    json_decref(plain);
    json_decref(fastroot);
    jc_fast_free(&fast);
    return 0;
}
