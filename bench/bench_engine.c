/*
 * bench_engine.c - recall / queries-per-second / build time / memory of our HNSW against hnswlib
 * on one fvecs dataset (shared/data/make-datasets layout: base.fvecs, query.fvecs,
 * groundtruth.ivecs).
 *
 * How: load the data (and, when only the first N base vectors are used, compute the exact top-10
 * of the queries over those N by brute force), build ours, then hnswlib's, reading resident
 * memory (/proc/self/statm) before and after each build, so each growth is that index alone
 * (its copy of the vectors + links + bookkeeping). Both build with the same M, ef_construction
 * and number of threads (each thread takes the next vector from a shared counter, as hnswlib's
 * ParallelFor does). Queries run single-threaded: for each ef, REPS rounds, each round all
 * queries on ours then all on hnswlib (interleaved, so a load change on the shared machine hits
 * both alike); the best round's queries/s is kept. recall@10 = |result ∩ true top-10| / 10,
 * averaged over the queries.
 *
 * Usage: bench_engine [-n N_BASE] [-q N_QUERY] [-m M] [-c EF_CONSTRUCTION] [-t THREADS]
 *                     [-e ef,ef,...] DATASET_DIR
 * A benchmark is not a test: nothing here fails on timings.
 */
#include "core/hnsw.h"
#include "core/vectors.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *hl_create(int dim, size_t max, int m, int efc, uint64_t seed);
void hl_add(void *h, const float *v, size_t label);
void hl_set_ef(void *h, size_t ef);
int hl_search(void *h, const float *q, int k, uint32_t *out);
void hl_destroy(void *h);

#define K      10
#define MAX_EF 32

typedef struct result {
    double build_s;
    double rss_bytes;
    int n_ef;
    double recall[MAX_EF], qps[MAX_EF], visited[MAX_EF];
} result;

static int n_base, n_query, dim, m = 16, efc = 200, threads = 2;
static int efs[MAX_EF] = {10, 16, 24, 32, 48, 64, 96, 128, 200}, n_efs = 9;
static float *base, *queries;
static uint32_t *gt; /* n_query x K */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double rss_bytes(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    if (f) fclose(f);
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

/* Reads up to `limit` vectors (0 = all) of an fvecs/ivecs file. */
static void *read_vecs(const char *path, int limit, int *n_out, int *d_out)
{
    FILE *f = fopen(path, "rb");
    int d;
    if (!f || fread(&d, 4, 1, f) != 1) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f) / ((d + 1) * 4L);
    fseek(f, 0, SEEK_SET);
    if (limit > 0 && n > limit) n = limit;
    float *v = malloc((size_t)n * d * 4);
    for (long i = 0; i < n; i++) {
        int dd;
        if (fread(&dd, 4, 1, f) != 1 || dd != d || fread(v + (size_t)i * d, 4, d, f) != (size_t)d) {
            fprintf(stderr, "short read in %s\n", path);
            exit(2);
        }
    }
    fclose(f);
    *n_out = (int)n;
    *d_out = d;
    return v;
}

/* Exact top-K of queries [lo, hi) over the loaded base. */
typedef struct gt_job {
    int lo, hi;
} gt_job;

static void *gt_worker(void *arg)
{
    gt_job *j = arg;
    for (int q = j->lo; q < j->hi; q++) {
        float bd[K];
        uint32_t bi[K];
        int nb = 0;
        const float *qv = queries + (size_t)q * dim;
        for (int i = 0; i < n_base; i++) {
            float d = vs_l2sq(qv, base + (size_t)i * dim, dim);
            if (nb == K && d >= bd[K - 1]) continue;
            int p = nb < K ? nb++ : K - 1;
            while (p > 0 && bd[p - 1] > d) {
                bd[p] = bd[p - 1], bi[p] = bi[p - 1];
                p--;
            }
            bd[p] = d, bi[p] = (uint32_t)i;
        }
        memcpy(gt + (size_t)q * K, bi, sizeof bi);
    }
    return NULL;
}

static void exact_gt(void)
{
    pthread_t t[2];
    gt_job j[2] = {{0, n_query / 2}, {n_query / 2, n_query}};
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, gt_worker, &j[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
}

static double recall_of(int q, const uint32_t *ids, int n)
{
    int hit = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < K; j++)
            if (ids[i] == gt[(size_t)q * K + j]) {
                hit++;
                break;
            }
    return hit / (double)K;
}

