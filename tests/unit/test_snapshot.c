/*
 * test_snapshot.c - unit tests of src/storage/snapshot.c: round trips of bodies around the 1 MiB
 * block size written and read in random chunk sizes, a flipped byte anywhere (header, block
 * lengths, data, crcs, footer) -> VS_ERR_CORRUPT naming the file and an offset, truncation at
 * every structural boundary and at random points, wrong kind, missing file, short and long
 * reads, write faults, and snapset_commit / snapset_recover (roll forward, discard, disagreeing
 * or missing files). Prints load throughput of a large body (VS_SNAP_BENCH_MB, default 128;
 * informational). Random choices print their seed (VS_TEST_SEED=<n> reruns).
 */
#include "storage/file.h"
#include "storage/snapshot.h"

#include "util/log.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int g_checks;

static void check_true(bool c, const char *expr, int line)
{
    g_checks++;
    if (!c) {
        fprintf(stderr, "test_snapshot.c:%d: FAIL: %s\n", line, expr);
        exit(1);
    }
}
static void check_u64(uint64_t a, uint64_t b, const char *ea, const char *eb, int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "test_snapshot.c:%d: FAIL: %s == %s (%llu vs %llu)\n", line, ea, eb,
                (unsigned long long)a, (unsigned long long)b);
        exit(1);
    }
}
static void check_rc(vs_err rc, vs_err want, const vs_status *st, const char *expr, int line)
{
    g_checks++;
    if (rc != want) {
        fprintf(stderr, "test_snapshot.c:%d: FAIL: %s returned %s, expected %s (message: %s)\n",
                line, expr, vs_err_name(rc), vs_err_name(want), st->msg);
        exit(1);
    }
}
static void check_has(const char *s, const char *sub, int line)
{
    g_checks++;
    if (!strstr(s, sub)) {
        fprintf(stderr, "test_snapshot.c:%d: FAIL: \"%s\" does not contain \"%s\"\n", line, s, sub);
        exit(1);
    }
}
#define CHECK(c)             check_true((c), #c, __LINE__)
#define CHECK_U64(a, b)      check_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __LINE__)
#define CHECK_RC(call, want) check_rc((call), (want), &st, #call, __LINE__)
#define CHECK_HAS(s, sub)    check_has((s), (sub), __LINE__)

#define KIND_VECS 0x53434556u /* "VECS" */
#define KIND_META 0x4154454du /* "META" */
#define MiB       ((size_t)1 << 20)

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
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

static void fill(uint8_t *p, size_t n, uint64_t salt)
{
    uint64_t h = salt * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        h ^= h << 13, h ^= h >> 7, h ^= h << 17;
        p[i] = (uint8_t)h;
    }
}

/* A random chunk size: mostly small, sometimes more than a block. */
static size_t chunk(size_t left)
{
    size_t c;
    switch (rnd() % 4) {
    case 0:
        c = 1 + rnd() % 16;
        break;
    case 1:
        c = 1 + rnd() % 5000;
        break;
    case 2:
        c = 1 + rnd() % (3 * MiB);
        break;
    default:
        c = MiB;
        break;
    }
    return c < left ? c : left;
}

/* Writes and finishes PATH.tmp holding body, in random chunks. */
static void write_snap(const char *path, uint32_t kind, uint64_t seq, const uint8_t *body, size_t n)
{
    vs_status st;
    snap_writer_t *w = NULL;
    CHECK_RC(snap_create(path, kind, seq, &w, &st), VS_OK);
    for (size_t off = 0; off < n;) {
        size_t c = chunk(n - off);
        CHECK_RC(snap_write(w, body + off, c, &st), VS_OK);
        off += c;
    }
    CHECK_RC(snap_finish(w, &st), VS_OK);
}

/* Opens and reads a whole body of n bytes in random chunks; returns the first error. */
static vs_err read_snap(const char *path, uint32_t kind, uint8_t *out, size_t n, uint64_t *seq,
                        vs_status *st)
{
    snap_reader_t *r = NULL;
    vs_err rc = snap_open(path, kind, &r, seq, st);
    if (rc != VS_OK) return rc;
    for (size_t off = 0; rc == VS_OK && off < n;) {
        size_t c = chunk(n - off);
        rc = snap_read(r, out + off, c, st);
        off += c;
    }
    if (rc == VS_OK) rc = snap_read_end(r, st);
    snap_close(r);
    return rc;
}

