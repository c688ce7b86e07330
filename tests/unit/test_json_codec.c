/*
 * test_json_codec.c - the HTTP adapter's JSON codec (src/http/json_codec.c): decoding of every
 * request shape, decode errors with their exact messages, numbers in their shortest round-trip
 * form, metadata round trip through the encoded value model, and the exact answer shapes.
 * Deterministic: no randomness, no timing.
 */
#include "http/json_codec.h"

#include "util/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_fail;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            g_fail++;                                                                              \
        }                                                                                          \
    } while (0)

static void check_str(const char *file, int line, const char *what, const char *got,
                      const char *want)
{
    if (!got || strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: %s:\n   got: %s\n  want: %s\n", file, line, what,
                got ? got : "(null)", want);
        g_fail++;
    }
}
#define CHECK_STR(what, got, want) check_str(__FILE__, __LINE__, what, got, want)

static void check_int(const char *file, int line, const char *what, long long got, long long want)
{
    if (got != want) {
        fprintf(stderr, "%s:%d: %s: got %lld, want %lld\n", file, line, what, got, want);
        g_fail++;
    }
}
#define CHECK_INT(what, got, want)                                                                 \
    check_int(__FILE__, __LINE__, what, (long long)(got), (long long)(want))

/* The text a buffer holds, NUL-terminated in a static scratch area. */
static const char *text(vs_buf *b)
{
    static char s[65536];
    size_t n = b->len < sizeof(s) - 1 ? b->len : sizeof(s) - 1;
    memcpy(s, b->data, n);
    s[n] = 0;
    return s;
}

static json_t *parse_ok(const char *js)
{
    json_t *root = NULL;
    vs_status st;
    vs_err rc = jc_parse_object(js, strlen(js), &root, &st);
    if (rc != VS_OK) {
        fprintf(stderr, "parse of %s failed: %s\n", js, st.msg);
        g_fail++;
        exit(1);
    }
    return root;
}

/* ------------------------------------------------------------------ parse errors */

