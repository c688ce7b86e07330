/*
 * test_vectors.c - unit tests of src/core/vectors.c: the chunk geometry (every slot maps to one
 * (chunk, offset), densely), an empty arena under 1 KiB, dimension 0 and NULL rejected, sparse
 * and overwritten slots, inverse norms (0 for a zero vector), pointer stability across growth,
 * and two lock-free readers checking every published slot while one writer appends.
 */
#include "core/vectors.h"

#include "util/alloc.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_test.h"

#define CHECK(c) VS_REQUIRE(c)
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        g_checks++;                                                                                \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: FAIL: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b,  \
                    a_, b_);                                                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define DIM 24

static void fill(float *v, uint32_t slot)
{
    for (int i = 0; i < DIM; i++) v[i] = (float)(slot * 31u + (uint32_t)i) * 0.5f + 1.0f;
}

static void test_geometry(void)
{
    uint32_t prev_c = 0, prev_off = 0;
    for (uint32_t s = 0; s < 50000; s++) {
        uint32_t c, off;
        vs_chunk_locate(s, &c, &off);
        CHECK(off < vs_chunk_slots(c));
        if (s > 0) {
            if (c == prev_c)
                CHECK_EQ(off, prev_off + 1);
            else {
                CHECK_EQ(c, prev_c + 1);
                CHECK_EQ(off, 0);
                CHECK_EQ(prev_off + 1, vs_chunk_slots(prev_c));
            }
        }
        prev_c = c, prev_off = off;
    }
    uint32_t c, off;
    vs_chunk_locate(UINT32_MAX - 1, &c, &off);
    CHECK(off < vs_chunk_slots(c));
}

static void test_basic(void)
{
    vs_status st;
    CHECK(vecs_create(0) == NULL);
    vs_vectors_t *v = vecs_create(DIM);
    CHECK(v != NULL);
    CHECK(vecs_memory_bytes(v) < 1024);
    CHECK_EQ(vecs_dim(v), DIM);
    CHECK_EQ(vecs_slot_bound(v), 0);
    CHECK(vecs_get(v, 0) == NULL);
    CHECK(vecs_get(v, 123456) == NULL);
    CHECK(vecs_inv_norm(v, 7) == 0.0f);
    CHECK_EQ(vecs_set(v, 0, NULL, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_EQ(vecs_set(NULL, 0, (float[DIM]){0}, &st), VS_ERR_INVALID_ARGUMENT);

    float buf[DIM];
    static const uint32_t slots[] = {0, 5, 17, 4095, 4096, 5000, 100000};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        fill(buf, slots[i]);
        CHECK_EQ(vecs_set(v, slots[i], buf, &st), VS_OK);
    }
    CHECK_EQ(vecs_slot_bound(v), 100001);
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        fill(buf, slots[i]);
        const float *g = vecs_get(v, slots[i]);
        CHECK(g != NULL);
        CHECK(memcmp(g, buf, sizeof buf) == 0);
        double n = 0;
        for (int j = 0; j < DIM; j++) n += (double)buf[j] * buf[j];
        CHECK(fabs(vecs_inv_norm(v, slots[i]) * sqrt(n) - 1.0) < 1e-5);
        CHECK(vecs_at(v, slots[i]) == g);
        CHECK(vecs_inv_norm_at(v, slots[i]) == vecs_inv_norm(v, slots[i]));
    }
    CHECK(vecs_get(v, 1) == NULL);
    CHECK(vecs_get(v, 4097) == NULL);
    CHECK(vecs_get(v, 99999) == NULL);
    /* zero vector */
    memset(buf, 0, sizeof buf);
    CHECK_EQ(vecs_set(v, 3, buf, &st), VS_OK);
    CHECK(vecs_get(v, 3) != NULL);
    CHECK(vecs_inv_norm(v, 3) == 0.0f);
    /* overwrite in place */
    const float *p5 = vecs_get(v, 5);
    fill(buf, 77);
    CHECK_EQ(vecs_set(v, 5, buf, &st), VS_OK);
    CHECK(vecs_get(v, 5) == p5);
    CHECK(memcmp(p5, buf, sizeof buf) == 0);
    /* growth never moves a vector */
    const float *p0 = vecs_get(v, 0);
    size_t before = vecs_memory_bytes(v);
    for (uint32_t s = 6; s < 30000; s++) {
        fill(buf, s);
        CHECK_EQ(vecs_set(v, s, buf, &st), VS_OK);
    }
    CHECK(vecs_memory_bytes(v) > before);
    CHECK(vecs_memory_bytes(v) >= (size_t)30000 * DIM * sizeof(float));
    CHECK(vecs_get(v, 0) == p0);
    fill(buf, 0);
    CHECK(memcmp(p0, buf, sizeof buf) == 0);
    vecs_destroy(v);
    vecs_destroy(NULL);
    /* out of memory leaves the arena usable */
    v = vecs_create(DIM);
    vs_alloc_fail_after(0);
    fill(buf, 1);
    CHECK_EQ(vecs_set(v, 1, buf, &st), VS_ERR_NOMEM);
    vs_alloc_fail_after(-1);
    CHECK(vecs_get(v, 1) == NULL);
    CHECK_EQ(vecs_set(v, 1, buf, &st), VS_OK);
    CHECK(vecs_get(v, 1) != NULL);
    vecs_destroy(v);
}

#define N_CONC 60000
static vs_vectors_t *cv;
static _Atomic uint32_t published;
static _Atomic int reader_errors;

static void *reader(void *arg)
{
    (void)arg;
    float buf[DIM];
    for (;;) {
        uint32_t n = atomic_load(&published);
        for (uint32_t s = n > 500 ? n - 500 : 0; s < n; s++) {
            const float *g = vecs_get(cv, s);
            fill(buf, s);
            if (!g || memcmp(g, buf, sizeof buf) != 0) atomic_fetch_add(&reader_errors, 1);
        }
        if (n == N_CONC) break;
    }
    return NULL;
}

static void test_concurrent(void)
{
    cv = vecs_create(DIM);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, reader, NULL);
    float buf[DIM];
    for (uint32_t s = 0; s < N_CONC; s++) {
        fill(buf, s);
        CHECK_EQ(vecs_set(cv, s, buf, NULL), VS_OK);
        atomic_store(&published, s + 1);
    }
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK_EQ(atomic_load(&reader_errors), 0);
    vecs_destroy(cv);
}

int main(void)
{
    test_geometry();
    test_basic();
    test_concurrent();
    printf("test_vectors: %ld checks passed\n", (long)g_checks);
    return 0;
}