static void commit_one(const char *dir, const char *name)
{
    vs_status st;
    const char *names[1] = {name};
    CHECK_RC(snapset_commit(dir, names, 1, &st), VS_OK);
}

static void test_round_trip(void)
{
    char dir[128], path[192], tmp[200];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/vectors.bin", dir);
    snprintf(tmp, sizeof tmp, "%s/vectors.bin.tmp", dir);
    size_t sizes[] = {0, 1, 7, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + MiB / 2 + 13};
    vs_status st;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *body = malloc(n + 1), *back = malloc(n + 1);
        fill(body, n, k + 1);
        write_snap(path, KIND_VECS, 1000 + k, body, n);
        CHECK(vs_file_exists(tmp));
        CHECK(k > 0 || !vs_file_exists(path)); /* not committed before snapset_commit */
        commit_one(dir, "vectors.bin");
        CHECK(!vs_file_exists(tmp));
        size_t blocks = (n + MiB - 1) / MiB;
        CHECK_U64(file_size(path), 32 + n + 8 * blocks + 24);
        uint64_t seq = 0;
        memset(back, 0, n + 1);
        CHECK_RC(read_snap(path, KIND_VECS, back, n, &seq, &st), VS_OK);
        CHECK_U64(seq, 1000 + k);
        CHECK(memcmp(body, back, n) == 0);
        /* reading one byte too many: CORRUPT naming the file */
        snap_reader_t *r = NULL;
        CHECK_RC(snap_open(path, KIND_VECS, &r, &seq, &st), VS_OK);
        CHECK_RC(snap_read(r, back, n, &st), VS_OK);
        CHECK_RC(snap_read(r, back, 1, &st), VS_ERR_CORRUPT);
        CHECK_HAS(st.msg, path);
        CHECK_HAS(st.msg, "offset");
        CHECK_RC(snap_read(r, back, 1, &st), VS_ERR_CORRUPT); /* sticky */
        snap_close(r);
        /* reading one byte too few: snap_read_end says the body is longer */
        if (n) {
            CHECK_RC(snap_open(path, KIND_VECS, &r, &seq, &st), VS_OK);
            CHECK_RC(snap_read(r, back, n - 1, &st), VS_OK);
            CHECK_RC(snap_read_end(r, &st), VS_ERR_CORRUPT);
            CHECK_HAS(st.msg, "body too long");
            snap_close(r);
        }
        free(body);
        free(back);
    }
    /* wrong kind, missing file */
    uint64_t seq = 0;
    snap_reader_t *r = NULL;
    CHECK_RC(snap_open(path, KIND_META, &r, &seq, &st), VS_ERR_CORRUPT);
    CHECK_HAS(st.msg, path);
    CHECK_HAS(st.msg, "'VECS'");
    CHECK_HAS(st.msg, "'META'");
    CHECK_HAS(st.msg, "offset 8");
    char missing[200];
    snprintf(missing, sizeof missing, "%s/metadata.bin", dir);
    CHECK_RC(snap_open(missing, KIND_META, &r, &seq, &st), VS_ERR_NOT_FOUND);
    CHECK_HAS(st.msg, missing);

    /* snap_abort removes the .tmp and leaves the committed file alone */
    snap_writer_t *w = NULL;
    CHECK_RC(snap_create(path, KIND_VECS, 9, &w, &st), VS_OK);
    CHECK_RC(snap_write(w, "abc", 3, &st), VS_OK);
    CHECK(vs_file_exists(tmp));
    snap_abort(w);
    CHECK(!vs_file_exists(tmp));
    CHECK(vs_file_exists(path));

    /* a write fault: the error names the file, snap_finish fails and removes the .tmp */
    uint8_t *big = malloc(3 * MiB);
    fill(big, 3 * MiB, 99);
    CHECK_RC(snap_create(path, KIND_VECS, 10, &w, &st), VS_OK);
    vs_file_fault_set("vectors.bin.tmp", VS_FAULT_WRITE, 2, ENOSPC, false);
    CHECK_RC(snap_write(w, big, 3 * MiB, &st), VS_ERR_NOSPACE);
    vs_file_fault_clear();
    CHECK_HAS(st.msg, "No space left on device while writing");
    CHECK_HAS(st.msg, tmp);
    CHECK_RC(snap_write(w, big, 10, &st), VS_ERR_NOSPACE);
    CHECK_RC(snap_finish(w, &st), VS_ERR_NOSPACE);
    CHECK(!vs_file_exists(tmp));
    /* an fsync fault in snap_finish */
    CHECK_RC(snap_create(path, KIND_VECS, 11, &w, &st), VS_OK);
    CHECK_RC(snap_write(w, big, 10, &st), VS_OK);
    vs_file_fault_set("vectors.bin.tmp", VS_FAULT_SYNC, 1, EIO, false);
    CHECK_RC(snap_finish(w, &st), VS_ERR_IO);
    vs_file_fault_clear();
    CHECK_HAS(st.msg, tmp);
    CHECK(!vs_file_exists(tmp));
    /* a commit whose .tmp is missing fails naming it */
    const char *names[1] = {"metadata.bin"};
    CHECK_RC(snapset_commit(dir, names, 1, &st), VS_ERR_IO);
    CHECK_HAS(st.msg, "metadata.bin.tmp");
    free(big);
    printf("test_snapshot: round trips ok\n");
}

