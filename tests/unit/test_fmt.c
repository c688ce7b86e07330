/*
 * test_fmt.c - unit tests of src/util/fmt.c: exact outputs for hand-picked values (0.1f, 1e-7f,
 * 123456.789f, 0.3, 2.5, 10, 1e300, the plain/exponent boundaries 1e-6, 1e-7, 1e20, 1e21,
 * denormals, FLT_MAX/DBL_MAX, -0 -> "-0", NaN/Inf -> "null"); then a million random floats (random
 * bit patterns and values in [-1, 1]) and 200,000 random doubles: each output must be JSON number
 * syntax (plus a strided sweep over all float bit patterns), read back to exactly the same bits,
 * and have as few significant digits as the smallest
 * precision found by a linear scan (which proves bisection finds the shortest form). The random
 * parts print their seed; rerun with FMT_SEED=<n>.
 */
#include "util/fmt.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_test.h"

#define ASSERT(c) VS_REQUIRE(c)

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
    if (*s == '-') s++;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9') s++;
    } else {
        return false;
    }
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == '\0';
}

/* Significant digits of a decimal text: mantissa digits without leading and trailing zeros. */
static int sig_digits(const char *s)
{
    char d[64];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') d[n++] = *s;
    int a = 0;
    while (a < n && d[a] == '0') a++;
    while (n > a && d[n - 1] == '0') n--;
    return n - a;
}

static void expect_f(float f, const char *want, int line)
{
    char buf[VS_FMT_BUF];
    memset(buf, 'X', sizeof buf);
    int n = vs_fmt_float(buf, f);
    g_checks++;
    if (strcmp(buf, want) != 0 || n != (int)strlen(buf)) {
        fprintf(stderr, "%s:%d: FAIL: vs_fmt_float(%.9g) = \"%s\" (len %d), expected \"%s\"\n",
                __FILE__, line, f, buf, n, want);
        exit(1);
    }
}

static void expect_d(double d, const char *want, int line)
{
    char buf[VS_FMT_BUF];
    memset(buf, 'X', sizeof buf);
    int n = vs_fmt_double(buf, d);
    g_checks++;
    if (strcmp(buf, want) != 0 || n != (int)strlen(buf)) {
        fprintf(stderr, "%s:%d: FAIL: vs_fmt_double(%.17g) = \"%s\" (len %d), expected \"%s\"\n",
                __FILE__, line, d, buf, n, want);
        exit(1);
    }
}

#define EXPECT_F(f, s) expect_f((f), (s), __LINE__)
#define EXPECT_D(d, s) expect_d((d), (s), __LINE__)

static void test_fixed_values(void)
{
    EXPECT_F(0.1f, "0.1");
    EXPECT_F(1e-7f, "1e-7");
    EXPECT_F(123456.789f, "123456.79");
    EXPECT_F(2.5f, "2.5");
    EXPECT_F(-2.5f, "-2.5");
    EXPECT_F(10.0f, "10");
    EXPECT_F(1.0f, "1");
    EXPECT_F(1e6f, "1000000");
    EXPECT_F(16777216.0f, "16777216");
    EXPECT_F(0.3f, "0.3");
    EXPECT_F(1.0f / 3.0f, "0.33333334");
    EXPECT_F(1e-6f, "0.000001");
    EXPECT_F(1.5e-6f, "0.0000015");
    EXPECT_F(1e20f, "100000000000000000000");
    EXPECT_F(1e21f, "1e+21");
    EXPECT_F(FLT_MAX, "3.4028235e+38");
    EXPECT_F(-FLT_MAX, "-3.4028235e+38");
    EXPECT_F(FLT_MIN, "1.1754944e-38");
    EXPECT_F(FLT_TRUE_MIN, "1e-45"); /* smallest denormal, 1.401...e-45 */
    EXPECT_F(2 * FLT_TRUE_MIN, "3e-45");
    EXPECT_F(FLT_MIN / 2, "5.877472e-39");
    EXPECT_F(0.0f, "0");
    EXPECT_F(-0.0f, "-0"); /* the sign is kept: "-0" is JSON and reads back as -0.0 */
    EXPECT_F(NAN, "null");
    EXPECT_F(INFINITY, "null");
    EXPECT_F(-INFINITY, "null");
    EXPECT_F(0.15625f, "0.15625");
    EXPECT_F(100.0f, "100");
    EXPECT_F(123.0f, "123");
    /* "33561890" lies exactly halfway between two floats (spacing 4) and reads back to the even
     * one: the check must not trust a double rounded twice there */
    EXPECT_F(33561888.0f, "33561890");
    EXPECT_F(33561892.0f, "33561892");
    EXPECT_F(33573852.0f, "33573852");

    EXPECT_D(0.3, "0.3");
    EXPECT_D(0.1, "0.1");
    EXPECT_D(0.1 + 0.2, "0.30000000000000004");
    EXPECT_D(2.5, "2.5");
    EXPECT_D(10, "10");
    EXPECT_D(-10, "-10");
    EXPECT_D(1e300, "1e+300");
    EXPECT_D(-1.5e300, "-1.5e+300");
    EXPECT_D(1e-300, "1e-300");
    EXPECT_D(1.0 / 3.0, "0.3333333333333333");
    EXPECT_D(9007199254740993.0, "9007199254740992"); /* 2^53 + 1 is not a double */
    EXPECT_D(123456789012345680000.0, "123456789012345680000");
    EXPECT_D(1e21, "1e+21");
    EXPECT_D(1e-7, "1e-7");
    EXPECT_D(1.2345e-7, "1.2345e-7");
    EXPECT_D(0.000001, "0.000001");
    EXPECT_D(-0.0000012345678901234567, "-0.0000012345678901234567");
    EXPECT_D(DBL_MAX, "1.7976931348623157e+308");
    EXPECT_D(DBL_MIN, "2.2250738585072014e-308");
    EXPECT_D(DBL_TRUE_MIN, "5e-324");
    EXPECT_D(-DBL_TRUE_MIN, "-5e-324");
    EXPECT_D(0.0, "0");
    EXPECT_D(-0.0, "-0");
    EXPECT_D(NAN, "null");
    EXPECT_D(-INFINITY, "null");
    EXPECT_D(104857600, "104857600");
    EXPECT_D(0.95, "0.95");
    EXPECT_D((double)0.1f, "0.10000000149011612");
}

