/* leave.c: a program that fills device memory and returns from main without releasing anything, as many do. The
 * ICD says GOODBYE at exit; the guest's device worker, which serves its session, then still releases the buffers
 * while the process is already gone. Run by IcdIT several times: the host must record each session as ended by
 * the guest's goodbye, not as a guest gone. */
#include "clfail.h"

int main(void) {
    cl_context ctx;
    cl_command_queue q = clfail_queue(&ctx, NULL);
    cl_int err;
    static char data[1 << 20];
    memset(data, 0x3c, sizeof data);
    for (int i = 0; i < 8; i++) {
        cl_mem b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 16 << 20, NULL, &err);
        CHECK_ERR(err, "clCreateBuffer (16 MiB)");
        CHECK(clEnqueueFillBuffer(q, b, data, 1, 0, 16 << 20, 0, NULL, NULL));
    }
    CHECK(clFinish(q));
    printf("leave: 8 buffers of 16 MiB filled, leaving without releasing them\n");
    return 0;
}
