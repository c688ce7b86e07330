/*
 * threadpool.h - a fixed pool of worker threads with one FIFO job queue (Redis bio.c style).
 *
 * Adapters hand searches and writes to it so an event loop never blocks on a slow query. Jobs run
 * in submission order on whichever worker is free. Thread-safe: submit from any thread.
 * Ownership: the pool owns queued job records; a job's ctx belongs to the submitter's job fn.
 */
#ifndef VS_UTIL_THREADPOOL_H
#define VS_UTIL_THREADPOOL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct vs_pool vs_pool_t;
typedef void (*vs_job_fn)(void *ctx);

/* n_threads 0 = number of online CPUs. NULL on failure. */
vs_pool_t *vs_pool_create(unsigned n_threads, const char *name);
/* Queues fn(ctx); false if the pool is shutting down or out of memory (the caller runs it). */
bool vs_pool_submit(vs_pool_t *p, vs_job_fn fn, void *ctx);
unsigned vs_pool_size(const vs_pool_t *p);
size_t vs_pool_queued(vs_pool_t *p);
/* Runs every queued job, joins the workers, frees the pool. */
void vs_pool_destroy(vs_pool_t *p);

#endif
