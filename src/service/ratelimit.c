/*
 * ratelimit.c - token bucket behind `max_requests_per_second` (rules in ratelimit.h).
 *
 * How it works: the bucket stores the token count as of last_us. A take first refills
 * (now_us - last_us) * rate / 1e6 tokens (elapsed time multiplied first, so whole-token steps
 * such as 100 ms at 10/s are exact in binary floating point), caps at burst(rate), and then
 * takes one token if at least 1 - BUCKET_EPSILON is there. The epsilon absorbs the rounding
 * error that many small refills accumulate, so a client pacing itself exactly at the rate is
 * never refused for being 1e-12 tokens short.
 *
 * Invariants (under mu, once started):
 *   1. 0 <= tokens <= burst(rate of the latest call).
 *   2. last_us never decreases.
 *
 * Concurrency: mu guards the whole state; it is a leaf lock held for a few arithmetic steps.
 *
 * Callers: the service layer's admission step (one bucket per namespace).
 */
#include "service/ratelimit.h"

#include <math.h>

#define BUCKET_EPSILON 1e-9

/* One second of rate, but at least one whole token so rates below 1/s still admit. */
static double burst(double rate)
{
    return rate < 1.0 ? 1.0 : rate;
}

void bucket_init(vs_bucket *b)
{
    pthread_mutex_init(&b->mu, NULL);
    b->tokens = 0;
    b->last_us = 0;
    b->started = false;
}

void bucket_destroy(vs_bucket *b)
{
    pthread_mutex_destroy(&b->mu);
}

bool bucket_take(vs_bucket *b, double rate, int64_t now_us)
{
    if (!(rate > 0)) return false; /* 0, negative, NaN: nothing is admitted, nothing changes */
    bool ok = false;
    pthread_mutex_lock(&b->mu);
    double cap = burst(rate);
    if (!b->started) {
        b->tokens = cap;
        b->last_us = now_us;
        b->started = true;
    } else if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * rate / 1e6;
        b->last_us = now_us;
    }
    if (b->tokens > cap) b->tokens = cap;
    if (b->tokens >= 1.0 - BUCKET_EPSILON) {
        b->tokens -= 1.0;
        if (b->tokens < 0) b->tokens = 0;
        ok = true;
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}
