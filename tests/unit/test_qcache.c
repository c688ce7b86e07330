/*
 * test_qcache.c - unit tests of src/service/qcache.c: exact LRU eviction order, replace, the byte
 * bound, drop_prefix, the disabled cache, bucket growth across shards, allocation failures, and
 * 8 threads doing get/put/drop_prefix concurrently where every hit must return exactly the value
 * put for its key (values are a pure function of the key). Random parts print their seed; rerun
 * one with QCACHE_SEED=<n>.
 */
#include "service/qcache.h"

#include "util/alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks;

static void check_true(bool c, const char *expr, const char *file, int line)
{
    g_checks++;
    if (!c) {
        fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, expr);
        exit(1);
    }
}

static void check_u64(uint64_t a, uint64_t b, const char *ea, const char *eb, const char *file,
                      int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "%s:%d: FAIL: %s == %s (%llu vs %llu)\n", file, line, ea, eb,
                (unsigned long long)a, (unsigned long long)b);
        exit(1);
    }
}

#define ASSERT(c)         check_true((c), #c, __FILE__, __LINE__)
#define ASSERT_EQ_U(a, b) check_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)

static void put_s(vs_qcache_t *c, const char *k, const char *v)
{
    qcache_put(c, k, strlen(k), v, strlen(v));
}

/* true and the value equals want, or false when absent. Fails on a wrong value. */
static bool get_s(vs_qcache_t *c, const char *k, const char *want)
{
    void *v = NULL;
    size_t n = 0;
    if (!qcache_get(c, k, strlen(k), &v, &n)) return false;
    if (n != strlen(want) || memcmp(v, want, n) != 0) {
        fprintf(stderr, "FAIL: key %s: got \"%.*s\", expected \"%s\"\n", k, (int)n, (char *)v,
                want);
        exit(1);
    }
    vs_free(v);
    return true;
}

static void test_lru_order(void)
{
    vs_qcache_t *c = qcache_create(4, 1 << 20);
    ASSERT(c != NULL);
    ASSERT_EQ_U(qcache_shards(c), 1);
    put_s(c, "k1", "v1");
    put_s(c, "k2", "v2");
    put_s(c, "k3", "v3");
    put_s(c, "k4", "v4");
    ASSERT_EQ_U(qcache_entries(c), 4);
    ASSERT(get_s(c, "k1", "v1")); /* order now (MRU first): k1 k4 k3 k2 */
    put_s(c, "k5", "v5");         /* evicts k2 */
    ASSERT(!get_s(c, "k2", "v2"));
    ASSERT_EQ_U(qcache_entries(c), 4);
    put_s(c, "k6", "v6"); /* evicts k3: k6 k5 k1 k4 */
    ASSERT(!get_s(c, "k3", "v3"));
    put_s(c, "k4", "v4bis"); /* replace: no eviction, k4 becomes MRU: k4 k6 k5 k1 */
    ASSERT_EQ_U(qcache_entries(c), 4);
    ASSERT_EQ_U(qcache_bytes(c), 2 + 5 + 3 * (2 + 2));
    put_s(c, "k7", "v7"); /* evicts k1 */
    ASSERT(!get_s(c, "k1", "v1"));
    put_s(c, "k8", "v8"); /* evicts k5 */
    ASSERT(!get_s(c, "k5", "v5"));
    ASSERT(get_s(c, "k4", "v4bis"));
    ASSERT(get_s(c, "k6", "v6"));
    ASSERT(get_s(c, "k7", "v7"));
    ASSERT(get_s(c, "k8", "v8"));
    ASSERT_EQ_U(qcache_entries(c), 4);

    /* a miss leaves the out-params untouched */
    void *v = (void *)0x1;
    size_t n = 77;
    ASSERT(!qcache_get(c, "nope", 4, &v, &n));
    ASSERT(v == (void *)0x1 && n == 77);

    /* zero-length key and value */
    qcache_put(c, "", 0, "", 0);
    ASSERT(qcache_get(c, "", 0, &v, &n));
    ASSERT(v != NULL && n == 0);
    vs_free(v);
    /* keys are compared by bytes, embedded NULs included */
    qcache_put(c, "a\0b", 3, "x", 1);
    qcache_put(c, "a\0c", 3, "y", 1);
    ASSERT(qcache_get(c, "a\0b", 3, &v, &n) && n == 1 && *(char *)v == 'x');
    vs_free(v);
    ASSERT(qcache_get(c, "a\0c", 3, &v, &n) && n == 1 && *(char *)v == 'y');
    vs_free(v);
    qcache_destroy(c);
}

