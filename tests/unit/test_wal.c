/*
 * test_wal.c - unit tests of src/storage/wal.c (and the file.c fault seam): exact append/replay,
 * sequence numbers monotonic across close/reopen and wal_reset, group commit from 8 threads
 * (deterministically: a sync hook holds the first fsync until every writer has queued), torn
 * tails cut at every byte offset of the last record, flipped bytes (middle record -> CORRUPT
 * naming wal.log and the offset; last record -> torn), sequence going backwards, bad headers, a
 * full disk through RLIMIT_FSIZE in a forked child, injected write/truncate/fsync/rename faults
 * (sticky failure), everysec and never policies. Random payloads print their seed
 * (VS_TEST_SEED=<n> reruns).
 */
#include "storage/file.h"
#include "storage/wal.h"

#include "util/alloc.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_checks;

static void check_true(bool c, const char *expr, int line)
{
    g_checks++;
    if (!c) {
        fprintf(stderr, "test_wal.c:%d: FAIL: %s\n", line, expr);
        exit(1);
    }
}
static void check_u64(uint64_t a, uint64_t b, const char *ea, const char *eb, int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "test_wal.c:%d: FAIL: %s == %s (%llu vs %llu)\n", line, ea, eb,
                (unsigned long long)a, (unsigned long long)b);
        exit(1);
    }
}
static void check_rc(vs_err rc, vs_err want, const vs_status *st, const char *expr, int line)
{
    g_checks++;
    if (rc != want) {
        fprintf(stderr, "test_wal.c:%d: FAIL: %s returned %s, expected %s (message: %s)\n", line,
                expr, vs_err_name(rc), vs_err_name(want), st->msg);
        exit(1);
    }
}
static void check_has(const char *s, const char *sub, int line)
{
    g_checks++;
    if (!strstr(s, sub)) {
        fprintf(stderr, "test_wal.c:%d: FAIL: \"%s\" does not contain \"%s\"\n", line, s, sub);
        exit(1);
    }
}
#define CHECK(c)             check_true((c), #c, __LINE__)
#define CHECK_U64(a, b)      check_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __LINE__)
#define CHECK_RC(call, want) check_rc((call), (want), &st, #call, __LINE__)
#define CHECK_HAS(s, sub)    check_has((s), (sub), __LINE__)

/* ---- helpers ---- */

static uint64_t g_seed;
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The deterministic record for `seq` in test stream `tag`: its type, length and bytes. */
static size_t rec_len(uint64_t tag, uint64_t seq)
{
    uint64_t h = mix(g_seed ^ mix(tag) ^ seq);
    if (h % 17 == 0) return 0;
    return (size_t)(h % 700) + 1;
}
static uint8_t rec_type(uint64_t tag, uint64_t seq)
{
    return (uint8_t)mix(tag * 31 + seq);
}
static void rec_fill(uint64_t tag, uint64_t seq, uint8_t *p, size_t n)
{
    uint64_t h = mix(g_seed + tag * 7 + seq);
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) h = mix(h);
        p[i] = (uint8_t)(h >> (8 * (i % 8)));
    }
}

typedef struct {
    uint64_t seq;
    uint8_t type;
    uint8_t *p;
    size_t len;
} got_rec;

typedef struct {
    got_rec *v;
    size_t n, cap;
    long fail_at; /* fail the callback at this seq (tests abort-on-error) */
} collector;

static vs_err collect(void *ctx, uint64_t seq, uint8_t type, const uint8_t *payload, size_t len,
                      vs_status *st)
{
    collector *c = ctx;
    if (c->fail_at && (long)seq == c->fail_at)
        return vs_status_set(st, VS_ERR_INTERNAL, "callback refused seq %llu",
                             (unsigned long long)seq);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
    }
    got_rec *r = &c->v[c->n++];
    r->seq = seq;
    r->type = type;
    r->len = len;
    r->p = malloc(len ? len : 1);
    memcpy(r->p, payload, len);
    return VS_OK;
}

