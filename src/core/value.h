/*
 * value.h - the metadata value model of SPEC section 2 in a compact binary form.
 *
 * A record's metadata is one encoded value (always an object at the top). It is written once by a
 * builder and then only read through vs_value views that point into the bytes: no JSON text and
 * no per-node allocation on the query path (filters, BM25 and adapters walk the bytes).
 *
 * Encoding (little-endian), one value =
 *   tag 0x00 null | 0x01 false | 0x02 true
 *   tag 0x03 number : f64 (8 bytes)
 *   tag 0x04 string : u32 byte length, UTF-8 bytes (not NUL-terminated)
 *   tag 0x05 array  : u32 element count, u32 body length, elements
 *   tag 0x06 object : u32 entry count, u32 body length, entries = (u32 key length, key bytes,
 * value) Objects keep their keys in insertion order; a key appears at most once (the builder's
 * caller keeps JSON's last-wins rule). Bodies carry their length so a reader skips a container in
 * O(1).
 *
 * Ownership: a vs_value borrows the bytes it points into; it is valid while they are.
 * Thread-safety: views are read-only and may be shared; a builder belongs to one thread.
 */
#ifndef VS_CORE_VALUE_H
#define VS_CORE_VALUE_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_VALUE_MAX_DEPTH   32            /* SPEC 12: nesting depth of metadata */
#define VS_VALUE_MAX_ENCODED (64u * 1024u) /* SPEC 12: 64 KiB encoded */

typedef enum {
    VS_VAL_MISSING = -1, /* a view that points at nothing (missing path) */
    VS_VAL_NULL = 0,
    VS_VAL_BOOL,
    VS_VAL_NUMBER,
    VS_VAL_STRING,
    VS_VAL_ARRAY,
    VS_VAL_OBJECT,
} vs_val_type;

enum {
    VS_TAG_NULL = 0,
    VS_TAG_FALSE = 1,
    VS_TAG_TRUE = 2,
    VS_TAG_NUMBER = 3,
    VS_TAG_STRING = 4,
    VS_TAG_ARRAY = 5,
    VS_TAG_OBJECT = 6,
};

/* A view of one encoded value: p points at its tag, len is its encoded size. p == NULL: missing. */
typedef struct vs_value {
    const uint8_t *p;
    size_t len;
} vs_value;

static inline vs_value vs_value_missing(void)
{
    return (vs_value){NULL, 0};
}

/* The view of a whole encoded buffer (as stored for a record). No validation: see validate. */
vs_value vs_value_of(const uint8_t *p, size_t len);
/* Structural check of untrusted bytes (disk, fuzz): tags, lengths, depth <= max_depth, one
 * value exactly filling len. */
bool vs_value_validate(const uint8_t *p, size_t len, int max_depth);
/* The canonical empty object {} (5 + 4 bytes, static storage). */
vs_value vs_value_empty_object(void);

vs_val_type vs_value_type(vs_value v);
bool vs_value_bool(vs_value v);                       /* false unless a true bool */
double vs_value_number(vs_value v);                   /* 0 unless a number */
const char *vs_value_string(vs_value v, size_t *len); /* NULL unless a string */
uint32_t vs_value_count(vs_value v);                  /* elements / entries; 0 otherwise */

/* Iterates an array (key is NULL) or an object. */
typedef struct vs_value_iter {
    const uint8_t *p, *end;
    uint32_t left;
    bool is_object;
} vs_value_iter;
void vs_value_iter_init(vs_value_iter *it, vs_value container);
bool vs_value_iter_next(vs_value_iter *it, const char **key, size_t *key_len, vs_value *out);

/* Looks up key in an object; false (and *out missing) if v is not an object or has no key. */
bool vs_value_get(vs_value obj, const char *key, size_t key_len, vs_value *out);
/* Deep equality; numbers compare as doubles (so 1 == 1.0), strings by bytes. */
bool vs_value_equal(vs_value a, vs_value b);
/* Nesting depth (scalars 0, [] 1, [[1]] 2). */
int vs_value_depth(vs_value v);

/* Builder. Calls append in document order; containers nest with begin/end. A failure (depth over
 * VS_VALUE_MAX_DEPTH or out of memory) is sticky and reported by finish. */
typedef struct vs_vbuilder {
    vs_buf buf;
    int depth;
    bool too_deep;
    size_t start[VS_VALUE_MAX_DEPTH + 1]; /* offset of each open container's tag */
    uint32_t count[VS_VALUE_MAX_DEPTH + 1];
} vs_vbuilder;

void vs_vb_init(vs_vbuilder *b);
void vs_vb_free(vs_vbuilder *b);
void vs_vb_null(vs_vbuilder *b);
void vs_vb_bool(vs_vbuilder *b, bool v);
void vs_vb_number(vs_vbuilder *b, double v);
void vs_vb_string(vs_vbuilder *b, const char *s, size_t len);
void vs_vb_begin_array(vs_vbuilder *b);
void vs_vb_begin_object(vs_vbuilder *b);
/* In an object: the key of the next value. */
void vs_vb_key(vs_vbuilder *b, const char *k, size_t len);
void vs_vb_end(vs_vbuilder *b);
/* Appends an already encoded value (e.g. copying a sub-tree). */
void vs_vb_raw(vs_vbuilder *b, vs_value v);
/* The encoded bytes (caller frees with vs_free); NULL if the build failed (too deep, oom, or
 * containers left open). *too_deep tells depth from memory failures. */
uint8_t *vs_vb_finish(vs_vbuilder *b, size_t *len_out, bool *too_deep);

#endif
