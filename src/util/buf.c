/*
 * buf.c - growable byte buffer of buf.h. Growth doubles capacity; an allocation failure sets the
 * sticky `oom` flag and drops the append, so a builder checks once at the end.
 */
#include "util/buf.h"

#include "util/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vs_buf_init(vs_buf *b)
{
    *b = (vs_buf)VS_BUF_INIT;
}

void vs_buf_free(vs_buf *b)
{
    vs_free(b->data);
    vs_buf_init(b);
}

void vs_buf_reset(vs_buf *b)
{
    b->len = 0;
    b->oom = false;
}

bool vs_buf_reserve(vs_buf *b, size_t extra)
{
    if (b->oom) return false;
    if (b->len + extra <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *d = vs_realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void vs_buf_append(vs_buf *b, const void *p, size_t n)
{
    if (!n || !vs_buf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void vs_buf_append_u8(vs_buf *b, uint8_t v)
{
    vs_buf_append(b, &v, 1);
}

void vs_buf_append_u32(vs_buf *b, uint32_t v)
{
    uint8_t t[4];
    vs_store_u32(t, v);
    vs_buf_append(b, t, 4);
}

void vs_buf_append_u64(vs_buf *b, uint64_t v)
{
    uint8_t t[8];
    vs_store_u64(t, v);
    vs_buf_append(b, t, 8);
}

void vs_buf_append_str(vs_buf *b, const char *s)
{
    vs_buf_append(b, s, strlen(s));
}

void vs_buf_printf(vs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0 || !vs_buf_reserve(b, (size_t)n + 1)) return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

uint8_t *vs_buf_detach(vs_buf *b, size_t *len_out)
{
    uint8_t *d = b->oom ? NULL : b->data;
    if (len_out) *len_out = d ? b->len : 0;
    if (!d) vs_free(b->data);
    vs_buf_init(b);
    return d;
}
