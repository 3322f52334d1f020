/* memref_test: every kind of memory reference through the hello TA (ECHO copies memref 0 to memref 1, CHECKSUM sums
 * memref 0 into value 1, FILL fills memref 1 with value 0's byte): temporary input, output and inout (memory outside
 * the region heap, staged); registered memory outside the heap (shadowed) as WHOLE and PARTIAL windows, with data
 * copied back only inside the window; allocated shared memory (in the heap, by reference) and a temporary memref
 * into it; 1 MiB registered at an odd address; and the library's own checks of a memref (origin API). */
#include "teectest.h"

static uint32_t checksum_of(const uint8_t *p, size_t n) {
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        sum += w;
    }
    for (; i < n; i++) sum += p[i];
    return (uint32_t) (sum ^ (sum >> 32));
}

static TEEC_Session s;
static uint32_t origin;

static TEEC_Result invoke(uint32_t cmd, TEEC_Operation *op) {
    return TEEC_InvokeCommand(&s, cmd, op, &origin);
}

static void temporary(void) {
    char in[] = "temporary memref";
    char out[64];
    memset(out, '#', sizeof out);
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = in;
    op.params[0].tmpref.size = sizeof in;
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = sizeof out;
    TEEC_Result rc = invoke(HELLO_ECHO, &op);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "echo temp in -> temp out");
    CHECK(op.params[1].tmpref.size == sizeof in, "output size %zu", op.params[1].tmpref.size);
    CHECK(memcmp(out, in, sizeof in) == 0 && out[sizeof in] == '#', "echoed bytes (and nothing past them)");
    CHECK(op.params[0].tmpref.size == sizeof in, "an input memref's size is left alone");

    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t) (i * 7 + 3);
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INOUT, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = data;
    op.params[0].tmpref.size = sizeof data;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "checksum temp inout");
    CHECK(op.params[1].value.a == checksum_of(data, sizeof data) && op.params[1].value.b == sizeof data,
          "checksum %u over %u bytes", op.params[1].value.a, op.params[1].value.b);
    CHECK(op.params[0].tmpref.size == sizeof data && data[999] == (uint8_t) (999 * 7 + 3), "inout kept");

    uint8_t fill[300];
    memset(fill, 0, sizeof fill);
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 0x5A;
    op.params[1].tmpref.buffer = fill + 100;
    op.params[1].tmpref.size = 100;
    rc = invoke(HELLO_FILL, &op);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "fill temp out");
    CHECK(fill[99] == 0 && fill[100] == 0x5A && fill[199] == 0x5A && fill[200] == 0, "filled exactly its window");

    /* a NULL buffer: the TA sees a null memref */
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "checksum of a NULL memref");
    CHECK(op.params[1].value.a == 0, "checksum of nothing: %u", op.params[1].value.a);
}

