/*
 * http_internal.h - private interfaces between the files of src/http: the per-request context,
 * the route table (router.c), the WebSocket side (ws.c) and the server (http_server.c).
 *
 * Ownership: an http_req_t belongs to one MHD connection from the URI callback until the
 * completion callback (then it goes back to the server's free list with its buffers kept).
 * Concurrency: a request is touched by one thread at a time: its MHD thread, or, while the
 * connection is suspended, the worker running its job (hand-over ordered by MHD's resume lock).
 */
#ifndef VS_HTTP_HTTP_INTERNAL_H
#define VS_HTTP_HTTP_INTERNAL_H

#include "http/http_server.h"
#include "service/service.h"
#include "util/buf.h"
#include "util/threadpool.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum {
    HM_GET = 1,
    HM_POST = 2,
    HM_PUT = 4,
    HM_DELETE = 8,
    HM_OTHER = 16,
};

typedef struct http_req http_req_t;
typedef void (*http_handler_fn)(http_req_t *r);

/* Route flags. */
enum {
    RT_INLINE = 1,    /* cheap: runs on the MHD thread (health, ready, metrics) */
    RT_NEED_BODY = 2, /* a JSON object body is required */
    RT_ADMIN = 4,     /* admin route: svc_ns_* / svc_key_* */
    RT_WS = 8,        /* WebSocket upgrade */
};

typedef struct http_route {
    const char *pattern; /* "/v1/vectors/{id}": {x} matches one non-empty segment */
    unsigned method;     /* one HM_ bit */
    http_handler_fn fn;
    vs_op op; /* data routes: the operation for svc_admit */
    unsigned flags;
} http_route;

typedef enum { PH_NEW = 0, PH_BODY, PH_RUNNING, PH_DONE } http_phase;

#define HTTP_MAX_PARAMS 2

struct http_req {
    struct vs_http_server *srv;
    struct MHD_Connection *conn;
    http_req_t *next_free;

    vs_buf uri;        /* the raw request target, NUL-terminated */
    const char *query; /* after '?' in uri, or NULL */
    unsigned method;   /* HM_ bit */
    const char *method_str;
    const http_route *route; /* NULL: 404 or 405 (allow != 0) */
    unsigned allow;          /* methods the path accepts, for 405 */
    vs_buf pbuf;             /* decoded path parameters and query values */
    size_t param_off[HTTP_MAX_PARAMS], param_len[HTTP_MAX_PARAMS];
    size_t n_params;
    const char *ns_query;  /* ?namespace= (decoded, in pbuf: resolved after parsing) */
    const char *key_query; /* ?api_key= */
    const char *api_key;   /* from the headers or ?api_key= */

    vs_buf body;
    size_t body_seen; /* bytes received, counted past the limit too */
    bool too_large;

    _Atomic int phase;
    int status;
    vs_buf out;
    const char *content_type;
    bool is_upgrade;
};

struct vs_http_server {
    vs_service_t *svc;
    vs_http_config cfg;
    struct MHD_Daemon *daemon;
    int listen_fd;
    vs_pool_t *pool;
    bool quiesced;
    bool run_inline; /* handlers on the MHD threads (spike knob VS_HTTP_DISPATCH=inline) */

    pthread_mutex_t mu; /* guards free_list */
    http_req_t *free_list;
    size_t n_free;

    _Atomic long active_requests; /* requests between URI callback and completion */
    _Atomic long active_ws;       /* WebSocket connections being served */
    _Atomic bool stopping;        /* WebSocket threads exit when set */
};

/* router.c */
void router_match(http_req_t *r, const char *path, size_t path_len);
void router_run(http_req_t *r);
const char *router_route_label(const http_req_t *r);
/* Path parameter i, decoded (NUL-terminated in pbuf; len may include %00 bytes). */
const char *req_param(const http_req_t *r, size_t i, size_t *len);
/* Finds the API key (Authorization: Bearer, x-api-key, ?api_key=) and ?namespace=. */
void req_read_headers(http_req_t *r);
/* Sets an error answer {"error": msg} with the code's HTTP status. */
void req_error(http_req_t *r, vs_err code, const char *msg);

/* http_server.c: queues r's prepared answer on its connection and counts it. */
enum MHD_Result http_queue_answer(http_req_t *r);

/* ws.c */
/* Answers an upgrade request on GET /ws/query-stream (101 or an error) on the MHD thread. */
enum MHD_Result ws_handle_upgrade(http_req_t *r);

#endif
