/*
 * fmt.c - shortest round-trip decimal formatting (see fmt.h for the output rules).
 *
 * How: printf's "%.*e" gives the correctly rounded decimal of the value (glibc prints exact
 * binary values correctly rounded); we call it once for the max precision (9 digits always
 * suffice for a float, 17 for a double) and derive each shorter p-digit rounding from those
 * digits (round_to: exact except on a midpoint tail, where printf is asked again). A candidate is
 * checked for reading back to the same value (reads_back: Clinger's exact fast path in double
 * arithmetic when it applies, else strtof_l / strtod_l on the laid-out text in the "C" locale);
 * p is the smallest precision that reads back, searched by bisection over [1, 9] / [1, 17]
 * (one printf and 4-5 cheap checks instead of up to 17 printf + strto* rounds).
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
 *  2. The returned text is the layout of exactly the digits verified to read back.
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
#include <stdint.h>
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

/* The p significant digits of x > 0, correctly rounded by printf, into dig (trailing zeros
 * removed) and the decimal exponent of the first digit. Returns the digit count (>= 1). */
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

/* The p-digit rounding of x from its max_p-digit form full[] (exponent e), without printf.
 * Rounding a rounded value twice differs from rounding once only when the first rounding lands
 * exactly on a p-digit midpoint (the tail is 5 followed by zeros): then printf redoes it from x.
 * (A midpoint strictly between x and full[] would be a closer max_p-digit value, so it cannot
 * exist.) Returns the digit count like digits(). */
static int round_to(double x, const char *full, int max_p, int e, int p, char *dig, int *exp10)
{
    if (p >= max_p) {
        memcpy(dig, full, (size_t)max_p);
        *exp10 = e;
        int nd = max_p;
        while (nd > 1 && dig[nd - 1] == '0') nd--;
        return nd;
    }
    bool is_tie = full[p] == '5';
    for (int i = p + 1; is_tie && i < max_p; i++) is_tie = full[i] == '0';
    if (is_tie) return digits(x, p, dig, exp10);
    memcpy(dig, full, (size_t)p);
    *exp10 = e;
    if (full[p] >= '5') { /* above the midpoint: a tie went to printf */
        int i = p - 1;
        while (i >= 0 && dig[i] == '9') dig[i--] = '0';
        if (i >= 0) {
            dig[i]++;
        } else { /* 99..9 rounds up to 10..0 */
            dig[0] = '1';
            *exp10 = e + 1;
        }
    }
    int nd = p;
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

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Does the decimal dig[0..nd) x 10^(e - nd + 1) read back to a (> 0)? Clinger's fast path when
 * the digits fit 53 bits and the power of ten is exact (one correctly rounded operation, so the
 * double is exactly what strtod returns); for a float that double is rounded once more, which
 * can only go wrong when it lands exactly on a float midpoint: then, and outside the fast path,
 * the text is read back by strtof_l / strtod_l. */
static bool reads_back(const char *dig, int nd, int e, bool is_float, double a)
{
    uint64_t m = 0;
    for (int i = 0; i < nd; i++) m = m * 10 + (uint64_t)(dig[i] - '0');
    int k = e - (nd - 1);
    if (m < (1ull << 53) && k >= -22 && k <= 22) {
        double r = k >= 0 ? (double)m * pow10_exact[k] : (double)m / pow10_exact[-k];
        if (!is_float) return r == a;
        float g = (float)r;
        if ((double)g != r) {
            float g2 = nextafterf(g, r > (double)g ? INFINITY : -INFINITY);
            if (isfinite(g2) && r != ((double)g + (double)g2) / 2) return g == (float)a;
        } else {
            return g == (float)a;
        }
    }
    char cand[VS_FMT_BUF];
    layout(cand, false, dig, nd, e);
    return is_float ? read_float(cand) == (float)a : read_double(cand) == a;
}

/* Bisection over p in [1, max_p] for the smallest precision whose digits read back to x;
 * is_float picks the reader. Writes that text to buf. */
static int shortest(char *buf, double x, bool is_float, int max_p)
{
    pthread_once(&c_once, c_init);
    double a = fabs(x);
    char full[17], dig[17], best[17];
    int e_full, n_full = digits(a, max_p, full, &e_full);
    memset(full + n_full, '0', (size_t)(max_p - n_full)); /* round_to wants all max_p digits */
    memcpy(best, full, (size_t)n_full);
    int lo = 1, hi = max_p, n_best = n_full, e_best = e_full; /* max_p digits always read back */
    while (lo <= hi) {
        int mid = (lo + hi) / 2, e;
        int nd = round_to(a, full, max_p, e_full, mid, dig, &e);
        if (reads_back(dig, nd, e, is_float, a)) {
            memcpy(best, dig, (size_t)nd);
            n_best = nd, e_best = e;
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    return layout(buf, x < 0, best, n_best, e_best);
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
