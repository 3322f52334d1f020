/* smoke_test.c: the loader finds the Ferry platform, it has a device, and a buffer's bytes go to the host and come
 * back: the least an OpenCL program needs from the ICD. */
#include "cltest.h"

int main(void) {
    cl_platform_id platform = cltest_platform();
    char version[256] = "";
    CHECK(clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof version, version, NULL));
    if (strncmp(version, "OpenCL 1.2 ", 11) != 0) {
        cltest_fail("platform version '%s' does not start with 'OpenCL 1.2 '", version);
    }
    cl_device_id device = cltest_device(platform);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CHECK_ERR(err, "clCreateContext");
    cl_command_queue q = clCreateCommandQueue(ctx, device, 0, &err);
    CHECK_ERR(err, "clCreateCommandQueue");
    enum { N = 4096 };
    static unsigned char out[N], in[N];
    for (int i = 0; i < N; i++) {
        out[i] = (unsigned char) (i * 7 + 3);
    }
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, N, NULL, &err);
    CHECK_ERR(err, "clCreateBuffer");
    CHECK(clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, N, out, 0, NULL, NULL));
    CHECK(clEnqueueReadBuffer(q, buf, CL_TRUE, 0, N, in, 0, NULL, NULL));
    if (memcmp(in, out, N) != 0) {
        cltest_fail("the buffer's bytes came back different");
    }
    CHECK(clReleaseMemObject(buf));
    CHECK(clReleaseCommandQueue(q));
    CHECK(clReleaseContext(ctx));
    printf("smoke: platform '%s', %d bytes round trip\n", version, N);
    return 0;
}