static void registered(TEEC_Context *ctx) {
    uint8_t *buf = malloc(256);
    memset(buf, 0x11, 256);
    TEEC_SharedMemory shm = {.buffer = buf, .size = 256, .flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT};
    MUST(TEEC_RegisterSharedMemory(ctx, &shm), "register 256 bytes");

    /* PARTIAL_OUTPUT [16, 48): the TA fills the window; the bytes around it stay as they were */
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 0x77;
    op.params[1].memref.parent = &shm;
    op.params[1].memref.offset = 16;
    op.params[1].memref.size = 32;
    TEEC_Result rc = invoke(HELLO_FILL, &op);
    CHECK_RESULT(rc, origin, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP, "fill a partial window");
    CHECK(buf[15] == 0x11 && buf[16] == 0x77 && buf[47] == 0x77 && buf[48] == 0x11 && buf[255] == 0x11,
          "window filled, the rest kept: %02x %02x %02x %02x", buf[15], buf[16], buf[47], buf[48]);
    CHECK(op.params[1].memref.size == 32, "output size %zu", op.params[1].memref.size);

    /* the application writes between calls: PARTIAL_INPUT sees the new bytes */
    for (int i = 0; i < 256; i++) buf[i] = (uint8_t) i;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_PARTIAL_INPUT, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &shm;
    op.params[0].memref.offset = 100;
    op.params[0].memref.size = 50;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK(rc == TEEC_SUCCESS && op.params[1].value.a == checksum_of(buf + 100, 50) && op.params[1].value.b == 50,
          "checksum of a partial input window: 0x%x %u", (unsigned) rc, op.params[1].value.a);

    /* WHOLE: input and output by the memory's flags */
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &shm;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK(rc == TEEC_SUCCESS && op.params[1].value.a == checksum_of(buf, 256), "checksum WHOLE: 0x%x",
          (unsigned) rc);
    CHECK(op.params[0].memref.size == 256, "WHOLE's size after the call: %zu", op.params[0].memref.size);

    /* checks of this library: origin API, nothing sent */
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_PARTIAL_INPUT, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.offset = 200;
    op.params[0].memref.size = 57;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "a window past the end");
    op.params[0].memref.parent = NULL;
    op.params[0].memref.size = 1;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "a NULL parent");

    char in[] = "input only";
    TEEC_SharedMemory ro = {.buffer = in, .size = sizeof in, .flags = TEEC_MEM_INPUT};
    MUST(TEEC_RegisterSharedMemory(ctx, &ro), "register input-only memory");
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[1].memref.parent = &ro;
    op.params[1].memref.size = 4;
    rc = invoke(HELLO_FILL, &op);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "output into input-only memory");
    CHECK(strcmp(in, "input only") == 0, "input-only memory changed");

    /* echo between two registered blocks, WHOLE to PARTIAL_OUTPUT */
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &ro;
    op.params[1].memref.parent = &shm;
    op.params[1].memref.offset = 200;
    op.params[1].memref.size = 56;
    rc = invoke(HELLO_ECHO, &op);
    CHECK(rc == TEEC_SUCCESS && memcmp(buf + 200, in, sizeof in) == 0 && buf[199] == 199
          && buf[200 + sizeof in] == (uint8_t) (200 + sizeof in), "echo WHOLE -> PARTIAL: 0x%x", (unsigned) rc);
    CHECK(op.params[1].memref.size == sizeof in, "echo's output size %zu", op.params[1].memref.size);

    TEEC_ReleaseSharedMemory(&ro);
    TEEC_ReleaseSharedMemory(&shm);
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &shm;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_API, "released memory");
    CHECK(shm.buffer == buf, "registered memory keeps the application's buffer");
    free(buf);
}

static void allocated(TEEC_Context *ctx) {
    TEEC_SharedMemory shm = {.size = 4096, .flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT};
    MUST(TEEC_AllocateSharedMemory(ctx, &shm), "allocate 4096 bytes");
    CHECK(shm.buffer != NULL, "allocated memory has a buffer");
    uint8_t *p = shm.buffer;
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_MEMREF_WHOLE, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 0xC3;
    op.params[1].memref.parent = &shm;
    /* WHOLE of INPUT|OUTPUT memory is INOUT: FILL wants an output */
    TEEC_Result rc = invoke(HELLO_FILL, &op);
    CHECK(rc == TEEC_ERROR_BAD_PARAMETERS, "FILL into an inout memref: 0x%x", (unsigned) rc);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[1].memref.offset = 1000;
    op.params[1].memref.size = 1000;
    rc = invoke(HELLO_FILL, &op);
    CHECK(rc == TEEC_SUCCESS && p[999] != 0xC3 && p[1000] == 0xC3 && p[1999] == 0xC3 && p[2000] != 0xC3,
          "fill a window of allocated memory: 0x%x", (unsigned) rc);

    /* a temporary memref into the heap travels by reference too */
    char text[] = "from the heap";
    memcpy(p, text, sizeof text);
    char out[32] = {0};
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = p;
    op.params[0].tmpref.size = sizeof text;
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = sizeof out;
    rc = invoke(HELLO_ECHO, &op);
    CHECK(rc == TEEC_SUCCESS && strcmp(out, text) == 0, "echo from a heap tmpref: 0x%x '%s'", (unsigned) rc, out);
    TEEC_ReleaseSharedMemory(&shm);
    CHECK(shm.buffer == NULL && shm.size == 0, "released allocated memory: buffer %p size %zu", shm.buffer,
          shm.size);
}

