/*
 * json_codec.c - JSON <-> service structs (json_codec.h).
 *
 * How: bodies are parsed once by jansson (json_loadb, JSON_DECODE_ANY | JSON_ALLOW_NUL so an id
 * holding a NUL reaches the service, which names the problem) into a tree; decoders walk the tree
 * and point the service structs at its strings. Vectors are copied into one float array per
 * request (a batch's vectors back to back, one allocation); metadata objects are re-encoded with
 * the value-model builder (core/value.h). Answers are written as text into a vs_buf: strings are
 * escaped span by span, floats go through vs_fmt_float / vs_fmt_double (util/fmt.h) so every
 * number is in its shortest round-trip form.
 *
 * Invariants:
 *   1. A decode error is always VS_ERR_INVALID_ARGUMENT and names the field (with "records[i]: "
 *      in front for a batch record); nothing a decoder allocated survives an error.
 *   2. A field given as JSON null is treated as absent.
 *   3. Output is valid UTF-8 JSON whenever the input strings are valid UTF-8 (jansson guarantees
 *      it for decoded strings; stored metadata came through the same decoder or the gRPC one).
 *
 * Concurrency: stateless; callers own all data. Callers: router.c (HTTP routes), ws.c, unit test
 * tests/unit/test_json_codec.c.
 */
#include "http/json_codec.h"

#include "util/alloc.h"
#include "util/fmt.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JC_MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

/* ------------------------------------------------------------------ decoding helpers */

vs_err jc_parse_object(const char *data, size_t len, json_t **out, vs_status *st)
{
    *out = NULL;
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i == len)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid JSON body: request body is empty");
    json_error_t e;
    json_t *root = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!root)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid JSON body: %s at line %d column %d", e.text, e.line,
                             e.column);
    if (!json_is_object(root)) {
        const char *what = json_is_array(root)    ? "an array"
                           : json_is_string(root) ? "a string"
                           : json_is_number(root) ? "a number"
                           : json_is_null(root)   ? "null"
                                                  : "a boolean";
        json_decref(root);
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid JSON body: expected an object, got %s", what);
    }
    *out = root;
    return VS_OK;
}

/* Looks up key; JSON null counts as absent (invariant 2). */
static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return (v && json_is_null(v)) ? NULL : v;
}

static vs_err missing(vs_status *st, const char *where, const char *key)
{
    return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "%smissing field '%s'", where, key);
}

static vs_err wrong_type(vs_status *st, const char *where, const char *key, const char *want)
{
    return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "%sfield '%s' must be %s", where, key, want);
}

static vs_err no_nul(vs_status *st, const char *where, const char *key)
{
    return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "%sfield '%s' must not contain NUL characters", where, key);
}

static bool has_nul(const json_t *v) { return strlen(json_string_value(v)) != json_string_length(v); }

static vs_err opt_string(const json_t *obj, const char *key, const char *where, const char **s,
                         size_t *len, vs_status *st)
{
    const json_t *v = field(obj, key);
    if (!v) return VS_OK;
    if (!json_is_string(v)) return wrong_type(st, where, key, "a string");
    /* a field read as a C string must not be cut short at an embedded NUL ("ta\u0000x" is not "ta") */
    if (!len && strlen(json_string_value(v)) != json_string_length(v)) return no_nul(st, where, key);
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return VS_OK;
}

static vs_err opt_bool(const json_t *obj, const char *key, bool *b, vs_status *st)
{
    const json_t *v = field(obj, key);
    if (!v) return VS_OK;
    if (!json_is_boolean(v)) return wrong_type(st, "", key, "a boolean");
    *b = json_is_true(v);
    return VS_OK;
}

/* An integer field; integral reals (5.0) are accepted. *has tells presence. */
static vs_err opt_int(const json_t *obj, const char *key, const char *where, int64_t *out,
                      bool *has, vs_status *st)
{
    const json_t *v = field(obj, key);
    *has = false;
    if (!v) return VS_OK;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return wrong_type(st, where, key, "an integer");
        *out = (int64_t)d;
    } else {
        return wrong_type(st, where, key, "an integer");
    }
    *has = true;
    return VS_OK;
}

static uint32_t clamp_u32(int64_t v)
{
    if (v < 0) return 0;
    if (v > (int64_t)UINT32_MAX) return UINT32_MAX;
    return (uint32_t)v;
}

/* Checks that v is an array of numbers; *dim = its length. */
static vs_err check_vector(const json_t *v, const char *where, size_t *dim, vs_status *st)
{
    if (!json_is_array(v)) return wrong_type(st, where, "vector", "an array of numbers");
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        if (!json_is_number(json_array_get(v, i)))
            return vs_status_set(
                st, VS_ERR_INVALID_ARGUMENT,
                "%sfield 'vector' must be an array of numbers (element %zu is not a "
                "number)",
                where, i);
    }
    *dim = n;
    return VS_OK;
}

/* Copies a checked array; values beyond float32 become +-inf and are refused by the service. */
static void fill_vector(const json_t *v, float *dst)
{
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) dst[i] = (float)json_number_value(json_array_get(v, i));
}