static void test_parse_errors(void)
{
    json_t *root;
    vs_status st;
    CHECK_INT("empty", jc_parse_object("", 0, &root, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_STR("empty msg", st.msg, "Invalid JSON body: request body is empty");
    CHECK_INT("blank", jc_parse_object(" \n\t", 3, &root, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_STR("blank msg", st.msg, "Invalid JSON body: request body is empty");

    const char *arr = "[1,2,3]";
    CHECK_INT("array", jc_parse_object(arr, strlen(arr), &root, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_STR("array msg", st.msg, "Invalid JSON body: expected an object, got an array");
    CHECK_INT("number", jc_parse_object("5", 1, &root, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_STR("number msg", st.msg, "Invalid JSON body: expected an object, got a number");

    const char *trunc = "{\"id\": \"x\", \"vector\": [0.1, 0.2,";
    CHECK_INT("truncated", jc_parse_object(trunc, strlen(trunc), &root, &st),
              VS_ERR_INVALID_ARGUMENT);
    CHECK(strncmp(st.msg, "Invalid JSON body: ", 19) == 0);
    CHECK(strstr(st.msg, " at line 1 column ") != NULL);

    const char *two = "{\"a\": 1,\n \"b\": }";
    jc_parse_object(two, strlen(two), &root, &st);
    CHECK(strstr(st.msg, "at line 2 column") != NULL);

    const char *nan = "{\"vector\": [NaN, 1]}";
    CHECK_INT("NaN", jc_parse_object(nan, strlen(nan), &root, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK(strstr(st.msg, "invalid token") != NULL);
    const char *inf = "{\"vector\": [Infinity]}";
    CHECK_INT("Infinity", jc_parse_object(inf, strlen(inf), &root, &st), VS_ERR_INVALID_ARGUMENT);
    const char *huge = "{\"vector\": [1e999]}";
    CHECK_INT("1e999", jc_parse_object(huge, strlen(huge), &root, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK(strstr(st.msg, "overflow") != NULL);

    const char bad_utf8[] = "\xff\xfe{}";
    CHECK_INT("bad utf8", jc_parse_object(bad_utf8, 4, &root, &st), VS_ERR_INVALID_ARGUMENT);

    /* duplicate keys: the last wins (JSON's usual reading) */
    root = parse_ok("{\"namespace\": \"a\", \"namespace\": \"b\"}");
    const char *ns = NULL;
    CHECK_INT("ns", jc_namespace(root, &ns, &st), VS_OK);
    CHECK_STR("last namespace wins", ns, "b");
    json_decref(root);

    root = parse_ok("{\"namespace\": 5}");
    CHECK_INT("ns type", jc_namespace(root, &ns, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_STR("ns type msg", st.msg, "field 'namespace' must be a string");
    json_decref(root);
    root = parse_ok("{\"namespace\": null}");
    CHECK_INT("ns null", jc_namespace(root, &ns, &st), VS_OK);
    CHECK(ns == NULL);
    json_decref(root);
}

/* ------------------------------------------------------------------ records */

static void expect_record_error(const char *js, bool batch, const char *want)
{
    json_t *root = parse_ok(js);
    jc_records recs;
    vs_status st;
    vs_err rc =
        batch ? jc_decode_batch(root, NULL, &recs, &st) : jc_decode_upsert(root, NULL, &recs, &st);
    CHECK_INT(js, rc, VS_ERR_INVALID_ARGUMENT);
    if (rc) CHECK_STR(js, st.msg, want);
    if (!rc) jc_records_free(&recs);
    json_decref(root);
}

static void test_upsert(void)
{
    json_t *root = parse_ok("{\"id\": \"doc1\", \"vector\": [0.1, 0.2, 0.9, 1e39, -3.5e38, 3],"
                            " \"metadata\": {\"title\": \"My Document\", \"n\": 2}}");
    jc_records recs;
    vs_status st;
    CHECK_INT("upsert", jc_decode_upsert(root, NULL, &recs, &st), VS_OK);
    CHECK_INT("n", recs.n, 1);
    const vs_record_in *r = &recs.recs[0];
    CHECK_INT("id_len", r->id_len, 4);
    CHECK(memcmp(r->id, "doc1", 4) == 0);
    CHECK_INT("dim", r->dim, 6);
    CHECK(r->vector[0] == 0.1f && r->vector[1] == 0.2f && r->vector[2] == 0.9f);
    CHECK(isinf(r->vector[3]) && r->vector[3] > 0); /* float32 overflow: the service refuses it */
    CHECK(isinf(r->vector[4]) && r->vector[4] < 0);
    CHECK(r->vector[5] == 3.0f);
    CHECK(r->meta != NULL && !r->meta_too_deep);
    vs_buf b = VS_BUF_INIT;
    jc_meta(&b, r->meta, r->meta_len);
    CHECK_STR("metadata", text(&b), "{\"title\":\"My Document\",\"n\":2}");
    vs_buf_free(&b);
    jc_records_free(&recs);
    json_decref(root);

    /* no metadata: NULL (the service stores {}) */
    root = parse_ok("{\"id\": \"a\", \"vector\": [], \"metadata\": null}");
    CHECK_INT("bare", jc_decode_upsert(root, NULL, &recs, &st), VS_OK);
    CHECK(recs.recs[0].meta == NULL && recs.recs[0].dim == 0);
    jc_records_free(&recs);
    json_decref(root);

    /* an id with a NUL reaches the service whole */
    root = parse_ok("{\"id\": \"a\\u0000b\", \"vector\": [1]}");
    CHECK_INT("nul id", jc_decode_upsert(root, NULL, &recs, &st), VS_OK);
    CHECK_INT("nul id len", recs.recs[0].id_len, 3);
    jc_records_free(&recs);
    json_decref(root);

    expect_record_error("{\"vector\": [0.1]}", false, "missing field 'id'");
    expect_record_error("{\"id\": \"a\"}", false, "missing field 'vector'");
    expect_record_error("{\"id\": 17, \"vector\": [1]}", false, "field 'id' must be a string");
    expect_record_error("{\"id\": \"a\", \"vector\": \"0.1,0.2\"}", false,
                        "field 'vector' must be an array of numbers");
    expect_record_error("{\"id\": \"a\", \"vector\": [0.1, \"x\"]}", false,
                        "field 'vector' must be an array of numbers (element 1 is not a number)");
    expect_record_error("{\"id\": \"a\", \"vector\": [1], \"metadata\": [1, 2]}", false,
                        "field 'metadata' must be a JSON object");
    expect_record_error("{\"id\": \"a\", \"vector\": [1], \"metadata\": \"text\"}", false,
                        "field 'metadata' must be a JSON object");
}

static void test_batch(void)
{
    json_t *root = parse_ok("{\"records\": [{\"id\": \"a\", \"vector\": [1, 2]},"
                            " {\"id\": \"b\", \"vector\": [3, 4, 5], \"metadata\": {\"k\": true}}],"
                            " \"namespace\": \"ns1\"}");
    jc_records recs;
    vs_status st;
    CHECK_INT("batch", jc_decode_batch(root, NULL, &recs, &st), VS_OK);
    CHECK_INT("n", recs.n, 2);
    CHECK_INT("dim a", recs.recs[0].dim, 2);
    CHECK_INT("dim b", recs.recs[1].dim, 3);
    /* one float array for the whole batch, back to back */
    CHECK(recs.recs[1].vector == recs.recs[0].vector + 2);
    CHECK(recs.recs[1].vector[2] == 5.0f);
    CHECK(recs.recs[0].meta == NULL && recs.recs[1].meta != NULL);
    jc_records_free(&recs);
    json_decref(root);

    root = parse_ok("{\"records\": []}");
    CHECK_INT("empty batch", jc_decode_batch(root, NULL, &recs, &st), VS_OK);
    CHECK_INT("n", recs.n, 0);
    jc_records_free(&recs);
    json_decref(root);

    expect_record_error("{}", true, "missing field 'records'");
    expect_record_error("{\"records\": {}}", true, "field 'records' must be an array of records");
    expect_record_error("{\"records\": [{\"id\": \"a\", \"vector\": [1]}, 5]}", true,
                        "records[1]: record must be a JSON object");
    expect_record_error("{\"records\": [{\"id\": \"a\", \"vector\": [1]}, {\"id\": \"b\", "
                        "\"vector\": [1]}, {\"vector\": [1]}]}",
                        true, "records[2]: missing field 'id'");
    expect_record_error("{\"records\": [{\"id\": \"a\", \"vector\": [true]}]}", true,
                        "records[0]: field 'vector' must be an array of numbers (element 0 is not "
                        "a number)");
}

/* ------------------------------------------------------------------ queries */

static void expect_query_error(const char *js, const char *want)
{
    json_t *root = parse_ok(js);
    vs_query_in q;
    float *vec = NULL;
    vs_status st;
    vs_err rc = jc_decode_query(root, NULL, false, false, &q, &vec, &st);
    CHECK_INT(js, rc, VS_ERR_INVALID_ARGUMENT);
    if (rc) CHECK_STR(js, st.msg, want);
    CHECK(vec == NULL);
    vs_free(vec);
    json_decref(root);
}

static void test_query(void)
{
    json_t *root = parse_ok("{\"vector\": [0.15, 0.25, 0.85], \"limit\": 10, "
                            "\"filter\": \"category = 'tech'\"}");
    vs_query_in q;
    float *vec = NULL;
    vs_status st;
    CHECK_INT("query", jc_decode_query(root, NULL, false, false, &q, &vec, &st), VS_OK);
    CHECK(q.has_vector && q.dim == 3 && q.vector == vec && vec[2] == 0.85f);
    CHECK(q.has_limit && q.limit == 10 && q.limit_raw == 10);
    CHECK_STR("filter", q.filter, "category = 'tech'");
    CHECK_INT("filter_len", q.filter_len, 17);
    CHECK(q.include_metadata && !q.include_vector && !q.hybrid && !q.has_ef && !q.has_alpha);
    CHECK(q.alpha == 0.5);
    vs_free(vec);
    json_decref(root);

    /* no vector: has_vector false, the service answers "missing field 'vector'" */
    root = parse_ok("{\"limit\": 3}");
    CHECK_INT("no vector", jc_decode_query(root, NULL, false, false, &q, &vec, &st), VS_OK);
    CHECK(!q.has_vector && vec == NULL);
    json_decref(root);

    /* out-of-range values pass through raw for the service to judge */
    root = parse_ok("{\"vector\": [1], \"limit\": -1, \"ef\": 5000000000, \"include_vector\": true,"
                    " \"include_metadata\": false}");
    CHECK_INT("raw", jc_decode_query(root, NULL, false, false, &q, &vec, &st), VS_OK);
    CHECK(q.has_limit && q.limit_raw == -1 && q.limit == 0);
    CHECK(q.has_ef && q.ef_raw == 5000000000LL && q.ef == UINT32_MAX);
    CHECK(q.include_vector && !q.include_metadata);
    vs_free(vec);
    json_decref(root);

    root = parse_ok("{\"vector\": [1], \"limit\": 5.0}");
    CHECK_INT("integral real", jc_decode_query(root, NULL, false, false, &q, &vec, &st), VS_OK);
    CHECK(q.limit == 5);
    vs_free(vec);
    json_decref(root);

    /* hybrid route, and a WebSocket query made hybrid by text_query or alpha */
    root = parse_ok("{\"vector\": [1], \"text_query\": \"machine learning\", \"alpha\": 0.7}");
    CHECK_INT("hybrid", jc_decode_query(root, NULL, true, false, &q, &vec, &st), VS_OK);
    CHECK(q.hybrid && q.has_alpha && q.alpha == 0.7 && q.text_len == 16);
    vs_free(vec);
    CHECK_INT("ws hybrid", jc_decode_query(root, NULL, false, true, &q, &vec, &st), VS_OK);
    CHECK(q.hybrid);
    vs_free(vec);
    CHECK_INT("http plain", jc_decode_query(root, NULL, false, false, &q, &vec, &st), VS_OK);
    CHECK(!q.hybrid);
    vs_free(vec);
    json_decref(root);
    root = parse_ok("{\"vector\": [1], \"alpha\": 1}");
    CHECK_INT("ws alpha", jc_decode_query(root, NULL, false, true, &q, &vec, &st), VS_OK);
    CHECK(q.hybrid && q.alpha == 1.0);
    vs_free(vec);
    json_decref(root);

    expect_query_error("{\"vector\": [1], \"limit\": \"ten\"}", "field 'limit' must be an integer");
    expect_query_error("{\"vector\": [1], \"limit\": 2.5}", "field 'limit' must be an integer");
    expect_query_error("{\"vector\": [1], \"ef\": true}", "field 'ef' must be an integer");
    expect_query_error("{\"vector\": [1], \"filter\": 5}", "field 'filter' must be a string");
    expect_query_error("{\"vector\": [1], \"include_metadata\": \"yes\"}",
                       "field 'include_metadata' must be a boolean");
    expect_query_error("{\"vector\": [1], \"alpha\": \"high\"}", "field 'alpha' must be a number");
    expect_query_error("{\"vector\": {\"a\": 1}}", "field 'vector' must be an array of numbers");
}

/* ------------------------------------------------------------------ admin bodies */

static void test_admin(void)
{
    json_t *root =
        parse_ok("{\"id\": \"customer-123\", \"name\": \"Customer 123 Workspace\","
                 " \"quotas\": {\"max_vectors\": 10000, \"max_requests_per_second\": 10.0,"
                 " \"max_batch_size\": null}, \"dimension\": 384, \"metric\": \"dot\","
                 " \"hnsw\": {\"m\": 32, \"ef_search\": 64}}");
    vs_ns_create c;
    vs_status st;
    CHECK_INT("create", jc_decode_ns_create(root, &c, &st), VS_OK);
    CHECK_STR("id", c.id, "customer-123");
    CHECK_STR("name", c.name, "Customer 123 Workspace");
    CHECK(c.tier == NULL && c.has_quotas && c.has_metric);
    CHECK_STR("metric", c.metric, "dot");
    CHECK(c.quotas.max_vectors.kind == VS_QUP_VALUE && c.quotas.max_vectors.value == 10000);
    CHECK(c.quotas.max_requests_per_second.kind == VS_QUP_VALUE &&
          c.quotas.max_requests_per_second.value == 10.0);
    CHECK(c.quotas.max_batch_size.kind == VS_QUP_NULL);
    CHECK(c.quotas.max_storage_bytes.kind == VS_QUP_ABSENT);
    CHECK(c.dimension == 384 && c.m == 32 && c.ef_search == 64 && c.ef_construction == 0);
    json_decref(root);

    root = parse_ok("{\"id\": \"t\", \"tier\": \"free\"}");
    CHECK_INT("tier", jc_decode_ns_create(root, &c, &st), VS_OK);
    CHECK_STR("tier", c.tier, "free");
    CHECK(!c.has_quotas && !c.has_metric && c.dimension == 0);
    json_decref(root);

    struct {
        const char *js, *want;
    } bad[] = {
        {"{\"name\": \"no id\"}", "missing field 'id'"},
        {"{\"id\": 5}", "field 'id' must be a string"},
        {"{\"id\": \"a\", \"quotas\": 5}", "field 'quotas' must be a JSON object"},
        {"{\"id\": \"a\", \"quotas\": {\"max_vectors\": \"many\"}}",
         "field 'max_vectors' must be a number or null"},
        {"{\"id\": \"a\", \"dimension\": 0}", "field 'dimension' must be a positive integer"},
        {"{\"id\": \"a\", \"dimension\": \"3\"}", "field 'dimension' must be an integer"},
        {"{\"id\": \"a\", \"metric\": 1}", "field 'metric' must be a string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        root = parse_ok(bad[i].js);
        CHECK_INT(bad[i].js, jc_decode_ns_create(root, &c, &st), VS_ERR_INVALID_ARGUMENT);
        CHECK_STR(bad[i].js, st.msg, bad[i].want);
        json_decref(root);
    }

    vs_quotas_update u;
    root = parse_ok("{\"max_vectors\": 100000, \"max_storage_bytes\": 1073741824}");
    CHECK_INT("quotas", jc_decode_quotas_update(root, &u, &st), VS_OK);
    CHECK(u.max_vectors.kind == VS_QUP_VALUE && u.max_vectors.value == 100000);
    CHECK(u.max_storage_bytes.value == 1073741824.0 && u.max_batch_size.kind == VS_QUP_ABSENT);
    json_decref(root);
    root = parse_ok("{\"quotas\": {\"max_batch_size\": null}}");
    CHECK_INT("nested quotas", jc_decode_quotas_update(root, &u, &st), VS_OK);
    CHECK(u.max_batch_size.kind == VS_QUP_NULL && u.max_vectors.kind == VS_QUP_ABSENT);
    json_decref(root);
    root = parse_ok("{\"max_vectors\": -5}");
    CHECK_INT("negative passes to the service", jc_decode_quotas_update(root, &u, &st), VS_OK);
    CHECK(u.max_vectors.value == -5);
    json_decref(root);

    const char *status = NULL;
    root = parse_ok("{\"status\": \"suspended\"}");
    CHECK_INT("status", jc_decode_status(root, &status, &st), VS_OK);
    CHECK_STR("status", status, "suspended");
    json_decref(root);
    root = parse_ok("{\"state\": \"active\"}");
    CHECK_INT("no status", jc_decode_status(root, &status, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_STR("no status", st.msg, "missing field 'status'");
    json_decref(root);
}

/* ------------------------------------------------------------------ vector fast path */

/* Decodes body with and without jc_fast_scan; both must agree exactly (values bit for bit, error
 * messages). Returns the number of vectors the fast path parsed itself. */
static size_t fast_vs_slow(const char *body, int kind /* 0 upsert, 1 batch, 2 query */)
{
    size_t len = strlen(body);
    char *a = malloc(len + 1), *b = malloc(len + 1);
    memcpy(a, body, len + 1);
    memcpy(b, body, len + 1);
    jc_fast fast;
    jc_fast_init(&fast);
    json_t *ra = NULL, *rb = NULL;
    vs_status sa, sb;
    memset(&sa, 0, sizeof(sa));
    memset(&sb, 0, sizeof(sb));
    vs_err ea = jc_parse_object(a, len, &ra, &sa), eb = jc_parse_fast(b, len, &fast, &rb, &sb);
    CHECK(memcmp(a, b, len) == 0); /* the body is not modified */
    size_t n_fast = 0;
    for (size_t i = 0; i < fast.n; i++) n_fast += fast.off[i] != SIZE_MAX;
    CHECK_INT(body, eb, ea);
    if (ea || eb) {
        CHECK_STR(body, sb.msg, sa.msg);
    } else if (kind == 2) {
        vs_query_in qa, qb;
        float *va = NULL, *vb = NULL;
        ea = jc_decode_query(ra, NULL, false, false, &qa, &va, &sa);
        eb = jc_decode_query(rb, &fast, false, false, &qb, &vb, &sb);
        CHECK_INT(body, eb, ea);
        if (!ea && !eb) {
            CHECK_INT(body, qb.dim, qa.dim);
            CHECK(qa.dim == qb.dim && (qa.dim == 0 || memcmp(va, vb, qa.dim * sizeof(float)) == 0));
        } else {
            CHECK_STR(body, sb.msg, sa.msg);
        }
        vs_free(va);
        vs_free(vb);
    } else {
        jc_records ja, jb;
        ea = kind ? jc_decode_batch(ra, NULL, &ja, &sa) : jc_decode_upsert(ra, NULL, &ja, &sa);
        eb = kind ? jc_decode_batch(rb, &fast, &jb, &sb) : jc_decode_upsert(rb, &fast, &jb, &sb);
        CHECK_INT(body, eb, ea);
        if (!ea && !eb) {
            CHECK_INT(body, jb.n, ja.n);
            for (size_t i = 0; i < ja.n && i < jb.n; i++) {
                CHECK_INT(body, jb.recs[i].dim, ja.recs[i].dim);
                if (ja.recs[i].dim == jb.recs[i].dim &&
                    memcmp(ja.recs[i].vector, jb.recs[i].vector, ja.recs[i].dim * sizeof(float))) {
                    fprintf(stderr, "%s: record %zu differs\n", body, i);
                    g_fail++;
                }
            }
            jc_records_free(&ja);
            jc_records_free(&jb);
        } else {
            CHECK_STR(body, sb.msg, sa.msg);
        }
    }
    if (ra) json_decref(ra);
    if (rb) json_decref(rb);
    jc_fast_free(&fast);
    free(a);
    free(b);
    return n_fast;
}

static void test_fast_path(void)
{
    CHECK_INT("plain numbers",
              fast_vs_slow("{\"id\":\"a\",\"vector\":[0.1, -0, 1e-7,123456.789 ,1.0000001192092896,"
                           "16777217,3e-30,1e39,-3.5e38,0.30000000000000004,"
                           "1234567890123456789.5e3,1E+2,-0.0e0,5e-324,2.2250738585072014e-308,"
                           "0.000001234,9007199254740993, 7]}",
                           0),
              1);
    /* left to jansson: its error or its value */
    CHECK_INT("too big integer",
              fast_vs_slow("{\"id\":\"a\",\"vector\":[12345678901234567890123]}", 0), 0);
    CHECK_INT("NaN", fast_vs_slow("{\"id\":\"a\",\"vector\":[NaN, 1]}", 0), 0);
    CHECK_INT("1e999", fast_vs_slow("{\"id\":\"a\",\"vector\":[1, 1e999]}", 0), 0);
    CHECK_INT("string", fast_vs_slow("{\"id\":\"a\",\"vector\":[1, \"x\"]}", 0), 0);
    CHECK_INT("01", fast_vs_slow("{\"id\":\"a\",\"vector\":[01]}", 0), 0);
    CHECK_INT(".5", fast_vs_slow("{\"id\":\"a\",\"vector\":[.5]}", 0), 0);
    CHECK_INT("1.", fast_vs_slow("{\"id\":\"a\",\"vector\":[1.]}", 0), 0);
    CHECK_INT("+1", fast_vs_slow("{\"id\":\"a\",\"vector\":[+1]}", 0), 0);
    CHECK_INT("empty", fast_vs_slow("{\"id\":\"a\",\"vector\":[]}", 0), 0);
    CHECK_INT("nested", fast_vs_slow("{\"id\":\"a\",\"vector\":[[1]]}", 0), 0);
    CHECK_INT("truncated", fast_vs_slow("{\"id\":\"a\",\"vector\":[0.1, 0.2,", 0), 0);
    /* a syntax error after a parsed array: reported where it is in the body as sent */
    CHECK_INT("late error", fast_vs_slow("{\"id\":\"a\",\"vector\":[0.1, 0.2], \"x\": tru}", 0), 0);
    CHECK_INT("trailing comma", fast_vs_slow("{\"id\":\"a\",\"vector\":[0.1,]}", 0), 0);
    /* an escaped key is jansson's; metadata keys named vector are never touched */
    CHECK_INT("escaped key", fast_vs_slow("{\"id\":\"a\",\"\\u0076ector\":[0.5]}", 0), 0);
    CHECK_INT("metadata",
              fast_vs_slow("{\"id\":\"a\",\"metadata\":{\"vector\":[1,2]},\"vector\":[3]}", 0), 1);
    /* duplicate keys: jansson's last one wins, the fast path agrees */
    CHECK_INT("duplicate", fast_vs_slow("{\"id\":\"a\",\"vector\":[1,2],\"vector\":[3,4,5]}", 0),
              1);
    CHECK_INT(
        "batch",
        fast_vs_slow(
            "{\"namespace\":\"x\",\"records\":[{\"id\":\"a\",\"vector\":[1,2.5],"
            "\"metadata\":{\"s\":\"]},{\\\"\",\"vector\":[9]}},7,{\"id\":\"b\",\"vector\":[3,4]},"
            "{\"vector\":[5e-1, 6] , \"id\":\"c\"}]}",
            1),
        3);
    CHECK_INT("batch, bad record kept",
              fast_vs_slow("{\"records\":[{\"id\":\"a\",\"vector\":[1]},"
                           "{\"id\":\"b\",\"vector\":[1,\"x\"]}]}",
                           1),
              1);
    CHECK_INT("query",
              fast_vs_slow("{\"vector\":[0.15,0.25,0.85],\"limit\":10,\"filter\":\"a = 1\"}", 2),
              1);
    CHECK_INT("query no vector", fast_vs_slow("{\"limit\":10}", 2), 0);
}

/* ------------------------------------------------------------------ numbers */

static void test_numbers(void)
{
    vs_buf b = VS_BUF_INIT;
    static const float F[] = {
        0.1f,        0.2f,        0.3f,     1e-7f,   123456.789f, -2.5f, 1.0000001192092896f,
        16777216.0f, 1.0f / 3.0f, 3.0e-30f, 3.0e38f, 0.0f};
    for (size_t i = 0; i < sizeof(F) / sizeof(F[0]); i++) {
        vs_buf_reset(&b);
        jc_float(&b, F[i]);
        const char *s = text(&b);
        float back = strtof(s, NULL);
        if (back != F[i]) {
            fprintf(stderr, "float %.9g written as %s does not read back\n", F[i], s);
            g_fail++;
        }
        /* shortest: no form with fewer significant digits reads back */
        char alt[64];
        for (int p = 1; p < 9; p++) {
            snprintf(alt, sizeof(alt), "%.*g", p, F[i]);
            if (strtof(alt, NULL) == F[i]) {
                int digits = 0;
                for (const char *c = s; *c && *c != 'e' && *c != 'E'; c++)
                    digits += (*c >= '0' && *c <= '9');
                /* leading zeros of 0.000x do not count */
                const char *c = s;
                while (*c == '-' || *c == '0' || *c == '.') {
                    if (*c == '0') digits--;
                    c++;
                }
                if (digits > p && F[i] != 0.0f) {
                    fprintf(stderr, "float %.9g written as %s, shorter form %s exists\n", F[i], s,
                            alt);
                    g_fail++;
                }
                break;
            }
        }
    }
    vs_buf_reset(&b);
    jc_float(&b, 0.1f);
    CHECK_STR("0.1f", text(&b), "0.1");
    vs_buf_reset(&b);
    jc_float(&b, 123456.789f);
    CHECK_STR("123456.789f", text(&b), "123456.79");
    vs_buf_reset(&b);
    jc_float(&b, NAN);
    CHECK_STR("nan", text(&b), "null");

    struct {
        double d;
        const char *want;
    } D[] = {{10.0, "10"},     {2.5, "2.5"},
             {0.375, "0.375"}, {9007199254740992.0, "9007199254740992"},
             {-7.0, "-7"},     {10737418240.0, "10737418240"},
             {0.0, "0"},       {3.25, "3.25"}};
    for (size_t i = 0; i < sizeof(D) / sizeof(D[0]); i++) {
        vs_buf_reset(&b);
        jc_double(&b, D[i].d);
        CHECK_STR("double", text(&b), D[i].want);
    }
    static const double R[] = {1e-300, 0.1, 1.0 / 3.0, 1e300, 9007199254740994.0, -1.5e-7};
    for (size_t i = 0; i < sizeof(R) / sizeof(R[0]); i++) {
        vs_buf_reset(&b);
        jc_double(&b, R[i]);
        if (strtod(text(&b), NULL) != R[i]) {
            fprintf(stderr, "double %.17g written as %s does not read back\n", R[i], text(&b));
            g_fail++;
        }
    }
    vs_buf_reset(&b);
    jc_u64(&b, 0);
    jc_lit(&b, " ");
    jc_u64(&b, UINT64_MAX);
    jc_lit(&b, " ");
    jc_i64(&b, INT64_MIN);
    CHECK_STR("ints", text(&b), "0 18446744073709551615 -9223372036854775808");
    vs_buf_free(&b);
}

/* ------------------------------------------------------------------ metadata and strings */

static void test_metadata_roundtrip(void)
{
    const char *in = "{\"n\":null,\"t\":true,\"f\":false,\"i\":42,\"neg\":-7,"
                     "\"big\":9007199254740992,\"d\":3.25,\"tiny\":1e-300,"
                     "\"s\":\"h\\u00e9llo \\u2713 \\u65e5\",\"empty\":\"\","
                     "\"arr\":[1,\"two\",null,[3.5,{\"x\":[]}]],"
                     "\"obj\":{\"a\":{\"b\":{\"c\":\"deep\"}},\"list\":[true,false]},"
                     "\"quote\":\"it's \\\"q\\\"\\\\ \\n\\t\\u0001\"}";
    json_t *root = parse_ok(in);
    uint8_t *meta = NULL;
    size_t len = 0;
    bool too_deep = true;
    vs_status st;
    CHECK_INT("encode", jc_encode_metadata(root, &meta, &len, &too_deep, &st), VS_OK);
    CHECK(!too_deep && meta && vs_value_validate(meta, len, VS_VALUE_MAX_DEPTH));
    vs_buf b = VS_BUF_INIT;
    jc_meta(&b, meta, len);
    CHECK_STR("metadata round trip", text(&b),
              "{\"n\":null,\"t\":true,\"f\":false,\"i\":42,\"neg\":-7,"
              "\"big\":9007199254740992,\"d\":3.25,\"tiny\":1e-300,"
              "\"s\":\"h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\",\"empty\":\"\","
              "\"arr\":[1,\"two\",null,[3.5,{\"x\":[]}]],"
              "\"obj\":{\"a\":{\"b\":{\"c\":\"deep\"}},\"list\":[true,false]},"
              "\"quote\":\"it's \\\"q\\\"\\\\ \\n\\t\\u0001\"}");
    /* the output parses back to an equal tree */
    json_error_t e;
    json_t *back = json_loadb((const char *)b.data, b.len, 0, &e);
    CHECK(back && json_equal(back, root));
    if (back) json_decref(back);
    vs_free(meta);
    json_decref(root);

    vs_buf_reset(&b);
    jc_meta(&b, NULL, 0);
    CHECK_STR("no metadata", text(&b), "{}");

    /* nesting past the value model's depth: flagged, not an adapter error */
    char deep[256] = "{\"a\":";
    for (int i = 0; i < 40; i++) strcat(deep, "[");
    for (int i = 0; i < 40; i++) strcat(deep, "]");
    strcat(deep, "}");
    root = parse_ok(deep);
    CHECK_INT("deep", jc_encode_metadata(root, &meta, &len, &too_deep, &st), VS_OK);
    CHECK(too_deep && meta == NULL);
    json_decref(root);

    vs_buf_reset(&b);
    jc_str(&b, "a\"b\\c\x01\x1f/\xc3\xa9", 10);
    CHECK_STR("escapes", text(&b), "\"a\\\"b\\\\c\\u0001\\u001f/\xc3\xa9\"");
    vs_buf_reset(&b);
    jc_write_error(&b, "Namespace 'nope' not found");
    CHECK_STR("error", text(&b), "{\"error\":\"Namespace 'nope' not found\"}");
    vs_buf_free(&b);
}

/* ------------------------------------------------------------------ answers */

static void test_answers(void)
{
    vs_buf b = VS_BUF_INIT;
    json_t *mroot = parse_ok("{\"category\":\"tech\"}");
    uint8_t *meta;
    size_t mlen;
    bool deep;
    vs_status st;
    jc_encode_metadata(mroot, &meta, &mlen, &deep, &st);
    json_decref(mroot);
    float v[2] = {0.1f, 0.7f};
    vs_hit hits[2] = {{"doc1", 4, 0.7f, 0.5f, 1.0f, meta, mlen, v},
                      {"d\"2", 3, 0.25f, 0.25f, 0.0f, NULL, 0, NULL}};
    vs_query_out out = {hits, 2, 2, false, 42, "hnsw", 17, NULL};
    vs_query_in q;
    memset(&q, 0, sizeof(q));
    q.include_metadata = true;
    jc_write_query(&b, &out, &q);
    CHECK_STR("query answer", text(&b),
              "{\"results\":[{\"id\":\"doc1\",\"score\":0.7,\"metadata\":{\"category\":\"tech\"},"
              "\"vector\":[0.1,0.7]},{\"id\":\"d\\\"2\",\"score\":0.25,\"metadata\":{}}],"
              "\"stats\":{\"took_us\":42,\"plan\":\"hnsw\",\"visited\":17}}");
    vs_buf_reset(&b);
    out.hybrid = true;
    q.include_metadata = false;
    out.n_hits = 1;
    hits[0].vector = NULL;
    jc_write_query(&b, &out, &q);
    CHECK_STR(
        "hybrid answer", text(&b),
        "{\"results\":[{\"id\":\"doc1\",\"score\":0.7,\"vector_score\":0.5,\"text_score\":1}],"
        "\"stats\":{\"took_us\":42,\"plan\":\"hnsw\",\"visited\":17}}");

    vs_buf_reset(&b);
    jc_write_ws_hit(&b, &hits[0], 1, 2, false, true, "\"a\"", 3);
    CHECK_STR("ws hit", text(&b),
              "{\"id\":\"doc1\",\"score\":0.7,\"metadata\":{\"category\":\"tech\"},\"rank\":1,"
              "\"request_id\":\"a\"}");
    vs_buf_reset(&b);
    out.n_hits = 2;
    jc_write_ws_complete(&b, &out, NULL, 0);
    CHECK_STR("ws complete", text(&b),
              "{\"complete\":true,\"stats\":{\"count\":2,\"took_us\":42,\"plan\":\"hnsw\","
              "\"visited\":17}}");
    vs_buf_reset(&b);
    jc_write_ws_error(&b, "bad", "7", 1);
    CHECK_STR("ws error", text(&b), "{\"error\":\"bad\",\"request_id\":7}");

    vs_buf_reset(&b);
    vs_record_out rec = {"doc1", 4, v, 2, meta, mlen, "soft_deleted"};
    jc_write_record(&b, &rec);
    CHECK_STR("record", text(&b),
              "{\"id\":\"doc1\",\"vector\":[0.1,0.7],\"metadata\":{\"category\":\"tech\"},"
              "\"state\":\"soft_deleted\"}");
    vs_free(meta);

    vs_buf_reset(&b);
    vs_stats_out s;
    memset(&s, 0, sizeof(s));
    strcpy(s.namespace_id, "default");
    s.metric = "cosine";
    s.vector_count = 3, s.active_count = 2, s.deleted_count = 1, s.reclaimable_bytes = 64;
    s.memory_bytes = 1000, s.disk_bytes = 2000, s.index_type = "hnsw", s.m = 16;
    s.ef_construction = 200, s.ef_search = 64, s.index_nodes = 3, s.index_levels = 1;
    jc_write_stats(&b, &s);
    CHECK_STR("stats", text(&b),
              "{\"namespace\":\"default\",\"dimension\":null,\"metric\":\"cosine\","
              "\"vector_count\":3,\"active_count\":2,\"deleted_count\":1,\"reclaimable_bytes\":64,"
              "\"index\":{\"type\":\"hnsw\",\"m\":16,\"ef_construction\":200,\"ef_search\":64,"
              "\"nodes\":3,\"levels\":1},\"memory_bytes\":1000,\"disk_bytes\":2000}");

    vs_ns_info ns;
    memset(&ns, 0, sizeof(ns));
    strcpy(ns.id, "q8");
    ns.name = "Q eight";
    ns.status = "active";
    ns.created_at = 1705968000;
    ns.dimension = 2;
    ns.metric = "cosine";
    ns.m = 16, ns.ef_construction = 200, ns.ef_search = 64;
    ns.quotas.max_vectors = (vs_quota){true, 8};
    ns.quotas.max_requests_per_second = (vs_quota){true, 2.5};
    ns.quotas.max_storage_bytes = (vs_quota){true, 10737418240.0};
    ns.vector_count = 3, ns.active_count = 3, ns.total_requests = 5, ns.total_upserts = 3;
    ns.quota_utilization = 0.375;
    vs_buf_reset(&b);
    jc_write_ns(&b, &ns);
    CHECK_STR("namespace", text(&b),
              "{\"id\":\"q8\",\"name\":\"Q eight\",\"status\":\"active\",\"created_at\":1705968000,"
              "\"dimension\":2,\"metric\":\"cosine\",\"hnsw\":{\"m\":16,\"ef_construction\":200,"
              "\"ef_search\":64},\"quotas\":{\"max_vectors\":8,\"max_storage_bytes\":10737418240,"
              "\"max_requests_per_second\":2.5,\"max_concurrent_queries\":null,"
              "\"max_dimension\":null,\"max_results_per_query\":null,\"max_batch_size\":null},"
              "\"usage\":{\"vector_count\":3,\"active_count\":3,\"deleted_count\":0,"
              "\"storage_bytes\":0,\"total_requests\":5,\"total_queries\":0,\"total_upserts\":3,"
              "\"total_deletes\":0,\"quota_utilization\":0.375}}");
    vs_buf_reset(&b);
    jc_write_ns_stats(&b, &ns);
    CHECK_STR("namespace stats", text(&b),
              "{\"namespace_id\":\"q8\",\"vector_count\":3,\"active_count\":3,\"deleted_count\":0,"
              "\"dimension\":2,\"quota_utilization\":0.375,\"total_requests\":5,"
              "\"total_queries\":0,\"total_upserts\":3,\"total_deletes\":0,\"status\":\"active\"}");

    vs_buf_reset(&b);
    vs_admin_stats as = {15, 12, 125000, 500000};
    jc_write_admin_stats(&b, &as);
    CHECK_STR("admin stats", text(&b),
              "{\"total_namespaces\":15,\"active_namespaces\":12,\"total_vectors\":125000,"
              "\"total_requests\":500000}");

    vs_key_info k;
    memset(&k, 0, sizeof(k));
    strcpy(k.key_id, "k1");
    strcpy(k.key, "vs_secret");
    strcpy(k.namespace_id, "ka");
    k.created_at = 1700000000;
    vs_buf_reset(&b);
    jc_write_key(&b, &k, true);
    CHECK_STR("key create", text(&b),
              "{\"key_id\":\"k1\",\"key\":\"vs_secret\",\"namespace\":\"ka\","
              "\"created_at\":1700000000}");
    vs_buf_reset(&b);
    jc_write_key(&b, &k, false);
    CHECK_STR("key list", text(&b),
              "{\"key_id\":\"k1\",\"namespace\":\"ka\",\"created_at\":1700000000}");
    vs_buf_free(&b);
}

/* ------------------------------------------------------------------ --bench (numbers only) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A record {"id":"r<i>","vector":[dim floats],"metadata":{...}} appended to b. */
static void bench_record(vs_buf *b, int i, int dim)
{
    vs_buf_printf(b, "{\"id\":\"r%06d\",\"vector\":[", i);
    for (int k = 0; k < dim; k++) {
        jc_float(b, (float)((i * 7919 + k * 104729) % 20001 - 10000) / 10007.0f);
        if (k + 1 < dim) vs_buf_append_u8(b, ',');
    }
    vs_buf_printf(b,
                  "],\"metadata\":{\"title\":\"document %d\",\"year\":%d,\"tags\":[\"a\",\"b\"]}}",
                  i, 2000 + i % 25);
}

static void bench_decode(const char *what, vs_buf *body, bool batch, int iters, bool use_fast)
{
    double t0 = now_s();
    size_t n = 0;
    char *copy = malloc(body->len);
    for (int it = 0; it < iters; it++) {
        json_t *root = NULL;
        vs_status st;
        jc_records recs;
        jc_fast fast;
        jc_fast_init(&fast);
        memcpy(copy, body->data, body->len); /* as the server's body buffer: one copy */
        if ((use_fast ? jc_parse_fast(copy, body->len, &fast, &root, &st)
                      : jc_parse_object(copy, body->len, &root, &st)) != VS_OK)
            exit(2);
        const jc_fast *fp = use_fast ? &fast : NULL;
        if ((batch ? jc_decode_batch(root, fp, &recs, &st)
                   : jc_decode_upsert(root, fp, &recs, &st)) != VS_OK)
            exit(2);
        jc_fast_free(&fast);
        n = recs.n;
        jc_records_free(&recs);
        json_decref(root);
    }
    double dt = (now_s() - t0) / iters;
    free(copy);
    printf("%-34s %-7s %8zu bytes %6zu records %9.1f us/decode %7.1f MB/s\n", what,
           use_fast ? "fast" : "jansson", body->len, n, dt * 1e6, (double)body->len / dt / 1e6);
}

static int bench(void)
{
    vs_buf b = VS_BUF_INIT;
    bench_record(&b, 1, 1536);
    bench_decode("upsert, 1536-float vector", &b, false, 2000, false);
    bench_decode("upsert, 1536-float vector", &b, false, 2000, true);
    vs_buf_reset(&b);
    vs_buf_append_str(&b, "{\"records\":[");
    for (int i = 0; i < 1000; i++) {
        if (i) vs_buf_append_u8(&b, ',');
        bench_record(&b, i, 128);
    }
    vs_buf_append_str(&b, "]}");
    bench_decode("batch, 1000 records x 128 floats", &b, true, 20, false);
    bench_decode("batch, 1000 records x 128 floats", &b, true, 20, true);
    vs_buf_reset(&b);
    vs_buf_append_str(&b, "{\"records\":[");
    for (int i = 0; i < 1000; i++) {
        if (i) vs_buf_append_u8(&b, ',');
        bench_record(&b, i, 1536);
    }
    vs_buf_append_str(&b, "]}");
    bench_decode("batch, 1000 records x 1536 floats", &b, true, 3, false);
    bench_decode("batch, 1000 records x 1536 floats", &b, true, 3, true);

    /* encode: a query answer of 100 hits with 1536-float vectors and metadata */
    json_t *mroot = parse_ok("{\"title\":\"document 1\",\"year\":2001,\"tags\":[\"a\",\"b\"]}");
    uint8_t *meta;
    size_t mlen;
    bool deep;
    vs_status st;
    jc_encode_metadata(mroot, &meta, &mlen, &deep, &st);
    json_decref(mroot);
    static float vec[1536];
    for (int k = 0; k < 1536; k++) vec[k] = (float)(k % 97) / 97.0f - 0.5f;
    vs_hit hits[100];
    for (int i = 0; i < 100; i++)
        hits[i] = (vs_hit){"r000001", 7, 1.0f / (float)(i + 3), 0, 0, meta, mlen, vec};
    vs_query_out out = {hits, 100, 1536, false, 1, "hnsw", 1, NULL};
    vs_query_in q;
    memset(&q, 0, sizeof(q));
    q.include_metadata = true;
    double t0 = now_s();
    int iters = 50;
    for (int it = 0; it < iters; it++) {
        vs_buf_reset(&b);
        jc_write_query(&b, &out, &q);
    }
    double dt = (now_s() - t0) / iters;
    printf("%-34s %8zu bytes %6d hits     %9.1f us/encode  %7.1f MB/s\n",
           "query answer, 100 x 1536 floats", b.len, 100, dt * 1e6, (double)b.len / dt / 1e6);
    vs_free(meta);
    vs_buf_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) return bench();
    test_parse_errors();
    test_upsert();
    test_batch();
    test_query();
    test_fast_path();
    test_admin();
    test_numbers();
    test_metadata_roundtrip();
    test_answers();
    if (g_fail) {
        fprintf(stderr, "test_json_codec: %d failure(s)\n", g_fail);
        return 1;
    }
    printf("test_json_codec: all passed\n");
    return 0;
}
