/*
 * lex.c - the tokenizer of the filter language (SPEC 6 "Lexing").
 *
 * How: a hand-written scanner over the filter bytes, one token per call, no look-back. Tokens
 * carry their byte span so the parser can report the column of what it rejects and check that a
 * dotted path has no spaces around its '.' (spans must touch).
 *   - whitespace is exactly space, tab, CR, LF;
 *   - a bare word [A-Za-z_][A-Za-z0-9_]* is a keyword when it matches one case-insensitively
 *     (AND OR NOT IN IS NULL CONTAINS BETWEEN TRUE FALSE), else a name;
 *   - "..." is a quoted name (a doubled "" inside stands for one "; empty is an error);
 *   - '...' is a string (a doubled '' stands for one '; a backslash is an ordinary byte);
 *   - numbers follow JSON: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, must not be glued to
 *     a following letter, digit, '_' or '.', and must be finite as doubles (strtod);
 *   - operators = != <> < <= > >= and ( ) , . ; anything else is an error.
 *
 * Invariants:
 *  1. A token's unescaped text lives in the arena of the expression being built, so the tree
 *     borrows nothing from the input.
 *  2. On TOK_ERROR, tok.start is the byte offset the message refers to.
 *
 * Concurrency: a lexer belongs to one parse on one thread. Callers: parse.c.
 */
#include "core/filter/filter_int.h"

#include <stdlib.h>
#include <string.h>

void flt_lex_init(flt_lexer *lx, const char *s, size_t len, flt_arena *arena)
{
    memset(lx, 0, sizeof *lx);
    lx->s = s;
    lx->len = len;
    lx->arena = arena;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_name_char(char c)
{
    return is_name_start(c) || is_digit(c);
}

static const struct {
    const char *word;
    flt_tok_type type;
} keywords[] = {
    {"AND", TOK_AND},   {"OR", TOK_OR},       {"NOT", TOK_NOT},           {"IN", TOK_IN},
    {"IS", TOK_IS},     {"NULL", TOK_NULL},   {"CONTAINS", TOK_CONTAINS}, {"BETWEEN", TOK_BETWEEN},
    {"TRUE", TOK_TRUE}, {"FALSE", TOK_FALSE},
};

const char *flt_tok_keyword(flt_tok_type t)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (keywords[i].type == t) return keywords[i].word;
    return NULL;
}

size_t flt_column(const char *s, size_t off)
{
    size_t col = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) col++;
    return col;
}

static flt_tok error(flt_lexer *lx, size_t at, const char *msg)
{
    lx->err_msg = msg;
    flt_tok t = {.type = TOK_ERROR, .start = at, .end = at};
    return t;
}

/* Copies a quoted body [from, to) into the arena, turning each doubled quote q into one. */
static bool unquote(flt_lexer *lx, size_t from, size_t to, char q, flt_tok *t)
{
    char *d = flt_arena_alloc(lx->arena, to - from + 1);
    if (!d) {
        lx->oom = true;
        return false;
    }
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        d[n++] = lx->s[i];
        if (lx->s[i] == q) i++; /* the second quote of a pair */
    }
    d[n] = 0;
    t->str = d;
    t->str_len = (uint32_t)n;
    return true;
}

/* Scans a quoted run starting at the opening quote; *close_out = offset of the closing quote. */
static bool scan_quoted(flt_lexer *lx, size_t open, char q, size_t *close_out)
{
    size_t i = open + 1;
    while (i < lx->len) {
        if (lx->s[i] == q) {
            if (i + 1 < lx->len && lx->s[i + 1] == q) {
                i += 2;
                continue;
            }
            *close_out = i;
            return true;
        }
        i++;
    }
    return false;
}

