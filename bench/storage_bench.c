/*
 * storage_bench.c - the storage benchmarks of issue 3, through the engine API (engine.h):
 *
 *   upsert : single-record ns_upsert calls from T threads on one namespace (dim D) for S seconds
 *            under one fsync policy; prints upserts/s and the WAL's fdatasync count
 *            (wal_sync_count: group commit shows as fewer syncs than upserts).
 *   build  : fills a namespace from an fvecs file (first N vectors, batches of B records, T threads
 *            of concurrent ns_upsert; the catalog is opened with fsync never), then cat_close
 *            (writes the snapshot). Prints build and close times.
 *   load   : the start-up time: cat_open + cat_load_all in this fresh process, record count, peak
 *            RSS; then recall@10 of Q queries against the dataset's ground truth (proves the graph
 *            was loaded intact, not only that loading was fast).
 *   split  : where start-up time goes: opens the namespace's three snapshot files itself and calls
 *            coll_load with readers that note when each stream is first read (phases: vectors /
 *            ids+metadata+payload indexes / graph), then wal_open (log replay); then the container
 *            cost alone (each body read and checksummed, not parsed). Uses private headers.
 *
 * Usage:
 *   storage_bench upsert DB {always|everysec|never} THREADS SECONDS [DIM]
 *   storage_bench build  DB NS BASE.fvecs N BATCH THREADS
 *   storage_bench load   DB NS [DATASET_DIR Q]
 *   storage_bench split  DB NS
 * Vectors for `upsert` are uniform [-1,1) from a fixed-seed xorshift (seed printed).
 * A benchmark, not a test: nothing here fails on timings; errors exit 1 with the message.
 */
#include "vecstore/engine.h"

#include "core/collection.h"
#include "engine/ns_int.h"
#include "storage/snapshot.h"
#include "storage/wal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEED 20240603u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const vs_status *st)
{
    fprintf(stderr, "storage_bench: %s: %s\n", what, st ? st->msg : "");
    exit(1);
}

static double cpu_seconds(void) /* user + system CPU of this process so far */
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static uint64_t rng_state = SEED;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static vs_catalog_t *open_catalog(const char *db, int fsync_policy)
{
    vs_catalog_config cfg = {db, fsync_policy, 0, 1};
    vs_catalog_t *c = NULL;
    vs_status st;
    if (cat_open(&cfg, &c, &st) != VS_OK) die("cat_open", &st);
    if (cat_load_all(c, &st) != VS_OK) die("cat_load_all", &st);
    return c;
}

static vs_ns_t *get_or_create(vs_catalog_t *c, const char *id, uint32_t dim)
{
    vs_ns_t *ns = cat_get(c, id);
    if (ns) return ns;
    vs_ns_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%s", id);
    snprintf(m.name, sizeof m.name, "%s", id);
    m.created_at = (int64_t)time(NULL);
    m.dim = dim;
    m.metric = 1; /* l2 */
    vs_status st;
    if (cat_create(c, &m, &ns, &st) != VS_OK) die("cat_create", &st);
    return ns;
}

/* ---- upsert ---- */

#define POOL 4096

typedef struct upsert_arg {
    vs_ns_t *ns;
    int tid;
    uint32_t dim;
    const float *pool;
    atomic_int *stop;
    uint64_t done;
} upsert_arg;

static void *upsert_thread(void *p)
{
    upsert_arg *a = p;
    char id[32];
    vs_status st;
    while (!atomic_load(a->stop)) {
        int l = snprintf(id, sizeof id, "t%d-%llu", a->tid, (unsigned long long)a->done);
        vs_ns_rec r = {id, (size_t)l,
                       a->pool + ((a->done * 7 + (uint64_t)a->tid * 131) % POOL) * a->dim, NULL, 0};
        if (ns_upsert(a->ns, &r, 1, a->dim, &st) != VS_OK) die("ns_upsert", &st);
        a->done++;
    }
    return NULL;
}

