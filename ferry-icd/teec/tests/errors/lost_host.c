/* lost_host: holds a context, a session and shared memory, prints "ready" and waits for "go" on stdin while
 * LibteecIT stops the host; then every call answers COMMUNICATION with origin COMMS (the library's own checks still
 * answer theirs), closing and finalizing are quiet, and a new context cannot connect. Exit 0 when so. */
#include "teectest.h"

int main(void) {
    TEEC_Context ctx;
    TEEC_Session s;
    open_hello(&ctx, &s);
    char data[64] = "kept";
    TEEC_SharedMemory shm = {.buffer = data, .size = sizeof data, .flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT};
    MUST(TEEC_RegisterSharedMemory(&ctx, &shm), "register");
    uint32_t origin = 0;
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    MUST(TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin), "increment before");
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) {
        printf("no go\n");
        return 2;
    }
    TEEC_Result rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_COMMUNICATION, TEEC_ORIGIN_COMMS, "increment after the host went away");
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &shm;
    rc = TEEC_InvokeCommand(&s, HELLO_CHECKSUM, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_COMMUNICATION, TEEC_ORIGIN_COMMS, "a memref call");
    CHECK(strcmp(data, "kept") == 0, "the buffer changed");
    TEEC_Session s2;
    rc = TEEC_OpenSession(&ctx, &s2, &HELLO_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_COMMUNICATION, TEEC_ORIGIN_COMMS, "open after the host went away");
    TEEC_SharedMemory more = {.size = 64, .flags = TEEC_MEM_INPUT};
    rc = TEEC_AllocateSharedMemory(&ctx, &more);
    CHECK(rc == TEEC_ERROR_COMMUNICATION, "allocate after the host went away: 0x%08x", (unsigned) rc);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, 0x4, TEEC_NONE, TEEC_NONE);
    rc = TEEC_InvokeCommand(&s, HELLO_INCREMENT, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "the library's own check still answers");
    TEEC_ReleaseSharedMemory(&shm);
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    TEEC_Context again;
    rc = TEEC_InitializeContext(NULL, &again);
    CHECK(rc == TEEC_ERROR_COMMUNICATION, "a new context without a host: 0x%08x", (unsigned) rc);
    return finish("lost_host");
}
