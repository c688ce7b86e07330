/*
 * namespace.c - a durable namespace: the in-memory collection plus its write-ahead log, its three
 * snapshot files and namespace.json (engine.h).
 *
 * Write protocol (one mutation = one WAL record, a batch included, so a batch is all-or-nothing):
 *   1. log_mu: wal_write assigns the next sequence number; file order = sequence order.
 *   2. wal_sync(seq): the group commit; concurrent writers share one fsync.
 *   3. apply ticket: wait until applied_seq == seq - 1, apply to the collection, applied_seq = seq.
 *   4. answer. A failed sync still passes the ticket on (without applying) so nobody waits forever;
 *      the log is sticky-failed from then on and every later write fails.
 *
 * WAL record payloads (type byte, then little-endian fields):
 *   1 UPSERT : u32 dim, u32 n, n x (u32 id_len, id, u32 meta_len, meta, dim x f32)
 *   2 DELETE / 3 SOFT_DELETE / 4 RESTORE : u32 id_len, id
 *   5 COMPACT: empty
 *
 * Snapshot: with log_mu held (no new records) and the ticket drained (every record applied), the
 * three files are written as .tmp, fsynced, renamed together (snapset_commit), and the log is reset
 * to start after the snapshot's sequence number. Triggered by log size, compact and shutdown.
 *
 * Concurrency: lock order log_mu -> apply_mu -> collection lock -> meta_mu / adm_mu (leaves).
 *   meta_mu guards `meta` (settings, limits, status, usage) and meta writes to namespace.json.
 *   adm_mu guards `adm` (rate limiter, concurrent queries).
 *   refs is atomic; the catalog's map holds one reference.
 */
#include "engine/ns_int.h"

#include "core/collection.h"
#include "storage/snapshot.h"
#include "storage/wal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WAL_UPSERT      1
#define WAL_DELETE      2
#define WAL_SOFT_DELETE 3
#define WAL_RESTORE     4
#define WAL_COMPACT     5

#define SNAPSHOT_LOG_BYTES (64u << 20) /* a log this large triggers a snapshot */

static const char *const snap_names[] = {"vectors.bin", "metadata.bin", "hnsw_index.bin"};
static const uint32_t snap_kinds[] = {0x53434556u /* VECS */, 0x4154454du /* META */,
                                      0x57534e48u /* HNSW */};

const char *vs_ns_status_name(vs_ns_status s)
{
    switch (s) {
    case VS_NS_SUSPENDED:
        return "suspended";
    case VS_NS_READ_ONLY:
        return "read_only";
    case VS_NS_PENDING_DELETION:
        return "pending_deletion";
    default:
        return "active";
    }
}

bool vs_ns_status_parse(const char *s, vs_ns_status *out)
{
    static const vs_ns_status all[] = {VS_NS_ACTIVE, VS_NS_SUSPENDED, VS_NS_READ_ONLY,
                                       VS_NS_PENDING_DELETION};
    for (size_t i = 0; i < 4; i++)
        if (s && strcmp(s, vs_ns_status_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

bool vs_ns_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > VS_NS_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '_' && ch != '-'))) return false;
    }
    return true;
}

void ns_acquire(vs_ns_t *ns)
{
    atomic_fetch_add(&ns->refs, 1);
}

void ns_release(vs_ns_t *ns)
{
    if (!ns || atomic_fetch_sub(&ns->refs, 1) != 1) return;
    ns_free(ns);
}

const char *ns_id(const vs_ns_t *ns)
{
    return ns->meta.id;
}
vs_coll_t *ns_coll(vs_ns_t *ns)
{
    return ns->coll;
}
uint64_t ns_generation(vs_ns_t *ns)
{
    return atomic_load(&ns->generation);
}

void ns_get_meta(vs_ns_t *ns, vs_ns_meta *out)
{
    pthread_mutex_lock(&ns->meta_mu);
    *out = ns->meta;
    pthread_mutex_unlock(&ns->meta_mu);
    if (!out->dim) out->dim = coll_dim(ns->coll);
}

vs_ns_status ns_status(vs_ns_t *ns)
{
    pthread_mutex_lock(&ns->meta_mu);
    vs_ns_status s = ns->meta.status;
    pthread_mutex_unlock(&ns->meta_mu);
    return s;
}

vs_err ns_set_limits(vs_ns_t *ns, const vs_ns_limits *l, vs_status *st)
{
    pthread_mutex_lock(&ns->meta_mu);
    ns->meta.limits = *l;
    vs_err rc = ns_meta_save_locked(ns, st);
    pthread_mutex_unlock(&ns->meta_mu);
    return rc;
}

