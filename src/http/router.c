/*
 * router.c - the HTTP route table and the handlers: decode (json_codec) -> service call -> encode.
 *
 * How: the table below lists every route of SPEC sections 3, 8, 9 and 11 (aliases included) as
 * (pattern, method, handler, operation, flags). router_match splits the raw request path on '/'
 * and compares segment by segment; a "{x}" segment takes one non-empty segment, percent-decoded
 * (so "/v1/delete/a%2Fb" names the id "a/b"). A path that matches with another method collects the
 * methods for the 405 answer's Allow header. Handlers run on a worker (RT_INLINE ones on the MHD
 * thread) and leave status, content type and body in the request.
 *
 * Data routes follow service.h's request life cycle exactly: (1) parse and decode the body unless
 * it was over the limit, keeping a decode error; the namespace is the body's field, else
 * ?namespace=; (2) svc_admit; (3) svc_reject for a decode error; (4) the operation; (5)
 * svc_release. Admin routes call svc_ns_* / svc_key_* (the service checks the admin key); a body
 * that does not decode is answered 400 only after an authentication probe (svc_admin_stats), so a
 * keyless request still gets 401 first.
 *
 * Invariants:
 *   1. No rule lives here: every status comes from vs_err_http_status of a service (or decode)
 *      error, except 404 unknown route / 405 wrong method, which are the router's own.
 *   2. pbuf never reallocates after router_match reserved it (param and query pointers stay valid).
 *
 * Concurrency: handlers touch only their request and call the thread-safe service.
 * Callers: http_server.c (router_match on the MHD thread, router_run on a worker or MHD thread).
 */
#include "http/http_internal.h"
#include "http/json_codec.h"

#include "util/alloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const CT_JSON = "application/json";
static const char *const CT_METRICS = "text/plain; version=0.0.4; charset=utf-8";

/* ------------------------------------------------------------------ request helpers */

const char *req_param(const http_req_t *r, size_t i, size_t *len)
{
    if (len) *len = r->param_len[i];
    return (const char *)r->pbuf.data + r->param_off[i];
}

void req_error(http_req_t *r, vs_err code, const char *msg)
{
    vs_buf_reset(&r->out);
    r->status = vs_err_http_status(code);
    r->content_type = CT_JSON;
    jc_write_error(&r->out, msg && *msg ? msg : vs_err_default_msg(code));
}

static void req_ok(http_req_t *r, int status)
{
    r->status = status;
    r->content_type = CT_JSON;
    if (r->out.oom) req_error(r, VS_ERR_NOMEM, "out of memory writing the answer");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends the percent-decoding of s[0..n) plus a NUL to pbuf; returns its offset. */
static size_t decode_into(http_req_t *r, const char *s, size_t n, size_t *len_out)
{
    size_t off = r->pbuf.len;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            vs_buf_append_u8(&r->pbuf, (uint8_t)(h * 16 + l));
            i += 2;
        } else {
            vs_buf_append_u8(&r->pbuf, (uint8_t)s[i]);
        }
    }
    *len_out = r->pbuf.len - off;
    vs_buf_append_u8(&r->pbuf, 0);
    return off;
}

