/*
 * test_ratelimit.c - unit tests of src/service/ratelimit.c, with time driven by hand (no
 * sleeping): starts full, a refused take takes nothing, exact refills, the burst cap, rate
 * changes in both directions, rates below 1/s and <= 0, a clock going back, pacing exactly at
 * the rate over 10 s, and 8 threads taking at one instant admitting exactly `rate` requests.
 */
#include "service/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int g_checks;

static void check_int(long long a, long long b, const char *ea, const char *eb, int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "%s:%d: FAIL: %s == %s (%lld vs %lld)\n", __FILE__, line, ea, eb, a, b);
        exit(1);
    }
}

static void check_dbl(double a, double b, const char *ea, const char *eb, int line)
{
    g_checks++;
    if (a != b) {
        fprintf(stderr, "%s:%d: FAIL: %s == %s (%.17g vs %.17g)\n", __FILE__, line, ea, eb, a, b);
        exit(1);
    }
}

#define ASSERT_EQ(a, b)   check_int((long long)(a), (long long)(b), #a, #b, __LINE__)
#define ASSERT_EQ_D(a, b) check_dbl((a), (b), #a, #b, __LINE__)

/* How many of n takes at one instant are admitted. */
static int takes(vs_bucket *b, double rate, int64_t now, int n)
{
    int ok = 0;
    for (int i = 0; i < n; i++) ok += bucket_take(b, rate, now);
    return ok;
}

static void test_starts_full_and_refills(void)
{
    vs_bucket b;
    bucket_init(&b);
    const int64_t t0 = 1000000000;        /* any monotonic origin */
    ASSERT_EQ(takes(&b, 10, t0, 15), 10); /* burst = 10, starts full */
    ASSERT_EQ_D(b.tokens, 0);
    ASSERT_EQ(takes(&b, 10, t0, 5), 0); /* refused takes take nothing ... */
    ASSERT_EQ_D(b.tokens, 0);
    ASSERT_EQ(takes(&b, 10, t0 + 99999, 1), 0);  /* 0.99999 tokens */
    ASSERT_EQ(takes(&b, 10, t0 + 100000, 2), 1); /* ... so 100 ms later exactly one is back */
    ASSERT_EQ(takes(&b, 10, t0 + 350000, 5), 2); /* 2.5 tokens: two whole ones */
    ASSERT_EQ_D(b.tokens, 0.5);
    ASSERT_EQ(takes(&b, 10, t0 + 100 * 1000000LL, 20), 10); /* a long idle refills to the burst */
    bucket_destroy(&b);
}

static void test_fractional_rate(void)
{
    vs_bucket b;
    bucket_init(&b);
    ASSERT_EQ(takes(&b, 4, 0, 4), 4);
    ASSERT_EQ(takes(&b, 4, 125000, 1), 0); /* 0.5 token */
    ASSERT_EQ(takes(&b, 4, 250000, 2), 1); /* 1.0 */
    bucket_destroy(&b);

    bucket_init(&b);
    ASSERT_EQ(takes(&b, 2.5, 0, 5), 2); /* burst 2.5: two whole tokens, 0.5 left */
    ASSERT_EQ_D(b.tokens, 0.5);
    ASSERT_EQ(takes(&b, 2.5, 200000, 2), 1); /* +0.5 */
    bucket_destroy(&b);
}

static void test_rate_changes(void)
{
    vs_bucket b;
    bucket_init(&b);
    ASSERT_EQ(takes(&b, 10, 0, 1), 1); /* 9 left */
    /* lowered to 2/s: capped at the new burst at once */
    ASSERT_EQ(takes(&b, 2, 0, 5), 2);
    ASSERT_EQ(takes(&b, 2, 250000, 1), 0); /* 0.5 at the new rate */
    ASSERT_EQ(takes(&b, 2, 500000, 1), 1);
    /* raised to 100/s: the refill since the last call runs at the new rate */
    ASSERT_EQ(takes(&b, 100, 500000, 1), 0);
    ASSERT_EQ(takes(&b, 100, 510000, 2), 1);      /* 10 ms * 100/s = 1 */
    ASSERT_EQ(takes(&b, 100, 2000000, 200), 100); /* the new burst is 100 */
    bucket_destroy(&b);
}

static void test_low_and_zero_rates(void)
{
    vs_bucket b;
    bucket_init(&b);
    ASSERT_EQ(takes(&b, 0, 0, 3), 0);
    ASSERT_EQ(takes(&b, -5, 0, 3), 0);
    ASSERT_EQ(takes(&b, NAN, 0, 3), 0);
    ASSERT_EQ(b.started, 0); /* refused by rate <= 0: nothing changed */
    /* 0.5/s: one request every two seconds (the burst is one whole token) */
    ASSERT_EQ(takes(&b, 0.5, 0, 3), 1);
    ASSERT_EQ(takes(&b, 0.5, 1000000, 1), 0);
    ASSERT_EQ(takes(&b, 0.5, 2000000, 2), 1);
    ASSERT_EQ(takes(&b, 0.5, 60000000, 3), 1);
    ASSERT_EQ(takes(&b, 0, 120000000, 1), 0); /* set to 0 later: refused */
    bucket_destroy(&b);
}

static void test_clock_back(void)
{
    vs_bucket b;
    bucket_init(&b);
    ASSERT_EQ(takes(&b, 10, 5000000, 10), 10);
    ASSERT_EQ(takes(&b, 10, 4000000, 1), 0); /* one second back: no refill, no negative refill */
    ASSERT_EQ_D(b.tokens, 0);
    ASSERT_EQ(b.last_us, 5000000);
    ASSERT_EQ(takes(&b, 10, 5100000, 2), 1); /* measured from the latest time seen */
    bucket_destroy(&b);
}

static void test_paced(void)
{
    /* 7/s, polled every microsecond for 10 s after the burst: exactly 70 admitted, the last at
     * 10 s sharp. Ten million refills of 7e-6 tokens accumulate rounding error; without the
     * epsilon the 70th token is a hair short and only 69 pass. */
    vs_bucket b;
    bucket_init(&b);
    ASSERT_EQ(takes(&b, 7, 0, 7), 7);
    int ok = 0;
    int64_t last_ok = -1;
    for (int64_t t = 1; t <= 10000000; t++) {
        if (bucket_take(&b, 7, t)) {
            ok++;
            last_ok = t;
        }
    }
    ASSERT_EQ(ok, 70);
    ASSERT_EQ(last_ok, 10000000);
    bucket_destroy(&b);
}

#define N_THREADS 8

static vs_bucket g_b;

static void *hammer(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < 1000; i++) *ok += bucket_take(&g_b, 1000, 777);
    return NULL;
}

static void test_threads(void)
{
    bucket_init(&g_b);
    pthread_t th[N_THREADS];
    int ok[N_THREADS] = {0};
    for (int t = 0; t < N_THREADS; t++) pthread_create(&th[t], NULL, hammer, &ok[t]);
    int total = 0;
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        total += ok[t];
    }
    ASSERT_EQ(total, 1000); /* 8000 attempts at one instant: exactly the burst */
    bucket_destroy(&g_b);
}

int main(void)
{
    test_starts_full_and_refills();
    test_fractional_rate();
    test_rate_changes();
    test_low_and_zero_rates();
    test_clock_back();
    test_paced();
    test_threads();
    printf("test_ratelimit: %d checks passed\n", g_checks);
    return 0;
}
