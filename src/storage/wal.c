/*
 * wal.c - the write-ahead log of wal.h: append with group commit, replay with torn-tail repair,
 * atomic reset after a snapshot, and the shared everysec flusher thread.
 *
 * Format (little-endian; docs/storage.md has the same tables):
 *
 *   file header, 20 bytes                     record, 17 + len bytes
 *   off size meaning                          off     size meaning
 *   0   4    magic "VSWL"                     0       4    len: payload bytes (<= 1 GiB)
 *   4   2    version (1)                      4       8    seq
 *   6   2    flags (0)                        12      1    type (the caller's)
 *   8   8    base_seq                         13      len  payload (opaque)
 *   16  4    crc32c of bytes 0..15            13+len  4    crc32c of bytes 0..13+len
 *
 * Validity (SQLite wal.c's frame rule, adapted): reading from offset 20, a record is valid when
 * its length is <= WAL_MAX_PAYLOAD, it lies wholly inside the file and its crc matches; the
 * first record has seq base_seq+1 and each next one the seq after its predecessor. Replay stops
 * at the first invalid record X. If some valid record (any offset > X, seq greater than the last
 * good one, crc matching) exists after X, the log is corrupt: VS_ERR_CORRUPT naming the file
 * and X, nothing changed. Otherwise X starts a torn tail (a write cut short by a crash, or a
 * tar copy taken mid-write): the file is truncated to X and a warning names file, offset and
 * bytes cut. A valid record with the wrong seq is corruption, never a torn tail.
 *
 * Invariants:
 *   1. The records in the file are exactly base_seq+1 .. last_seq, in order, and `end` is the
 *      file offset after the last one; every write happens at `end` under `mu`.
 *   2. A failed write leaves no partial record: it is truncated away before `mu` is released,
 *      or the log is failed (`failed` set, every later call refused). Sequence numbers of
 *      failed writes are not consumed.
 *   3. synced_seq <= last_seq; every record <= synced_seq has been fdatasync'ed.
 *   4. wal.log is only ever replaced by rename of a complete, fsynced wal.log.tmp, so a crash
 *      leaves the old or the new log, both valid. A leftover wal.log.tmp is deleted at open.
 *   5. At most one fdatasync per log is in flight (`syncing`), and `f` is only swapped (reset)
 *      while none is.
 *
 * Group commit (wal_sync, policy always): under `mu`, a caller whose record is not yet synced
 * either waits on `cv` while another thread syncs, or becomes the leader: it notes target =
 * last_seq, drops `mu`, runs one fdatasync, retakes `mu`, sets synced_seq = target and wakes
 * everyone. Writers keep appending during the fdatasync; their records go with the next leader.
 *
 * Concurrency: `mu` guards the fields grouped under it in struct wal. last_seq, end, failed and
 * n_syncs are also atomics so the const getters read them without the lock. The flusher list is
 * guarded by fl_mu; lock order fl_mu -> wal.mu. The flusher holds fl_mu while it syncs, so
 * wal_close (which unlinks from the list under fl_mu first) never races with it.
 *
 * Callers: engine/namespace.c (open at start-up, write+sync per mutation, reset after each
 * snapshot, close at shutdown); tests/unit/test_wal.c.
 */
#include "storage/wal.h"

#include "storage/file.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAL_MAGIC    0x4C575356u /* "VSWL" */
#define WAL_VERSION  1
#define WAL_HDR_SIZE 20
#define REC_HDR_SIZE 13 /* len, seq, type */
#define REC_OVERHEAD 17 /* header + crc */
#define WIN_CHUNK    ((size_t)1 << 20)

struct wal {
    char *dir;
    char *path;     /* DIR/wal.log */
    char *tmp_path; /* DIR/wal.log.tmp */
    vs_fsync_policy policy;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a sync finishes */
    /* guarded by mu: */
    vs_file_t *f;
    uint64_t base_seq;
    uint64_t synced_seq;
    bool syncing;
    char fail_msg[VS_STATUS_MSG_MAX];
    /* written under mu, readable without it: */
    _Atomic uint64_t last_seq;
    _Atomic uint64_t end;
    _Atomic bool failed;
    _Atomic uint64_t n_syncs;

