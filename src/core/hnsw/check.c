/*
 * check.c - hnsw_check, the graph's structural checker (SQLite's integrity_check, h2o's
 * *_validate): run by unit tests after operations and by hnsw_read on every loaded graph.
 *
 * Checks, for every READY node: a vector in the arena; level <= HNSW_MAX_LEVEL and <= the entry
 * level; on each level lc <= level: count <= the level's list size, every neighbour id below the
 * slot bound, not the node itself, not repeated, a READY node whose level is >= lc. Globally: the
 * READY count equals n_nodes, the entry point is a READY node whose level is the entry level,
 * and an empty graph has no entry point.
 *
 * Concurrency: takes each node lock while copying its lists; meaningful only when no insert is in
 * flight (a half-inserted node may legitimately break the global counts). Callers: tests, io.c.
 */
#include "hnsw_int.h"

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) static bool bad(char *why, size_t len, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool hnsw_check(const hnsw_graph_t *g, char *why, size_t why_len)
{
    if (!g) return bad(why, why_len, "NULL graph");
    uint32_t bound = atomic_load_explicit(&g->bound, memory_order_acquire);
    uint64_t e = atomic_load_explicit(&g->entry, memory_order_acquire);
    uint32_t e_level = e == HNSW_NO_ENTRY ? 0 : (uint32_t)(e >> 32), n_ready = 0;
    uint32_t ids[2 * HNSW_MAX_M];
    for (uint32_t s = 0; s < bound; s++) {
        hnsw_node *n = hnsw_node_at(g, s);
        if (!n || !(hnsw_node_flags(n) & NODE_READY)) continue;
        n_ready++;
        if (!vecs_get(g->vecs, s)) return bad(why, why_len, "node %u has no vector", s);
        if (n->level > HNSW_MAX_LEVEL || n->level > e_level)
            return bad(why, why_len, "node %u level %u above top level %u", s, n->level, e_level);
        for (uint32_t lc = 0; lc <= n->level; lc++) {
            uint32_t c = hnsw_copy_links(g, n, lc, ids);
            if (c > hnsw_max_links(g, lc))
                return bad(why, why_len, "node %u level %u has %u links", s, lc, c);
            for (uint32_t i = 0; i < c; i++) {
                uint32_t t = ids[i];
                if (t >= bound)
                    return bad(why, why_len, "node %u links to %u beyond bound %u", s, t, bound);
                if (t == s) return bad(why, why_len, "node %u links to itself on level %u", s, lc);
                for (uint32_t j = 0; j < i; j++)
                    if (ids[j] == t)
                        return bad(why, why_len, "node %u links twice to %u on level %u", s, t, lc);
                const hnsw_node *tn = hnsw_node_at(g, t);
                if (!tn || !(hnsw_node_flags(tn) & NODE_READY))
                    return bad(why, why_len, "node %u links to missing node %u on level %u", s, t,
                               lc);
                if (tn->level < lc)
                    return bad(why, why_len, "node %u links on level %u to node %u of lower level",
                               s, lc, t);
            }
        }
    }
    if (n_ready != atomic_load_explicit(&g->n_nodes, memory_order_acquire))
        return bad(why, why_len, "%u ready nodes but count %u", n_ready,
                   atomic_load_explicit(&g->n_nodes, memory_order_acquire));
    if (n_ready == 0) {
        if (e != HNSW_NO_ENTRY) return bad(why, why_len, "empty graph has entry %u", (uint32_t)e);
        return true;
    }
    if (e == HNSW_NO_ENTRY) return bad(why, why_len, "%u nodes but no entry point", n_ready);
    const hnsw_node *en = (uint32_t)e < bound ? hnsw_node_at(g, (uint32_t)e) : NULL;
    if (!en || !(hnsw_node_flags(en) & NODE_READY) || en->level != e_level)
        return bad(why, why_len, "entry %u (level %u) is not a node of level %u", (uint32_t)e,
                   en ? en->level : 0, e_level);
    return true;
}
