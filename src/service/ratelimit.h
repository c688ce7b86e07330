/*
 * ratelimit.h - the per-namespace request-rate limiter: a token bucket (SPEC 8,
 * `max_requests_per_second`).
 *
 * Rules: the burst is one second of rate (`rate` tokens; at least 1 token when rate > 0, so a
 * rate below 1 request/second still admits one request every 1/rate seconds); a bucket starts
 * full at its first take; every admitted request takes one token and a refused one takes none;
 * tokens refill continuously at the rate given to the current call, so a rate change takes
 * effect at once and the tokens are capped at the new burst. A rate <= 0 (or NaN) refuses
 * everything. Time is passed in by the caller (monotonic microseconds), so tests drive it by
 * hand; a clock that goes back refills nothing.
 *
 * Ownership: the caller owns the vs_bucket (usually embedded in a namespace); bucket_init /
 * bucket_destroy pair. Thread-safety: bucket_take may be called concurrently; `mu` guards the
 * other three fields.
 */
#ifndef VS_SERVICE_RATELIMIT_H
#define VS_SERVICE_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct vs_bucket {
    pthread_mutex_t mu; /* guards the fields below */
    double tokens;      /* tokens available at last_us */
    int64_t last_us;    /* time of the latest refill (the largest now_us seen) */
    bool started;       /* false until the first take (then the bucket is filled) */
} vs_bucket;

void bucket_init(vs_bucket *b);
void bucket_destroy(vs_bucket *b);
/* Refills for the time since the last call at `rate` tokens/second, caps at the burst, then
 * takes one token if a whole one is there. true = admitted. */
bool bucket_take(vs_bucket *b, double rate, int64_t now_us);

#endif