static void build_value(vs_vbuilder *b, const json_t *v)
{
    switch (json_typeof(v)) {
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
        vs_vb_number(b, (double)json_integer_value(v));
        break;
    case JSON_REAL:
        vs_vb_number(b, json_real_value(v));
        break;
    case JSON_STRING:
        vs_vb_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        vs_vb_begin_array(b);
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && !b->too_deep; i++) build_value(b, json_array_get(v, i));
        vs_vb_end(b);
        break;
    }
    case JSON_OBJECT: {
        vs_vb_begin_object(b);
        void *it = json_object_iter((json_t *)v);
        while (it && !b->too_deep) {
            vs_vb_key(b, json_object_iter_key(it), json_object_iter_key_len(it));
            build_value(b, json_object_iter_value(it));
            it = json_object_iter_next((json_t *)v, it);
        }
        vs_vb_end(b);
        break;
    }
    }
}

vs_err jc_encode_metadata(const json_t *obj, uint8_t **out, size_t *len_out, bool *too_deep,
                          vs_status *st)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    build_value(&b, obj);
    *out = vs_vb_finish(&b, len_out, too_deep);
    if (!*out && !*too_deep)
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory encoding metadata");
    return VS_OK;
}

vs_err jc_namespace(const json_t *root, const char **ns, vs_status *st)
{
    *ns = NULL;
    return opt_string(root, "namespace", "", ns, NULL, st);
}

/* ------------------------------------------------------------------ vector fast path */

#define FAST_MAX_DEPTH 64

void jc_fast_init(jc_fast *f)
{
    memset(f, 0, sizeof(*f));
}

void jc_fast_free(jc_fast *f)
{
    vs_buf_free(&f->floats);
    vs_buf_free(&f->cut);
    vs_buf_free(&f->text);
    vs_free(f->off);
    vs_free(f->dim);
    memset(f, 0, sizeof(*f));
}

/* The parsed vector of record rec, or NULL. */
static const float *fast_vec(const jc_fast *f, size_t rec, uint32_t *dim)
{
    if (!f || rec >= f->n || f->off[rec] == SIZE_MAX) return NULL;
    *dim = f->dim[rec];
    return (const float *)(const void *)f->floats.data + f->off[rec];
}

static bool fast_note(jc_fast *f, size_t rec, size_t off, uint32_t dim)
{
    if (rec >= f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        while (cap <= rec) cap *= 2;
        size_t *o = vs_realloc(f->off, cap * sizeof(size_t));
        if (!o) return false;
        f->off = o;
        uint32_t *d = vs_realloc(f->dim, cap * sizeof(uint32_t));
        if (!d) return false;
        f->dim = d;
        f->cap = cap;
    }
    while (f->n <= rec) f->off[f->n++] = SIZE_MAX;
    f->off[rec] = off;
    f->dim[rec] = dim;
    return true;
}

typedef struct scan {
    const char *p, *end;
    const char *base;
    jc_fast *f;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Skips a string at s->p ('"'); *plain tells whether it held no escape. */
static bool skip_string(scan_t *s, bool *plain)
{
    *plain = true;
    s->p++;
    while (s->p < s->end) {
        char c = *s->p++;
        if (c == '"') return true;
        if (c == '\\') {
            *plain = false;
            if (s->p >= s->end) return false;
            s->p++;
        }
    }
    return false;
}

static const double P10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* One JSON number (strict grammar) -> *out. false: not a plain number, or outside the finite
 * doubles (left for jansson to report). Exact: Clinger's fast path when the digits fit in 2^53
 * and the power of ten is exact, strtod otherwise. */
static bool fast_number(scan_t *s, double *out)
{
    const char *start = s->p, *p = s->p, *end = s->end;
    bool neg = false;
    if (p < end && *p == '-') neg = true, p++;
    if (p >= end) return false;
    uint64_t m = 0;
    int digits = 0, e10 = 0, int_digits = 0;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            int_digits++;
            if (digits < 19)
                m = m * 10 + (uint64_t)(*p - '0'), digits += (m != 0);
            else
                e10++;
            p++;
        }
    } else {
        return false;
    }
    bool is_int = true;
    if (p < end && *p == '.') {
        is_int = false;
        p++;
        if (p >= end || *p < '0' || *p > '9') return false;
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                digits += (m != 0);
                e10--;
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = false;
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p == '-', p++;
        if (p >= end || *p < '0' || *p > '9') return false;
        int ev = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (ev < 100000) ev = ev * 10 + (*p - '0');
            p++;
        }
        e10 += eneg ? -ev : ev;
    }
    /* jansson refuses an integer literal beyond int64 ("too big integer"): leave those to it */
    if (is_int && int_digits >= 19) return false;
    double d;
    if (m == 0) {
        d = 0.0;
    } else if (m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        d = e10 >= 0 ? (double)m * P10[e10] : (double)m / P10[-e10];
    } else {
        char tmp[128];
        size_t n = (size_t)(p - start);
        if (n >= sizeof(tmp)) return false;
        memcpy(tmp, start, n);
        tmp[n] = 0;
        d = strtod(tmp, NULL);
        if (!isfinite(d)) return false;
        *out = d;
        s->p = p;
        return true;
    }
    *out = (neg && !is_int) ? -d : d; /* jansson reads "-0" as the integer 0 */
    if (neg && is_int && m != 0) *out = -d;
    s->p = p;
    return true;
}

