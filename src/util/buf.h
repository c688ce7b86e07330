/*
 * buf.h - a growable byte buffer (Redis sds / h2o h2o_buffer_t in spirit, without the header
 * tricks). Used to build encoded values, WAL payloads and JSON output.
 *
 * Ownership: a vs_buf owns `data`; vs_buf_free releases it; vs_buf_detach hands it to the caller
 * (release with vs_free). A failed append leaves the buffer unchanged and sets `oom`, so callers
 * may append many pieces and check once.
 */
#ifndef VS_UTIL_BUF_H
#define VS_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vs_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom;
} vs_buf;

#define VS_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

void vs_buf_init(vs_buf *b);
void vs_buf_free(vs_buf *b);
void vs_buf_reset(vs_buf *b);
bool vs_buf_reserve(vs_buf *b, size_t extra);
void vs_buf_append(vs_buf *b, const void *p, size_t n);
void vs_buf_append_u8(vs_buf *b, uint8_t v);
void vs_buf_append_u32(vs_buf *b, uint32_t v); /* little-endian */
void vs_buf_append_u64(vs_buf *b, uint64_t v); /* little-endian */
void vs_buf_append_str(vs_buf *b, const char *s);
void vs_buf_printf(vs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (NULL if empty or oom) and resets b. */
uint8_t *vs_buf_detach(vs_buf *b, size_t *len_out);

/* Little-endian loads/stores for file and encoding formats. */
static inline uint32_t vs_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t vs_load_u64(const uint8_t *p)
{
    return (uint64_t)vs_load_u32(p) | (uint64_t)vs_load_u32(p + 4) << 32;
}
static inline void vs_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}
static inline void vs_store_u64(uint8_t *p, uint64_t v)
{
    vs_store_u32(p, (uint32_t)v);
    vs_store_u32(p + 4, (uint32_t)(v >> 32));
}

#endif