    /* guarded by fl_mu: */
    wal_t *fl_next;
    bool fl_listed;
};

/* ---- the everysec flusher ---- */

static pthread_mutex_t fl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fl_cv;
static pthread_once_t fl_once = PTHREAD_ONCE_INIT;
static wal_t *fl_head;  /* guarded by fl_mu */
static bool fl_running; /* guarded by fl_mu */
static bool fl_stop;    /* guarded by fl_mu */
static pthread_t fl_thread;

static void sync_locked(wal_t *w, vs_status *st);

static void fl_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&fl_cv, &a);
    pthread_condattr_destroy(&a);
    atexit(wal_flusher_shutdown);
}

static void *fl_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fl_mu);
    while (!fl_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        while (!fl_stop && pthread_cond_timedwait(&fl_cv, &fl_mu, &ts) == 0) {
        }
        if (fl_stop) break;
        for (wal_t *w = fl_head; w; w = w->fl_next) {
            pthread_mutex_lock(&w->mu);
            while (w->syncing) pthread_cond_wait(&w->cv, &w->mu);
            if (!atomic_load(&w->failed) && w->synced_seq < atomic_load(&w->last_seq)) {
                vs_status st;
                vs_status_clear(&st);
                sync_locked(w, &st);
            }
            pthread_mutex_unlock(&w->mu);
        }
    }
    pthread_mutex_unlock(&fl_mu);
    return NULL;
}

static vs_err fl_register(wal_t *w, vs_status *st)
{
    pthread_once(&fl_once, fl_init);
    pthread_mutex_lock(&fl_mu);
    if (!fl_running) {
        fl_stop = false;
        if (pthread_create(&fl_thread, NULL, fl_main, NULL) != 0) {
            pthread_mutex_unlock(&fl_mu);
            return vs_status_set(st, VS_ERR_INTERNAL, "cannot start the WAL flusher thread");
        }
        fl_running = true;
    }
    w->fl_next = fl_head;
    fl_head = w;
    w->fl_listed = true;
    pthread_mutex_unlock(&fl_mu);
    return VS_OK;
}

static void fl_unregister(wal_t *w)
{
    pthread_mutex_lock(&fl_mu);
    if (w->fl_listed) {
        for (wal_t **pp = &fl_head; *pp; pp = &(*pp)->fl_next)
            if (*pp == w) {
                *pp = w->fl_next;
                break;
            }
        w->fl_listed = false;
    }
    pthread_mutex_unlock(&fl_mu);
}

void wal_flusher_shutdown(void)
{
    pthread_mutex_lock(&fl_mu);
    if (!fl_running) {
        pthread_mutex_unlock(&fl_mu);
        return;
    }
    fl_stop = true;
    pthread_cond_broadcast(&fl_cv);
    pthread_mutex_unlock(&fl_mu);
    pthread_join(fl_thread, NULL);
    pthread_mutex_lock(&fl_mu);
    fl_running = false;
    pthread_mutex_unlock(&fl_mu);
}

/* ---- helpers ---- */

static uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void encode_header(uint8_t h[WAL_HDR_SIZE], uint64_t base_seq)
{
    vs_store_u32(h, WAL_MAGIC);
    h[4] = WAL_VERSION, h[5] = 0;
    h[6] = 0, h[7] = 0;
    vs_store_u64(h + 8, base_seq);
    vs_store_u32(h + 16, vs_crc32c(0, h, 16));
}

/* Marks the log failed (sticky) with the message of st; called with mu held. */
static void fail_locked(wal_t *w, const vs_status *st)
{
    if (atomic_load(&w->failed)) return;
    snprintf(w->fail_msg, sizeof w->fail_msg, "%s", st->msg);
    atomic_store(&w->failed, true);
    vs_log_error("%s: write-ahead log failed, refusing further writes until restart: %s", w->path,
                 st->msg);
}

