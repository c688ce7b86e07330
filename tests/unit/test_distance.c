/*
 * test_distance.c - unit tests of src/core/distance*.c: every kernel the CPU can run (scalar,
 * AVX2, AVX-512, and the dispatched vs_dot/vs_l2sq/vs_norm) against the scalar reference at dims
 * 0,1,3,15,16,17,100,128,384,768,1536 and at unaligned offsets 0..3 floats, with a relative
 * tolerance scaled by the sum of absolute terms (so cancellation cannot hide or fake an error);
 * the dispatch choice against the CPU's features. Random data from a printed fixed seed.
 */
#include "core/distance.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_test.h"

#define CHECK(c) VS_REQUIRE(c)

static uint64_t rng = 0x5eed1234abcdULL;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

typedef struct kernel {
    const char *name;
    vs_dist_fn dot, l2sq;
} kernel;

static void check_close(const char *what, const char *kname, size_t n, size_t off, double got,
                        double want, double scale)
{
    g_checks++;
    double tol = 1e-5 * scale + 1e-6;
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "FAIL: %s %s n=%zu off=%zu: got %.9g want %.9g (tol %.3g)\n", kname, what,
                n, off, got, want, tol);
        exit(1);
    }
}

int main(void)
{
    printf("seed 0x%llx, isa %s\n", (unsigned long long)rng, vs_distance_isa());
    const char *isa = vs_distance_isa();
    CHECK(strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0 || strcmp(isa, "scalar") == 0);
    if (vs_distance_cpu_has("avx512"))
        CHECK(strcmp(isa, "avx512") == 0);
    else if (vs_distance_cpu_has("avx2"))
        CHECK(strcmp(isa, "avx2") == 0);
    else
        CHECK(strcmp(isa, "scalar") == 0);
    CHECK(vs_distance_cpu_has("scalar"));
    CHECK(!vs_distance_cpu_has("neon"));

    kernel ks[4];
    int nk = 0;
    ks[nk++] = (kernel){"dispatch", vs_dot, vs_l2sq};
    ks[nk++] = (kernel){"selected", vs_dot_kernel(), vs_l2sq_kernel()};
    if (vs_distance_cpu_has("avx2"))
        ks[nk++] = (kernel){"avx2", vs_dot_avx2, vs_l2sq_avx2};
    else
        printf("SKIP avx2 kernels: CPU lacks AVX2+FMA\n");
    if (vs_distance_cpu_has("avx512"))
        ks[nk++] = (kernel){"avx512", vs_dot_avx512, vs_l2sq_avx512};
    else
        printf("SKIP avx512 kernels: CPU lacks AVX-512\n");

    static const size_t dims[] = {0, 1, 3, 15, 16, 17, 31, 32, 33, 100, 128, 384, 768, 1536};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t n = dims[di];
        for (size_t off = 0; off < 4; off++) {
            /* exact-size heap blocks so ASan flags any read past the end */
            float *a = malloc((n + off) * sizeof(float) + 1),
                  *b = malloc((n + off) * sizeof(float) + 1);
            float *pa = a + off, *pb = b + off;
            for (size_t i = 0; i < n; i++) pa[i] = frand() * 10.0f, pb[i] = frand() * 10.0f;
            double dot = 0, l2 = 0, sdot = 0, sl2 = 0;
            for (size_t i = 0; i < n; i++) {
                double d = (double)pa[i] - pb[i];
                dot += (double)pa[i] * pb[i], sdot += fabs((double)pa[i] * pb[i]);
                l2 += d * d, sl2 += d * d;
            }
            check_close("dot_scalar", "scalar", n, off, vs_dot_scalar(pa, pb, n), dot, sdot);
            check_close("l2sq_scalar", "scalar", n, off, vs_l2sq_scalar(pa, pb, n), l2, sl2);
            for (int k = 0; k < nk; k++) {
                check_close("dot", ks[k].name, n, off, ks[k].dot(pa, pb, n), dot, sdot);
                check_close("l2sq", ks[k].name, n, off, ks[k].l2sq(pa, pb, n), l2, sl2);
                /* self distance is exactly zero, self dot is |a|^2 */
                CHECK(ks[k].l2sq(pa, pa, n) == 0.0f);
            }
            double nn = 0;
            for (size_t i = 0; i < n; i++) nn += (double)pa[i] * pa[i];
            check_close("norm", "dispatch", n, off, vs_norm(pa, n), sqrt(nn), sqrt(nn));
            free(a), free(b);
        }
    }
    /* Known values. */
    float x[3] = {1, 2, 3}, y[3] = {4, -5, 6};
    CHECK(vs_dot(x, y, 3) == 12.0f);
    CHECK(vs_l2sq(x, y, 3) == 9.0f + 49.0f + 9.0f);
    CHECK(vs_norm(y, 0) == 0.0f);
    printf("test_distance: %ld checks passed\n", (long)g_checks);
    return 0;
}