static void collector_free(collector *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->v[i].p);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Checks c holds exactly the records first..last of stream `tag`. */
static void check_stream(const collector *c, uint64_t tag, uint64_t first, uint64_t last, int line)
{
    uint64_t want = last >= first ? last - first + 1 : 0;
    check_u64(c->n, want, "replayed count", "expected", line);
    uint8_t buf[1024];
    for (size_t i = 0; i < c->n; i++) {
        uint64_t s = first + i;
        check_u64(c->v[i].seq, s, "replayed seq", "expected seq", line);
        check_u64(c->v[i].type, rec_type(tag, s), "replayed type", "expected type", line);
        size_t n = rec_len(tag, s);
        check_u64(c->v[i].len, n, "replayed length", "expected length", line);
        rec_fill(tag, s, buf, n);
        check_true(memcmp(buf, c->v[i].p, n) == 0, "replayed payload bytes equal", line);
    }
}

static void append_stream(wal_t *w, uint64_t tag, uint64_t first, uint64_t last)
{
    vs_status st;
    uint8_t buf[1024];
    for (uint64_t s = first; s <= last; s++) {
        size_t n = rec_len(tag, s);
        rec_fill(tag, s, buf, n);
        uint64_t seq = 0;
        CHECK_RC(wal_append(w, rec_type(tag, s), buf, n, &seq, &st), VS_OK);
        CHECK_U64(seq, s);
    }
}

static char g_root[64];
static int g_dirno;

static void new_dir(char *out, size_t cap)
{
    snprintf(out, cap, "%s/d%03d", g_root, ++g_dirno);
    if (mkdir(out, 0755) != 0) {
        perror("mkdir");
        exit(1);
    }
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : (uint64_t)-1;
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n ? *n : 1);
    if (fread(p, 1, *n, f) != *n) exit(1);
    fclose(f);
    return p;
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static uint64_t rec_disk_size(uint64_t tag, uint64_t seq)
{
    return 17 + rec_len(tag, seq);
}

/* ---- tests ---- */

static void test_append_replay(void)
{
    char dir[128], path[160];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/wal.log", dir);
    vs_status st;
    wal_t *w = NULL;
    collector c = {0};
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    CHECK_U64(c.n, 0);
    CHECK_U64(wal_last_seq(w), 0);
    CHECK_U64(wal_size_bytes(w), 20);
    CHECK_U64(file_size(path), 20);
    append_stream(w, 1, 1, 100);
    uint64_t expect_size = 20;
    for (uint64_t s = 1; s <= 100; s++) expect_size += rec_disk_size(1, s);
    CHECK_U64(wal_size_bytes(w), expect_size);
    CHECK_U64(file_size(path), expect_size);
    CHECK(!wal_failed(w));
    wal_close(w);

    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 1, 1, 100, __LINE__);
    collector_free(&c);
    CHECK_U64(wal_last_seq(w), 100);
    append_stream(w, 1, 101, 130); /* seq continues after reopen */
    wal_close(w);

    /* after_seq skips what a snapshot covers */
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 50, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 1, 51, 130, __LINE__);
    collector_free(&c);
    wal_close(w);

    /* an error from the callback aborts open; the file is left as it was */
    uint64_t size_before = file_size(path);
    c.fail_at = 77;
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_ERR_INTERNAL);
    CHECK_HAS(st.msg, "callback refused seq 77");
    CHECK_U64(c.n, 76);
    collector_free(&c);
    CHECK_U64(file_size(path), size_before);

    /* a large record crosses the replay window (1 MiB) */
    CHECK_RC(wal_open(dir, VS_FSYNC_NEVER, 130, NULL, NULL, &w, &st), VS_OK);
    size_t big = (size_t)3 << 20;
    uint8_t *p = malloc(big);
    for (size_t i = 0; i < big; i++) p[i] = (uint8_t)(i * 7 + 3);
    uint64_t seq = 0;
    CHECK_RC(wal_append(w, 9, p, big, &seq, &st), VS_OK);
    CHECK_U64(seq, 131);
    CHECK_U64(wal_sync_count(w), 0); /* policy never */
    wal_close(w);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 130, collect, &c, &w, &st), VS_OK);
    CHECK_U64(c.n, 1);
    CHECK_U64(c.v[0].seq, 131);
    CHECK_U64(c.v[0].type, 9);
    CHECK_U64(c.v[0].len, big);
    CHECK(memcmp(c.v[0].p, p, big) == 0);
    collector_free(&c);
    free(p);
    wal_close(w);
    printf("test_wal: append/replay ok\n");
}

