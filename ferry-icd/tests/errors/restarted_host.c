/* restarted_host.c: after the host restarts under it, the application's calls fail with an OpenCL error and, with
 * FERRY_LOG=1, the ICD says why ("the host restarted (epoch ...): this session's objects are lost; connect
 * again"). Run by IcdIT: makes a context, a queue and a buffer, prints "ready", and waits for a line on stdin;
 * IcdIT stops the host, starts it again with the same config (the region reopened in place, a new epoch) and
 * writes the line. Then a write + finish and a new buffer must fail. Exit 0 when they do. */
#include "clfail.h"

int main(void) {
    cl_context ctx;
    cl_command_queue q = clfail_queue(&ctx, NULL);
    cl_int err;
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    CHECK_ERR(err, "clCreateBuffer");
    CHECK(clFinish(q));
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) {
        clfail_fail("stdin closed before the host restarted");
    }

    static char data[4096];
    cl_int write = clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, sizeof data, data, 0, NULL, NULL);
    cl_int finish = clFinish(q);
    printf("after the host restarted: clEnqueueWriteBuffer %d, clFinish %d\n", write, finish);
    if (finish == CL_SUCCESS) {
        clfail_fail("clFinish returned CL_SUCCESS on a session the restarted host does not have (write: %d)", write);
    }
    cl_mem more = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &err);
    printf("clCreateBuffer %d (%s)\n", err, more == NULL ? "NULL" : "an object");
    if (err == CL_SUCCESS || more != NULL) {
        clfail_fail("clCreateBuffer succeeded on a session the restarted host does not have (err %d)", err);
    }
    clReleaseMemObject(buf);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    printf("restarted host: every call answered an OpenCL error\n");
    return 0;
}