vs_err ns_set_status(vs_ns_t *ns, vs_ns_status s, vs_status *st)
{
    pthread_mutex_lock(&ns->meta_mu);
    ns->meta.status = s;
    vs_err rc = ns_meta_save_locked(ns, st);
    pthread_mutex_unlock(&ns->meta_mu);
    return rc;
}

void ns_count(vs_ns_t *ns, uint64_t requests, uint64_t queries, uint64_t upserts, uint64_t deletes)
{
    pthread_mutex_lock(&ns->meta_mu);
    ns->meta.usage.total_requests += requests;
    ns->meta.usage.total_queries += queries;
    ns->meta.usage.total_upserts += upserts;
    ns->meta.usage.total_deletes += deletes;
    ns->meta_dirty = true;
    pthread_mutex_unlock(&ns->meta_mu);
}

void ns_with_admission(vs_ns_t *ns, void (*fn)(vs_ns_admission *a, void *ctx), void *ctx)
{
    pthread_mutex_lock(&ns->adm_mu);
    fn(&ns->adm, ctx);
    pthread_mutex_unlock(&ns->adm_mu);
}

/* ---- applying records (live writes and replay share this) ---- */

static vs_err parse_id(const uint8_t *p, size_t len, const char **id, size_t *id_len, vs_status *st)
{
    if (len < 4 || vs_load_u32(p) != len - 4 || len - 4 == 0)
        return vs_status_set(st, VS_ERR_CORRUPT, "write-ahead log: malformed id record");
    *id = (const char *)p + 4;
    *id_len = len - 4;
    return VS_OK;
}

static vs_err apply_upsert(vs_ns_t *ns, const uint8_t *p, size_t len, coll_pending *pend, vs_status *st)
{
    if (len < 8) return vs_status_set(st, VS_ERR_CORRUPT, "write-ahead log: short upsert record");
    uint32_t dim = vs_load_u32(p), n = vs_load_u32(p + 4);
    if (!dim || dim > 65536)
        return vs_status_set(st, VS_ERR_CORRUPT, "write-ahead log: bad dimension %u", dim);
    coll_rec *recs = vs_malloc((size_t)(n ? n : 1) * sizeof *recs);
    float *vecs = vs_malloc((size_t)(n ? n : 1) * dim * sizeof(float));
    if (!recs || !vecs) {
        vs_free(recs), vs_free(vecs);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory applying an upsert");
    }
    size_t off = 8;
    vs_err rc = VS_OK;
    for (uint32_t i = 0; i < n && rc == VS_OK; i++) {
        uint32_t il, ml;
        if (len - off < 4 || (il = vs_load_u32(p + off)) > len - off - 4) goto bad;
        recs[i].id = (const char *)p + off + 4;
        recs[i].id_len = il;
        off += 4 + il;
        if (len - off < 4 || (ml = vs_load_u32(p + off)) > len - off - 4) goto bad;
        recs[i].meta = ml ? p + off + 4 : NULL;
        recs[i].meta_len = ml;
        off += 4 + ml;
        if (len - off < (size_t)dim * 4) goto bad;
        memcpy(vecs + (size_t)i * dim, p + off, (size_t)dim * 4); /* aligned copy */
        recs[i].vec = vecs + (size_t)i * dim;
        off += (size_t)dim * 4;
        continue;
    bad:
        rc = vs_status_set(st, VS_ERR_CORRUPT, "write-ahead log: malformed upsert record");
    }
    if (rc == VS_OK && off != len)
        rc = vs_status_set(st, VS_ERR_CORRUPT, "write-ahead log: trailing bytes in upsert record");
    if (rc == VS_OK && pend)
        rc = coll_upsert_begin(ns->coll, recs, n, dim, pend, st); /* the store copies the vectors */
    else if (rc == VS_OK)
        rc = coll_upsert(ns->coll, recs, n, dim, st);
    vs_free(recs), vs_free(vecs);
    return rc;
}