static vs_err failed_error(wal_t *w, vs_status *st)
{
    return vs_status_set(st, VS_ERR_IO,
                         "write-ahead log %s failed after an earlier error (%s); restart the "
                         "server to recover",
                         w->path, w->fail_msg);
}

/* The group-commit leader step: called with mu held and !syncing; returns with mu held. */
static void sync_locked(wal_t *w, vs_status *st)
{
    w->syncing = true;
    uint64_t target = atomic_load(&w->last_seq);
    vs_file_t *f = w->f;
    pthread_mutex_unlock(&w->mu);
    vs_err rc = vs_file_sync(f, true, st);
    pthread_mutex_lock(&w->mu);
    w->syncing = false;
    atomic_fetch_add(&w->n_syncs, 1);
    if (rc != VS_OK)
        fail_locked(w, st);
    else if (target > w->synced_seq)
        w->synced_seq = target;
    pthread_cond_broadcast(&w->cv);
}

/* A read window over the file for replay: holds file bytes [off, off+len). */
typedef struct {
    vs_file_t *f;
    uint64_t fsize;
    uint8_t *buf;
    size_t cap;
    uint64_t off;
    size_t len;
} win_t;

/* Points *out at file bytes [pos, pos+n), or sets it NULL when the file ends before pos+n. */
static vs_err win_get(win_t *w, uint64_t pos, size_t n, const uint8_t **out, vs_status *st)
{
    *out = NULL;
    if (pos > w->fsize || n > w->fsize - pos) return VS_OK;
    if (pos >= w->off && pos + n <= w->off + w->len) {
        *out = w->buf + (pos - w->off);
        return VS_OK;
    }
    size_t want = n > WIN_CHUNK ? n : WIN_CHUNK;
    if (want > w->fsize - pos) want = (size_t)(w->fsize - pos);
    if (want > w->cap) {
        uint8_t *nb = vs_realloc(w->buf, want);
        if (!nb)
            return vs_status_set(st, VS_ERR_NOMEM, "out of memory reading %s", vs_file_path(w->f));
        w->buf = nb;
        w->cap = want;
    }
    size_t got = 0;
    w->len = 0;
    vs_err rc = vs_file_pread(w->f, w->buf, want, pos, &got, st);
    if (rc != VS_OK) return rc;
    w->off = pos;
    w->len = got;
    if (got >= n) *out = w->buf;
    return VS_OK;
}

typedef struct {
    uint64_t seq;
    uint8_t type;
    const uint8_t *payload;
    uint32_t len;
    uint64_t size; /* bytes on disk */
} rec_t;

/* Reads the record at pos into r; *ok says whether it is intact (length sane, inside the file,
 * crc matching). Its seq is not checked here. */
static vs_err rec_at(win_t *win, uint64_t pos, rec_t *r, bool *ok, vs_status *st)
{
    const uint8_t *p;
    *ok = false;
    vs_err rc = win_get(win, pos, REC_HDR_SIZE, &p, st);
    if (rc != VS_OK || !p) return rc;
    uint32_t len = vs_load_u32(p);
    if (len > WAL_MAX_PAYLOAD) return VS_OK;
    rc = win_get(win, pos, REC_OVERHEAD + (size_t)len, &p, st);
    if (rc != VS_OK || !p) return rc;
    if (vs_crc32c(0, p, REC_HDR_SIZE + (size_t)len) != vs_load_u32(p + REC_HDR_SIZE + len))
        return VS_OK;
    r->len = len;
    r->seq = vs_load_u64(p + 4);
    r->type = p[12];
    r->payload = p + REC_HDR_SIZE;
    r->size = REC_OVERHEAD + (uint64_t)len;
    *ok = true;
    return VS_OK;
}

