/*
 * err.h - the one table of VecStore error codes, and vs_status, the error carrier.
 *
 * Every fallible function returns a vs_err (0 = OK) and takes a vs_status *st that receives the
 * code plus one user-facing message built where the facts are known (SQLite's rc + message,
 * sqlite-vec's vtab_set_error). The X-macro table below generates the enum, the names, the HTTP
 * status and the gRPC status: nothing else in the tree maps codes to statuses (SPEC section 4).
 *
 * Ownership: vs_status is a plain value owned by the caller; it holds no heap memory.
 */
#ifndef VECSTORE_ERR_H
#define VECSTORE_ERR_H

#include <stdarg.h>
#include <stddef.h>

/*  X(name,               http, grpc, default message) */
#define VS_ERR_TABLE(X)                                                                            \
    X(OK, 200, 0, "ok")                                                                            \
    X(INVALID_ARGUMENT, 400, 3, "invalid argument")                                                \
    X(UNAUTHENTICATED, 401, 16, "missing or invalid API key")                                      \
    X(PERMISSION_DENIED, 403, 7, "permission denied")                                              \
    X(NOT_FOUND, 404, 5, "not found")                                                              \
    X(METHOD_NOT_ALLOWED, 405, 12, "method not allowed")                                           \
    X(ALREADY_EXISTS, 409, 6, "already exists")                                                    \
    X(TOO_LARGE, 413, 8, "request too large")                                                      \
    X(QUOTA_EXCEEDED, 429, 8, "quota exceeded")                                                    \
    X(UNAVAILABLE, 503, 14, "service unavailable")                                                 \
    X(DEADLINE_EXCEEDED, 504, 4, "deadline exceeded")                                              \
    X(NOMEM, 500, 13, "out of memory")                                                             \
    X(IO, 500, 13, "storage I/O error")                                                            \
    X(NOSPACE, 500, 13, "no space left on device")                                                 \
    X(CORRUPT, 500, 13, "data file corrupt")                                                       \
    X(INTERNAL, 500, 13, "internal error")

typedef enum {
#define VS_ERR_ENUM(name, http, grpc, msg) VS_ERR_##name,
    VS_ERR_TABLE(VS_ERR_ENUM)
#undef VS_ERR_ENUM
        VS_ERR__COUNT
} vs_err;

#define VS_OK VS_ERR_OK

#define VS_STATUS_MSG_MAX 512

typedef struct vs_status {
    vs_err code;
    char msg[VS_STATUS_MSG_MAX];
} vs_status;

/* Stable upper-case name of a code ("QUOTA_EXCEEDED"). */
const char *vs_err_name(vs_err code);
/* HTTP status and gRPC status code (grpc_status_code numbering) of a code. */
int vs_err_http_status(vs_err code);
int vs_err_grpc_status(vs_err code);
/* Default message of a code. */
const char *vs_err_default_msg(vs_err code);

/* Sets st (if not NULL) to code and the formatted message (CR/LF stripped); returns code.
 * A NULL fmt uses the code's default message. */
vs_err vs_status_set(vs_status *st, vs_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
vs_err vs_status_vset(vs_status *st, vs_err code, const char *fmt, va_list ap);
/* Resets st to OK with an empty message. */
void vs_status_clear(vs_status *st);

#endif