static bool skip_value(scan_t *s, int depth);

/* At '[' of a vector: parse plain numbers and mark the array's inside to be cut, or skip it
 * untouched. */
static bool scan_vector(scan_t *s, size_t rec)
{
    const char *open = s->p;
    size_t start_len = s->f->floats.len;
    uint32_t n = 0;
    s->p++;
    skip_ws(s);
    bool ok = true;
    if (s->p < s->end && *s->p == ']') ok = false; /* empty: jansson sees it as is */
    while (ok) {
        double d;
        if (!fast_number(s, &d)) {
            ok = false;
            break;
        }
        float f = (float)d;
        vs_buf_append(&s->f->floats, &f, sizeof(f));
        n++;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']') break;
        ok = false;
    }
    if (ok && !s->f->floats.oom && fast_note(s->f, rec, start_len / sizeof(float), n)) {
        size_t cut[2] = {(size_t)(open + 1 - s->base), (size_t)(s->p - s->base)};
        vs_buf_append(&s->f->cut, cut, sizeof(cut));
        s->p++;
        return true;
    }
    s->f->floats.len = start_len;
    s->p = open;
    return skip_value(s, 1);
}

static bool key_is(const char *k, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(k, want, len) == 0;
}

/* kind: 0 = the top object, 1 = a record of "records", 2 = anything else. */
static bool scan_object(scan_t *s, int kind, size_t rec, int depth);

static bool scan_records(scan_t *s)
{
    s->p++; /* '[' */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') return s->p++, true;
    for (size_t i = 0;; i++) {
        skip_ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == '{') {
            if (!scan_object(s, 1, i, 2)) return false;
        } else if (!skip_value(s, 2)) {
            return false;
        }
        skip_ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == ']') return s->p++, true;
        return false;
    }
}

static bool scan_object(scan_t *s, int kind, size_t rec, int depth)
{
    if (depth > FAST_MAX_DEPTH) return false;
    s->p++; /* '{' */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') return s->p++, true;
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"') return false;
        const char *k = s->p + 1;
        bool plain;
        if (!skip_string(s, &plain)) return false;
        size_t klen = (size_t)(s->p - 1 - k);
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') return false;
        s->p++;
        skip_ws(s);
        if (s->p >= s->end) return false;
        bool ok;
        if (plain && kind <= 1 && *s->p == '[' && key_is(k, klen, "vector"))
            ok = scan_vector(s, rec);
        else if (plain && kind == 0 && *s->p == '[' && key_is(k, klen, "records"))
            ok = scan_records(s);
        else
            ok = skip_value(s, depth + 1);
        if (!ok) return false;
        skip_ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') return s->p++, true;
        return false;
    }
}

static bool skip_value(scan_t *s, int depth)
{
    if (depth > FAST_MAX_DEPTH || s->p >= s->end) return false;
    char c = *s->p;
    if (c == '"') {
        bool plain;
        return skip_string(s, &plain);
    }
    if (c == '{') return scan_object(s, 2, 0, depth);
    if (c == '[') {
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == ']') return s->p++, true;
        for (;;) {
            skip_ws(s);
            if (!skip_value(s, depth + 1)) return false;
            skip_ws(s);
            if (s->p >= s->end) return false;
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p == ']') return s->p++, true;
            return false;
        }
    }
    /* a literal or a number: up to the next delimiter */
    while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ' &&
           *s->p != '\t' && *s->p != '\n' && *s->p != '\r')
        s->p++;
    return true;
}

void jc_fast_scan(const char *data, size_t len, jc_fast *f)
{
    scan_t s = {data, data + len, data, f};
    skip_ws(&s);
    if (s.p < s.end && *s.p == '{') scan_object(&s, 0, 0, 0);
    size_t n_cut = f->cut.len / (2 * sizeof(size_t));
    if (!n_cut || f->cut.oom || f->floats.oom) {
        f->n = 0; /* nothing taken (or no memory): jansson parses the body as it is */
        return;
    }
    /* The text jansson parses: the body without the inside of the arrays taken. */
    const size_t *cut = (const size_t *)(const void *)f->cut.data;
    size_t from = 0;
    for (size_t i = 0; i < n_cut; i++) {
        vs_buf_append(&f->text, data + from, cut[2 * i] - from);
        from = cut[2 * i + 1];
    }
    vs_buf_append(&f->text, data + from, len - from);
    if (f->text.oom) f->n = 0;
    f->has_text = !f->text.oom;
}

vs_err jc_parse_fast(const char *data, size_t len, jc_fast *f, json_t **out, vs_status *st)
{
    jc_fast_scan(data, len, f);
    if (!f->has_text) return jc_parse_object(data, len, out, st);
    if (jc_parse_object((const char *)f->text.data, f->text.len, out, st) == VS_OK) return VS_OK;
    /* A syntax error: report it at its place in the body as sent. */
    f->n = 0;
    f->has_text = false;
    return jc_parse_object(data, len, out, st);
}

/* ------------------------------------------------------------------ records */

