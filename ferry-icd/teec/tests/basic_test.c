/* basic_test: open, invoke and close on the hello TA; values in and out; the identity a login gives; what a call
 * without the parameters the TA wants, an unknown command, and a closed session answer. */
#include "teectest.h"

static TEEC_Result increment(TEEC_Session *s, uint32_t *value, uint32_t *origin) {
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = *value;
    op.params[0].value.b = 7;
    TEEC_Result rc = TEEC_InvokeCommand(s, HELLO_INCREMENT, &op, origin);
    CHECK(op.params[0].value.b == 7, "value b came back as %u", op.params[0].value.b);
    *value = op.params[0].value.a;
    return rc;
}

/* HELLO_IDENTITY: login (u32 LE) then the client UUID (16 bytes) as the host vouches for it. */
static void identity(TEEC_Context *ctx, uint32_t login, int nil) {
    TEEC_Session s;
    uint32_t origin = 0;
    MUST(TEEC_OpenSession(ctx, &s, &HELLO_TA, login, NULL, NULL, &origin), "open hello");
    uint8_t out[32];
    memset(out, 0xEE, sizeof out);
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = out;
    op.params[0].tmpref.size = sizeof out;
    TEEC_Result rc = TEEC_InvokeCommand(&s, HELLO_IDENTITY, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "identity");
    CHECK(op.params[0].tmpref.size == 20, "identity is %zu bytes", op.params[0].tmpref.size);
    uint32_t got = out[0] | out[1] << 8 | out[2] << 16 | (uint32_t) out[3] << 24;
    CHECK(got == login, "the TA saw login %u, not %u", got, login);
    int zero = 1;
    for (int i = 4; i < 20; i++) zero &= out[i] == 0;
    CHECK(zero == nil, "client UUID is %s for login %u", zero ? "nil" : "not nil", login);
    CHECK(out[20] == 0xEE, "bytes past the output size were written");
    TEEC_CloseSession(&s);
}

int main(void) {
    TEEC_Context ctx;
    TEEC_Session s;
    open_hello(&ctx, &s);
    uint32_t origin = 0, v = 41;
    TEEC_Result rc = increment(&s, &v, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "increment");
    CHECK(v == 42, "41 + 1 = %u", v);
    for (int i = 0; i < 1000 && rc == TEEC_SUCCESS; i++) rc = increment(&s, &v, &origin);
    CHECK(rc == TEEC_SUCCESS && v == 1042, "1000 more increments: 0x%x, %u", rc, v);

    /* no operation at all: the TA wants a value */
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_TRUSTED_APP, "increment without parameters");
    rc = TEEC_InvokeCommand(&s, 99, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_NOT_IMPLEMENTED, TEEC_ORIGIN_TRUSTED_APP, "unknown command");

    /* an operation given to OpenSession (the hello TA takes none) */
    TEEC_Session s2;
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    rc = TEEC_OpenSession(&ctx, &s2, &HELLO_TA, TEEC_LOGIN_PUBLIC, NULL, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "open with an empty operation");
    v = 1;
    rc = increment(&s2, &v, &origin);
    CHECK(rc == TEEC_SUCCESS && v == 2, "a second session: 0x%x, %u", rc, v);
    TEEC_CloseSession(&s2);

    identity(&ctx, TEEC_LOGIN_PUBLIC, 1);
    identity(&ctx, TEEC_LOGIN_USER, 0);

    TEEC_CloseSession(&s);
    rc = increment(&s, &v, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_STATE, TEEC_ORIGIN_API, "a closed session (as the Java API)");
    TEEC_CloseSession(&s);          /* twice: nothing happens */
    TEEC_FinalizeContext(&ctx);
    TEEC_FinalizeContext(&ctx);     /* twice: nothing happens */

    /* a context again after the last one ended (a new connection) */
    open_hello(&ctx, &s);
    v = 5;
    rc = increment(&s, &v, &origin);
    CHECK(rc == TEEC_SUCCESS && v == 6, "after a new InitializeContext: 0x%x, %u", rc, v);
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    return finish("basic_test");
}
