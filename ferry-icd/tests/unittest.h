/* unittest.h: the check the ICD's internal tests share (transport*_test, unit*_test: linked with the ICD's objects,
 * no loader): a failed check is counted, says where and why on stderr, and the test goes on. */
#ifndef FERRY_UNITTEST_H
#define FERRY_UNITTEST_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...) do {                                                   \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

#endif
