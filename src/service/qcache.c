/*
 * qcache.c - the query-result cache: a sharded LRU of opaque byte values, bounded by entries and
 * bytes.
 *
 * How it works: a key's 64-bit hash picks a shard (high 32 bits) and a bucket inside it (low
 * bits). A shard is a chained hash table (power-of-two bucket array, grown at load 1) plus a
 * doubly linked LRU list, most recently used at the head. Each entry is one allocation holding
 * its links, lengths, hash, and then the key bytes followed by the value bytes. get moves the hit
 * to the head and copies the value out; put builds the new entry before taking the lock, unlinks
 * any old entry with the same key, evicts from the tail until the new entry fits, and links it
 * at the head. Entries removed under the lock are freed after it is released.
 *
 * Shard count: 1 when max_entries < 128 (so a small cache is one exact LRU), else the largest
 * power of two <= max_entries / 64, at most QCACHE_MAX_SHARDS, and reduced so that every shard
 * keeps at least 64 KiB of byte budget.
 *
 * Invariants (per shard, under its mutex):
 *   1. n <= max_entries_per_shard and bytes <= max_bytes_per_shard, where bytes is the sum of
 *      key_len + val_len over the shard's entries.
 *   2. Every entry is in exactly one bucket chain (bucket = hash & (n_buckets - 1)) and in the
 *      LRU list; n equals the length of both; keys are unique within the cache.
 *   3. The LRU list runs from most (lru_head) to least (lru_tail) recently used.
 *
 * Concurrency: one mutex per shard guards all of that shard's fields; no function holds two shard
 * locks at once, and nothing is called under a shard lock but vs_malloc / vs_realloc / memcpy.
 * qcache_entries / qcache_bytes lock shards one at a time, so under concurrent writes the sum is
 * a recent value, not a snapshot.
 *
 * Callers: src/service/service.c (query path: get before searching, put after; drop_prefix on
 * namespace deletion).
 */
#include "service/qcache.h"

#include "util/alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define QCACHE_SMALL_ENTRIES     128   /* below this: one shard */
#define QCACHE_ENTRIES_PER_SHARD 64    /* at least this many entries per shard */
#define QCACHE_BYTES_PER_SHARD   65536 /* at least this byte budget per shard */
#define QCACHE_INITIAL_BUCKETS   16

typedef struct qc_entry {
    struct qc_entry *hnext; /* bucket chain; reused to chain entries to free after unlock */
    struct qc_entry *prev;  /* LRU: towards the head (more recent) */
    struct qc_entry *next;  /* LRU: towards the tail (less recent) */
    uint64_t hash;
    size_t key_len;
    size_t val_len;
    unsigned char data[]; /* key_len key bytes, then val_len value bytes */
} qc_entry;

typedef struct qc_shard {
    pthread_mutex_t mu; /* guards every field below */
    qc_entry **buckets;
    size_t n_buckets; /* power of two */
    qc_entry *lru_head;
    qc_entry *lru_tail;
    size_t n;
    size_t bytes;
} qc_shard;

struct vs_qcache {
    size_t n_shards;    /* 0 = disabled; else a power of two; immutable */
    size_t shard_max_n; /* immutable */
    size_t shard_max_bytes;
    qc_shard *shards;
};

