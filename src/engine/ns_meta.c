/*
 * ns_meta.c - namespace.json: a namespace's settings, quotas, status and usage counters.
 *
 * Format (JSON, docs/storage.md): {"format": "vecstore-namespace", "version": 1, "id", "name",
 * "status", "created_at", "dimension" (null until fixed), "metric", "hnsw": {"m",
 * "ef_construction", "ef_search"}, "quotas": {<quota>: number | null}, "usage": {"total_requests",
 * "total_queries", "total_upserts", "total_deletes"}, "checksum": crc32c of the same document
 * serialised without "checksum" (compact, sorted keys)}.
 * Written atomically: namespace.json.tmp, fsync, rename, fsync of the directory. Usage counters
 * are saved with every snapshot, every admin change and at shutdown: after a crash they may lag by
 * the requests since the last save (documented in docs/storage.md).
 */
#include "engine/ns_int.h"

#include "core/collection.h"
#include "storage/file.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FORMAT_NAME    "vecstore-namespace"
#define FORMAT_VERSION 1

static const char *metric_name(int m)
{
    return m == 1 ? "l2" : m == 2 ? "dot" : "cosine";
}

static int metric_parse(const char *s)
{
    if (s && strcmp(s, "l2") == 0) return 1;
    if (s && strcmp(s, "dot") == 0) return 2;
    return 0;
}

#define LIMIT_FIELDS(X)                                                                            \
    X(max_vectors)                                                                                 \
    X(max_storage_bytes) X(max_requests_per_second) X(max_concurrent_queries) X(max_dimension)     \
        X(max_results_per_query) X(max_batch_size)

static json_t *to_json(const vs_ns_meta *m)
{
    json_t *q = json_object();
#define PUT_LIMIT(f)                                                                               \
    json_object_set_new(q, #f, m->limits.f.set ? json_real(m->limits.f.value) : json_null());
    LIMIT_FIELDS(PUT_LIMIT)
#undef PUT_LIMIT
    return json_pack(
        "{s:s, s:i, s:s, s:s, s:s, s:I, s:o, s:s, s:{s:i, s:i, s:i}, s:o, s:{s:I, s:I, s:I, s:I}}",
        "format", FORMAT_NAME, "version", FORMAT_VERSION, "id", m->id, "name", m->name, "status",
        vs_ns_status_name(m->status), "created_at", (json_int_t)m->created_at, "dimension",
        m->dim ? json_integer(m->dim) : json_null(), "metric", metric_name(m->metric), "hnsw", "m",
        (int)m->m, "ef_construction", (int)m->ef_construction, "ef_search", (int)m->ef_search,
        "quotas", q, "usage", "total_requests", (json_int_t)m->usage.total_requests,
        "total_queries", (json_int_t)m->usage.total_queries, "total_upserts",
        (json_int_t)m->usage.total_upserts, "total_deletes", (json_int_t)m->usage.total_deletes);
}

static uint32_t doc_crc(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    uint32_t c = s ? vs_crc32c(0, s, strlen(s)) : 0;
    free(s);
    return c;
}

vs_err ns_meta_write(const char *dir, const vs_ns_meta *m, vs_status *st)
{
    json_t *doc = to_json(m);
    if (!doc) return vs_status_set(st, VS_ERR_NOMEM, "out of memory writing namespace.json");
    json_object_set_new(doc, "checksum", json_integer(doc_crc(doc)));
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(doc);
    if (!text) return vs_status_set(st, VS_ERR_NOMEM, "out of memory writing namespace.json");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/namespace.json", dir);
    size_t len = strlen(text);
    text[len] = '\0';
    vs_err rc = vs_file_write_atomic(path, text, len, st);
    free(text);
    return rc;
}

vs_err ns_meta_save_locked(vs_ns_t *ns, vs_status *st)
{
    vs_ns_meta m = ns->meta;
    if (!m.dim) m.dim = coll_dim(ns->coll);
    vs_err rc = ns_meta_write(ns->dir, &m, st);
    if (rc == VS_OK) ns->meta_dirty = false;
    return rc;
}

vs_err ns_meta_read(const char *dir, vs_ns_meta *m, vs_status *st)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/namespace.json", dir);
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    if (!doc) {
        if (access(path, F_OK) != 0)
            return vs_status_set(st, VS_ERR_NOT_FOUND, "%s: missing", path);
        return vs_status_set(st, VS_ERR_CORRUPT,
                             "%s: not valid JSON at line %d column %d (offset %d): %s", path,
                             err.line, err.column, err.position, err.text);
    }
    vs_err rc = VS_OK;
    json_t *sum = json_object_get(doc, "checksum");
    if (json_is_integer(sum)) {
        json_int_t want = json_integer_value(sum);
        json_incref(sum);
        json_object_del(doc, "checksum");
        if ((uint32_t)want != doc_crc(doc))
            rc = vs_status_set(st, VS_ERR_CORRUPT, "%s: checksum mismatch", path);
        json_decref(sum);
    }
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    if (rc == VS_OK && (!fmt || strcmp(fmt, FORMAT_NAME) != 0 ||
                        json_integer_value(json_object_get(doc, "version")) != FORMAT_VERSION))
        rc = vs_status_set(st, VS_ERR_CORRUPT, "%s: unknown format or version", path);
    if (rc == VS_OK) {
        memset(m, 0, sizeof *m);
        snprintf(m->id, sizeof m->id, "%s", json_string_value(json_object_get(doc, "id")) ?: "");
        snprintf(m->name, sizeof m->name, "%s",
                 json_string_value(json_object_get(doc, "name")) ?: m->id);
        vs_ns_status_parse(json_string_value(json_object_get(doc, "status")), &m->status);
        m->created_at = json_integer_value(json_object_get(doc, "created_at"));
        m->dim = (uint32_t)json_integer_value(json_object_get(doc, "dimension"));
        m->metric = metric_parse(json_string_value(json_object_get(doc, "metric")));
        json_t *h = json_object_get(doc, "hnsw");
        m->m = (uint32_t)json_integer_value(json_object_get(h, "m"));
        m->ef_construction = (uint32_t)json_integer_value(json_object_get(h, "ef_construction"));
        m->ef_search = (uint32_t)json_integer_value(json_object_get(h, "ef_search"));
        json_t *q = json_object_get(doc, "quotas"), *v;
#define GET_LIMIT(f)                                                                               \
    v = json_object_get(q, #f);                                                                    \
    m->limits.f.set = json_is_number(v);                                                           \
    m->limits.f.value = json_number_value(v);
        LIMIT_FIELDS(GET_LIMIT)
#undef GET_LIMIT
        json_t *u = json_object_get(doc, "usage");
        m->usage.total_requests =
            (uint64_t)json_integer_value(json_object_get(u, "total_requests"));
        m->usage.total_queries = (uint64_t)json_integer_value(json_object_get(u, "total_queries"));
        m->usage.total_upserts = (uint64_t)json_integer_value(json_object_get(u, "total_upserts"));
        m->usage.total_deletes = (uint64_t)json_integer_value(json_object_get(u, "total_deletes"));
        if (!vs_ns_id_valid(m->id))
            rc = vs_status_set(st, VS_ERR_CORRUPT, "%s: invalid namespace id", path);
    }
    json_decref(doc);
    return rc;
}
