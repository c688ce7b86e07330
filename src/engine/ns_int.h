/*
 * ns_int.h - the namespace object shared by namespace.c, ns_meta.c and catalog.c (private to
 * src/engine). Locks and what they guard are listed beside the fields; the order is in
 * namespace.c's file comment.
 */
#ifndef VS_ENGINE_NS_INT_H
#define VS_ENGINE_NS_INT_H

#include "vecstore/engine.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct wal;

struct vs_ns {
    _Atomic int refs;
    char dir[PATH_MAX];
    int fsync_policy;

    pthread_mutex_t meta_mu; /* guards meta, meta_dirty */
    vs_ns_meta meta;
    bool meta_dirty;

    vs_coll_t *coll; /* has its own rwlock */

    pthread_mutex_t log_mu; /* serialises wal_write (and holds writers out during a snapshot) */
    struct wal *wal;
    uint64_t snapshot_seq; /* guarded by log_mu */
    bool has_snapshot;     /* guarded by log_mu */

    pthread_mutex_t apply_mu; /* the apply ticket: guards applied_seq */
    pthread_cond_t apply_cv;
    uint64_t applied_seq;

    pthread_mutex_t adm_mu; /* guards adm */
    vs_ns_admission adm;

    _Atomic uint64_t generation;
};

vs_err ns_open(const char *dir, const vs_ns_meta *meta, int fsync_policy, vs_ns_t **out,
               vs_status *st);
/* Snapshots (when asked) and drops the catalog's reference. */
void ns_close(vs_ns_t *ns, bool snapshot);
void ns_free(vs_ns_t *ns);

/* namespace.json (ns_meta.c). save: meta_mu held; writes NAME.tmp, fsync, rename, fsync dir. */
vs_err ns_meta_save_locked(vs_ns_t *ns, vs_status *st);
vs_err ns_meta_write(const char *dir, const vs_ns_meta *m, vs_status *st);
vs_err ns_meta_read(const char *dir, vs_ns_meta *out, vs_status *st);

#endif
