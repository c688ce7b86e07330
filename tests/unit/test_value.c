/*
 * test_value.c - the metadata value model (src/core/value.c): builder output byte for byte,
 * entry counts, lookups, iteration, equality, the depth limit (no overflow past it), and the
 * validator on every truncation and on random bytes (seed printed).
 */
#include "core/value.h"

#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

/* {"a": 1, "b": [true, null, "x"], "c": {"d": "e"}} */
static uint8_t *sample(size_t *len)
{
    vs_vbuilder b;
    vs_vb_init(&b);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "a", 1);
    vs_vb_number(&b, 1);
    vs_vb_key(&b, "b", 1);
    vs_vb_begin_array(&b);
    vs_vb_bool(&b, true);
    vs_vb_null(&b);
    vs_vb_string(&b, "x", 1);
    vs_vb_end(&b);
    vs_vb_key(&b, "c", 1);
    vs_vb_begin_object(&b);
    vs_vb_key(&b, "d", 1);
    vs_vb_string(&b, "e", 1);
    vs_vb_end(&b);
    vs_vb_end(&b);
    return vs_vb_finish(&b, len, NULL);
}

int main(void)
{
    size_t len;
    uint8_t *p = sample(&len);
    CHECK(p != NULL, "builder failed");
    vs_value v = vs_value_of(p, len);
    CHECK(vs_value_validate(p, len, VS_VALUE_MAX_DEPTH), "sample does not validate");
    CHECK(vs_value_type(v) == VS_VAL_OBJECT, "type %d", vs_value_type(v));
    CHECK(vs_value_count(v) == 3, "object entries %u, want 3", vs_value_count(v));
    vs_value a, b, c, d, e;
    CHECK(vs_value_get(v, "a", 1, &a) && vs_value_number(a) == 1.0, "a");
    CHECK(vs_value_get(v, "b", 1, &b) && vs_value_count(b) == 3, "array count %u",
          vs_value_count(b));
    CHECK(vs_value_get(v, "c", 1, &c) && vs_value_get(c, "d", 1, &d), "c.d");
    size_t sl;
    const char *s = vs_value_string(d, &sl);
    CHECK(s && sl == 1 && s[0] == 'e', "c.d string");
    CHECK(!vs_value_get(v, "z", 1, &e) && vs_value_type(e) == VS_VAL_MISSING, "missing key");
    CHECK(vs_value_depth(v) == 2, "depth %d", vs_value_depth(v));
    /* iteration order = insertion order */
    vs_value_iter it;
    vs_value_iter_init(&it, b);
    vs_val_type want[] = {VS_VAL_BOOL, VS_VAL_NULL, VS_VAL_STRING};
    int i = 0;
    vs_value x;
    while (vs_value_iter_next(&it, NULL, NULL, &x)) {
        CHECK(i < 3 && vs_value_type(x) == want[i], "element %d type %d", i, vs_value_type(x));
        i++;
    }
    CHECK(i == 3, "iterated %d elements", i);
    /* equality: the same document built twice; 1 == 1.0 */
    size_t len2;
    uint8_t *q = sample(&len2);
    CHECK(len2 == len && memcmp(p, q, len) == 0 && vs_value_equal(v, vs_value_of(q, len2)),
          "rebuild equal");
    /* every strict prefix is invalid */
    for (size_t n = 0; n < len; n++)
        CHECK(!vs_value_validate(p, n, VS_VALUE_MAX_DEPTH), "prefix %zu validates", n);
    vs_free(p);
    vs_free(q);

    /* depth: 32 nested arrays build; 33 and 40 fail cleanly (no write past the builder's arrays) */
    for (int depth = 31; depth <= 40; depth++) {
        vs_vbuilder bb;
        vs_vb_init(&bb);
        for (int k = 0; k < depth; k++) vs_vb_begin_array(&bb);
        vs_vb_number(&bb, 1);
        for (int k = 0; k < depth; k++) vs_vb_end(&bb);
        bool too_deep;
        size_t l;
        uint8_t *r = vs_vb_finish(&bb, &l, &too_deep);
        if (depth <= VS_VALUE_MAX_DEPTH) {
            CHECK(r && !too_deep && vs_value_depth(vs_value_of(r, l)) == depth,
                  "depth %d should build", depth);
        } else {
            CHECK(!r && too_deep, "depth %d should fail as too deep", depth);
        }
        vs_free(r);
    }

    /* random bytes never crash the validator */
    unsigned seed = 20261124;
    printf("test_value: random seed %u\n", seed);
    srand(seed);
    uint8_t buf[64];
    for (int round = 0; round < 200000; round++) {
        size_t n = (size_t)(rand() % 64);
        for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)(rand() % 8 == 0 ? rand() : rand() % 8);
        uint8_t *copy = vs_malloc(n ? n : 1);
        memcpy(copy, buf, n);
        if (vs_value_validate(copy, n, VS_VALUE_MAX_DEPTH))
            (void)vs_value_depth(vs_value_of(copy, n));
        vs_free(copy);
    }
    printf("test_value: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
