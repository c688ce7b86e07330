/*
 * parse.c - recursive-descent parser of the filter grammar (SPEC 6), building the tree of
 * filter_int.h in one arena, and the arena itself.
 *
 * How: one token of look-ahead (p->tok) over lex.c. The functions follow the grammar:
 *   parse_or     := parse_and ( OR parse_and )*
 *   parse_and    := parse_unary ( AND parse_unary )*
 *   parse_unary  := NOT parse_unary | '(' parse_or ')' | predicate
 *   predicate    := path ( cmp value | [NOT] IN '(' value (',' value)* ')' | IS [NOT] NULL
 *                        | CONTAINS value | BETWEEN value AND value )
 * The first error wins: fail() records it (message + column of the offending token) and every
 * function returns NULL up the stack. Messages are "Invalid filter: <what was expected> at
 * column N", N counting UTF-8 code points from 1 (the column past the end for a missing token).
 *
 * Invariants:
 *  1. Depth = unary NOTs + grouping parentheses enclosing a point; a NOT or '(' that would make
 *     it FLT_MAX_DEPTH + 1 is rejected before recursing, so the C stack stays bounded whatever
 *     the input (an IN list's parentheses and the NOT of NOT IN / IS NOT NULL do not count).
 *  2. A filter over FLT_MAX_BYTES is rejected before it is read; AND / OR chains are built by
 *     iteration, not recursion.
 *  3. A dotted path is a run of names whose spans touch their '.' (no spaces inside a path).
 *
 * Concurrency: a parse uses only its own state. Callers: service/ (once per request), tests, fuzz.
 */
#include "core/filter/filter_int.h"

#include "util/alloc.h"

#include <stdio.h>
#include <string.h>

/* ---- arena ---- */

