/*
 * filter_bench.c - filtered vector search through the real collection (coll_search): recall@10,
 * single-threaded queries/s and the plan the planner picked, per filter selectivity; and the
 * crossover between the two filtered plans (exact scan of the payload-index candidates vs the
 * filtered HNSW walk) that the planner's threshold sqrt(ef * 2M * n) is meant to sit on.
 *
 * How:
 *   1. Load the first N base vectors and the first Q query vectors of a shared dataset
 *      (shared/data/README.md layout). Give record i the metadata
 *        {"u": uniform integer [0, 100000), "k": "v<r>" with r ~ Zipf(s=1) over 1000 values,
 *         "b": bool (p = 0.5)}
 *      drawn from a seeded hash of i (same metadata on every run).
 *   2. Build the HNSW graph (M=16, ef_construction=200, default ef_search) with T threads over a
 *      private arena (hnsw_insert is thread-safe; coll_upsert serialises its writers, so it can
 *      not use two cores), stream it out with hnsw_write (cached in $FILTER_BENCH_CACHE, default
 *      /tmp/filter_bench_cache, keyed by dataset, N, M, ef_construction), then coll_load the
 *      vectors, metadata and graph streams into a fresh collection: the collection searched is
 *      the production one (store, payload index, planner), only its graph was built faster.
 *   3. Ground truth per filter by brute force: every filter is evaluated with flt_eval on every
 *      record (the engine's own semantics), then per query the exact squared-L2 distance to every
 *      base vector (vs_l2sq, T threads) and the k nearest matching records.
 *   4. recall@10 (tie-aware): a returned hit counts when it matches the filter and its exact
 *      distance is <= the true k-th filtered distance (same kernel, same floats, so equal
 *      distances compare equal); divided by min(k, matches). Hits are mapped back to rows by
 *      their id (the decimal row number).
 *   5. queries/s: one thread, all Q queries per filter, R rounds interleaved over the filters (a
 *      load change on the shared machine hits every filter alike), best round kept.
 *   6. Crossover: for candidate-set sizes C (range filter u < X with X set for about C matches)
 *      time (a) the exact plan: `u < X` with the query's ef raised just enough that the planner's
 *      budget sqrt(ef*2M*n) admits C (ef does not change the exact scan), checking the plan is
 *      "exact_filtered"; (b) the filtered HNSW plan: `NOT (u >= X)` (same records: every record
 *      has a numeric u) which the payload index cannot bound, so the planner walks the graph,
 *      at ef = 64 (the default), then doubling until recall@10 >= 0.95 (up to 4096), and at the
 *      ef of the rule proposed for the planner, max(64, k / selectivity) = max(64, k * n / C).
 *      "raw ms" (and "raw q/s" in the main table) is the floor of an exact scan: the distances
 * alone over the same rows (raw_scan), without candidate enumeration, sorting or filter evaluation.
 *
 * Usage: filter_bench [-n N_BASE] [-q N_QUERY] [-t THREADS] [-r ROUNDS] [-X] DATASET_DIR
 *   -X skips the crossover section.
 * A benchmark is not a test: nothing here fails on timings. Exit 0 also when targets are missed
 * (the summary says which).
 */
#include "core/collection.h"
#include "core/distance.h"
#include "core/filter.h"
#include "core/hnsw.h"
#include "core/value.h"
#include "core/vectors.h"
#include "util/alloc.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define K        10
#define M_LINKS  16
#define EFC      200
#define U_RANGE  100000
#define N_KW     1000
#define MAX_FILT 64
#define SEED     0x46494c54ULL

static int n_base, n_query, dim, threads = 2, rounds = 3;
static float *base, *queries;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const vs_status *st)
{
    fprintf(stderr, "filter_bench: %s: %s\n", what, st ? st->msg : strerror(errno));
    exit(2);
}

static float *read_vecs(const char *path, int limit, int *n_out, int *d_out)
{
    FILE *f = fopen(path, "rb");
    int d;
    if (!f || fread(&d, 4, 1, f) != 1) die(path, NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f) / ((d + 1) * 4L);
    fseek(f, 0, SEEK_SET);
    if (limit > 0 && n > limit) n = limit;
    float *v = malloc((size_t)n * d * 4);
    if (!v) die("out of memory", NULL);
    for (long i = 0; i < n; i++) {
        int dd;
        if (fread(&dd, 4, 1, f) != 1 || dd != d || fread(v + (size_t)i * d, 4, d, f) != (size_t)d)
            die(path, NULL);
    }
    fclose(f);
    *n_out = (int)n;
    *d_out = d;
    return v;
}

