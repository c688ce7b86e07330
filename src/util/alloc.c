/*
 * alloc.c - the allocation seam of alloc.h over libc malloc, with a fault-injection countdown
 * for OOM tests (SQLite faultsimStep). The countdown is an atomic so threads may allocate freely.
 */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long fail_countdown = -1;

static int should_fail(void)
{
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (c < 0) return 0;
    if (c == 0) return 1;
    atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return 0;
}

void vs_alloc_fail_after(long countdown)
{
    atomic_store(&fail_countdown, countdown);
}

void *vs_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}
void *vs_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}
void *vs_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}
void vs_free(void *p)
{
    free(p);
}

char *vs_strndup(const char *s, size_t n)
{
    char *d = vs_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *vs_strdup(const char *s)
{
    return vs_strndup(s, strlen(s));
}
