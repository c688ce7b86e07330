/*
 * signals.c - the signal watcher of signals.h.
 *
 * How it works: SIGTERM and SIGINT stay blocked in every thread; one detached watcher thread loops
 * on sigwait(). The first signal is stored in first_sig and main is woken through mu/cv; any later
 * signal means "stop now": it logs and calls _exit(1) (no atexit handlers, no snapshots).
 *
 * Invariants:
 *   1. The mask is set before the first pthread_create of the process (main calls
 *      srv_signals_block first), so no other thread can receive these signals.
 *   2. first_sig goes 0 -> signal number once and never changes again.
 *
 * Concurrency: first_sig is guarded by mu; main waits on cv.
 * Callers: src/server/main.c.
 */
#include "server/signals.h"

#include "util/log.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int first_sig; /* guarded by mu */

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

void srv_signals_block(void)
{
    sigset_t set;
    stop_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void *watch(void *arg)
{
    (void)arg;
    sigset_t set;
    stop_set(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        pthread_mutex_lock(&mu);
        int first = first_sig;
        if (!first) {
            first_sig = sig;
            pthread_cond_broadcast(&cv);
        }
        pthread_mutex_unlock(&mu);
        if (first) {
            vs_log_warn("second %s during shutdown: exiting at once (snapshots skipped; "
                        "acknowledged writes are in the write-ahead log)",
                        sig == SIGINT ? "SIGINT" : "SIGTERM");
            _exit(1);
        }
    }
    return NULL;
}

bool srv_signals_start(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, watch, NULL) != 0) return false;
    pthread_detach(t);
    return true;
}

int srv_signals_wait(void)
{
    pthread_mutex_lock(&mu);
    while (!first_sig) pthread_cond_wait(&cv, &mu);
    int sig = first_sig;
    pthread_mutex_unlock(&mu);
    return sig;
}