/* Looks for any valid record starting after `bad` with seq > prev; *found_at = its offset or 0. */
static vs_err find_valid_after(win_t *win, uint64_t bad, uint64_t prev, uint64_t *found_at,
                               vs_status *st)
{
    *found_at = 0;
    for (uint64_t y = bad + 1; y + REC_OVERHEAD <= win->fsize; y++) {
        const uint8_t *p;
        vs_err rc = win_get(win, y, REC_HDR_SIZE, &p, st);
        if (rc != VS_OK) return rc;
        if (!p) break;
        uint64_t len = vs_load_u32(p), seq = vs_load_u64(p + 4);
        /* cheap filters first: no more records can follow than fit in the bytes left */
        uint64_t room = win->fsize - y;
        if (len > WAL_MAX_PAYLOAD || REC_OVERHEAD + len > room || seq <= prev ||
            seq - prev > room / REC_OVERHEAD + 1)
            continue;
        rec_t r;
        bool ok;
        rc = rec_at(win, y, &r, &ok, st);
        if (rc != VS_OK) return rc;
        if (ok) {
            *found_at = y;
            return VS_OK;
        }
    }
    return VS_OK;
}

/* Writes a new log DIR/wal.log.tmp holding the header (base) and the bytes [from, to) of src,
 * fsyncs it, renames it over wal.log and fsyncs the directory. On success *out is the open new
 * log. *renamed tells whether wal.log was replaced (even when the directory sync failed after). */
static vs_err new_log(wal_t *w, uint64_t base, vs_file_t *src, uint64_t from, uint64_t to,
                      vs_file_t **out, bool *renamed, vs_status *st)
{
    *renamed = false;
    vs_file_t *f = NULL;
    uint8_t *buf = NULL;
    vs_err rc = vs_file_open(w->tmp_path, VS_FILE_WRITE | VS_FILE_CREATE | VS_FILE_TRUNC, &f, st);
    if (rc != VS_OK) return rc;
    uint8_t h[WAL_HDR_SIZE];
    encode_header(h, base);
    rc = vs_file_pwrite(f, h, sizeof h, 0, st);
    uint64_t off = WAL_HDR_SIZE;
    if (rc == VS_OK && from < to) {
        buf = vs_malloc(WIN_CHUNK);
        if (!buf) rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory resetting %s", w->path);
    }
    while (rc == VS_OK && from < to) {
        size_t n = to - from > WIN_CHUNK ? WIN_CHUNK : (size_t)(to - from), got = 0;
        rc = vs_file_pread(src, buf, n, from, &got, st);
        if (rc == VS_OK && got != n)
            rc = vs_status_set(st, VS_ERR_IO, "%s: unexpected end of file at offset %llu", w->path,
                               (unsigned long long)(from + got));
        if (rc == VS_OK) rc = vs_file_pwrite(f, buf, n, off, st);
        from += n;
        off += n;
    }
    vs_free(buf);
    if (rc == VS_OK) rc = vs_file_sync(f, false, st);
    if (rc == VS_OK) rc = vs_file_rename_open(f, w->path, st);
    if (rc != VS_OK) {
        vs_file_close(f);
        vs_status ignored;
        vs_file_unlink(w->tmp_path, &ignored);
        return rc;
    }
    *renamed = true;
    *out = f;
    return vs_file_sync_dir(w->dir, st);
}

static void wal_free(wal_t *w)
{
    if (!w) return;
    vs_file_close(w->f);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    vs_free(w->dir);
    vs_free(w->path);
    vs_free(w->tmp_path);
    vs_free(w);
}

