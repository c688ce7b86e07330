/*
 * ws.c - WebSocket streaming queries at GET /ws/query-stream (SPEC 5) over MHD's HTTP upgrade and
 * wslay's framing.
 *
 * How: ws_handle_upgrade (on the MHD thread) checks the handshake headers and, when the server
 * has an admin key, the client's key (svc_admit for a stream query with the key, the ticket
 * released at once; only 401 refuses the upgrade, a namespace key is fine), then answers 101 with
 * Sec-WebSocket-Accept = base64(SHA-1(key + RFC 6455 GUID)). MHD hands the socket to
 * on_upgraded, which starts one thread for the connection. The thread runs a poll + wslay event
 * loop; each text message is one JSON query (the /v1/query body, plus request_id, and text_query
 * or alpha to make it hybrid), answered in order by one frame per hit and a `complete` frame, or
 * an `error` frame (the socket stays open). wslay answers pings and close frames itself and
 * closes with 1009 a message over max_ws_frame_bytes (checked on the frame header, before any
 * payload is buffered). After a close frame went out the thread half-closes the socket and drains
 * what the peer still sends (up to 2 s) so the close frame is not lost to a TCP reset; not over
 * TLS, where the socket is one end of MHD's socketpair and MHD forwards the frame and closes TCP
 * itself (see the comment at linger_close's call).
 *
 * Invariants:
 *   1. Every query goes through svc_admit(VS_OP_STREAM_QUERY) -> [svc_reject] -> operation ->
 *      svc_release, so quotas, statuses and counters apply exactly as on HTTP.
 *   2. The connection thread owns its ws_conn; after on_upgraded returns nothing reads the
 *      http_req_t (the key and ?namespace= are copied).
 *   3. active_ws counts live connection threads; http_server_destroy waits for it to reach 0
 *      before MHD_stop_daemon, and `stopping` makes each thread close with 1001.
 *
 * Concurrency: one thread per WebSocket connection; queries run on that thread (never on an MHD
 * thread). Callers: http_server.c (ws_handle_upgrade).
 */
#include "http/http_internal.h"
#include "http/json_codec.h"

#include "util/alloc.h"
#include "util/log.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_POLL_MS   200
#define WS_LINGER_MS 2000

typedef struct ws_conn {
    vs_http_server_t *srv;
    struct MHD_UpgradeResponseHandle *urh;
    int fd;
    char *api_key;  /* copied from the upgrade request (invariant 2) */
    char *ns;       /* ?namespace= of the upgrade request: the default for its queries */
    uint8_t *extra; /* bytes MHD read past the handshake */
    size_t extra_len, extra_off;
    wslay_event_context_ptr ctx;
    vs_buf frame; /* one outgoing message, reused */
    bool close_queued;
} ws_conn;