static void expect_corrupt(const char *path, size_t n, const char *want_sub, int line)
{
    vs_status st;
    uint8_t *back = malloc(n + 1);
    uint64_t seq;
    vs_err rc = read_snap(path, KIND_VECS, back, n, &seq, &st);
    free(back);
    check_rc(rc, VS_ERR_CORRUPT, &st, "read_snap of a damaged file", line);
    check_has(st.msg, path, line);
    check_has(st.msg, "offset", line);
    if (want_sub) check_has(st.msg, want_sub, line);
}

static void test_corruption(void)
{
    char dir[128], path[192];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/vectors.bin", dir);
    size_t n = 2 * MiB + 777; /* 3 blocks */
    uint8_t *body = malloc(n);
    fill(body, n, 5);
    write_snap(path, KIND_VECS, 42, body, n);
    commit_one(dir, "vectors.bin");
    size_t len = 0;
    uint8_t *img = read_all(path, &len);
    uint64_t blk[3] = {32, 32 + 8 + MiB, 32 + 2 * (8 + MiB)};
    uint64_t footer = blk[2] + 8 + 777;
    CHECK_U64(len, footer + 24);

    /* every header byte */
    for (size_t b = 0; b < 32; b++) {
        img[b] ^= 0x10;
        write_all(path, img, len);
        img[b] ^= 0x10;
        expect_corrupt(path, n, NULL, __LINE__);
    }
    /* every byte of each block's length and crc, and bytes of its data */
    char want[96];
    for (int k = 0; k < 3; k++) {
        size_t blen = k < 2 ? MiB : 777;
        uint64_t pos[] = {blk[k],
                          blk[k] + 1,
                          blk[k] + 2,
                          blk[k] + 3,
                          blk[k] + 4,
                          blk[k] + 4 + blen / 2,
                          blk[k] + 4 + blen - 1,
                          blk[k] + 4 + blen,
                          blk[k] + 5 + blen,
                          blk[k] + 6 + blen,
                          blk[k] + 7 + blen};
        for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++) {
            img[pos[i]] ^= 0x01;
            write_all(path, img, len);
            img[pos[i]] ^= 0x01;
            /* a damaged data byte or crc is reported at the block's offset */
            bool in_data_or_crc = pos[i] >= blk[k] + 4;
            snprintf(want, sizeof want, "checksum mismatch in block at offset %llu",
                     (unsigned long long)blk[k]);
            expect_corrupt(path, n, in_data_or_crc ? want : NULL, __LINE__);
        }
    }
    /* random bytes anywhere in the body blocks */
    for (int i = 0; i < 60; i++) {
        uint64_t p = 32 + rnd() % (footer - 32);
        uint8_t x = (uint8_t)(1 + rnd() % 255);
        img[p] ^= x;
        write_all(path, img, len);
        img[p] ^= x;
        expect_corrupt(path, n, NULL, __LINE__);
    }
    /* every byte of the footer */
    for (uint64_t b = footer; b < footer + 24; b++) {
        img[b] ^= 0x40;
        write_all(path, img, len);
        img[b] ^= 0x40;
        expect_corrupt(path, n, NULL, __LINE__);
    }
    /* truncation: at every structural boundary (+/- 1) and at random points */
    uint64_t cuts[] = {0,          1,          31,     32,         33,         35,         36,
                       37,         blk[1] - 1, blk[1], blk[1] + 1, blk[1] + 4, blk[2] - 4, blk[2],
                       blk[2] + 9, footer - 1, footer, footer + 1, footer + 4, footer + 23};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_all(path, img, (size_t)cuts[i]);
        expect_corrupt(path, n, NULL, __LINE__);
    }
    for (int i = 0; i < 40; i++) {
        write_all(path, img, (size_t)(rnd() % len));
        expect_corrupt(path, n, NULL, __LINE__);
    }
    /* bytes appended after the footer */
    uint8_t *img2 = malloc(len + 5);
    memcpy(img2, img, len);
    memset(img2 + len, 0, 5);
    write_all(path, img2, len + 5);
    expect_corrupt(path, n, "after the footer", __LINE__);
    /* a block dropped (block 1 removed, the rest shifted up): the footer counts disagree or the
     * body comes up short */
    memcpy(img2, img, blk[1]);
    memcpy(img2 + blk[1], img + blk[2], len - blk[2]);
    write_all(path, img2, len - (blk[2] - blk[1]));
    expect_corrupt(path, n, NULL, __LINE__);
    free(img2);
    /* the pristine image still reads */
    write_all(path, img, len);
    vs_status st;
    uint8_t *back = malloc(n);
    uint64_t seq = 0;
    CHECK_RC(read_snap(path, KIND_VECS, back, n, &seq, &st), VS_OK);
    CHECK(memcmp(back, body, n) == 0);
    free(back);
    free(img);
    free(body);
    printf("test_snapshot: corruption ok\n");
}