static int cmd_upsert(int argc, char **argv)
{
    if (argc < 6) return 2;
    const char *db = argv[2];
    int pol = strcmp(argv[3], "always") == 0     ? VS_FSYNC_ALWAYS
              : strcmp(argv[3], "everysec") == 0 ? VS_FSYNC_EVERYSEC
                                                 : VS_FSYNC_NEVER;
    int threads = atoi(argv[4]);
    double secs = atof(argv[5]);
    uint32_t dim = argc > 6 ? (uint32_t)atoi(argv[6]) : 128;
    float *pool = malloc((size_t)POOL * dim * sizeof(float));
    for (size_t i = 0; i < (size_t)POOL * dim; i++) pool[i] = frand();

    vs_catalog_t *c = open_catalog(db, pol);
    vs_ns_t *ns = get_or_create(c, "bench", dim);
    uint64_t syncs0 = wal_sync_count(ns->wal);
    atomic_int stop = 0;
    upsert_arg *args = calloc((size_t)threads, sizeof *args);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    double t0 = now(), cpu0 = cpu_seconds();
    for (int i = 0; i < threads; i++) {
        args[i] = (upsert_arg){ns, i, dim, pool, &stop, 0};
        pthread_create(&th[i], NULL, upsert_thread, &args[i]);
    }
    struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    uint64_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += args[i].done;
    }
    double el = now() - t0, cpu = cpu_seconds() - cpu0;
    uint64_t syncs = wal_sync_count(ns->wal) - syncs0;
    printf("upsert fsync=%s threads=%d dim=%u seconds=%.2f upserts=%llu upserts/s=%.0f "
           "fdatasyncs=%llu "
           "upserts/fdatasync=%.2f cpu=%.2fs\n",
           argv[3], threads, dim, el, (unsigned long long)total, total / el,
           (unsigned long long)syncs, syncs ? (double)total / syncs : 0.0, cpu);
    ns_release(ns);
    cat_close(c);
    free(args), free(th), free(pool);
    return 0;
}

/* ---- fvecs ---- */

typedef struct fvecs {
    const uint8_t *map;
    size_t size;
    int dim;
    size_t n;
} fvecs;

static void fvecs_open(const char *path, fvecs *f)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        perror(path);
        exit(1);
    }
    f->size = (size_t)sb.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    memcpy(&f->dim, f->map, 4);
    f->n = f->size / ((size_t)(f->dim + 1) * 4);
}

static const float *fvecs_row(const fvecs *f, size_t i)
{
    return (const float *)(f->map + i * (size_t)(f->dim + 1) * 4 + 4);
}

/* ---- build ---- */

typedef struct build_ctx {
    vs_ns_t *ns;
    const fvecs *f;
    size_t n, batch;
    atomic_size_t next, done;
    double t0;
} build_ctx;

static void *build_thread(void *p)
{
    build_ctx *b = p;
    vs_ns_rec *recs = calloc(b->batch, sizeof *recs);
    char *ids = malloc(b->batch * 16);
    vs_status st;
    for (;;) {
        size_t start = atomic_fetch_add(&b->next, b->batch);
        if (start >= b->n) break;
        size_t cnt = start + b->batch > b->n ? b->n - start : b->batch;
        for (size_t i = 0; i < cnt; i++) {
            char *id = ids + i * 16;
            int l = snprintf(id, 16, "v%07zu", start + i);
            recs[i] = (vs_ns_rec){id, (size_t)l, fvecs_row(b->f, start + i), NULL, 0};
        }
        if (ns_upsert(b->ns, recs, cnt, (uint32_t)b->f->dim, &st) != VS_OK) die("ns_upsert", &st);
        size_t d = atomic_fetch_add(&b->done, cnt) + cnt;
        if (d / 50000 != (d - cnt) / 50000) {
            double el = now() - b->t0;
            printf("  %zu vectors  %.0f s  %.0f upserts/s\n", d, el, d / el);
            fflush(stdout);
        }
    }
    free(recs), free(ids);
    return NULL;
}

static int cmd_build(int argc, char **argv)
{
    if (argc < 8) return 2;
    fvecs f;
    fvecs_open(argv[4], &f);
    size_t n = strtoull(argv[5], NULL, 10);
    if (n > f.n) n = f.n;
    build_ctx b = {.f = &f, .n = n, .batch = strtoull(argv[6], NULL, 10)};
    int threads = atoi(argv[7]);
    vs_catalog_t *c = open_catalog(argv[2], VS_FSYNC_NEVER);
    b.ns = get_or_create(c, argv[3], (uint32_t)f.dim);
    pthread_t th[64];
    b.t0 = now();
    for (int i = 0; i < threads && i < 64; i++) pthread_create(&th[i], NULL, build_thread, &b);
    for (int i = 0; i < threads && i < 64; i++) pthread_join(th[i], NULL);
    double build_s = now() - b.t0;
    coll_stats cs;
    coll_get_stats(ns_coll(b.ns), &cs);
    ns_release(b.ns);
    double t1 = now();
    cat_close(c);
    double close_s = now() - t1;
    printf("build ns=%s n=%zu dim=%d batch=%zu threads=%d: %.1f s (%.0f upserts/s), live=%llu; "
           "cat_close (snapshot) %.1f s\n",
           argv[3], n, f.dim, b.batch, threads, build_s, n / build_s, (unsigned long long)cs.live,
           close_s);
    return 0;
}

