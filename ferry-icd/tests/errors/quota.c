/* quota.c: the device reports the guest's device-memory quota as its memory; a buffer over what is left of the
 * quota is refused at clCreateBuffer with CL_MEM_OBJECT_ALLOCATION_FAILURE or CL_OUT_OF_RESOURCES, and the session
 * goes on. Run by IcdIT for a guest whose quota is 1 MiB (one lane), with FERRY_LOG=1 (it checks that the host's
 * quota message reaches stderr). */
#include "clfail.h"

int main(void) {
    cl_context ctx;
    cl_command_queue q = clfail_queue(&ctx, NULL);
    cl_int err;
    cl_mem within = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 512 << 10, NULL, &err);
    CHECK_ERR(err, "clCreateBuffer (512 KiB, within the quota)");

    /* The device this guest sees has the memory its quota grants: a buffer beyond that is not a size the device
     * allows at all (CL_INVALID_BUFFER_SIZE, as on any device), answered before anything is sent. */
    cl_device_id device;
    CHECK(clGetContextInfo(ctx, CL_CONTEXT_DEVICES, sizeof device, &device, NULL));
    cl_ulong global = 0, max_alloc = 0;
    CHECK(clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL));
    CHECK(clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL));
    printf("CL_DEVICE_GLOBAL_MEM_SIZE %llu, CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu\n", (unsigned long long) global,
           (unsigned long long) max_alloc);
    if (global != 1 << 20 || max_alloc > global) {
        clfail_fail("the device of a guest with a 1 MiB quota reports %llu bytes of memory and allocations up to %llu",
                    (unsigned long long) global, (unsigned long long) max_alloc);
    }
    cl_mem huge = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2 << 20, NULL, &err);
    if (huge != NULL || err != CL_INVALID_BUFFER_SIZE) {
        clfail_fail("a 2 MiB buffer on a device of 1 MiB: error %d, expected CL_INVALID_BUFFER_SIZE", err);
    }

    /* 768 KiB is a size the device allows, but with 512 KiB held it goes over the quota. */
    cl_mem over = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 768 << 10, NULL, &err);
    printf("clCreateBuffer over the quota: %d (%s)\n", err, over == NULL ? "NULL" : "an object");
    if (over != NULL || (err != CL_MEM_OBJECT_ALLOCATION_FAILURE && err != CL_OUT_OF_RESOURCES)) {
        clfail_fail("768 KiB with 512 KiB held under a 1 MiB quota: error %d, expected "
                    "CL_MEM_OBJECT_ALLOCATION_FAILURE (%d) or CL_OUT_OF_RESOURCES (%d), and no object", err,
                    CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES);
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