/* ---- sets ---- */

static const char *const set_names[3] = {"vectors.bin", "metadata.bin", "hnsw_index.bin"};

static void make_tmp(const char *dir, const char *name, uint64_t seq)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t body[3000];
    fill(body, sizeof body, seq * 10 + (uint64_t)strlen(name));
    write_snap(path, KIND_VECS, seq, body, sizeof body);
}

static void make_set(const char *dir, uint64_t seq)
{
    vs_status st;
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], seq);
    CHECK_RC(snapset_commit(dir, set_names, 3, &st), VS_OK);
}

/* The seq of a committed file (0 if absent); the body must read back intact. */
static uint64_t final_seq(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!vs_file_exists(path)) return 0;
    uint8_t body[3000], want[3000];
    uint64_t seq = 0;
    vs_status st;
    CHECK_RC(read_snap(path, KIND_VECS, body, sizeof body, &seq, &st), VS_OK);
    fill(want, sizeof want, seq * 10 + (uint64_t)strlen(name));
    CHECK(memcmp(body, want, sizeof body) == 0);
    return seq;
}

static bool tmp_exists(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.tmp", dir, name);
    return vs_file_exists(path);
}

static void rename_tmp(const char *dir, const char *name)
{
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/%s.tmp", dir, name);
    snprintf(b, sizeof b, "%s/%s", dir, name);
    CHECK(rename(a, b) == 0);
}

