/*
 * value.c - reader, validator and builder of the compact metadata encoding described in value.h.
 *
 * Invariants:
 *  1. A container's body length equals the bytes of its elements/entries, so skipping is O(1).
 *  2. Readers trust bytes produced by the builder or accepted by vs_value_validate; nothing else
 *     reaches them (WAL and snapshot loaders validate first).
 *
 * Thread-safety: pure functions over immutable bytes; a builder is single-threaded.
 */
#include "core/value.h"

#include "util/alloc.h"

#include <string.h>

static const uint8_t empty_object[9] = {VS_TAG_OBJECT, 0, 0, 0, 0, 0, 0, 0, 0};

vs_value vs_value_empty_object(void)
{
    return (vs_value){empty_object, sizeof empty_object};
}

/* Encoded size of the value at p (trusted bytes). */
static size_t value_size(const uint8_t *p)
{
    switch (p[0]) {
    case VS_TAG_NUMBER:
        return 9;
    case VS_TAG_STRING:
        return 5 + (size_t)vs_load_u32(p + 1);
    case VS_TAG_ARRAY:
    case VS_TAG_OBJECT:
        return 9 + (size_t)vs_load_u32(p + 5);
    default:
        return 1;
    }
}

vs_value vs_value_of(const uint8_t *p, size_t len)
{
    if (!p || !len) return vs_value_missing();
    return (vs_value){p, len};
}

static bool check(const uint8_t *p, size_t len, size_t *used, int depth, int max_depth)
{
    if (len < 1) return false;
    switch (p[0]) {
    case VS_TAG_NULL:
    case VS_TAG_FALSE:
    case VS_TAG_TRUE:
        *used = 1;
        return true;
    case VS_TAG_NUMBER:
        if (len < 9) return false;
        *used = 9;
        return true;
    case VS_TAG_STRING: {
        if (len < 5) return false;
        size_t n = vs_load_u32(p + 1);
        if (n > len - 5) return false;
        *used = 5 + n;
        return true;
    }
    case VS_TAG_ARRAY:
    case VS_TAG_OBJECT: {
        if (len < 9 || depth + 1 > max_depth) return false;
        uint32_t count = vs_load_u32(p + 1);
        size_t body = vs_load_u32(p + 5);
        if (body > len - 9) return false;
        const uint8_t *q = p + 9, *end = q + body;
        for (uint32_t i = 0; i < count; i++) {
            if (p[0] == VS_TAG_OBJECT) {
                if ((size_t)(end - q) < 4) return false;
                size_t kl = vs_load_u32(q);
                if (kl > (size_t)(end - q) - 4) return false;
                q += 4 + kl;
            }
            size_t u;
            if (!check(q, (size_t)(end - q), &u, depth + 1, max_depth)) return false;
            q += u;
        }
        if (q != end) return false;
        *used = 9 + body;
        return true;
    }
    default:
        return false;
    }
}

bool vs_value_validate(const uint8_t *p, size_t len, int max_depth)
{
    size_t used;
    return p && check(p, len, &used, 0, max_depth) && used == len;
}

vs_val_type vs_value_type(vs_value v)
{
    if (!v.p) return VS_VAL_MISSING;
    switch (v.p[0]) {
    case VS_TAG_NULL:
        return VS_VAL_NULL;
    case VS_TAG_FALSE:
    case VS_TAG_TRUE:
        return VS_VAL_BOOL;
    case VS_TAG_NUMBER:
        return VS_VAL_NUMBER;
    case VS_TAG_STRING:
        return VS_VAL_STRING;
    case VS_TAG_ARRAY:
        return VS_VAL_ARRAY;
    case VS_TAG_OBJECT:
        return VS_VAL_OBJECT;
    default:
        return VS_VAL_MISSING;
    }
}

bool vs_value_bool(vs_value v)
{
    return v.p && v.p[0] == VS_TAG_TRUE;
}

