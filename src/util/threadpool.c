/*
 * threadpool.c - fixed worker pool of threadpool.h.
 *
 * A singly linked FIFO guarded by `mu`; workers sleep on `cv`. Shutdown sets `stopping`, wakes
 * everyone, and workers drain the queue before exiting, so no submitted job is lost.
 */
#include "util/threadpool.h"

#include "util/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct job {
    struct job *next;
    vs_job_fn fn;
    void *ctx;
} job;

struct vs_pool {
    pthread_mutex_t mu; /* guards head, tail, n_queued, stopping */
    pthread_cond_t cv;
    job *head, *tail;
    size_t n_queued;
    bool stopping;
    unsigned n_threads;
    pthread_t *threads;
    char name[16];
};

static void *worker(void *arg)
{
    vs_pool_t *p = arg;
    pthread_setname_np(pthread_self(), p->name);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
        job *j = p->head;
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        p->n_queued--;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->ctx);
        vs_free(j);
    }
}

vs_pool_t *vs_pool_create(unsigned n, const char *name)
{
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    vs_pool_t *p = vs_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = vs_calloc(n, sizeof *p->threads);
    if (!p->threads) {
        vs_free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    snprintf(p->name, sizeof p->name, "%s", name ? name : "vs-worker");
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
        p->n_threads++;
    }
    if (!p->n_threads) {
        vs_free(p->threads);
        vs_free(p);
        return NULL;
    }
    return p;
}

bool vs_pool_submit(vs_pool_t *p, vs_job_fn fn, void *ctx)
{
    job *j = vs_malloc(sizeof *j);
    if (!j) return false;
    j->next = NULL;
    j->fn = fn;
    j->ctx = ctx;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        vs_free(j);
        return false;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->n_queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return true;
}

unsigned vs_pool_size(const vs_pool_t *p)
{
    return p->n_threads;
}

size_t vs_pool_queued(vs_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n_queued;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void vs_pool_destroy(vs_pool_t *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    vs_free(p->threads);
    vs_free(p);
}