/* ---- synthetic metadata ---- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint32_t *meta_u;
static uint16_t *meta_k;
static uint8_t *meta_b;
static uint8_t **meta_enc;
static uint32_t *meta_len;

static void make_metadata(void)
{
    double cdf[N_KW], h = 0;
    for (int r = 0; r < N_KW; r++) cdf[r] = (h += 1.0 / (r + 1));
    for (int r = 0; r < N_KW; r++) cdf[r] /= h;
    meta_u = malloc((size_t)n_base * sizeof *meta_u);
    meta_k = malloc((size_t)n_base * sizeof *meta_k);
    meta_b = malloc((size_t)n_base);
    meta_enc = malloc((size_t)n_base * sizeof *meta_enc);
    meta_len = malloc((size_t)n_base * sizeof *meta_len);
    for (int i = 0; i < n_base; i++) {
        uint64_t a = mix64(SEED ^ (uint64_t)i * 3), b = mix64(SEED ^ ((uint64_t)i * 3 + 1));
        meta_u[i] = (uint32_t)(a % U_RANGE);
        double x = (double)(b >> 11) * 0x1.0p-53;
        int lo = 0, hi = N_KW - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (cdf[mid] > x)
                hi = mid;
            else
                lo = mid + 1;
        }
        meta_k[i] = (uint16_t)lo;
        meta_b[i] = (uint8_t)(mix64(SEED ^ ((uint64_t)i * 3 + 2)) & 1);
        vs_vbuilder vb;
        char kw[16];
        int kl = snprintf(kw, sizeof kw, "v%d", lo);
        vs_vb_init(&vb);
        vs_vb_begin_object(&vb);
        vs_vb_key(&vb, "u", 1);
        vs_vb_number(&vb, meta_u[i]);
        vs_vb_key(&vb, "k", 1);
        vs_vb_string(&vb, kw, (size_t)kl);
        vs_vb_key(&vb, "b", 1);
        vs_vb_bool(&vb, meta_b[i]);
        vs_vb_end(&vb);
        size_t len;
        bool deep;
        meta_enc[i] = vs_vb_finish(&vb, &len, &deep);
        vs_vb_free(&vb);
        if (!meta_enc[i]) die("metadata builder failed", NULL);
        meta_len[i] = (uint32_t)len;
    }
}

/* ---- graph build (threads over a private arena) and snapshot streams ---- */

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static vs_err mb_write(void *ctx, const void *p, size_t n, vs_status *st)
{
    membuf *b = ctx;
    (void)st;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 20;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) die("out of memory", NULL);
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return VS_OK;
}

/* A reader over a list of segments (so the 0.5 GB of vectors are read in place). */
typedef struct segreader {
    const uint8_t *seg[4];
    size_t len[4];
    int n_seg, cur;
    size_t off;
} segreader;

static vs_err seg_read(void *ctx, void *p, size_t n, vs_status *st)
{
    segreader *r = ctx;
    uint8_t *o = p;
    while (n) {
        if (r->cur >= r->n_seg) return vs_status_set(st, VS_ERR_CORRUPT, "stream ended early");
        size_t avail = r->len[r->cur] - r->off, t = n < avail ? n : avail;
        memcpy(o, r->seg[r->cur] + r->off, t);
        o += t, n -= t, r->off += t;
        if (r->off == r->len[r->cur]) r->cur++, r->off = 0;
    }
    return VS_OK;
}

typedef struct build_job {
    hnsw_graph_t *g;
    atomic_int *next;
} build_job;

static void *build_worker(void *arg)
{
    build_job *j = arg;
    vs_status st;
    for (;;) {
        int i = atomic_fetch_add(j->next, 1);
        if (i >= n_base) break;
        if (hnsw_insert(j->g, (uint32_t)i, &st) != VS_OK) die("hnsw_insert", &st);
    }
    return NULL;
}

