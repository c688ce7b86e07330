/*
 * distance.c - scalar reference kernels and the run-time dispatch table.
 *
 * How: a table {name, dot, l2sq} is filled exactly once (pthread_once, triggered by a constructor
 * so it is ready before main) with the best ISA the CPU reports through __builtin_cpu_supports:
 * AVX-512F+DQ first, then AVX2+FMA, else the scalar loops here. The public vs_dot/vs_l2sq call
 * through the table; the graph fetches the function pointers once (vs_dot_kernel()).
 *
 * Invariants:
 *   1. The table is written once, before any reader can see it (pthread_once publishes it).
 *   2. Every kernel computes the same sum as the scalar reference up to float rounding order.
 *
 * Concurrency: read-only after initialisation. Callers: everything that measures vectors.
 */
#include "core/distance.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

typedef struct dist_table {
    const char *isa;
    vs_dist_fn dot;
    vs_dist_fn l2sq;
} dist_table;

static dist_table table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

float vs_dot_scalar(const float *a, const float *b, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

float vs_l2sq_scalar(const float *a, const float *b, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

int vs_distance_cpu_has(const char *isa)
{
    __builtin_cpu_init();
    if (strcmp(isa, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return strcmp(isa, "scalar") == 0;
}

static void pick(void)
{
    if (vs_distance_cpu_has("avx512"))
        table = (dist_table){"avx512", vs_dot_avx512, vs_l2sq_avx512};
    else if (vs_distance_cpu_has("avx2"))
        table = (dist_table){"avx2", vs_dot_avx2, vs_l2sq_avx2};
    else
        table = (dist_table){"scalar", vs_dot_scalar, vs_l2sq_scalar};
}

__attribute__((constructor)) static void dist_init(void)
{
    pthread_once(&table_once, pick);
}

static inline const dist_table *tab(void)
{
    pthread_once(&table_once, pick);
    return &table;
}

float vs_dot(const float *a, const float *b, size_t n)
{
    return table.dot(a, b, n);
}
float vs_l2sq(const float *a, const float *b, size_t n)
{
    return table.l2sq(a, b, n);
}
float vs_norm(const float *a, size_t n)
{
    return sqrtf(table.dot(a, a, n));
}
const char *vs_distance_isa(void)
{
    return tab()->isa;
}
vs_dist_fn vs_dot_kernel(void)
{
    return tab()->dot;
}
vs_dist_fn vs_l2sq_kernel(void)
{
    return tab()->l2sq;
}