void jc_records_free(jc_records *r)
{
    if (r->metas)
        for (size_t i = 0; i < r->n; i++) vs_free(r->metas[i]);
    vs_free(r->metas);
    vs_free(r->recs);
    vs_free(r->floats);
    memset(r, 0, sizeof(*r));
}

/* Type checks of one record object; *dim = its vector length. */
static vs_err check_record(const json_t *rec, const char *where, const jc_fast *fast, size_t idx,
                           size_t *dim, vs_status *st)
{
    if (!json_is_object(rec))
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "%srecord must be a JSON object", where);
    const json_t *id = field(rec, "id");
    if (!id) return missing(st, where, "id");
    if (!json_is_string(id)) return wrong_type(st, where, "id", "a string");
    const json_t *vec = field(rec, "vector");
    if (!vec) return missing(st, where, "vector");
    vs_err rc = check_vector(vec, where, dim, st);
    if (rc) return rc;
    uint32_t fdim;
    if (*dim == 0 && fast_vec(fast, idx, &fdim)) *dim = fdim;
    const json_t *meta = field(rec, "metadata");
    if (meta && !json_is_object(meta)) return wrong_type(st, where, "metadata", "a JSON object");
    return VS_OK;
}

/* Fills out from n record objects got by get(i). */
static vs_err decode_records(const json_t *arr, const json_t *single, size_t n, const jc_fast *fast,
                             jc_records *out, vs_status *st)
{
    memset(out, 0, sizeof(*out));
    char where[48] = "";
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = single ? single : json_array_get(arr, i);
        if (!single) snprintf(where, sizeof(where), "records[%zu]: ", i);
        size_t dim = 0;
        vs_err rc = check_record(rec, where, fast, i, &dim, st);
        if (rc) return rc;
        total += dim;
    }
    out->n = n;
    out->recs = vs_calloc(n ? n : 1, sizeof(vs_record_in));
    out->metas = vs_calloc(n ? n : 1, sizeof(uint8_t *));
    out->floats = vs_malloc((total ? total : 1) * sizeof(float));
    if (!out->recs || !out->metas || !out->floats) {
        jc_records_free(out);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory decoding %zu records", n);
    }
    float *fp = out->floats;
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = single ? single : json_array_get(arr, i);
        const json_t *id = field(rec, "id");
        const json_t *vec = field(rec, "vector");
        const json_t *meta = field(rec, "metadata");
        vs_record_in *r = &out->recs[i];
        r->id = json_string_value(id);
        r->id_len = json_string_length(id);
        uint32_t fdim = 0;
        const float *fv = json_array_size(vec) == 0 ? fast_vec(fast, i, &fdim) : NULL;
        if (fv) {
            r->dim = fdim;
            memcpy(fp, fv, (size_t)fdim * sizeof(float));
        } else {
            r->dim = (uint32_t)json_array_size(vec);
            fill_vector(vec, fp);
        }
        r->vector = fp;
        fp += r->dim;
        if (meta) {
            bool too_deep = false;
            size_t len = 0;
            vs_err rc = jc_encode_metadata(meta, &out->metas[i], &len, &too_deep, st);
            if (rc) {
                jc_records_free(out);
                return rc;
            }
            r->meta = out->metas[i];
            r->meta_len = len;
            r->meta_too_deep = too_deep;
        }
    }
    return VS_OK;
}

vs_err jc_decode_upsert(const json_t *root, const jc_fast *fast, jc_records *out, vs_status *st)
{
    return decode_records(NULL, root, 1, fast, out, st);
}

vs_err jc_decode_batch(const json_t *root, const jc_fast *fast, jc_records *out, vs_status *st)
{
    memset(out, 0, sizeof(*out));
    const json_t *recs = field(root, "records");
    if (!recs) return missing(st, "", "records");
    if (!json_is_array(recs)) return wrong_type(st, "", "records", "an array of records");
    return decode_records(recs, NULL, json_array_size(recs), fast, out, st);
}

/* ------------------------------------------------------------------ queries */

vs_err jc_decode_query(const json_t *root, const jc_fast *fast, bool hybrid, bool ws,
                       vs_query_in *q, float **vec_out, vs_status *st)
{
    memset(q, 0, sizeof(*q));
    *vec_out = NULL;
    q->include_metadata = true;
    q->hybrid = hybrid;
    vs_err rc;
    const json_t *vec = field(root, "vector");
    size_t dim = 0;
    if (vec) {
        rc = check_vector(vec, "", &dim, st);
        if (rc) return rc;
    }
    int64_t iv = 0;
    bool has = false;
    rc = opt_int(root, "limit", "", &iv, &has, st);
    if (rc) return rc;
    if (has) {
        q->has_limit = true;
        q->limit_raw = iv;
        q->limit = clamp_u32(iv);
    }
    rc = opt_int(root, "ef", "", &iv, &has, st);
    if (rc) return rc;
    if (has) {
        q->has_ef = true;
        q->ef_raw = iv;
        q->ef = clamp_u32(iv);
    }
    if ((rc = opt_string(root, "filter", "", &q->filter, &q->filter_len, st))) return rc;
    if ((rc = opt_bool(root, "include_metadata", &q->include_metadata, st))) return rc;
    if ((rc = opt_bool(root, "include_vector", &q->include_vector, st))) return rc;
    if ((rc = opt_string(root, "text_query", "", &q->text_query, &q->text_len, st))) return rc;
    const json_t *alpha = field(root, "alpha");
    if (alpha) {
        if (!json_is_number(alpha)) return wrong_type(st, "", "alpha", "a number");
        q->alpha = json_number_value(alpha);
        q->has_alpha = true;
    } else {
        q->alpha = 0.5;
    }
    if (ws && (q->text_query || q->has_alpha)) q->hybrid = true;
    if (vec) {
        uint32_t fdim = 0;
        const float *fv = dim == 0 ? fast_vec(fast, 0, &fdim) : NULL;
        if (fv) dim = fdim;
        float *v = vs_malloc((dim ? dim : 1) * sizeof(float));
        if (!v) return vs_status_set(st, VS_ERR_NOMEM, "out of memory decoding the query vector");
        if (fv)
            memcpy(v, fv, dim * sizeof(float));
        else
            fill_vector(vec, v);
        q->vector = v;
        q->dim = (uint32_t)dim;
        q->has_vector = true;
        *vec_out = v;
    }
    return VS_OK;
}