static void test_reset(void)
{
    char dir[128], path[160], tmp[170];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/wal.log", dir);
    snprintf(tmp, sizeof tmp, "%s/wal.log.tmp", dir);
    vs_status st;
    wal_t *w = NULL;
    collector c = {0};
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, NULL, NULL, &w, &st), VS_OK);
    append_stream(w, 2, 1, 40);
    /* reset keeping the records after 30 */
    CHECK_RC(wal_reset(w, 30, &st), VS_OK);
    uint64_t kept = 20;
    for (uint64_t s = 31; s <= 40; s++) kept += rec_disk_size(2, s);
    CHECK_U64(wal_size_bytes(w), kept);
    CHECK_U64(file_size(path), kept);
    CHECK_U64(wal_last_seq(w), 40);
    CHECK(!vs_file_exists(tmp));
    append_stream(w, 2, 41, 45);
    wal_close(w);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 30, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 2, 31, 45, __LINE__);
    collector_free(&c);
    /* a full reset: empty log based at 45, numbering continues */
    CHECK_RC(wal_reset(w, 45, &st), VS_OK);
    CHECK_U64(wal_size_bytes(w), 20);
    CHECK_U64(wal_last_seq(w), 45);
    append_stream(w, 2, 46, 50);
    wal_close(w);
    /* opening with an older snapshot than the log's base: records are missing -> CORRUPT */
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 30, collect, &c, &w, &st), VS_ERR_CORRUPT);
    CHECK_HAS(st.msg, "wal.log");
    CHECK_HAS(st.msg, "offset 8");
    collector_free(&c);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 45, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 2, 46, 50, __LINE__);
    collector_free(&c);
    wal_close(w);
    /* a snapshot newer than every record (crash between snapshot commit and wal_reset): the log
     * is reset at open and numbering continues after the snapshot */
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 60, collect, &c, &w, &st), VS_OK);
    CHECK_U64(c.n, 0);
    CHECK_U64(wal_last_seq(w), 60);
    CHECK_U64(file_size(path), 20);
    append_stream(w, 2, 61, 62);
    wal_close(w);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 60, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 2, 61, 62, __LINE__);
    collector_free(&c);

    /* a failed reset (rename fault) leaves the old log in use and no .tmp behind */
    vs_file_fault_set("wal.log.tmp", VS_FAULT_RENAME, 1, EIO, false);
    CHECK_RC(wal_reset(w, 62, &st), VS_ERR_IO);
    vs_file_fault_clear();
    CHECK_HAS(st.msg, "wal.log.tmp");
    CHECK(!wal_failed(w));
    CHECK(!vs_file_exists(tmp));
    append_stream(w, 2, 63, 64);
    wal_close(w);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 60, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 2, 61, 64, __LINE__);
    collector_free(&c);
    /* a failed directory sync after the rename: the log is failed (the rename may not last) */
    vs_file_fault_set(NULL, VS_FAULT_SYNC, 2, EIO, false); /* 1 = the .tmp, 2 = the directory */
    CHECK_RC(wal_reset(w, 64, &st), VS_ERR_IO);
    vs_file_fault_clear();
    CHECK(wal_failed(w));
    CHECK_RC(wal_write(w, 1, "x", 1, NULL, &st), VS_ERR_IO);
    CHECK_HAS(st.msg, "wal.log");
    wal_close(w);

    /* a leftover wal.log.tmp (crash during a reset) is removed at open; the old log stands */
    write_all(tmp, (const uint8_t *)"garbage", 7);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 64, collect, &c, &w, &st), VS_OK);
    CHECK(!vs_file_exists(tmp));
    CHECK_U64(wal_last_seq(w), 64);
    collector_free(&c);
    wal_close(w);
    printf("test_wal: reset ok\n");
}

/* ---- group commit ---- */

#define GC_THREADS 8

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int written;
    int need;
    bool armed;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false};

