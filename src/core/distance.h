/*
 * distance.h - vector distance kernels: dot product, squared L2, norm, with one implementation per
 * instruction set (scalar, AVX2, AVX-512) behind one dispatch table chosen once at start-up.
 *
 * Callers: hnsw/ (graph distances), store.c (exact search), service/ (query normalisation).
 * All functions are pure and thread-safe; inputs need no alignment and any length n >= 0.
 * Cosine has no kernel of its own: it is dot(a, b) / (|a| |b|) built from these (hnsw.h,
 * vectors.h keep the inverse norms).
 */
#ifndef VS_CORE_DISTANCE_H
#define VS_CORE_DISTANCE_H

#include <stddef.h>

typedef enum { VS_METRIC_COSINE = 0, VS_METRIC_L2 = 1, VS_METRIC_DOT = 2 } vs_metric;

float vs_dot(const float *a, const float *b, size_t n);
float vs_l2sq(const float *a, const float *b, size_t n); /* squared Euclidean */
float vs_norm(const float *a, size_t n);                 /* sqrt(dot(a,a)) */
/* "avx512", "avx2" or "scalar": chosen once at run time with __builtin_cpu_supports. */
const char *vs_distance_isa(void);

/* Scalar references, for tests. */
float vs_dot_scalar(const float *a, const float *b, size_t n);
float vs_l2sq_scalar(const float *a, const float *b, size_t n);

/* The selected kernels themselves, so hot loops (the graph) call them without a second hop. */
typedef float (*vs_dist_fn)(const float *a, const float *b, size_t n);
vs_dist_fn vs_dot_kernel(void);
vs_dist_fn vs_l2sq_kernel(void);

/* Per-ISA kernels (distance_avx2.c, distance_avx512.c). Call only when the CPU supports them;
 * exported so the distance test can check each one against the scalar reference. */
float vs_dot_avx2(const float *a, const float *b, size_t n);
float vs_l2sq_avx2(const float *a, const float *b, size_t n);
float vs_dot_avx512(const float *a, const float *b, size_t n);
float vs_l2sq_avx512(const float *a, const float *b, size_t n);
/* true when the running CPU can execute the named ISA ("avx2", "avx512", "scalar"). */
int vs_distance_cpu_has(const char *isa);

#endif
