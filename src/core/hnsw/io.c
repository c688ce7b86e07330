/*
 * io.c - graph serialisation: hnsw_write streams the graph through a caller's write fn, hnsw_read
 * rebuilds the exact same graph (same levels, same lists in the same order) without computing a
 * single distance. The durability layer wraps the stream in its own checksummed container
 * (hnsw_index.bin); this format only has to be self-describing and validated field by field.
 *
 * Format (all integers little-endian uint32 unless noted):
 *
 *   offset  size  field
 *   0       4     magic 0x57534E48 (the bytes "HNSW")
 *   4       4     version (HNSW_IO_VERSION = 1)
 *   8       4     m
 *   12      4     ef_construction
 *   16      4     ef_search
 *   20      8     seed (uint64)
 *   28      4     metric (vs_metric)
 *   32      4     dim (must equal the arena's)
 *   36      4     n_nodes
 *   40      4     slot bound: 1 + highest node slot (0 when empty)
 *   44      4     entry slot (0xFFFFFFFF when empty)
 *   48      4     entry level
 *   52      ...   n_nodes node records in ascending slot order:
 *                   4  slot
 *                   4  level (bits 0-7) | deleted (bit 8); other bits zero
 *                   then for lc = 0 .. level: 4 count, count * 4 neighbour slots
 *   end     4     end magic 0x21444E45 (the bytes "END!")
 *
 * Validation on read: magic, version, parameters in their ranges, metric and dim as expected,
 * slots strictly ascending and below the bound, each node's vector present in the arena, levels
 * <= HNSW_MAX_LEVEL, counts within the level's list size; then hnsw_check on the rebuilt graph
 * (every neighbour a node of the graph with a high enough level, no self or duplicate links, the
 * entry point on the top level). Anything else: NULL + VS_ERR_CORRUPT.
 *
 * Concurrency: hnsw_write copies each list under its node lock; it must not run concurrently with
 * hnsw_insert (a count written up front must match the records). hnsw_read builds a private
 * graph. Callers: collection.c (snapshots), tests.
 */
#include "hnsw_int.h"

#define HNSW_IO_MAGIC   0x57534E48u
#define HNSW_IO_END     0x21444E45u
#define HNSW_IO_VERSION 1u

typedef struct wbuf {
    hnsw_write_fn w;
    void *ctx;
    vs_status *st;
    vs_err rc;
    size_t n;
    uint8_t b[65536];
} wbuf;

static void flush(wbuf *o)
{
    if (o->rc == VS_OK && o->n) o->rc = o->w(o->ctx, o->b, o->n, o->st);
    o->n = 0;
}

static void put(wbuf *o, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n && o->rc == VS_OK) {
        if (o->n == sizeof o->b) flush(o);
        size_t c = sizeof o->b - o->n < n ? sizeof o->b - o->n : n;
        memcpy(o->b + o->n, s, c);
        o->n += c, s += c, n -= c;
    }
}

static void put_u32(wbuf *o, uint32_t x)
{
    uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
    put(o, b, 4);
}

