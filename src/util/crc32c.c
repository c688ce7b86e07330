/*
 * crc32c.c - CRC-32C of crc32c.h: a slicing-by-8 table implementation and an SSE4.2 one.
 *
 * How: the software path folds 8 bytes per step through 8 tables of 256 entries (T[k][b] is the
 * CRC of byte b followed by k zero bytes). The hardware path feeds 8 bytes per crc32 instruction;
 * because the instruction has a latency of 3 cycles but a throughput of 1, long buffers are cut
 * into three adjacent blocks whose CRCs are computed in the same loop and then combined:
 * crc(A||B) = shift(crc(A), |B|) ^ crc0(B), where shift() appends |B| zero bytes to the raw CRC
 * register. shift() is linear over GF(2), so it is a 32x32 bit matrix, applied here as four
 * 256-entry tables per block length (LONG and SHORT), built once from the 32 basis vectors.
 *
 * Invariants:
 *   1. Both paths compute the same function (tests/unit/test_crc32c.c checks them on random
 *      buffers at every length and alignment near the block boundaries).
 *   2. The functions work on the raw register internally; the public value is the register
 *      complemented (pre- and post-inversion), so CRCs can be chained.
 *
 * Concurrency: the tables and the dispatch pointer are written once under pthread_once and only
 * read afterwards. Callers: storage/wal.c, storage/snapshot.c, engine/ns_meta.c, tests.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define HAVE_X86 1
#endif

#define POLY        0x82F63B78u
#define LONG_BLOCK  8192
#define SHORT_BLOCK 256

static uint32_t tab[8][256];         /* slicing-by-8 tables */
static uint32_t long_shift[4][256];  /* appends LONG_BLOCK zero bytes to a raw register */
static uint32_t short_shift[4][256]; /* appends SHORT_BLOCK zero bytes */
static uint32_t (*impl)(uint32_t, const void *, size_t);
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool hw_ok;

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Builds the 4x256 tables of the operator "append n zero bytes to the raw register". */
static void build_shift(uint32_t out[4][256], size_t n)
{
    uint32_t basis[32];
    for (int b = 0; b < 32; b++) {
        uint32_t x = 1u << b;
        for (size_t i = 0; i < n; i++) x = (x >> 8) ^ tab[0][x & 0xff];
        basis[b] = x;
    }
    for (int k = 0; k < 4; k++)
        for (int v = 0; v < 256; v++) {
            uint32_t r = 0;
            for (int j = 0; j < 8; j++)
                if (v & (1 << j)) r ^= basis[8 * k + j];
            out[k][v] = r;
        }
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t crc)
{
    return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

static void init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        tab[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            tab[k][i] = (tab[k - 1][i] >> 8) ^ tab[0][tab[k - 1][i] & 0xff];
    build_shift(long_shift, LONG_BLOCK);
    build_shift(short_shift, SHORT_BLOCK);
#ifdef HAVE_X86
    __builtin_cpu_init();
    hw_ok = __builtin_cpu_supports("sse4.2");
#endif
    impl = hw_ok ? vs_crc32c_hw : vs_crc32c_sw;
}

bool vs_crc32c_hw_available(void)
{
    pthread_once(&once, init);
    return hw_ok;
}

uint32_t vs_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&once, init);
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
        n--;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n >= 8) {
        uint64_t w = load64(p) ^ c;
        c = tab[7][w & 0xff] ^ tab[6][(w >> 8) & 0xff] ^ tab[5][(w >> 16) & 0xff] ^
            tab[4][(w >> 24) & 0xff] ^ tab[3][(w >> 32) & 0xff] ^ tab[2][(w >> 40) & 0xff] ^
            tab[1][(w >> 48) & 0xff] ^ tab[0][w >> 56];
        p += 8;
        n -= 8;
    }
#endif
    while (n--) c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
    return ~c;
}

#ifdef HAVE_X86
/* Three interleaved streams of `blk` bytes each; returns the combined raw register. */
__attribute__((target("sse4.2"))) static inline uint64_t
triple(uint64_t c0, const unsigned char *p, size_t blk, const uint32_t t[4][256])
{
    uint64_t c1 = 0, c2 = 0;
    const unsigned char *end = p + blk;
    do {
        c0 = _mm_crc32_u64(c0, load64(p));
        c1 = _mm_crc32_u64(c1, load64(p + blk));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * blk));
        p += 8;
    } while (p < end);
    c0 = shift(t, (uint32_t)c0) ^ (uint32_t)c1;
    return shift(t, (uint32_t)c0) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2"))) uint32_t vs_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&once, init);
    const unsigned char *p = buf;
    uint64_t c = (uint32_t)~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 3 * LONG_BLOCK) {
        c = triple(c, p, LONG_BLOCK, long_shift);
        p += 3 * LONG_BLOCK;
        n -= 3 * LONG_BLOCK;
    }
    while (n >= 3 * SHORT_BLOCK) {
        c = triple(c, p, SHORT_BLOCK, short_shift);
        p += 3 * SHORT_BLOCK;
        n -= 3 * SHORT_BLOCK;
    }
    while (n >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        n -= 8;
    }
    while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#else
uint32_t vs_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
    return vs_crc32c_sw(crc, buf, n);
}
#endif

uint32_t vs_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&once, init);
    return impl(crc, p, n);
}