/* Reads and checks the header, replays, cuts a torn tail. Sets base_seq, last_seq, end. */
static vs_err replay(wal_t *w, uint64_t after_seq, wal_replay_fn fn, void *ctx, vs_status *st)
{
    win_t win = {w->f, 0, NULL, 0, 0, 0};
    const char *path = w->path;
    vs_err rc = vs_file_size(w->f, &win.fsize, st);
    const uint8_t *h = NULL;
    if (rc == VS_OK) rc = win_get(&win, 0, WAL_HDR_SIZE, &h, st);
    if (rc != VS_OK) goto out;
    if (!h) {
        rc =
            vs_status_set(st, VS_ERR_CORRUPT, "%s: bad header at offset 0: file is only %llu bytes",
                          path, (unsigned long long)win.fsize);
        goto out;
    }
    if (vs_load_u32(h) != WAL_MAGIC || vs_crc32c(0, h, 16) != vs_load_u32(h + 16)) {
        rc = vs_status_set(st, VS_ERR_CORRUPT,
                           "%s: bad header at offset 0 (not a VecStore write-ahead log, or its "
                           "header checksum does not match)",
                           path);
        goto out;
    }
    if (load_u16(h + 4) != WAL_VERSION || load_u16(h + 6) != 0) {
        rc = vs_status_set(st, VS_ERR_CORRUPT,
                           "%s: unsupported format version %u (flags 0x%x) at offset 4", path,
                           load_u16(h + 4), load_u16(h + 6));
        goto out;
    }
    w->base_seq = vs_load_u64(h + 8);
    if (w->base_seq > after_seq) {
        rc = vs_status_set(st, VS_ERR_CORRUPT,
                           "%s: the log starts after seq %llu (offset 8) but the snapshot only "
                           "covers up to seq %llu: records in between are missing",
                           path, (unsigned long long)w->base_seq, (unsigned long long)after_seq);
        goto out;
    }
    uint64_t pos = WAL_HDR_SIZE, prev = w->base_seq;
    while (pos < win.fsize) {
        rec_t r;
        bool ok;
        rc = rec_at(&win, pos, &r, &ok, st);
        if (rc != VS_OK) goto out;
        if (ok && r.seq != prev + 1) {
            rc = vs_status_set(
                st, VS_ERR_CORRUPT, "%s: record at offset %llu has seq %llu, expected %llu", path,
                (unsigned long long)pos, (unsigned long long)r.seq, (unsigned long long)(prev + 1));
            goto out;
        }
        if (!ok) {
            uint64_t next = 0;
            rc = find_valid_after(&win, pos, prev, &next, st);
            if (rc != VS_OK) goto out;
            if (next) {
                rc = vs_status_set(st, VS_ERR_CORRUPT,
                                   "%s: corrupt record at offset %llu (bad length or checksum; "
                                   "a valid record follows at offset %llu)",
                                   path, (unsigned long long)pos, (unsigned long long)next);
                goto out;
            }
            rc = vs_file_truncate(w->f, pos, st);
            if (rc == VS_OK && w->policy != VS_FSYNC_NEVER) rc = vs_file_sync(w->f, true, st);
            if (rc != VS_OK) goto out;
            vs_log_warn("%s: torn tail cut at offset %llu: %llu bytes removed (an incomplete "
                        "last record); %llu records kept",
                        path, (unsigned long long)pos, (unsigned long long)(win.fsize - pos),
                        (unsigned long long)(prev - w->base_seq));
            win.fsize = pos;
            break;
        }
        if (r.seq > after_seq && fn) {
            rc = fn(ctx, r.seq, r.type, r.payload, r.len, st);
            if (rc != VS_OK) goto out;
        }
        prev = r.seq;
        pos += r.size;
    }
    atomic_store(&w->last_seq, prev);
    atomic_store(&w->end, win.fsize);
out:
    vs_free(win.buf);
    return rc;
}

/* ---- public ---- */

