/*
 * payload_index.c - keyword and numeric indexes over every metadata path (payload_index.h), and
 * the planner's questions to them: how many slots can a filter match, and which.
 *
 * Structures:
 *   paths    a map encoded path -> path id. A path is encoded as its names, each (u32 length,
 *            bytes), so a key "a.b" and the nested path a -> b never collide. A path entry holds
 *            a reference count (index entries using it; freed at 0 so ids are recycled), n_str
 *            (records whose value at the path is a string: CONTAINS 'x' on such a path is a
 *            substring test the keyword entries cannot bound) and its numeric tree.
 *   keywords a map (u32 path id, tag, payload) -> sorted slot list. Tags: 'S' a string of at most
 *            KW_INLINE_MAX bytes (payload = the bytes), 'H' a longer string (payload = 64-bit hash
 *            + length: a collision only merges two lists, still a superset), 'T' / 'F' booleans,
 *            'N' null (array elements only: for CONTAINS null). A list of one slot is stored
 *            inline (no allocation): most values of an id-like field are unique; up to
 *            KW_FLAT_MAX slots it is one sorted array; longer, a chunked sorted set (chunks of
 *            BIG_CHUNK_MAX), so an upsert or delete of one slot in a list of millions moves one
 *            chunk, not megabytes.
 *   numbers  per path, a chunked sorted array of (value, slot) keys ordered by value then slot: a
 *            directory of chunks of at most NUM_CHUNK_MAX keys (a B+-tree of height 2). Insert
 *            and remove are O(log n + NUM_CHUNK_MAX); a range is found with two binary searches
 *            (directory, then chunk) and enumerated in O(matches); its count adds whole chunks.
 *
 * What a record contributes (deduplicated per record, so each (path, key, slot) is one entry):
 * at each path reached through objects only (SPEC 6), a string -> keyword + n_str, a boolean ->
 * keyword, a number -> numeric (NaN never: nothing compares equal to it); an array -> each scalar
 * element under the array's path (null too); containers inside arrays are unreachable by paths.
 *
 * Planning (node by node; "bounded" = the index names a superset):
 *   = number, BETWEEN numbers, < <= > >= number: a numeric range; = string / bool: a keyword list;
 *   IN: the union of its values (unbounded with a null in the list: that means IS NULL);
 *   CONTAINS: number -> range, bool / null -> keyword, string -> keyword when no record holds a
 *   string at the path (else unbounded); a comparison that can never hold (ordering a boolean or
 *   null, BETWEEN of two types) -> empty; != , NOT, NOT IN, IS [NOT] NULL -> unbounded;
 *   AND -> the smallest bounded child intersected with the other bounded children within `max`;
 *   OR -> the union when every child is bounded. Estimates follow the same rules (AND = min,
 *   OR = sum), counting index entries, so they are upper bounds of the distinct slots.
 *
 * Invariants:
 *  1. Every keyword list is sorted, duplicate-free and non-empty (an empty one is deleted).
 *  2. Every chunk is non-empty and sorted; chunk i's last key < chunk i+1's first key.
 *  3. A path's refs = the entries (keyword slots, numeric keys, n_str) naming it; refs 0 -> freed.
 *  4. pidx_remove with the metadata that was added finds every entry it made (same walk, same
 *     deduplication), so nothing leaks and nothing stale survives.
 *
 * Concurrency: none inside; see the header (the collection's rwlock). Queries never write, so any
 * number may run under the shared lock. Callers: core/collection.c, tests.
 */
#include "core/payload_index.h"

#include "core/filter/filter_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/hashmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NUM_CHUNK_MAX 256 /* keys per numeric chunk */
#define NUM_CHUNK_MIN 4   /* first allocation of a chunk */
#define KW_INLINE_MAX 48  /* longer strings are keyed by hash */
#define NONE          UINT32_MAX

/* ---- numeric trees ---- */

typedef struct numchunk {
    uint32_t n, cap;
    double v[]; /* cap values, then cap uint32 slots */
} numchunk;

static inline uint32_t *chunk_slots(numchunk *c)
{
    return (uint32_t *)(c->v + c->cap);
}
static inline const uint32_t *chunk_cslots(const numchunk *c)
{
    return (const uint32_t *)(c->v + c->cap);
}
static size_t chunk_bytes(uint32_t cap)
{
    return sizeof(numchunk) + (size_t)cap * 12;
}

typedef struct numtree {
    numchunk **chunks;
    uint32_t n_chunks, cap_chunks;
} numtree;

static int key_cmp(double a, uint32_t as, double b, uint32_t bs)
{
    if (a < b) return -1;
    if (a > b) return 1;
    return (as > bs) - (as < bs);
}

