/*
 * test_engine.c - the collection and durable namespace end to end, in-process: upsert/get exact,
 * replace, batches (a repeated id: the last wins), soft delete / restore / delete counts,
 * compaction, restart from snapshot and from the log, filtered and hybrid queries against brute
 * force, 4 threads querying while 1 inserts.
 */
#include "vecstore/engine.h"

#include "core/collection.h"
#include "core/filter.h"
#include "core/value.h"
#include "util/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static uint8_t *meta_cat(const char *cat, double year, size_t *len)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "category", 8);
    vs_vb_string(&b, cat, strlen(cat));
    vs_vb_key(&b, "year", 4);
    vs_vb_number(&b, year);
    vs_vb_end(&b);
    return vs_vb_finish(&b, len, NULL);
}

static vs_catalog_t *open_db(const char *dir)
{
    vs_catalog_config cfg = {dir, 2 /* never: tests need no fsync */, 0, 1 /* l2 */};
    vs_catalog_t *c;
    vs_status st;
    if (cat_open(&cfg, &c, &st) != VS_OK || cat_load_all(c, &st) != VS_OK) {
        printf("open failed: %s\n", st.msg);
        exit(1);
    }
    return c;
}

#define DIM 16
#define N   3000

static float data[N][DIM];

static void put(vs_ns_t *ns, int i, const char *cat)
{
    char id[32];
    snprintf(id, sizeof id, "v%d", i);
    size_t ml;
    uint8_t *m = meta_cat(cat, 2000 + i % 25, &ml);
    vs_ns_rec r = {id, strlen(id), data[i], m, ml};
    vs_status st;
    CHECK(ns_upsert(ns, &r, 1, DIM, &st) == VS_OK, "upsert %s: %s", id, st.msg);
    vs_free(m);
}

static uint32_t search(vs_coll_t *c, const float *q, uint32_t k, const char *filter, coll_result *r)
{
    flt_expr_t *f = NULL;
    vs_status st;
    if (filter) CHECK(flt_parse(filter, strlen(filter), &f, &st) == VS_OK, "filter: %s", st.msg);
    coll_query cq = {q, k, 0, f, false, NULL, 0, 0.5, true, true};
    CHECK(coll_search(c, &cq, r, &st) == VS_OK, "search: %s", st.msg);
    flt_free(f);
    return r->n;
}

/* brute-force rank of true top-k (l2) among ids with the given category (or all) */
static int brute(const float *q, uint32_t k, int mod, int *out)
{
    float best[64];
    int n = 0;
    for (int i = 0; i < N; i++) {
        if (mod && i % mod != 0) continue;
        float d = 0;
        for (int j = 0; j < DIM; j++) d += (q[j] - data[i][j]) * (q[j] - data[i][j]);
        int pos = n < (int)k ? n++ : (int)k;
        if (pos == (int)k && d >= best[k - 1]) continue;
        if (pos == (int)k) pos = (int)k - 1;
        while (pos > 0 && best[pos - 1] > d) {
            best[pos] = best[pos - 1];
            out[pos] = out[pos - 1];
            pos--;
        }
        best[pos] = d;
        out[pos] = i;
    }
    return n;
}

static vs_ns_t *g_ns;
static volatile int stop_readers;