/* The hnsw_write stream of the graph over base (from the cache when there). */
static membuf graph_stream(const char *dsname, double *build_s)
{
    membuf gb = {0};
    const char *dir = getenv("FILTER_BENCH_CACHE");
    if (!dir) dir = "/tmp/filter_bench_cache";
    mkdir(dir, 0755);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-n%d-m%d-c%d.hnsw", dir, dsname, n_base, M_LINKS, EFC);
    FILE *f = fopen(path, "rb");
    *build_s = -1;
    if (f) {
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        gb.p = malloc((size_t)sz);
        gb.n = gb.cap = (size_t)sz;
        if (!gb.p || fread(gb.p, 1, (size_t)sz, f) != (size_t)sz) die(path, NULL);
        fclose(f);
        printf("graph: cached %s (%.1f MB)\n", path, sz / 1e6);
        return gb;
    }
    vs_status st;
    vs_vectors_t *v = vecs_create((uint32_t)dim);
    for (int i = 0; i < n_base; i++)
        if (vecs_set(v, (uint32_t)i, base + (size_t)i * dim, &st) != VS_OK) die("vecs_set", &st);
    hnsw_params p = {M_LINKS, EFC, 0, 0x5eed5eedULL};
    hnsw_graph_t *g = hnsw_create(&p, v, VS_METRIC_L2);
    atomic_int next = 0;
    build_job j = {g, &next};
    pthread_t t[16];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, build_worker, &j);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    *build_s = now() - t0;
    printf("graph: built in %.1f s with %d threads\n", *build_s, threads);
    if (hnsw_write(g, mb_write, &gb, &st) != VS_OK) die("hnsw_write", &st);
    hnsw_destroy(g);
    vecs_destroy(v);
    f = fopen(path, "wb");
    if (f) {
        fwrite(gb.p, 1, gb.n, f);
        fclose(f);
    }
    return gb;
}

static vs_coll_t *load_collection(const membuf *graph)
{
    coll_settings cs = {(uint32_t)dim, VS_METRIC_L2, M_LINKS, EFC, 0};
    vs_coll_t *c = coll_create(&cs);
    if (!c) die("coll_create", NULL);
    /* vectors.bin: u32 dim, u32 metric, u32 n, n states, vectors, then (u32 len, id) per slot */
    uint8_t hdr[12];
    uint32_t h3[3] = {(uint32_t)dim, (uint32_t)VS_METRIC_L2, (uint32_t)n_base};
    memcpy(hdr, h3, 12); /* little endian host (x86) */
    uint8_t *states = malloc((size_t)n_base);
    memset(states, 2 /* REC_LIVE */, (size_t)n_base);
    membuf ids = {0}, meta = {0};
    uint32_t nn = (uint32_t)n_base;
    mb_write(&meta, &nn, 4, NULL);
    for (int i = 0; i < n_base; i++) {
        char id[16];
        uint32_t l = (uint32_t)snprintf(id, sizeof id, "%d", i);
        mb_write(&ids, &l, 4, NULL);
        mb_write(&ids, id, l, NULL);
        mb_write(&meta, &meta_len[i], 4, NULL);
        mb_write(&meta, meta_enc[i], meta_len[i], NULL);
    }
    uint32_t one = 1;
    segreader rv = {{hdr, states, (const uint8_t *)base, ids.p},
                    {12, (size_t)n_base, (size_t)n_base * dim * 4, ids.n},
                    4,
                    0,
                    0};
    segreader rm = {{meta.p}, {meta.n}, 1, 0, 0};
    segreader rg = {{(const uint8_t *)&one, graph->p}, {4, graph->n}, 2, 0, 0};
    vs_status st;
    double t0 = now();
    if (coll_load(c, seg_read, &rv, seg_read, &rm, seg_read, &rg, &st) != VS_OK)
        die("coll_load", &st);
    printf("collection: loaded %d records in %.1f s\n", n_base, now() - t0);
    free(states), free(ids.p), free(meta.p);
    return c;
}

/* ---- filters and ground truth ---- */

typedef struct filt {
    char label[48];
    char *text; /* NULL = no filter */
    flt_expr_t *expr;
    uint8_t *match; /* n_base flags */
    size_t n_match;
    float *gt_kth; /* per query: the true k-th filtered distance (INFINITY if fewer) */
    uint32_t *gt_cnt;
    int ef; /* query ef (0 = default) */
    /* measured */
    double best_qps, recall, visited;
    char plans[96];
} filt;

