/* layout_v1_test: built with TEEC_FERRY_ABI_V1 against libteec.so.1 (optee_client 4.1 and older): that layout's
 * offsets, and a session, a registered buffer and an allocated one through the old library. */
#include <stddef.h>
#include "teectest.h"

#ifdef __LP64__
_Static_assert(sizeof(TEEC_SharedMemory) == 48, "TEEC_SharedMemory");
_Static_assert(offsetof(TEEC_SharedMemory, flags) == 16, "flags");
_Static_assert(offsetof(TEEC_SharedMemory, id) == 20, "id");
_Static_assert(offsetof(TEEC_SharedMemory, alloced_size) == 24, "alloced_size");
_Static_assert(offsetof(TEEC_SharedMemory, shadow_buffer) == 32, "shadow_buffer");
_Static_assert(offsetof(TEEC_SharedMemory, registered_fd) == 40, "registered_fd");
_Static_assert(offsetof(TEEC_SharedMemory, internal) == 44, "internal");
_Static_assert(sizeof(TEEC_Context) == 8 && offsetof(TEEC_Context, fd) == 0, "TEEC_Context");
_Static_assert(sizeof(TEEC_Session) == 16 && offsetof(TEEC_Session, session_id) == 8, "TEEC_Session");
_Static_assert(sizeof(TEEC_Operation) == 112 && offsetof(TEEC_Operation, session) == 104, "TEEC_Operation");
#endif

int main(void) {
    TEEC_Context ctx;
    TEEC_Session s;
    open_hello(&ctx, &s);
    uint32_t origin = 0;
    char text[] = "through libteec.so.1";
    char back[64] = {0};
    TEEC_SharedMemory in = {.buffer = text, .size = sizeof text, .flags = TEEC_MEM_INPUT};
    TEEC_SharedMemory out = {.size = sizeof back, .flags = TEEC_MEM_OUTPUT};
    MUST(TEEC_RegisterSharedMemory(&ctx, &in), "register");
    MUST(TEEC_AllocateSharedMemory(&ctx, &out), "allocate");
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_MEMREF_WHOLE, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &in;
    op.params[1].memref.parent = &out;
    TEEC_Result rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "echo through the old layout");
    CHECK(op.params[1].memref.size == sizeof text && memcmp(out.buffer, text, sizeof text) == 0,
          "echoed %zu bytes", op.params[1].memref.size);
    CHECK(op.session == &s, "the operation names its session");
    TEEC_ReleaseSharedMemory(&in);
    TEEC_ReleaseSharedMemory(&out);
    CHECK(out.buffer == NULL, "released allocated memory keeps its buffer");
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    (void) back;
    return finish("layout_v1_test");
}