/* ------------------------------------------------------------------ admin */

static const char *const QUOTA_NAMES[7] = {
    "max_vectors",   "max_storage_bytes",     "max_requests_per_second", "max_concurrent_queries",
    "max_dimension", "max_results_per_query", "max_batch_size"};

static vs_quota_update *quota_slot(vs_quotas_update *u, int i)
{
    vs_quota_update *slots[7] = {&u->max_vectors,
                                 &u->max_storage_bytes,
                                 &u->max_requests_per_second,
                                 &u->max_concurrent_queries,
                                 &u->max_dimension,
                                 &u->max_results_per_query,
                                 &u->max_batch_size};
    return slots[i];
}

static vs_err decode_quota_fields(const json_t *obj, vs_quotas_update *u, vs_status *st)
{
    memset(u, 0, sizeof(*u));
    for (int i = 0; i < 7; i++) {
        const json_t *v = json_object_get(obj, QUOTA_NAMES[i]);
        vs_quota_update *q = quota_slot(u, i);
        if (!v) continue;
        if (json_is_null(v)) {
            q->kind = VS_QUP_NULL;
        } else if (json_is_number(v)) {
            q->kind = VS_QUP_VALUE;
            q->value = json_number_value(v);
        } else {
            return wrong_type(st, "", QUOTA_NAMES[i], "a number or null");
        }
    }
    return VS_OK;
}

vs_err jc_decode_quotas_update(const json_t *root, vs_quotas_update *u, vs_status *st)
{
    const json_t *inner = field(root, "quotas");
    if (inner) {
        if (!json_is_object(inner)) return wrong_type(st, "", "quotas", "a JSON object");
        return decode_quota_fields(inner, u, st);
    }
    return decode_quota_fields(root, u, st);
}

static vs_err opt_u32_setting(const json_t *obj, const char *key, const char *where, uint32_t *out,
                              vs_status *st)
{
    int64_t v = 0;
    bool has = false;
    vs_err rc = opt_int(obj, key, where, &v, &has, st);
    if (rc) return rc;
    if (!has) return VS_OK;
    if (v <= 0) return wrong_type(st, where, key, "a positive integer");
    *out = clamp_u32(v);
    return VS_OK;
}

vs_err jc_decode_ns_create(const json_t *root, vs_ns_create *c, vs_status *st)
{
    memset(c, 0, sizeof(*c));
    vs_err rc;
    const json_t *id = field(root, "id");
    if (!id) return missing(st, "", "id");
    if (!json_is_string(id)) return wrong_type(st, "", "id", "a string");
    if (has_nul(id)) return no_nul(st, "", "id");
    c->id = json_string_value(id);
    if ((rc = opt_string(root, "name", "", &c->name, NULL, st))) return rc;
    if ((rc = opt_string(root, "tier", "", &c->tier, NULL, st))) return rc;
    if ((rc = opt_string(root, "metric", "", &c->metric, NULL, st))) return rc;
    c->has_metric = c->metric != NULL;
    const json_t *quotas = field(root, "quotas");
    if (quotas) {
        if (!json_is_object(quotas)) return wrong_type(st, "", "quotas", "a JSON object");
        if ((rc = decode_quota_fields(quotas, &c->quotas, st))) return rc;
        c->has_quotas = true;
    }
    if ((rc = opt_u32_setting(root, "dimension", "", &c->dimension, st))) return rc;
    /* HNSW settings: in an "hnsw" object or at the top level. */
    const json_t *hnsw = field(root, "hnsw");
    if (hnsw && !json_is_object(hnsw)) return wrong_type(st, "", "hnsw", "a JSON object");
    const json_t *src = hnsw ? hnsw : root;
    if ((rc = opt_u32_setting(src, "m", "", &c->m, st))) return rc;
    if ((rc = opt_u32_setting(src, "ef_construction", "", &c->ef_construction, st))) return rc;
    if ((rc = opt_u32_setting(src, "ef_search", "", &c->ef_search, st))) return rc;
    return VS_OK;
}