static void gate_hook(const char *path, void *ctx)
{
    (void)ctx;
    const char *b = strrchr(path, '/');
    if (!b || strcmp(b + 1, "wal.log") != 0) return;
    pthread_mutex_lock(&gate.mu);
    if (gate.armed) {
        gate.armed = false; /* hold only the first sync */
        while (gate.written < gate.need) pthread_cond_wait(&gate.cv, &gate.mu);
    }
    pthread_mutex_unlock(&gate.mu);
}

typedef struct {
    wal_t *w;
    int t;
    int n;
    bool gated;
    uint64_t last_seq;
} gc_arg;

static void *gc_thread(void *arg)
{
    gc_arg *a = arg;
    vs_status st;
    char buf[64];
    for (int i = 0; i < a->n; i++) {
        int len = snprintf(buf, sizeof buf, "t%d-i%05d", a->t, i);
        uint64_t seq = 0;
        vs_err rc = wal_write(a->w, (uint8_t)a->t, buf, (size_t)len, &seq, &st);
        if (rc != VS_OK) {
            fprintf(stderr, "wal_write: %s\n", st.msg);
            exit(1);
        }
        if (a->gated) {
            pthread_mutex_lock(&gate.mu);
            gate.written++;
            pthread_cond_broadcast(&gate.cv);
            pthread_mutex_unlock(&gate.mu);
        }
        if (wal_sync(a->w, seq, &st) != VS_OK) {
            fprintf(stderr, "wal_sync: %s\n", st.msg);
            exit(1);
        }
        a->last_seq = seq;
    }
    return NULL;
}

static void test_group_commit(void)
{
    char dir[128];
    new_dir(dir, sizeof dir);
    vs_status st;
    wal_t *w = NULL;
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, NULL, NULL, &w, &st), VS_OK);
    pthread_t th[GC_THREADS];
    gc_arg args[GC_THREADS];

    /* phase 1, deterministic: the first fsync is held until all 8 records are written, so the
     * 8 callers must share at most 2 fsyncs (the first leader's and one for the rest) */
    gate.written = 0;
    gate.need = GC_THREADS;
    gate.armed = true;
    vs_file_set_sync_hook(gate_hook, NULL);
    uint64_t s0 = wal_sync_count(w);
    for (int t = 0; t < GC_THREADS; t++) {
        args[t] = (gc_arg){w, t, 1, true, 0};
        pthread_create(&th[t], NULL, gc_thread, &args[t]);
    }
    for (int t = 0; t < GC_THREADS; t++) pthread_join(th[t], NULL);
    vs_file_set_sync_hook(NULL, NULL);
    uint64_t phase1 = wal_sync_count(w) - s0;
    printf("test_wal: group commit phase 1: %d records, %llu fsyncs\n", GC_THREADS,
           (unsigned long long)phase1);
    CHECK(phase1 >= 1 && phase1 <= 2);
    CHECK_U64(wal_last_seq(w), GC_THREADS);

    /* phase 2: 8 threads x 250 appends, free running */
    int per = 250;
    for (int t = 0; t < GC_THREADS; t++) {
        args[t] = (gc_arg){w, t, per, false, 0};
        pthread_create(&th[t], NULL, gc_thread, &args[t]);
    }
    for (int t = 0; t < GC_THREADS; t++) pthread_join(th[t], NULL);
    uint64_t total = GC_THREADS + (uint64_t)GC_THREADS * per;
    uint64_t syncs = wal_sync_count(w);
    printf("test_wal: group commit: %llu records, %llu fsyncs\n", (unsigned long long)total,
           (unsigned long long)syncs);
    CHECK_U64(wal_last_seq(w), total);
    CHECK(syncs < total);
    wal_close(w);

    /* every record present once, seqs consecutive, each thread's records in its order */
    collector c = {0};
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    CHECK_U64(c.n, total);
    int next[GC_THREADS] = {0};
    bool phase1_seen[GC_THREADS] = {false};
    for (size_t i = 0; i < c.n; i++) {
        CHECK_U64(c.v[i].seq, i + 1);
        int t = c.v[i].type;
        CHECK(t >= 0 && t < GC_THREADS);
        char want[64];
        int idx;
        if (i < GC_THREADS) {
            CHECK(!phase1_seen[t]);
            phase1_seen[t] = true;
            idx = 0;
        } else {
            idx = next[t]++;
        }
        int len = snprintf(want, sizeof want, "t%d-i%05d", t, idx);
        CHECK_U64(c.v[i].len, len);
        CHECK(memcmp(c.v[i].p, want, (size_t)len) == 0);
    }
    for (int t = 0; t < GC_THREADS; t++) CHECK_U64(next[t], per);
    collector_free(&c);
    wal_close(w);
    printf("test_wal: group commit ok\n");
}

