/*
 * wal.h - the write-ahead log of one namespace: DIR/wal.log, a header and a sequence of
 * checksummed records, each carrying an opaque payload and a one-byte type chosen by the caller
 * (the engine defines the payloads; this layer does not look inside them). Byte format and
 * recovery rules: docs/storage.md and the comment at the top of wal.c.
 *
 * Ownership: wal_open creates a wal_t, wal_close destroys it. Payload pointers passed to the
 * replay callback are valid only during the call.
 *
 * Concurrency: every function may be called from several threads at once, except wal_close
 * (the owner's, once nobody else uses the log) and wal_reset (the caller holds writers out).
 */
#ifndef VS_STORAGE_WAL_H
#define VS_STORAGE_WAL_H

#include "vecstore/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { VS_FSYNC_ALWAYS = 0, VS_FSYNC_EVERYSEC = 1, VS_FSYNC_NEVER = 2 } vs_fsync_policy;

typedef struct wal wal_t;

/* The largest payload of one record (a larger length in a file is corruption or a torn tail). */
#define WAL_MAX_PAYLOAD ((size_t)1 << 30)

/* Called for each intact record with seq > after_seq, in order, during wal_open. An error
 * aborts open. */
typedef vs_err (*wal_replay_fn)(void *ctx, uint64_t seq, uint8_t type, const uint8_t *payload,
                                size_t len, vs_status *st);

/* Opens (creating if absent) DIR/wal.log and replays it. A torn or half-written TAIL (the last
 * record incomplete or failing its checksum with nothing valid after it) is cut (ftruncate) and
 * reported with vs_log_warn naming file, offset and bytes cut; any other corruption (bad header,
 * a bad record followed by valid ones, sequence numbers not consecutive, a log starting after
 * after_seq) -> VS_ERR_CORRUPT with a message naming the file path and byte offset, nothing
 * truncated. A log whose records are all <= after_seq (a snapshot was committed but the crash
 * came before wal_reset) is reset to an empty log based at after_seq. */
vs_err wal_open(const char *dir, vs_fsync_policy policy, uint64_t after_seq, wal_replay_fn fn,
                void *ctx, wal_t **out, vs_status *st);
/* Syncs (unless policy never) and frees. */
void wal_close(wal_t *w);
/* Appends one record and assigns the next sequence number; returns once it is in the file
 * (write(2) done) but not necessarily durable. Records are in the file in seq order. A write
 * failure truncates the partial record away and answers VS_ERR_NOSPACE ("No space left on device
 * while writing <path>") or VS_ERR_IO naming the file; the log stays usable if the truncate
 * worked, else it turns sticky-failed (every later call fails, SQLite's pager ERROR state). */
vs_err wal_write(wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq_out,
                 vs_status *st);
/* Returns when record `seq` is durable under the policy: always -> fdatasync'ed (group commit:
 * one leader syncs everything written so far, concurrent callers wait for it); everysec -> at
 * once (one background flusher thread shared by all logs syncs each dirty log every second);
 * never -> at once. A sync failure makes the log sticky-failed. */
vs_err wal_sync(wal_t *w, uint64_t seq, vs_status *st);
/* wal_write + wal_sync. */
vs_err wal_append(wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq_out,
                  vs_status *st);
/* After a snapshot covering every record <= upto_seq is durable: atomically replaces the log by
 * one holding only the records > upto_seq (wal.log.tmp, fsync, rename, fsync of the directory).
 * Sequence numbers keep increasing across resets (the header stores the base seq). A failure
 * before the rename leaves the old log in use; a failed directory sync makes the log failed. */
vs_err wal_reset(wal_t *w, uint64_t upto_seq, vs_status *st);

uint64_t wal_last_seq(const wal_t *w);   /* the newest record's seq (or the base seq) */
uint64_t wal_size_bytes(const wal_t *w); /* file size, header included */
bool wal_failed(const wal_t *w);
const char *wal_path(const wal_t *w);
/* Number of fdatasync calls made on this log so far (tests check group commit with it). */
uint64_t wal_sync_count(const wal_t *w);

/* Stops the everysec flusher thread (it starts again on the next everysec open). Registered
 * with atexit when the flusher first starts; the server may call it earlier. */
void wal_flusher_shutdown(void);

#endif