vs_err jc_decode_status(const json_t *root, const char **status, vs_status *st)
{
    const json_t *v = field(root, "status");
    if (!v) return missing(st, "", "status");
    if (!json_is_string(v)) return wrong_type(st, "", "status", "a string");
    if (has_nul(v)) return no_nul(st, "", "status");
    *status = json_string_value(v);
    return VS_OK;
}

/* ------------------------------------------------------------------ encoding */

static const char HEX[] = "0123456789abcdef";

void jc_str(vs_buf *b, const char *s, size_t len)
{
    vs_buf_reserve(b, len + 2);
    vs_buf_append_u8(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        vs_buf_append(b, s + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = HEX[c >> 4], esc[5] = HEX[c & 15];
            n = 6;
        }
        vs_buf_append(b, esc, n);
    }
    vs_buf_append(b, s + start, len - start);
    vs_buf_append_u8(b, '"');
}

void jc_cstr(vs_buf *b, const char *s)
{
    if (!s) {
        jc_lit(b, "null");
        return;
    }
    jc_str(b, s, strlen(s));
}

void jc_u64(vs_buf *b, uint64_t v)
{
    char t[24];
    int i = 24;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    vs_buf_append(b, t + i, (size_t)(24 - i));
}

void jc_i64(vs_buf *b, int64_t v)
{
    if (v < 0) {
        vs_buf_append_u8(b, '-');
        jc_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        jc_u64(b, (uint64_t)v);
    }
}

void jc_float(vs_buf *b, float f)
{
    if (!isfinite(f)) {
        jc_lit(b, "null");
        return;
    }
    char t[48];
    int n = vs_fmt_float(t, f);
    vs_buf_append(b, t, (size_t)n);
}

void jc_double(vs_buf *b, double d)
{
    if (!isfinite(d)) {
        jc_lit(b, "null");
        return;
    }
    if (d == floor(d) && fabs(d) <= JC_MAX_EXACT_INT) {
        jc_i64(b, (int64_t)d);
        return;
    }
    char t[48];
    int n = vs_fmt_double(t, d);
    if (!memchr(t, '.', (size_t)n) && !memchr(t, 'e', (size_t)n) && n > 16) {
        /* a whole number past 2^53 in plain digits ("150000000000000000000") reads back as an
         * integer too big for JSON parsers (jansson included): write it with an exponent */
        const char *dg = t[0] == '-' ? t + 1 : t;
        int nd = n - (int)(dg - t), last = nd;
        while (last > 1 && dg[last - 1] == '0') last--;
        char e[64];
        int m = snprintf(e, sizeof e, "%s%c%s%.*s" "e+%d", t[0] == '-' ? "-" : "", dg[0], last > 1 ? "." : "",
                         last - 1, dg + 1, nd - 1);
        vs_buf_append(b, e, (size_t)m);
        return;
    }
    vs_buf_append(b, t, (size_t)n);
}

void jc_vector(vs_buf *b, const float *v, uint32_t dim)
{
    vs_buf_reserve(b, (size_t)dim * 12 + 2);
    vs_buf_append_u8(b, '[');
    for (uint32_t i = 0; i < dim; i++) {
        if (i) vs_buf_append_u8(b, ',');
        jc_float(b, v[i]);
    }
    vs_buf_append_u8(b, ']');
}

void jc_value(vs_buf *b, vs_value v)
{
    switch (vs_value_type(v)) {
    case VS_VAL_MISSING:
    case VS_VAL_NULL:
        jc_lit(b, "null");
        break;
    case VS_VAL_BOOL:
        jc_lit(b, vs_value_bool(v) ? "true" : "false");
        break;
    case VS_VAL_NUMBER:
        jc_double(b, vs_value_number(v));
        break;
    case VS_VAL_STRING: {
        size_t len = 0;
        const char *s = vs_value_string(v, &len);
        jc_str(b, s, len);
        break;
    }
    case VS_VAL_ARRAY:
    case VS_VAL_OBJECT: {
        bool obj = vs_value_type(v) == VS_VAL_OBJECT;
        vs_buf_append_u8(b, obj ? '{' : '[');
        vs_value_iter it;
        vs_value_iter_init(&it, v);
        const char *key;
        size_t key_len;
        vs_value child;
        bool first = true;
        while (vs_value_iter_next(&it, &key, &key_len, &child)) {
            if (!first) vs_buf_append_u8(b, ',');
            first = false;
            if (obj) {
                jc_str(b, key, key_len);
                vs_buf_append_u8(b, ':');
            }
            jc_value(b, child);
        }
        vs_buf_append_u8(b, obj ? '}' : ']');
        break;
    }
    }
}

void jc_meta(vs_buf *b, const uint8_t *meta, size_t len)
{
    if (!meta || !len) {
        jc_lit(b, "{}");
        return;
    }
    jc_value(b, vs_value_of(meta, len));
}

void jc_write_error(vs_buf *b, const char *msg)
{
    jc_lit(b, "{\"error\":");
    jc_cstr(b, msg);
    vs_buf_append_u8(b, '}');
}

