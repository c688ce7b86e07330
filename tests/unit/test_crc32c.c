/*
 * test_crc32c.c - unit tests of src/util/crc32c.c: the RFC 3720 / iSCSI check values, chaining
 * (crc of a||b from crc of a), and the SSE4.2 path against the table path on random buffers at
 * every length and alignment around the interleaving block boundaries (seed printed; rerun with
 * VS_TEST_SEED=<n>). Prints the throughput of each path (informational, not asserted).
 */
#include "util/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_checks;

static void check_u32(uint32_t a, uint32_t b, const char *what, int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "test_crc32c.c:%d: FAIL: %s: 0x%08X vs expected 0x%08X\n", line, what, a, b);
        exit(1);
    }
}
#define CHECK_U32(a, b, what) check_u32((a), (b), (what), __LINE__)

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void known_vectors(crc_fn f, const char *name)
{
    uint8_t b[48];
    char what[64];
    snprintf(what, sizeof what, "%s(\"123456789\")", name);
    CHECK_U32(f(0, "123456789", 9), 0xE3069283u, what);
    snprintf(what, sizeof what, "%s(empty)", name);
    CHECK_U32(f(0, "", 0), 0, what);
    memset(b, 0, 32);
    snprintf(what, sizeof what, "%s(32 x 00)", name);
    CHECK_U32(f(0, b, 32), 0x8A9136AAu, what);
    memset(b, 0xff, 32);
    snprintf(what, sizeof what, "%s(32 x FF)", name);
    CHECK_U32(f(0, b, 32), 0x62A8AB43u, what);
    for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
    snprintf(what, sizeof what, "%s(00..1F)", name);
    CHECK_U32(f(0, b, 32), 0x46DD794Eu, what);
    for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
    snprintf(what, sizeof what, "%s(1F..00)", name);
    CHECK_U32(f(0, b, 32), 0x113FDB5Cu, what);
    /* the same string at every alignment */
    for (int a = 0; a < 8; a++) {
        memcpy(b + a, "123456789", 9);
        snprintf(what, sizeof what, "%s(\"123456789\" at +%d)", name, a);
        CHECK_U32(f(0, b + a, 9), 0xE3069283u, what);
    }
}

int main(void)
{
    const char *env = getenv("VS_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("test_crc32c: seed %llu (VS_TEST_SEED=%llu to rerun)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 2654435761u + 1;

    bool hw = vs_crc32c_hw_available();
    printf("test_crc32c: SSE4.2 path %s\n", hw ? "available" : "NOT available (table only)");
    known_vectors(vs_crc32c, "vs_crc32c");
    known_vectors(vs_crc32c_sw, "vs_crc32c_sw");
    if (hw) known_vectors(vs_crc32c_hw, "vs_crc32c_hw");

    /* random buffers: hw == sw at lengths around the 3-way block boundaries, every alignment */
    size_t max = 3 * 8192 * 2 + 3 * 256 + 64;
    uint8_t *buf = malloc(max + 16);
    for (size_t i = 0; i < max + 16; i++) buf[i] = (uint8_t)rnd();
    size_t lens[] = {0,    1,    7,    8,    9,     255,   256,   767,   768,   769,
                     1000, 4096, 8191, 8192, 24575, 24576, 24577, 25344, 49151, 49152,
                     49153, max - 1};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int a = 0; a < 9; a++) {
            uint32_t init = (uint32_t)rnd();
            uint32_t s = vs_crc32c_sw(init, buf + a, lens[li]);
            if (hw) CHECK_U32(vs_crc32c_hw(init, buf + a, lens[li]), s, "hw vs sw, fixed length");
            CHECK_U32(vs_crc32c(init, buf + a, lens[li]), s, "dispatch vs sw");
        }
    for (int k = 0; k < 2000; k++) {
        size_t n = (size_t)(rnd() % max), a = (size_t)(rnd() % 16);
        if (a + n > max + 16) n = max + 16 - a;
        uint32_t init = (uint32_t)rnd();
        uint32_t s = vs_crc32c_sw(init, buf + a, n);
        if (hw) CHECK_U32(vs_crc32c_hw(init, buf + a, n), s, "hw vs sw, random length");
        /* chaining at a random split */
        size_t cut = n ? (size_t)(rnd() % n) : 0;
        CHECK_U32(vs_crc32c(vs_crc32c(init, buf + a, cut), buf + a + cut, n - cut), s, "chaining");
    }
    /* a bit flip always changes the value (a CRC detects every single-bit error) */
    for (int k = 0; k < 200; k++) {
        size_t n = 1 + (size_t)(rnd() % 4096), bit = (size_t)(rnd() % (n * 8));
        uint32_t before = vs_crc32c(0, buf, n);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        uint32_t after = vs_crc32c(0, buf, n);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        g_checks++;
        if (before == after) {
            fprintf(stderr, "FAIL: bit flip %zu of %zu bytes not detected\n", bit, n);
            return 1;
        }
    }
    free(buf);

    /* throughput, informational */
    size_t big = (size_t)64 << 20;
    uint8_t *b = malloc(big);
    for (size_t i = 0; i < big; i++) b[i] = (uint8_t)(i * 131 + (i >> 9));
    crc_fn fns[2] = {vs_crc32c_sw, vs_crc32c_hw};
    const char *names[2] = {"table", "sse4.2"};
    uint32_t res[2] = {0, 0};
    for (int i = 0; i < (hw ? 2 : 1); i++) {
        double t0 = now_s();
        for (int r = 0; r < 4; r++) res[i] = fns[i](0, b, big);
        double dt = now_s() - t0;
        printf("test_crc32c: %-6s %.2f GB/s\n", names[i], 4.0 * (double)big / dt / 1e9);
    }
    if (hw) CHECK_U32(res[1], res[0], "hw vs sw on 64 MiB");
    free(b);
    printf("test_crc32c: %d checks passed\n", g_checks);
    return 0;
}
