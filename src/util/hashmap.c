/*
 * hashmap.c - the open-addressing map of hashmap.h.
 *
 * Invariants: 1. every key sits in the probe run starting at hash & (cap-1) with no empty slot
 * between; 2. deletion shifts later members of the run back (Knuth 6.4 Algorithm R), so lookups
 * stop at the first empty slot.
 */
#include "util/hashmap.h"

#include "util/alloc.h"

#include <string.h>

uint64_t vs_hash_bytes(const void *p, size_t n)
{
    /* FNV-1a 64 with a final avalanche (splitmix64 finaliser) */
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h | 1; /* 0 marks an empty slot */
}

void vs_hmap_init(vs_hmap *m)
{
    memset(m, 0, sizeof *m);
}

void vs_hmap_free(vs_hmap *m)
{
    vs_free(m->slots);
    vs_hmap_init(m);
}

static size_t find(const vs_hmap *m, const char *key, size_t len, uint64_t h, bool *found)
{
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        const vs_hmap_entry *e = &m->slots[i];
        if (!e->hash) {
            *found = false;
            return i;
        }
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

bool vs_hmap_get(const vs_hmap *m, const char *key, size_t len, uint32_t *value_out)
{
    if (!m->n) return false;
    bool found;
    size_t i = find(m, key, len, vs_hash_bytes(key, len), &found);
    if (found && value_out) *value_out = m->slots[i].value;
    return found;
}

static bool grow(vs_hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    vs_hmap_entry *s = vs_calloc(cap, sizeof *s);
    if (!s) return false;
    vs_hmap old = *m;
    m->slots = s;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].hash) continue;
        bool found;
        size_t j = find(m, old.slots[i].key, old.slots[i].key_len, old.slots[i].hash, &found);
        m->slots[j] = old.slots[i];
    }
    vs_free(old.slots);
    return true;
}

bool vs_hmap_put(vs_hmap *m, const char *key, size_t len, uint32_t value)
{
    if ((m->n + 1) * 4 > m->cap * 3 && !grow(m)) return false;
    uint64_t h = vs_hash_bytes(key, len);
    bool found;
    size_t i = find(m, key, len, h, &found);
    m->slots[i] = (vs_hmap_entry){key, (uint32_t)len, value, h};
    if (!found) m->n++;
    return true;
}

bool vs_hmap_del(vs_hmap *m, const char *key, size_t len)
{
    if (!m->n) return false;
    bool found;
    size_t mask = m->cap - 1, i = find(m, key, len, vs_hash_bytes(key, len), &found);
    if (!found) return false;
    m->slots[i].hash = 0;
    m->n--;
    /* backward shift: move later run members into the hole when their home allows it */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].hash) break;
        size_t home = m->slots[j].hash & mask;
        /* can the entry at j move to i? yes if home is cyclically outside (i, j] */
        bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            m->slots[j].hash = 0;
            i = j;
        }
    }
    return true;
}

size_t vs_hmap_memory_bytes(const vs_hmap *m)
{
    return m->cap * sizeof(vs_hmap_entry);
}