vs_err wal_open(const char *dir, vs_fsync_policy policy, uint64_t after_seq, wal_replay_fn fn,
                void *ctx, wal_t **out, vs_status *st)
{
    wal_t *w = vs_calloc(1, sizeof *w);
    if (!w) return vs_status_set(st, VS_ERR_NOMEM, "out of memory opening the write-ahead log");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->policy = policy;
    size_t dl = strlen(dir);
    w->dir = vs_strdup(dir);
    w->path = vs_malloc(dl + sizeof "/wal.log");
    w->tmp_path = vs_malloc(dl + sizeof "/wal.log.tmp");
    if (!w->dir || !w->path || !w->tmp_path) {
        wal_free(w);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory opening the write-ahead log");
    }
    snprintf(w->path, dl + sizeof "/wal.log", "%s/wal.log", dir);
    snprintf(w->tmp_path, dl + sizeof "/wal.log.tmp", "%s/wal.log.tmp", dir);

    bool renamed = false;
    vs_err rc = vs_file_unlink(w->tmp_path, st); /* invariant 4: a reset that never committed */
    if (rc == VS_OK) rc = vs_file_open(w->path, VS_FILE_WRITE | VS_FILE_SEQUENTIAL, &w->f, st);
    if (rc == VS_ERR_NOT_FOUND) {
        rc = new_log(w, after_seq, NULL, 0, 0, &w->f, &renamed, st);
        if (rc == VS_OK) {
            w->base_seq = after_seq;
            atomic_store(&w->last_seq, after_seq);
            atomic_store(&w->end, WAL_HDR_SIZE);
        }
    } else if (rc == VS_OK) {
        rc = replay(w, after_seq, fn, ctx, st);
        if (rc == VS_OK && atomic_load(&w->last_seq) < after_seq) {
            /* every record is in the snapshot already: finish the reset the crash interrupted */
            vs_file_t *nf = NULL;
            rc = new_log(w, after_seq, NULL, 0, 0, &nf, &renamed, st);
            if (renamed) {
                vs_file_close(w->f);
                w->f = nf;
            }
            if (rc == VS_OK) {
                vs_log_info("%s: every record is covered by the snapshot (seq %llu): log reset",
                            w->path, (unsigned long long)after_seq);
                w->base_seq = after_seq;
                atomic_store(&w->last_seq, after_seq);
                atomic_store(&w->end, WAL_HDR_SIZE);
            }
        }
    }
    if (rc != VS_OK) {
        wal_free(w);
        return rc;
    }
    w->synced_seq = atomic_load(&w->last_seq);
    if (policy == VS_FSYNC_EVERYSEC) {
        rc = fl_register(w, st);
        if (rc != VS_OK) {
            wal_free(w);
            return rc;
        }
    }
    *out = w;
    return VS_OK;
}

void wal_close(wal_t *w)
{
    if (!w) return;
    fl_unregister(w);
    pthread_mutex_lock(&w->mu);
    while (w->syncing) pthread_cond_wait(&w->cv, &w->mu);
    if (w->policy != VS_FSYNC_NEVER && !atomic_load(&w->failed) &&
        w->synced_seq < atomic_load(&w->last_seq)) {
        vs_status st;
        vs_status_clear(&st);
        sync_locked(w, &st);
    }
    pthread_mutex_unlock(&w->mu);
    wal_free(w);
}