/* ---- random ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Fewest significant digits p for which printf's correctly rounded p-digit form reads back. */
static int linear_shortest_f(float f)
{
    char t[64];
    for (int p = 1; p <= 9; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, (double)f);
        if (strtof(t, NULL) == f) return sig_digits(t);
    }
    return 99;
}

static int linear_shortest_d(double d)
{
    char t[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, d);
        if (strtod(t, NULL) == d) return sig_digits(t);
    }
    return 99;
}

static void check_float(float f)
{
    char buf[VS_FMT_BUF];
    int n = vs_fmt_float(buf, f);
    float back = strtof(buf, NULL);
    uint32_t a, b;
    memcpy(&a, &f, 4);
    memcpy(&b, &back, 4);
    if (n != (int)strlen(buf) || n > 25 || !is_json_number(buf) || a != b ||
        sig_digits(buf) != linear_shortest_f(f)) {
        fprintf(stderr,
                "FAIL: float %.9g (bits %08x) -> \"%s\" (len %d, %d digits, shortest %d) reads "
                "back %.9g\n",
                f, a, buf, n, sig_digits(buf), linear_shortest_f(f), back);
        exit(1);
    }
    g_checks++;
}

static void check_double(double d)
{
    char buf[VS_FMT_BUF];
    int n = vs_fmt_double(buf, d);
    double back = strtod(buf, NULL);
    uint64_t a, b;
    memcpy(&a, &d, 8);
    memcpy(&b, &back, 8);
    if (n != (int)strlen(buf) || n > 25 || !is_json_number(buf) || a != b ||
        sig_digits(buf) != linear_shortest_d(d)) {
        fprintf(stderr,
                "FAIL: double %.17g (bits %016llx) -> \"%s\" (len %d, %d digits, shortest %d)\n", d,
                (unsigned long long)a, buf, n, sig_digits(buf), linear_shortest_d(d));
        exit(1);
    }
    g_checks++;
}

static void test_random(void)
{
    const char *env = getenv("FMT_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 42;
    printf("random floats/doubles: seed %llu (FMT_SEED=%llu to rerun)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    long n_float = 0;
    while (n_float < 1000000) {
        float f;
        if (n_float % 2) {
            uint32_t bits = (uint32_t)rnd();
            memcpy(&f, &bits, 4);
            if (!isfinite(f)) continue;
        } else {
            f = (float)((double)(rnd() >> 11) / 9007199254740992.0 * 2.0 - 1.0); /* [-1, 1) */
        }
        check_float(f);
        n_float++;
    }
    for (int i = 0; i < 200000; i++) {
        double d;
        if (i % 2) {
            uint64_t bits = rnd();
            memcpy(&d, &bits, 8);
            if (!isfinite(d)) continue;
        } else {
            d = (double)(rnd() >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        }
        check_double(d);
    }
    /* a sweep over every 16411th bit pattern: all binades, denormals included */
    for (uint64_t bits = 1; bits < 0x7F800000u; bits += 16411) {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, 4);
        check_float(f);
        check_float(-f);
    }
    /* every power of ten and its neighbours, denormals included */
    for (int e = -45; e <= 38; e++) {
        char t[16];
        snprintf(t, sizeof t, "1e%d", e);
        float f = strtof(t, NULL);
        check_float(f);
        check_float(nextafterf(f, 0));
        check_float(nextafterf(f, INFINITY));
    }
    for (int e = -323; e <= 308; e++) {
        char t[16];
        snprintf(t, sizeof t, "1e%d", e);
        double d = strtod(t, NULL);
        check_double(d);
        check_double(nextafter(d, 0));
        check_double(nextafter(d, INFINITY));
    }
}

int main(void)
{
    test_fixed_values();
    test_random();
    printf("test_fmt: %ld checks passed\n", (long)g_checks);
    return 0;
}
