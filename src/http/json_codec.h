/*
 * json_codec.h - JSON <-> service structs for the HTTP and WebSocket adapter (private to src/http).
 *
 * Decoding parses a body with jansson into a tree and walks it into the plain structs of
 * service/service.h; it reports only what the structs cannot carry (malformed JSON, a missing
 * required field, a field of the wrong JSON type) as VS_ERR_INVALID_ARGUMENT with a message that
 * names the field. Range and semantic checks (dimension, finite values, limit bounds, id rules)
 * are the service's.
 *
 * Encoding writes JSON text straight into a vs_buf (no jansson dump): floats in their shortest
 * round-trip form (util/fmt.h), integral doubles up to 2^53 as integers, metadata walked from its
 * encoded form (core/value.h).
 *
 * Ownership: a decoded struct borrows strings from the json_t tree it came from (keep the tree
 * alive while the struct is used) and owns its float arrays and encoded metadata, released with
 * the matching _free function. Thread-safety: none needed; every call works on caller-owned data.
 */
#ifndef VS_HTTP_JSON_CODEC_H
#define VS_HTTP_JSON_CODEC_H

#include "service/service.h"
#include "core/value.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- decoding ---- */

/* Parses a request body that must be one JSON object. Errors (400): "Invalid JSON body: request
 * body is empty", "Invalid JSON body: <jansson text> at line L column C", "Invalid JSON body:
 * expected an object, got an array". *out owns the tree (json_decref). */
vs_err jc_parse_object(const char *data, size_t len, json_t **out, vs_status *st);

/* Fast path for vectors (jansson allocates a node per array element and converts each number
 * with strtod). jc_fast_scan walks the raw body once and parses the number arrays of the
 * top-level "vector" and of each "records"[i]."vector" itself (Clinger's exact fast path, strtod
 * beyond it); jansson then parses a copy of the body without those arrays' insides (`[]`), so it
 * builds no node per element. An array holding anything unusual (not a plain JSON number, an
 * integer literal beyond int64, a number overflowing a double) is left for jansson to parse or
 * reject exactly as without the fast path. Decoders given the jc_fast take an emptied array's
 * values from it. */
typedef struct jc_fast {
    vs_buf floats; /* parsed values, back to back (float) */
    size_t *off;   /* per record index: first float, SIZE_MAX = not parsed here */
    uint32_t *dim; /* per record index: element count */
    size_t n, cap; /* record indexes known */
    vs_buf cut;    /* (start, end) byte ranges taken out of the body */
    vs_buf text;   /* the body without them */
    bool has_text;
} jc_fast;

void jc_fast_init(jc_fast *f);
void jc_fast_free(jc_fast *f);
/* Scans data (not modified); never fails (without memory nothing is taken). */
void jc_fast_scan(const char *data, size_t len, jc_fast *f);
/* jc_fast_scan + jc_parse_object of the shortened text; a syntax error is reported as
 * jc_parse_object reports it on data itself (positions in the body as sent). */
vs_err jc_parse_fast(const char *data, size_t len, jc_fast *f, json_t **out, vs_status *st);

/* The body's "namespace": *ns = its string, or NULL when absent or null. */
vs_err jc_namespace(const json_t *root, const char **ns, vs_status *st);

/* Records of /v1/upsert (n = 1) or /v1/batch-upsert. recs[i] point into the tree and into the
 * owned arrays below. */
typedef struct jc_records {
    vs_record_in *recs;
    size_t n;
    float *floats;   /* every vector, back to back */
    uint8_t **metas; /* n encoded metadata objects (NULL = none given) */
} jc_records;

/* fast: the vectors jc_fast_scan took out of the body, or NULL. */
vs_err jc_decode_upsert(const json_t *root, const jc_fast *fast, jc_records *out, vs_status *st);
vs_err jc_decode_batch(const json_t *root, const jc_fast *fast, jc_records *out, vs_status *st);
void jc_records_free(jc_records *r);

/* The fields of /v1/query, /v1/hybrid-query and a WebSocket query. hybrid = the route is hybrid;
 * when ws is true, a text_query or alpha field makes the query hybrid. *vec_out owns the vector
 * (vs_free). Defaults: include_metadata true, include_vector false. */
vs_err jc_decode_query(const json_t *root, const jc_fast *fast, bool hybrid, bool ws,
                       vs_query_in *q, float **vec_out, vs_status *st);

/* Metadata object -> encoded value (vs_free). *too_deep when nesting passed the value model's
 * depth limit (the service answers it). */
vs_err jc_encode_metadata(const json_t *obj, uint8_t **out, size_t *len_out, bool *too_deep,
                          vs_status *st);

/* Admin bodies. */
vs_err jc_decode_ns_create(const json_t *root, vs_ns_create *c, vs_status *st);
/* Quota fields at the top of root, or inside a "quotas" object. */
vs_err jc_decode_quotas_update(const json_t *root, vs_quotas_update *u, vs_status *st);
vs_err jc_decode_status(const json_t *root, const char **status, vs_status *st);

/* ---- encoding ---- */

void jc_str(vs_buf *b, const char *s, size_t len); /* a quoted, escaped JSON string */
void jc_cstr(vs_buf *b, const char *s);            /* jc_str of a NUL-terminated string */
void jc_float(vs_buf *b, float f);                 /* shortest round-trip float32 */
void jc_double(vs_buf *b, double d);               /* integer form when integral and |d| <= 2^53 */
void jc_u64(vs_buf *b, uint64_t v);
void jc_i64(vs_buf *b, int64_t v);
void jc_vector(vs_buf *b, const float *v, uint32_t dim);
void jc_value(vs_buf *b, vs_value v);                     /* an encoded value as JSON */
void jc_meta(vs_buf *b, const uint8_t *meta, size_t len); /* NULL/empty = {} */
static inline void jc_lit(vs_buf *b, const char *s)
{
    vs_buf_append_str(b, s);
}

/* {"error": msg} */
void jc_write_error(vs_buf *b, const char *msg);
/* /v1/query, /v1/hybrid-query answers. */
void jc_write_query(vs_buf *b, const vs_query_out *o, const vs_query_in *q);
/* GET /v1/vectors/{id} */
void jc_write_record(vs_buf *b, const vs_record_out *r);
/* GET /v1/stats */
void jc_write_stats(vs_buf *b, const vs_stats_out *s);
/* The admin namespace object. */
void jc_write_ns(vs_buf *b, const vs_ns_info *ns);
/* GET /admin/namespaces/{id}/stats */
void jc_write_ns_stats(vs_buf *b, const vs_ns_info *ns);
void jc_write_admin_stats(vs_buf *b, const vs_admin_stats *s);
/* A key; the secret only when with_secret (the create answer). */
void jc_write_key(vs_buf *b, const vs_key_info *k, bool with_secret);

/* WebSocket frames. rid is the request_id as raw JSON text (NULL = none). */
void jc_write_ws_hit(vs_buf *b, const vs_hit *h, uint32_t rank, uint32_t dim, bool hybrid,
                     bool include_metadata, const char *rid, size_t rid_len);
void jc_write_ws_complete(vs_buf *b, const vs_query_out *o, const char *rid, size_t rid_len);
void jc_write_ws_error(vs_buf *b, const char *msg, const char *rid, size_t rid_len);

#endif
