/*
 * eval.c - evaluates a parsed filter against one record's encoded metadata (SPEC 6 semantics).
 *
 * How: a recursive walk of the tree; each predicate resolves its dotted path by walking objects
 * only (vs_value_get per name: an array or scalar on the way makes the path missing) and applies
 * one rule:
 *   - comparison: true only when the value has the literal's type and the comparison holds;
 *     numbers compare as doubles, strings by bytes (memcmp, shorter prefix first), booleans only
 *     with = / !=; null literals never compare (x = null / x != null were turned into IS [NOT]
 *     NULL by the parser); missing, arrays and objects are never equal, unequal or ordered;
 *   - IN is an OR of `=`, NOT IN an AND of `!=` (a null in the list means IS NULL / IS NOT NULL);
 *   - BETWEEN a AND b is `>= a AND <= b`;
 *   - CONTAINS: an array with an element equal to the literal (null included; numbers as doubles),
 *     or a string holding the string literal as a substring;
 *   - IS NULL: missing or JSON null.
 *
 * Invariants: 1. evaluation allocates nothing and never writes to the tree;
 *             2. recursion depth is bounded by the parser's nesting limit (FLT_MAX_DEPTH).
 * Concurrency: pure; any number of threads may evaluate one tree. Callers: core/collection.c
 * (each candidate), tests and the fuzz target.
 */
#include "core/filter/filter_int.h"

#include <string.h>

static vs_value resolve(const flt_node *n, vs_value meta)
{
    vs_value v = meta;
    for (uint32_t i = 0; i < n->n_names; i++) {
        if (!vs_value_get(v, n->names[i].s, n->names[i].len, &v)) return vs_value_missing();
    }
    return v;
}

static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int d = memcmp(a, b, la < lb ? la : lb);
    if (d) return d;
    return la < lb ? -1 : la > lb;
}

static bool order_holds(int c, flt_op op)
{
    switch (op) {
    case FLT_EQ:
        return c == 0;
    case FLT_NE:
        return c != 0;
    case FLT_LT:
        return c < 0;
    case FLT_LE:
        return c <= 0;
    case FLT_GT:
        return c > 0;
    case FLT_GE:
        return c >= 0;
    }
    return false;
}

/* v op lit under the type rule. */
static bool compare(vs_value v, flt_op op, const flt_lit *lit)
{
    vs_val_type t = vs_value_type(v);
    switch (lit->type) {
    case FLT_LIT_NUMBER: {
        if (t != VS_VAL_NUMBER) return false;
        double d = vs_value_number(v), l = lit->num;
        switch (op) {
        case FLT_EQ:
            return d == l;
        case FLT_NE:
            return d != l;
        case FLT_LT:
            return d < l;
        case FLT_LE:
            return d <= l;
        case FLT_GT:
            return d > l;
        case FLT_GE:
            return d >= l;
        }
        return false;
    }
    case FLT_LIT_STRING: {
        if (t != VS_VAL_STRING) return false;
        size_t len;
        const char *s = vs_value_string(v, &len);
        return order_holds(bytes_cmp(s, len, lit->str, lit->str_len), op);
    }
    case FLT_LIT_BOOL:
        if (t != VS_VAL_BOOL) return false;
        if (op == FLT_EQ) return vs_value_bool(v) == lit->b;
        if (op == FLT_NE) return vs_value_bool(v) != lit->b;
        return false; /* booleans are not ordered */
    case FLT_LIT_NULL:
        return false; /* = / != null were rewritten; null is not ordered */
    }
    return false;
}

static bool is_null(vs_value v)
{
    vs_val_type t = vs_value_type(v);
    return t == VS_VAL_MISSING || t == VS_VAL_NULL;
}

/* An array element equal to the literal (CONTAINS): same type and value. */
static bool elem_equal(vs_value e, const flt_lit *lit)
{
    if (lit->type == FLT_LIT_NULL) return vs_value_type(e) == VS_VAL_NULL;
    return compare(e, FLT_EQ, lit);
}

static bool contains(vs_value v, const flt_lit *lit)
{
    vs_val_type t = vs_value_type(v);
    if (t == VS_VAL_ARRAY) {
        vs_value_iter it;
        vs_value_iter_init(&it, v);
        vs_value e;
        while (vs_value_iter_next(&it, NULL, NULL, &e))
            if (elem_equal(e, lit)) return true;
        return false;
    }
    if (t == VS_VAL_STRING && lit->type == FLT_LIT_STRING) {
        size_t len;
        const char *s = vs_value_string(v, &len);
        if (lit->str_len == 0) return true;
        return memmem(s, len, lit->str, lit->str_len) != NULL;
    }
    return false;
}

static bool eval(const flt_node *n, vs_value meta)
{
    switch (n->kind) {
    case FLT_AND:
        for (const flt_node *k = n->kids; k; k = k->next)
            if (!eval(k, meta)) return false;
        return true;
    case FLT_OR:
        for (const flt_node *k = n->kids; k; k = k->next)
            if (eval(k, meta)) return true;
        return false;
    case FLT_NOT:
        return !eval(n->kids, meta);
    case FLT_CMP:
        return compare(resolve(n, meta), n->op, &n->lits[0]);
    case FLT_IN: {
        vs_value v = resolve(n, meta);
        for (uint32_t i = 0; i < n->n_lits; i++) {
            const flt_lit *l = &n->lits[i];
            if (l->type == FLT_LIT_NULL ? is_null(v) : compare(v, FLT_EQ, l)) return true;
        }
        return false;
    }
    case FLT_NOT_IN: {
        vs_value v = resolve(n, meta);
        for (uint32_t i = 0; i < n->n_lits; i++) {
            const flt_lit *l = &n->lits[i];
            if (!(l->type == FLT_LIT_NULL ? !is_null(v) : compare(v, FLT_NE, l))) return false;
        }
        return true;
    }
    case FLT_IS_NULL:
        return is_null(resolve(n, meta));
    case FLT_IS_NOT_NULL:
        return !is_null(resolve(n, meta));
    case FLT_CONTAINS:
        return contains(resolve(n, meta), &n->lits[0]);
    case FLT_BETWEEN: {
        vs_value v = resolve(n, meta);
        return compare(v, FLT_GE, &n->lits[0]) && compare(v, FLT_LE, &n->lits[1]);
    }
    }
    return false;
}

bool flt_eval(const flt_expr_t *e, vs_value meta)
{
    if (!e) return true;
    return eval(e->root, meta);
}