static flt_tok number(flt_lexer *lx)
{
    static const char bad[] = "expected a number in JSON form (e.g. 5, -0.5, 2.5e3)";
    const char *s = lx->s;
    size_t start = lx->pos, i = start, n = lx->len;
    if (s[i] == '-') i++;
    if (i >= n || !is_digit(s[i])) return error(lx, start, bad);
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i]))
            return error(lx, start, "expected a number without leading zeros");
    } else {
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) return error(lx, start, bad);
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) return error(lx, start, bad);
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (is_name_char(s[i]) || s[i] == '.'))
        return error(lx, i, "expected a space, an operator or a parenthesis after the number");
    char *tmp = flt_arena_alloc(lx->arena, i - start + 1);
    if (!tmp) {
        lx->oom = true;
        return error(lx, start, "out of memory");
    }
    memcpy(tmp, s + start, i - start);
    tmp[i - start] = 0;
    double d = strtod(tmp, NULL);
    if (d - d != 0) /* inf (or nan): outside the finite doubles */
        return error(lx, start, "expected a number within the finite doubles (|x| < 1.8e308)");
    flt_tok t = {.type = TOK_NUMBER, .start = start, .end = i, .num = d};
    lx->pos = i;
    return t;
}

flt_tok flt_lex_next(flt_lexer *lx)
{
    const char *s = lx->s;
    while (lx->pos < lx->len && is_space(s[lx->pos])) lx->pos++;
    size_t start = lx->pos;
    flt_tok t = {.type = TOK_EOF, .start = start, .end = start};
    if (start >= lx->len) return t;
    char c = s[start];
    if (is_name_start(c)) {
        size_t i = start;
        while (i < lx->len && is_name_char(s[i])) i++;
        t.end = i;
        lx->pos = i;
        size_t wl = i - start;
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
            if (strlen(keywords[k].word) == wl &&
                strncasecmp(keywords[k].word, s + start, wl) == 0) {
                t.type = keywords[k].type;
                return t;
            }
        }
        t.type = TOK_NAME;
        t.str = s + start; /* re-pointed into the arena below */
        if (!unquote(lx, start, i, 0, &t)) return error(lx, start, "out of memory");
        return t;
    }
    if (c == '-' || is_digit(c)) return number(lx);
    if (c == '\'' || c == '"') {
        size_t close;
        if (!scan_quoted(lx, start, c, &close))
            return error(
                lx, start,
                c == '\''
                    ? "expected a closing ' for the string (a quote inside is doubled: 'it''s')"
                    : "expected a closing \" for the quoted name");
        if (c == '"' && close == start + 1)
            return error(lx, start, "expected a non-empty quoted name");
        t.type = c == '\'' ? TOK_STRING : TOK_QNAME;
        t.end = close + 1;
        lx->pos = close + 1;
        if (!unquote(lx, start + 1, close, c, &t)) return error(lx, start, "out of memory");
        return t;
    }
    lx->pos = start + 1;
    t.end = start + 1;
    char d = start + 1 < lx->len ? s[start + 1] : 0;
    switch (c) {
    case '(':
        t.type = TOK_LPAREN;
        return t;
    case ')':
        t.type = TOK_RPAREN;
        return t;
    case ',':
        t.type = TOK_COMMA;
        return t;
    case '.':
        t.type = TOK_DOT;
        return t;
    case '=':
        t.type = TOK_OP, t.op = FLT_EQ;
        return t;
    case '!':
        if (d == '=') {
            t.type = TOK_OP, t.op = FLT_NE, t.end = lx->pos = start + 2;
            return t;
        }
        break;
    case '<':
        t.type = TOK_OP, t.op = FLT_LT;
        if (d == '=') t.op = FLT_LE, t.end = lx->pos = start + 2;
        if (d == '>') t.op = FLT_NE, t.end = lx->pos = start + 2;
        return t;
    case '>':
        t.type = TOK_OP, t.op = FLT_GT;
        if (d == '=') t.op = FLT_GE, t.end = lx->pos = start + 2;
        return t;
    default:
        break;
    }
    lx->pos = start;
    return error(lx, start, NULL); /* the parser names the unexpected character */
}