double vs_value_number(vs_value v)
{
    if (!v.p || v.p[0] != VS_TAG_NUMBER) return 0;
    uint64_t bits = vs_load_u64(v.p + 1);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

const char *vs_value_string(vs_value v, size_t *len)
{
    if (!v.p || v.p[0] != VS_TAG_STRING) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = vs_load_u32(v.p + 1);
    return (const char *)v.p + 5;
}

uint32_t vs_value_count(vs_value v)
{
    if (!v.p || (v.p[0] != VS_TAG_ARRAY && v.p[0] != VS_TAG_OBJECT)) return 0;
    return vs_load_u32(v.p + 1);
}

void vs_value_iter_init(vs_value_iter *it, vs_value c)
{
    memset(it, 0, sizeof *it);
    if (!c.p || (c.p[0] != VS_TAG_ARRAY && c.p[0] != VS_TAG_OBJECT)) return;
    it->is_object = c.p[0] == VS_TAG_OBJECT;
    it->left = vs_load_u32(c.p + 1);
    it->p = c.p + 9;
    it->end = it->p + vs_load_u32(c.p + 5);
}

bool vs_value_iter_next(vs_value_iter *it, const char **key, size_t *key_len, vs_value *out)
{
    if (!it->left || it->p >= it->end) return false;
    it->left--;
    if (it->is_object) {
        size_t kl = vs_load_u32(it->p);
        if (key) *key = (const char *)it->p + 4;
        if (key_len) *key_len = kl;
        it->p += 4 + kl;
    } else {
        if (key) *key = NULL;
        if (key_len) *key_len = 0;
    }
    size_t n = value_size(it->p);
    if (out) *out = (vs_value){it->p, n};
    it->p += n;
    return true;
}

bool vs_value_get(vs_value obj, const char *key, size_t key_len, vs_value *out)
{
    *out = vs_value_missing();
    if (!obj.p || obj.p[0] != VS_TAG_OBJECT) return false;
    vs_value_iter it;
    vs_value_iter_init(&it, obj);
    const char *k;
    size_t kl;
    vs_value v;
    while (vs_value_iter_next(&it, &k, &kl, &v)) {
        if (kl == key_len && memcmp(k, key, kl) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

bool vs_value_equal(vs_value a, vs_value b)
{
    vs_val_type ta = vs_value_type(a), tb = vs_value_type(b);
    if (ta != tb) return false;
    switch (ta) {
    case VS_VAL_MISSING:
    case VS_VAL_NULL:
        return true;
    case VS_VAL_BOOL:
        return a.p[0] == b.p[0];
    case VS_VAL_NUMBER:
        return vs_value_number(a) == vs_value_number(b);
    case VS_VAL_STRING: {
        size_t la, lb;
        const char *sa = vs_value_string(a, &la), *sb = vs_value_string(b, &lb);
        return la == lb && memcmp(sa, sb, la) == 0;
    }
    case VS_VAL_ARRAY: {
        if (vs_value_count(a) != vs_value_count(b)) return false;
        vs_value_iter ia, ib;
        vs_value_iter_init(&ia, a);
        vs_value_iter_init(&ib, b);
        vs_value ea, eb;
        while (vs_value_iter_next(&ia, NULL, NULL, &ea) && vs_value_iter_next(&ib, NULL, NULL, &eb))
            if (!vs_value_equal(ea, eb)) return false;
        return true;
    }
    case VS_VAL_OBJECT: {
        if (vs_value_count(a) != vs_value_count(b)) return false;
        vs_value_iter ia;
        vs_value_iter_init(&ia, a);
        const char *k;
        size_t kl;
        vs_value ea, eb;
        while (vs_value_iter_next(&ia, &k, &kl, &ea))
            if (!vs_value_get(b, k, kl, &eb) || !vs_value_equal(ea, eb)) return false;
        return true;
    }
    }
    return false;
}

int vs_value_depth(vs_value v)
{
    vs_val_type t = vs_value_type(v);
    if (t != VS_VAL_ARRAY && t != VS_VAL_OBJECT) return 0;
    int max = 0;
    vs_value_iter it;
    vs_value_iter_init(&it, v);
    vs_value e;
    while (vs_value_iter_next(&it, NULL, NULL, &e)) {
        int d = vs_value_depth(e);
        if (d > max) max = d;
    }
    return max + 1;
}

/* ---- builder ---- */

void vs_vb_init(vs_vbuilder *b)
{
    memset(b, 0, sizeof *b);
    vs_buf_init(&b->buf);
}

void vs_vb_free(vs_vbuilder *b)
{
    vs_buf_free(&b->buf);
}

static void counted(vs_vbuilder *b)
{
    /* past the depth limit nothing is recorded: the build already failed (too_deep) */
    if (b->depth > 0 && b->depth <= VS_VALUE_MAX_DEPTH) b->count[b->depth]++;
}

void vs_vb_null(vs_vbuilder *b)
{
    vs_buf_append_u8(&b->buf, VS_TAG_NULL);
    counted(b);
}

void vs_vb_bool(vs_vbuilder *b, bool v)
{
    vs_buf_append_u8(&b->buf, v ? VS_TAG_TRUE : VS_TAG_FALSE);
    counted(b);
}

void vs_vb_number(vs_vbuilder *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    vs_buf_append_u8(&b->buf, VS_TAG_NUMBER);
    vs_buf_append_u64(&b->buf, bits);
    counted(b);
}

void vs_vb_string(vs_vbuilder *b, const char *s, size_t len)
{
    vs_buf_append_u8(&b->buf, VS_TAG_STRING);
    vs_buf_append_u32(&b->buf, (uint32_t)len);
    vs_buf_append(&b->buf, s, len);
    counted(b);
}

static void begin(vs_vbuilder *b, uint8_t tag)
{
    counted(b);
    if (b->depth >= VS_VALUE_MAX_DEPTH) {
        b->too_deep = true;
        b->depth++; /* keep begin/end balanced; nothing more is written */
        return;
    }
    b->depth++;
    b->start[b->depth] = b->buf.len;
    b->count[b->depth] = 0;
    uint8_t hdr[9] = {tag, 0, 0, 0, 0, 0, 0, 0, 0};
    vs_buf_append(&b->buf, hdr, sizeof hdr);
}

void vs_vb_begin_array(vs_vbuilder *b)
{
    begin(b, VS_TAG_ARRAY);
}
void vs_vb_begin_object(vs_vbuilder *b)
{
    begin(b, VS_TAG_OBJECT);
}

void vs_vb_key(vs_vbuilder *b, const char *k, size_t len)
{
    vs_buf_append_u32(&b->buf, (uint32_t)len);
    vs_buf_append(&b->buf, k, len);
    /* the entry is counted once, by the value that follows */
}

void vs_vb_end(vs_vbuilder *b)
{
    if (b->depth <= 0) return;
    if (b->depth > VS_VALUE_MAX_DEPTH) {
        b->depth--;
        return;
    }
    if (!b->buf.oom) {
        size_t s = b->start[b->depth];
        vs_store_u32(b->buf.data + s + 1, b->count[b->depth]);
        vs_store_u32(b->buf.data + s + 5, (uint32_t)(b->buf.len - s - 9));
    }
    b->depth--;
}

void vs_vb_raw(vs_vbuilder *b, vs_value v)
{
    if (!v.p) {
        vs_vb_null(b);
        return;
    }
    if (b->depth + vs_value_depth(v) > VS_VALUE_MAX_DEPTH) b->too_deep = true;
    vs_buf_append(&b->buf, v.p, v.len);
    counted(b);
}

uint8_t *vs_vb_finish(vs_vbuilder *b, size_t *len_out, bool *too_deep)
{
    if (too_deep) *too_deep = b->too_deep;
    if (b->too_deep || b->depth != 0 || b->buf.oom) {
        vs_buf_free(&b->buf);
        *len_out = 0;
        return NULL;
    }
    return vs_buf_detach(&b->buf, len_out);
}