/* ---- torn tails and corruption ---- */

/* Builds a log of records 1..n of stream tag in dir; returns its bytes and the offsets. */
static uint8_t *build_log(const char *dir, uint64_t tag, uint64_t n, size_t *len,
                          uint64_t *off /* n+1 entries */)
{
    char path[160];
    snprintf(path, sizeof path, "%s/wal.log", dir);
    unlink(path);
    vs_status st;
    wal_t *w = NULL;
    CHECK_RC(wal_open(dir, VS_FSYNC_NEVER, 0, NULL, NULL, &w, &st), VS_OK);
    append_stream(w, tag, 1, n);
    wal_close(w);
    off[0] = 20;
    for (uint64_t s = 1; s <= n; s++) off[s] = off[s - 1] + rec_disk_size(tag, s);
    uint8_t *p = read_all(path, len);
    CHECK_U64(*len, off[n]);
    return p;
}

static void test_torn_tail(void)
{
    char dir[128], path[160];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/wal.log", dir);
    vs_status st;
    wal_t *w = NULL;
    collector c = {0};
    uint64_t n = 12, off[13];
    size_t len = 0;
    /* pick a tag whose last record is non-empty and short enough to cut at every byte */
    uint64_t tag = 100;
    while (rec_len(tag, n) < 20 || rec_len(tag, n) > 300) tag++;
    uint8_t *img = build_log(dir, tag, n, &len, off);

    /* cut at every offset inside the last record (one warning each: quiet them) */
    vs_log_set_level(VS_LOG_ERROR);
    int cuts = 0;
    for (uint64_t cut = off[n - 1] + 1; cut < off[n]; cut++, cuts++) {
        write_all(path, img, (size_t)cut);
        CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
        check_stream(&c, tag, 1, n - 1, __LINE__);
        collector_free(&c);
        CHECK_U64(wal_last_seq(w), n - 1);
        CHECK_U64(wal_size_bytes(w), off[n - 1]);
        CHECK_U64(file_size(path), off[n - 1]);
        wal_close(w);
    }
    vs_log_set_level(VS_LOG_INFO);
    /* cut exactly at a record boundary: nothing torn */
    write_all(path, img, (size_t)off[n - 1]);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, tag, 1, n - 1, __LINE__);
    collector_free(&c);
    /* and the log continues after a repaired tail */
    append_stream(w, tag, n, n);
    wal_close(w);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, tag, 1, n, __LINE__);
    collector_free(&c);
    wal_close(w);

    /* garbage appended after the last record (checks_persist's torn tail) */
    static const uint8_t junk[] = {0x5A, 0x01, 0x00, 0x00, 0x37, 0x13,
                                   0xFF, 0x00, 0x42, 0x42, 0x42};
    uint8_t *img2 = malloc(len + sizeof junk);
    memcpy(img2, img, len);
    memcpy(img2 + len, junk, sizeof junk);
    write_all(path, img2, len + sizeof junk);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, tag, 1, n, __LINE__);
    collector_free(&c);
    CHECK_U64(file_size(path), len);
    wal_close(w);
    /* zeros after the last record (a file extended but never written, as after a power cut) */
    memset(img2 + len, 0, sizeof junk);
    write_all(path, img2, len + sizeof junk);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, tag, 1, n, __LINE__);
    collector_free(&c);
    CHECK_U64(file_size(path), len);
    wal_close(w);
    free(img2);

    /* a flipped byte anywhere in the last record: torn, cut */
    vs_log_set_level(VS_LOG_ERROR);
    for (uint64_t b = off[n - 1]; b < off[n]; b++) {
        img[b] ^= 0x5A;
        write_all(path, img, len);
        img[b] ^= 0x5A;
        CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
        check_stream(&c, tag, 1, n - 1, __LINE__);
        collector_free(&c);
        CHECK_U64(file_size(path), off[n - 1]);
        wal_close(w);
    }

    vs_log_set_level(VS_LOG_INFO);
    /* a flipped byte anywhere in a middle record: CORRUPT naming wal.log and the record's
     * offset, nothing truncated */
    uint64_t k = n / 2;
    char want[64];
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)off[k - 1]);
    for (uint64_t b = off[k - 1]; b < off[k]; b++) {
        img[b] ^= 0x5A;
        write_all(path, img, len);
        img[b] ^= 0x5A;
        CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_ERR_CORRUPT);
        CHECK_HAS(st.msg, path);
        CHECK_HAS(st.msg, want);
        CHECK_U64(file_size(path), len);
        collector_free(&c);
    }
    /* every bit of the header */
    for (uint64_t b = 0; b < 20; b++) {
        img[b] ^= 0x01;
        write_all(path, img, len);
        img[b] ^= 0x01;
        CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_ERR_CORRUPT);
        CHECK_HAS(st.msg, "wal.log");
        CHECK_HAS(st.msg, "offset");
        CHECK_U64(c.n, 0);
        CHECK_U64(file_size(path), len);
    }
    /* a header shorter than 20 bytes */
    write_all(path, img, 10);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_ERR_CORRUPT);
    CHECK_HAS(st.msg, "offset 0");

    /* seq going backwards: record 3 copied again after the last record (valid checksum) */
    size_t r3 = (size_t)(off[3] - off[2]);
    uint8_t *img3 = malloc(len + r3);
    memcpy(img3, img, len);
    memcpy(img3 + len, img + off[2], r3);
    write_all(path, img3, len + r3);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_ERR_CORRUPT);
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)len);
    CHECK_HAS(st.msg, want);
    CHECK_HAS(st.msg, "seq 3");
    CHECK_U64(file_size(path), len + r3);
    collector_free(&c);
    /* a record missing in the middle (seq gap) */
    memcpy(img3, img, off[4]);
    memcpy(img3 + off[4], img + off[5], len - off[5]);
    write_all(path, img3, len - (off[5] - off[4]));
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_ERR_CORRUPT);
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)off[4]);
    CHECK_HAS(st.msg, want);
    collector_free(&c);
    free(img3);
    free(img);
    printf("test_wal: torn tails (%d cuts) and corruption ok\n", cuts);
}

