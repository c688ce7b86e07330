/*
 * file.c - the file seam of file.h: the only place in the storage layer that calls open, pread,
 * pwrite, fsync/fdatasync, ftruncate, rename and unlink on data files.
 *
 * How: thin wrappers that retry EINTR and short transfers, turn errno into a vs_err plus a
 * message naming the call, the path and the offset (STYLE 5), and consult the fault table first.
 * A fault rule matches by operation and file base name; it counts matching calls and fails the
 * nth (and, if sticky, every later one) with the chosen errno. An injected write fault writes
 * half of the bytes before failing, like a disk filling up mid-write, so callers' clean-up of
 * partial records is exercised.
 *
 * Invariants:
 *   1. Every call through here bumps op_count[op] exactly once, whatever its outcome.
 *   2. When no rule is set the fault check is one relaxed atomic load.
 *
 * Concurrency: the fault rules are guarded by fault_mu; n_rules is atomic so the fast path takes
 * no lock. The sync hook pointer is read without a lock (tests set it while no sync runs).
 * Callers: storage/wal.c, storage/snapshot.c (and tests).
 */
#include "storage/file.h"

#include "util/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RULES 8
#define MAX_IOV   16

struct vs_file {
    int fd;
    char *path;
    const char *name; /* base name inside path, for fault rules */
};

typedef struct {
    char name[256]; /* "" = any file */
    vs_fault_op op;
    unsigned long nth;
    unsigned long seen;
    int err;
    bool sticky;
} fault_rule;

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static fault_rule rules[MAX_RULES]; /* guarded by fault_mu */
static _Atomic int n_rules;         /* written under fault_mu, read lock-free */
static _Atomic uint64_t op_count[VS_FAULT__COUNT];
static void (*_Atomic sync_hook)(const char *, void *);
static void *_Atomic sync_hook_ctx;

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Returns the errno to inject for this call, or 0. */
static int fault_check(const char *path, vs_fault_op op)
{
    atomic_fetch_add_explicit(&op_count[op], 1, memory_order_relaxed);
    if (atomic_load_explicit(&n_rules, memory_order_relaxed) == 0) return 0;
    const char *name = base_name(path);
    int err = 0;
    pthread_mutex_lock(&fault_mu);
    for (int i = 0; i < MAX_RULES; i++) {
        fault_rule *r = &rules[i];
        if (!r->nth || r->op != op || (r->name[0] && strcmp(r->name, name) != 0)) continue;
        r->seen++;
        if (r->seen == r->nth || (r->sticky && r->seen > r->nth)) err = r->err;
    }
    pthread_mutex_unlock(&fault_mu);
    return err;
}

void vs_file_fault_set(const char *name, vs_fault_op op, unsigned long nth, int err, bool sticky)
{
    pthread_mutex_lock(&fault_mu);
    for (int i = 0; i < MAX_RULES; i++) {
        if (rules[i].nth) continue;
        snprintf(rules[i].name, sizeof rules[i].name, "%s", name ? name : "");
        rules[i].op = op;
        rules[i].nth = nth ? nth : 1;
        rules[i].seen = 0;
        rules[i].err = err;
        rules[i].sticky = sticky;
        atomic_fetch_add(&n_rules, 1);
        break;
    }
    pthread_mutex_unlock(&fault_mu);
}

void vs_file_fault_clear(void)
{
    pthread_mutex_lock(&fault_mu);
    memset(rules, 0, sizeof rules);
    atomic_store(&n_rules, 0);
    pthread_mutex_unlock(&fault_mu);
}

uint64_t vs_file_op_count(vs_fault_op op)
{
    return (unsigned)op < VS_FAULT__COUNT ? atomic_load(&op_count[op]) : 0;
}

void vs_file_set_sync_hook(void (*hook)(const char *path, void *ctx), void *ctx)
{
    atomic_store(&sync_hook_ctx, ctx);
    atomic_store(&sync_hook, hook);
}

static bool is_nospace(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG;
}

static vs_err write_error(const char *path, uint64_t off, int e, vs_status *st)
{
    if (e == EFBIG)
        return vs_status_set(st, VS_ERR_NOSPACE,
                             "No space left on device while writing %s (file size limit reached)",
                             path);
    if (is_nospace(e))
        return vs_status_set(st, VS_ERR_NOSPACE, "No space left on device while writing %s", path);
    return vs_status_set(st, VS_ERR_IO, "pwrite(%s, off=%llu) failed: %s", path,
                         (unsigned long long)off, strerror(e));
}