/* ---- load ---- */

static int cmd_load(int argc, char **argv)
{
    if (argc < 4) return 2;
    double t0 = now();
    vs_catalog_config cfg = {argv[2], VS_FSYNC_NEVER, 0, 1};
    vs_catalog_t *c = NULL;
    vs_status st;
    if (cat_open(&cfg, &c, &st) != VS_OK) die("cat_open", &st);
    double t1 = now();
    if (cat_load_all(c, &st) != VS_OK) die("cat_load_all", &st);
    double t2 = now();
    vs_ns_t *ns = cat_get(c, argv[3]);
    if (!ns) die("namespace not found", NULL);
    coll_stats cs;
    coll_get_stats(ns_coll(ns), &cs);
    printf("load: cat_open %.3f s + cat_load_all %.3f s = %.3f s; live=%llu dim=%u peak_rss=%.0f "
           "MiB\n",
           t1 - t0, t2 - t1, t2 - t0, (unsigned long long)cs.live, cs.dim, peak_rss_kb() / 1024.0);
    if (argc >= 6) { /* recall@10 over the first Q queries (ids are v%07d = base row) */
        char path[4096];
        fvecs q, gt;
        snprintf(path, sizeof path, "%s/query.fvecs", argv[4]);
        fvecs_open(path, &q);
        snprintf(path, sizeof path, "%s/groundtruth.ivecs", argv[4]);
        fvecs_open(path, &gt);
        size_t nq = strtoull(argv[5], NULL, 10);
        if (nq > q.n) nq = q.n;
        double hit = 0;
        double t3 = now();
        for (size_t i = 0; i < nq; i++) {
            coll_query cq = {.vec = fvecs_row(&q, i), .k = 10};
            coll_result r;
            if (coll_search(ns_coll(ns), &cq, &r, &st) != VS_OK) die("coll_search", &st);
            const int32_t *g = (const int32_t *)fvecs_row(&gt, i);
            for (uint32_t j = 0; j < r.n; j++) {
                int row = atoi(r.hits[j].id + 1);
                for (int k = 0; k < 10; k++)
                    if (g[k] == row) hit++;
            }
            coll_result_free(&r);
        }
        printf("check: recall@10 over %zu queries = %.4f (default ef_search=%u), %.0f queries/s 1 "
               "thread\n",
               nq, hit / (nq * 10.0), cs.ef_search, nq / (now() - t3));
    }
    ns_release(ns);
    cat_close(c);
    return 0;
}

/* ---- split ---- */

typedef struct timed_reader {
    snap_reader_t *r;
    int stream;
} timed_reader;

static double first_call[3], t_start;

/* Only the first call of each stream is timed (coll_load reads the vectors stream, then ids and
 * metadata, then the graph, so the first call of the next stream ends a phase). Timing every
 * call would add two clock reads to each of millions of small reads and distort the split. */
static vs_err timed_read(void *ctx, void *p, size_t n, vs_status *st)
{
    timed_reader *tr = ctx;
    if (!first_call[tr->stream]) first_call[tr->stream] = now();
    return snap_read(tr->r, p, n, st);
}

/* Reads a whole snapshot body through snap_read in 1 MiB pieces: the container's own cost (read
 * + per-block crc32c check), without any parsing. The body length follows from the file size and
 * the container layout (snapshot.h: 32-byte header, blocks of u32 length + up to 1 MiB + u32 crc,
 * 24-byte footer); snap_read_end verifies that arithmetic. */
