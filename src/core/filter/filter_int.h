/*
 * filter_int.h - private to the filter module (lex.c, parse.c, eval.c) and to its one reader
 * outside it, core/payload_index.c, which walks the tree to bound a filter's candidates.
 *
 * The tree: AND / OR nodes hold a sibling-linked list of children, NOT one child; a predicate
 * node holds a path and its literals. Every node, name and literal lives in the expression's
 * arena and is freed with it. Normalisations done by the parser (so eval and the index see one
 * form): `x = null` -> FLT_IS_NULL, `x != null` / `x <> null` -> FLT_IS_NOT_NULL, `<>` -> FLT_NE.
 */
#ifndef VS_CORE_FILTER_INT_H
#define VS_CORE_FILTER_INT_H

#include "core/filter.h"

#include <stdint.h>

typedef enum {
    FLT_AND,
    FLT_OR,
    FLT_NOT,
    FLT_CMP,         /* path op lits[0] */
    FLT_IN,          /* path IN (lits[0..n_lits)) */
    FLT_NOT_IN,      /* path NOT IN (lits...) */
    FLT_IS_NULL,     /* path IS NULL (missing or JSON null) */
    FLT_IS_NOT_NULL, /* path IS NOT NULL */
    FLT_CONTAINS,    /* path CONTAINS lits[0] */
    FLT_BETWEEN,     /* path BETWEEN lits[0] AND lits[1] */
} flt_kind;

typedef enum { FLT_EQ, FLT_NE, FLT_LT, FLT_LE, FLT_GT, FLT_GE } flt_op;

typedef enum { FLT_LIT_NULL, FLT_LIT_BOOL, FLT_LIT_NUMBER, FLT_LIT_STRING } flt_lit_type;

typedef struct flt_lit {
    flt_lit_type type;
    bool b;
    double num;
    const char *str; /* unescaped bytes (arena), str_len of them */
    uint32_t str_len;
} flt_lit;

typedef struct flt_name {
    const char *s; /* unquoted bytes (arena) */
    uint32_t len;
} flt_name;

typedef struct flt_node flt_node;
struct flt_node {
    flt_kind kind;
    flt_op op;       /* FLT_CMP */
    flt_name *names; /* the dotted path, n_names >= 1 (predicates) */
    uint32_t n_names;
    uint32_t n_lits; /* CMP / CONTAINS 1, BETWEEN 2, IN / NOT IN >= 1 */
    flt_lit *lits;
    flt_node *kids; /* AND / OR: first child (>= 2 children); NOT: the child */
    flt_node *next; /* next sibling under an AND / OR */
};

/* A chained-block bump allocator: the whole tree is freed in one go. */
typedef struct flt_block flt_block;
typedef struct flt_arena {
    flt_block *head;
} flt_arena;

void *flt_arena_alloc(flt_arena *a, size_t n);
void flt_arena_free(flt_arena *a);

struct flt_expr {
    flt_node *root;
    flt_arena arena;
};

/* ---- lexer (lex.c) ---- */

typedef enum {
    TOK_EOF,
    TOK_ERROR,  /* lexer error: lex->err_msg, at tok.start */
    TOK_NAME,   /* bare identifier that is not a keyword */
    TOK_QNAME,  /* "double quoted" name */
    TOK_STRING, /* 'single quoted' */
    TOK_NUMBER,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_DOT,
    TOK_OP,  /* tok.op */
    TOK_AND, /* keywords, case-insensitive */
    TOK_OR,
    TOK_NOT,
    TOK_IN,
    TOK_IS,
    TOK_NULL,
    TOK_CONTAINS,
    TOK_BETWEEN,
    TOK_TRUE,
    TOK_FALSE,
} flt_tok_type;

typedef struct flt_tok {
    flt_tok_type type;
    size_t start, end; /* byte offsets into the filter */
    flt_op op;
    double num;
    const char *str; /* NAME / QNAME / STRING: unescaped bytes (arena) */
    uint32_t str_len;
} flt_tok;

typedef struct flt_lexer {
    const char *s;
    size_t len, pos;
    flt_arena *arena;
    const char *err_msg; /* static text for TOK_ERROR */
    bool oom;
} flt_lexer;

void flt_lex_init(flt_lexer *lx, const char *s, size_t len, flt_arena *arena);
/* The next token; TOK_ERROR (err_msg set, or oom) stops the parse. */
flt_tok flt_lex_next(flt_lexer *lx);
/* Keyword text for messages ("AND"), or NULL for non-keywords. */
const char *flt_tok_keyword(flt_tok_type t);
/* 1-based column in characters (UTF-8 code points) of byte offset off. */
size_t flt_column(const char *s, size_t off);

#endif