struct flt_block {
    flt_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 2048

void *flt_arena_alloc(flt_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    flt_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = vs_malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void flt_arena_free(flt_arena *a)
{
    flt_block *b = a->head;
    while (b) {
        flt_block *next = b->next;
        vs_free(b);
        b = next;
    }
    a->head = NULL;
}

/* ---- parser ---- */

typedef struct parser {
    flt_lexer lx;
    flt_tok tok;  /* look-ahead */
    flt_tok prev; /* last consumed */
    flt_arena *arena;
    vs_status *st;
    vs_err rc; /* VS_OK until the first error */
} parser;

static void fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(parser *p, size_t at, const char *fmt, ...)
{
    if (p->rc != VS_OK) return;
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    p->rc = vs_status_set(p->st, VS_ERR_INVALID_ARGUMENT, "Invalid filter: %s at column %zu", what,
                          flt_column(p->lx.s, at));
}

static void oom(parser *p)
{
    if (p->rc != VS_OK) return;
    p->rc = vs_status_set(p->st, VS_ERR_NOMEM, "out of memory parsing a filter");
}

/* Names the character at off for "unexpected character" (valid UTF-8 or a code, never raw junk). */
static void fail_char(parser *p, size_t off)
{
    const unsigned char *s = (const unsigned char *)p->lx.s + off;
    size_t left = p->lx.len - off;
    unsigned char c = s[0];
    if (c >= 0x21 && c < 0x7f) {
        fail(p, off, "unexpected character '%c'", c);
        return;
    }
    if (c < 0x80) {
        fail(p, off, "unexpected character U+%04X", c);
        return;
    }
    size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (c >= 0xF5) n = 0;
    if (n == 0 || n > left) {
        fail(p, off, "unexpected byte 0x%02X (not UTF-8)", c);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            fail(p, off, "unexpected byte 0x%02X (not UTF-8)", c);
            return;
        }
    }
    fail(p, off, "unexpected character '%.*s'", (int)n, (const char *)s);
}

static void advance(parser *p)
{
    p->prev = p->tok;
    p->tok = flt_lex_next(&p->lx);
    if (p->tok.type != TOK_ERROR) return;
    if (p->lx.oom)
        oom(p);
    else if (p->lx.err_msg)
        fail(p, p->tok.start, "%s", p->lx.err_msg);
    else
        fail_char(p, p->tok.start);
}

static flt_node *new_node(parser *p, flt_kind kind)
{
    flt_node *n = flt_arena_alloc(p->arena, sizeof *n);
    if (!n) {
        oom(p);
        return NULL;
    }
    n->kind = kind;
    return n;
}

/* The source text of the previous token, for "after '<='"-style messages. */
static int prev_len(parser *p)
{
    return (int)(p->prev.end - p->prev.start);
}
static const char *prev_text(parser *p)
{
    return p->lx.s + p->prev.start;
}

/* A value after `after` (already quoted as it should print); false on error. */
static bool parse_value(parser *p, const char *after, flt_lit *out)
{
    memset(out, 0, sizeof *out);
    switch (p->tok.type) {
    case TOK_STRING:
        out->type = FLT_LIT_STRING;
        out->str = p->tok.str;
        out->str_len = p->tok.str_len;
        break;
    case TOK_NUMBER:
        out->type = FLT_LIT_NUMBER;
        out->num = p->tok.num;
        break;
    case TOK_TRUE:
    case TOK_FALSE:
        out->type = FLT_LIT_BOOL;
        out->b = p->tok.type == TOK_TRUE;
        break;
    case TOK_NULL:
        out->type = FLT_LIT_NULL;
        break;
    case TOK_NAME:
    case TOK_QNAME:
        fail(p, p->tok.start, "expected a value after %s (strings are single-quoted: 'text')",
             after);
        return false;
    default:
        fail(p, p->tok.start, "expected a value after %s", after);
        return false;
    }
    advance(p);
    return p->rc == VS_OK;
}

static bool is_name_tok(flt_tok_type t)
{
    return t == TOK_NAME || t == TOK_QNAME;
}

static bool parse_path(parser *p, flt_node *n)
{
    uint32_t cap = 4;
    flt_name *names = flt_arena_alloc(p->arena, cap * sizeof *names);
    if (!names) {
        oom(p);
        return false;
    }
    uint32_t count = 0;
    for (;;) {
        if (count == cap) {
            flt_name *bigger = flt_arena_alloc(p->arena, 2 * cap * sizeof *names);
            if (!bigger) {
                oom(p);
                return false;
            }
            memcpy(bigger, names, cap * sizeof *names);
            names = bigger;
            cap *= 2;
        }
        names[count].s = p->tok.str;
        names[count].len = p->tok.str_len;
        count++;
        advance(p);
        if (p->tok.type != TOK_DOT || p->tok.start != p->prev.end) break;
        advance(p);
        if (!is_name_tok(p->tok.type) || p->tok.start != p->prev.end) {
            const char *kw = flt_tok_keyword(p->tok.type);
            if (kw && p->tok.start == p->prev.end)
                fail(p, p->tok.start,
                     "expected a field name after '.' (%s is a keyword: quote it as a name, "
                     "e.g. \"%.*s\")",
                     kw, (int)(p->tok.end - p->tok.start), p->lx.s + p->tok.start);
            else
                fail(p, p->tok.start,
                     "expected a field name right after '.' (no spaces in a path)");
            return false;
        }
    }
    n->names = names;
    n->n_names = count;
    return p->rc == VS_OK;
}

static bool parse_in_list(parser *p, flt_node *n)
{
    if (p->tok.type != TOK_LPAREN) {
        fail(p, p->tok.start, "expected '(' after IN");
        return false;
    }
    advance(p);
    uint32_t cap = 4;
    flt_lit *lits = flt_arena_alloc(p->arena, cap * sizeof *lits);
    if (!lits) {
        oom(p);
        return false;
    }
    uint32_t count = 0;
    if (!parse_value(p, "'('", &lits[count++])) return false;
    for (;;) {
        if (p->tok.type == TOK_RPAREN) {
            advance(p);
            break;
        }
        if (p->tok.type != TOK_COMMA) {
            fail(p, p->tok.start, "expected ',' or ')' in the IN list");
            return false;
        }
        advance(p);
        if (count == cap) {
            flt_lit *bigger = flt_arena_alloc(p->arena, 2 * cap * sizeof *lits);
            if (!bigger) {
                oom(p);
                return false;
            }
            memcpy(bigger, lits, cap * sizeof *lits);
            lits = bigger;
            cap *= 2;
        }
        if (!parse_value(p, "','", &lits[count++])) return false;
    }
    n->lits = lits;
    n->n_lits = count;
    return p->rc == VS_OK;
}

static flt_lit *one_lit(parser *p, flt_node *n, uint32_t count)
{
    n->lits = flt_arena_alloc(p->arena, count * sizeof *n->lits);
    if (!n->lits) oom(p);
    n->n_lits = count;
    return n->lits;
}

static flt_node *parse_predicate(parser *p)
{
    if (!is_name_tok(p->tok.type)) {
        const char *kw = flt_tok_keyword(p->tok.type);
        if (kw)
            fail(p, p->tok.start,
                 "expected a field name, NOT or '(' (%s is a keyword: quote a field named like "
                 "it, e.g. \"%.*s\")",
                 kw, (int)(p->tok.end - p->tok.start), p->lx.s + p->tok.start);
        else
            fail(p, p->tok.start, "expected a field name, NOT or '('");
        return NULL;
    }
    flt_node *n = new_node(p, FLT_CMP);
    if (!n || !parse_path(p, n)) return NULL;
    char after[24];
    switch (p->tok.type) {
    case TOK_OP: {
        n->op = p->tok.op;
        advance(p);
        snprintf(after, sizeof after, "'%.*s'", prev_len(p), prev_text(p));
        flt_lit *l = one_lit(p, n, 1);
        if (!l || !parse_value(p, after, l)) return NULL;
        if (l->type == FLT_LIT_NULL && n->op == FLT_EQ) n->kind = FLT_IS_NULL;
        if (l->type == FLT_LIT_NULL && n->op == FLT_NE) n->kind = FLT_IS_NOT_NULL;
        return n;
    }
    case TOK_NOT:
        advance(p);
        if (p->tok.type != TOK_IN) {
            fail(p, p->tok.start, "expected IN after NOT");
            return NULL;
        }
        advance(p);
        n->kind = FLT_NOT_IN;
        return parse_in_list(p, n) ? n : NULL;
    case TOK_IN:
        advance(p);
        n->kind = FLT_IN;
        return parse_in_list(p, n) ? n : NULL;
    case TOK_IS:
        advance(p);
        n->kind = FLT_IS_NULL;
        if (p->tok.type == TOK_NOT) {
            n->kind = FLT_IS_NOT_NULL;
            advance(p);
        }
        if (p->tok.type != TOK_NULL) {
            fail(p, p->tok.start, "expected NULL after %s",
                 n->kind == FLT_IS_NULL ? "IS" : "IS NOT");
            return NULL;
        }
        advance(p);
        return p->rc == VS_OK ? n : NULL;
    case TOK_CONTAINS: {
        advance(p);
        n->kind = FLT_CONTAINS;
        flt_lit *l = one_lit(p, n, 1);
        return l && parse_value(p, "CONTAINS", l) ? n : NULL;
    }
    case TOK_BETWEEN: {
        advance(p);
        n->kind = FLT_BETWEEN;
        flt_lit *l = one_lit(p, n, 2);
        if (!l || !parse_value(p, "BETWEEN", &l[0])) return NULL;
        if (p->tok.type != TOK_AND) {
            fail(p, p->tok.start, "expected AND after BETWEEN's first value");
            return NULL;
        }
        advance(p);
        return parse_value(p, "BETWEEN ... AND", &l[1]) ? n : NULL;
    }
    case TOK_DOT:
        fail(p, p->tok.start,
             "expected an operator after the field name (no spaces around '.' in "
             "a path)");
        return NULL;
    default:
        fail(p, p->tok.start,
             "expected an operator (=, !=, <>, <, <=, >, >=, IN, NOT IN, IS, CONTAINS or BETWEEN) "
             "after the field name");
        return NULL;
    }
}

static flt_node *parse_or(parser *p, int depth);

static bool deeper(parser *p, int depth)
{
    if (depth + 1 <= FLT_MAX_DEPTH) return true;
    fail(p, p->tok.start, "nesting deeper than the limit of %d parentheses and NOTs",
         FLT_MAX_DEPTH);
    return false;
}

static flt_node *parse_unary(parser *p, int depth)
{
    if (p->tok.type == TOK_NOT) {
        if (!deeper(p, depth)) return NULL;
        advance(p);
        flt_node *n = new_node(p, FLT_NOT);
        if (!n) return NULL;
        n->kids = parse_unary(p, depth + 1);
        return n->kids ? n : NULL;
    }
    if (p->tok.type == TOK_LPAREN) {
        if (!deeper(p, depth)) return NULL;
        advance(p);
        flt_node *n = parse_or(p, depth + 1);
        if (!n) return NULL;
        if (p->tok.type != TOK_RPAREN) {
            fail(p, p->tok.start, "expected AND, OR or ')'");
            return NULL;
        }
        advance(p);
        return p->rc == VS_OK ? n : NULL;
    }
    return parse_predicate(p);
}

/* One level of the AND / OR chain: sub(op_tok sub)* as an n-ary node (or the single child). */
static flt_node *parse_chain(parser *p, int depth, flt_tok_type op_tok, flt_kind kind)
{
    flt_node *first =
        op_tok == TOK_OR ? parse_chain(p, depth, TOK_AND, FLT_AND) : parse_unary(p, depth);
    if (!first || p->tok.type != op_tok) return first;
    flt_node *n = new_node(p, kind);
    if (!n) return NULL;
    n->kids = first;
    flt_node *last = first;
    while (p->tok.type == op_tok) {
        advance(p);
        flt_node *k =
            op_tok == TOK_OR ? parse_chain(p, depth, TOK_AND, FLT_AND) : parse_unary(p, depth);
        if (!k) return NULL;
        last->next = k;
        last = k;
    }
    return n;
}

static flt_node *parse_or(parser *p, int depth)
{
    return parse_chain(p, depth, TOK_OR, FLT_OR);
}

static bool all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

vs_err flt_parse(const char *s, size_t len, flt_expr_t **out, vs_status *st)
{
    if (len > FLT_MAX_BYTES)
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid filter: %zu bytes is over the limit of %d bytes", len,
                             FLT_MAX_BYTES);
    if (!s || all_space(s, len)) {
        *out = NULL;
        return VS_OK;
    }
    flt_arena arena = {NULL};
    flt_expr_t *e = flt_arena_alloc(&arena, sizeof *e);
    if (!e) return vs_status_set(st, VS_ERR_NOMEM, "out of memory parsing a filter");
    parser p;
    memset(&p, 0, sizeof p);
    p.arena = &arena;
    p.st = st;
    flt_lex_init(&p.lx, s, len, &arena);
    advance(&p);
    flt_node *root = p.rc == VS_OK ? parse_or(&p, 0) : NULL;
    if (root && p.tok.type != TOK_EOF)
        fail(&p, p.tok.start,
             p.tok.type == TOK_RPAREN ? "expected AND, OR or the end of the filter (unmatched ')')"
                                      : "expected AND, OR or the end of the filter");
    if (!root || p.rc != VS_OK) {
        if (p.rc == VS_OK) oom(&p); /* defensive: a NULL root always comes with an error */
        flt_arena_free(&arena);
        return p.rc;
    }
    e->root = root;
    e->arena = arena; /* e lives in its own arena: copy the head last */
    *out = e;
    return VS_OK;
}

void flt_free(flt_expr_t *e)
{
    if (!e) return;
    flt_arena a = e->arena; /* e itself is in the arena */
    flt_arena_free(&a);
}