vs_err vs_file_open(const char *path, int flags, vs_file_t **out, vs_status *st)
{
    int oflags = O_CLOEXEC | ((flags & VS_FILE_WRITE) ? O_RDWR : O_RDONLY);
    if (flags & VS_FILE_CREATE) oflags |= O_CREAT;
    if (flags & VS_FILE_TRUNC) oflags |= O_TRUNC;
    int fd = -1, e = fault_check(path, VS_FAULT_OPEN);
    if (!e) {
        do fd = open(path, oflags, 0644);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) e = errno;
    }
    if (e == ENOENT) return vs_status_set(st, VS_ERR_NOT_FOUND, "%s: %s", path, strerror(e));
    if (e) {
        if (is_nospace(e) && (flags & VS_FILE_CREATE))
            return vs_status_set(st, VS_ERR_NOSPACE, "No space left on device while creating %s",
                                 path);
        return vs_status_set(st, VS_ERR_IO, "open(%s) failed: %s", path, strerror(e));
    }
    if (flags & VS_FILE_SEQUENTIAL) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    vs_file_t *f = vs_malloc(sizeof *f);
    char *p = vs_strdup(path);
    if (!f || !p) {
        vs_free(f);
        vs_free(p);
        close(fd);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory opening %s", path);
    }
    f->fd = fd;
    f->path = p;
    f->name = base_name(p);
    *out = f;
    return VS_OK;
}

void vs_file_close(vs_file_t *f)
{
    if (!f) return;
    close(f->fd);
    vs_free(f->path);
    vs_free(f);
}

const char *vs_file_path(const vs_file_t *f)
{
    return f->path;
}

/* Copies iov[0..n) into cur, dropping the first `skip` bytes; returns the new count. */
static int iov_skip(struct iovec *cur, const struct iovec *iov, int n, size_t skip)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        cur[k].iov_base = (char *)iov[i].iov_base + skip;
        cur[k].iov_len = iov[i].iov_len - skip;
        skip = 0;
        k++;
    }
    return k;
}

/* Caps the total length of cur[0..n) at `limit` bytes; returns the new count. */
static int iov_cap(struct iovec *cur, int n, size_t limit)
{
    for (int i = 0; i < n; i++) {
        if (cur[i].iov_len >= limit) {
            cur[i].iov_len = limit;
            return limit ? i + 1 : i;
        }
        limit -= cur[i].iov_len;
    }
    return n;
}

vs_err vs_file_preadv(vs_file_t *f, const struct iovec *iov, int n_iov, uint64_t off,
                      size_t *got_out, vs_status *st)
{
    if (n_iov > MAX_IOV)
        return vs_status_set(st, VS_ERR_INTERNAL, "preadv(%s): too many buffers", f->path);
    size_t total = 0, done = 0;
    for (int i = 0; i < n_iov; i++) total += iov[i].iov_len;
    int e = fault_check(f->path, VS_FAULT_READ);
    struct iovec cur[MAX_IOV];
    while (!e && done < total) {
        int k = iov_skip(cur, iov, n_iov, done);
        k = iov_cap(cur, k, (size_t)1 << 30);
        ssize_t r = preadv(f->fd, cur, k, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            e = errno;
        } else if (r == 0) {
            break;
        } else {
            done += (size_t)r;
        }
    }
    if (e)
        return vs_status_set(st, VS_ERR_IO, "pread(%s, off=%llu) failed: %s", f->path,
                             (unsigned long long)(off + done), strerror(e));
    *got_out = done;
    return VS_OK;
}

vs_err vs_file_pread(vs_file_t *f, void *p, size_t n, uint64_t off, size_t *got_out, vs_status *st)
{
    struct iovec v = {p, n};
    return vs_file_preadv(f, &v, 1, off, got_out, st);
}

vs_err vs_file_pwritev(vs_file_t *f, const struct iovec *iov, int n_iov, uint64_t off,
                       vs_status *st)
{
    if (n_iov > MAX_IOV)
        return vs_status_set(st, VS_ERR_INTERNAL, "pwrite(%s): too many buffers", f->path);
    size_t total = 0, done = 0;
    for (int i = 0; i < n_iov; i++) total += iov[i].iov_len;
    int injected = fault_check(f->path, VS_FAULT_WRITE);
    size_t limit = injected ? total / 2 : total;
    struct iovec cur[MAX_IOV];
    int e = 0;
    while (done < limit) {
        int k = iov_skip(cur, iov, n_iov, done);
        k = iov_cap(cur, k, limit - done);
        ssize_t r = pwritev(f->fd, cur, k, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            e = errno;
            break;
        }
        if (r == 0) {
            e = ENOSPC;
            break;
        }
        done += (size_t)r;
    }
    if (!e) e = injected;
    if (e) return write_error(f->path, off + done, e, st);
    return VS_OK;
}

