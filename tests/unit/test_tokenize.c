/*
 * test_tokenize.c - unit tests of src/core/tokenize.c: ASCII splitting and lower-casing, digits,
 * Unicode lower-casing (Latin, German sharp s, Greek, Cyrillic, fullwidth, dotted capital I),
 * letters of non-Latin scripts, emoji and punctuation as separators, every kind of malformed UTF-8
 * (stray continuation, overlong, surrogate, above U+10FFFF, truncated at the end), long tokens that
 * outgrow the stack buffer (also when lower-casing lengthens them), the token count, every Unicode
 * scalar value alone (a token iff iswalnum, equal to its towlower re-encoded), and random
 * bytes: every emitted token must be non-empty, well-formed UTF-8 made of letters and digits that
 * are already lower-case, and the input is read from an exactly-sized heap copy so ASan catches
 * any over-read. The random part prints its seed; rerun with TOKENIZE_SEED=<n>.
 */
#include "core/tokenize.h"

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "vs_test.h"

#define ASSERT(c) VS_REQUIRE(c)

/* Tokens joined by '|'. */
typedef struct joined {
    char s[8192];
    size_t len;
    size_t n_calls;
} joined;

static void on_tok(void *ctx, const char *tok, size_t len)
{
    joined *j = ctx;
    j->n_calls++;
    if (j->len && j->len < sizeof j->s - 1) j->s[j->len++] = '|';
    for (size_t i = 0; i < len && j->len < sizeof j->s - 1; i++) j->s[j->len++] = tok[i];
    j->s[j->len] = '\0';
}

static void expect_tokens(const char *in, size_t in_len, const char *want, int line)
{
    g_checks++;
    joined j = {.len = 0};
    j.s[0] = '\0';
    char *copy = malloc(in_len ? in_len : 1); /* exactly sized: ASan sees any over-read */
    memcpy(copy, in, in_len);
    size_t n = vs_tokenize(copy, in_len, on_tok, &j);
    free(copy);
    if (strcmp(j.s, want) != 0 || n != j.n_calls) {
        fprintf(stderr, "%s:%d: FAIL: tokens \"%s\" (count %zu, %zu calls), expected \"%s\"\n",
                __FILE__, line, j.s, n, j.n_calls, want);
        exit(1);
    }
}

#define TOKS(in, want)      expect_tokens((in), strlen(in), (want), __LINE__)
#define TOKS_N(in, n, want) expect_tokens((in), (n), (want), __LINE__)

static void test_ascii(void)
{
    TOKS("", "");
    TOKS("   ,,, ;; ", "");
    TOKS("Hello, World!", "hello|world");
    TOKS("apple apple banana", "apple|apple|banana");
    TOKS("The QUICK brown_fox-eats an\tapple\nover", "the|quick|brown|fox|eats|an|apple|over");
    TOKS("abc123 4,5 x9 2020-01-02 v1.2.3", "abc123|4|5|x9|2020|01|02|v1|2|3");
    TOKS("a", "a");
    TOKS("Z", "z");
    TOKS("@#$%^&*()[]{}<>/\\'\"`~", "");
    TOKS_N("nul\0inside", 10, "nul|inside");
}

static void test_unicode(void)
{
    TOKS("ÉCOLE Straße ΣΟΦΊΑ", "école|straße|σοφία");
    TOKS("über alles, ÜBER-all: über", "über|alles|über|all|über");
    TOKS("ÜBER", "über");
    TOKS("uber", "uber");
    TOKS("МОСКВА Москва", "москва|москва");
    TOKS("ＡＢＣ１２３", "ａｂｃ１２３");           /* fullwidth letters and digits */
    TOKS("İstanbul", "istanbul");                   /* glibc lower-cases U+0130 to plain i */
    TOKS("ȺȺ", "ⱥⱥ");                               /* 2-byte capital, 3-byte small letter */
    TOKS("中文 検索エンジン", "中文|検索エンジン"); /* letters of scripts without case */
    TOKS("٣٤ x", "٣٤|x");                           /* Arabic-Indic digits are digits */
    TOKS("emoji 🚀 rocket launch", "emoji|rocket|launch");
    TOKS("rocket🚀🚀rocket", "rocket|rocket");
    TOKS("a\xc2\xa0"
         "b",
         "a|b");                                              /* no-break space */
    TOKS("x\xe2\x80\x94y\xe2\x80\x9cz\xe2\x80\x9d", "x|y|z"); /* em dash, curly quotes */
    TOKS("cafe\xcc\x81", "cafe"); /* a combining mark is not a letter: it separates */
}

static void test_invalid_utf8(void)
{
    TOKS("broken \xff\xfe utf8 rocket", "broken|utf8|rocket");
    TOKS("ab\xff"
         "cd",
         "ab|cd");
    TOKS("ab\x80"
         "cd",
         "ab|cd"); /* stray continuation byte */
    TOKS("ab\xc0\xaf"
         "cd",
         "ab|cd"); /* overlong '/' */
    TOKS("ab\xe0\x80\xaf"
         "cd",
         "ab|cd"); /* overlong, 3 bytes */
    TOKS("ab\xf0\x80\x80\xaf"
         "cd",
         "ab|cd"); /* overlong, 4 bytes */
    TOKS("ab\xed\xa0\x80"
         "cd",
         "ab|cd"); /* UTF-16 surrogate D800 */
    TOKS("ab\xf4\x90\x80\x80"
         "cd",
         "ab|cd"); /* above U+10FFFF */
    TOKS("ab\xf5\x80\x80\x80"
         "cd",
         "ab|cd");
    TOKS("ab\xc3"
         "cd",
         "ab|cd");        /* lead byte followed by ASCII */
    TOKS("ab\xc3", "ab"); /* truncated at the end */
    TOKS("ab\xe2\x82", "ab");
    TOKS("ab\xf0\x9f\x9a", "ab");
    TOKS("\xc3\x89", "é"); /* the same bytes complete are a letter */
    TOKS("\xe2\x82", "");
    TOKS("\xc3\xc3\x89t\xc3\xa9", "été"); /* bad lead then a good sequence */
}