/* ---- disk full ---- */

static void test_disk_full(void)
{
    char dir[128], path[160];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/wal.log", dir);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        signal(SIGXFSZ, SIG_IGN);
        vs_status st;
        wal_t *w = NULL;
        if (wal_open(dir, VS_FSYNC_ALWAYS, 0, NULL, NULL, &w, &st) != VS_OK) _exit(10);
        append_stream(w, 7, 1, 30);
        struct rlimit rl;
        getrlimit(RLIMIT_FSIZE, &rl);
        struct rlimit lim = {(rlim_t)(wal_size_bytes(w) + 2000), rl.rlim_max};
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(11);
        uint8_t buf[1024];
        uint64_t s = 31;
        vs_err rc = VS_OK;
        for (; s < 200; s++) {
            size_t n = rec_len(7, s);
            rec_fill(7, s, buf, n);
            rc = wal_append(w, rec_type(7, s), buf, n, NULL, &st);
            if (rc != VS_OK) break;
        }
        if (rc != VS_ERR_NOSPACE && rc != VS_ERR_IO) _exit(12);
        if (!strstr(st.msg, path)) _exit(13);
        if (rc == VS_ERR_NOSPACE && !strstr(st.msg, "No space left on device while writing"))
            _exit(14);
        if (wal_failed(w)) _exit(15);
        if (file_size(path) != wal_size_bytes(w)) _exit(16);
        /* space comes back: the log is usable again */
        setrlimit(RLIMIT_FSIZE, &rl);
        size_t n = rec_len(7, s);
        rec_fill(7, s, buf, n);
        if (wal_append(w, rec_type(7, s), buf, n, NULL, &st) != VS_OK) _exit(17);
        uint64_t last = wal_last_seq(w);
        wal_close(w);
        if (write(pfd[1], &last, sizeof last) != sizeof last) _exit(18);
        fprintf(stderr, "test_wal: child: disk full answered %s: %s\n", vs_err_name(rc), st.msg);
        _exit(0);
    }
    close(pfd[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    uint64_t last = 0;
    ssize_t r = read(pfd[0], &last, sizeof last);
    close(pfd[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_wal.c: FAIL: disk-full child exited with status %d\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        exit(1);
    }
    CHECK(r == (ssize_t)sizeof last);
    CHECK(last > 30);
    vs_status st;
    wal_t *w = NULL;
    collector c = {0};
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 7, 1, last, __LINE__);
    collector_free(&c);
    wal_close(w);
    printf("test_wal: disk full ok (%llu records intact)\n", (unsigned long long)last);
}

/* ---- injected faults ---- */

static void test_faults(void)
{
    char dir[128], path[160];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/wal.log", dir);
    vs_status st;
    wal_t *w = NULL;
    collector c = {0};
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, NULL, NULL, &w, &st), VS_OK);
    append_stream(w, 8, 1, 10);
    uint64_t size = wal_size_bytes(w);

    /* a write fails half-way (ENOSPC): the partial record is truncated away, log usable */
    uint8_t buf[1024];
    size_t n = rec_len(8, 11);
    rec_fill(8, 11, buf, n);
    vs_file_fault_set("wal.log", VS_FAULT_WRITE, 1, ENOSPC, false);
    CHECK_RC(wal_append(w, rec_type(8, 11), buf, n, NULL, &st), VS_ERR_NOSPACE);
    CHECK_HAS(st.msg, "No space left on device while writing");
    CHECK_HAS(st.msg, path);
    CHECK(!wal_failed(w));
    CHECK_U64(wal_size_bytes(w), size);
    CHECK_U64(file_size(path), size);
    CHECK_U64(wal_last_seq(w), 10); /* the failed record's seq is not consumed */
    /* EIO on write -> VS_ERR_IO naming the file */
    vs_file_fault_set("wal.log", VS_FAULT_WRITE, 1, EIO, false);
    CHECK_RC(wal_append(w, rec_type(8, 11), buf, n, NULL, &st), VS_ERR_IO);
    CHECK_HAS(st.msg, path);
    CHECK(!wal_failed(w));
    vs_file_fault_clear();
    append_stream(w, 8, 11, 12);
    size = wal_size_bytes(w);

    /* a write fails and so does the truncate: sticky failed */
    vs_file_fault_set("wal.log", VS_FAULT_WRITE, 1, ENOSPC, false);
    vs_file_fault_set("wal.log", VS_FAULT_TRUNCATE, 1, EIO, false);
    n = rec_len(8, 13);
    rec_fill(8, 13, buf, n);
    CHECK_RC(wal_append(w, rec_type(8, 13), buf, n, NULL, &st), VS_ERR_NOSPACE);
    vs_file_fault_clear();
    CHECK(wal_failed(w));
    CHECK_RC(wal_append(w, rec_type(8, 13), buf, n, NULL, &st), VS_ERR_IO);
    CHECK_HAS(st.msg, "failed");
    CHECK_HAS(st.msg, path);
    CHECK_RC(wal_sync(w, 12, &st), VS_ERR_IO);
    CHECK_RC(wal_reset(w, 12, &st), VS_ERR_IO);
    wal_close(w);
    /* reopen: the half record is a torn tail, the 12 records intact */
    CHECK(file_size(path) > size);
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 8, 1, 12, __LINE__);
    collector_free(&c);
    CHECK_U64(file_size(path), size);

    /* an fsync failure: the caller gets the error, the log turns sticky-failed */
    vs_file_fault_set("wal.log", VS_FAULT_SYNC, 1, EIO, false);
    n = rec_len(8, 13);
    rec_fill(8, 13, buf, n);
    uint64_t seq = 0;
    CHECK_RC(wal_write(w, rec_type(8, 13), buf, n, &seq, &st), VS_OK);
    CHECK_RC(wal_sync(w, seq, &st), VS_ERR_IO);
    CHECK_HAS(st.msg, "fsync");
    CHECK_HAS(st.msg, path);
    vs_file_fault_clear();
    CHECK(wal_failed(w));
    CHECK_RC(wal_write(w, 1, "x", 1, NULL, &st), VS_ERR_IO);
    CHECK_RC(wal_sync(w, seq, &st), VS_ERR_IO);
    wal_close(w);

    /* everysec: a flusher fsync failure fails the log too; found by the next wal_sync */
    CHECK_RC(wal_open(dir, VS_FSYNC_EVERYSEC, 0, NULL, NULL, &w, &st), VS_OK);
    vs_file_fault_set("wal.log", VS_FAULT_SYNC, 1, EIO, true);
    CHECK_RC(wal_write(w, 1, "y", 1, &seq, &st), VS_OK);
    CHECK_RC(wal_sync(w, seq, &st), VS_OK);                             /* returns at once */
    for (int i = 0; i < 300 && !wal_failed(w); i++) usleep(100 * 1000); /* liveness, 30 s cap */
    vs_file_fault_clear();
    CHECK(wal_failed(w));
    CHECK_RC(wal_sync(w, seq, &st), VS_ERR_IO);
    wal_close(w);
    printf("test_wal: injected faults ok\n");
}

