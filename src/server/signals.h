/*
 * signals.h - SIGTERM / SIGINT handling for the server (SPEC section 1).
 *
 * srv_signals_block() runs first in main, before any thread exists: it blocks SIGTERM and SIGINT
 * (every thread created later inherits the mask, so no worker is ever interrupted by them) and
 * ignores SIGPIPE (a client that hangs up mid-answer is a write error, not a crash).
 * srv_signals_start() starts one watcher thread that takes the signals with sigwait():
 *   - the first one is handed to main through srv_signals_wait() (graceful shutdown);
 *   - a second one while shutting down ends the process at once with _exit(1): acknowledged
 *     writes are already in the write-ahead log, only the snapshots are skipped.
 * Thread-safety: srv_signals_wait may be called from one thread (main).
 */
#ifndef VS_SERVER_SIGNALS_H
#define VS_SERVER_SIGNALS_H

#include <stdbool.h>

/* Blocks SIGTERM + SIGINT in the calling thread, ignores SIGPIPE. */
void srv_signals_block(void);
/* Starts the watcher thread. false if the thread could not be created. */
bool srv_signals_start(void);
/* Blocks until the first SIGTERM / SIGINT; returns its number. */
int srv_signals_wait(void);

#endif