static void test_long_tokens(void)
{
    static char in[5000], want[5000];
    memset(in, 'A', 1000);
    memset(want, 'a', 1000);
    in[1000] = want[1000] = '\0';
    TOKS(in, want);
    /* 700 x U+023A (2 bytes) lower-cases to 700 x U+2C65 (3 bytes): 2100 bytes out of 1400 in */
    size_t n = 0, m = 0;
    for (int i = 0; i < 700; i++) {
        memcpy(in + n, "\xc8\xba", 2), n += 2;
        memcpy(want + m, "\xe2\xb1\xa5", 3), m += 3;
    }
    in[n] = want[m] = '\0';
    TOKS(in, want);
    memcpy(in + n, " x", 3);
    memcpy(want + m, "|x", 3);
    TOKS(in, want);
}

/* ---- every code point ---- */

static size_t enc(uint32_t c, char *o)
{
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3F)), 2;
    if (c < 0x10000)
        return o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 0x3F)),
               o[2] = (char)(0x80 | (c & 0x3F)), 3;
    o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (char)(0x80 | (c >> 6 & 0x3F)), o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

typedef struct one_tok {
    char s[8];
    size_t len, n;
} one_tok;

static void on_one(void *ctx, const char *tok, size_t len)
{
    one_tok *o = ctx;
    if (len <= sizeof o->s) memcpy(o->s, tok, len);
    o->len = len;
    o->n++;
}

/* Each scalar value alone: a token (its towlower, re-encoded) iff iswalnum; 1.1 M decodes that must
 * agree with an independent encoder, so the decoder's range table is checked exhaustively. */
static void test_every_code_point(void)
{
    locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    ASSERT(loc != (locale_t)0);
    size_t n_alnum = 0;
    for (uint32_t c = 1; c <= 0x10FFFF; c++) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        char in[4], want[4];
        size_t n = enc(c, in);
        one_tok o = {.n = 0};
        vs_tokenize(in, n, on_one, &o);
        if (iswalnum_l((wint_t)c, loc)) {
            n_alnum++;
            size_t wn = enc((uint32_t)towlower_l((wint_t)c, loc), want);
            if (o.n != 1 || o.len != wn || memcmp(o.s, want, wn) != 0) {
                fprintf(stderr,
                        "FAIL: U+%04X: %zu tokens, len %zu, expected its lower case (%zu bytes)\n",
                        c, o.n, o.len, wn);
                exit(1);
            }
        } else if (o.n != 0) {
            fprintf(stderr, "FAIL: U+%04X is not a letter or digit but made a token\n", c);
            exit(1);
        }
    }
    g_checks++;
    ASSERT(n_alnum > 100000);
    freelocale(loc);
}

/* ---- random bytes ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static locale_t g_loc;
static size_t g_rand_tokens;

/* Strict decode for the checker (independent of the tokenizer's own decoder). */
static size_t check_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) return *cp = s[0], 1;
    int need = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : s[0] >= 0xC0 ? 1 : -1;
    if (need < 0 || (size_t)need >= n) return 0;
    uint32_t c = s[0] & (0x3F >> need);
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    if (c < min_cp[need] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return (size_t)need + 1;
}

static void on_rand_tok(void *ctx, const char *tok, size_t len)
{
    (void)ctx;
    g_rand_tokens++;
    ASSERT(len > 0);
    const unsigned char *u = (const unsigned char *)tok;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = check_decode(u + i, len - i, &cp);
        ASSERT(k > 0);
        ASSERT(iswalnum_l((wint_t)cp, g_loc));
        ASSERT((uint32_t)towlower_l((wint_t)cp, g_loc) == cp); /* already lower-case */
        i += k;
    }
}

static void test_random_bytes(void)
{
    const char *env = getenv("TOKENIZE_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 20240611u;
    printf("random bytes: seed %llu (TOKENIZE_SEED=%llu to rerun)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 2654435761u + 1;
    g_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    ASSERT(g_loc != (locale_t)0);
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "9",
                                         " ",
                                         "\xc3\xa9",
                                         "\xc3",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x9a\x80",
                                         "\xed\xa0\x80",
                                         "\xce\xa3",
                                         "\x80",
                                         "\xff",
                                         "-",
                                         "\xe4\xb8\xad"};
    for (int round = 0; round < 20000; round++) {
        size_t n = rnd() % 300;
        unsigned char *b = malloc(n ? n : 1);
        for (size_t i = 0; i < n;) {
            if (rnd() % 2) {
                b[i++] = (unsigned char)rnd();
            } else {
                const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
                for (size_t k = 0; p[k] && i < n; k++) b[i++] = (unsigned char)p[k];
            }
        }
        vs_tokenize((const char *)b, n, on_rand_tok, NULL);
        free(b);
    }
    ASSERT(g_rand_tokens > 10000);
    freelocale(g_loc);
}

int main(void)
{
    test_ascii();
    test_unicode();
    test_invalid_utf8();
    test_long_tokens();
    test_every_code_point();
    test_random_bytes();
    printf("test_tokenize: %ld checks passed\n", (long)g_checks);
    return 0;
}
