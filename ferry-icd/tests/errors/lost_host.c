/* lost_host.c: after the host goes away, calls return OpenCL errors and never crash the application. Run by IcdIT:
 * makes a context, a queue and a buffer, prints "ready", and waits for a line on stdin; IcdIT closes the host and
 * writes the line. Then a write + finish, a new buffer and a device query must each fail with an error code (or,
 * for the query, answer the device unavailable), and a new context CL_DEVICE_NOT_AVAILABLE. Exit 0 when they do. */
#include "clfail.h"

int main(void) {
    cl_context ctx;
    cl_device_id device;
    cl_command_queue q = clfail_queue(&ctx, &device);
    cl_int err;
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    CHECK_ERR(err, "clCreateBuffer");
    CHECK(clFinish(q));
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) {
        clfail_fail("stdin closed before the host was");
    }

    static char data[4096];
    cl_int write = clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, sizeof data, data, 0, NULL, NULL);
    cl_int finish = clFinish(q);
    printf("after the host went: clEnqueueWriteBuffer %d, clFinish %d\n", write, finish);
    if (finish == CL_SUCCESS) {
        clfail_fail("clFinish returned CL_SUCCESS with the host gone (write: %d)", write);
    }
    cl_mem more = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    printf("clCreateBuffer %d (%s)\n", err, more == NULL ? "NULL" : "an object");
    if (err == CL_SUCCESS || more != NULL) {
        clfail_fail("clCreateBuffer succeeded with the host gone (err %d)", err);
    }
    /* A device query may be answered from what the ICD already knows; the device must not be called available. */
    cl_bool available = CL_TRUE;
    cl_int info = clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof available, &available, NULL);
    printf("clGetDeviceInfo(CL_DEVICE_AVAILABLE) %d, available %u\n", info, (unsigned) available);
    if (info == CL_SUCCESS && available) {
        clfail_fail("clGetDeviceInfo says the device is available with the host gone");
    }
    /* A new context: the device is not available (not "out of resources") while the host is gone. */
    cl_context again = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    printf("clCreateContext %d (%s)\n", err, again == NULL ? "NULL" : "an object");
    if (again != NULL || err != CL_DEVICE_NOT_AVAILABLE) {
        clfail_fail("clCreateContext with the host gone answered %d, not CL_DEVICE_NOT_AVAILABLE", err);
    }
    /* Releasing what the application holds must not crash either (its result is not checked). */
    clReleaseMemObject(buf);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    printf("lost host: every call answered an OpenCL error\n");
    return 0;
}