vs_err wal_write(wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq_out,
                 vs_status *st)
{
    if (len > WAL_MAX_PAYLOAD)
        return vs_status_set(st, VS_ERR_TOO_LARGE,
                             "write of %zu bytes exceeds the largest log record (%zu bytes)", len,
                             WAL_MAX_PAYLOAD);
    uint8_t hdr[REC_HDR_SIZE], tail[4];
    pthread_mutex_lock(&w->mu);
    if (atomic_load(&w->failed)) {
        vs_err rc = failed_error(w, st);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    uint64_t seq = atomic_load(&w->last_seq) + 1, end = atomic_load(&w->end);
    vs_store_u32(hdr, (uint32_t)len);
    vs_store_u64(hdr + 4, seq);
    hdr[12] = type;
    vs_store_u32(tail, vs_crc32c(vs_crc32c(0, hdr, sizeof hdr), payload, len));
    struct iovec iov[3] = {{hdr, sizeof hdr}, {(void *)payload, len}, {tail, sizeof tail}};
    vs_err rc = vs_file_pwritev(w->f, iov, 3, end, st);
    if (rc != VS_OK) {
        vs_status tst;
        vs_status_clear(&tst);
        if (vs_file_truncate(w->f, end, &tst) != VS_OK) fail_locked(w, &tst);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    atomic_store(&w->end, end + REC_OVERHEAD + len);
    atomic_store(&w->last_seq, seq);
    pthread_mutex_unlock(&w->mu);
    if (seq_out) *seq_out = seq;
    return VS_OK;
}

vs_err wal_sync(wal_t *w, uint64_t seq, vs_status *st)
{
    if (w->policy != VS_FSYNC_ALWAYS) {
        if (!atomic_load(&w->failed)) return VS_OK;
        pthread_mutex_lock(&w->mu);
        vs_err rc = failed_error(w, st);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    vs_err rc = VS_OK;
    pthread_mutex_lock(&w->mu);
    if (seq > atomic_load(&w->last_seq)) seq = atomic_load(&w->last_seq);
    for (;;) {
        if (atomic_load(&w->failed)) {
            rc = failed_error(w, st);
            break;
        }
        if (w->synced_seq >= seq) break;
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        sync_locked(w, st);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

vs_err wal_append(wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq_out,
                  vs_status *st)
{
    uint64_t seq = 0;
    vs_err rc = wal_write(w, type, payload, len, &seq, st);
    if (rc == VS_OK) rc = wal_sync(w, seq, st);
    if (rc == VS_OK && seq_out) *seq_out = seq;
    return rc;
}

/* Offset of the first record with seq > upto (walking the length fields from the header). */
static vs_err first_after(wal_t *w, uint64_t upto, uint64_t *off_out, vs_status *st)
{
    uint64_t end = atomic_load(&w->end), pos = WAL_HDR_SIZE, seq = w->base_seq;
    uint8_t h[REC_HDR_SIZE];
    while (pos < end && seq < upto) {
        size_t got = 0;
        vs_err rc = vs_file_pread(w->f, h, sizeof h, pos, &got, st);
        if (rc != VS_OK) return rc;
        if (got != sizeof h || vs_load_u64(h + 4) != seq + 1)
            return vs_status_set(st, VS_ERR_CORRUPT, "%s: record at offset %llu is unreadable",
                                 w->path, (unsigned long long)pos);
        seq++;
        pos += REC_OVERHEAD + (uint64_t)vs_load_u32(h);
    }
    *off_out = pos;
    return VS_OK;
}

vs_err wal_reset(wal_t *w, uint64_t upto_seq, vs_status *st)
{
    pthread_mutex_lock(&w->mu);
    while (w->syncing) pthread_cond_wait(&w->cv, &w->mu);
    vs_err rc = VS_OK;
    if (atomic_load(&w->failed)) {
        rc = failed_error(w, st);
        goto out;
    }
    uint64_t last = atomic_load(&w->last_seq), end = atomic_load(&w->end);
    uint64_t base = upto_seq > w->base_seq ? upto_seq : w->base_seq;
    uint64_t from = end;
    if (last > base) rc = first_after(w, base, &from, st);
    if (rc != VS_OK) goto out;
    vs_file_t *nf = NULL;
    bool renamed = false;
    rc = new_log(w, base, w->f, from, end, &nf, &renamed, st);
    if (!renamed) goto out;
    vs_file_close(w->f);
    w->f = nf;
    w->base_seq = base;
    if (last < base) last = base;
    atomic_store(&w->last_seq, last);
    atomic_store(&w->end, WAL_HDR_SIZE + (end - from));
    w->synced_seq = last;
    if (rc != VS_OK) fail_locked(w, st); /* renamed but the rename may not be durable */
out:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t wal_last_seq(const wal_t *w)
{
    return atomic_load(&w->last_seq);
}
uint64_t wal_size_bytes(const wal_t *w)
{
    return atomic_load(&w->end);
}
bool wal_failed(const wal_t *w)
{
    return atomic_load(&w->failed);
}
const char *wal_path(const wal_t *w)
{
    return w->path;
}
uint64_t wal_sync_count(const wal_t *w)
{
    return atomic_load(&w->n_syncs);
}
