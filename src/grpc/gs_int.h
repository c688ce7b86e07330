/*
 * gs_int.h - private header of the gRPC adapter (src/grpc/): the server object, completion-queue
 * tags, the method table, and the codec helpers shared by the handler files.
 *
 * Files: server.c (life cycle, pollers, unary calls), stream.c (QueryStream, health Watch,
 * reflection), data.c (VecStoreService handlers), admin.c (VecStoreAdminService handlers),
 * codec.c (arena, protobuf-c allocator, metadata <-> value model, raw wire helpers).
 *
 * Every completion-queue tag is a gs_tag embedded in the object that owns the operation; the
 * poller calls tag->fn(tag, ok) and the owner recovers itself with gs_container_of.
 */
#ifndef VS_GRPC_GS_INT_H
#define VS_GRPC_GS_INT_H

#define VS_GRPC_INTERNAL 1
#include "grpc/grpc_server.h"

#include "core/value.h"
#include "service/service.h"
#include "util/buf.h"

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vecstore.pb-c.h"

#define gs_container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* Largest nesting of protobuf messages accepted in a request (metadata depth 32 needs about
 * 3 levels per metadata level); deeper requests are refused before protobuf-c recurses. */
#define GS_MAX_WIRE_DEPTH 120

typedef struct gs_tag {
    void (*fn)(struct gs_tag *t, bool ok);
} gs_tag;

/* ---- what a handler sees and answers ---- */

typedef struct gs_ctx {
    vs_grpc_server_t *g;
    vs_service_t *svc;
    vs_req req;        /* proto GRPC, api_key, deadline_us; namespace set by the handler */
    const uint8_t *in; /* the request message (NULL, 0 for an empty message) */
    size_t in_len;
    bool too_large; /* in_len over max_message_bytes: not decoded */
} gs_ctx;

typedef struct gs_reply {
    int code; /* gRPC status; 0 = OK */
    char details[VS_STATUS_MSG_MAX];
    uint8_t *body; /* packed response (vs_malloc), OK only */
    size_t body_len;
} gs_reply;

typedef void (*gs_unary_fn)(gs_ctx *x, gs_reply *r);
/* A streaming method takes over the call (and the reference the poller holds on it). payload is
 * the first request message for server-streaming methods, NULL for bidi ones. */
typedef void (*gs_stream_fn)(gs_ctx *x, grpc_call *call);

typedef enum { GS_UNARY = 0, GS_SERVER_STREAM = 1, GS_BIDI = 2 } gs_kind;

typedef struct gs_method {
    const char *path; /* "/vecstore.VecStoreService/Upsert" */
    gs_kind kind;
    gs_unary_fn unary;
    gs_stream_fn stream;
} gs_method;

extern const gs_method gs_data_methods[];
extern const size_t gs_n_data_methods;
extern const gs_method gs_admin_methods[];
extern const size_t gs_n_admin_methods;
extern const gs_method gs_stream_methods[];
extern const size_t gs_n_stream_methods;

/* ---- server internals used by stream.c ---- */

typedef struct gs_watch gs_watch_t;

struct vs_grpc_server {
    vs_service_t *svc;
    grpc_server *server;
    grpc_completion_queue *cq; /* one queue, n_threads pollers call next on it */
    pthread_t *threads;
    unsigned n_threads;
    size_t max_msg;
    atomic_bool quiescing;
    atomic_llong last_poll_us; /* last health-watch poll (monotonic us) */

    struct gs_slot *slots; /* one pending request per (method, i < n_threads) + unknown ones */
    size_t n_slots;

    gs_tag shutdown_tag;
    pthread_mutex_t mu; /* guards shutdown_done */
    pthread_cond_t cv;
    bool shutdown_done;

    pthread_mutex_t watch_mu; /* guards the watch list and every watcher's state */
    gs_watch_t *watchers;
};

/* Starts a batch; on failure logs and returns false (the caller then owns the cleanup). */
bool gs_start_batch(grpc_call *call, const grpc_op *ops, size_t n, gs_tag *tag);
/* A byte buffer holding a copy of (p, n). */
grpc_byte_buffer *gs_bb_from(const uint8_t *p, size_t n);
/* The health status (grpc.health.v1 numbering: 1 SERVING, 2 NOT_SERVING) of the server. */
int gs_serving_status(vs_grpc_server_t *g);
/* Called by the pollers every ~200 ms and at quiesce: pushes status changes to Watch streams
 * and ends them when the server quiesces. */
