/* cancel_test: TEEC_RequestCancellation from another thread reaches a call in flight (the hello TA's
 * WAIT_FOR_CANCEL answers CANCEL); one requested before the call (started == 0) cancels the call about to start
 * (CANCEL, origin COMMS: the host did not start it); one requested after the call returned reaches no later call. */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include "teectest.h"

static TEEC_Session s;
static TEEC_Operation op;
static TEEC_Result result;
static uint32_t result_origin;

static void wait_op(uint32_t ms) {
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = ms;
}

static void *waiter(void *arg) {
    (void) arg;
    result = TEEC_InvokeCommand(&s, HELLO_WAIT_FOR_CANCEL, &op, &result_origin);
    return NULL;
}

static void nap_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(void) {
    TEEC_Context ctx;
    open_hello(&ctx, &s);
    uint32_t origin = 0;

    /* in flight: the TA would wait 60 s */
    memset(&op, 0, sizeof op);
    wait_op(60000);
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    while (__atomic_load_n(&op.started, __ATOMIC_ACQUIRE) != 1) sched_yield();
    nap_ms(300);        /* well inside the TA by now (if not, the host still sees the word before it starts) */
    TEEC_RequestCancellation(&op);
    pthread_join(th, NULL);
    CHECK(result == TEEC_ERROR_CANCEL, "a call in flight, cancelled: 0x%08x origin %u", (unsigned) result,
          result_origin);

    /* before the call */
    memset(&op, 0, sizeof op);
    wait_op(60000);
    TEEC_RequestCancellation(&op);
    TEEC_Result rc = TEEC_InvokeCommand(&s, HELLO_WAIT_FOR_CANCEL, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_CANCEL, TEEC_ORIGIN_COMMS, "cancelled before it started");
    CHECK(op.started == 1, "started after the call: %u", op.started);

    /* after the call returned: no effect on the next one, whether started is set to 0 again or not */
    memset(&op, 0, sizeof op);
    wait_op(20);
    rc = TEEC_InvokeCommand(&s, HELLO_WAIT_FOR_CANCEL, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "a short wait");
    TEEC_RequestCancellation(&op);
    rc = TEEC_InvokeCommand(&s, HELLO_WAIT_FOR_CANCEL, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "the call after a late cancellation");
    TEEC_RequestCancellation(&op);
    op.started = 0;
    rc = TEEC_InvokeCommand(&s, HELLO_WAIT_FOR_CANCEL, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "started reset after a late cancellation");

    TEEC_RequestCancellation(NULL);     /* nothing happens */
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    return finish("cancel_test");
}