vs_err hnsw_write(const hnsw_graph_t *g, hnsw_write_fn w, void *ctx, vs_status *st)
{
    if (!g || !w) return vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "hnsw_write: NULL argument");
    wbuf *o = vs_malloc(sizeof *o);
    if (!o) return vs_status_set(st, VS_ERR_NOMEM, "out of memory writing the graph");
    o->w = w, o->ctx = ctx, o->st = st, o->rc = VS_OK, o->n = 0;
    uint32_t bound = atomic_load_explicit(&g->bound, memory_order_acquire), n_nodes = 0;
    for (uint32_t s = 0; s < bound; s++) {
        const hnsw_node *n = hnsw_node_at(g, s);
        if (n && (hnsw_node_flags(n) & NODE_READY)) n_nodes++;
    }
    uint64_t e = atomic_load_explicit(&g->entry, memory_order_acquire);
    put_u32(o, HNSW_IO_MAGIC);
    put_u32(o, HNSW_IO_VERSION);
    put_u32(o, g->params.m);
    put_u32(o, g->params.ef_construction);
    put_u32(o, g->params.ef_search);
    put_u32(o, (uint32_t)g->params.seed);
    put_u32(o, (uint32_t)(g->params.seed >> 32));
    put_u32(o, (uint32_t)g->metric);
    put_u32(o, g->dim);
    put_u32(o, n_nodes);
    put_u32(o, n_nodes ? bound : 0);
    put_u32(o, e == HNSW_NO_ENTRY ? UINT32_MAX : (uint32_t)e);
    put_u32(o, e == HNSW_NO_ENTRY ? 0 : (uint32_t)(e >> 32));
    uint32_t *ids = vs_malloc((size_t)g->m0 * sizeof *ids);
    if (!ids) o->rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory writing the graph");
    for (uint32_t s = 0; s < bound && o->rc == VS_OK; s++) {
        hnsw_node *n = hnsw_node_at(g, s);
        uint8_t fl = n ? hnsw_node_flags(n) : 0;
        if (!(fl & NODE_READY)) continue;
        put_u32(o, s);
        put_u32(o, n->level | ((fl & NODE_DELETED) ? 0x100u : 0u));
        for (uint32_t lc = 0; lc <= n->level; lc++) {
            uint32_t c = hnsw_copy_links(g, n, lc, ids);
            put_u32(o, c);
            for (uint32_t i = 0; i < c; i++) put_u32(o, ids[i]);
        }
    }
    put_u32(o, HNSW_IO_END);
    flush(o);
    vs_err rc = o->rc;
    vs_free(ids);
    vs_free(o);
    return rc;
}

typedef struct rctx {
    hnsw_read_fn r;
    void *ctx;
    vs_status *st;
} rctx;

static vs_err get_u32(rctx *in, uint32_t *x)
{
    uint8_t b[4];
    vs_err rc = in->r(in->ctx, b, 4, in->st);
    if (rc == VS_OK)
        *x = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return rc;
}

static hnsw_graph_t *corrupt(hnsw_graph_t *g, vs_status *st, const char *why, uint32_t a,
                             uint32_t b)
{
    hnsw_destroy(g);
    vs_status_set(st, VS_ERR_CORRUPT, "hnsw_index: %s (%u, %u)", why, a, b);
    return NULL;
}

static hnsw_graph_t *fail(hnsw_graph_t *g, vs_err rc, vs_status *st)
{
    hnsw_destroy(g);
    if (st && st->code == VS_OK) vs_status_set(st, rc, NULL);
    return NULL;
}