static void test_byte_bound(void)
{
    char v40[41], v99[100], v100[101];
    memset(v40, 'x', 40), v40[40] = '\0';
    memset(v99, 'y', 99), v99[99] = '\0';
    memset(v100, 'z', 100), v100[100] = '\0';
    vs_qcache_t *c = qcache_create(100, 100);
    put_s(c, "a", v40);
    put_s(c, "b", v40);
    ASSERT_EQ_U(qcache_bytes(c), 82);
    put_s(c, "c", v40); /* 123 > 100: evicts a */
    ASSERT_EQ_U(qcache_bytes(c), 82);
    ASSERT_EQ_U(qcache_entries(c), 2);
    ASSERT(!get_s(c, "a", v40));
    ASSERT(get_s(c, "b", v40)); /* b is MRU now: order b c */
    put_s(c, "big", v100);      /* 103 bytes alone: never cached, nothing evicted */
    ASSERT(!get_s(c, "big", v100));
    ASSERT_EQ_U(qcache_entries(c), 2);
    ASSERT_EQ_U(qcache_bytes(c), 82);
    put_s(c, "d", v40); /* evicts c (LRU), not b */
    ASSERT(!get_s(c, "c", v40));
    ASSERT(get_s(c, "b", v40));
    ASSERT(get_s(c, "d", v40));
    put_s(c, "e", v99); /* exactly 100 bytes: evicts everything else */
    ASSERT_EQ_U(qcache_bytes(c), 100);
    ASSERT_EQ_U(qcache_entries(c), 1);
    ASSERT(get_s(c, "e", v99));
    put_s(c, "f", ""); /* 101 > 100: the bound is exact, e goes */
    ASSERT_EQ_U(qcache_entries(c), 1);
    ASSERT_EQ_U(qcache_bytes(c), 1);
    ASSERT(!get_s(c, "e", v99));
    ASSERT(get_s(c, "f", ""));
    put_s(c, "f", "short"); /* replacing changes the byte count */
    ASSERT_EQ_U(qcache_bytes(c), 6);
    qcache_destroy(c);
}

static void test_drop_prefix(void)
{
    vs_qcache_t *c = qcache_create(8, 1 << 20);
    put_s(c, "ns1/q1", "a");
    put_s(c, "ns1/q2", "b");
    put_s(c, "ns10/q1", "c");
    put_s(c, "ns1", "d");
    put_s(c, "ns2/q1", "e");
    qcache_drop_prefix(c, "ns1/", 4);
    ASSERT_EQ_U(qcache_entries(c), 3);
    ASSERT_EQ_U(qcache_bytes(c), 8 + 4 + 7);
    ASSERT(!get_s(c, "ns1/q1", "a"));
    ASSERT(!get_s(c, "ns1/q2", "b"));
    ASSERT(get_s(c, "ns10/q1", "c"));
    ASSERT(get_s(c, "ns1", "d"));
    ASSERT(get_s(c, "ns2/q1", "e"));
    /* the LRU list stays intact after removals from its middle */
    put_s(c, "x1", "1");
    put_s(c, "x2", "2");
    put_s(c, "x3", "3");
    put_s(c, "x4", "4");
    put_s(c, "x5", "5");
    put_s(c, "x6", "6"); /* 9 entries for 8 slots: evicts the LRU, ns10/q1 */
    ASSERT(!get_s(c, "ns10/q1", "c"));
    ASSERT_EQ_U(qcache_entries(c), 8);
    qcache_drop_prefix(c, "", 0); /* the empty prefix drops everything */
    ASSERT_EQ_U(qcache_entries(c), 0);
    ASSERT_EQ_U(qcache_bytes(c), 0);
    put_s(c, "again", "ok");
    ASSERT(get_s(c, "again", "ok"));
    qcache_destroy(c);

    /* across 16 shards */
    c = qcache_create(100000, 64 << 20);
    ASSERT_EQ_U(qcache_shards(c), QCACHE_MAX_SHARDS);
    char k[64], v[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "%s/q%d", i % 2 ? "odd" : "even", i);
        snprintf(v, sizeof v, "v%d", i);
        put_s(c, k, v);
    }
    ASSERT_EQ_U(qcache_entries(c), 2000);
    qcache_drop_prefix(c, "odd/", 4);
    ASSERT_EQ_U(qcache_entries(c), 1000);
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "%s/q%d", i % 2 ? "odd" : "even", i);
        snprintf(v, sizeof v, "v%d", i);
        ASSERT(get_s(c, k, v) == (i % 2 == 0));
    }
    qcache_destroy(c);
}

