/* fd_memory_test: OP-TEE's extension TEEC_RegisterSharedMemoryFileDescriptor (tee_client_api_extensions.h): a memfd
 * registered as shared memory is read by the hello TA (ECHO of a window over the whole file) and written by it
 * (FILL of a window), and what the TA wrote is in the file afterwards, the bytes around it unchanged; the struct shows no buffer, as OP-TEE's; a descriptor
 * that is not one, a size past the file's end and a read-only file asked for output are refused (origin API). */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "teectest.h"
#include "tee_client_api_extensions.h"

enum { SIZE = 8192 };

int main(void) {
    TEEC_Context ctx;
    TEEC_Session s;
    open_hello(&ctx, &s);
    int fd = memfd_create("fd_memory_test", 0);
    CHECK(fd >= 0 && ftruncate(fd, SIZE) == 0, "memfd of %d bytes", SIZE);
    uint8_t *view = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(view != MAP_FAILED, "the test's own view of the memfd");
    if (view == MAP_FAILED) return finish("fd_memory_test");
    for (int i = 0; i < SIZE; i++) view[i] = (uint8_t) (i * 7);

    TEEC_SharedMemory shm;
    memset(&shm, 0, sizeof shm);
    shm.size = SIZE;
    shm.flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT;
    CHECK(lseek(fd, 123, SEEK_SET) == 123, "the application's own file offset");
    TEEC_Result rc = TEEC_RegisterSharedMemoryFileDescriptor(&ctx, &shm, fd);
    CHECK(rc == TEEC_SUCCESS, "register the memfd: 0x%x", rc);
    CHECK(lseek(fd, 0, SEEK_CUR) == 123, "registering leaves the descriptor's offset where it was");
    CHECK(shm.buffer == NULL, "the struct shows no buffer (as OP-TEE's)");

    /* ECHO: the whole file as a PARTIAL input (WHOLE would be INOUT for these flags) into a temporary out */
    uint8_t out[SIZE];
    TEEC_Operation op;
    uint32_t origin = 0;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_PARTIAL_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &shm;
    op.params[0].memref.size = SIZE;
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = sizeof out;
    rc = TEEC_InvokeCommand(&s, HELLO_ECHO, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && op.params[1].tmpref.size == SIZE && memcmp(out, view, SIZE) == 0,
          "ECHO of the whole memfd: 0x%x, %zu bytes", rc, op.params[1].tmpref.size);

    /* FILL: a PARTIAL out window of the file; the bytes around it stay */
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 0xAB;
    op.params[1].memref.parent = &shm;
    op.params[1].memref.offset = 100;
    op.params[1].memref.size = 1000;
    rc = TEEC_InvokeCommand(&s, HELLO_FILL, &op, &origin);
    CHECK(rc == TEEC_SUCCESS, "FILL a window of the memfd: 0x%x", rc);
    int filled = 1;
    for (int i = 100; i < 1100; i++) filled &= view[i] == 0xAB;
    CHECK(filled, "the TA's bytes are in the file");
    CHECK(view[99] == (uint8_t) (99 * 7) && view[1100] == (uint8_t) (1100 * 7), "bytes outside the window unchanged");
    TEEC_ReleaseSharedMemory(&shm);

    /* refusals: no descriptor, more than the file holds, output on a read-only file */
    TEEC_SharedMemory bad;
    memset(&bad, 0, sizeof bad);
    bad.size = 16;
    bad.flags = TEEC_MEM_INPUT;
    CHECK(TEEC_RegisterSharedMemoryFileDescriptor(&ctx, &bad, -1) == TEEC_ERROR_BAD_PARAMETERS, "fd -1");
    bad.size = SIZE + 1;
    CHECK(TEEC_RegisterSharedMemoryFileDescriptor(&ctx, &bad, fd) == TEEC_ERROR_BAD_PARAMETERS, "past the end");
    int ro = open("/proc/self/exe", O_RDONLY);
    bad.size = 16;
    bad.flags = TEEC_MEM_OUTPUT;
    CHECK(TEEC_RegisterSharedMemoryFileDescriptor(&ctx, &bad, ro) == TEEC_ERROR_BAD_PARAMETERS,
          "a read-only file for output");
    bad.flags = TEEC_MEM_INPUT;
    rc = TEEC_RegisterSharedMemoryFileDescriptor(&ctx, &bad, ro);
    CHECK(rc == TEEC_SUCCESS, "a read-only file for input: 0x%x", rc);
    TEEC_ReleaseSharedMemory(&bad);
    close(ro);
    munmap(view, SIZE);
    close(fd);
    TEEC_CloseSession(&s);
    TEEC_FinalizeContext(&ctx);
    return finish("fd_memory_test");
}
