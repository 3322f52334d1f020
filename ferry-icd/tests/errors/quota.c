/* quota.c: a buffer over the guest's device-memory quota is refused at clCreateBuffer with
 * CL_MEM_OBJECT_ALLOCATION_FAILURE or CL_OUT_OF_RESOURCES, and the session goes on. Run by IcdIT for a guest whose
 * quota is 1 MiB, with FERRY_LOG=1 (it checks that the host's quota message reaches stderr). */
#include "clfail.h"

int main(void) {
    cl_context ctx;
    cl_command_queue q = clfail_queue(&ctx, NULL);
    cl_int err;
    cl_mem within = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 512 << 10, NULL, &err);
    CHECK_ERR(err, "clCreateBuffer (512 KiB, within the quota)");

    cl_mem over = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2 << 20, NULL, &err);
    printf("clCreateBuffer over the quota: %d (%s)\n", err, over == NULL ? "NULL" : "an object");
    if (over != NULL || (err != CL_MEM_OBJECT_ALLOCATION_FAILURE && err != CL_OUT_OF_RESOURCES)) {
        clfail_fail("a 2 MiB buffer over a 1 MiB quota: error %d, expected CL_MEM_OBJECT_ALLOCATION_FAILURE (%d) "
                    "or CL_OUT_OF_RESOURCES (%d), and no object", err, CL_MEM_OBJECT_ALLOCATION_FAILURE,
                    CL_OUT_OF_RESOURCES);
    }

    /* The session lives on: a buffer within what is left works, and the queue finishes. */
    cl_mem rest = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 256 << 10, NULL, &err);
    CHECK_ERR(err, "clCreateBuffer (256 KiB, within what is left)");
    static char data[256 << 10], back[256 << 10];
    memset(data, 0x5a, sizeof data);
    CHECK(clEnqueueWriteBuffer(q, rest, CL_FALSE, 0, sizeof data, data, 0, NULL, NULL));
    CHECK(clEnqueueReadBuffer(q, rest, CL_TRUE, 0, sizeof back, back, 0, NULL, NULL));
    if (memcmp(data, back, sizeof data) != 0) {
        clfail_fail("the buffer made after the refusal does not hold what was written");
    }
    CHECK(clFinish(q));
    clReleaseMemObject(rest);
    clReleaseMemObject(within);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    printf("quota: refused with %d, the session went on\n", err == CL_SUCCESS ? 0 : err);
    return 0;
}
