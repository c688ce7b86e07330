/*
 * codec.c - the protobuf side of the gRPC adapter: decoding requests safely, packing replies,
 * MetadataValue <-> the encoded value model (src/core/value.h), and a minimal wire writer/reader
 * for the hand-encoded health and reflection messages.
 *
 * How:
 * - Requests are unpacked by protobuf-c (generated from proto/vecstore.proto at build time) after
 *   a schema-aware pre-scan that bounds the nesting of messages (protobuf-c recurses once per
 *   level, so an unbounded depth would exhaust the stack of a poller thread).
 * - Metadata maps go straight into a vs_vbuilder (no JSON); a key repeated on the wire keeps the
 *   last value (protobuf's map rule, and the builder's caller must dedupe). Replies are built as
 *   protobuf-c structs inside a bump arena (gs_arena) and packed once.
 * - gs_scan_string_field reads one top-level string field without decoding the message, to
 *   name the namespace of a request that is too large or malformed (service.h, step 1).
 *
 * Invariants:
 *   1. A decoded request is freed with protobuf_c_message_free_unpacked(msg, &gs_pb_alloc).
 *   2. Every reply struct and string built here lives in the caller's arena; nothing in it is
 *      freed individually.
 *   3. Strings: protobuf-c hands strings over NUL-terminated, so an embedded NUL ends them.
 *
 * Concurrency: no shared state; every function works on caller-owned memory.
 * Callers: data.c, admin.c, stream.c, server.c.
 */
#include "gs_int.h"

#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------- arena */

struct gs_chunk {
    struct gs_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define GS_CHUNK_MIN 4096

void gs_arena_init(gs_arena *a)
{
    a->head = NULL;
    a->oom = false;
}

void *gs_arena_alloc(gs_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0) n = sizeof(max_align_t);
    struct gs_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > GS_CHUNK_MIN ? n : GS_CHUNK_MIN;
        if (c != NULL && c->cap * 2 > cap && c->cap < (1u << 20)) cap = c->cap * 2;
        c = vs_malloc(sizeof(*c) + cap);
        if (c == NULL) {
            a->oom = true;
            return NULL;
        }
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *gs_arena_strndup(gs_arena *a, const char *s, size_t n)
{
    char *p = gs_arena_alloc(a, n + 1);
    if (p == NULL) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void gs_arena_free(gs_arena *a)
{
    struct gs_chunk *c = a->head;
    while (c != NULL) {
        struct gs_chunk *next = c->next;
        vs_free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---------------------------------------------------------------------------- protobuf-c glue */

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return vs_malloc(size ? size : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    vs_free(p);
}

ProtobufCAllocator gs_pb_alloc = {pb_alloc, pb_free, NULL};

bool gs_pb_next(const uint8_t *p, size_t n, size_t *off, uint32_t *field, uint32_t *wt,
                const uint8_t **val, size_t *val_len, uint64_t *num, bool *bad)
{
    size_t i = *off;
    *bad = false;
    if (i >= n) return false;
    uint64_t key = 0;
    for (int shift = 0;; shift += 7) {
        if (i >= n || shift > 63) goto malformed;
        uint8_t byte = p[i++];
        key |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) break;
    }
    *field = (uint32_t)(key >> 3);
    *wt = (uint32_t)(key & 7);
    *val = NULL;
    *val_len = 0;
    *num = 0;
    switch (*wt) {
    case 0: {
        uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            if (i >= n || shift > 63) goto malformed;
            uint8_t byte = p[i++];
            v |= (uint64_t)(byte & 0x7f) << shift;
            if (!(byte & 0x80)) break;
        }
        *num = v;
        break;
    }
    case 1:
        if (n - i < 8) goto malformed;
        *val = p + i;
        *val_len = 8;
        i += 8;
        break;
    case 5:
        if (n - i < 4) goto malformed;
        *val = p + i;
        *val_len = 4;
        i += 4;
        break;
    case 2: {
        uint64_t len = 0;
        for (int shift = 0;; shift += 7) {
            if (i >= n || shift > 63) goto malformed;
            uint8_t byte = p[i++];
            len |= (uint64_t)(byte & 0x7f) << shift;
            if (!(byte & 0x80)) break;
        }
        if (len > n - i) goto malformed;
        *val = p + i;
        *val_len = (size_t)len;
        i += (size_t)len;
        break;
    }
    default:
        goto malformed;
    }
    *off = i;
    return true;
malformed:
    *bad = true;
    return false;
}

bool gs_scan_string_field(const uint8_t *p, size_t n, uint32_t field_no, char *out, size_t out_size)
{
    size_t off = 0;
    uint32_t f, wt;
    const uint8_t *v;
    size_t vl;
    uint64_t num;
    bool bad;
    bool found = false;
    while (gs_pb_next(p, n, &off, &f, &wt, &v, &vl, &num, &bad)) {
        if (f == field_no && wt == 2) { /* the last occurrence wins, as in protobuf */
            size_t k = vl < out_size - 1 ? vl : out_size - 1;
            memcpy(out, v, k);
            out[k] = '\0';
            found = true;
        }
    }
    return found;
}

/* Schema-aware depth check: recurses only into fields declared as messages. */
static bool depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n, int depth)
{
    if (depth > GS_MAX_WIRE_DEPTH) return false;
    size_t off = 0;
    uint32_t f, wt;
    const uint8_t *v;
    size_t vl;
    uint64_t num;
    bool bad;
    while (gs_pb_next(p, n, &off, &f, &wt, &v, &vl, &num, &bad)) {
        if (wt != 2) continue;
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, f);
        if (fd == NULL || fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if (!depth_ok(fd->descriptor, v, vl, depth + 1)) return false;
    }
    return true; /* malformed input is reported by protobuf-c itself */
}

ProtobufCMessage *gs_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
                            char *err, size_t err_size)
{
    if (!depth_ok(desc, in, len, 1)) {
        snprintf(err, err_size, "malformed %s: nesting deeper than %d levels", desc->short_name,
                 GS_MAX_WIRE_DEPTH);
        return NULL;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &gs_pb_alloc, len, in);
    if (m == NULL) snprintf(err, err_size, "malformed %s message", desc->short_name);
    return m;
}