static void test_disabled(void)
{
    vs_qcache_t *c = qcache_create(0, 1 << 20);
    ASSERT(c != NULL);
    ASSERT_EQ_U(qcache_shards(c), 0);
    put_s(c, "k", "v");
    ASSERT(!get_s(c, "k", "v"));
    ASSERT_EQ_U(qcache_entries(c), 0);
    qcache_drop_prefix(c, "k", 1);
    qcache_destroy(c);
    c = qcache_create(10, 0);
    put_s(c, "k", "v");
    ASSERT(!get_s(c, "k", "v"));
    qcache_destroy(c);
    /* NULL is a disabled cache too */
    put_s(NULL, "k", "v");
    ASSERT(!get_s(NULL, "k", "v"));
    ASSERT_EQ_U(qcache_entries(NULL), 0);
    ASSERT_EQ_U(qcache_bytes(NULL), 0);
    qcache_drop_prefix(NULL, "k", 1);
    qcache_destroy(NULL);
}

static void test_shards_and_growth(void)
{
    /* shard counts: small caches are one exact LRU; the byte budget limits the split */
    vs_qcache_t *c = qcache_create(127, 1 << 30);
    ASSERT_EQ_U(qcache_shards(c), 1);
    qcache_destroy(c);
    c = qcache_create(1000, 1 << 30);
    ASSERT_EQ_U(qcache_shards(c), 8);
    qcache_destroy(c);
    c = qcache_create(100000, 4 * 65536);
    ASSERT_EQ_U(qcache_shards(c), 4);
    qcache_destroy(c);

    /* 5000 keys into a 10000-entry cache: every shard stays under its 625 bound, so all of them
     * survive the bucket arrays' growth and rehashing */
    c = qcache_create(10000, 64 << 20);
    char k[32], v[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        snprintf(v, sizeof v, "val-%d", i * 7);
        put_s(c, k, v);
    }
    ASSERT_EQ_U(qcache_entries(c), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        snprintf(v, sizeof v, "val-%d", i * 7);
        ASSERT(get_s(c, k, v));
    }
    /* overfill: the totals stay within the bounds */
    for (int i = 5000; i < 40000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        snprintf(v, sizeof v, "val-%d", i * 7);
        put_s(c, k, v);
    }
    ASSERT(qcache_entries(c) <= 10000);
    ASSERT(qcache_entries(c) >= 9000);
    qcache_destroy(c);

    c = qcache_create(100000, 16 * 65536); /* 16 shards of 64 KiB */
    char big[1000];
    memset(big, 'b', sizeof big - 1), big[sizeof big - 1] = '\0';
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        put_s(c, k, big);
    }
    ASSERT(qcache_bytes(c) <= 16 * 65536);
    ASSERT(qcache_bytes(c) >= 15 * 65536);
    qcache_destroy(c);
}

static void test_oom(void)
{
    /* fail every allocation from the k-th on: no crash, no leak (ASan), state stays usable */
    for (long k = 0; k < 30; k++) {
        vs_alloc_fail_after(k);
        vs_qcache_t *c = qcache_create(1000, 1 << 20);
        if (c != NULL) {
            char key[16];
            for (int i = 0; i < 40; i++) {
                snprintf(key, sizeof key, "k%d", i);
                put_s(c, key, "value");
            }
            for (int i = 0; i < 40; i++) {
                snprintf(key, sizeof key, "k%d", i);
                get_s(c, key, "value");
            }
            vs_alloc_fail_after(-1);
            size_t before = qcache_entries(c);
            ASSERT(before <= 40);
            put_s(c, "fresh", "v");
            ASSERT(get_s(c, "fresh", "v"));
            ASSERT_EQ_U(qcache_entries(c), before + 1);
            qcache_destroy(c);
        }
        vs_alloc_fail_after(-1);
    }
}