/* ---- the two engines behind one shape ---- */

typedef struct engine {
    const char *name;
    void *state;
    void (*build)(struct engine *e);
    void (*set_ef)(struct engine *e, int ef);
    int (*search)(struct engine *e, const float *q, uint32_t *out);
    int ef;
    atomic_int next;
    double visited; /* distance computations summed over the queries (ours only) */
} engine;

typedef struct ours_state {
    vs_vectors_t *vecs;
    hnsw_graph_t *g;
} ours_state;

static void *ours_insert_worker(void *arg)
{
    engine *e = arg;
    ours_state *s = e->state;
    for (;;) {
        int i = atomic_fetch_add(&e->next, 1);
        if (i >= n_base) break;
        vs_status st;
        if (hnsw_insert(s->g, (uint32_t)i, &st) != VS_OK) {
            fprintf(stderr, "insert %d: %s\n", i, st.msg);
            exit(3);
        }
    }
    return NULL;
}

static void ours_build(engine *e)
{
    ours_state *s = calloc(1, sizeof *s);
    e->state = s;
    s->vecs = vecs_create((uint32_t)dim);
    for (int i = 0; i < n_base; i++) vecs_set(s->vecs, (uint32_t)i, base + (size_t)i * dim, NULL);
    hnsw_params p = {(uint32_t)m, (uint32_t)efc, 10, 100};
    s->g = hnsw_create(&p, s->vecs, VS_METRIC_L2);
    pthread_t t[64];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, ours_insert_worker, e);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
}

static void ours_set_ef(engine *e, int ef)
{
    e->ef = ef;
}

static int ours_search(engine *e, const float *q, uint32_t *out)
{
    ours_state *s = e->state;
    hnsw_hit h[K];
    hnsw_search_stats stats;
    uint32_t n = hnsw_search(s->g, q, K, (uint32_t)e->ef, NULL, NULL, h, &stats);
    e->visited += stats.visited;
    for (uint32_t i = 0; i < n; i++) out[i] = h[i].slot;
    return (int)n;
}

static void *hl_insert_worker(void *arg)
{
    engine *e = arg;
    for (;;) {
        int i = atomic_fetch_add(&e->next, 1);
        if (i >= n_base) break;
        hl_add(e->state, base + (size_t)i * dim, (size_t)i);
    }
    return NULL;
}

static void hl_build(engine *e)
{
    e->state = hl_create(dim, (size_t)n_base, m, efc, 100);
    pthread_t t[64];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, hl_insert_worker, e);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
}

static void hl_set(engine *e, int ef)
{
    hl_set_ef(e->state, (size_t)ef);
}
static int hl_query(engine *e, const float *q, uint32_t *out)
{
    return hl_search(e->state, q, K, out);
}

static void build_engine(engine *e, result *r)
{
    double rss0 = rss_bytes(), t0 = now();
    atomic_init(&e->next, 0);
    e->build(e);
    r->build_s = now() - t0;
    r->rss_bytes = rss_bytes() - rss0;
    r->n_ef = n_efs;
}

/* One pass of every query at efs[x]; keeps the best queries/s seen over the repetitions. */
static void query_pass(engine *e, result *r, int x)
{
    uint32_t out[K];
    e->set_ef(e, efs[x]);
    double rec = 0, t1 = now();
    e->visited = 0;
    for (int q = 0; q < n_query; q++) {
        int n = e->search(e, queries + (size_t)q * dim, out);
        rec += recall_of(q, out, n);
    }
    double qps = n_query / (now() - t1);
    r->recall[x] = rec / n_query;
    if (qps > r->qps[x]) r->qps[x] = qps;
    r->visited[x] = e->visited / n_query;
}