static void write_hit_fields(vs_buf *b, const vs_hit *h, uint32_t dim, bool hybrid,
                             bool include_metadata)
{
    jc_lit(b, "{\"id\":");
    jc_str(b, h->id, h->id_len);
    jc_lit(b, ",\"score\":");
    jc_float(b, h->score);
    if (hybrid) {
        jc_lit(b, ",\"vector_score\":");
        jc_float(b, h->vector_score);
        jc_lit(b, ",\"text_score\":");
        jc_float(b, h->text_score);
    }
    if (include_metadata) {
        jc_lit(b, ",\"metadata\":");
        jc_meta(b, h->meta, h->meta_len);
    }
    if (h->vector) {
        jc_lit(b, ",\"vector\":");
        jc_vector(b, h->vector, dim);
    }
}

void jc_write_query(vs_buf *b, const vs_query_out *o, const vs_query_in *q)
{
    jc_lit(b, "{\"results\":[");
    for (uint32_t i = 0; i < o->n_hits; i++) {
        if (i) vs_buf_append_u8(b, ',');
        write_hit_fields(b, &o->hits[i], o->dim, o->hybrid || q->hybrid, q->include_metadata);
        vs_buf_append_u8(b, '}');
    }
    jc_lit(b, "],\"stats\":{\"took_us\":");
    jc_u64(b, o->took_us);
    jc_lit(b, ",\"plan\":");
    jc_cstr(b, o->plan ? o->plan : "");
    jc_lit(b, ",\"visited\":");
    jc_u64(b, o->visited);
    jc_lit(b, "}}");
}

void jc_write_record(vs_buf *b, const vs_record_out *r)
{
    jc_lit(b, "{\"id\":");
    jc_str(b, r->id, r->id_len);
    jc_lit(b, ",\"vector\":");
    jc_vector(b, r->vector, r->dim);
    jc_lit(b, ",\"metadata\":");
    jc_meta(b, r->meta, r->meta_len);
    jc_lit(b, ",\"state\":");
    jc_cstr(b, r->state ? r->state : "live");
    vs_buf_append_u8(b, '}');
}

static void write_dimension(vs_buf *b, uint32_t dim)
{
    if (dim)
        jc_u64(b, dim);
    else
        jc_lit(b, "null");
}

void jc_write_stats(vs_buf *b, const vs_stats_out *s)
{
    jc_lit(b, "{\"namespace\":");
    jc_cstr(b, s->namespace_id);
    jc_lit(b, ",\"dimension\":");
    write_dimension(b, s->dimension);
    jc_lit(b, ",\"metric\":");
    jc_cstr(b, s->metric);
    jc_lit(b, ",\"vector_count\":");
    jc_u64(b, s->vector_count);
    jc_lit(b, ",\"active_count\":");
    jc_u64(b, s->active_count);
    jc_lit(b, ",\"deleted_count\":");
    jc_u64(b, s->deleted_count);
    jc_lit(b, ",\"reclaimable_bytes\":");
    jc_u64(b, s->reclaimable_bytes);
    jc_lit(b, ",\"index\":{\"type\":");
    jc_cstr(b, s->index_type ? s->index_type : "hnsw");
    jc_lit(b, ",\"m\":");
    jc_u64(b, s->m);
    jc_lit(b, ",\"ef_construction\":");
    jc_u64(b, s->ef_construction);
    jc_lit(b, ",\"ef_search\":");
    jc_u64(b, s->ef_search);
    jc_lit(b, ",\"nodes\":");
    jc_u64(b, s->index_nodes);
    jc_lit(b, ",\"levels\":");
    jc_u64(b, s->index_levels);
    jc_lit(b, "},\"memory_bytes\":");
    jc_u64(b, s->memory_bytes);
    jc_lit(b, ",\"disk_bytes\":");
    jc_u64(b, s->disk_bytes);
    vs_buf_append_u8(b, '}');
}

static const vs_quota *quota_at(const vs_quotas *q, int i)
{
    const vs_quota *slots[7] = {&q->max_vectors,
                                &q->max_storage_bytes,
                                &q->max_requests_per_second,
                                &q->max_concurrent_queries,
                                &q->max_dimension,
                                &q->max_results_per_query,
                                &q->max_batch_size};
    return slots[i];
}

