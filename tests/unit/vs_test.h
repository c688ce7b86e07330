/*
 * vs_test.h - the one assertion helper of the unit tests (libuv's ASSERT style): count every
 * check, and stop at the first failure printing the file, line and expression.
 * g_checks is atomic so threaded tests may check from any thread.
 */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic long g_checks;

#define VS_REQUIRE(c)                                                                              \
    do {                                                                                           \
        g_checks++;                                                                                \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #c);                          \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