static double read_only(const char *path, uint32_t kind, uint64_t *bytes)
{
    struct stat sb;
    if (stat(path, &sb) != 0) die(path, NULL);
    uint64_t framed = (uint64_t)sb.st_size - 56,
             blocks = (framed + SNAP_BLOCK_SIZE + 7) / (SNAP_BLOCK_SIZE + 8);
    *bytes = framed - 8 * blocks;
    snap_reader_t *r;
    uint64_t seq;
    vs_status st;
    static uint8_t buf[SNAP_BLOCK_SIZE];
    double t = now();
    if (snap_open(path, kind, &r, &seq, &st) != VS_OK) die("snap_open", &st);
    for (uint64_t done = 0; done < *bytes;) {
        size_t k = *bytes - done > sizeof buf ? sizeof buf : (size_t)(*bytes - done);
        if (snap_read(r, buf, k, &st) != VS_OK) die("snap_read", &st);
        done += k;
    }
    if (snap_read_end(r, &st) != VS_OK) die("snap_read_end", &st);
    snap_close(r);
    return now() - t;
}

static vs_err count_replay(void *ctx, uint64_t seq, uint8_t type, const uint8_t *p, size_t len,
                           vs_status *st)
{
    (void)seq, (void)type, (void)p, (void)len, (void)st;
    ++*(uint64_t *)ctx;
    return VS_OK;
}

static int cmd_split(int argc, char **argv)
{
    if (argc < 4) return 2;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s", argv[2], argv[3]);
    vs_ns_meta m;
    vs_status st;
    t_start = now();
    if (ns_meta_read(dir, &m, &st) != VS_OK) die("ns_meta_read", &st);
    coll_settings cs = {m.dim, (vs_metric)m.metric, m.m, m.ef_construction, m.ef_search};
    vs_coll_t *coll = coll_create(&cs);
    static const char *const names[] = {"vectors.bin", "metadata.bin", "hnsw_index.bin"};
    static const uint32_t kinds[] = {0x53434556u, 0x4154454du, 0x57534e48u};
    timed_reader tr[3];
    uint64_t seq = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        tr[i].stream = i;
        if (snap_open(path, kinds[i], &tr[i].r, &seq, &st) != VS_OK) die("snap_open", &st);
    }
    double t0 = now();
    if (coll_load(coll, timed_read, &tr[0], timed_read, &tr[1], timed_read, &tr[2], &st) != VS_OK)
        die("coll_load", &st);
    double t1 = now();
    for (int i = 0; i < 3; i++) {
        if (snap_read_end(tr[i].r, &st) != VS_OK) die("snap_read_end", &st);
        snap_close(tr[i].r);
    }
    uint64_t replayed = 0;
    wal_t *w = NULL;
    double t2 = now();
    if (wal_open(dir, VS_FSYNC_NEVER, seq, count_replay, &replayed, &w, &st) != VS_OK)
        die("wal_open", &st);
    double t3 = now();
    wal_close(w);
    coll_stats s;
    coll_get_stats(coll, &s);
    printf("split (%llu vectors): meta+snap_open %.3f s | coll_load %.3f s = vectors %.3f s + "
           "ids/metadata/indexes "
           "%.3f s + graph %.3f s | wal_open %.3f s (%llu records replayed)\n",
           (unsigned long long)s.live, t0 - t_start, t1 - t0, first_call[1] - t0,
           first_call[2] - first_call[1], t1 - first_call[2], t3 - t2,
           (unsigned long long)replayed);
    printf("  of which the container alone (snap_read of each whole body in 1 MiB pieces: read + "
           "crc32c, no parsing):");
    for (int i = 0; i < 3; i++) {
        uint64_t bytes;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        double t = read_only(path, kinds[i], &bytes);
        printf(" %s %.0f MB %.3f s%s", names[i], bytes / 1e6, t, i < 2 ? "," : "\n");
    }
    coll_destroy(coll);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc > 1 && strcmp(argv[1], "upsert") == 0) rc = cmd_upsert(argc, argv);
    if (argc > 1 && strcmp(argv[1], "build") == 0) rc = cmd_build(argc, argv);
    if (argc > 1 && strcmp(argv[1], "load") == 0) rc = cmd_load(argc, argv);
    if (argc > 1 && strcmp(argv[1], "split") == 0) rc = cmd_split(argc, argv);
    if (rc == 2)
        fprintf(stderr,
                "usage: storage_bench upsert DB always|everysec|never THREADS SECONDS [DIM]\n"
                "       storage_bench build DB NS BASE.fvecs N BATCH THREADS\n"
                "       storage_bench load DB NS [DATASET_DIR Q]\n"
                "       storage_bench split DB NS\n");
    return rc;
}
