/*
 * file.h - the file seam of the storage layer: every open, read, write, fsync, truncate and
 * rename of a data file goes through here, so errors are worded one way and tests can inject
 * I/O faults by file name (SQLite's FAULTSIM, jq's inject_errors.c).
 *
 * Ownership: vs_file_t is created by vs_file_open and destroyed by vs_file_close (which never
 * fails and does not sync). Paths are copied. All functions fill `st` with a message naming the
 * call, the path (and offset) and strerror(errno); ENOSPC/EDQUOT/EFBIG on a write become
 * VS_ERR_NOSPACE "No space left on device while writing <path>", other errors VS_ERR_IO.
 *
 * Concurrency: a vs_file_t may be used from several threads for positional reads/writes and
 * syncs (the kernel orders them); open/close are the owner's. The fault table and counters are
 * global and thread-safe.
 */
#ifndef VS_STORAGE_FILE_H
#define VS_STORAGE_FILE_H

#include "vecstore/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct vs_file vs_file_t;

enum {
    VS_FILE_READ = 0,       /* read only */
    VS_FILE_WRITE = 1,      /* read + write */
    VS_FILE_CREATE = 2,     /* create if absent (mode 0644) */
    VS_FILE_TRUNC = 4,      /* truncate to 0 */
    VS_FILE_SEQUENTIAL = 8, /* hint: read front to back (posix_fadvise) */
};

/* ENOENT -> VS_ERR_NOT_FOUND "<path>: No such file or directory"; other errors VS_ERR_IO. */
vs_err vs_file_open(const char *path, int flags, vs_file_t **out, vs_status *st);
void vs_file_close(vs_file_t *f);
const char *vs_file_path(const vs_file_t *f);

/* Reads up to n bytes at off, retrying short reads; *got_out < n only at end of file. */
vs_err vs_file_pread(vs_file_t *f, void *p, size_t n, uint64_t off, size_t *got_out, vs_status *st);
vs_err vs_file_preadv(vs_file_t *f, const struct iovec *iov, int n_iov, uint64_t off,
                      size_t *got_out, vs_status *st);
/* Writes all n bytes at off (retrying short writes) or fails; after a failure a prefix of the
 * bytes may be in the file (the caller truncates it away). */
vs_err vs_file_pwrite(vs_file_t *f, const void *p, size_t n, uint64_t off, vs_status *st);
vs_err vs_file_pwritev(vs_file_t *f, const struct iovec *iov, int n_iov, uint64_t off,
                       vs_status *st);
/* fdatasync (data_only) or fsync. */
vs_err vs_file_sync(vs_file_t *f, bool data_only, vs_status *st);
vs_err vs_file_truncate(vs_file_t *f, uint64_t size, vs_status *st);
vs_err vs_file_size(vs_file_t *f, uint64_t *size_out, vs_status *st);

/* Path operations. vs_file_unlink treats ENOENT as success. */
vs_err vs_file_rename(const char *from, const char *to, vs_status *st);
vs_err vs_file_unlink(const char *path, vs_status *st);
/* Renames the open file f to `to` (rename(2) of its path); f then carries the new path. */
vs_err vs_file_rename_open(vs_file_t *f, const char *to, vs_status *st);
vs_err vs_file_sync_dir(const char *dir, vs_status *st);
bool vs_file_exists(const char *path);
/* Writes a whole small file atomically: PATH.tmp, fsync, rename to PATH, fsync of its directory. */
vs_err vs_file_write_atomic(const char *path, const void *p, size_t n, vs_status *st);

/* ---- fault injection and counters (tests) ---- */

typedef enum {
    VS_FAULT_WRITE = 0, /* pwrite/pwritev: half the bytes are written, then the error */
    VS_FAULT_SYNC,      /* fsync/fdatasync of a file or directory (name = the directory's) */
    VS_FAULT_TRUNCATE,  /* ftruncate */
    VS_FAULT_RENAME,    /* rename (name = the source's base name) */
    VS_FAULT_READ,      /* pread/preadv */
    VS_FAULT_OPEN,      /* open */
    VS_FAULT__COUNT
} vs_fault_op;

/* From now on, the nth (1 = the next) operation `op` on a file whose base name equals `name`
 * (NULL = any file) fails with errno `err`; with `sticky`, so does every later one. Up to 8
 * rules at once; matching ops are counted per rule. */
void vs_file_fault_set(const char *name, vs_fault_op op, unsigned long nth, int err, bool sticky);
void vs_file_fault_clear(void);
/* Operations done so far, all files (successful or not). */
uint64_t vs_file_op_count(vs_fault_op op);
/* Called before every file or directory sync with the path (tests use it to hold a sync while
 * other threads queue up behind it, deterministically). NULL removes it. */
void vs_file_set_sync_hook(void (*hook)(const char *path, void *ctx), void *ctx);

#endif
