/* short_buffer_test: an output memref too small answers SHORT_BUFFER (origin TRUSTED_APP) with the size the TA needs
 * in the memref, and the buffer untouched; a NULL temporary memref of size 0 asks for the size; the retry with that
 * size succeeds. For temporary memory outside the heap, registered (shadowed) and allocated memory. */
#include "teectest.h"

static TEEC_Session s;
static uint32_t origin;
static char text[100];

static TEEC_Operation echo_op(void) {
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.params[0].tmpref.buffer = text;
    op.params[0].tmpref.size = sizeof text;
    return op;
}

int main(void) {
    TEEC_Context ctx;
    open_hello(&ctx, &s);
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char) ('a' + i % 26);

    /* temporary */
    char small[10];
    memset(small, '#', sizeof small);
    TEEC_Operation op = echo_op();
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[1].tmpref.buffer = small;
    op.params[1].tmpref.size = sizeof small;
    TEEC_Result rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_SHORT_BUFFER, TEEC_ORIGIN_TRUSTED_APP, "echo 100 bytes into 10");
    CHECK(op.params[1].tmpref.size == sizeof text, "needed size %zu", op.params[1].tmpref.size);
    CHECK(small[0] == '#' && small[9] == '#', "a short buffer is left untouched");

    /* NULL, size 0: how much? */
    op = echo_op();
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_SHORT_BUFFER, TEEC_ORIGIN_TRUSTED_APP, "echo into a NULL buffer");
    CHECK(op.params[1].tmpref.size == sizeof text, "size query answered %zu", op.params[1].tmpref.size);
    char *fit = malloc(op.params[1].tmpref.size);
    op.params[1].tmpref.buffer = fit;
    rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && memcmp(fit, text, sizeof text) == 0, "retry with the size: 0x%x", (unsigned) rc);
    free(fit);

    /* registered outside the heap (shadowed): a window of 10 in a buffer of 200 */
    char *buf = malloc(200);
    memset(buf, '#', 200);
    TEEC_SharedMemory shm = {.buffer = buf, .size = 200, .flags = TEEC_MEM_OUTPUT};
    MUST(TEEC_RegisterSharedMemory(&ctx, &shm), "register");
    op = echo_op();
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[1].memref.parent = &shm;
    op.params[1].memref.offset = 50;
    op.params[1].memref.size = 10;
    rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_SHORT_BUFFER, TEEC_ORIGIN_TRUSTED_APP, "echo into a partial window of 10");
    CHECK(op.params[1].memref.size == sizeof text, "needed size %zu", op.params[1].memref.size);
    int untouched = 1;
    for (int i = 0; i < 200; i++) untouched &= buf[i] == '#';
    CHECK(untouched, "the registered buffer changed on SHORT_BUFFER");
    op.params[1].memref.size = 100;
    rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && memcmp(buf + 50, text, 100) == 0 && buf[49] == '#' && buf[150] == '#',
          "retry into the window [50, 150): 0x%x", (unsigned) rc);
    TEEC_ReleaseSharedMemory(&shm);
    free(buf);

    /* allocated (in the heap): WHOLE of OUTPUT memory */
    TEEC_SharedMemory heap = {.size = 16, .flags = TEEC_MEM_OUTPUT};
    MUST(TEEC_AllocateSharedMemory(&ctx, &heap), "allocate");
    memset(heap.buffer, '#', 16);
    op = echo_op();
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_WHOLE, TEEC_NONE, TEEC_NONE);
    op.params[1].memref.parent = &heap;
    rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_SHORT_BUFFER, TEEC_ORIGIN_TRUSTED_APP, "echo into 16 allocated bytes");
    CHECK(op.params[1].memref.size == sizeof text, "needed size %zu", op.params[1].memref.size);
    CHECK(((char *) heap.buffer)[0] == '#' && ((char *) heap.buffer)[15] == '#', "allocated memory changed");
    TEEC_ReleaseSharedMemory(&heap);

    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    return finish("short_buffer_test");
}
