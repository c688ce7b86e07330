/*
 * qcache.h - the query-result cache: an LRU of opaque byte values under opaque byte keys,
 * bounded by entry count and by bytes (SPEC 9: "a real query-result cache").
 *
 * The service encodes namespace id + the namespace's write generation + the canonical query into
 * the key, so a write makes a namespace's old entries unreachable (they age out of the LRU), and
 * qcache_drop_prefix(namespace id ...) removes them at once when a namespace is deleted.
 *
 * Bounds: the cache is split into shards (up to 16; one shard when max_entries < 128, so small
 * caches are one exact LRU). Each shard is an exact LRU holding at most max_entries/n_shards
 * entries and max_bytes/n_shards bytes, so the totals never exceed max_entries and max_bytes.
 * An entry's bytes are key_len + val_len; a value too big for one shard is not cached.
 *
 * Ownership: keys and values are copied in; qcache_get copies the value out into a vs_malloc'ed
 * buffer the caller releases with vs_free. The cache owns its copies.
 * Thread-safety: every function may be called from any thread concurrently (one mutex per
 * shard); qcache_destroy must not race with anything else. All functions accept c == NULL and a
 * disabled cache (then get misses and put does nothing).
 */
#ifndef VS_SERVICE_QCACHE_H
#define VS_SERVICE_QCACHE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct vs_qcache vs_qcache_t;

#define QCACHE_MAX_SHARDS 16

/* max_entries == 0 or max_bytes == 0: a disabled cache. NULL on out of memory. */
vs_qcache_t *qcache_create(size_t max_entries, size_t max_bytes);
void qcache_destroy(vs_qcache_t *c);
/* On hit, copies the value into a vs_malloc'ed buffer (*val_out, free with vs_free; a zero-length
 * value still gets a non-NULL buffer), marks the entry most recently used and returns true.
 * On miss (or out of memory) returns false and leaves the out-params untouched. */
bool qcache_get(vs_qcache_t *c, const void *key, size_t key_len, void **val_out,
                size_t *val_len_out);
/* Inserts or replaces key -> val as the most recently used entry, evicting least recently used
 * entries of its shard until the bounds hold. Silently does nothing on out of memory or when the
 * entry alone exceeds a shard's byte bound. */
void qcache_put(vs_qcache_t *c, const void *key, size_t key_len, const void *val, size_t val_len);
/* Drops every entry whose key starts with prefix (used when a namespace is deleted). */
void qcache_drop_prefix(vs_qcache_t *c, const void *prefix, size_t prefix_len);
size_t qcache_entries(vs_qcache_t *c);
size_t qcache_bytes(vs_qcache_t *c);
/* Number of shards (0 for a disabled cache); for tests. */
size_t qcache_shards(vs_qcache_t *c);

#endif