static filt F[MAX_FILT];
static int n_f;

static filt *add_filter(const char *label, const char *text, int ef)
{
    if (n_f == MAX_FILT) die("too many filters", NULL);
    filt *f = &F[n_f++];
    memset(f, 0, sizeof *f);
    snprintf(f->label, sizeof f->label, "%s", label);
    f->ef = ef;
    f->match = malloc((size_t)n_base);
    if (text) {
        f->text = strdup(text);
        vs_status st;
        if (flt_parse(text, strlen(text), &f->expr, &st) != VS_OK) die(text, &st);
    }
    for (int i = 0; i < n_base; i++) {
        f->match[i] = !f->expr || flt_eval(f->expr, vs_value_of(meta_enc[i], meta_len[i]));
        f->n_match += f->match[i];
    }
    f->gt_kth = malloc((size_t)n_query * sizeof(float));
    f->gt_cnt = malloc((size_t)n_query * sizeof(uint32_t));
    return f;
}

typedef struct gt_job {
    int lo, hi, f_lo;
} gt_job;

static void *gt_worker(void *arg)
{
    gt_job *j = arg;
    float *d = malloc((size_t)n_base * sizeof *d);
    for (int q = j->lo; q < j->hi; q++) {
        const float *qv = queries + (size_t)q * dim;
        for (int i = 0; i < n_base; i++) d[i] = vs_l2sq(qv, base + (size_t)i * dim, (size_t)dim);
        for (int fi = j->f_lo; fi < n_f; fi++) {
            filt *f = &F[fi];
            float best[K];
            int nb = 0;
            for (int i = 0; i < n_base; i++) {
                if (!f->match[i]) continue;
                float x = d[i];
                if (nb == K && x >= best[K - 1]) continue;
                int p = nb < K ? nb++ : K - 1;
                while (p > 0 && best[p - 1] > x) best[p] = best[p - 1], p--;
                best[p] = x;
            }
            f->gt_cnt[q] = (uint32_t)nb;
            f->gt_kth[q] = nb ? best[nb - 1] : INFINITY;
        }
    }
    free(d);
    return NULL;
}

