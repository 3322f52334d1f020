/* teectest.h: what the libteec test programs share. Each is a plain GP client (only tee_client_api.h), run by
 * LibteecIT against a real host whose software TEE serves the built-in TAs (hello, storage) to its guest; by hand:
 * eval "$(tests/dev-host.sh start DIR)" does not set up a TEE, so use LibteecIT (or tools/compat/optee-examples.sh for
 * a host with one). Exit 0 when every check held. */
#ifndef TEECTEST_H
#define TEECTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tee_client_api.h"

/* The built-in TAs (io.ferry.tee.BuiltinTas) and their commands. */
static const TEEC_UUID HELLO_TA = {0xf3a1e7c0, 0x0001, 0x4e11, {0x8f, 0x00, 0, 0, 0, 0, 0, 0xa1}};
static const TEEC_UUID STORAGE_TA = {0xf3a1e7c0, 0x0002, 0x4e11, {0x8f, 0x00, 0, 0, 0, 0, 0, 0xa2}};
static const TEEC_UUID MISSING_TA = {0xf3a1e7c0, 0x0fff, 0x4e11, {0x8f, 0x00, 0, 0, 0, 0, 0x0f, 0xff}};
enum { HELLO_INCREMENT = 0, HELLO_PANIC = 1, HELLO_WAIT_FOR_CANCEL = 2, HELLO_IDENTITY = 3, HELLO_ECHO = 4,
       HELLO_CHECKSUM = 5, HELLO_FILL = 6 };
enum { STORAGE_CREATE = 0, STORAGE_READ = 1, STORAGE_WRITE = 2, STORAGE_DELETE = 3 };

static int failures;

#define CHECK(cond, ...) do {                                                                                  \
        if (!(cond)) {                                                                                         \
            printf("FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);                                           \
            printf(__VA_ARGS__);                                                                               \
            printf("\n");                                                                                      \
            failures++;                                                                                        \
        }                                                                                                      \
    } while (0)

/* A result and its origin as expected. */
#define CHECK_RESULT(rc, origin, want_rc, want_origin, what) \
    CHECK((rc) == (want_rc) && (origin) == (want_origin), "%s: 0x%08x origin %u, expected 0x%08x origin %u", what, \
          (unsigned) (rc), (unsigned) (origin), (unsigned) (want_rc), (unsigned) (want_origin))

/* A step without which the test cannot go on. */
#define MUST(rc, what) do {                                                                                    \
        TEEC_Result must_rc_ = (rc);                                                                           \
        if (must_rc_ != TEEC_SUCCESS) {                                                                        \
            printf("FAILED %s:%d: %s: 0x%08x\n", __FILE__, __LINE__, what, (unsigned) must_rc_);               \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

static int finish(const char *name) {
    if (failures) {
        printf("%s: %d check(s) failed\n", name, failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

static inline void open_hello(TEEC_Context *ctx, TEEC_Session *s) {
    uint32_t origin = 0;
    MUST(TEEC_InitializeContext(NULL, ctx), "TEEC_InitializeContext");
    MUST(TEEC_OpenSession(ctx, s, &HELLO_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin), "open hello");
}

#endif