vs_err vs_file_pwrite(vs_file_t *f, const void *p, size_t n, uint64_t off, vs_status *st)
{
    struct iovec v = {(void *)p, n};
    return vs_file_pwritev(f, &v, 1, off, st);
}

static int do_sync(int fd, const char *path, bool data_only)
{
    void (*hook)(const char *, void *) = atomic_load(&sync_hook);
    if (hook) hook(path, atomic_load(&sync_hook_ctx));
    int e = fault_check(path, VS_FAULT_SYNC);
    if (e) return e;
    int r;
    do r = data_only ? fdatasync(fd) : fsync(fd);
    while (r != 0 && errno == EINTR);
    return r ? errno : 0;
}

static vs_err sync_error(const char *path, int e, vs_status *st)
{
    if (is_nospace(e))
        return vs_status_set(st, VS_ERR_NOSPACE, "No space left on device while writing %s", path);
    return vs_status_set(st, VS_ERR_IO, "fsync(%s) failed: %s", path, strerror(e));
}

vs_err vs_file_sync(vs_file_t *f, bool data_only, vs_status *st)
{
    int e = do_sync(f->fd, f->path, data_only);
    return e ? sync_error(f->path, e, st) : VS_OK;
}

vs_err vs_file_truncate(vs_file_t *f, uint64_t size, vs_status *st)
{
    int e = fault_check(f->path, VS_FAULT_TRUNCATE);
    if (!e) {
        int r;
        do r = ftruncate(f->fd, (off_t)size);
        while (r != 0 && errno == EINTR);
        if (r != 0) e = errno;
    }
    if (e)
        return vs_status_set(st, VS_ERR_IO, "ftruncate(%s, %llu) failed: %s", f->path,
                             (unsigned long long)size, strerror(e));
    return VS_OK;
}

vs_err vs_file_size(vs_file_t *f, uint64_t *size_out, vs_status *st)
{
    struct stat sb;
    if (fstat(f->fd, &sb) != 0)
        return vs_status_set(st, VS_ERR_IO, "fstat(%s) failed: %s", f->path, strerror(errno));
    *size_out = (uint64_t)sb.st_size;
    return VS_OK;
}

vs_err vs_file_rename(const char *from, const char *to, vs_status *st)
{
    int e = fault_check(from, VS_FAULT_RENAME);
    if (!e && rename(from, to) != 0) e = errno;
    if (e) return vs_status_set(st, VS_ERR_IO, "rename(%s, %s) failed: %s", from, to, strerror(e));
    return VS_OK;
}

vs_err vs_file_rename_open(vs_file_t *f, const char *to, vs_status *st)
{
    char *p = vs_strdup(to);
    if (!p) return vs_status_set(st, VS_ERR_NOMEM, "out of memory renaming %s", f->path);
    vs_err rc = vs_file_rename(f->path, to, st);
    if (rc != VS_OK) {
        vs_free(p);
        return rc;
    }
    vs_free(f->path);
    f->path = p;
    f->name = base_name(p);
    return VS_OK;
}

vs_err vs_file_unlink(const char *path, vs_status *st)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return vs_status_set(st, VS_ERR_IO, "unlink(%s) failed: %s", path, strerror(errno));
    return VS_OK;
}

vs_err vs_file_sync_dir(const char *dir, vs_status *st)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return vs_status_set(st, VS_ERR_IO, "open(%s) failed: %s", dir, strerror(errno));
    int e = do_sync(fd, dir, false);
    close(fd);
    return e ? sync_error(dir, e, st) : VS_OK;
}

bool vs_file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

vs_err vs_file_write_atomic(const char *path, const void *p, size_t n, vs_status *st)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "path too long: %s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    vs_file_t *f = NULL;
    vs_err rc = vs_file_open(tmp, VS_FILE_WRITE | VS_FILE_CREATE | VS_FILE_TRUNC, &f, st);
    if (rc != VS_OK) return rc;
    rc = vs_file_pwrite(f, p, n, 0, st);
    if (rc == VS_OK) rc = vs_file_sync(f, false, st);
    vs_file_close(f);
    if (rc == VS_OK) rc = vs_file_rename(tmp, path, st);
    if (rc != VS_OK) {
        unlink(tmp);
        return rc;
    }
    return vs_file_sync_dir(dir, st);
}