static void test_policies(void)
{
    char dir[128];
    new_dir(dir, sizeof dir);
    vs_status st;
    wal_t *w = NULL;
    collector c = {0};
    /* everysec: wal_sync never fsyncs itself; the flusher does (liveness wait, 30 s cap) */
    CHECK_RC(wal_open(dir, VS_FSYNC_EVERYSEC, 0, NULL, NULL, &w, &st), VS_OK);
    append_stream(w, 9, 1, 20);
    for (int i = 0; i < 300 && wal_sync_count(w) == 0; i++) usleep(100 * 1000);
    CHECK(wal_sync_count(w) >= 1);
    append_stream(w, 9, 21, 25);
    wal_close(w); /* syncs what the flusher has not */
    wal_flusher_shutdown();
    /* the flusher starts again on the next everysec open */
    CHECK_RC(wal_open(dir, VS_FSYNC_EVERYSEC, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 9, 1, 25, __LINE__);
    collector_free(&c);
    append_stream(w, 9, 26, 30);
    for (int i = 0; i < 300 && wal_sync_count(w) == 0; i++) usleep(100 * 1000);
    CHECK(wal_sync_count(w) >= 1);
    wal_close(w);
    wal_flusher_shutdown();
    /* never: no fsync at all, not even at close */
    CHECK_RC(wal_open(dir, VS_FSYNC_NEVER, 0, collect, &c, &w, &st), VS_OK);
    check_stream(&c, 9, 1, 30, __LINE__);
    collector_free(&c);
    uint64_t f0 = vs_file_op_count(VS_FAULT_SYNC);
    append_stream(w, 9, 31, 40);
    wal_close(w);
    CHECK_U64(vs_file_op_count(VS_FAULT_SYNC), f0);
    /* always: one fsync per lone append */
    CHECK_RC(wal_open(dir, VS_FSYNC_ALWAYS, 0, collect, &c, &w, &st), VS_OK);
    collector_free(&c);
    uint64_t s0 = wal_sync_count(w);
    append_stream(w, 9, 41, 45);
    CHECK_U64(wal_sync_count(w) - s0, 5);
    /* a record too large is refused before anything is written */
    CHECK_RC(wal_write(w, 1, "", WAL_MAX_PAYLOAD + 1, NULL, &st), VS_ERR_TOO_LARGE);
    wal_close(w);
    printf("test_wal: fsync policies ok\n");
}

int main(void)
{
    const char *env = getenv("VS_TEST_SEED");
    g_seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("test_wal: seed %llu (VS_TEST_SEED=%llu to rerun)\n", (unsigned long long)g_seed,
           (unsigned long long)g_seed);
    snprintf(g_root, sizeof g_root, "/tmp/vs_test_wal_XXXXXX");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_append_replay();
    test_reset();
    test_group_commit();
    test_torn_tail();
    test_disk_full();
    test_faults();
    test_policies();
    nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    printf("test_wal: %d checks passed\n", g_checks);
    return 0;
}
