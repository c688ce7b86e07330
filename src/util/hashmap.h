/*
 * hashmap.h - open-addressing map from byte strings to uint32 values (record id -> slot,
 * namespace id -> index). Keys are BORROWED: the caller keeps the key bytes alive and unchanged
 * while they are in the map (the store points at each record's own id copy).
 *
 * Linear probing with backward-shift deletion (no tombstones), capacity a power of two, load <=
 * 0.75. Not thread-safe: the owner's lock guards it.
 */
#ifndef VS_UTIL_HASHMAP_H
#define VS_UTIL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vs_hmap_entry {
    const char *key;
    uint32_t key_len;
    uint32_t value;
    uint64_t hash;
} vs_hmap_entry;

typedef struct vs_hmap {
    vs_hmap_entry *slots;
    size_t cap; /* 0 or a power of two */
    size_t n;
} vs_hmap;

uint64_t vs_hash_bytes(const void *p, size_t n);
void vs_hmap_init(vs_hmap *m);
void vs_hmap_free(vs_hmap *m);
bool vs_hmap_get(const vs_hmap *m, const char *key, size_t len, uint32_t *value_out);
/* Inserts or replaces (the stored key pointer is replaced too). false on out of memory. */
bool vs_hmap_put(vs_hmap *m, const char *key, size_t len, uint32_t value);
bool vs_hmap_del(vs_hmap *m, const char *key, size_t len);
size_t vs_hmap_memory_bytes(const vs_hmap *m);

#endif