/* ------------------------------------------------------------------ wslay callbacks */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    ws_conn *c = user;
    if (c->extra_off < c->extra_len) {
        size_t n = c->extra_len - c->extra_off;
        if (n > len) n = len;
        memcpy(buf, c->extra + c->extra_off, n);
        c->extra_off += n;
        return (ssize_t)n;
    }
    ssize_t n;
    do {
        n = recv(c->fd, buf, len, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    ws_conn *c = user;
    ssize_t n;
    do {
        n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

/* Queues c->frame as one text message. */
static void send_frame(ws_conn *c)
{
    if (c->frame.oom) {
        vs_buf_reset(&c->frame);
        jc_write_ws_error(&c->frame, "out of memory writing the answer", NULL, 0);
    }
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, c->frame.data, c->frame.len};
    wslay_event_queue_msg(c->ctx, &msg);
    vs_buf_reset(&c->frame);
}

static void send_error(ws_conn *c, const char *msg, const char *rid, size_t rid_len)
{
    vs_buf_reset(&c->frame);
    jc_write_ws_error(&c->frame, msg, rid, rid_len);
    send_frame(c);
}

/* One query message (invariant 1). */
static void handle_query(ws_conn *c, const uint8_t *data, size_t len)
{
    vs_service_t *svc = c->srv->svc;
    json_t *root = NULL;
    vs_status derr, st;
    bool failed = false;
    char *rid = NULL;
    size_t rid_len = 0;
    const char *ns = c->ns;
    vs_query_in q;
    float *vec = NULL;
    jc_fast fast;
    memset(&q, 0, sizeof(q));
    jc_fast_init(&fast);
    if (jc_parse_fast((const char *)data, len, &fast, &root, &derr) != VS_OK) {
        failed = true;
    } else {
        json_t *rv = json_object_get(root, "request_id");
        if (rv && !json_is_null(rv)) {
            rid = json_dumps(rv, JSON_ENCODE_ANY | JSON_COMPACT);
            rid_len = rid ? strlen(rid) : 0;
        }
        const char *bns = NULL;
        if (jc_namespace(root, &bns, &derr) != VS_OK)
            failed = true;
        else if (bns)
            ns = bns;
        if (!failed && jc_decode_query(root, &fast, false, true, &q, &vec, &derr) != VS_OK)
            failed = true;
    }

    vs_req req = {VS_PROTO_WS, c->api_key, ns, 0};
    vs_ticket_t *t = NULL;
    if (svc_admit(svc, &req, VS_OP_STREAM_QUERY, false, &t, &st) != VS_OK) {
        send_error(c, st.msg, rid, rid_len);
    } else if (failed) {
        svc_reject(t, derr.code, derr.msg, &st);
        send_error(c, st.msg, rid, rid_len);
    } else {
        vs_query_out out;
        memset(&out, 0, sizeof(out));
        vs_err rc = q.hybrid ? svc_hybrid_query(t, &q, &out, &st) : svc_query(t, &q, &out, &st);
        if (rc != VS_OK) {
            send_error(c, st.msg, rid, rid_len);
        } else {
            for (uint32_t i = 0; i < out.n_hits; i++) {
                jc_write_ws_hit(&c->frame, &out.hits[i], i + 1, out.dim, out.hybrid || q.hybrid,
                                q.include_metadata, rid, rid_len);
                send_frame(c);
            }
            jc_write_ws_complete(&c->frame, &out, rid, rid_len);
            send_frame(c);
        }
        vs_query_out_free(&out);
    }
    if (t) svc_release(t);
    vs_free(vec);
    free(rid); /* jansson's allocator */
    if (root) json_decref(root);
    jc_fast_free(&fast);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    ws_conn *c = user;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        handle_query(c, arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_BINARY_FRAME)
        send_error(c, "binary frames are not supported: send each query as a JSON text frame", NULL,
                   0);
}

/* ------------------------------------------------------------------ connection thread */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Half-closes and reads until the peer closes too (or WS_LINGER_MS), so our close frame is
 * delivered before the socket goes away. */
static void linger_close(int fd)
{
    shutdown(fd, SHUT_WR);
    long deadline = now_ms() + WS_LINGER_MS;
    char sink[16384];
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n <= 0) break;
        ssize_t got = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
}

static void conn_free(ws_conn *c)
{
    if (c->ctx) wslay_event_context_free(c->ctx);
    vs_buf_free(&c->frame);
    vs_free(c->api_key);
    vs_free(c->ns);
    vs_free(c->extra);
    vs_free(c);
}

static void *conn_thread(void *arg)
{
    ws_conn *c = arg;
    vs_http_server_t *srv = c->srv;
    struct wslay_event_callbacks cb = {on_recv, on_send, NULL, NULL, NULL, NULL, on_msg};
    if (wslay_event_context_server_init(&c->ctx, &cb, c) != 0) {
        c->ctx = NULL;
    } else {
        wslay_event_config_set_max_recv_msg_length(c->ctx, srv->cfg.max_ws_frame_bytes);
        if (c->extra_len && wslay_event_recv(c->ctx) != 0) goto done;
        for (;;) {
            if (atomic_load(&srv->stopping) && !c->close_queued) {
                c->close_queued = true;
                const char *why = "server shutting down";
                wslay_event_queue_close(c->ctx, WSLAY_CODE_GOING_AWAY, (const uint8_t *)why,
                                        strlen(why));
            }
            if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) break;
            int want_r = wslay_event_want_read(c->ctx), want_w = wslay_event_want_write(c->ctx);
            if (!want_r && !want_w) break;
            struct pollfd p = {c->fd, (short)((want_r ? POLLIN : 0) | (want_w ? POLLOUT : 0)), 0};
            int n = poll(&p, 1, WS_POLL_MS);
            if (n < 0 && errno != EINTR) break;
            if (n <= 0) continue;
            if (p.revents & (POLLERR | POLLNVAL)) break;
            if ((p.revents & (POLLIN | POLLHUP)) && want_r && wslay_event_recv(c->ctx) != 0) break;
        }
    done:
        /* Over TLS the socket is MHD's socketpair end and MHD owns the TCP close: lingering here
         * would only delay MHD_UPGRADE_ACTION_CLOSE, and MHD 0.9.75 then leaves the connection
         * (TCP socket, socketpair, request context) uncleaned until its thread has another event.
         */
        if (wslay_event_get_close_sent(c->ctx) && !srv->cfg.tls_cert) linger_close(c->fd);
    }
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    conn_free(c);
    atomic_fetch_sub(&srv->active_ws, 1);
    return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *connection, void *con_cls,
                        const char *extra_in, size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    (void)connection;
    vs_http_server_t *srv = cls;
    http_req_t *r = con_cls;
    ws_conn *c = vs_calloc(1, sizeof(*c));
    if (!c) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    c->srv = srv;
    c->urh = urh;
    c->fd = sock;
    c->api_key = r && r->api_key ? vs_strdup(r->api_key) : NULL;
    c->ns = r && r->ns_query ? vs_strdup(r->ns_query) : NULL;
    if (extra_in_size) {
        c->extra = vs_malloc(extra_in_size);
        if (c->extra) {
            memcpy(c->extra, extra_in, extra_in_size);
            c->extra_len = extra_in_size;
        }
    }
    atomic_fetch_add(&srv->active_ws, 1);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u * 1024u);
    if (pthread_create(&th, &attr, conn_thread, c) != 0) {
        vs_log_warn("HTTP: cannot start a WebSocket connection thread: %s", strerror(errno));
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        conn_free(c);
        atomic_fetch_sub(&srv->active_ws, 1);
    }
    pthread_attr_destroy(&attr);
}