static void test_sets(void)
{
    char dir[128];
    vs_status st;
    /* an empty directory: nothing to do */
    new_dir(dir, sizeof dir);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);

    /* a committed set: nothing to do */
    make_set(dir, 1);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) CHECK_U64(final_seq(dir, set_names[i]), 1);

    /* crash mid-commit (first file renamed): roll forward */
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 2);
    rename_tmp(dir, set_names[0]);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_U64(final_seq(dir, set_names[i]), 2);
        CHECK(!tmp_exists(dir, set_names[i]));
    }
    /* crash mid-commit after two renames */
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 3);
    rename_tmp(dir, set_names[0]);
    rename_tmp(dir, set_names[1]);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) CHECK_U64(final_seq(dir, set_names[i]), 3);

    /* crash before the commit point (all .tmp finished, none renamed): discard */
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 4);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_U64(final_seq(dir, set_names[i]), 3);
        CHECK(!tmp_exists(dir, set_names[i]));
    }
    /* crash while writing the .tmp files (two of three, the last one half-written): discard */
    make_tmp(dir, set_names[0], 5);
    make_tmp(dir, set_names[1], 5);
    char p[256];
    snprintf(p, sizeof p, "%s/%s.tmp", dir, set_names[2]);
    write_all(p, (const uint8_t *)"VSSN partial", 12);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_U64(final_seq(dir, set_names[i]), 3);
        CHECK(!tmp_exists(dir, set_names[i]));
    }
    /* a stale .tmp of an older seq next to a committed set: removed */
    make_tmp(dir, set_names[1], 2);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    CHECK(!tmp_exists(dir, set_names[1]));
    for (int i = 0; i < 3; i++) CHECK_U64(final_seq(dir, set_names[i]), 3);

    /* a renamed file whose partners' .tmp files are damaged: cannot be reconciled -> CORRUPT */
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 6);
    rename_tmp(dir, set_names[0]);
    snprintf(p, sizeof p, "%s/%s.tmp", dir, set_names[2]);
    CHECK(truncate(p, 100) == 0);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_ERR_CORRUPT);
    CHECK_HAS(st.msg, dir);
    CHECK_HAS(st.msg, "vectors.bin seq 6");
    CHECK_HAS(st.msg, "metadata.bin seq 3");

    /* finals disagreeing with no .tmp: CORRUPT; a final missing: CORRUPT naming it */
    new_dir(dir, sizeof dir);
    make_set(dir, 7);
    make_tmp(dir, set_names[1], 8);
    rename_tmp(dir, set_names[1]);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_ERR_CORRUPT);
    CHECK_HAS(st.msg, "metadata.bin seq 8");
    snprintf(p, sizeof p, "%s/%s", dir, set_names[2]);
    unlink(p);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_ERR_CORRUPT);
    CHECK_HAS(st.msg, "hnsw_index.bin missing");

    /* the very first snapshot: crash mid-commit rolls forward; before the commit discards */
    new_dir(dir, sizeof dir);
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 1);
    rename_tmp(dir, set_names[0]);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) CHECK_U64(final_seq(dir, set_names[i]), 1);
    new_dir(dir, sizeof dir);
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 1);
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_U64(final_seq(dir, set_names[i]), 0);
        CHECK(!tmp_exists(dir, set_names[i]));
    }
    /* a rename fault in the middle of a commit, then recovery finishes it */
    new_dir(dir, sizeof dir);
    make_set(dir, 1);
    for (int i = 0; i < 3; i++) make_tmp(dir, set_names[i], 2);
    vs_file_fault_set("metadata.bin.tmp", VS_FAULT_RENAME, 1, EIO, false);
    CHECK_RC(snapset_commit(dir, set_names, 3, &st), VS_ERR_IO);
    vs_file_fault_clear();
    CHECK_HAS(st.msg, "metadata.bin.tmp");
    CHECK_RC(snapset_recover(dir, set_names, 3, &st), VS_OK);
    for (int i = 0; i < 3; i++) CHECK_U64(final_seq(dir, set_names[i]), 2);
    printf("test_snapshot: set commit and recovery ok\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench_load(void)
{
    const char *env = getenv("VS_SNAP_BENCH_MB");
    size_t mb = env ? (size_t)strtoul(env, NULL, 10) : 128;
    if (!mb) return;
    char dir[128], path[192];
    new_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/vectors.bin", dir);
    size_t n = mb * MiB + 12345;
    uint8_t *body = malloc(n), *back = malloc(n);
    fill(body, n, 77);
    memset(back, 0, n); /* measure the load, not the page faults of a fresh buffer */
    vs_status st;
    double t0 = now_s();
    snap_writer_t *w = NULL;
    CHECK_RC(snap_create(path, KIND_VECS, 1, &w, &st), VS_OK);
    CHECK_RC(snap_write(w, body, n, &st), VS_OK);
    CHECK_RC(snap_finish(w, &st), VS_OK);
    commit_one(dir, "vectors.bin");
    double t1 = now_s();
    snap_reader_t *r = NULL;
    uint64_t seq;
    CHECK_RC(snap_open(path, KIND_VECS, &r, &seq, &st), VS_OK);
    CHECK_RC(snap_read(r, back, n, &st), VS_OK);
    CHECK_RC(snap_read_end(r, &st), VS_OK);
    snap_close(r);
    double t2 = now_s();
    CHECK(memcmp(body, back, n) == 0);
    printf("test_snapshot: %zu MiB body: write+fsync %.0f MB/s, load (page cache) %.0f MB/s\n", mb,
           (double)n / (t1 - t0) / 1e6, (double)n / (t2 - t1) / 1e6);
    free(body);
    free(back);
}

int main(void)
{
    const char *env = getenv("VS_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("test_snapshot: seed %llu (VS_TEST_SEED=%llu to rerun)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 2654435761u + 1;
    snprintf(g_root, sizeof g_root, "/tmp/vs_test_snap_XXXXXX");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_corruption();
    test_sets();
    bench_load();
    nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    printf("test_snapshot: %d checks passed\n", g_checks);
    return 0;
}
