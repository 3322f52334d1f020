/* errors_test: results and origins as the Java API gives them: a missing TA (ITEM_NOT_FOUND, origin TEE), a TA that
 * panics (TARGET_DEAD, origin TEE), a missing stored object (ITEM_NOT_FOUND, origin TRUSTED_APP), the host's refusal
 * of an application login (NOT_SUPPORTED, origin COMMS), this library's checks (origin API); and two contexts of one
 * process at once: handles unique on the connection, memory of one context refused by the other. */
#include "teectest.h"

int main(void) {
    TEEC_Context ctx, other;
    TEEC_Session s, t;
    uint32_t origin = 0;
    CHECK(TEEC_InitializeContext("not-ferry", &other) == TEEC_ERROR_ITEM_NOT_FOUND, "a TEE of another name");
    /* OP-TEE's library takes "optee-tz" (OP-TEE on TrustZone); a program written for it gets the host's TEE */
    TEEC_Context optee;
    CHECK(TEEC_InitializeContext("optee-tz", &optee) == TEEC_SUCCESS, "OP-TEE's name for its TEE");
    TEEC_FinalizeContext(&optee);
    open_hello(&ctx, &s);

    TEEC_Result rc = TEEC_OpenSession(&ctx, &t, &MISSING_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ORIGIN_TEE, "open a missing TA");
    rc = TEEC_OpenSession(&ctx, &t, &HELLO_TA, TEEC_LOGIN_APPLICATION, NULL, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_NOT_SUPPORTED, TEEC_ORIGIN_COMMS, "an application login");
    rc = TEEC_OpenSession(&ctx, &t, &HELLO_TA, TEEC_LOGIN_GROUP, NULL, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "a group login without a group");
    uint32_t gid = 1234;
    rc = TEEC_OpenSession(&ctx, &t, &HELLO_TA, TEEC_LOGIN_GROUP, &gid, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "a group login (the policy grants groups)");
    if (rc == TEEC_SUCCESS) TEEC_CloseSession(&t);
    gid = 999;
    rc = TEEC_OpenSession(&ctx, &t, &HELLO_TA, TEEC_LOGIN_GROUP, &gid, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_ACCESS_DENIED, TEEC_ORIGIN_COMMS, "a group the policy does not grant");

    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, 0x4, TEEC_NONE, TEEC_NONE);
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "parameter type 4");
    op.paramTypes = 0x10000;
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "paramTypes beyond 16 bits");

    /* storage: no such object */
    TEEC_Session st;
    MUST(TEEC_OpenSession(&ctx, &st, &STORAGE_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin), "open storage");
    char id[] = "no-such-object";
    char out[16];
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = id;
    op.params[0].tmpref.size = strlen(id);
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = sizeof out;
    rc = TEEC_InvokeCommand(&st, STORAGE_READ, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ORIGIN_TRUSTED_APP, "read a missing object");
    TEEC_CloseSession(&st);

    /* two contexts at once on the one connection: each one's handles work, neither's memory in the other */
    MUST(TEEC_InitializeContext(NULL, &other), "a second context");
    MUST(TEEC_OpenSession(&other, &t, &HELLO_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin), "open in the second");
    char a[] = "context one", b[] = "context two";
    TEEC_SharedMemory ma = {.buffer = a, .size = sizeof a, .flags = TEEC_MEM_INPUT};
    TEEC_SharedMemory mb = {.buffer = b, .size = sizeof b, .flags = TEEC_MEM_INPUT};
    MUST(TEEC_RegisterSharedMemory(&ctx, &ma), "register in the first");
    MUST(TEEC_RegisterSharedMemory(&other, &mb), "register in the second");
    char back[32];
    for (int round = 0; round < 2; round++) {
        TEEC_Session *sess = round == 0 ? &s : &t;
        TEEC_SharedMemory *mine = round == 0 ? &ma : &mb, *theirs = round == 0 ? &mb : &ma;
        memset(back, 0, sizeof back);
        memset(&op, 0, sizeof op);
        op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
        op.params[0].memref.parent = mine;
        op.params[1].tmpref.buffer = back;
        op.params[1].tmpref.size = sizeof back;
        rc = TEEC_InvokeCommand(sess, HELLO_ECHO, &op, &origin);
        CHECK(rc == TEEC_SUCCESS && strcmp(back, mine->buffer) == 0, "context %d echoes its memory: 0x%x '%s'",
              round + 1, (unsigned) rc, back);
        op.params[0].memref.parent = theirs;
        rc = TEEC_InvokeCommand(sess, HELLO_ECHO, &op, &origin);
        CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "the other context's memory");
    }
    TEEC_ReleaseSharedMemory(&mb);
    TEEC_CloseSession(&t);
    TEEC_FinalizeContext(&other);       /* the first context goes on */
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 9;
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && op.params[0].value.a == 10, "the first context after the second ended: 0x%x",
          (unsigned) rc);

    /* a panic: TARGET_DEAD from then on in that session; a new session works */
    rc = TEEC_InvokeCommand(&s, HELLO_PANIC, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_TARGET_DEAD, TEEC_ORIGIN_TEE, "a panicking TA");
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_TARGET_DEAD, TEEC_ORIGIN_TEE, "the dead TA's session");
    TEEC_CloseSession(&s);
    MUST(TEEC_OpenSession(&ctx, &s, &HELLO_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin), "open after the panic");
    op.params[0].value.a = 1;
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && op.params[0].value.a == 2, "a fresh instance: 0x%x", (unsigned) rc);
    /* left open: FinalizeContext closes it and releases ma */
    TEEC_FinalizeContext(&ctx);
    return finish("errors_test");
}
