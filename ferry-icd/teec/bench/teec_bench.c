/* teec_bench.c: ./ferry bench tee's native client: the hello TA's INCREMENT through libteec, as a C application
 * calls it. Opens a session, warms up (SAMPLES calls and 3 s at least), then times SAMPLES calls one by one and
 * prints the median and the 99th percentile in microseconds:  p50_us=X p99_us=Y calls=N
 * Usage: teec_bench [SAMPLES]   (the guest's environment names the host). Exit 1 on a failed call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tee_client_api.h>

/* The least warm-up, as ferry-bench's Warmup.CALL_MIN_NANOS. */
#define WARM_NS 3000000000ull

static const TEEC_UUID HELLO = {0xf3a1e7c0, 0x0001, 0x4e11, {0x8f, 0x00, 0, 0, 0, 0, 0, 0xa1}};

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

int main(int argc, char **argv) {
    long samples = argc > 1 ? atol(argv[1]) : 100000;
    if (samples < 1) samples = 1;
    TEEC_Context ctx;
    TEEC_Session s;
    uint32_t origin = 0;
    TEEC_Result rc = TEEC_InitializeContext(NULL, &ctx);
    if (rc == TEEC_SUCCESS) rc = TEEC_OpenSession(&ctx, &s, &HELLO, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
    if (rc != TEEC_SUCCESS) {
        printf("teec_bench: cannot open the hello TA: 0x%08x origin %u\n", rc, origin);
        return 1;
    }
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    uint64_t *t = malloc(sizeof *t * (size_t) samples);
    /* Warm-up: SAMPLES calls and WARM_NS at least (this guest's TA instance is a JVM just started, which compiles
     * its call path meanwhile; ferry-bench's Warmup.CALL_MIN_NANOS), then SAMPLES timed calls. */
    uint64_t warm_until = now_ns() + WARM_NS;
    long calls = 0;
    while (calls < samples || now_ns() < warm_until) {
        rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
        if (rc != TEEC_SUCCESS) {
            printf("teec_bench: warm-up call %ld failed: 0x%08x origin %u\n", calls, rc, origin);
            return 1;
        }
        calls++;
    }
    for (long i = 0; i < samples; i++, calls++) {
        uint64_t t0 = now_ns();
        rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
        uint64_t t1 = now_ns();
        if (rc != TEEC_SUCCESS) {
            printf("teec_bench: call %ld failed: 0x%08x origin %u\n", calls, rc, origin);
            return 1;
        }
        t[i] = t1 - t0;
    }
    if (op.params[0].value.a != (uint32_t) calls) {
        printf("teec_bench: hello counted %u, expected %ld\n", op.params[0].value.a, calls);
        return 1;
    }
    qsort(t, (size_t) samples, sizeof *t, by_value);
    printf("p50_us=%.3f p99_us=%.3f calls=%ld\n", t[samples / 2] / 1000.0, t[samples * 99 / 100] / 1000.0,
           samples);
    free(t);
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    return 0;
}