int main(int argc, char **argv)
{
    int limit_base = 0, limit_query = 0, reps = 3, opt;
    while ((opt = getopt(argc, argv, "n:q:m:c:t:e:r:")) != -1) {
        switch (opt) {
        case 'n':
            limit_base = atoi(optarg);
            break;
        case 'q':
            limit_query = atoi(optarg);
            break;
        case 'm':
            m = atoi(optarg);
            break;
        case 'c':
            efc = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'r':
            reps = atoi(optarg);
            break;
        case 'e': {
            n_efs = 0;
            for (char *s = strtok(optarg, ","); s && n_efs < MAX_EF; s = strtok(NULL, ","))
                efs[n_efs++] = atoi(s);
            break;
        }
        default:
            fprintf(stderr,
                    "usage: %s [-n N] [-q N] [-m M] [-c EFC] [-t T] [-e efs] [-r REPS] DIR\n",
                    argv[0]);
            return 2;
        }
    }
    if (optind >= argc || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: %s [-n N] [-q N] [-m M] [-c EFC] [-t T] [-e efs] [-r REPS] DIR\n",
                argv[0]);
        return 2;
    }
    const char *dir = argv[optind];
    char path[4096];
    int d2, n_full;
    snprintf(path, sizeof path, "%s/base.fvecs", dir);
    {
        FILE *f = fopen(path, "rb");
        int d;
        if (!f || fread(&d, 4, 1, f) != 1) {
            fprintf(stderr, "cannot read %s\n", path);
            return 2;
        }
        fseek(f, 0, SEEK_END);
        n_full = (int)(ftell(f) / ((d + 1) * 4L));
        fclose(f);
    }
    base = read_vecs(path, limit_base, &n_base, &dim);
    snprintf(path, sizeof path, "%s/query.fvecs", dir);
    queries = read_vecs(path, limit_query, &n_query, &d2);
    if (d2 != dim) return fprintf(stderr, "query dim %d != base dim %d\n", d2, dim), 2;
    gt = malloc((size_t)n_query * K * sizeof *gt);
    double tg = now();
    if (n_base == n_full) {
        int ng, kg;
        snprintf(path, sizeof path, "%s/groundtruth.ivecs", dir);
        uint32_t *all = read_vecs(path, n_query, &ng, &kg);
        for (int q = 0; q < n_query; q++) memcpy(gt + (size_t)q * K, all + (size_t)q * kg, K * 4);
        free(all);
        printf("ground truth: %s/groundtruth.ivecs\n", dir);
    } else {
        exact_gt();
        printf("ground truth: exact brute force over the first %d base vectors (%.1f s)\n", n_base,
               now() - tg);
    }
    printf("dataset %s: %d base (of %d), %d queries, dim %d, l2; M=%d ef_construction=%d, "
           "build threads=%d, distance isa=%s\n",
           dir, n_base, n_full, n_query, dim, m, efc, threads, vs_distance_isa());
    fflush(stdout);

    engine ours = {"vecstore", NULL, ours_build, ours_set_ef, ours_search, 0, 0, 0};
    engine hl = {"hnswlib", NULL, hl_build, hl_set, hl_query, 0, 0, 0};
    result ro, rh;
    memset(&ro, 0, sizeof ro);
    memset(&rh, 0, sizeof rh);
    build_engine(&ours, &ro);
    build_engine(&hl, &rh);
    for (int x = 0; x < n_efs; x++)
        for (int rep = 0; rep < reps; rep++) {
            query_pass(&ours, &ro, x);
            query_pass(&hl, &rh, x);
        }

    printf("\nbuild time: vecstore %.1f s, hnswlib %.1f s, ratio %.3f (target <= 1.25)\n",
           ro.build_s, rh.build_s, ro.build_s / rh.build_s);
    printf(
        "resident memory per vector: vecstore %.1f B, hnswlib %.1f B, ratio %.3f (target <= 1.2)\n",
        ro.rss_bytes / n_base, rh.rss_bytes / n_base, ro.rss_bytes / rh.rss_bytes);
    printf("\n%9s | %12s %12s | %12s %12s | %9s | %12s\n", "ef_search", "recall ours",
           "recall hnsw", "qps ours", "qps hnswlib", "qps ratio", "dists/query");
    for (int x = 0; x < n_efs; x++)
        printf("%9d | %12.4f %12.4f | %12.0f %12.0f | %9.3f | %12.0f\n", efs[x], ro.recall[x],
               rh.recall[x], ro.qps[x], rh.qps[x], ro.qps[x] / rh.qps[x], ro.visited[x]);
    return 0;
}
