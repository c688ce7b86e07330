/*
 * store.c - the record table of store.h and its exact search.
 *
 * Invariants:
 *  1. ids maps an id to exactly one slot whose state is PENDING, LIVE or SOFT, and that slot's
 *     rec.id points at the key bytes held in the map.
 *  2. n_live + n_soft + n_pending + n_dead == number of slots not FREE.
 *  3. dead_bytes sums store_record_bytes-minus-metadata of DEAD slots (their vectors and index
 *     entries stay until compaction); data_bytes sums ids + metadata of non-DEAD slots.
 *
 * Exact search keeps a bounded max-heap of the k best (distance, slot) pairs.
 * Concurrency: see store.h; called by collection.c under its rwlock.
 */
#include "core/store.h"

#include "util/alloc.h"

#include <math.h>
#include <string.h>

#define INDEX_ENTRY_BYTES 136 /* level-0 links (2M = 32 x 4 bytes) + node header, at M = 16 */

void store_init(vs_store *s, uint32_t dim, vs_metric metric)
{
    memset(s, 0, sizeof *s);
    s->metric = metric;
    vs_hmap_init(&s->ids);
    if (dim) store_set_dim(s, dim, NULL);
}

void store_free(vs_store *s)
{
    for (uint32_t i = 0; i < s->n_slots; i++) {
        vs_free(s->recs[i].id);
        vs_free(s->recs[i].meta);
    }
    vs_free(s->recs);
    vs_free((void *)s->state);
    vs_free(s->replaces);
    vs_hmap_free(&s->ids);
    if (s->vecs) vecs_destroy(s->vecs);
    memset(s, 0, sizeof *s);
}

vs_err store_set_dim(vs_store *s, uint32_t dim, vs_status *st)
{
    if (s->vecs) return VS_OK;
    s->vecs = vecs_create(dim);
    if (!s->vecs) return vs_status_set(st, VS_ERR_NOMEM, "out of memory creating a vector arena");
    s->dim = dim;
    return VS_OK;
}

static bool grow(vs_store *s)
{
    uint32_t cap = s->cap ? s->cap * 2 : 64;
    store_rec *r = vs_realloc(s->recs, (size_t)cap * sizeof *r);
    if (!r) return false;
    s->recs = r;
    _Atomic uint8_t *st = vs_realloc((void *)s->state, cap);
    if (!st) return false;
    s->state = st;
    uint32_t *rp = vs_realloc(s->replaces, (size_t)cap * sizeof *rp);
    if (!rp) return false;
    s->replaces = rp;
    for (uint32_t i = s->cap; i < cap; i++) rp[i] = UINT32_MAX;
    memset(s->recs + s->cap, 0, (size_t)(cap - s->cap) * sizeof *r);
    for (uint32_t i = s->cap; i < cap; i++) atomic_init(&s->state[i], REC_FREE);
    s->cap = cap;
    return true;
}

uint64_t store_record_bytes(const vs_store *s, uint32_t id_len, uint32_t meta_len)
{
    return (uint64_t)s->dim * 4 + id_len + meta_len + INDEX_ENTRY_BYTES;
}

vs_err store_add(vs_store *s, const char *id, size_t id_len, const float *vec, const uint8_t *meta,
                 size_t meta_len, uint32_t *slot_out, vs_status *st)
{
    if (s->n_slots == s->cap && !grow(s))
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory growing the record table");
    uint32_t slot = s->n_slots;
    char *idc = vs_strndup(id, id_len);
    uint8_t *mc = NULL;
    if (meta && meta_len) {
        mc = vs_malloc(meta_len);
        if (mc) memcpy(mc, meta, meta_len);
    }
    if (!idc || (meta && meta_len && !mc)) {
        vs_free(idc);
        vs_free(mc);
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory storing a record");
    }
    vs_err rc = vec ? vecs_set(s->vecs, slot, vec, st) : VS_OK; /* NULL: already in the arena */
    if (rc != VS_OK) {
        vs_free(idc);
        vs_free(mc);
        return rc;
    }
    s->recs[slot] = (store_rec){idc, mc, (uint32_t)id_len, mc ? (uint32_t)meta_len : 0};
    atomic_store_explicit(&s->state[slot], REC_PENDING, memory_order_release);
    s->n_slots++;
    s->n_pending++;
    s->data_bytes += id_len + (mc ? meta_len : 0);
    *slot_out = slot;
    return VS_OK;
}

bool store_lookup(const vs_store *s, const char *id, size_t id_len, uint32_t *slot_out)
{
    return vs_hmap_get(&s->ids, id, id_len, slot_out);
}

vs_err store_map(vs_store *s, uint32_t slot, vs_status *st)
{
    store_rec *r = &s->recs[slot];
    if (!vs_hmap_put(&s->ids, r->id, r->id_len, slot))
        return vs_status_set(st, VS_ERR_NOMEM, "out of memory in the id map");
    return VS_OK;
}