/* The decoded value of ?key= (first occurrence), or NULL. */
static const char *query_value(http_req_t *r, const char *key)
{
    const char *q = r->query;
    size_t klen = strlen(key);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > klen && q[klen] == '=' && memcmp(q, key, klen) == 0) {
            size_t len;
            size_t off = decode_into(r, q + klen + 1, n - klen - 1, &len);
            /* %00 must not cut the value short ("ta%00x" is not "ta"): DEL keeps it invalid */
            char *v = (char *)r->pbuf.data + off;
            for (size_t i = 0; i < len; i++)
                if (v[i] == '\0') v[i] = 0x7f;
            return v;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

void req_read_headers(http_req_t *r)
{
    r->ns_query = query_value(r, "namespace");
    r->key_query = query_value(r, "api_key");
    r->api_key = NULL;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (auth) {
        while (*auth == ' ') auth++;
        if (strncasecmp(auth, "Bearer ", 7) == 0) {
            auth += 7;
            while (*auth == ' ') auth++;
            r->api_key = auth;
        }
    }
    if (!r->api_key)
        r->api_key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-api-key");
    if (!r->api_key) r->api_key = r->key_query;
}

/* ------------------------------------------------------------------ data routes */

typedef struct data_ctx {
    json_t *root;
    bool failed; /* a decode error is kept in derr for svc_reject */
    vs_status derr;
    vs_ticket_t *t;
    const char *ns;
    jc_fast fast; /* vectors parsed straight from the body (json_codec.h) */
} data_ctx;

/* Step 1: parse the body (unless over the limit) and find the namespace. */
static void data_parse(http_req_t *r, data_ctx *d)
{
    memset(d, 0, sizeof(*d));
    jc_fast_init(&d->fast);
    d->ns = r->ns_query;
    if (r->too_large) return;
    if (r->body.len == 0 && !(r->route->flags & RT_NEED_BODY)) return;
    if (jc_parse_fast((const char *)r->body.data, r->body.len, &d->fast, &d->root, &d->derr)) {
        d->failed = true;
        return;
    }
    const char *ns = NULL;
    if (jc_namespace(d->root, &ns, &d->derr))
        d->failed = true;
    else if (ns)
        d->ns = ns;
}

/* Steps 2 and 3. true: go on with the operation. */
static bool data_admit(http_req_t *r, data_ctx *d)
{
    vs_status st;
    vs_req req = {VS_PROTO_HTTP, r->api_key, d->ns, 0};
    if (svc_admit(r->srv->svc, &req, r->route->op, r->too_large, &d->t, &st) != VS_OK) {
        d->t = NULL;
        req_error(r, st.code, st.msg);
        return false;
    }
    if (d->failed) {
        vs_err code = svc_reject(d->t, d->derr.code, d->derr.msg, &st);
        req_error(r, code, st.msg);
        return false;
    }
    return true;
}

static void data_end(data_ctx *d)
{
    if (d->t) svc_release(d->t);
    if (d->root) json_decref(d->root);
    jc_fast_free(&d->fast);
}

static void h_upsert(http_req_t *r)
{
    data_ctx d;
    jc_records recs = {0};
    data_parse(r, &d);
    if (!d.failed && jc_decode_upsert(d.root, &d.fast, &recs, &d.derr)) d.failed = true;
    if (data_admit(r, &d)) {
        vs_status st;
        if (svc_upsert(d.t, &recs.recs[0], &st) != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_lit(&r->out, "{\"id\":");
            jc_str(&r->out, recs.recs[0].id, recs.recs[0].id_len);
            jc_lit(&r->out, ",\"upserted\":true}");
            req_ok(r, 200);
        }
    }
    jc_records_free(&recs);
    data_end(&d);
}

static void h_batch(http_req_t *r)
{
    data_ctx d;
    jc_records recs = {0};
    data_parse(r, &d);
    if (!d.failed && jc_decode_batch(d.root, &d.fast, &recs, &d.derr)) d.failed = true;
    if (data_admit(r, &d)) {
        vs_status st;
        size_t n = 0;
        if (svc_batch_upsert(d.t, recs.recs, recs.n, &n, &st) != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_lit(&r->out, "{\"upserted\":");
            jc_u64(&r->out, n);
            vs_buf_append_u8(&r->out, '}');
            req_ok(r, 200);
        }
    }
    jc_records_free(&recs);
    data_end(&d);
}

static void run_query(http_req_t *r, bool hybrid)
{
    data_ctx d;
    vs_query_in q;
    float *vec = NULL;
    memset(&q, 0, sizeof(q));
    data_parse(r, &d);
    if (!d.failed && jc_decode_query(d.root, &d.fast, hybrid, false, &q, &vec, &d.derr))
        d.failed = true;
    if (data_admit(r, &d)) {
        vs_status st;
        vs_query_out out;
        memset(&out, 0, sizeof(out));
        vs_err rc = hybrid ? svc_hybrid_query(d.t, &q, &out, &st) : svc_query(d.t, &q, &out, &st);
        if (rc != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_write_query(&r->out, &out, &q);
            req_ok(r, 200);
        }
        vs_query_out_free(&out);
    }
    vs_free(vec);
    data_end(&d);
}

static void h_query(http_req_t *r)
{
    run_query(r, false);
}
static void h_hybrid(http_req_t *r)
{
    run_query(r, true);
}

static void h_get(http_req_t *r)
{
    data_ctx d;
    data_parse(r, &d);
    if (data_admit(r, &d)) {
        size_t len;
        const char *id = req_param(r, 0, &len);
        vs_status st;
        vs_record_out rec;
        memset(&rec, 0, sizeof(rec));
        if (svc_get(d.t, id, len, &rec, &st) != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_write_record(&r->out, &rec);
            req_ok(r, 200);
            vs_record_out_free(&rec);
        }
    }
    data_end(&d);
}

/* delete / soft-delete / restore: the same shape, one flag name. */
static void run_id_op(http_req_t *r, vs_err (*fn)(vs_ticket_t *, const char *, size_t, vs_status *),
                      const char *flag)
{
    data_ctx d;
    data_parse(r, &d);
    if (data_admit(r, &d)) {
        size_t len;
        const char *id = req_param(r, 0, &len);
        vs_status st;
        if (fn(d.t, id, len, &st) != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_lit(&r->out, "{\"id\":");
            jc_str(&r->out, id, len);
            vs_buf_printf(&r->out, ",\"%s\":true}", flag);
            req_ok(r, 200);
        }
    }
    data_end(&d);
}

static void h_delete(http_req_t *r)
{
    run_id_op(r, svc_delete, "deleted");
}
static void h_soft_delete(http_req_t *r)
{
    run_id_op(r, svc_soft_delete, "soft_deleted");
}
static void h_restore(http_req_t *r)
{
    run_id_op(r, svc_restore, "restored");
}

static void h_compact(http_req_t *r)
{
    data_ctx d;
    data_parse(r, &d);
    if (data_admit(r, &d)) {
        vs_status st;
        vs_compact_out out = {0, 0};
        if (svc_compact(d.t, &out, &st) != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_lit(&r->out, "{\"removed\":");
            jc_u64(&r->out, out.removed);
            jc_lit(&r->out, ",\"took_ms\":");
            jc_u64(&r->out, out.took_ms);
            vs_buf_append_u8(&r->out, '}');
            req_ok(r, 200);
        }
    }
    data_end(&d);
}

static void h_stats(http_req_t *r)
{
    data_ctx d;
    data_parse(r, &d);
    if (data_admit(r, &d)) {
        vs_status st;
        vs_stats_out out;
        memset(&out, 0, sizeof(out));
        if (svc_stats(d.t, &out, &st) != VS_OK) {
            req_error(r, st.code, st.msg);
        } else {
            jc_write_stats(&r->out, &out);
            req_ok(r, 200);
        }
    }
    data_end(&d);
}

/* ------------------------------------------------------------------ open routes */

static void h_health(http_req_t *r)
{
    jc_lit(&r->out, "{\"status\":\"ok\"}");
    req_ok(r, 200);
}

static void h_ready(http_req_t *r)
{
    switch (svc_state(r->srv->svc)) {
    case VS_STATE_READY:
        jc_lit(&r->out, "{\"status\":\"ready\"}");
        req_ok(r, 200);
        break;
    case VS_STATE_RECOVERING:
        jc_lit(&r->out, "{\"status\":\"recovering\"}");
        req_ok(r, 503);
        break;
    default:
        jc_lit(&r->out, "{\"status\":\"shutting_down\"}");
        req_ok(r, 503);
        break;
    }
}

static void h_metrics(http_req_t *r)
{
    vs_status st;
    if (svc_check_metrics_access(r->srv->svc, r->api_key, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    svc_metrics_render(r->srv->svc, &r->out);
    req_ok(r, 200);
    if (r->status == 200) r->content_type = CT_METRICS;
}

/* Reached only by a GET without an upgrade (upgrades are answered in ws.c). */
static void h_ws_plain(http_req_t *r)
{
    req_error(r, VS_ERR_INVALID_ARGUMENT,
              "GET /ws/query-stream needs a WebSocket upgrade (Upgrade: websocket)");
}

/* ------------------------------------------------------------------ admin routes */

static vs_req admin_req(const http_req_t *r)
{
    vs_req req = {VS_PROTO_HTTP, r->api_key, NULL, 0};
    return req;
}

/* A body that does not decode: authentication first (SPEC 11), probed with a cheap admin call,
 * then the decode error. */
static void admin_decode_failed(http_req_t *r, const vs_status *derr)
{
    vs_req req = admin_req(r);
    vs_admin_stats probe;
    vs_status st;
    if (svc_admin_stats(r->srv->svc, &req, &probe, &st) != VS_OK &&
        (st.code == VS_ERR_UNAUTHENTICATED || st.code == VS_ERR_PERMISSION_DENIED))
        req_error(r, st.code, st.msg);
    else
        req_error(r, derr->code, derr->msg);
}

/* Parses an admin body ({} when optional and empty); on failure answers and returns NULL. */
static json_t *admin_body(http_req_t *r, bool required)
{
    if (!required && r->body.len == 0) return json_object();
    vs_status derr;
    json_t *root = NULL;
    if (r->too_large) {
        vs_status_set(&derr, VS_ERR_TOO_LARGE, "request body is larger than the %zu-byte limit",
                      r->srv->cfg.max_body_bytes);
    } else if (jc_parse_object((const char *)r->body.data, r->body.len, &root, &derr) == VS_OK) {
        return root;
    }
    admin_decode_failed(r, &derr);
    return NULL;
}

static void answer_ns(http_req_t *r, vs_err rc, vs_ns_info *info, const vs_status *st, int status)
{
    if (rc != VS_OK) {
        req_error(r, st->code, st->msg);
        return;
    }
    jc_write_ns(&r->out, info);
    vs_ns_info_free(info);
    req_ok(r, status);
}

static void h_ns_create(http_req_t *r)
{
    json_t *root = admin_body(r, true);
    if (!root) return;
    vs_ns_create c;
    vs_status st;
    if (jc_decode_ns_create(root, &c, &st) != VS_OK) {
        admin_decode_failed(r, &st);
    } else {
        vs_req req = admin_req(r);
        vs_ns_info info;
        memset(&info, 0, sizeof(info));
        vs_err rc = svc_ns_create(r->srv->svc, &req, &c, &info, &st);
        answer_ns(r, rc, &info, &st, 201);
    }
    json_decref(root);
}

static void h_ns_list(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_ns_info *arr = NULL;
    size_t n = 0;
    vs_status st;
    if (svc_ns_list(r->srv->svc, &req, &arr, &n, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_lit(&r->out, "{\"namespaces\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) vs_buf_append_u8(&r->out, ',');
        jc_write_ns(&r->out, &arr[i]);
    }
    jc_lit(&r->out, "]}");
    vs_ns_info_array_free(arr, n);
    req_ok(r, 200);
}

static void h_ns_get(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    vs_err rc = svc_ns_get(r->srv->svc, &req, req_param(r, 0, NULL), &info, &st);
    answer_ns(r, rc, &info, &st, 200);
}

static void h_ns_stats(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_ns_info info;
    memset(&info, 0, sizeof(info));
    vs_status st;
    if (svc_ns_get(r->srv->svc, &req, req_param(r, 0, NULL), &info, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_write_ns_stats(&r->out, &info);
    vs_ns_info_free(&info);
    req_ok(r, 200);
}

static void h_ns_quotas(http_req_t *r)
{
    json_t *root = admin_body(r, true);
    if (!root) return;
    vs_quotas_update u;
    vs_status st;
    if (jc_decode_quotas_update(root, &u, &st) != VS_OK) {
        admin_decode_failed(r, &st);
    } else {
        vs_req req = admin_req(r);
        vs_ns_info info;
        memset(&info, 0, sizeof(info));
        vs_err rc = svc_ns_update_quotas(r->srv->svc, &req, req_param(r, 0, NULL), &u, &info, &st);
        answer_ns(r, rc, &info, &st, 200);
    }
    json_decref(root);
}

static void h_ns_status(http_req_t *r)
{
    json_t *root = admin_body(r, true);
    if (!root) return;
    const char *status = NULL;
    vs_status st;
    if (jc_decode_status(root, &status, &st) != VS_OK) {
        admin_decode_failed(r, &st);
    } else {
        vs_req req = admin_req(r);
        vs_ns_info info;
        memset(&info, 0, sizeof(info));
        vs_err rc =
            svc_ns_update_status(r->srv->svc, &req, req_param(r, 0, NULL), status, &info, &st);
        answer_ns(r, rc, &info, &st, 200);
    }
    json_decref(root);
}

static void h_ns_delete(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_status st;
    size_t len;
    const char *id = req_param(r, 0, &len);
    if (svc_ns_delete(r->srv->svc, &req, id, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_lit(&r->out, "{\"id\":");
    jc_str(&r->out, id, len);
    jc_lit(&r->out, ",\"deleted\":true}");
    req_ok(r, 200);
}

static void h_admin_stats(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_admin_stats s;
    vs_status st;
    if (svc_admin_stats(r->srv->svc, &req, &s, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_write_admin_stats(&r->out, &s);
    req_ok(r, 200);
}

static void h_key_create(http_req_t *r)
{
    json_t *root = admin_body(r, false);
    if (!root) return;
    json_decref(root);
    vs_req req = admin_req(r);
    vs_key_info k;
    memset(&k, 0, sizeof(k));
    vs_status st;
    if (svc_key_create(r->srv->svc, &req, req_param(r, 0, NULL), &k, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_write_key(&r->out, &k, true);
    req_ok(r, 201);
}

static void h_key_list(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_key_info *keys = NULL;
    size_t n = 0;
    vs_status st;
    if (svc_key_list(r->srv->svc, &req, req_param(r, 0, NULL), &keys, &n, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_lit(&r->out, "{\"keys\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) vs_buf_append_u8(&r->out, ',');
        jc_write_key(&r->out, &keys[i], false);
    }
    jc_lit(&r->out, "]}");
    vs_free(keys);
    req_ok(r, 200);
}

static void h_key_revoke(http_req_t *r)
{
    vs_req req = admin_req(r);
    vs_status st;
    size_t len;
    const char *kid = req_param(r, 1, &len);
    if (svc_key_revoke(r->srv->svc, &req, req_param(r, 0, NULL), kid, &st) != VS_OK) {
        req_error(r, st.code, st.msg);
        return;
    }
    jc_lit(&r->out, "{\"key_id\":");
    jc_str(&r->out, kid, len);
    jc_lit(&r->out, ",\"revoked\":true}");
    req_ok(r, 200);
}

/* ------------------------------------------------------------------ the table */

static const http_route ROUTES[] = {
    {"/v1/upsert", HM_POST, h_upsert, VS_OP_UPSERT, RT_NEED_BODY},
    {"/v1/batch-upsert", HM_POST, h_batch, VS_OP_BATCH_UPSERT, RT_NEED_BODY},
    {"/v1/query", HM_POST, h_query, VS_OP_QUERY, RT_NEED_BODY},
    {"/query", HM_POST, h_query, VS_OP_QUERY, RT_NEED_BODY},
    {"/v1/hybrid-query", HM_POST, h_hybrid, VS_OP_HYBRID_QUERY, RT_NEED_BODY},
    {"/v1/vectors/{id}", HM_GET, h_get, VS_OP_GET, 0},
    {"/v1/vectors/{id}", HM_DELETE, h_delete, VS_OP_DELETE, 0},
    {"/v1/delete/{id}", HM_DELETE, h_delete, VS_OP_DELETE, 0},
    {"/v1/soft-delete/{id}", HM_POST, h_soft_delete, VS_OP_SOFT_DELETE, 0},
    {"/v1/restore/{id}", HM_POST, h_restore, VS_OP_RESTORE, 0},
    {"/v1/compact", HM_POST, h_compact, VS_OP_COMPACT, 0},
    {"/v1/stats", HM_GET, h_stats, VS_OP_STATS, 0},
    {"/health", HM_GET, h_health, VS_OP__COUNT, RT_INLINE},
    {"/ready", HM_GET, h_ready, VS_OP__COUNT, RT_INLINE},
    {"/metrics", HM_GET, h_metrics, VS_OP__COUNT, RT_INLINE},
    {"/ws/query-stream", HM_GET, h_ws_plain, VS_OP_STREAM_QUERY, RT_INLINE | RT_WS},
    {"/admin/namespaces", HM_POST, h_ns_create, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces", HM_GET, h_ns_list, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}", HM_GET, h_ns_get, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}", HM_DELETE, h_ns_delete, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}/quotas", HM_PUT, h_ns_quotas, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}/status", HM_PUT, h_ns_status, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}/stats", HM_GET, h_ns_stats, VS_OP__COUNT, RT_ADMIN},
    {"/admin/stats", HM_GET, h_admin_stats, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}/keys", HM_POST, h_key_create, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}/keys", HM_GET, h_key_list, VS_OP__COUNT, RT_ADMIN},
    {"/admin/namespaces/{id}/keys/{key_id}", HM_DELETE, h_key_revoke, VS_OP__COUNT, RT_ADMIN},
};
#define N_ROUTES (sizeof(ROUTES) / sizeof(ROUTES[0]))

/* Matches path against pattern; params decoded into r->pbuf (rolled back on a mismatch). */
static bool match_pattern(http_req_t *r, const char *pat, const char *path, size_t path_len)
{
    size_t pbuf_len = r->pbuf.len;
    size_t n_params = 0;
    const char *p = path, *end = path + path_len;
    while (*pat) {
        if (*pat != '/' || p >= end || *p != '/') goto no;
        pat++, p++;
        const char *pseg_end = strchr(pat, '/');
        if (!pseg_end) pseg_end = pat + strlen(pat);
        const char *seg_end = memchr(p, '/', (size_t)(end - p));
        if (!seg_end) seg_end = end;
        size_t plen = (size_t)(pseg_end - pat), slen = (size_t)(seg_end - p);
        if (plen >= 2 && pat[0] == '{') {
            if (slen == 0 || n_params == HTTP_MAX_PARAMS) goto no;
            r->param_off[n_params] = decode_into(r, p, slen, &r->param_len[n_params]);
            n_params++;
        } else if (plen != slen || memcmp(pat, p, plen) != 0) {
            goto no;
        }
        pat = pseg_end, p = seg_end;
    }
    if (p != end) goto no;
    r->n_params = n_params;
    return true;
no:
    r->pbuf.len = pbuf_len;
    return false;
}

void router_match(http_req_t *r, const char *path, size_t path_len)
{
    /* Decoding never grows a string; reserve once so pointers into pbuf stay valid. */
    vs_buf_reset(&r->pbuf);
    vs_buf_reserve(&r->pbuf, 2 * r->uri.len + 16);
    r->route = NULL;
    r->allow = 0;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!match_pattern(r, ROUTES[i].pattern, path, path_len)) continue;
        if (ROUTES[i].method == r->method) {
            r->route = &ROUTES[i];
            r->allow = 0;
            return;
        }
        r->allow |= ROUTES[i].method;
        r->pbuf.len = 0;
    }
}

const char *router_route_label(const http_req_t *r)
{
    if (r->route) return r->route->pattern;
    return r->allow ? "method_not_allowed" : "unmatched";
}

void router_run(http_req_t *r)
{
    vs_buf_reset(&r->out);
    if (!r->route) {
        if (r->allow) {
            char msg[128];
            snprintf(msg, sizeof(msg), "method %s not allowed on this route", r->method_str);
            req_error(r, VS_ERR_METHOD_NOT_ALLOWED, msg);
        } else {
            char msg[160];
            const char *path = (const char *)r->uri.data;
            size_t n = r->query ? (size_t)(r->query - 1 - path) : strlen(path);
            snprintf(msg, sizeof(msg), "no route for %s %.*s", r->method_str,
                     (int)(n > 100 ? 100 : n), path);
            req_error(r, VS_ERR_NOT_FOUND, msg);
        }
        return;
    }
    if (r->pbuf.oom || r->body.oom) {
        req_error(r, VS_ERR_NOMEM, "out of memory reading the request");
        return;
    }
    r->route->fn(r);
}