/* ------------------------------------------------------------------ the handshake */

enum MHD_Result ws_handle_upgrade(http_req_t *r)
{
    vs_http_server_t *srv = r->srv;
    const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *ver =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    if (!key || !*key || !ver || strcmp(ver, "13") != 0) {
        req_error(r, VS_ERR_INVALID_ARGUMENT,
                  "WebSocket handshake needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13");
        return http_queue_answer(r);
    }
    if (srv->svc && svc_config(srv->svc)->api_key) {
        vs_req req = {VS_PROTO_WS, r->api_key, r->ns_query, 0};
        vs_ticket_t *t = NULL;
        vs_status st;
        if (svc_admit(srv->svc, &req, VS_OP_STREAM_QUERY, false, &t, &st) == VS_OK)
            svc_release(t);
        else if (st.code == VS_ERR_UNAUTHENTICATED) {
            req_error(r, st.code, st.msg);
            return http_queue_answer(r);
        }
    }
    char src[128 + sizeof(WS_GUID)];
    size_t klen = strlen(key);
    if (klen > 128) klen = 128;
    memcpy(src, key, klen);
    memcpy(src + klen, WS_GUID, sizeof(WS_GUID) - 1);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)src, klen + sizeof(WS_GUID) - 1, digest);
    char accept[64];
    EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);

    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, srv);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
    svc_count_http(srv->svc, "/ws/query-stream", "GET", 101);
    return ret;
}