/* First chunk whose last key >= (v, s); n_chunks if none. */
static uint32_t find_chunk(const numtree *t, double v, uint32_t s)
{
    uint32_t lo = 0, hi = t->n_chunks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const numchunk *c = t->chunks[mid];
        if (key_cmp(c->v[c->n - 1], chunk_cslots(c)[c->n - 1], v, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First position in c with key >= (v, s). */
static uint32_t chunk_lower(const numchunk *c, double v, uint32_t s)
{
    uint32_t lo = 0, hi = c->n;
    const uint32_t *sl = chunk_cslots(c);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (key_cmp(c->v[mid], sl[mid], v, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static numchunk *chunk_new(uint32_t cap, size_t *heap)
{
    numchunk *c = vs_malloc(chunk_bytes(cap));
    if (!c) return NULL;
    c->n = 0;
    c->cap = cap;
    *heap += chunk_bytes(cap);
    return c;
}

/* Moves c into a chunk of capacity cap (keys and slots keep their order). */
static numchunk *chunk_resize(numchunk *c, uint32_t cap, size_t *heap)
{
    numchunk *d = chunk_new(cap, heap);
    if (!d) return NULL;
    d->n = c->n;
    memcpy(d->v, c->v, c->n * sizeof(double));
    memcpy(chunk_slots(d), chunk_slots(c), c->n * sizeof(uint32_t));
    *heap -= chunk_bytes(c->cap);
    vs_free(c);
    return d;
}

static bool dir_insert(numtree *t, uint32_t at, numchunk *c, size_t *heap)
{
    if (t->n_chunks == t->cap_chunks) {
        uint32_t cap = t->cap_chunks ? t->cap_chunks * 2 : 1;
        numchunk **d = vs_realloc(t->chunks, cap * sizeof *d);
        if (!d) return false;
        *heap += (size_t)(cap - t->cap_chunks) * sizeof *d;
        t->chunks = d;
        t->cap_chunks = cap;
    }
    memmove(t->chunks + at + 1, t->chunks + at, (t->n_chunks - at) * sizeof *t->chunks);
    t->chunks[at] = c;
    t->n_chunks++;
    return true;
}

static void chunk_put(numchunk *c, uint32_t pos, double v, uint32_t s)
{
    uint32_t *sl = chunk_slots(c);
    memmove(c->v + pos + 1, c->v + pos, (c->n - pos) * sizeof(double));
    memmove(sl + pos + 1, sl + pos, (c->n - pos) * sizeof(uint32_t));
    c->v[pos] = v;
    sl[pos] = s;
    c->n++;
}

static bool num_insert(numtree *t, double v, uint32_t s, size_t *heap)
{
    if (!t->n_chunks) {
        numchunk *c = chunk_new(NUM_CHUNK_MIN, heap);
        if (!c) return false;
        if (!dir_insert(t, 0, c, heap)) {
            *heap -= chunk_bytes(c->cap);
            vs_free(c);
            return false;
        }
        chunk_put(c, 0, v, s); /* invariant 2: no chunk is ever empty */
        return true;
    }
    uint32_t ci = find_chunk(t, v, s);
    if (ci == t->n_chunks) ci--; /* after every key: append to the last chunk */
    numchunk *c = t->chunks[ci];
    uint32_t pos = chunk_lower(c, v, s);
    if (pos < c->n && key_cmp(c->v[pos], chunk_slots(c)[pos], v, s) == 0) return true;
    if (c->n == NUM_CHUNK_MAX) { /* split in halves, then insert into the right one */
        uint32_t half = NUM_CHUNK_MAX / 2;
        numchunk *r = chunk_new(NUM_CHUNK_MAX, heap);
        if (!r) return false;
        if (!dir_insert(t, ci + 1, r, heap)) {
            *heap -= chunk_bytes(r->cap);
            vs_free(r);
            return false;
        }
        r->n = c->n - half;
        memcpy(r->v, c->v + half, r->n * sizeof(double));
        memcpy(chunk_slots(r), chunk_slots(c) + half, r->n * sizeof(uint32_t));
        c->n = half;
        if (pos > half) {
            c = r;
            pos -= half;
        }
    } else if (c->n == c->cap) {
        uint32_t cap = c->cap * 2 > NUM_CHUNK_MAX ? NUM_CHUNK_MAX : c->cap * 2;
        numchunk *d = chunk_resize(c, cap, heap);
        if (!d) return false;
        t->chunks[ci] = c = d;
    }
    chunk_put(c, pos, v, s);
    return true;
}

static void num_remove(numtree *t, double v, uint32_t s, size_t *heap)
{
    uint32_t ci = find_chunk(t, v, s);
    if (ci == t->n_chunks) return;
    numchunk *c = t->chunks[ci];
    uint32_t pos = chunk_lower(c, v, s);
    uint32_t *sl = chunk_slots(c);
    if (pos >= c->n || key_cmp(c->v[pos], sl[pos], v, s) != 0) return;
    memmove(c->v + pos, c->v + pos + 1, (c->n - pos - 1) * sizeof(double));
    memmove(sl + pos, sl + pos + 1, (c->n - pos - 1) * sizeof(uint32_t));
    c->n--;
    if (c->n == 0) {
        *heap -= chunk_bytes(c->cap);
        vs_free(c);
        memmove(t->chunks + ci, t->chunks + ci + 1, (t->n_chunks - ci - 1) * sizeof *t->chunks);
        t->n_chunks--;
        return;
    }
    /* merge a small chunk into its right neighbour when both fit in half a chunk: keeps the
     * directory short and the memory per key bounded after many deletes */
    if (ci + 1 < t->n_chunks && c->n + t->chunks[ci + 1]->n <= NUM_CHUNK_MAX / 2 &&
        t->chunks[ci + 1]->cap >= c->n + t->chunks[ci + 1]->n) {
        numchunk *r = t->chunks[ci + 1];
        uint32_t *rs = chunk_slots(r);
        memmove(r->v + c->n, r->v, r->n * sizeof(double));
        memmove(rs + c->n, rs, r->n * sizeof(uint32_t));
        memcpy(r->v, c->v, c->n * sizeof(double));
        memcpy(rs, chunk_slots(c), c->n * sizeof(uint32_t));
        r->n += c->n;
        *heap -= chunk_bytes(c->cap);
        vs_free(c);
        memmove(t->chunks + ci, t->chunks + ci + 1, (t->n_chunks - ci - 1) * sizeof *t->chunks);
        t->n_chunks--;
    }
}

static void num_free(numtree *t, size_t *heap)
{
    for (uint32_t i = 0; i < t->n_chunks; i++) {
        *heap -= chunk_bytes(t->chunks[i]->cap);
        vs_free(t->chunks[i]);
    }
    *heap -= (size_t)t->cap_chunks * sizeof *t->chunks;
    vs_free(t->chunks);
    memset(t, 0, sizeof *t);
}

typedef struct range {
    double lo, hi;
    bool lo_incl, hi_incl;
} range;

static bool above_lo(const range *r, double v)
{
    return r->lo_incl ? v >= r->lo : v > r->lo;
}
static bool below_hi(const range *r, double v)
{
    return r->hi_incl ? v <= r->hi : v < r->hi;
}

/* A growable slot vector. */
typedef struct slotvec {
    uint32_t *v;
    size_t n, cap;
    bool oom;
} slotvec;

static bool sv_reserve(slotvec *sv, size_t extra)
{
    if (sv->oom) return false;
    if (sv->n + extra <= sv->cap) return true;
    size_t cap = sv->cap ? sv->cap : 16;
    while (cap < sv->n + extra) cap *= 2;
    uint32_t *d = vs_realloc(sv->v, cap * sizeof *d);
    if (!d) {
        sv->oom = true;
        return false;
    }
    sv->v = d;
    sv->cap = cap;
    return true;
}

static void sv_append(slotvec *sv, const uint32_t *s, size_t n)
{
    if (!n || !sv_reserve(sv, n)) return;
    memcpy(sv->v + sv->n, s, n * sizeof *s);
    sv->n += n;
}

/* Counts (out NULL) or appends the slots of the keys in r. Returns the number of keys. */
static size_t num_range(const numtree *t, const range *r, slotvec *out)
{
    if (!(r->lo <= r->hi)) return 0;
    /* first chunk whose last value is above lo */
    uint32_t lo = 0, hi = t->n_chunks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const numchunk *c = t->chunks[mid];
        if (above_lo(r, c->v[c->n - 1]))
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t total = 0;
    for (uint32_t ci = lo; ci < t->n_chunks; ci++) {
        const numchunk *c = t->chunks[ci];
        uint32_t a = 0, b = c->n;
        if (ci == lo) { /* first key above lo */
            uint32_t l = 0, h = c->n;
            while (l < h) {
                uint32_t m = l + (h - l) / 2;
                if (above_lo(r, c->v[m]))
                    h = m;
                else
                    l = m + 1;
            }
            a = l;
        }
        bool last = !below_hi(r, c->v[c->n - 1]);
        if (last) { /* first key past hi */
            uint32_t l = a, h = c->n;
            while (l < h) {
                uint32_t m = l + (h - l) / 2;
                if (below_hi(r, c->v[m]))
                    l = m + 1;
                else
                    h = m;
            }
            b = l;
        }
        if (b > a) {
            total += b - a;
            if (out) sv_append(out, chunk_cslots(c) + a, b - a);
        }
        if (last) break;
    }
    return total;
}

/* ---- big keyword lists: a chunked sorted set of slots ---- */

/* A keyword list longer than KW_FLAT_MAX moves to chunks of at most BIG_CHUNK_MAX slots, so an
 * insert or delete in the middle of a list of a million slots moves at most one chunk, not 4 MB. */
#define KW_FLAT_MAX   1024
#define BIG_CHUNK_MAX 512

typedef struct u32chunk {
    uint32_t n;
    uint32_t s[BIG_CHUNK_MAX];
} u32chunk;

typedef struct bigset {
    u32chunk **chunks;
    uint32_t n_chunks, cap_chunks;
} bigset;

/* First chunk whose last slot >= slot (n_chunks if none). */
static uint32_t big_find(const bigset *b, uint32_t slot)
{
    uint32_t lo = 0, hi = b->n_chunks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (b->chunks[mid]->s[b->chunks[mid]->n - 1] < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t u32_lower(const uint32_t *s, uint32_t n, uint32_t slot)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid] < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool big_dir_insert(bigset *b, uint32_t at, u32chunk *c, size_t *heap)
{
    if (b->n_chunks == b->cap_chunks) {
        uint32_t cap = b->cap_chunks ? b->cap_chunks * 2 : 4;
        u32chunk **d = vs_realloc(b->chunks, cap * sizeof *d);
        if (!d) return false;
        *heap += (size_t)(cap - b->cap_chunks) * sizeof *d;
        b->chunks = d;
        b->cap_chunks = cap;
    }
    memmove(b->chunks + at + 1, b->chunks + at, (b->n_chunks - at) * sizeof *b->chunks);
    b->chunks[at] = c;
    b->n_chunks++;
    return true;
}

static void big_free(bigset *b, size_t *heap)
{
    if (!b) return;
    for (uint32_t i = 0; i < b->n_chunks; i++) vs_free(b->chunks[i]);
    *heap -= (size_t)b->n_chunks * sizeof(u32chunk) + (size_t)b->cap_chunks * sizeof *b->chunks +
             sizeof *b;
    vs_free(b->chunks);
    vs_free(b);
}

/* A bigset holding the sorted slots s[0..n) in half-full chunks; NULL on out of memory. */
static bigset *big_from(const uint32_t *s, uint32_t n, size_t *heap)
{
    bigset *b = vs_calloc(1, sizeof *b);
    if (!b) return NULL;
    *heap += sizeof *b;
    for (uint32_t i = 0; i < n; i += BIG_CHUNK_MAX / 2) {
        u32chunk *c = vs_malloc(sizeof *c);
        if (!c || !big_dir_insert(b, b->n_chunks, c, heap)) {
            vs_free(c);
            big_free(b, heap);
            return NULL;
        }
        *heap += sizeof *c;
        c->n = n - i < BIG_CHUNK_MAX / 2 ? n - i : BIG_CHUNK_MAX / 2;
        memcpy(c->s, s + i, c->n * sizeof *s);
    }
    return b;
}

static bool big_insert(bigset *b, uint32_t slot, size_t *heap)
{
    uint32_t ci = big_find(b, slot);
    if (ci == b->n_chunks) ci--; /* never empty: built from a full flat list */
    u32chunk *c = b->chunks[ci];
    uint32_t pos = u32_lower(c->s, c->n, slot);
    if (pos < c->n && c->s[pos] == slot) return true;
    if (c->n == BIG_CHUNK_MAX) {
        u32chunk *r = vs_malloc(sizeof *r);
        if (!r) return false;
        if (!big_dir_insert(b, ci + 1, r, heap)) {
            vs_free(r);
            return false;
        }
        *heap += sizeof *r;
        uint32_t half = BIG_CHUNK_MAX / 2;
        r->n = c->n - half;
        memcpy(r->s, c->s + half, r->n * sizeof *r->s);
        c->n = half;
        if (pos > half) c = r, pos -= half;
    }
    memmove(c->s + pos + 1, c->s + pos, (c->n - pos) * sizeof *c->s);
    c->s[pos] = slot;
    c->n++;
    return true;
}

/* Removes slot; true if it was there. A chunk that empties is freed; two small neighbours merge. */
static bool big_remove(bigset *b, uint32_t slot, size_t *heap)
{
    uint32_t ci = big_find(b, slot);
    if (ci == b->n_chunks) return false;
    u32chunk *c = b->chunks[ci];
    uint32_t pos = u32_lower(c->s, c->n, slot);
    if (pos >= c->n || c->s[pos] != slot) return false;
    memmove(c->s + pos, c->s + pos + 1, (c->n - pos - 1) * sizeof *c->s);
    c->n--;
    u32chunk *r = ci + 1 < b->n_chunks ? b->chunks[ci + 1] : NULL;
    if (c->n && !(r && c->n + r->n <= BIG_CHUNK_MAX / 2)) return true;
    if (c->n) { /* merge c into r */
        memmove(r->s + c->n, r->s, r->n * sizeof *r->s);
        memcpy(r->s, c->s, c->n * sizeof *c->s);
        r->n += c->n;
    }
    vs_free(c);
    *heap -= sizeof *c;
    memmove(b->chunks + ci, b->chunks + ci + 1, (b->n_chunks - ci - 1) * sizeof *b->chunks);
    b->n_chunks--;
    return true;
}

static bool big_contains(const bigset *b, uint32_t slot)
{
    uint32_t ci = big_find(b, slot);
    if (ci == b->n_chunks) return false;
    const u32chunk *c = b->chunks[ci];
    uint32_t pos = u32_lower(c->s, c->n, slot);
    return pos < c->n && c->s[pos] == slot;
}

/* ---- the index ---- */

typedef struct pidx_path {
    uint8_t *key; /* encoded path; NULL when the entry is free */
    uint32_t key_len;
    uint32_t refs;  /* next free entry when key is NULL */
    uint32_t n_str; /* records holding a string here */
    numtree num;
} pidx_path;

#define KW_BIG UINT32_MAX /* kw_entry.cap of a list held in a bigset */

typedef struct kw_entry {
    uint8_t *key; /* NULL when free */
    uint32_t key_len;
    uint32_t n, cap; /* cap 0: the one slot is inline; KW_BIG: u.big */
    union {
        uint32_t one;    /* n == 1 and cap == 0; next free entry when key is NULL */
        uint32_t *slots; /* 0 < cap <= KW_FLAT_MAX */
        bigset *big;     /* cap == KW_BIG */
    } u;
} kw_entry;

struct pidx {
    vs_hmap path_map; /* encoded path -> index in paths (keys borrowed from the entries) */
    pidx_path *paths;
    uint32_t n_paths, cap_paths, path_free;
    vs_hmap kw_map; /* keyword key -> index in kws */
    kw_entry *kws;
    uint32_t n_kws, cap_kws, kw_free;
    size_t heap; /* bytes of keys, slot lists, chunks and chunk directories */
};

/* The flat slots of a list that is not big. */
static const uint32_t *kw_flat(const kw_entry *k)
{
    return k->cap ? k->u.slots : &k->u.one;
}

/* Appends the list's slots (sorted) to out. */
static void kw_append(const kw_entry *k, slotvec *out)
{
    if (k->cap != KW_BIG) {
        sv_append(out, kw_flat(k), k->n);
        return;
    }
    for (uint32_t i = 0; i < k->u.big->n_chunks; i++)
        sv_append(out, k->u.big->chunks[i]->s, k->u.big->chunks[i]->n);
}

pidx_t *pidx_create(void)
{
    pidx_t *p = vs_calloc(1, sizeof *p);
    if (!p) return NULL;
    vs_hmap_init(&p->path_map);
    vs_hmap_init(&p->kw_map);
    p->path_free = p->kw_free = NONE;
    return p;
}

void pidx_destroy(pidx_t *p)
{
    if (!p) return;
    for (uint32_t i = 0; i < p->n_paths; i++) {
        if (!p->paths[i].key) continue;
        vs_free(p->paths[i].key);
        num_free(&p->paths[i].num, &p->heap);
    }
    for (uint32_t i = 0; i < p->n_kws; i++) {
        if (!p->kws[i].key) continue;
        vs_free(p->kws[i].key);
        if (p->kws[i].cap == KW_BIG)
            big_free(p->kws[i].u.big, &p->heap);
        else if (p->kws[i].cap)
            vs_free(p->kws[i].u.slots);
    }
    vs_free(p->paths);
    vs_free(p->kws);
    vs_hmap_free(&p->path_map);
    vs_hmap_free(&p->kw_map);
    vs_free(p);
}

size_t pidx_memory_bytes(const pidx_t *p)
{
    return sizeof *p + p->heap + (size_t)p->cap_paths * sizeof *p->paths +
           (size_t)p->cap_kws * sizeof *p->kws + vs_hmap_memory_bytes(&p->path_map) +
           vs_hmap_memory_bytes(&p->kw_map);
}

static bool path_get(const pidx_t *p, const uint8_t *key, size_t len, uint32_t *id)
{
    return vs_hmap_get(&p->path_map, (const char *)key, len, id);
}

/* The id of the path, created with refs 0 if new. */
static bool path_intern(pidx_t *p, const uint8_t *key, size_t len, uint32_t *id_out)
{
    if (path_get(p, key, len, id_out)) return true;
    uint32_t id;
    if (p->path_free != NONE) {
        id = p->path_free;
        p->path_free = p->paths[id].refs;
    } else {
        if (p->n_paths == p->cap_paths) {
            uint32_t cap = p->cap_paths ? p->cap_paths * 2 : 4;
            pidx_path *d = vs_realloc(p->paths, cap * sizeof *d);
            if (!d) return false;
            p->paths = d;
            p->cap_paths = cap;
        }
        id = p->n_paths++;
        p->paths[id].key = NULL;
    }
    pidx_path *e = &p->paths[id];
    memset(e, 0, sizeof *e);
    e->key = vs_malloc(len ? len : 1);
    if (e->key) memcpy(e->key, key, len);
    if (!e->key || !vs_hmap_put(&p->path_map, (const char *)e->key, len, id)) {
        vs_free(e->key);
        e->key = NULL;
        e->refs = p->path_free;
        p->path_free = id;
        return false;
    }
    e->key_len = (uint32_t)len;
    p->heap += len;
    *id_out = id;
    return true;
}

static void path_unref(pidx_t *p, uint32_t id)
{
    pidx_path *e = &p->paths[id];
    if (--e->refs) return;
    vs_hmap_del(&p->path_map, (const char *)e->key, e->key_len);
    p->heap -= e->key_len;
    vs_free(e->key);
    num_free(&e->num, &p->heap);
    e->key = NULL;
    e->refs = p->path_free;
    p->path_free = id;
}

/* Inserts slot into the keyword list of key, creating the entry. */
static bool kw_add(pidx_t *p, const uint8_t *key, size_t len, uint32_t slot)
{
    uint32_t id;
    if (!vs_hmap_get(&p->kw_map, (const char *)key, len, &id)) {
        if (p->kw_free != NONE) {
            id = p->kw_free;
            p->kw_free = p->kws[id].u.one;
        } else {
            if (p->n_kws == p->cap_kws) {
                uint32_t cap = p->cap_kws ? p->cap_kws * 2 : 8;
                kw_entry *d = vs_realloc(p->kws, cap * sizeof *d);
                if (!d) return false;
                p->kws = d;
                p->cap_kws = cap;
            }
            id = p->n_kws++;
        }
        kw_entry *k = &p->kws[id];
        memset(k, 0, sizeof *k);
        k->key = vs_malloc(len);
        if (k->key) memcpy(k->key, key, len);
        if (!k->key || !vs_hmap_put(&p->kw_map, (const char *)k->key, len, id)) {
            vs_free(k->key);
            k->key = NULL;
            k->u.one = p->kw_free;
            p->kw_free = id;
            return false;
        }
        k->key_len = (uint32_t)len;
        k->n = 1;
        k->u.one = slot;
        p->heap += len;
        return true;
    }
    kw_entry *k = &p->kws[id];
    if (k->cap == KW_BIG) {
        if (big_contains(k->u.big, slot)) return true;
        if (!big_insert(k->u.big, slot, &p->heap)) return false;
        k->n++;
        return true;
    }
    const uint32_t *s = kw_flat(k);
    uint32_t lo = u32_lower(s, k->n, slot);
    if (lo < k->n && s[lo] == slot) return true;
    if (k->n == KW_FLAT_MAX) { /* grow up into a bigset */
        bigset *b = big_from(k->u.slots, k->n, &p->heap);
        if (!b) return false;
        if (!big_insert(b, slot, &p->heap)) {
            big_free(b, &p->heap);
            return false;
        }
        p->heap -= (size_t)k->cap * sizeof(uint32_t);
        vs_free(k->u.slots);
        k->u.big = b;
        k->cap = KW_BIG;
        k->n++;
        return true;
    }
    if (k->n + 1 > k->cap) {
        uint32_t cap = k->cap ? k->cap * 2 : 4;
        uint32_t *d = k->cap ? vs_realloc(k->u.slots, cap * sizeof *d) : vs_malloc(cap * sizeof *d);
        if (!d) return false;
        if (!k->cap) d[0] = k->u.one;
        p->heap += (size_t)(cap - k->cap) * sizeof *d;
        k->u.slots = d;
        k->cap = cap;
    }
    memmove(k->u.slots + lo + 1, k->u.slots + lo, (k->n - lo) * sizeof(uint32_t));
    k->u.slots[lo] = slot;
    k->n++;
    return true;
}

static void kw_del(pidx_t *p, const uint8_t *key, size_t len, uint32_t slot)
{
    uint32_t id;
    if (!vs_hmap_get(&p->kw_map, (const char *)key, len, &id)) return;
    kw_entry *k = &p->kws[id];
    if (k->cap == KW_BIG) {
        if (!big_remove(k->u.big, slot, &p->heap)) return;
    } else {
        uint32_t *s = k->cap ? k->u.slots : &k->u.one;
        uint32_t lo = u32_lower(s, k->n, slot);
        if (lo >= k->n || s[lo] != slot) return;
        memmove(s + lo, s + lo + 1, (k->n - lo - 1) * sizeof(uint32_t));
    }
    k->n--;
    if (k->n) return;
    vs_hmap_del(&p->kw_map, (const char *)k->key, k->key_len);
    p->heap -= k->key_len;
    vs_free(k->key);
    if (k->cap == KW_BIG) {
        big_free(k->u.big, &p->heap);
    } else if (k->cap) {
        p->heap -= (size_t)k->cap * sizeof(uint32_t);
        vs_free(k->u.slots);
    }
    k->key = NULL;
    k->cap = 0;
    k->u.one = p->kw_free;
    p->kw_free = id;
}

/* Builds the keyword key of (path, tag, payload) into b (as given: 'S' bytes; long strings are
 * hashed here). */
static void kw_key(vs_buf *b, uint32_t path, char tag, const char *s, size_t len)
{
    vs_buf_append_u32(b, path);
    if (tag == 'S' && len > KW_INLINE_MAX) {
        vs_buf_append_u8(b, 'H');
        vs_buf_append_u64(b, vs_hash_bytes(s, len));
        vs_buf_append_u32(b, (uint32_t)len);
        return;
    }
    vs_buf_append_u8(b, (uint8_t)tag);
    if (tag == 'S') vs_buf_append(b, s, len);
}

/* ---- one record's entries ---- */

enum { IT_KW, IT_NUM, IT_STR };

typedef struct item {
    uint32_t path;
    uint32_t kind;
    double v;       /* IT_NUM */
    size_t key_off; /* IT_KW: the key in walk.keys */
    uint32_t key_len;
} item;

typedef struct walk {
    pidx_t *p;
    bool create; /* add: intern paths and take a reference per item; remove: look up only */
    vs_buf path; /* the encoded path of the current value */
    vs_buf keys;
    item *items;
    size_t n, cap;
    bool oom;
} walk;

static void push(walk *w, item it)
{
    if (w->oom) return;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        item *d = vs_realloc(w->items, cap * sizeof *d);
        if (!d) {
            w->oom = true;
            return;
        }
        w->items = d;
        w->cap = cap;
    }
    w->items[w->n++] = it;
    if (w->create) w->p->paths[it.path].refs++;
}

/* The id of the current path: interned (add) or looked up (remove); false = skip. */
static bool cur_path(walk *w, uint32_t *id)
{
    if (w->oom || w->path.oom) {
        w->oom = true;
        return false;
    }
    if (!w->create) return path_get(w->p, w->path.data, w->path.len, id);
    if (path_intern(w->p, w->path.data, w->path.len, id)) return true;
    w->oom = true;
    return false;
}

static void push_kw(walk *w, uint32_t path, char tag, const char *s, size_t len)
{
    size_t off = w->keys.len;
    kw_key(&w->keys, path, tag, s, len);
    if (w->keys.oom) {
        w->oom = true;
        return;
    }
    push(w, (item){path, IT_KW, 0, off, (uint32_t)(w->keys.len - off)});
}

/* A scalar at the current path; in_array: an element of the array there. */
static void scalar(walk *w, vs_value v, bool in_array)
{
    vs_val_type t = vs_value_type(v);
    if (t == VS_VAL_NULL && !in_array) return;
    if (t != VS_VAL_NULL && t != VS_VAL_BOOL && t != VS_VAL_NUMBER && t != VS_VAL_STRING) return;
    if (t == VS_VAL_NUMBER && isnan(vs_value_number(v))) return;
    uint32_t path;
    if (!cur_path(w, &path)) return;
    switch (t) {
    case VS_VAL_NULL:
        push_kw(w, path, 'N', NULL, 0);
        break;
    case VS_VAL_BOOL:
        push_kw(w, path, vs_value_bool(v) ? 'T' : 'F', NULL, 0);
        break;
    case VS_VAL_NUMBER:
        push(w, (item){path, IT_NUM, vs_value_number(v), 0, 0});
        break;
    case VS_VAL_STRING: {
        size_t len;
        const char *s = vs_value_string(v, &len);
        push_kw(w, path, 'S', s, len);
        if (!in_array) push(w, (item){path, IT_STR, 0, 0, 0});
        break;
    }
    default:
        break;
    }
}

static void walk_object(walk *w, vs_value obj)
{
    vs_value_iter it;
    vs_value_iter_init(&it, obj);
    const char *k;
    size_t kl;
    vs_value v;
    while (!w->oom && vs_value_iter_next(&it, &k, &kl, &v)) {
        size_t mark = w->path.len;
        vs_buf_append_u32(&w->path, (uint32_t)kl);
        vs_buf_append(&w->path, k, kl);
        vs_val_type t = vs_value_type(v);
        if (t == VS_VAL_OBJECT) {
            walk_object(w, v);
        } else if (t == VS_VAL_ARRAY) {
            vs_value_iter ai;
            vs_value_iter_init(&ai, v);
            vs_value e;
            while (!w->oom && vs_value_iter_next(&ai, NULL, NULL, &e)) scalar(w, e, true);
        } else {
            scalar(w, v, false);
        }
        w->path.len = mark;
    }
}

/* Orders a record's items; ctx = the walk's key buffer (qsort_r: no shared state, so two
 * collections may index at once). */
static int item_cmp(const void *x, const void *y, void *ctx)
{
    const item *a = x, *b = y;
    const vs_buf *keys = ctx;
    if (a->path != b->path) return a->path < b->path ? -1 : 1;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->kind == IT_NUM) return a->v < b->v ? -1 : a->v > b->v;
    if (a->kind == IT_STR) return 0;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int d = memcmp(keys->data + a->key_off, keys->data + b->key_off, n);
    if (d) return d;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* Sorts and deduplicates w's items (dropping a duplicate's reference when adding). */
static void dedupe(walk *w)
{
    if (w->n < 2) return;
    qsort_r(w->items, w->n, sizeof *w->items, item_cmp, &w->keys);
    size_t k = 1;
    for (size_t i = 1; i < w->n; i++) {
        if (item_cmp(&w->items[k - 1], &w->items[i], &w->keys) == 0) {
            if (w->create) w->p->paths[w->items[i].path].refs--; /* > 0: the kept one holds one */
            continue;
        }
        w->items[k++] = w->items[i];
    }
    w->n = k;
}

static bool apply(pidx_t *p, const walk *w, const item *it, uint32_t slot)
{
    switch (it->kind) {
    case IT_KW:
        return kw_add(p, w->keys.data + it->key_off, it->key_len, slot);
    case IT_NUM:
        return num_insert(&p->paths[it->path].num, it->v, slot, &p->heap);
    default:
        p->paths[it->path].n_str++;
        return true;
    }
}

static void unapply(pidx_t *p, const walk *w, const item *it, uint32_t slot)
{
    switch (it->kind) {
    case IT_KW:
        kw_del(p, w->keys.data + it->key_off, it->key_len, slot);
        break;
    case IT_NUM:
        num_remove(&p->paths[it->path].num, it->v, slot, &p->heap);
        break;
    default:
        p->paths[it->path].n_str--;
        break;
    }
}

static void walk_free(walk *w)
{
    vs_buf_free(&w->path);
    vs_buf_free(&w->keys);
    vs_free(w->items);
}

vs_err pidx_add(pidx_t *p, uint32_t slot, vs_value meta, vs_status *st)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.create = true;
    walk_object(&w, meta);
    if (!w.oom) dedupe(&w);
    size_t done = 0;
    if (!w.oom) {
        for (; done < w.n; done++)
            if (!apply(p, &w, &w.items[done], slot)) break;
    }
    if (w.oom || done < w.n) { /* undo: entries made so far, then every reference taken */
        for (size_t i = 0; i < done; i++) unapply(p, &w, &w.items[i], slot);
        for (size_t i = 0; i < w.n; i++) path_unref(p, w.items[i].path);
        /* a path interned when the failure struck has no reference: sweep any such */
        for (uint32_t i = 0; i < p->n_paths; i++) {
            if (p->paths[i].key && p->paths[i].refs == 0) {
                p->paths[i].refs = 1;
                path_unref(p, i);
            }
        }
        walk_free(&w);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory indexing metadata");
    }
    walk_free(&w);
    return VS_OK;
}

void pidx_remove(pidx_t *p, uint32_t slot, vs_value meta)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.create = false;
    walk_object(&w, meta);
    /* The walk allocates scratch; should that fail, what was gathered is still removed and the
     * rest stays as stale entries: candidate sets remain supersets (the caller re-checks each
     * with flt_eval), only estimates grow. */
    dedupe(&w);
    for (size_t i = 0; i < w.n; i++) {
        uint32_t path = w.items[i].path;
        unapply(p, &w, &w.items[i], slot);
        path_unref(p, path);
    }
    walk_free(&w);
}

/* ---- planning ---- */

/* The encoded path of a filter node; false if no record ever held it (or out of memory). */
static bool node_path(const pidx_t *p, const flt_node *n, uint32_t *id, bool *oom)
{
    vs_buf b = VS_BUF_INIT;
    for (uint32_t i = 0; i < n->n_names; i++) {
        vs_buf_append_u32(&b, n->names[i].len);
        vs_buf_append(&b, n->names[i].s, n->names[i].len);
    }
    bool found = false;
    if (b.oom)
        *oom = true;
    else
        found = path_get(p, b.data, b.len, id);
    vs_buf_free(&b);
    return found;
}

/* The keyword entry of (path, literal), or NULL. */
static const kw_entry *kw_find(const pidx_t *p, uint32_t path, const flt_lit *l, bool *oom)
{
    vs_buf b = VS_BUF_INIT;
    char tag = l->type == FLT_LIT_STRING ? 'S' : l->type == FLT_LIT_NULL ? 'N' : l->b ? 'T' : 'F';
    kw_key(&b, path, tag, l->str, l->str_len);
    const kw_entry *k = NULL;
    uint32_t id;
    if (b.oom)
        *oom = true;
    else if (vs_hmap_get(&p->kw_map, (const char *)b.data, b.len, &id))
        k = &p->kws[id];
    vs_buf_free(&b);
    return k;
}

/* The set of one literal at a path ("= lit" for scalars, also elements): counts or appends. */
static size_t lit_set(const pidx_t *p, uint32_t path, const flt_lit *l, slotvec *out, bool *oom)
{
    if (l->type == FLT_LIT_NUMBER) {
        range r = {l->num, l->num, true, true};
        return num_range(&p->paths[path].num, &r, out);
    }
    const kw_entry *k = kw_find(p, path, l, oom);
    if (!k) return 0;
    if (out) kw_append(k, out);
    return k->n;
}

typedef enum { B_UNBOUNDED, B_EMPTY, B_SET } bound_kind;

/* Classifies a predicate (not AND / OR / NOT): unbounded, never true, or a set computed by
 * pred_set. */
static bound_kind pred_kind(const pidx_t *p, const flt_node *n)
{
    switch (n->kind) {
    case FLT_CMP: {
        const flt_lit *l = &n->lits[0];
        if (n->op == FLT_NE) return B_UNBOUNDED;
        if (n->op == FLT_EQ) return l->type == FLT_LIT_NULL ? B_UNBOUNDED : B_SET;
        if (l->type == FLT_LIT_NUMBER) return B_SET;
        return l->type == FLT_LIT_STRING ? B_UNBOUNDED : B_EMPTY; /* bool / null: never ordered */
    }
    case FLT_IN:
        for (uint32_t i = 0; i < n->n_lits; i++)
            if (n->lits[i].type == FLT_LIT_NULL) return B_UNBOUNDED;
        return B_SET;
    case FLT_CONTAINS: {
        if (n->lits[0].type != FLT_LIT_STRING) return B_SET;
        uint32_t id;
        bool oom = false;
        if (!node_path(p, n, &id, &oom)) return oom ? B_UNBOUNDED : B_EMPTY;
        return p->paths[id].n_str ? B_UNBOUNDED : B_SET;
    }
    case FLT_BETWEEN: {
        flt_lit_type a = n->lits[0].type, b = n->lits[1].type;
        if (a == FLT_LIT_NUMBER && b == FLT_LIT_NUMBER) return B_SET;
        if (a == FLT_LIT_STRING && b == FLT_LIT_STRING) return B_UNBOUNDED;
        return B_EMPTY;
    }
    default:
        return B_UNBOUNDED;
    }
}

/* Counts (out NULL) or appends the index entries of a B_SET predicate. */
static size_t pred_set(const pidx_t *p, const flt_node *n, slotvec *out, bool *oom)
{
    uint32_t path;
    if (!node_path(p, n, &path, oom)) return 0;
    const numtree *t = &p->paths[path].num;
    switch (n->kind) {
    case FLT_CMP: {
        const flt_lit *l = &n->lits[0];
        if (n->op == FLT_EQ) return lit_set(p, path, l, out, oom);
        range r = {-INFINITY, INFINITY, true, true};
        if (n->op == FLT_LT || n->op == FLT_LE) r.hi = l->num, r.hi_incl = n->op == FLT_LE;
        if (n->op == FLT_GT || n->op == FLT_GE) r.lo = l->num, r.lo_incl = n->op == FLT_GE;
        return num_range(t, &r, out);
    }
    case FLT_IN: {
        size_t total = 0;
        for (uint32_t i = 0; i < n->n_lits; i++) total += lit_set(p, path, &n->lits[i], out, oom);
        return total;
    }
    case FLT_CONTAINS:
        return lit_set(p, path, &n->lits[0], out, oom);
    case FLT_BETWEEN: {
        range r = {n->lits[0].num, n->lits[1].num, true, true};
        return num_range(t, &r, out);
    }
    default:
        return 0;
    }
}

/* An upper bound of the node's matches; false when the index cannot bound it. */
static bool estimate(const pidx_t *p, const flt_node *n, size_t *est)
{
    switch (n->kind) {
    case FLT_AND: {
        bool any = false;
        for (const flt_node *k = n->kids; k; k = k->next) {
            size_t e;
            if (estimate(p, k, &e) && (!any || e < *est)) {
                *est = e;
                any = true;
            }
        }
        return any;
    }
    case FLT_OR: {
        size_t sum = 0;
        for (const flt_node *k = n->kids; k; k = k->next) {
            size_t e;
            if (!estimate(p, k, &e)) return false;
            sum += e;
        }
        *est = sum;
        return true;
    }
    case FLT_NOT:
        return false;
    default: {
        bound_kind b = pred_kind(p, n);
        if (b == B_UNBOUNDED) return false;
        bool oom = false;
        *est = b == B_EMPTY ? 0 : pred_set(p, n, NULL, &oom);
        return !oom;
    }
    }
}

size_t pidx_estimate(const pidx_t *p, const flt_expr_t *e, size_t n_total)
{
    size_t est;
    if (!e || !estimate(p, e->root, &est)) return n_total;
    return est < n_total ? est : n_total;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void sort_unique(slotvec *sv)
{
    if (sv->n < 2) return;
    size_t i = 1;
    while (i < sv->n && sv->v[i - 1] < sv->v[i]) i++;
    if (i == sv->n) return; /* one keyword list: already sorted and unique */
    qsort(sv->v, sv->n, sizeof *sv->v, u32_cmp);
    size_t k = 1;
    for (size_t i = 1; i < sv->n; i++)
        if (sv->v[i] != sv->v[k - 1]) sv->v[k++] = sv->v[i];
    sv->n = k;
}

/* The keyword list that alone answers n (= string / bool, CONTAINS of a keyword), or NULL. */
static const kw_entry *single_kw(const pidx_t *p, const flt_node *n, bool *oom)
{
    const flt_lit *l = n->n_lits ? &n->lits[0] : NULL;
    bool eq = n->kind == FLT_CMP && n->op == FLT_EQ;
    if (!l || !(eq || n->kind == FLT_CONTAINS) || l->type == FLT_LIT_NUMBER) return NULL;
    if (n->kind == FLT_CMP && l->type == FLT_LIT_NULL) return NULL;
    if (pred_kind(p, n) != B_SET) return NULL;
    uint32_t path;
    if (!node_path(p, n, &path, oom)) return NULL;
    return kw_find(p, path, l, oom);
}

/* Keeps the slots of a (sorted) found in the keyword list: a forward walk with binary searches,
 * O(|a| log chunk + chunks). */
static void keep_in(slotvec *a, const kw_entry *kw)
{
    size_t k = 0;
    if (kw->cap != KW_BIG) {
        const uint32_t *s = kw_flat(kw);
        uint32_t from = 0;
        for (size_t i = 0; i < a->n; i++) {
            from += u32_lower(s + from, kw->n - from, a->v[i]);
            if (from < kw->n && s[from] == a->v[i]) a->v[k++] = a->v[i];
        }
        a->n = k;
        return;
    }
    /* both sorted: walk the chunks forward, binary search inside the current one */
    const bigset *b = kw->u.big;
    uint32_t ci = 0;
    for (size_t i = 0; i < a->n; i++) {
        while (ci < b->n_chunks && b->chunks[ci]->s[b->chunks[ci]->n - 1] < a->v[i]) ci++;
        if (ci == b->n_chunks) break;
        const u32chunk *c = b->chunks[ci];
        uint32_t pos = u32_lower(c->s, c->n, a->v[i]);
        if (pos < c->n && c->s[pos] == a->v[i]) a->v[k++] = a->v[i];
    }
    a->n = k;
}

/* a := a ∩ b (both sorted, unique). */
static void intersect(slotvec *a, const slotvec *b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else
            a->v[k++] = a->v[i++], j++;
    }
    a->n = k;
}

/* The node's candidates (sorted, unique) into out, if bounded within max. */
static bool cands(const pidx_t *p, const flt_node *n, size_t max, slotvec *out)
{
    switch (n->kind) {
    case FLT_AND: {
        const flt_node *best = NULL;
        size_t best_est = 0;
        for (const flt_node *k = n->kids; k; k = k->next) {
            size_t e;
            if (estimate(p, k, &e) && (!best || e < best_est)) best = k, best_est = e;
        }
        if (!best || best_est > max || !cands(p, best, max, out)) return false;
        /* narrow by the other bounded children where that is cheap: a keyword list by binary
         * search, anything else when it is at most 4x the current set (else the caller's
         * flt_eval does the rest) */
        for (const flt_node *k = n->kids; k && out->n; k = k->next) {
            size_t e;
            if (k == best || !estimate(p, k, &e)) continue;
            bool oom = false;
            const kw_entry *kw = single_kw(p, k, &oom);
            if (kw) {
                keep_in(out, kw);
                continue;
            }
            if (e > max || e > 4 * out->n) continue;
            slotvec other = {0};
            if (cands(p, k, max, &other)) intersect(out, &other);
            vs_free(other.v);
        }
        return !out->oom;
    }
    case FLT_OR: {
        size_t e;
        if (!estimate(p, n, &e) || e > max) return false;
        for (const flt_node *k = n->kids; k; k = k->next) {
            slotvec part = {0};
            bool ok = cands(p, k, max, &part);
            if (ok) sv_append(out, part.v, part.n);
            vs_free(part.v);
            if (!ok) return false;
        }
        sort_unique(out);
        return !out->oom && out->n <= max;
    }
    case FLT_NOT:
        return false;
    default: {
        bound_kind b = pred_kind(p, n);
        if (b == B_UNBOUNDED) return false;
        if (b == B_EMPTY) return true;
        bool oom = false;
        if (pred_set(p, n, NULL, &oom) > max || oom) return false;
        pred_set(p, n, out, &oom);
        sort_unique(out);
        return !oom && !out->oom && out->n <= max;
    }
    }
}

bool pidx_candidates(const pidx_t *p, const flt_expr_t *e, size_t max, uint32_t **slots_out,
                     size_t *n_out)
{
    if (!e) return false;
    slotvec sv = {0};
    if (!cands(p, e->root, max, &sv)) {
        vs_free(sv.v);
        return false;
    }
    if (!sv.n) {
        vs_free(sv.v);
        sv.v = NULL;
    }
    *slots_out = sv.v;
    *n_out = sv.n;
    return true;
}