/* Ground truth of filters [f_lo, n_f). */
static void ground_truth(int f_lo)
{
    pthread_t t[16];
    gt_job j[16];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        j[i] = (gt_job){n_query * i / threads, n_query * (i + 1) / threads, f_lo};
        pthread_create(&t[i], NULL, gt_worker, &j[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("ground truth: %d filters x %d queries in %.1f s\n", n_f - f_lo, n_query, now() - t0);
}

/* ---- running queries ---- */

typedef struct run_out {
    double secs, recall, visited;
    char plans[96];
} run_out;

static void note_plan(char *plans, const char *p, int *cnt, const char **names, int *n_names)
{
    for (int i = 0; i < *n_names; i++)
        if (!strcmp(names[i], p)) {
            cnt[i]++;
            return;
        }
    if (*n_names < 4) {
        names[*n_names] = p;
        cnt[(*n_names)++] = 1;
    }
    (void)plans;
}

/* All queries with filter f at ef (0 = the filter's own); single thread. */
static run_out run_filter(vs_coll_t *c, filt *f, int ef)
{
    run_out o = {0};
    uint32_t *rows = malloc((size_t)n_query * K * sizeof *rows);
    uint32_t *nrow = malloc((size_t)n_query * sizeof *nrow);
    const char *names[4];
    int cnt[4] = {0}, n_names = 0;
    uint64_t visited = 0;
    double t0 = now();
    for (int q = 0; q < n_query; q++) {
        coll_query cq = {0};
        cq.vec = queries + (size_t)q * dim;
        cq.k = K;
        cq.ef = (uint32_t)(ef ? ef : f->ef);
        cq.filter = f->expr;
        coll_result r;
        vs_status st;
        if (coll_search(c, &cq, &r, &st) != VS_OK) die("coll_search", &st);
        nrow[q] = r.n;
        for (uint32_t i = 0; i < r.n; i++)
            rows[(size_t)q * K + i] = (uint32_t)strtoul(r.hits[i].id, NULL, 10);
        note_plan(o.plans, r.plan, cnt, names, &n_names);
        visited += r.visited;
        coll_result_free(&r);
    }
    o.secs = now() - t0;
    double rec = 0;
    for (int q = 0; q < n_query; q++) {
        const float *qv = queries + (size_t)q * dim;
        uint32_t want = f->gt_cnt[q], good = 0;
        for (uint32_t i = 0; i < nrow[q]; i++) {
            uint32_t row = rows[(size_t)q * K + i];
            if (row < (uint32_t)n_base && f->match[row] &&
                vs_l2sq(qv, base + (size_t)row * dim, (size_t)dim) <= f->gt_kth[q])
                good++;
        }
        rec += want ? (double)(good > want ? want : good) / want : 1.0;
    }
    o.recall = rec / n_query;
    o.visited = (double)visited / n_query;
    o.plans[0] = 0;
    for (int i = 0; i < n_names; i++) {
        size_t l = strlen(o.plans);
        if (n_names == 1)
            snprintf(o.plans + l, sizeof o.plans - l, "%s", names[i]);
        else
            snprintf(o.plans + l, sizeof o.plans - l, "%s%s:%d", i ? "," : "", names[i], cnt[i]);
    }
    free(rows), free(nrow);
    return o;
}

/* Lower bound of the exact plan: vs_l2sq over the matching rows in ascending order with a top-k
 * insertion list, no payload index, no sort, no filter evaluation. Seconds for all queries. */
static double raw_scan(const filt *f)
{
    uint32_t *rows = malloc(f->n_match * sizeof *rows + 4);
    size_t n = 0;
    for (int i = 0; i < n_base; i++)
        if (f->match[i]) rows[n++] = (uint32_t)i;
    volatile float sink = 0;
    double t0 = now();
    for (int q = 0; q < n_query; q++) {
        const float *qv = queries + (size_t)q * dim;
        float best[K];
        int nb = 0;
        for (size_t j = 0; j < n; j++) {
            float x = vs_l2sq(qv, base + (size_t)rows[j] * dim, (size_t)dim);
            if (nb == K && x >= best[K - 1]) continue;
            int p = nb < K ? nb++ : K - 1;
            while (p > 0 && best[p - 1] > x) best[p] = best[p - 1], p--;
            best[p] = x;
        }
        sink += nb ? best[0] : 0;
    }
    double t = now() - t0;
    free(rows);
    return t;
}

/* The planner's budget, as in collection.c. */
static double budget(int ef)
{
    return fmax(1024.0, sqrt((double)(ef ? ef : HNSW_DEFAULT_EF_SEARCH) * 2.0 * M_LINKS * n_base));
}

int main(int argc, char **argv)
{
    int limit = 0, nq = 200, opt, crossover = 1;
    const char *only = NULL;
    while ((opt = getopt(argc, argv, "n:q:t:r:Xf:")) != -1) {
        if (opt == 'n')
            limit = atoi(optarg);
        else if (opt == 'q')
            nq = atoi(optarg);
        else if (opt == 't')
            threads = atoi(optarg);
        else if (opt == 'r')
            rounds = atoi(optarg);
        else if (opt == 'X')
            crossover = 0;
        else if (opt == 'f')
            only = optarg;
        else {
            fprintf(
                stderr,
                "usage: filter_bench [-n N] [-q NQ] [-t THREADS] [-r ROUNDS] [-X] DATASET_DIR\n");
            return 2;
        }
    }
    if (optind >= argc || threads < 1 || threads > 16) {
        fprintf(stderr,
                "usage: filter_bench [-n N] [-q NQ] [-t THREADS] [-r ROUNDS] [-X] DATASET_DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *dir = argv[optind];
    const char *dsname = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    if (!*dsname) dsname = "dataset";
    char path[1024];
    int qd;
    snprintf(path, sizeof path, "%s/base.fvecs", dir);
    base = read_vecs(path, limit, &n_base, &dim);
    snprintf(path, sizeof path, "%s/query.fvecs", dir);
    queries = read_vecs(path, nq, &n_query, &qd);
    if (qd != dim) die("query dimension differs from base", NULL);
    printf("dataset %s: n=%d dim=%d queries=%d k=%d M=%d ef_construction=%d ef_search=%d (default) "
           "threads(build, ground truth)=%d rounds=%d isa=%s\n",
           dsname, n_base, dim, n_query, K, M_LINKS, EFC, HNSW_DEFAULT_EF_SEARCH, threads, rounds,
           vs_distance_isa());
    double la[3] = {0};
    if (getloadavg(la, 3) == 3)
        printf("load average at start: %.2f %.2f %.2f\n", la[0], la[1], la[2]);

    make_metadata();
    double build_s;
    membuf g = graph_stream(dsname, &build_s);
    vs_coll_t *c = load_collection(&g);
    free(g.p);
    printf("planner budget sqrt(ef*2M*n) at ef=%d: %.0f candidates (%.2f%% of n)\n\n",
           HNSW_DEFAULT_EF_SEARCH, budget(0), 100.0 * budget(0) / n_base);

    /* main table */
    static const double sel[] = {0.001, 0.01, 0.1, 0.5, 1.0};
    char text[512], label[48];
    add_filter("none (unfiltered)", NULL, 0);
    if (only) { /* -f: just this filter (for profiling), no crossover */
        add_filter("given", only, 0);
        crossover = 0;
    }
    if (!only) {
        for (int i = 0; i < 5; i++) {
            snprintf(text, sizeof text, "u < %d", (int)lround(sel[i] * U_RANGE));
            snprintf(label, sizeof label, "range %g%%", sel[i] * 100);
            add_filter(label, text, 0);
        }
        /* Zipf(s=1) over 1000: P(v_r) = 1/((r+1) H_1000), H_1000 = 7.4855 */
        add_filter("keyword 0.1%", "k = 'v133'", 0);
        add_filter("keyword 1%", "k = 'v12'", 0);
        add_filter("keyword 0.74%", "k = 'v17'", 0);
        add_filter("keyword 10%", "k IN ('v1', 'v2')", 0);
        {
            size_t l = (size_t)snprintf(text, sizeof text, "k IN (");
            for (int r = 0; r <= 22; r++)
                l += (size_t)snprintf(text + l, sizeof text - l, "%s'v%d'", r ? ", " : "", r);
            snprintf(text + l, sizeof text - l, ")");
            add_filter("keyword 50%", text, 0);
        }
        add_filter("bool 50%", "b = true", 0);
        add_filter("keyword 100%", "k IS NOT NULL", 0);
    }
    int n_main = n_f;
    ground_truth(0);

    /* warm-up: one pass unfiltered */
    (void)run_filter(c, &F[0], 0);
    for (int f = 0; f < n_main; f++) F[f].best_qps = 0;
    for (int r = 0; r < rounds; r++)
        for (int f = 0; f < n_main; f++) {
            run_out o = run_filter(c, &F[f], 0);
            double qps = n_query / o.secs;
            if (qps > F[f].best_qps) F[f].best_qps = qps;
            F[f].recall = o.recall;
            F[f].visited = o.visited;
            snprintf(F[f].plans, sizeof F[f].plans, "%s", o.plans);
        }
    double unf = F[0].best_qps;
    double raw_qps[MAX_FILT];
    for (int f = 0; f < n_main; f++) raw_qps[f] = n_query / fmin(raw_scan(&F[f]), raw_scan(&F[f]));
    printf("%-18s %-10s %8s %-16s %9s %10s %8s %10s %9s  %s\n", "filter", "selectivity", "matches",
           "plan", "recall@10", "queries/s", "vs unf.", "visited/q", "raw q/s", "filter text");
    for (int f = 0; f < n_main; f++)
        printf("%-18s %9.3f%% %8zu %-16s %9.4f %10.0f %7.2fx %10.0f %9.0f  %s\n", F[f].label,
               100.0 * F[f].n_match / n_base, F[f].n_match, F[f].plans, F[f].recall, F[f].best_qps,
               F[f].best_qps / unf, F[f].visited, raw_qps[f], F[f].text ? F[f].text : "-");
    int ok_recall = 1, ok_speed = 1;
    for (int f = 1; f < n_main; f++)
        if (F[f].recall < 0.95) ok_recall = 0;
    for (int f = 1; f < n_main; f++)
        if ((!strcmp(F[f].label, "range 1%") || !strcmp(F[f].label, "keyword 1%")) &&
            F[f].best_qps < unf / 2)
            ok_speed = 0;
    printf("\ntarget recall@10 >= 0.95 at every selectivity: %s\n", ok_recall ? "MET" : "NOT MET");
    printf("target queries/s at 1%% >= half unfiltered (%.0f): %s\n", unf / 2,
           ok_speed ? "MET" : "NOT MET");
    fflush(stdout);

    if (!crossover) return 0;

    /* crossover: exact (forced by ef) vs filtered HNSW (forced by NOT) per candidate-set size */
    printf("\ncrossover (range filters; exact = `u < X` forced to exact_filtered via the query ef, "
           "hnsw = "
           "`NOT (u >= X)`, same records, ef as shown; ms per query, single thread)\n");
    static const int sizes[] = {250,   500,   1000,  2000,   4000,  8000,
                                16000, 32000, 64000, 128000, 256000};
    int f0 = n_f;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (sizes[i] > n_base / 2) break;
        int x = (int)lround((double)sizes[i] * U_RANGE / n_base);
        if (x < 1) x = 1;
        snprintf(text, sizeof text, "u < %d", x);
        filt *fe = add_filter("exact", text, 0);
        double need = (fe->n_match + 1.0) * (fe->n_match + 1.0) / (2.0 * M_LINKS * n_base);
        fe->ef = need < HNSW_DEFAULT_EF_SEARCH ? 0 : (int)ceil(need) + 1;
        snprintf(text, sizeof text, "NOT (u >= %d)", x);
        add_filter("hnsw", text, 0);
        if (F[n_f - 1].n_match != fe->n_match) die("NOT variant matches a different set", NULL);
    }
    ground_truth(f0);
    printf("%9s %8s | %9s %7s %-15s %7s | %9s %7s %9s | %5s %9s %7s | %5s %9s %7s | %s\n",
           "C(match)", "sel%", "exact ms", "recall", "plan", "raw ms", "hnsw64 ms", "recall",
           "visited", "ef95", "hnsw ms", "recall", "efk/s", "hnsw ms", "recall", "faster at ef95");
    for (int f = f0; f + 1 < n_f; f += 2) {
        filt *fe = &F[f], *fh = &F[f + 1];
        run_out e = run_filter(c, fe, 0), e2 = run_filter(c, fe, 0);
        if (e2.secs < e.secs) e.secs = e2.secs;
        run_out h = run_filter(c, fh, 0), h2 = run_filter(c, fh, 0);
        if (h2.secs < h.secs) h.secs = h2.secs;
        run_out h95 = h;
        int ef95 = HNSW_DEFAULT_EF_SEARCH;
        while (h95.recall < 0.95 && ef95 < 4096) {
            ef95 *= 2;
            h95 = run_filter(c, fh, ef95);
        }
        /* the rule proposed for the planner: ef = max(ef, k / selectivity) */
        int efr = (int)ceil((double)K * n_base / (fe->n_match ? fe->n_match : 1));
        if (efr < HNSW_DEFAULT_EF_SEARCH) efr = HNSW_DEFAULT_EF_SEARCH;
        run_out hr = efr == ef95 ? h95 : efr == HNSW_DEFAULT_EF_SEARCH ? h : run_filter(c, fh, efr);
        double ems = 1e3 * e.secs / n_query, hms = 1e3 * h.secs / n_query,
               h95ms = 1e3 * h95.secs / n_query;
        double rms = 1e3 * fmin(raw_scan(fe), raw_scan(fe)) / n_query;
        printf("%9zu %7.3f%% | %9.3f %7.4f %-15s %7.3f | %9.3f %7.4f %9.0f | %5d %9.3f %7.4f | %5d "
               "%9.3f "
               "%7.4f | %s\n",
               fe->n_match, 100.0 * fe->n_match / n_base, ems, e.recall, e.plans, rms, hms,
               h.recall, h.visited, ef95, h95ms, h95.recall, efr, 1e3 * hr.secs / n_query,
               hr.recall,
               h95.recall < 0.95 ? "(0.95 not reached)"
               : ems <= h95ms    ? "exact"
                                 : "hnsw");
        fflush(stdout);
    }
    printf("\nplanner threshold sqrt(ef*2M*n) = %.0f candidates at ef=%d, n=%d\n", budget(0),
           HNSW_DEFAULT_EF_SEARCH, n_base);
    coll_destroy(c);
    return 0;
}
