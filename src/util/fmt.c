/*
 * fmt.c - shortest round-trip decimal formatting (see fmt.h for the output rules).
 *
 * How: for a precision p (significant digits), printf's "%.*e" gives the correctly rounded p-digit
 * decimal of the value (glibc prints exact binary values correctly rounded). We take its digits
 * and decimal exponent, lay them out per fmt.h, and read the text back with strtof_l / strtod_l in
 * the "C" locale; p is the smallest precision whose text reads back to the same value. 9 digits
 * always suffice for a float and 17 for a double, so p is searched by bisection over [1, 9] /
 * [1, 17] (4-5 printf + strto* rounds instead of up to 17).
 *
 * Why bisection finds the smallest p: if the nearest p-digit decimal D_p reads back to x, the
 * nearest (p+1)-digit decimal D_{p+1} is at least as close to x (D_p is itself a (p+1)-digit
 * decimal), so it lies inside the same rounding interval around x and reads back to x too:
 * "round-trips" is monotone in p. tests/unit/test_fmt.c checks this against a linear scan on a
 * million random floats.
 *
 * Invariants:
 *  1. The output is produced only from a digit string and an exponent that we lay out ourselves,
 *     so the printf locale's radix character never leaks into it, and it is always JSON syntax:
 *     -?(0|[1-9][0-9]*)(\.[0-9]+)?(e[+-][0-9]+)?
 *  2. The returned text is exactly the one verified by reading it back.
 *  3. Output length <= 25 characters (17 digits, sign, "0.00000" or "." + "e-324").
 *
 * Concurrency: the "C" locale_t used for reading back is created once (pthread_once) and then
 * only read; everything else is on the stack. Callers: the JSON codec (vectors, scores), the
 * metrics exposition, service messages (rates, limits).
 */
#include "util/fmt.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t c_once = PTHREAD_ONCE_INIT;
static locale_t c_loc = (locale_t)0;

static void c_init(void)
{
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static float read_float(const char *s)
{
    return c_loc ? strtof_l(s, NULL, c_loc) : strtof(s, NULL);
}
static double read_double(const char *s)
{
    return c_loc ? strtod_l(s, NULL, c_loc) : strtod(s, NULL);
}

/* The p significant digits of x > 0 (correctly rounded) into dig, trailing zeros removed, and the
 * decimal exponent of the first digit. Returns the digit count (>= 1). */
static int digits(double x, int p, char *dig, int *exp10)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
    int nd = 0;
    const char *q = tmp;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < 17) dig[nd++] = *q;
    *exp10 = *q == 'e' ? atoi(q + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    return nd;
}

/* Lays out sign, digits and exponent per fmt.h (plain for -7 < e < 21). Returns the length. */
static int layout(char *out, bool is_neg, const char *dig, int nd, int e)
{
    int n = 0;
    if (is_neg) out[n++] = '-';
    if (e >= 21 || e <= -7) {
        out[n++] = dig[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, dig + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        n += snprintf(out + n, 8, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e >= 0) {
        int int_digits = e + 1;
        for (int i = 0; i < int_digits; i++) out[n++] = i < nd ? dig[i] : '0';
        if (nd > int_digits) {
            out[n++] = '.';
            memcpy(out + n, dig + int_digits, (size_t)(nd - int_digits));
            n += nd - int_digits;
        }
    } else {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -e - 1; i++) out[n++] = '0';
        memcpy(out + n, dig, (size_t)nd);
        n += nd;
    }
    out[n] = '\0';
    return n;
}

static int special(char *buf, double x)
{
    if (x == 0) {
        int n = 0;
        if (signbit(x)) buf[n++] = '-';
        buf[n++] = '0';
        buf[n] = '\0';
        return n;
    }
    memcpy(buf, "null", 5); /* NaN, +-Inf: no JSON number form (fmt.h) */
    return 4;
}

/* Bisection over p in [1, max_p] for the smallest precision whose text reads back to x;
 * is_float picks the reader. Leaves that text in buf. */
static int shortest(char *buf, double x, bool is_float, int max_p)
{
    pthread_once(&c_once, c_init);
    bool is_neg = x < 0;
    double a = fabs(x);
    char dig[17], cand[VS_FMT_BUF];
    int lo = 1, hi = max_p, best_len = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, e;
        int nd = digits(a, mid, dig, &e);
        int len = layout(cand, is_neg, dig, nd, e);
        bool ok = is_float ? read_float(cand) == (float)x : read_double(cand) == x;
        if (ok) {
            memcpy(buf, cand, (size_t)len + 1);
            best_len = len;
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    if (best_len < 0) { /* unreachable: max_p digits always round-trip; keep the max_p text */
        int e, nd = digits(a, max_p, dig, &e);
        best_len = layout(buf, is_neg, dig, nd, e);
    }
    return best_len;
}

int vs_fmt_float(char *buf, float f)
{
    if (f == 0 || !isfinite(f)) return special(buf, f);
    return shortest(buf, f, true, 9);
}

int vs_fmt_double(char *buf, double d)
{
    if (d == 0 || !isfinite(d)) return special(buf, d);
    return shortest(buf, d, false, 17);
}
