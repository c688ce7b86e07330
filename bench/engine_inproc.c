/*
 * engine_inproc.c - the engine's in-process query rate on a database directory, the baseline the
 * server benchmark (bench/server_bench.sh, issue 5) is compared with.
 *
 * How: cat_open + cat_load_all on DB (the server stopped first), then THREADS threads each call
 * coll_search (k = LIMIT, ef = EF, include_metadata as the server's default: true) in a closed
 * loop for SECONDS, rotating through the query vectors of BODIES_FILE: the very bodies wrk posts
 * (one JSON object per line; only its "vector" array is read), each thread starting at a different
 * offset (half the list
 * apart for two threads) as the wrk script does. Prints queries/s, latency percentiles and
 * the process's CPU seconds over the run (queries per CPU-second does not depend on how much of
 * the shared machine other processes took).
 *
 * Usage: engine_inproc DB NAMESPACE BODIES_FILE THREADS SECONDS [EF] [LIMIT]
 * A benchmark, not a test: nothing here fails on timings; errors exit 1 with the message.
 */
#include "vecstore/engine.h"

#include "core/collection.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void) /* user + system CPU of this process so far */
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static float *queries;
static size_t n_queries, dim;

static void read_bodies(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t cap = 0, len = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        char *p = strstr(line, "\"vector\"");
        if (!p || !(p = strchr(p, '['))) continue;
        p++;
        size_t d = 0;
        for (;;) {
            char *end;
            float v = strtof(p, &end);
            if (end == p) break;
            if (len == cap) {
                cap = cap ? cap * 2 : 1 << 16;
                queries = realloc(queries, cap * sizeof(float));
            }
            queries[len++] = v;
            d++;
            p = end;
            while (*p == ' ' || *p == ',') p++;
        }
        if (!dim) dim = d;
        if (d != dim) {
            fprintf(stderr, "engine_inproc: %s: a vector of %zu values, expected %zu\n", path, d,
                    dim);
            exit(1);
        }
        n_queries++;
    }
    free(line);
    fclose(f);
    if (!n_queries) {
        fprintf(stderr, "engine_inproc: no query vectors in %s\n", path);
        exit(1);
    }
}

typedef struct arg {
    vs_coll_t *coll;
    int tid;
    uint32_t ef, limit;
    double deadline;
    uint64_t done;
    float *lat; /* seconds per query, up to LAT_MAX */
    size_t n_lat;
    uint64_t visited;
} arg;

#define LAT_MAX 4000000

static void *run(void *p)
{
    arg *a = p;
    size_t idx = ((size_t)a->tid * (n_queries / 2)) % n_queries; /* as bench/server_query.lua */
    vs_status st;
    for (;;) {
        double t0 = now();
        if (t0 >= a->deadline) break;
        idx = (idx + 1) % n_queries;
        coll_query q = {.vec = queries + idx * dim, .k = a->limit, .ef = a->ef, .want_meta = true};
        coll_result r;
        if (coll_search(a->coll, &q, &r, &st) != VS_OK) {
            fprintf(stderr, "engine_inproc: coll_search: %s\n", st.msg);
            exit(1);
        }
        a->visited += r.visited;
        coll_result_free(&r);
        if (a->n_lat < LAT_MAX) a->lat[a->n_lat++] = (float)(now() - t0);
        a->done++;
    }
    return NULL;
}

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr,
                "usage: engine_inproc DB NAMESPACE BODIES_FILE THREADS SECONDS [EF] [LIMIT]\n");
        return 2;
    }
    int threads = atoi(argv[4]);
    double secs = atof(argv[5]);
    uint32_t ef = argc > 6 ? (uint32_t)atoi(argv[6]) : 0,
             limit = argc > 7 ? (uint32_t)atoi(argv[7]) : 10;
    read_bodies(argv[3]);
    vs_catalog_config cfg = {argv[1], 2 /* never: nothing is written */, 0, 1};
    vs_catalog_t *c = NULL;
    vs_status st;
    double t0 = now();
    if (cat_open(&cfg, &c, &st) != VS_OK || cat_load_all(c, &st) != VS_OK) {
        fprintf(stderr, "engine_inproc: opening %s: %s\n", argv[1], st.msg);
        return 1;
    }
    double load_s = now() - t0;
    vs_ns_t *ns = cat_get(c, argv[2]);
    if (!ns) {
        fprintf(stderr, "engine_inproc: no namespace '%s' in %s\n", argv[2], argv[1]);
        return 1;
    }
    coll_stats cs;
    coll_get_stats(ns_coll(ns), &cs);
    arg *a = calloc((size_t)threads, sizeof *a);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    double start = now(), cpu0 = cpu_seconds();
    for (int i = 0; i < threads; i++) {
        a[i] = (arg){ns_coll(ns), i, ef, limit, start + secs, 0, malloc(LAT_MAX * sizeof(float)),
                     0,           0};
        pthread_create(&th[i], NULL, run, &a[i]);
    }
    uint64_t total = 0, visited = 0;
    size_t n_lat = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += a[i].done;
        visited += a[i].visited;
        n_lat += a[i].n_lat;
    }
    double el = now() - start, cpu = cpu_seconds() - cpu0;
    float *lat = malloc((n_lat ? n_lat : 1) * sizeof(float));
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(lat + k, a[i].lat, a[i].n_lat * sizeof(float));
        k += a[i].n_lat;
        free(a[i].lat);
    }
    qsort(lat, n_lat, sizeof(float), cmp_float);
    printf(
        "in-process coll_search: ns=%s live=%llu dim=%u threads=%d ef=%u (0 = ef_search %u) "
        "limit=%u "
        "queries=%zu distinct: %.2f s, %llu queries, %.0f queries/s, latency us p50=%.0f p99=%.0f, "
        "visited/query=%.0f, CPU %.2f s = %.0f queries per CPU-second (load %.2f s)\n",
        argv[2], (unsigned long long)cs.live, cs.dim, threads, ef, cs.ef_search, limit, n_queries,
        el, (unsigned long long)total, total / el, n_lat ? lat[n_lat / 2] * 1e6 : 0.0,
        n_lat ? lat[(size_t)(n_lat * 0.99)] * 1e6 : 0.0, total ? (double)visited / total : 0.0, cpu,
        cpu > 0 ? total / cpu : 0.0, load_s);
    free(lat), free(a), free(th), free(queries);
    ns_release(ns);
    cat_close(c);
    return 0;
}
