/*
 * err.c - names, wire statuses and message formatting for the error table of err.h.
 *
 * Everything here is generated from VS_ERR_TABLE; the functions are pure and thread-safe.
 */
#include "vecstore/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int http;
    int grpc;
    const char *msg;
} err_rows[] = {
#define VS_ERR_ROW(name, http, grpc, msg) {#name, http, grpc, msg},
    VS_ERR_TABLE(VS_ERR_ROW)
#undef VS_ERR_ROW
};

static int valid(vs_err c)
{
    return (int)c >= 0 && c < VS_ERR__COUNT;
}

const char *vs_err_name(vs_err c)
{
    return valid(c) ? err_rows[c].name : "INTERNAL";
}
int vs_err_http_status(vs_err c)
{
    return valid(c) ? err_rows[c].http : 500;
}
int vs_err_grpc_status(vs_err c)
{
    return valid(c) ? err_rows[c].grpc : 13;
}
const char *vs_err_default_msg(vs_err c)
{
    return valid(c) ? err_rows[c].msg : "internal error";
}

vs_err vs_status_vset(vs_status *st, vs_err code, const char *fmt, va_list ap)
{
    if (!st) return code;
    st->code = code;
    if (fmt)
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    else
        snprintf(st->msg, sizeof st->msg, "%s", vs_err_default_msg(code));
    for (char *p = st->msg; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    return code;
}

vs_err vs_status_set(vs_status *st, vs_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vs_status_vset(st, code, fmt, ap);
    va_end(ap);
    return code;
}

void vs_status_clear(vs_status *st)
{
    if (!st) return;
    st->code = VS_OK;
    st->msg[0] = '\0';
}
