/*
 * alloc.h - the allocation seam: every heap allocation of the engine goes through these, so tests
 * can count or fail allocations (SQLite's SQLITE_CONFIG_MALLOC, libuv's uv_replace_allocator).
 *
 * Ownership: memory from vs_malloc/vs_calloc/vs_realloc/vs_strdup is released with vs_free.
 * The engine and storage return VS_ERR_NOMEM on NULL; only server start-up may abort.
 */
#ifndef VS_UTIL_ALLOC_H
#define VS_UTIL_ALLOC_H

#include <stddef.h>

void *vs_malloc(size_t n);
void *vs_calloc(size_t n, size_t size);
void *vs_realloc(void *p, size_t n);
void vs_free(void *p);
char *vs_strdup(const char *s);
char *vs_strndup(const char *s, size_t n);

/* Test hook: after `countdown` more successful allocations, every allocation fails until reset
 * with -1 (the default: never fail). */
void vs_alloc_fail_after(long countdown);

#endif
