/*
 * snapshot.h - checksummed container files written atomically, and sets of them committed
 * together (vectors.bin, metadata.bin, hnsw_index.bin of a namespace). The container frames an
 * opaque body: the caller streams bytes in with snap_write and back out with snap_read; the
 * engine defines what they mean. Byte format: docs/storage.md and snapshot.c.
 *
 * A file = 32-byte header (magic "VSSN", version, flags, kind = the caller's magic, block size,
 * seq, crc) + body blocks (u32 length, bytes, u32 crc32c; up to 1 MiB each) + a 24-byte footer
 * (marker, total body length, block count, crc). Written as PATH.tmp; readers verify every block.
 *
 * Ownership: snap_create makes a writer that snap_finish or snap_abort frees (exactly one of
 * them, once); snap_open makes a reader that snap_close frees. Paths are copied.
 * Concurrency: a writer or reader is used by one thread at a time.
 */
#ifndef VS_STORAGE_SNAPSHOT_H
#define VS_STORAGE_SNAPSHOT_H

#include "vecstore/err.h"

#include <stddef.h>
#include <stdint.h>

#define SNAP_BLOCK_SIZE ((size_t)1 << 20) /* body bytes per block, the last may be shorter */

typedef struct snap_writer snap_writer_t;
typedef struct snap_reader snap_reader_t;

/* Creates PATH.tmp (truncating an old one) and writes the header. */
vs_err snap_create(const char *path, uint32_t kind, uint64_t seq, snap_writer_t **out,
                   vs_status *st);
/* Appends n body bytes. After an error the writer only accepts snap_finish/snap_abort. */
vs_err snap_write(snap_writer_t *w, const void *p, size_t n, vs_status *st);
/* Writes the last block and the footer and fsyncs PATH.tmp (does NOT rename: snapset_commit
 * does). Frees w on both outcomes; on failure PATH.tmp is removed. */
vs_err snap_finish(snap_writer_t *w, vs_status *st);
/* Removes PATH.tmp and frees w. */
void snap_abort(snap_writer_t *w);

/* Opens a committed file; ENOENT -> VS_ERR_NOT_FOUND; a bad header (magic, version, kind,
 * checksum, truncated) -> VS_ERR_CORRUPT naming the file and offset. */
vs_err snap_open(const char *path, uint32_t kind, snap_reader_t **out, uint64_t *seq_out,
                 vs_status *st);
/* Reads exactly n body bytes (across blocks), verifying each block's crc; a short body, a bad
 * block length or crc -> VS_ERR_CORRUPT "<path>: checksum mismatch in block at offset N" (or a
 * similar message naming file and offset). Large reads go straight into p. After an error every
 * later call fails the same way. */
vs_err snap_read(snap_reader_t *r, void *p, size_t n, vs_status *st);
/* Call after the last read: VS_OK when the whole body was consumed and the footer verified
 * (lengths, block count, checksum, nothing after it); VS_ERR_CORRUPT otherwise. */
vs_err snap_read_end(snap_reader_t *r, vs_status *st);
void snap_close(snap_reader_t *r);

/* Commits a set of files whose .tmp versions were all finished with the same seq: fsyncs the
 * directory (so every .tmp name is durable), renames each DIR/NAME.tmp -> DIR/NAME in order, then
 * fsyncs the directory. The first rename is the commit point. */
vs_err snapset_commit(const char *dir, const char *const *names, size_t n_names, vs_status *st);
/* At open, before reading the set. If some final file already carries the newest complete .tmp
 * seq S (the commit began) and every other name has a complete .tmp or final file with seq S,
 * rolls forward (finishes the renames); otherwise deletes the .tmp files (the crash came before
 * the commit point, the old set and the log are intact). Afterwards every final file of the set
 * carries the same seq, or none exists; if not (a file missing, seqs disagreeing) ->
 * VS_ERR_CORRUPT naming the files. Reports what it did with vs_log_info. */
vs_err snapset_recover(const char *dir, const char *const *names, size_t n_names, vs_status *st);

#endif
