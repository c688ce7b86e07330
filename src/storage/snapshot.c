/*
 * snapshot.c - the snapshot container of snapshot.h: a streamed, block-checksummed file written
 * as PATH.tmp, and the commit/recovery protocol of a set of such files.
 *
 * Format (little-endian; docs/storage.md has the same tables):
 *
 *   header, 32 bytes                          body block, 8 + len bytes
 *   off size meaning                          off    size meaning
 *   0   4    magic "VSSN"                     0      4    len (1 .. block_size)
 *   4   2    version (1)                      4      len  body bytes
 *   6   2    flags (0)                        4+len  4    crc32c of bytes 0..4+len (len + data)
 *   8   4    kind (the caller's magic)
 *   12  4    block_size (1 MiB)               footer, 24 bytes
 *   16  8    seq                              0      4    marker 0xFFFFFFFF
 *   24  4    reserved (0)                     4      8    body bytes (sum of len)
 *   28  4    crc32c of bytes 0..27            12     8    block count
 *                                             20     4    crc32c of bytes 0..19
 *
 * The writer fills a block buffer and emits full blocks; a write of at least one block while the
 * buffer is empty goes out straight from the caller's memory (pwritev of length, data, crc). The
 * reader keeps the length field of the next block from the previous read (each block is read
 * with one preadv of data + crc + next length), and reads a block straight into the caller's
 * buffer when the caller wants at least the whole block, so a large body loads at disk speed with
 * one copy-free pass and one crc pass.
 *
 * Invariants:
 *   1. A committed file (no .tmp suffix) was fsynced complete before its rename.
 *   2. Every byte handed to a reader's caller belongs to a block whose crc was verified.
 *   3. snap_read_end succeeds only if body bytes, block count and file size all agree with the
 *      footer (no block missing, duplicated or appended).
 *
 * Set commit and recovery (snapset_*): commit = fsync dir; rename NAME.tmp -> NAME for each name;
 * fsync dir. The first rename is the commit point: it is only reached after every .tmp was
 * fsynced, so at recovery a final file carrying the newest .tmp seq proves every .tmp of that seq
 * is complete and the renames may be finished. Without that proof the .tmp files are deleted
 * (a .tmp whose footer looks complete may still have unsynced blocks if the crash came during its
 * fsync; the old set plus the log, which is only reset after the commit, recover everything).
 *
 * Concurrency: writers and readers are single-threaded objects. Callers: engine/namespace.c.
 */
#include "storage/snapshot.h"

#include "storage/file.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SNAP_MAGIC       0x4E535356u /* "VSSN" */
#define SNAP_VERSION     1
#define SNAP_HDR_SIZE    32
#define SNAP_FOOTER_SIZE 24
#define SNAP_MARKER      0xFFFFFFFFu
#define SNAP_MAX_BLOCK   ((size_t)16 << 20) /* largest block_size a reader accepts */

struct snap_writer {
    vs_file_t *f;
    char *tmp_path;
    uint64_t off;      /* where the next block goes */
    uint8_t *buf;      /* SNAP_BLOCK_SIZE bytes of pending body */
    size_t fill;       /* bytes pending in buf */
    uint64_t body_len; /* bytes emitted in blocks */
    uint64_t n_blocks;
    vs_err err; /* first error; the writer is dead after it */
};

struct snap_reader {
    vs_file_t *f;
    const char *path;
    uint64_t fsize;
    uint32_t block_size;
    uint64_t off;      /* offset of the next block's length field (or the footer) */
    uint32_t next_len; /* the length field at off, valid if has_next */
    bool has_next;
    uint8_t *buf; /* block_size bytes, allocated on first buffered read */
    size_t blk_len, blk_pos;
    uint64_t blk_off; /* offset of the block held in buf */
    uint64_t body_len;
    uint64_t n_blocks;
    vs_err err;
    char err_msg[VS_STATUS_MSG_MAX];
};

static uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void kind_str(uint32_t kind, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(kind >> (8 * i));
        out[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    out[4] = '\0';
}

static char *path_tmp(const char *path)
{
    size_t n = strlen(path);
    char *t = vs_malloc(n + 5);
    if (t) {
        memcpy(t, path, n);
        memcpy(t + n, ".tmp", 5);
    }
    return t;
}

/* ---- writer ---- */

vs_err snap_create(const char *path, uint32_t kind, uint64_t seq, snap_writer_t **out,
                   vs_status *st)
{
    snap_writer_t *w = vs_calloc(1, sizeof *w);
    if (w) w->tmp_path = path_tmp(path);
    if (w) w->buf = vs_malloc(SNAP_BLOCK_SIZE);
    if (!w || !w->tmp_path || !w->buf) {
        if (w) vs_free(w->tmp_path), vs_free(w->buf);
        vs_free(w);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory creating %s", path);
    }
    vs_err rc =
        vs_file_open(w->tmp_path, VS_FILE_WRITE | VS_FILE_CREATE | VS_FILE_TRUNC, &w->f, st);
    if (rc == VS_OK) {
        uint8_t h[SNAP_HDR_SIZE] = {0};
        vs_store_u32(h, SNAP_MAGIC);
        h[4] = SNAP_VERSION;
        vs_store_u32(h + 8, kind);
        vs_store_u32(h + 12, (uint32_t)SNAP_BLOCK_SIZE);
        vs_store_u64(h + 16, seq);
        vs_store_u32(h + 28, vs_crc32c(0, h, 28));
        rc = vs_file_pwrite(w->f, h, sizeof h, 0, st);
        w->off = SNAP_HDR_SIZE;
    }
    if (rc != VS_OK) {
        snap_abort(w);
        return rc;
    }
    *out = w;
    return VS_OK;
}

static vs_err emit_block(snap_writer_t *w, const void *data, size_t len, vs_status *st)
{
    uint8_t lenb[4], crcb[4];
    vs_store_u32(lenb, (uint32_t)len);
    vs_store_u32(crcb, vs_crc32c(vs_crc32c(0, lenb, 4), data, len));
    struct iovec iov[3] = {{lenb, 4}, {(void *)data, len}, {crcb, 4}};
    vs_err rc = vs_file_pwritev(w->f, iov, 3, w->off, st);
    if (rc != VS_OK) return w->err = rc;
    w->off += len + 8;
    w->body_len += len;
    w->n_blocks++;
    return VS_OK;
}

vs_err snap_write(snap_writer_t *w, const void *p, size_t n, vs_status *st)
{
    if (w->err) return vs_status_set(st, w->err, "%s: write after an earlier error", w->tmp_path);
    const uint8_t *s = p;
    while (n) {
        if (w->fill == 0 && n >= SNAP_BLOCK_SIZE) {
            vs_err rc = emit_block(w, s, SNAP_BLOCK_SIZE, st);
            if (rc != VS_OK) return rc;
            s += SNAP_BLOCK_SIZE;
            n -= SNAP_BLOCK_SIZE;
            continue;
        }
        size_t m = SNAP_BLOCK_SIZE - w->fill;
        if (m > n) m = n;
        memcpy(w->buf + w->fill, s, m);
        w->fill += m;
        s += m;
        n -= m;
        if (w->fill == SNAP_BLOCK_SIZE) {
            vs_err rc = emit_block(w, w->buf, w->fill, st);
            if (rc != VS_OK) return rc;
            w->fill = 0;
        }
    }
    return VS_OK;
}

static void writer_free(snap_writer_t *w, bool remove)
{
    vs_file_close(w->f);
    if (remove) {
        vs_status ignored;
        vs_file_unlink(w->tmp_path, &ignored);
    }
    vs_free(w->tmp_path);
    vs_free(w->buf);
    vs_free(w);
}

vs_err snap_finish(snap_writer_t *w, vs_status *st)
{
    vs_err rc = w->err;
    if (rc != VS_OK)
        vs_status_set(st, rc, "%s: not finished after an earlier write error", w->tmp_path);
    if (rc == VS_OK && w->fill) rc = emit_block(w, w->buf, w->fill, st);
    if (rc == VS_OK) {
        uint8_t ft[SNAP_FOOTER_SIZE];
        vs_store_u32(ft, SNAP_MARKER);
        vs_store_u64(ft + 4, w->body_len);
        vs_store_u64(ft + 12, w->n_blocks);
        vs_store_u32(ft + 20, vs_crc32c(0, ft, 20));
        rc = vs_file_pwrite(w->f, ft, sizeof ft, w->off, st);
    }
    if (rc == VS_OK) rc = vs_file_sync(w->f, false, st);
    writer_free(w, rc != VS_OK);
    return rc;
}

void snap_abort(snap_writer_t *w)
{
    if (w) writer_free(w, true);
}

/* ---- reader ---- */

static vs_err rd_fail(snap_reader_t *r, vs_status *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a corruption message (sticky) and returns VS_ERR_CORRUPT. */
static vs_err rd_fail(snap_reader_t *r, vs_status *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
    r->err = VS_ERR_CORRUPT;
    return vs_status_set(st, VS_ERR_CORRUPT, "%s", r->err_msg);
}

static vs_err rd_io(snap_reader_t *r, vs_err rc, const vs_status *st)
{
    r->err = rc;
    snprintf(r->err_msg, sizeof r->err_msg, "%s", st->msg);
    return rc;
}

static void reader_free(snap_reader_t *r)
{
    vs_file_close(r->f);
    vs_free(r->buf);
    vs_free(r);
}

vs_err snap_open(const char *path, uint32_t kind, snap_reader_t **out, uint64_t *seq_out,
                 vs_status *st)
{
    snap_reader_t *r = vs_calloc(1, sizeof *r);
    if (!r) return vs_status_set(st, VS_ERR_NOMEM, "out of memory opening %s", path);
    vs_err rc = vs_file_open(path, VS_FILE_READ | VS_FILE_SEQUENTIAL, &r->f, st);
    if (rc != VS_OK) {
        vs_free(r);
        return rc;
    }
    r->path = vs_file_path(r->f);
    uint8_t h[SNAP_HDR_SIZE + 4];
    size_t got = 0;
    rc = vs_file_size(r->f, &r->fsize, st);
    if (rc == VS_OK) rc = vs_file_pread(r->f, h, sizeof h, 0, &got, st);
    if (rc != VS_OK) goto fail;
    char want[5], have[5];
    if (got < SNAP_HDR_SIZE) {
        rc = rd_fail(r, st, "%s: truncated header at offset 0 (the file is %llu bytes)", path,
                     (unsigned long long)r->fsize);
    } else if (vs_load_u32(h) != SNAP_MAGIC) {
        rc = rd_fail(r, st, "%s: bad magic at offset 0 (not a VecStore snapshot file)", path);
    } else if (vs_crc32c(0, h, 28) != vs_load_u32(h + 28)) {
        rc = rd_fail(r, st, "%s: checksum mismatch in the header at offset 0", path);
    } else if (load_u16(h + 4) != SNAP_VERSION || load_u16(h + 6) != 0) {
        rc = rd_fail(r, st, "%s: unsupported format version %u (flags 0x%x) at offset 4", path,
                     load_u16(h + 4), load_u16(h + 6));
    } else if (vs_load_u32(h + 8) != kind) {
        kind_str(kind, want);
        kind_str(vs_load_u32(h + 8), have);
        rc = rd_fail(r, st, "%s: holds kind '%s' at offset 8, expected '%s'", path, have, want);
    } else if (vs_load_u32(h + 12) == 0 || vs_load_u32(h + 12) > SNAP_MAX_BLOCK) {
        rc = rd_fail(r, st, "%s: bad block size %u at offset 12", path, vs_load_u32(h + 12));
    }
    if (rc != VS_OK) goto fail;
    r->block_size = vs_load_u32(h + 12);
    r->off = SNAP_HDR_SIZE;
    r->has_next = got >= SNAP_HDR_SIZE + 4;
    if (r->has_next) r->next_len = vs_load_u32(h + SNAP_HDR_SIZE);
    *seq_out = vs_load_u64(h + 16);
    *out = r;
    return VS_OK;
fail:
    reader_free(r);
    return rc;
}

/* Reads the next block (its length is r->next_len) into dst and verifies it. */
static vs_err load_block(snap_reader_t *r, uint8_t *dst, vs_status *st)
{
    if (!r->has_next)
        return rd_fail(r, st, "%s: truncated: the file ends at offset %llu inside the body",
                       r->path, (unsigned long long)r->off);
    uint32_t len = r->next_len;
    if (len == SNAP_MARKER)
        return rd_fail(r, st,
                       "%s: body too short: the footer comes at offset %llu after %llu bytes",
                       r->path, (unsigned long long)r->off, (unsigned long long)r->body_len);
    if (len == 0 || len > r->block_size)
        return rd_fail(r, st, "%s: bad block length %u in block at offset %llu", r->path, len,
                       (unsigned long long)r->off);
    uint8_t tail[8];
    struct iovec iov[2] = {{dst, len}, {tail, sizeof tail}};
    size_t got = 0;
    vs_status ist;
    vs_err rc = vs_file_preadv(r->f, iov, 2, r->off + 4, &got, &ist);
    if (rc != VS_OK) {
        vs_status_set(st, rc, "%s", ist.msg);
        return rd_io(r, rc, &ist);
    }
    if (got < (size_t)len + 4)
        return rd_fail(r, st,
                       "%s: truncated: block at offset %llu extends past the end of the file",
                       r->path, (unsigned long long)r->off);
    uint8_t lenb[4];
    vs_store_u32(lenb, len);
    if (vs_crc32c(vs_crc32c(0, lenb, 4), dst, len) != vs_load_u32(tail))
        return rd_fail(r, st, "%s: checksum mismatch in block at offset %llu", r->path,
                       (unsigned long long)r->off);
    r->off += (uint64_t)len + 8;
    r->has_next = got >= (size_t)len + 8;
    if (r->has_next) r->next_len = vs_load_u32(tail + 4);
    r->n_blocks++;
    return VS_OK;
}

vs_err snap_read(snap_reader_t *r, void *p, size_t n, vs_status *st)
{
    if (r->err) return vs_status_set(st, r->err, "%s", r->err_msg);
    uint8_t *d = p;
    while (n) {
        if (r->blk_pos < r->blk_len) {
            size_t m = r->blk_len - r->blk_pos;
            if (m > n) m = n;
            memcpy(d, r->buf + r->blk_pos, m);
            r->blk_pos += m;
            r->body_len += m;
            d += m;
            n -= m;
            continue;
        }
        /* a whole block wanted: read it straight into the caller's buffer (MARKER > block_size) */
        if (r->has_next && r->next_len > 0 && r->next_len <= r->block_size && n >= r->next_len) {
            size_t len = r->next_len;
            vs_err rc = load_block(r, d, st);
            if (rc != VS_OK) return rc;
            r->body_len += len;
            d += len;
            n -= len;
            continue;
        }
        if (!r->buf) {
            r->buf = vs_malloc(r->block_size);
            if (!r->buf)
                return vs_status_set(st, VS_ERR_NOMEM, "out of memory reading %s", r->path);
        }
        r->blk_off = r->off;
        size_t len = r->has_next ? r->next_len : 0;
        vs_err rc = load_block(r, r->buf, st);
        if (rc != VS_OK) return rc;
        r->blk_len = len;
        r->blk_pos = 0;
    }
    return VS_OK;
}

vs_err snap_read_end(snap_reader_t *r, vs_status *st)
{
    if (r->err) return vs_status_set(st, r->err, "%s", r->err_msg);
    if (r->blk_pos < r->blk_len)
        return rd_fail(r, st, "%s: body too long: %zu bytes left unread in block at offset %llu",
                       r->path, r->blk_len - r->blk_pos, (unsigned long long)r->blk_off);
    if (!r->has_next)
        return rd_fail(r, st, "%s: truncated: no footer at offset %llu", r->path,
                       (unsigned long long)r->off);
    if (r->next_len != SNAP_MARKER)
        return rd_fail(r, st, "%s: body too long: another block follows at offset %llu", r->path,
                       (unsigned long long)r->off);
    uint8_t ft[SNAP_FOOTER_SIZE];
    size_t got = 0;
    vs_err rc = vs_file_pread(r->f, ft, sizeof ft, r->off, &got, st);
    if (rc != VS_OK) return rd_io(r, rc, st);
    if (got < sizeof ft)
        return rd_fail(r, st, "%s: truncated footer at offset %llu", r->path,
                       (unsigned long long)r->off);
    if (vs_crc32c(0, ft, 20) != vs_load_u32(ft + 20))
        return rd_fail(r, st, "%s: checksum mismatch in the footer at offset %llu", r->path,
                       (unsigned long long)r->off);
    if (vs_load_u64(ft + 4) != r->body_len || vs_load_u64(ft + 12) != r->n_blocks)
        return rd_fail(r, st,
                       "%s: footer at offset %llu records %llu bytes in %llu blocks, the file "
                       "holds %llu bytes in %llu blocks",
                       r->path, (unsigned long long)r->off, (unsigned long long)vs_load_u64(ft + 4),
                       (unsigned long long)vs_load_u64(ft + 12), (unsigned long long)r->body_len,
                       (unsigned long long)r->n_blocks);
    if (r->off + SNAP_FOOTER_SIZE != r->fsize)
        return rd_fail(r, st, "%s: %llu unexpected bytes after the footer at offset %llu", r->path,
                       (unsigned long long)(r->fsize - r->off - SNAP_FOOTER_SIZE),
                       (unsigned long long)(r->off + SNAP_FOOTER_SIZE));
    return VS_OK;
}

void snap_close(snap_reader_t *r)
{
    if (r) reader_free(r);
}

/* ---- sets ---- */

vs_err snapset_commit(const char *dir, const char *const *names, size_t n_names, vs_status *st)
{
    char from[PATH_MAX], to[PATH_MAX];
    vs_err rc = vs_file_sync_dir(dir, st);
    for (size_t i = 0; rc == VS_OK && i < n_names; i++) {
        snprintf(from, sizeof from, "%s/%s.tmp", dir, names[i]);
        snprintf(to, sizeof to, "%s/%s", dir, names[i]);
        rc = vs_file_rename(from, to, st);
    }
    if (rc == VS_OK) rc = vs_file_sync_dir(dir, st);
    return rc;
}

typedef enum { P_ABSENT, P_OK, P_BAD } probe_state;

/* Reads a file's header (and, with need_footer, checks the footer and the file size agree):
 * P_OK with *seq, P_ABSENT, or P_BAD (unreadable, wrong format or incomplete). */
static vs_err probe(const char *path, bool need_footer, probe_state *state, uint64_t *seq,
                    vs_status *st)
{
    vs_file_t *f = NULL;
    vs_status ost;
    vs_err rc = vs_file_open(path, VS_FILE_READ, &f, &ost);
    *state = P_BAD;
    if (rc == VS_ERR_NOT_FOUND) {
        *state = P_ABSENT;
        return VS_OK;
    }
    if (rc != VS_OK) return vs_status_set(st, rc, "%s", ost.msg);
    uint8_t h[SNAP_HDR_SIZE], ft[SNAP_FOOTER_SIZE];
    uint64_t size = 0;
    size_t got = 0, got2 = 0;
    rc = vs_file_size(f, &size, st);
    if (rc == VS_OK) rc = vs_file_pread(f, h, sizeof h, 0, &got, st);
    if (rc == VS_OK && need_footer && size >= SNAP_HDR_SIZE + SNAP_FOOTER_SIZE)
        rc = vs_file_pread(f, ft, sizeof ft, size - SNAP_FOOTER_SIZE, &got2, st);
    vs_file_close(f);
    if (rc != VS_OK) return rc;
    if (got != sizeof h || vs_load_u32(h) != SNAP_MAGIC ||
        vs_crc32c(0, h, 28) != vs_load_u32(h + 28))
        return VS_OK;
    if (need_footer) {
        if (got2 != sizeof ft || vs_load_u32(ft) != SNAP_MARKER ||
            vs_crc32c(0, ft, 20) != vs_load_u32(ft + 20))
            return VS_OK;
        uint64_t body = vs_load_u64(ft + 4), blocks = vs_load_u64(ft + 12);
        if (body > size || blocks > size ||
            SNAP_HDR_SIZE + body + 8 * blocks + SNAP_FOOTER_SIZE != size)
            return VS_OK;
    }
    *seq = vs_load_u64(h + 16);
    *state = P_OK;
    return VS_OK;
}

vs_err snapset_recover(const char *dir, const char *const *names, size_t n_names, vs_status *st)
{
    enum { MAX_SET = 16 };
    if (n_names > MAX_SET)
        return vs_status_set(st, VS_ERR_INTERNAL, "snapset_recover: %zu files in a set (max %d)",
                             n_names, MAX_SET);
    probe_state fs[MAX_SET], ts[MAX_SET];
    uint64_t fseq[MAX_SET] = {0}, tseq[MAX_SET] = {0};
    char path[PATH_MAX], tmp[PATH_MAX];
    size_t n_tmp = 0;
    bool any_complete = false;
    uint64_t newest = 0;
    for (size_t i = 0; i < n_names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, names[i]);
        vs_err rc = probe(path, false, &fs[i], &fseq[i], st);
        if (rc == VS_OK) rc = probe(tmp, true, &ts[i], &tseq[i], st);
        if (rc != VS_OK) return rc;
        if (ts[i] != P_ABSENT) n_tmp++;
        if (ts[i] == P_OK && (!any_complete || tseq[i] > newest)) newest = tseq[i];
        if (ts[i] == P_OK) any_complete = true;
    }
    if (n_tmp) {
        bool all = any_complete, begun = false;
        for (size_t i = 0; i < n_names; i++) {
            bool t_ok = ts[i] == P_OK && tseq[i] == newest;
            bool f_ok = fs[i] == P_OK && fseq[i] == newest;
            if (!t_ok && !f_ok) all = false;
            if (f_ok) begun = true;
        }
        bool roll = all && begun;
        vs_err rc = VS_OK;
        for (size_t i = 0; rc == VS_OK && i < n_names; i++) {
            if (ts[i] == P_ABSENT) continue;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, names[i]);
            bool take =
                roll && ts[i] == P_OK && tseq[i] == newest && !(fs[i] == P_OK && fseq[i] == newest);
            if (take) {
                rc = vs_file_rename(tmp, path, st);
                fs[i] = P_OK;
                fseq[i] = newest;
            } else {
                rc = vs_file_unlink(tmp, st);
            }
        }
        if (rc == VS_OK) rc = vs_file_sync_dir(dir, st);
        if (rc != VS_OK) return rc;
        if (roll)
            vs_log_info("%s: snapshot commit of seq %llu interrupted by a crash: rolled forward",
                        dir, (unsigned long long)newest);
        else
            vs_log_info("%s: %zu unfinished snapshot file(s) (.tmp) from before a crash discarded",
                        dir, n_tmp);
    }
    /* the set must now be whole and of one seq, or absent */
    size_t present = 0;
    bool mixed = false, have_seq = false;
    uint64_t seq0 = 0;
    for (size_t i = 0; i < n_names; i++) {
        if (fs[i] == P_ABSENT) continue;
        present++;
        if (fs[i] != P_OK) continue; /* a bad header: snap_open reports it precisely */
        if (!have_seq)
            seq0 = fseq[i], have_seq = true;
        else if (fseq[i] != seq0)
            mixed = true;
    }
    if (present && present != n_names) {
        char missing[256] = "";
        size_t ml = 0;
        for (size_t i = 0; i < n_names; i++)
            if (fs[i] == P_ABSENT && ml < sizeof missing)
                ml += (size_t)snprintf(missing + ml, sizeof missing - ml, "%s%s", ml ? ", " : "",
                                       names[i]);
        return vs_status_set(st, VS_ERR_CORRUPT,
                             "%s: incomplete snapshot: %s missing while %zu other file(s) exist",
                             dir, missing, present);
    }
    if (mixed) {
        char seqs[320] = "";
        size_t sl = 0;
        for (size_t i = 0; i < n_names; i++)
            if (fs[i] == P_OK && sl < sizeof seqs)
                sl += (size_t)snprintf(seqs + sl, sizeof seqs - sl, "%s%s seq %llu", sl ? ", " : "",
                                       names[i], (unsigned long long)fseq[i]);
        return vs_status_set(st, VS_ERR_CORRUPT,
                             "%s: snapshot files disagree on their sequence number at offset 16 "
                             "(%s)",
                             dir, seqs);
    }
    return VS_OK;
}