static vs_err apply(vs_ns_t *ns, uint8_t type, const uint8_t *p, size_t len, uint64_t *removed,
                    coll_pending *pend, vs_status *st)
{
    const char *id = NULL;
    size_t il = 0;
    vs_err rc;
    switch (type) {
    case WAL_UPSERT:
        return apply_upsert(ns, p, len, pend, st);
    case WAL_DELETE:
    case WAL_SOFT_DELETE:
    case WAL_RESTORE:
        rc = parse_id(p, len, &id, &il, st);
        if (rc != VS_OK) return rc;
        if (type == WAL_DELETE) return coll_delete(ns->coll, id, il, st);
        if (type == WAL_SOFT_DELETE) return coll_soft_delete(ns->coll, id, il, st);
        return coll_restore(ns->coll, id, il, st);
    case WAL_COMPACT: {
        uint64_t r = 0;
        rc = coll_compact(ns->coll, &r, st);
        if (removed) *removed = r;
        return rc;
    }
    default:
        return vs_status_set(st, VS_ERR_CORRUPT, "write-ahead log: unknown record type %u", type);
    }
}

static vs_err replay_one(void *ctx, uint64_t seq, uint8_t type, const uint8_t *p, size_t len,
                         vs_status *st)
{
    vs_ns_t *ns = ctx;
    vs_status ast;
    vs_status_clear(&ast);
    vs_err rc = apply(ns, type, p, len, NULL, NULL, &ast);
    ns->applied_seq = seq;
    /* a record that failed when it was first applied (unknown id) fails the same way now */
    if (rc == VS_ERR_NOT_FOUND) return VS_OK;
    if (rc != VS_OK)
        return vs_status_set(st, rc, "%s/wal.log: record %llu: %s", ns->dir,
                             (unsigned long long)seq, ast.msg);
    return VS_OK;
}

/* The write protocol of the file comment. */
static vs_err ns_write(vs_ns_t *ns, uint8_t type, const void *payload, size_t len,
                       uint64_t *removed, vs_status *st)
{
    uint64_t seq = 0;
    pthread_mutex_lock(&ns->log_mu);
    vs_err rc = wal_write(ns->wal, type, payload, len, &seq, st);
    pthread_mutex_unlock(&ns->log_mu);
    if (rc != VS_OK) return rc;
    rc = wal_sync(ns->wal, seq, st);
    pthread_mutex_lock(&ns->apply_mu);
    while (ns->applied_seq + 1 != seq) pthread_cond_wait(&ns->apply_cv, &ns->apply_mu);
    coll_pending pend = {NULL, 0};
    if (rc == VS_OK) rc = apply(ns, type, payload, len, removed, type == WAL_UPSERT ? &pend : NULL, st);
    ns->applied_seq = seq;
    pthread_cond_broadcast(&ns->apply_cv);
    pthread_mutex_unlock(&ns->apply_mu);
    /* graph linking and publishing run outside the ticket, concurrently with the next writers */
    if (rc == VS_OK && pend.n) rc = coll_upsert_finish(ns->coll, &pend, st);
    atomic_fetch_add(&ns->generation, 1);
    if (rc == VS_OK && wal_size_bytes(ns->wal) > SNAPSHOT_LOG_BYTES) {
        vs_status sst;
        if (ns_snapshot(ns, &sst) != VS_OK)
            vs_log_error("namespace=%s snapshot failed: %s", ns->meta.id, sst.msg);
    }
    return rc;
}

vs_err ns_upsert(vs_ns_t *ns, const vs_ns_rec *recs, size_t n, uint32_t dim, vs_status *st)
{
    vs_buf b = VS_BUF_INIT;
    vs_buf_append_u32(&b, dim);
    vs_buf_append_u32(&b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        vs_buf_append_u32(&b, (uint32_t)recs[i].id_len);
        vs_buf_append(&b, recs[i].id, recs[i].id_len);
        vs_buf_append_u32(&b, (uint32_t)recs[i].meta_len);
        vs_buf_append(&b, recs[i].meta, recs[i].meta_len);
        vs_buf_append(&b, recs[i].vec, (size_t)dim * sizeof(float));
    }
    if (b.oom) {
        vs_buf_free(&b);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory encoding a write");
    }
    vs_err rc = ns_write(ns, WAL_UPSERT, b.data, b.len, NULL, st);
    vs_buf_free(&b);
    if (rc == VS_OK) {
        pthread_mutex_lock(&ns->meta_mu);
        if (!ns->meta.dim) {
            ns->meta.dim = dim;
            vs_status mst;
            if (ns_meta_save_locked(ns, &mst) != VS_OK)
                vs_log_error("namespace=%s %s", ns->meta.id, mst.msg);
        }
        pthread_mutex_unlock(&ns->meta_mu);
    }
    return rc;
}

