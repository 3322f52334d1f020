/* refused: a guest whose host refuses it the TEE (no tee service in its config, or no TEE on the host). Opening a
 * session and registering memory answer the code given as the argument (hex) with origin COMMS, as the Java API:
 * ACCESS_DENIED for a guest without the tee service, NOT_SUPPORTED for a host without a TEE. Exit 0 when so. */
#include "teectest.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        printf("usage: refused EXPECTED-RESULT-HEX\n");
        return 2;
    }
    TEEC_Result want = (TEEC_Result) strtoul(argv[1], NULL, 16);
    TEEC_Context ctx;
    TEEC_Session s;
    uint32_t origin = 0;
    MUST(TEEC_InitializeContext(NULL, &ctx), "TEEC_InitializeContext (the connection itself is allowed)");
    TEEC_Result rc = TEEC_OpenSession(&ctx, &s, &HELLO_TA, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
    CHECK_RESULT(rc, origin, want, TEEC_ORIGIN_COMMS, "open hello");
    TEEC_SharedMemory shm = {.size = 64, .flags = TEEC_MEM_INPUT};
    rc = TEEC_AllocateSharedMemory(&ctx, &shm);
    CHECK(rc == want, "allocate: 0x%08x, expected 0x%08x", (unsigned) rc, (unsigned) want);
    TEEC_FinalizeContext(&ctx);
    return finish("refused");
}