/* Key hash: 8 bytes per step (query keys hold whole vectors, kilobytes long, so the byte-wise
 * FNV of util/hashmap.c would dominate a hit), two independent lanes, splitmix64 finaliser. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static uint64_t lane(uint64_t h, uint64_t w)
{
    h ^= w * 0xff51afd7ed558ccdULL;
    h = (h << 27) | (h >> 37);
    return h * 0x9e3779b97f4a7c15ULL;
}

static uint64_t key_hash(const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t a = 0x243f6a8885a308d3ULL ^ n, b = 0x13198a2e03707344ULL;
    uint64_t w0, w1;
    for (; n >= 16; p += 16, n -= 16) {
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        a = lane(a, w0);
        b = lane(b, w1);
    }
    unsigned char tail[16] = {0};
    memcpy(tail, p, n);
    memcpy(&w0, tail, 8);
    memcpy(&w1, tail + 8, 8);
    a = lane(a, w0);
    b = lane(b, w1);
    return mix64(a ^ mix64(b));
}

static size_t pow2_floor(size_t x)
{
    size_t p = 1;
    while (p <= x / 2) p *= 2;
    return p;
}

vs_qcache_t *qcache_create(size_t max_entries, size_t max_bytes)
{
    vs_qcache_t *c = vs_calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    if (max_entries == 0 || max_bytes == 0) return c; /* disabled */
    size_t ns = 1;
    if (max_entries >= QCACHE_SMALL_ENTRIES) {
        ns = pow2_floor(max_entries / QCACHE_ENTRIES_PER_SHARD);
        size_t by_bytes = max_bytes / QCACHE_BYTES_PER_SHARD;
        by_bytes = by_bytes ? pow2_floor(by_bytes) : 1;
        if (ns > by_bytes) ns = by_bytes;
        if (ns > QCACHE_MAX_SHARDS) ns = QCACHE_MAX_SHARDS;
    }
    c->shards = vs_malloc(ns * sizeof *c->shards);
    if (c->shards == NULL) {
        vs_free(c);
        return NULL;
    }
    for (size_t i = 0; i < ns; i++) {
        qc_shard *s = &c->shards[i];
        memset(s, 0, sizeof *s);
        s->buckets = vs_calloc(QCACHE_INITIAL_BUCKETS, sizeof *s->buckets);
        if (s->buckets == NULL || pthread_mutex_init(&s->mu, NULL) != 0) {
            vs_free(s->buckets);
            for (size_t j = 0; j < i; j++) {
                pthread_mutex_destroy(&c->shards[j].mu);
                vs_free(c->shards[j].buckets);
            }
            vs_free(c->shards);
            vs_free(c);
            return NULL;
        }
        s->n_buckets = QCACHE_INITIAL_BUCKETS;
    }
    c->n_shards = ns;
    c->shard_max_n = max_entries / ns;
    c->shard_max_bytes = max_bytes / ns;
    return c;
}