static vs_err id_write(vs_ns_t *ns, uint8_t type, const char *id, size_t id_len, vs_status *st)
{
    /* the record must exist now; a write racing with a delete still fails cleanly on apply */
    if (!coll_exists(ns->coll, id, id_len))
        return vs_status_set(st, VS_ERR_NOT_FOUND, "Vector '%.*s' not found",
                             (int)(id_len > 200 ? 200 : id_len), id);
    uint8_t *p = vs_malloc(id_len + 4);
    if (!p) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    vs_store_u32(p, (uint32_t)id_len);
    memcpy(p + 4, id, id_len);
    vs_err rc = ns_write(ns, type, p, id_len + 4, NULL, st);
    vs_free(p);
    return rc;
}

vs_err ns_delete(vs_ns_t *ns, const char *id, size_t l, vs_status *st)
{
    return id_write(ns, WAL_DELETE, id, l, st);
}
vs_err ns_soft_delete(vs_ns_t *ns, const char *id, size_t l, vs_status *st)
{
    return id_write(ns, WAL_SOFT_DELETE, id, l, st);
}
vs_err ns_restore(vs_ns_t *ns, const char *id, size_t l, vs_status *st)
{
    return id_write(ns, WAL_RESTORE, id, l, st);
}

vs_err ns_compact(vs_ns_t *ns, uint64_t *removed, vs_status *st)
{
    *removed = 0;
    vs_err rc = ns_write(ns, WAL_COMPACT, "", 0, removed, st);
    if (rc == VS_OK) rc = ns_snapshot(ns, st);
    return rc;
}

/* ---- snapshots ---- */

static vs_err snap_sink(void *ctx, const void *p, size_t n, vs_status *st)
{
    return snap_write(ctx, p, n, st);
}
static vs_err snap_source(void *ctx, void *p, size_t n, vs_status *st)
{
    return snap_read(ctx, p, n, st);
}

vs_err ns_snapshot(vs_ns_t *ns, vs_status *st)
{
    pthread_mutex_lock(&ns->log_mu);
    pthread_mutex_lock(&ns->apply_mu);
    /* log_mu holds new records out; drain the ones written but not yet applied */
    while (ns->applied_seq < wal_last_seq(ns->wal)) pthread_cond_wait(&ns->apply_cv, &ns->apply_mu);
    uint64_t seq = ns->applied_seq;
    pthread_mutex_unlock(&ns->apply_mu);
    coll_wait_idle(ns->coll); /* and the ones still linking their graph nodes */
    vs_err rc = VS_OK;
    if (seq == ns->snapshot_seq && ns->has_snapshot) goto out;
    char path[sizeof ns->dir + 32];
    for (int i = 0; i < 3 && rc == VS_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", ns->dir, snap_names[i]);
        snap_writer_t *w = NULL;
        rc = snap_create(path, snap_kinds[i], seq, &w, st);
        if (rc != VS_OK) break;
        if (i == 0) rc = coll_write_vectors(ns->coll, snap_sink, w, st);
        if (i == 1) rc = coll_write_metadata(ns->coll, snap_sink, w, st);
        if (i == 2) rc = coll_write_graph(ns->coll, snap_sink, w, st);
        if (rc == VS_OK)
            rc = snap_finish(w, st);
        else
            snap_abort(w);
    }
    if (rc == VS_OK) rc = snapset_commit(ns->dir, snap_names, 3, st);
    if (rc == VS_OK) rc = wal_reset(ns->wal, seq, st);
    if (rc == VS_OK) {
        ns->snapshot_seq = seq;
        ns->has_snapshot = true;
    }
out:
    pthread_mutex_unlock(&ns->log_mu);
    if (rc == VS_OK) {
        pthread_mutex_lock(&ns->meta_mu);
        rc = ns_meta_save_locked(ns, st);
        pthread_mutex_unlock(&ns->meta_mu);
    }
    return rc;
}

uint64_t ns_disk_bytes(vs_ns_t *ns)
{
    uint64_t total = 0;
    const char *names[] = {"vectors.bin", "metadata.bin", "hnsw_index.bin", "wal.log",
                           "namespace.json"};
    char path[sizeof ns->dir + 32];
    for (size_t i = 0; i < 5; i++) {
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", ns->dir, names[i]);
        if (stat(path, &sb) == 0) total += (uint64_t)sb.st_size;
    }
    return total;
}

/* ---- open / close ---- */