static uint64_t *counter(vs_store *s, uint8_t state)
{
    switch (state) {
    case REC_LIVE:
        return &s->n_live;
    case REC_SOFT:
        return &s->n_soft;
    case REC_PENDING:
        return &s->n_pending;
    case REC_DEAD:
        return &s->n_dead;
    default:
        return NULL;
    }
}

void store_set_state(vs_store *s, uint32_t slot, uint8_t state)
{
    uint8_t old = store_state(s, slot);
    if (old == state || old == REC_FREE || old == REC_DEAD) return;
    uint64_t *c = counter(s, old);
    if (c) (*c)--;
    c = counter(s, state);
    if (c) (*c)++;
    store_rec *r = &s->recs[slot];
    if (state == REC_DEAD) {
        uint32_t cur;
        if (r->id && store_lookup(s, r->id, r->id_len, &cur) && cur == slot)
            vs_hmap_del(&s->ids, r->id, r->id_len);
        s->data_bytes -= r->id_len + r->meta_len;
        s->dead_bytes += store_record_bytes(s, 0, 0);
        atomic_store_explicit(&s->state[slot], state, memory_order_release);
        vs_free(r->id);
        vs_free(r->meta);
        r->id = NULL;
        r->meta = NULL;
        return;
    }
    atomic_store_explicit(&s->state[slot], state, memory_order_release);
}

size_t store_memory_bytes(const vs_store *s)
{
    return (size_t)s->cap * (sizeof(store_rec) + 1) + vs_hmap_memory_bytes(&s->ids) +
           s->data_bytes + (s->vecs ? vecs_memory_bytes(s->vecs) : 0);
}

float store_distance(const vs_store *s, const float *q, float q_inv_norm, uint32_t slot)
{
    const float *v = vecs_get(s->vecs, slot);
    switch (s->metric) {
    case VS_METRIC_L2:
        return vs_l2sq(q, v, s->dim);
    case VS_METRIC_DOT:
        return -vs_dot(q, v, s->dim);
    default:
        return 1.0f - vs_dot(q, v, s->dim) * q_inv_norm * vecs_inv_norm(s->vecs, slot);
    }
}

float store_score(vs_metric metric, float dist)
{
    switch (metric) {
    case VS_METRIC_L2:
        return sqrtf(dist > 0 ? dist : 0);
    case VS_METRIC_DOT:
        return -dist;
    default:
        return 1.0f - dist;
    }
}

/* Orders hits by distance, ties by id (SPEC 7's rule, used for every ranking). */
int store_hit_cmp(const vs_store *s, store_hit a, store_hit b)
{
    if (a.dist != b.dist) return a.dist < b.dist ? -1 : 1;
    const store_rec *ra = &s->recs[a.slot], *rb = &s->recs[b.slot];
    if (!ra->id || !rb->id) return (a.slot > b.slot) - (a.slot < b.slot);
    size_t n = ra->id_len < rb->id_len ? ra->id_len : rb->id_len;
    int d = memcmp(ra->id, rb->id, n);
    if (d) return d;
    return (ra->id_len > rb->id_len) - (ra->id_len < rb->id_len);
}

static _Thread_local const vs_store *tl_store;

/* max-heap on (dist, id): the root is the worst kept hit */
static bool worse(store_hit a, store_hit b)
{
    return store_hit_cmp(tl_store, a, b) > 0;
}

static void sift_down(store_hit *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(h[l], h[m])) m = l;
        if (r < n && worse(h[r], h[m])) m = r;
        if (m == i) return;
        store_hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(store_hit *h, uint32_t i)
{
    while (i) {
        uint32_t p = (i - 1) / 2;
        if (!worse(h[i], h[p])) return;
        store_hit t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

uint32_t store_exact_search(const vs_store *s, const float *q, uint32_t k, const uint32_t *slots,
                            size_t n_slots, store_accept_fn accept, void *ctx, store_hit *out,
                            uint64_t *visited)
{
    if (!k || !s->vecs) return 0;
    tl_store = s;
    float qi = 0;
    if (s->metric == VS_METRIC_COSINE) {
        float n = vs_norm(q, s->dim);
        qi = n > 0 ? 1.0f / n : 0;
    }
    uint32_t n = 0;
    size_t total = slots ? n_slots : s->n_slots;
    uint64_t seen = 0;
    for (size_t i = 0; i < total; i++) {
        uint32_t slot = slots ? slots[i] : (uint32_t)i;
        if (store_state(s, slot) != REC_LIVE) continue;
        seen++;
        store_hit h = {slot, store_distance(s, q, qi, slot)};
        /* the distance is cheaper than the filter: ask accept only of hits that would be kept */
        if (n == k && !worse(out[0], h)) continue;
        if (accept && !accept(ctx, slot)) continue;
        if (n < k) {
            out[n] = h;
            sift_up(out, n++);
        } else if (worse(out[0], h)) {
            out[0] = h;
            sift_down(out, n, 0);
        }
    }
    /* heap -> ascending order */
    for (uint32_t m = n; m > 1; m--) {
        store_hit t = out[0];
        out[0] = out[m - 1];
        out[m - 1] = t;
        sift_down(out, m - 1, 0);
    }
    if (visited) *visited += seen;
    return n;
}