/* ---- concurrency ---- */

#define N_THREADS 8
#define N_OPS     200000
#define N_KEYS    4096

static vs_qcache_t *g_c;
static unsigned g_seed;

typedef struct worker {
    int id;
    uint64_t hits, misses;
} worker;

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* key i: "p<i%8>/k<i>"; its value: a pure function of i, 1..300 bytes long */
static size_t make_key(char *buf, unsigned i)
{
    return (size_t)sprintf(buf, "p%u/k%u", i % 8, i);
}
static size_t make_val(unsigned char *buf, unsigned i)
{
    size_t n = 1 + (i * 2654435761u) % 300;
    for (size_t j = 0; j < n; j++) buf[j] = (unsigned char)(i * 31 + j * 7);
    return n;
}

static void *work(void *arg)
{
    worker *w = arg;
    uint32_t s = g_seed * 2654435761u + (uint32_t)w->id * 40503u + 1;
    char key[32];
    unsigned char want[300];
    for (int op = 0; op < N_OPS; op++) {
        uint32_t r = xorshift(&s);
        unsigned i = r % N_KEYS;
        size_t kl = make_key(key, i);
        unsigned what = (r >> 12) % 1000;
        if (what < 600) { /* 60% get, 39.9% put, 0.1% drop_prefix */
            void *v;
            size_t n;
            if (qcache_get(g_c, key, kl, &v, &n)) {
                size_t wn = make_val(want, i);
                if (n != wn || memcmp(v, want, n) != 0) {
                    fprintf(stderr, "FAIL: thread %d key %u: wrong value (len %zu vs %zu)\n", w->id,
                            i, n, wn);
                    exit(1);
                }
                vs_free(v);
                w->hits++;
            } else {
                w->misses++;
            }
        } else if (what < 999) {
            size_t vn = make_val(want, i);
            qcache_put(g_c, key, kl, want, vn);
        } else {
            char p[8];
            size_t pl = (size_t)sprintf(p, "p%u/", i % 8);
            qcache_drop_prefix(g_c, p, pl);
        }
    }
    return NULL;
}

static void test_concurrent(void)
{
    const char *env = getenv("QCACHE_SEED");
    g_seed = env ? (unsigned)strtoul(env, NULL, 10) : 20240611u;
    printf("test_concurrent: seed %u (QCACHE_SEED=%u to rerun)\n", g_seed, g_seed);
    g_c = qcache_create(2048, 128 << 10); /* small: constant eviction; 2 shards */
    ASSERT(qcache_shards(g_c) == 2);
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        w[t] = (worker){t, 0, 0};
        ASSERT(pthread_create(&th[t], NULL, work, &w[t]) == 0);
    }
    uint64_t hits = 0, misses = 0;
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        hits += w[t].hits;
        misses += w[t].misses;
    }
    printf("test_concurrent: %llu hits, %llu misses, %zu entries, %zu bytes at the end\n",
           (unsigned long long)hits, (unsigned long long)misses, qcache_entries(g_c),
           qcache_bytes(g_c));
    ASSERT(hits > 0);
    ASSERT(qcache_entries(g_c) <= 2048);
    ASSERT(qcache_bytes(g_c) <= 128 << 10);
    /* after the storm: what is still there is exact, and the byte count matches the contents */
    size_t bytes = 0, n = 0;
    char key[32];
    unsigned char want[300];
    for (unsigned i = 0; i < N_KEYS; i++) {
        size_t kl = make_key(key, i);
        void *v;
        size_t vn;
        if (qcache_get(g_c, key, kl, &v, &vn)) {
            size_t wn = make_val(want, i);
            ASSERT(vn == wn && memcmp(v, want, vn) == 0);
            vs_free(v);
            bytes += kl + vn;
            n++;
        }
    }
    ASSERT_EQ_U(n, qcache_entries(g_c));
    ASSERT_EQ_U(bytes, qcache_bytes(g_c));
    qcache_destroy(g_c);
}

int main(void)
{
    test_lru_order();
    test_byte_bound();
    test_drop_prefix();
    test_disabled();
    test_shards_and_growth();
    test_oom();
    test_concurrent();
    printf("test_qcache: %d checks passed\n", g_checks);
    return 0;
}