static void *reader(void *arg)
{
    (void)arg;
    unsigned s = 7;
    while (!stop_readers) {
        float q[DIM];
        for (int j = 0; j < DIM; j++) q[j] = (float)(rand_r(&s) % 1000) / 100.0f;
        coll_result r;
        search(ns_coll(g_ns), q, 10, NULL, &r);
        for (uint32_t i = 1; i < r.n; i++)
            CHECK(r.hits[i - 1].score <= r.hits[i].score, "unsorted results");
        for (uint32_t i = 0; i < r.n; i++)
            CHECK(r.hits[i].id_len > 1 && r.hits[i].id[0] == 'v', "bad id");
        coll_result_free(&r);
    }
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/vs-engine-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    unsigned seed = 12345;
    printf("test_engine: seed %u dir %s\n", seed, dir);
    srand(seed);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < DIM; j++) data[i][j] = (float)(rand() % 1000) / 100.0f;

    vs_catalog_t *c = open_db(dir);
    vs_ns_t *ns = cat_get(c, "default");
    CHECK(ns != NULL, "default namespace exists");
    g_ns = ns;
    /* first half inserted alone, second half while 4 readers query */
    for (int i = 0; i < N / 2; i++) put(ns, i, i % 100 == 0 ? "rare" : "common");
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, reader, NULL);
    for (int i = N / 2; i < N; i++) put(ns, i, i % 100 == 0 ? "rare" : "common");
    stop_readers = 1;
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);

    /* recall@10 of unfiltered and exact filtered search */
    int hits = 0, total = 0, fhits = 0, ftotal = 0;
    for (int qi = 0; qi < 50; qi++) {
        const float *q = data[(qi * 37) % N];
        int want[10];
        int n = brute(q, 10, 0, want);
        coll_result r;
        search(ns_coll(ns), q, 10, NULL, &r);
        for (int a = 0; a < n; a++)
            for (uint32_t b = 0; b < r.n; b++)
                if (atoi(r.hits[b].id + 1) == want[a]) hits++;
        total += n;
        coll_result_free(&r);
        n = brute(q, 10, 100, want);
        search(ns_coll(ns), q, 10, "category = 'rare'", &r);
        CHECK(strcmp(r.plan, "exact_filtered") == 0, "selective filter plan %s", r.plan);
        for (int a = 0; a < n; a++)
            for (uint32_t b = 0; b < r.n; b++)
                if (atoi(r.hits[b].id + 1) == want[a]) fhits++;
        ftotal += n;
        coll_result_free(&r);
    }
    printf("recall@10 %.3f, filtered %.3f\n", (double)hits / total, (double)fhits / ftotal);
    CHECK((double)hits / total >= 0.95, "recall %.3f", (double)hits / total);
    CHECK(fhits == ftotal, "filtered exact recall %d/%d", fhits, ftotal);

    /* replace, batch with a repeated id, soft delete, restore, delete */
    vs_status st;
    float v1[DIM] = {1}, v2[DIM] = {2}, v3[DIM] = {3};
    vs_ns_rec b[3] = {{"dup", 3, v1, NULL, 0}, {"x", 1, v2, NULL, 0}, {"dup", 3, v3, NULL, 0}};
    CHECK(ns_upsert(ns, b, 3, DIM, &st) == VS_OK, "batch: %s", st.msg);
    coll_record rec;
    CHECK(coll_get(ns_coll(ns), "dup", 3, &rec, &st) == VS_OK && rec.vec[0] == 3.0f,
          "last of a repeated id wins");
    coll_record_free(&rec);
    coll_stats cs;
    coll_get_stats(ns_coll(ns), &cs);
    CHECK(cs.live == N + 2 && cs.soft == 0, "counts live %llu soft %llu",
          (unsigned long long)cs.live, (unsigned long long)cs.soft);
    CHECK(ns_soft_delete(ns, "x", 1, &st) == VS_OK, "soft delete");
    CHECK(ns_soft_delete(ns, "x", 1, &st) == VS_OK, "soft delete is idempotent");
    coll_get_stats(ns_coll(ns), &cs);
    CHECK(cs.live == N + 1 && cs.soft == 1 && cs.reclaimable_bytes > 0, "after soft delete");
    coll_result r;
    search(ns_coll(ns), v2, 3, NULL, &r);
    for (uint32_t i = 0; i < r.n; i++)
        CHECK(strcmp(r.hits[i].id, "x") != 0, "soft-deleted record returned");
    coll_result_free(&r);
    CHECK(ns_restore(ns, "x", 1, &st) == VS_OK, "restore");
    search(ns_coll(ns), v2, 1, NULL, &r);
    CHECK(r.n == 1 && strcmp(r.hits[0].id, "x") == 0, "restored record is found");
    coll_result_free(&r);
    CHECK(ns_delete(ns, "v5", 2, &st) == VS_OK, "delete");
    CHECK(ns_delete(ns, "v5", 2, &st) == VS_ERR_NOT_FOUND, "second delete is 404");
    search(ns_coll(ns), data[5], 1, NULL, &r);
    CHECK(r.n == 1 && strcmp(r.hits[0].id, "v5") != 0, "deleted record returned");
    coll_result_free(&r);
    CHECK(ns_soft_delete(ns, "v6", 2, &st) == VS_OK, "soft delete v6");

    /* restart from the log (no snapshot yet: close without one is simulated by reopening a copy) */
    ns_release(ns);
    cat_close(c); /* writes a snapshot */
    c = open_db(dir);
    ns = cat_get(c, "default");
    coll_get_stats(ns_coll(ns), &cs);
    CHECK(cs.live == N && cs.soft == 1, "after restart live %llu soft %llu",
          (unsigned long long)cs.live, (unsigned long long)cs.soft);
    CHECK(coll_get(ns_coll(ns), "v7", 2, &rec, &st) == VS_OK &&
              memcmp(rec.vec, data[7], sizeof data[7]) == 0,
          "vector exact after restart");
    coll_record_free(&rec);
    CHECK(coll_state_of(ns_coll(ns), "v6", 2) == REC_SOFT, "soft-deleted state survives restart");

    /* compaction */
    uint64_t removed = 0;
    CHECK(ns_compact(ns, &removed, &st) == VS_OK, "compact: %s", st.msg);
    CHECK(removed >= 2, "compact removed %llu", (unsigned long long)removed);
    coll_get_stats(ns_coll(ns), &cs);
    CHECK(cs.reclaimable_bytes == 0 && cs.soft == 0 && cs.live == N, "after compact");
    CHECK(coll_state_of(ns_coll(ns), "v6", 2) == 0, "soft-deleted purged by compact");
    search(ns_coll(ns), data[9], 1, NULL, &r);
    CHECK(r.n == 1 && strcmp(r.hits[0].id, "v9") == 0, "search after compact");
    coll_result_free(&r);
    /* writes after the snapshot live in the log only: they survive a reopen without close */
    put(ns, 5, "common");
    ns_release(ns);
    cat_close(c);
    c = open_db(dir);
    ns = cat_get(c, "default");
    CHECK(coll_exists(ns_coll(ns), "v5", 2), "v5 back after restart");
    ns_release(ns);
    cat_close(c);

    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    printf("test_engine: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