void qcache_destroy(vs_qcache_t *c)
{
    if (c == NULL) return;
    for (size_t i = 0; i < c->n_shards; i++) {
        qc_shard *s = &c->shards[i];
        qc_entry *e = s->lru_head;
        while (e != NULL) {
            qc_entry *nx = e->next;
            vs_free(e);
            e = nx;
        }
        vs_free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    vs_free(c->shards);
    vs_free(c);
}

static qc_shard *shard_of(vs_qcache_t *c, uint64_t hash)
{
    return &c->shards[(hash >> 32) & (c->n_shards - 1)];
}

/* ---- shard internals (caller holds s->mu) ---- */

static qc_entry *find(qc_shard *s, uint64_t hash, const void *key, size_t key_len)
{
    for (qc_entry *e = s->buckets[hash & (s->n_buckets - 1)]; e != NULL; e = e->hnext)
        if (e->hash == hash && e->key_len == key_len && memcmp(e->data, key, key_len) == 0)
            return e;
    return NULL;
}

static void lru_unlink(qc_shard *s, qc_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_head(qc_shard *s, qc_entry *e)
{
    e->prev = NULL;
    e->next = s->lru_head;
    if (s->lru_head) s->lru_head->prev = e;
    s->lru_head = e;
    if (s->lru_tail == NULL) s->lru_tail = e;
}

/* Removes e from its chain, the LRU list and the counts; e->hnext is free for the caller. */
static void remove_entry(qc_shard *s, qc_entry *e)
{
    qc_entry **pp = &s->buckets[e->hash & (s->n_buckets - 1)];
    while (*pp != e) pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->hnext = NULL;
    lru_unlink(s, e);
    s->n--;
    s->bytes -= e->key_len + e->val_len;
}

/* Doubles the bucket array; on out of memory keeps the old one (longer chains, still correct). */
static void grow(qc_shard *s)
{
    size_t nb = s->n_buckets * 2;
    qc_entry **b = vs_calloc(nb, sizeof *b);
    if (b == NULL) return;
    for (size_t i = 0; i < s->n_buckets; i++) {
        qc_entry *e = s->buckets[i];
        while (e != NULL) {
            qc_entry *nx = e->hnext;
            size_t j = e->hash & (nb - 1);
            e->hnext = b[j];
            b[j] = e;
            e = nx;
        }
    }
    vs_free(s->buckets);
    s->buckets = b;
    s->n_buckets = nb;
}

static void free_chain(qc_entry *e)
{
    while (e != NULL) {
        qc_entry *nx = e->hnext;
        vs_free(e);
        e = nx;
    }
}

/* ---- public operations ---- */

bool qcache_get(vs_qcache_t *c, const void *key, size_t key_len, void **val_out,
                size_t *val_len_out)
{
    if (c == NULL || c->n_shards == 0) return false;
    uint64_t h = key_hash(key, key_len);
    qc_shard *s = shard_of(c, h);
    bool hit = false;
    pthread_mutex_lock(&s->mu);
    qc_entry *e = find(s, h, key, key_len);
    if (e != NULL) {
        void *copy = vs_malloc(e->val_len ? e->val_len : 1);
        if (copy != NULL) {
            memcpy(copy, e->data + e->key_len, e->val_len);
            lru_unlink(s, e);
            lru_push_head(s, e);
            *val_out = copy;
            *val_len_out = e->val_len;
            hit = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

void qcache_put(vs_qcache_t *c, const void *key, size_t key_len, const void *val, size_t val_len)
{
    if (c == NULL || c->n_shards == 0) return;
    if (key_len > c->shard_max_bytes || val_len > c->shard_max_bytes - key_len) return;
    qc_entry *ne = vs_malloc(sizeof *ne + key_len + val_len);
    if (ne == NULL) return;
    uint64_t h = key_hash(key, key_len);
    ne->hash = h;
    ne->key_len = key_len;
    ne->val_len = val_len;
    ne->hnext = ne->prev = ne->next = NULL;
    memcpy(ne->data, key, key_len);
    memcpy(ne->data + key_len, val, val_len);

    qc_shard *s = shard_of(c, h);
    qc_entry *dead = NULL; /* chained through hnext, freed after unlock */
    pthread_mutex_lock(&s->mu);
    qc_entry *old = find(s, h, key, key_len);
    if (old != NULL) {
        remove_entry(s, old);
        old->hnext = dead;
        dead = old;
    }
    size_t need = key_len + val_len;
    while (s->lru_tail != NULL &&
           (s->n + 1 > c->shard_max_n || s->bytes + need > c->shard_max_bytes)) {
        qc_entry *v = s->lru_tail;
        remove_entry(s, v);
        v->hnext = dead;
        dead = v;
    }
    if (s->n + 1 > s->n_buckets) grow(s);
    size_t b = h & (s->n_buckets - 1);
    ne->hnext = s->buckets[b];
    s->buckets[b] = ne;
    lru_push_head(s, ne);
    s->n++;
    s->bytes += need;
    pthread_mutex_unlock(&s->mu);
    free_chain(dead);
}

void qcache_drop_prefix(vs_qcache_t *c, const void *prefix, size_t prefix_len)
{
    if (c == NULL) return;
    for (size_t i = 0; i < c->n_shards; i++) {
        qc_shard *s = &c->shards[i];
        qc_entry *dead = NULL;
        pthread_mutex_lock(&s->mu);
        qc_entry *e = s->lru_head;
        while (e != NULL) {
            qc_entry *nx = e->next;
            if (e->key_len >= prefix_len && memcmp(e->data, prefix, prefix_len) == 0) {
                remove_entry(s, e);
                e->hnext = dead;
                dead = e;
            }
            e = nx;
        }
        pthread_mutex_unlock(&s->mu);
        free_chain(dead);
    }
}

size_t qcache_entries(vs_qcache_t *c)
{
    if (c == NULL) return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_shards; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        n += c->shards[i].n;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    return n;
}

size_t qcache_bytes(vs_qcache_t *c)
{
    if (c == NULL) return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_shards; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        n += c->shards[i].bytes;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    return n;
}

size_t qcache_shards(vs_qcache_t *c)
{
    return c ? c->n_shards : 0;
}