void jc_write_ns(vs_buf *b, const vs_ns_info *ns)
{
    jc_lit(b, "{\"id\":");
    jc_cstr(b, ns->id);
    jc_lit(b, ",\"name\":");
    jc_cstr(b, ns->name ? ns->name : ns->id);
    jc_lit(b, ",\"status\":");
    jc_cstr(b, ns->status);
    jc_lit(b, ",\"created_at\":");
    jc_i64(b, ns->created_at);
    jc_lit(b, ",\"dimension\":");
    write_dimension(b, ns->dimension);
    jc_lit(b, ",\"metric\":");
    jc_cstr(b, ns->metric);
    jc_lit(b, ",\"hnsw\":{\"m\":");
    jc_u64(b, ns->m);
    jc_lit(b, ",\"ef_construction\":");
    jc_u64(b, ns->ef_construction);
    jc_lit(b, ",\"ef_search\":");
    jc_u64(b, ns->ef_search);
    jc_lit(b, "},\"quotas\":{");
    for (int i = 0; i < 7; i++) {
        const vs_quota *q = quota_at(&ns->quotas, i);
        if (i) vs_buf_append_u8(b, ',');
        jc_cstr(b, QUOTA_NAMES[i]);
        vs_buf_append_u8(b, ':');
        if (q->set)
            jc_double(b, q->value);
        else
            jc_lit(b, "null");
    }
    jc_lit(b, "},\"usage\":{\"vector_count\":");
    jc_u64(b, ns->vector_count);
    jc_lit(b, ",\"active_count\":");
    jc_u64(b, ns->active_count);
    jc_lit(b, ",\"deleted_count\":");
    jc_u64(b, ns->deleted_count);
    jc_lit(b, ",\"storage_bytes\":");
    jc_u64(b, ns->storage_bytes);
    jc_lit(b, ",\"total_requests\":");
    jc_u64(b, ns->total_requests);
    jc_lit(b, ",\"total_queries\":");
    jc_u64(b, ns->total_queries);
    jc_lit(b, ",\"total_upserts\":");
    jc_u64(b, ns->total_upserts);
    jc_lit(b, ",\"total_deletes\":");
    jc_u64(b, ns->total_deletes);
    jc_lit(b, ",\"quota_utilization\":");
    jc_double(b, ns->quota_utilization);
    jc_lit(b, "}}");
}

void jc_write_ns_stats(vs_buf *b, const vs_ns_info *ns)
{
    jc_lit(b, "{\"namespace_id\":");
    jc_cstr(b, ns->id);
    jc_lit(b, ",\"vector_count\":");
    jc_u64(b, ns->vector_count);
    jc_lit(b, ",\"active_count\":");
    jc_u64(b, ns->active_count);
    jc_lit(b, ",\"deleted_count\":");
    jc_u64(b, ns->deleted_count);
    jc_lit(b, ",\"dimension\":");
    write_dimension(b, ns->dimension);
    jc_lit(b, ",\"quota_utilization\":");
    jc_double(b, ns->quota_utilization);
    jc_lit(b, ",\"total_requests\":");
    jc_u64(b, ns->total_requests);
    jc_lit(b, ",\"total_queries\":");
    jc_u64(b, ns->total_queries);
    jc_lit(b, ",\"total_upserts\":");
    jc_u64(b, ns->total_upserts);
    jc_lit(b, ",\"total_deletes\":");
    jc_u64(b, ns->total_deletes);
    jc_lit(b, ",\"status\":");
    jc_cstr(b, ns->status);
    vs_buf_append_u8(b, '}');
}

void jc_write_admin_stats(vs_buf *b, const vs_admin_stats *s)
{
    jc_lit(b, "{\"total_namespaces\":");
    jc_u64(b, s->total_namespaces);
    jc_lit(b, ",\"active_namespaces\":");
    jc_u64(b, s->active_namespaces);
    jc_lit(b, ",\"total_vectors\":");
    jc_u64(b, s->total_vectors);
    jc_lit(b, ",\"total_requests\":");
    jc_u64(b, s->total_requests);
    vs_buf_append_u8(b, '}');
}

void jc_write_key(vs_buf *b, const vs_key_info *k, bool with_secret)
{
    jc_lit(b, "{\"key_id\":");
    jc_cstr(b, k->key_id);
    if (with_secret) {
        jc_lit(b, ",\"key\":");
        jc_cstr(b, k->key);
    }
    jc_lit(b, ",\"namespace\":");
    jc_cstr(b, k->namespace_id);
    jc_lit(b, ",\"created_at\":");
    jc_i64(b, k->created_at);
    vs_buf_append_u8(b, '}');
}

static void write_rid(vs_buf *b, const char *rid, size_t rid_len)
{
    if (!rid) return;
    jc_lit(b, ",\"request_id\":");
    vs_buf_append(b, rid, rid_len);
}

void jc_write_ws_hit(vs_buf *b, const vs_hit *h, uint32_t rank, uint32_t dim, bool hybrid,
                     bool include_metadata, const char *rid, size_t rid_len)
{
    write_hit_fields(b, h, dim, hybrid, include_metadata);
    jc_lit(b, ",\"rank\":");
    jc_u64(b, rank);
    write_rid(b, rid, rid_len);
    vs_buf_append_u8(b, '}');
}

void jc_write_ws_complete(vs_buf *b, const vs_query_out *o, const char *rid, size_t rid_len)
{
    jc_lit(b, "{\"complete\":true,\"stats\":{\"count\":");
    jc_u64(b, o->n_hits);
    jc_lit(b, ",\"took_us\":");
    jc_u64(b, o->took_us);
    jc_lit(b, ",\"plan\":");
    jc_cstr(b, o->plan ? o->plan : "");
    jc_lit(b, ",\"visited\":");
    jc_u64(b, o->visited);
    vs_buf_append_u8(b, '}');
    write_rid(b, rid, rid_len);
    vs_buf_append_u8(b, '}');
}

void jc_write_ws_error(vs_buf *b, const char *msg, const char *rid, size_t rid_len)
{
    jc_lit(b, "{\"error\":");
    jc_cstr(b, msg);
    write_rid(b, rid, rid_len);
    vs_buf_append_u8(b, '}');
}