hnsw_graph_t *hnsw_read(const vs_vectors_t *vecs, vs_metric metric, hnsw_read_fn r, void *ctx,
                        vs_status *st)
{
    if (!vecs || !r) {
        vs_status_set(st, VS_ERR_INVALID_ARGUMENT, "hnsw_read: NULL argument");
        return NULL;
    }
    rctx in = {r, ctx, st};
    uint32_t h[13];
    for (int i = 0; i < 13; i++) {
        vs_err rc = get_u32(&in, &h[i]);
        if (rc != VS_OK) return fail(NULL, rc, st);
    }
    if (h[0] != HNSW_IO_MAGIC) return corrupt(NULL, st, "bad magic", h[0], HNSW_IO_MAGIC);
    if (h[1] != HNSW_IO_VERSION) return corrupt(NULL, st, "unsupported version", h[1], 1);
    if (h[7] != (uint32_t)metric) return corrupt(NULL, st, "metric mismatch", h[7], metric);
    if (h[8] != vecs_dim(vecs))
        return corrupt(NULL, st, "dimension mismatch", h[8], vecs_dim(vecs));
    hnsw_params p = {h[2], h[3], h[4], (uint64_t)h[5] | (uint64_t)h[6] << 32};
    if (!p.m || !p.ef_construction || !p.ef_search)
        return corrupt(NULL, st, "zero parameter", p.m, p.ef_construction);
    hnsw_graph_t *g = hnsw_create(&p, vecs, metric);
    if (!g) {
        if (p.m < HNSW_MIN_M || p.m > HNSW_MAX_M || p.ef_construction < HNSW_MIN_EF_CONSTRUCTION ||
            p.ef_construction > HNSW_MAX_EF_CONSTRUCTION || p.ef_search > HNSW_MAX_EF_SEARCH)
            return corrupt(NULL, st, "parameter out of range", p.m, p.ef_construction);
        return fail(NULL, VS_ERR_NOMEM, st);
    }
    uint32_t n_nodes = h[9], bound = h[10], e_slot = h[11], e_level = h[12];
    if (n_nodes > bound || bound > vecs_slot_bound(vecs))
        return corrupt(g, st, "node count or slot bound out of range", n_nodes, bound);
    if ((n_nodes == 0) != (e_slot == UINT32_MAX) || (n_nodes && e_slot >= bound) ||
        e_level > HNSW_MAX_LEVEL)
        return corrupt(g, st, "bad entry point", e_slot, e_level);
    atomic_store_explicit(&g->bound, bound, memory_order_relaxed);
    uint32_t prev = 0, n_deleted = 0;
    for (uint32_t i = 0; i < n_nodes; i++) {
        uint32_t slot, lw;
        vs_err rc = get_u32(&in, &slot);
        if (rc == VS_OK) rc = get_u32(&in, &lw);
        if (rc != VS_OK) return fail(g, rc, st);
        if (slot >= bound || (i > 0 && slot <= prev))
            return corrupt(g, st, "node slot out of order or range", slot, bound);
        prev = slot;
        if (!vecs_get(vecs, slot)) return corrupt(g, st, "node without a vector", slot, 0);
        uint32_t level = lw & 0xFFu;
        if ((lw & ~0x1FFu) || level > e_level) return corrupt(g, st, "bad node level", slot, lw);
        hnsw_node *n = hnsw_node_ensure(g, slot);
        uint32_t *upper = level ? hnsw_upper_alloc(g, level) : NULL;
        if (!n || (level && !upper)) {
            vs_free(upper);
            return fail(g, VS_ERR_NOMEM, st);
        }
        n->level = (uint8_t)level;
        n->upper = upper;
        uint8_t fl = NODE_CLAIMED | NODE_READY;
        if (lw & 0x100u) fl |= NODE_DELETED, n_deleted++;
        atomic_store_explicit(&n->flags, fl, memory_order_relaxed);
        for (uint32_t lc = 0; lc <= level; lc++) {
            uint32_t *cnt, c;
            uint32_t *ids = hnsw_links(g, n, lc, &cnt);
            rc = get_u32(&in, &c);
            if (rc != VS_OK) return fail(g, rc, st);
            if (c > hnsw_max_links(g, lc)) return corrupt(g, st, "link list too long", slot, c);
            for (uint32_t j = 0; j < c; j++) {
                rc = get_u32(&in, &ids[j]);
                if (rc != VS_OK) return fail(g, rc, st);
                if (ids[j] >= bound) return corrupt(g, st, "neighbour out of range", slot, ids[j]);
            }
            *cnt = c;
        }
    }
    uint32_t end;
    vs_err rc = get_u32(&in, &end);
    if (rc != VS_OK) return fail(g, rc, st);
    if (end != HNSW_IO_END) return corrupt(g, st, "bad end marker", end, HNSW_IO_END);
    atomic_store_explicit(&g->n_nodes, n_nodes, memory_order_relaxed);
    atomic_store_explicit(&g->n_deleted, n_deleted, memory_order_relaxed);
    if (n_nodes)
        atomic_store_explicit(&g->entry, hnsw_entry_pack(e_slot, e_level), memory_order_release);
    char why[160];
    if (!hnsw_check(g, why, sizeof why)) {
        hnsw_destroy(g);
        vs_status_set(st, VS_ERR_CORRUPT, "hnsw_index: %s", why);
        return NULL;
    }
    return g;
}
