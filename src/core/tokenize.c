/*
 * tokenize.c - UTF-8 decoding, Unicode classification and lower-casing for BM25 (SPEC 7).
 *
 * How: one pass over the bytes. ASCII takes a table-free fast path ([0-9A-Za-z] are token bytes,
 * A-Z lower-cased by arithmetic). A lead byte >= 0x80 starts a strict UTF-8 decode (RFC 3629
 * table: C2..DF one continuation; E0 A0..BF; E1..EC and EE..EF 80..BF; ED 80..9F, so no
 * surrogates; F0 90..BF; F1..F3 80..BF; F4 80..8F, so nothing above U+10FFFF). A well-formed code
 * point is a token character when iswalnum_l says so in the C.UTF-8 locale, and is lower-cased by
 * towlower_l (glibc's wchar_t is UCS-4, so a code point is a wchar_t). A malformed byte is a
 * separator and decoding resumes at the next byte.
 *
 * Invariants:
 *  1. Every read is at an index < len: a multi-byte sequence is decoded only after checking that
 *     all of its bytes are present.
 *  2. A token handed to the callback is non-empty, well-formed UTF-8, and contains no separator.
 *  3. The scratch buffer always has room for one more encoded code point (4 bytes) before one is
 *     appended; if growing it fails, the token ends there.
 *
 * Concurrency: the locale_t is created once under pthread_once and is read-only afterwards; all
 * other state lives on the caller's stack, so any number of threads may tokenize at once.
 * If C.UTF-8 cannot be loaded (not expected on glibc >= 2.35, which builds it in), non-ASCII code
 * points count as letters and are not lower-cased, so text is still searchable.
 *
 * Callers: text_index.c (documents at add time, queries at search time), tests.
 */
#include "core/tokenize.h"

#include "util/alloc.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

#define TOK_STACK_BYTES 256

static pthread_once_t loc_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc = (locale_t)0;

static void loc_init(void)
{
    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !utf8_loc; i++)
        utf8_loc = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
}

/* Decodes one well-formed UTF-8 sequence at s (n >= 1 bytes left, s[0] >= 0x80). Returns its
 * length and sets *cp, or 0 if the bytes at s do not start a well-formed sequence. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t c;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1, c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2, c = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3, c = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < need + 1) return 0;
    for (size_t i = 1; i <= need; i++) {
        unsigned char x = s[i];
        if (i == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) return 0;
        c = c << 6 | (x & 0x3F);
    }
    *cp = c;
    return need + 1;
}

static size_t encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* The token being built: starts in a stack buffer, moves to the heap when it outgrows it. */
typedef struct tok_buf {
    char *p;
    size_t len, cap;
    bool is_heap, is_full; /* is_full: growing failed, the rest of this token is dropped */
} tok_buf;

static bool room(tok_buf *t)
{
    if (t->len + 4 <= t->cap) return true;
    if (t->is_full) return false;
    size_t ncap = t->cap * 2;
    char *np = t->is_heap ? vs_realloc(t->p, ncap) : vs_malloc(ncap);
    if (!np) {
        t->is_full = true;
        return false;
    }
    if (!t->is_heap) memcpy(np, t->p, t->len);
    t->p = np, t->cap = ncap, t->is_heap = true;
    return true;
}

static size_t flush(tok_buf *t, vs_token_fn fn, void *ctx)
{
    if (!t->len) return 0;
    fn(ctx, t->p, t->len);
    t->len = 0;
    t->is_full = false;
    return 1;
}

size_t vs_tokenize(const char *s, size_t len, vs_token_fn fn, void *ctx)
{
    pthread_once(&loc_once, loc_init);
    char stack[TOK_STACK_BYTES];
    tok_buf t = {stack, 0, sizeof stack, false, false};
    const unsigned char *u = (const unsigned char *)s;
    size_t n_tok = 0, i = 0;
    while (i < len) {
        unsigned char b = u[i];
        if (b < 0x80) {
            i++;
            if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + ('a' - 'A'));
            if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) {
                if (room(&t)) t.p[t.len++] = (char)b;
            } else {
                n_tok += flush(&t, fn, ctx);
            }
            continue;
        }
        uint32_t cp;
        size_t k = decode(u + i, len - i, &cp);
        if (!k) { /* malformed byte: a separator */
            i++;
            n_tok += flush(&t, fn, ctx);
            continue;
        }
        i += k;
        bool is_alnum = utf8_loc ? iswalnum_l((wint_t)cp, utf8_loc) != 0 : true;
        if (!is_alnum) {
            n_tok += flush(&t, fn, ctx);
            continue;
        }
        uint32_t lc = utf8_loc ? (uint32_t)towlower_l((wint_t)cp, utf8_loc) : cp;
        if (lc > 0x10FFFF || (lc >= 0xD800 && lc <= 0xDFFF))
            lc = cp; /* never emit ill-formed UTF-8 */
        if (room(&t)) t.len += encode(lc, t.p + t.len);
    }
    n_tok += flush(&t, fn, ctx);
    if (t.is_heap) vs_free(t.p);
    return n_tok;
}