void gs_reply_pack(gs_reply *r, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = vs_malloc(n ? n : 1);
    if (p == NULL) {
        gs_reply_error(r, VS_ERR_NOMEM, NULL);
        return;
    }
    protobuf_c_message_pack(msg, p);
    r->code = 0;
    r->details[0] = '\0';
    r->body = p;
    r->body_len = n;
}

void gs_reply_status(gs_reply *r, const vs_status *st)
{
    vs_err code = st->code == VS_OK ? VS_ERR_INTERNAL : st->code;
    gs_reply_error(r, code, st->msg[0] ? st->msg : NULL);
}

void gs_reply_error(gs_reply *r, vs_err code, const char *msg)
{
    r->code = vs_err_grpc_status(code);
    snprintf(r->details, sizeof(r->details), "%s", msg ? msg : vs_err_default_msg(code));
    vs_free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

/* ---------------------------------------------------------------------------- metadata in */

static void put_value(vs_vbuilder *b, const Vecstore__MetadataValue *v);

typedef struct keyed {
    const char *key;
    size_t idx;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Writes the entries of a map as an object, keeping the last of each repeated key, in wire
 * order. Maps of one or two entries (the common case) need no sort. */
static void put_map(vs_vbuilder *b, gs_map_entry **e, size_t n)
{
    vs_vb_begin_object(b);
    if (n <= 2) {
        for (size_t i = 0; i < n; i++) {
            if (n == 2 && i == 0 && strcmp(e[0]->key, e[1]->key) == 0) continue;
            const char *k = e[i]->key ? e[i]->key : "";
            vs_vb_key(b, k, strlen(k));
            put_value(b, e[i]->value);
        }
        vs_vb_end(b);
        return;
    }
    keyed *ks = vs_malloc(n * sizeof(*ks));
    bool *skip = vs_calloc(n, sizeof(*skip));
    if (ks == NULL || skip == NULL) {
        vs_free(ks);
        vs_free(skip);
        b->buf.oom = true;
        vs_vb_end(b);
        return;
    }
    for (size_t i = 0; i < n; i++) ks[i] = (keyed){e[i]->key ? e[i]->key : "", i};
    qsort(ks, n, sizeof(*ks), cmp_keyed);
    for (size_t i = 0; i + 1 < n; i++)
        if (strcmp(ks[i].key, ks[i + 1].key) == 0) skip[ks[i].idx] = true;
    vs_free(ks);
    for (size_t i = 0; i < n; i++) {
        if (skip[i]) continue;
        const char *k = e[i]->key ? e[i]->key : "";
        vs_vb_key(b, k, strlen(k));
        put_value(b, e[i]->value);
    }
    vs_free(skip);
    vs_vb_end(b);
}

/* The builder refuses containers past VS_VALUE_MAX_DEPTH; we stop before opening one (and never
 * descend further), marking the build too deep so vs_vb_finish reports it. */
static bool too_deep_here(vs_vbuilder *b)
{
    if (b->depth < VS_VALUE_MAX_DEPTH) return false;
    b->too_deep = true;
    vs_vb_null(b);
    return true;
}

static void put_value(vs_vbuilder *b, const Vecstore__MetadataValue *v)
{
    if (v == NULL) {
        vs_vb_null(b);
        return;
    }
    switch (v->kind_case) {
    case VECSTORE__METADATA_VALUE__KIND_STRING_VALUE:
        vs_vb_string(b, v->string_value ? v->string_value : "",
                     v->string_value ? strlen(v->string_value) : 0);
        break;
    case VECSTORE__METADATA_VALUE__KIND_NUMBER_VALUE:
        vs_vb_number(b, v->number_value);
        break;
    case VECSTORE__METADATA_VALUE__KIND_BOOL_VALUE:
        vs_vb_bool(b, v->bool_value != 0);
        break;
    case VECSTORE__METADATA_VALUE__KIND_LIST_VALUE:
        if (too_deep_here(b)) break;
        vs_vb_begin_array(b);
        if (v->list_value != NULL)
            for (size_t i = 0; i < v->list_value->n_values; i++)
                put_value(b, v->list_value->values[i]);
        vs_vb_end(b);
        break;
    case VECSTORE__METADATA_VALUE__KIND_STRUCT_VALUE:
        if (too_deep_here(b)) break;
        if (v->struct_value == NULL) {
            vs_vb_begin_object(b);
            vs_vb_end(b);
        } else {
            put_map(b, (gs_map_entry **)v->struct_value->fields, v->struct_value->n_fields);
        }
        break;
    default: /* null_value, or no kind set */
        vs_vb_null(b);
        break;
    }
}

uint8_t *gs_meta_encode(gs_map_entry **entries, size_t n, size_t *len_out, bool *too_deep,
                        bool *oom)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    put_map(&b, entries, n);
    bool deep = false;
    uint8_t *out = vs_vb_finish(&b, len_out, &deep);
    vs_vb_free(&b);
    *too_deep = out == NULL && deep;
    *oom = out == NULL && !deep;
    return out;
}

/* ---------------------------------------------------------------------------- metadata out */

static Vecstore__MetadataValue *value_out(gs_arena *a, vs_value v);

static gs_map_entry **object_out(gs_arena *a, vs_value obj,
                                 const ProtobufCMessageDescriptor *entry_desc, size_t *n_out)
{
    uint32_t n = vs_value_count(obj);
    *n_out = 0;
    if (n == 0) return NULL;
    gs_map_entry **arr = gs_arena_alloc(a, n * sizeof(*arr));
    if (arr == NULL) return NULL;
    vs_value_iter it;
    vs_value_iter_init(&it, obj);
    const char *k;
    size_t kl;
    vs_value child;
    size_t i = 0;
    while (i < n && vs_value_iter_next(&it, &k, &kl, &child)) {
        gs_map_entry *e = gs_arena_alloc(a, entry_desc->sizeof_message);
        if (e == NULL) return NULL;
        protobuf_c_message_init(entry_desc, e);
        e->key = gs_arena_strndup(a, k, kl);
        e->value = value_out(a, child);
        if (e->key == NULL || e->value == NULL) return NULL;
        arr[i++] = e;
    }
    *n_out = i;
    return arr;
}

static Vecstore__MetadataValue *value_out(gs_arena *a, vs_value v)
{
    Vecstore__MetadataValue *m = gs_arena_alloc(a, sizeof(*m));
    if (m == NULL) return NULL;
    vecstore__metadata_value__init(m);
    switch (vs_value_type(v)) {
    case VS_VAL_BOOL:
        m->kind_case = VECSTORE__METADATA_VALUE__KIND_BOOL_VALUE;
        m->bool_value = vs_value_bool(v);
        break;
    case VS_VAL_NUMBER:
        m->kind_case = VECSTORE__METADATA_VALUE__KIND_NUMBER_VALUE;
        m->number_value = vs_value_number(v);
        break;
    case VS_VAL_STRING: {
        size_t n = 0;
        const char *s = vs_value_string(v, &n);
        m->kind_case = VECSTORE__METADATA_VALUE__KIND_STRING_VALUE;
        m->string_value = gs_arena_strndup(a, s ? s : "", s ? n : 0);
        if (m->string_value == NULL) return NULL;
        break;
    }
    case VS_VAL_ARRAY: {
        Vecstore__ListValue *l = gs_arena_alloc(a, sizeof(*l));
        if (l == NULL) return NULL;
        vecstore__list_value__init(l);
        uint32_t n = vs_value_count(v);
        if (n > 0) {
            l->values = gs_arena_alloc(a, n * sizeof(*l->values));
            if (l->values == NULL) return NULL;
            vs_value_iter it;
            vs_value_iter_init(&it, v);
            vs_value child;
            while (l->n_values < n && vs_value_iter_next(&it, NULL, NULL, &child)) {
                l->values[l->n_values] = value_out(a, child);
                if (l->values[l->n_values] == NULL) return NULL;
                l->n_values++;
            }
        }
        m->kind_case = VECSTORE__METADATA_VALUE__KIND_LIST_VALUE;
        m->list_value = l;
        break;
    }
    case VS_VAL_OBJECT: {
        Vecstore__StructValue *s = gs_arena_alloc(a, sizeof(*s));
        if (s == NULL) return NULL;
        vecstore__struct_value__init(s);
        size_t n = 0;
        gs_map_entry **f = object_out(a, v, &vecstore__struct_value__fields_entry__descriptor, &n);
        if (f == NULL && vs_value_count(v) > 0) return NULL;
        s->fields = (Vecstore__StructValue__FieldsEntry **)f;
        s->n_fields = n;
        m->kind_case = VECSTORE__METADATA_VALUE__KIND_STRUCT_VALUE;
        m->struct_value = s;
        break;
    }
    default:
        m->kind_case = VECSTORE__METADATA_VALUE__KIND_NULL_VALUE;
        m->null_value = VECSTORE__NULL_VALUE__NULL_VALUE;
        break;
    }
    return m;
}

gs_map_entry **gs_meta_decode(gs_arena *a, const uint8_t *meta, size_t meta_len,
                              const ProtobufCMessageDescriptor *entry_desc, size_t *n_out)
{
    *n_out = 0;
    if (meta == NULL || meta_len == 0) return NULL;
    vs_value obj = vs_value_of(meta, meta_len);
    if (vs_value_type(obj) != VS_VAL_OBJECT) return NULL;
    return object_out(a, obj, entry_desc, n_out);
}

/* ---------------------------------------------------------------------------- raw writer */

void gs_pb_varint(vs_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    vs_buf_append(b, tmp, n);
}

void gs_pb_tag(vs_buf *b, uint32_t field, uint32_t wire_type)
{
    gs_pb_varint(b, (uint64_t)field << 3 | wire_type);
}

void gs_pb_bytes(vs_buf *b, uint32_t field, const void *p, size_t n)
{
    gs_pb_tag(b, field, 2);
    gs_pb_varint(b, n);
    if (n) vs_buf_append(b, p, n);
}

void gs_pb_uint(vs_buf *b, uint32_t field, uint64_t v)
{
    gs_pb_tag(b, field, 0);
    gs_pb_varint(b, v);
}