vs_err ns_open(const char *dir, const vs_ns_meta *meta, int fsync_policy, vs_ns_t **out,
               vs_status *st)
{
    vs_ns_t *ns = vs_calloc(1, sizeof *ns);
    if (!ns) return vs_status_set(st, VS_ERR_NOMEM, "out of memory opening a namespace");
    atomic_init(&ns->refs, 1);
    snprintf(ns->dir, sizeof ns->dir, "%s", dir);
    ns->meta = *meta;
    ns->fsync_policy = fsync_policy;
    pthread_mutex_init(&ns->meta_mu, NULL);
    pthread_mutex_init(&ns->log_mu, NULL);
    pthread_mutex_init(&ns->apply_mu, NULL);
    pthread_mutex_init(&ns->adm_mu, NULL);
    pthread_cond_init(&ns->apply_cv, NULL);
    coll_settings cs = {meta->dim, (vs_metric)meta->metric, meta->m, meta->ef_construction,
                        meta->ef_search};
    ns->coll = coll_create(&cs);
    if (!ns->coll) {
        ns_free(ns);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory opening a namespace");
    }
    const coll_settings *eff = coll_get_settings(ns->coll);
    ns->meta.m = eff->m;
    ns->meta.ef_construction = eff->ef_construction;
    ns->meta.ef_search = eff->ef_search;

    vs_err rc = snapset_recover(dir, snap_names, 3, st);
    snap_reader_t *r[3] = {NULL, NULL, NULL};
    uint64_t seqs[3] = {0, 0, 0};
    int present = 0;
    for (int i = 0; rc == VS_OK && i < 3; i++) {
        char path[sizeof ns->dir + 32];
        snprintf(path, sizeof path, "%s/%s", dir, snap_names[i]);
        vs_status ost;
        vs_status_clear(&ost);
        vs_err orc = snap_open(path, snap_kinds[i], &r[i], &seqs[i], &ost);
        if (orc == VS_OK)
            present++;
        else if (orc != VS_ERR_NOT_FOUND) {
            rc = vs_status_set(st, orc, "%s", ost.msg);
        }
    }
    if (rc == VS_OK && present && present != 3)
        rc = vs_status_set(
            st, VS_ERR_CORRUPT,
            "%s: incomplete snapshot (%d of 3 files: vectors.bin, metadata.bin, hnsw_index.bin)",
            dir, present);
    if (rc == VS_OK && present && (seqs[0] != seqs[1] || seqs[1] != seqs[2]))
        rc = vs_status_set(st, VS_ERR_CORRUPT,
                           "%s: snapshot files disagree on their sequence number", dir);
    if (rc == VS_OK && present) {
        rc = coll_load(ns->coll, snap_source, r[0], snap_source, r[1], snap_source, r[2], st);
        for (int i = 0; rc == VS_OK && i < 3; i++) rc = snap_read_end(r[i], st);
        ns->snapshot_seq = seqs[0];
        ns->has_snapshot = true;
    }
    for (int i = 0; i < 3; i++)
        if (r[i]) snap_close(r[i]);
    ns->applied_seq = ns->snapshot_seq;
    if (rc == VS_OK)
        rc = wal_open(dir, (vs_fsync_policy)fsync_policy, ns->snapshot_seq, replay_one, ns,
                      &ns->wal, st);
    if (rc != VS_OK) {
        ns_free(ns);
        return rc;
    }
    if (wal_last_seq(ns->wal) > ns->applied_seq) ns->applied_seq = wal_last_seq(ns->wal);
    if (!ns->meta.dim) ns->meta.dim = coll_dim(ns->coll);
    *out = ns;
    return VS_OK;
}

void ns_close(vs_ns_t *ns, bool snapshot)
{
    if (snapshot && ns->wal && !wal_failed(ns->wal)) {
        vs_status st;
        if (ns_snapshot(ns, &st) != VS_OK)
            vs_log_error("namespace=%s snapshot at shutdown failed: %s", ns->meta.id, st.msg);
    } else if (ns->meta_dirty) {
        vs_status st;
        pthread_mutex_lock(&ns->meta_mu);
        ns_meta_save_locked(ns, &st);
        pthread_mutex_unlock(&ns->meta_mu);
    }
    ns_release(ns);
}

void ns_free(vs_ns_t *ns)
{
    if (ns->adm.limiter && ns->adm.limiter_free) ns->adm.limiter_free(ns->adm.limiter);
    if (ns->wal) wal_close(ns->wal);
    coll_destroy(ns->coll);
    pthread_mutex_destroy(&ns->meta_mu);
    pthread_mutex_destroy(&ns->log_mu);
    pthread_mutex_destroy(&ns->apply_mu);
    pthread_mutex_destroy(&ns->adm_mu);
    pthread_cond_destroy(&ns->apply_cv);
    vs_free(ns);
}