/* 1 MiB registered at an odd address (shadowed through a heap block), read whole by the TA */
static void big(TEEC_Context *ctx) {
    size_t n = 1u << 20;
    uint8_t *raw = malloc(n + 64);
    uint8_t *p = raw + 1;
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t) (i ^ (i >> 8));
    TEEC_SharedMemory shm = {.buffer = p, .size = n, .flags = TEEC_MEM_INPUT};
    TEEC_Result rc = TEEC_RegisterSharedMemory(ctx, &shm);
    CHECK(rc == TEEC_SUCCESS, "register 1 MiB at an odd address: 0x%x", (unsigned) rc);
    if (rc == TEEC_SUCCESS) {
        TEEC_Operation op;
        memset(&op, 0, sizeof op);
        op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
        op.params[0].memref.parent = &shm;
        rc = invoke(HELLO_CHECKSUM, &op);
        CHECK(rc == TEEC_SUCCESS && op.params[1].value.a == checksum_of(p, n) && op.params[1].value.b == n,
              "checksum of 1 MiB: 0x%x", (unsigned) rc);
        TEEC_ReleaseSharedMemory(&shm);
    }
    free(raw);

    /* 1 MiB inside the region heap at an odd offset: registered by reference (257 pages, within the host's 1 MiB
     * of data per registration), and as a temporary memref. The heap memory comes from two allocations of 1 MiB
     * (one registration may hold no more), which the heap's first fit places side by side. */
    TEEC_SharedMemory block = {.size = n, .flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT};
    TEEC_SharedMemory next = block;
    MUST(TEEC_AllocateSharedMemory(ctx, &block), "allocate 1 MiB");
    MUST(TEEC_AllocateSharedMemory(ctx, &next), "allocate another 1 MiB");
    if ((uint8_t *) next.buffer != (uint8_t *) block.buffer + n) {
        printf("FAILED: the two heap blocks of 1 MiB are not adjacent (did the heap's first fit change?), so 1 MiB at "
               "an odd heap offset cannot be checked this way\n");
        failures++;
        TEEC_ReleaseSharedMemory(&next);
        TEEC_ReleaseSharedMemory(&block);
        return;
    }
    uint8_t *q = (uint8_t *) block.buffer + 65;
    for (size_t i = 0; i < n; i++) q[i] = (uint8_t) (i * 13 + (i >> 12));
    TEEC_SharedMemory inside = {.buffer = q, .size = n, .flags = TEEC_MEM_INPUT};
    rc = TEEC_RegisterSharedMemory(ctx, &inside);
    CHECK(rc == TEEC_SUCCESS, "register 1 MiB at an odd heap offset: 0x%x", (unsigned) rc);
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &inside;
    if (rc == TEEC_SUCCESS) {
        rc = invoke(HELLO_CHECKSUM, &op);
        CHECK(rc == TEEC_SUCCESS && op.params[1].value.a == checksum_of(q, n), "checksum of it: 0x%x", (unsigned) rc);
        TEEC_ReleaseSharedMemory(&inside);
    }
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = q;
    op.params[0].tmpref.size = n;
    rc = invoke(HELLO_CHECKSUM, &op);
    CHECK(rc == TEEC_SUCCESS && op.params[1].value.a == checksum_of(q, n), "checksum of it as a temporary memref: "
          "0x%x", (unsigned) rc);
    TEEC_ReleaseSharedMemory(&next);
    TEEC_ReleaseSharedMemory(&block);
}

int main(void) {
    TEEC_Context ctx;
    open_hello(&ctx, &s);
    temporary();
    registered(&ctx);
    allocated(&ctx);
    big(&ctx);
    TEEC_SharedMemory bad = {.buffer = &origin, .size = 4, .flags = 4};
    CHECK(TEEC_RegisterSharedMemory(&ctx, &bad) == TEEC_ERROR_BAD_PARAMETERS, "flags 4 refused");
    bad.flags = 0;
    CHECK(TEEC_AllocateSharedMemory(&ctx, &bad) == TEEC_ERROR_BAD_PARAMETERS, "flags 0 refused");
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    return finish("memref_test");
}