void gs_watch_poll(vs_grpc_server_t *g);
int64_t gs_now_us(void);

/* ---- codec.c ---- */

/* A bump arena for building response messages; freed in one go. */
typedef struct gs_arena {
    struct gs_chunk *head;
    bool oom;
} gs_arena;
void gs_arena_init(gs_arena *a);
void *gs_arena_alloc(gs_arena *a, size_t n); /* zeroed; NULL (and a->oom) on failure */
char *gs_arena_strndup(gs_arena *a, const char *s, size_t n);
void gs_arena_free(gs_arena *a);

/* protobuf-c allocator over vs_malloc/vs_free. */
extern ProtobufCAllocator gs_pb_alloc;

/* Unpacks (in, len) as desc after checking the nesting depth; NULL on malformed input, with a
 * message in err. */
ProtobufCMessage *gs_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
                            char *err, size_t err_size);
/* Finds the first string field `field_no` at the top level of raw bytes (no full decode): used to
 * name the namespace of a message that is too large or malformed. Copies it into out (NUL
 * terminated, truncated to out_size - 1); false if absent. */
bool gs_scan_string_field(const uint8_t *p, size_t n, uint32_t field_no, char *out,
                          size_t out_size);
/* Packs msg into r->body (OK answer). Out of memory -> INTERNAL. */
void gs_reply_pack(gs_reply *r, const ProtobufCMessage *msg);
/* Sets r to an error from st (the service's code and message). */
void gs_reply_status(gs_reply *r, const vs_status *st);
void gs_reply_error(gs_reply *r, vs_err code, const char *msg);

/* Builds the encoded metadata object (value.h) from protobuf-c map entries; entries are the
 * generated *__MetadataEntry structs, all laid out as {base, key, value}. A repeated key: the last
 * wins. Returns NULL (with *too_deep) on depth failure; *oom on memory failure. */
typedef struct gs_map_entry {
    ProtobufCMessage base;
    char *key;
    Vecstore__MetadataValue *value;
} gs_map_entry;
uint8_t *gs_meta_encode(gs_map_entry **entries, size_t n, size_t *len_out, bool *too_deep,
                        bool *oom);
/* Converts an encoded metadata object into map entries allocated in the arena. The entry struct
 * is initialised with entry_desc (the map entry message of the target field). */
gs_map_entry **gs_meta_decode(gs_arena *a, const uint8_t *meta, size_t meta_len,
                              const ProtobufCMessageDescriptor *entry_desc, size_t *n_out);

/* Minimal protobuf writer for the hand-encoded health and reflection messages. */
void gs_pb_varint(vs_buf *b, uint64_t v);
void gs_pb_tag(vs_buf *b, uint32_t field, uint32_t wire_type);
void gs_pb_bytes(vs_buf *b, uint32_t field, const void *p, size_t n);
void gs_pb_uint(vs_buf *b, uint32_t field, uint64_t v);
/* Reads the next field of (p, n) at *off: field number, wire type, and for wire type 2 the
 * payload, for 0 the value. false at the end or on malformed input (*bad set). */
bool gs_pb_next(const uint8_t *p, size_t n, size_t *off, uint32_t *field, uint32_t *wt,
                const uint8_t **val, size_t *val_len, uint64_t *num, bool *bad);

/* ---- data.c, shared with stream.c ---- */

/* Fills q from a query message's fields with the proto3 -> HTTP defaults (see data.c). */
void gs_query_in(vs_query_in *q, const float *vec, size_t n_vec, uint32_t limit, const char *filter,
                 uint32_t ef, bool has_im, bool im, bool has_iv, bool iv);
/* One result in the arena; its vector is borrowed from h. NULL on out of memory. */
Vecstore__QueryResult *gs_hit_out(gs_arena *a, const vs_hit *h, uint32_t dim, bool hybrid);

/* The serialized FileDescriptorSet of proto/vecstore.proto (generated at build time). */
extern const unsigned char gs_vecstore_descriptor_set[];
extern const size_t gs_vecstore_descriptor_set_len;

#endif
