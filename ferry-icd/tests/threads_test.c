/* threads_test.c: thread safety as OpenCL requires it. 16 application threads share ONE context and program; each
 * has its own queue, buffers and kernel (clSetKernelArg on one kernel is the one call OpenCL does not make
 * thread-safe) and loops write -> kernel -> read, verifying every result. Then 4 threads share ONE queue: each
 * enqueues its own work without blocking and calls clFinish on the shared queue, concurrently with the others. */
#include "cltest.h"
#include <pthread.h>
#include <stdint.h>

enum { THREADS = 16, SHARED_THREADS = 4, ROUNDS = 12, N = 2048 };

static const char *SOURCE =
    "__kernel void affine(__global const uint *x, __global uint *y, uint a, uint b) {\n"
    "    size_t i = get_global_id(0);\n"
    "    y[i] = x[i] * a + b;\n"
    "}\n";

static cl_context ctx;
static cl_device_id device;
static cl_program program;
static cl_command_queue shared_queue;

typedef struct worker {
    int id;
    int shared;          /* 1: enqueue on shared_queue, else on a queue of its own */
    char failure[256];   /* empty when every round verified */
} worker;

#define WFAIL(w, ...) do { snprintf((w)->failure, sizeof (w)->failure, __VA_ARGS__); goto done; } while (0)
#define WCHECK(w, call) do { \
        cl_int e_ = (call); \
        if (e_ != CL_SUCCESS) WFAIL(w, "thread %d: %s returned %d", (w)->id, #call, e_); \
    } while (0)

static void *run(void *arg) {
    worker *w = arg;
    cl_int err;
    cl_command_queue q = NULL;
    cl_mem x = NULL, y = NULL;
    cl_kernel k = NULL;
    uint32_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    if (in == NULL || out == NULL) WFAIL(w, "thread %d: out of memory", w->id);
    if (w->shared) {
        q = shared_queue;
    } else {
        q = clCreateCommandQueue(ctx, device, 0, &err);
        if (err != CL_SUCCESS) WFAIL(w, "thread %d: clCreateCommandQueue: %d", w->id, err);
    }
    x = clCreateBuffer(ctx, CL_MEM_READ_ONLY, N * sizeof *in, NULL, &err);
    if (err != CL_SUCCESS) WFAIL(w, "thread %d: clCreateBuffer x: %d", w->id, err);
    y = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, N * sizeof *out, NULL, &err);
    if (err != CL_SUCCESS) WFAIL(w, "thread %d: clCreateBuffer y: %d", w->id, err);
    k = clCreateKernel(program, "affine", &err);
    if (err != CL_SUCCESS) WFAIL(w, "thread %d: clCreateKernel: %d", w->id, err);
    WCHECK(w, clSetKernelArg(k, 0, sizeof x, &x));
    WCHECK(w, clSetKernelArg(k, 1, sizeof y, &y));
    for (int round = 0; round < ROUNDS; round++) {
        cl_uint a = (cl_uint) (w->id + 2), b = (cl_uint) (round * 1000 + w->id);
        for (int i = 0; i < N; i++) {
            in[i] = (uint32_t) (i + round * 31 + w->id * 7);
            out[i] = 0xdeadbeef;
        }
        size_t global = N;
        WCHECK(w, clSetKernelArg(k, 2, sizeof a, &a));
        WCHECK(w, clSetKernelArg(k, 3, sizeof b, &b));
        WCHECK(w, clEnqueueWriteBuffer(q, x, CL_FALSE, 0, N * sizeof *in, in, 0, NULL, NULL));
        WCHECK(w, clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
        if (w->shared) {
            WCHECK(w, clEnqueueReadBuffer(q, y, CL_FALSE, 0, N * sizeof *out, out, 0, NULL, NULL));
            WCHECK(w, clFinish(q)); /* the shared queue: other threads' commands finish too */
        } else {
            WCHECK(w, clEnqueueReadBuffer(q, y, CL_TRUE, 0, N * sizeof *out, out, 0, NULL, NULL));
        }
        for (int i = 0; i < N; i++) {
            if (out[i] != in[i] * a + b) {
                WFAIL(w, "thread %d round %d: y[%d] = %u, expected %u", w->id, round, i, out[i], in[i] * a + b);
            }
        }
    }
done:
    if (k != NULL) clReleaseKernel(k);
    if (x != NULL) clReleaseMemObject(x);
    if (y != NULL) clReleaseMemObject(y);
    if (q != NULL && !w->shared) clReleaseCommandQueue(q);
    free(in);
    free(out);
    return NULL;
}

/* Runs count workers at once; returns how many failed (each printed). */
static int run_all(int count, int shared) {
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < count; i++) {
        workers[i] = (worker) {.id = i, .shared = shared};
        if (pthread_create(&threads[i], NULL, run, &workers[i]) != 0) cltest_fail("pthread_create");
    }
    int failed = 0;
    for (int i = 0; i < count; i++) {
        pthread_join(threads[i], NULL);
        if (workers[i].failure[0] != '\0') {
            fprintf(stderr, "FAIL: %s%s\n", shared ? "shared queue: " : "", workers[i].failure);
            failed++;
        }
    }
    return failed;
}

int main(void) {
    device = cltest_device(cltest_platform());
    cl_int err;
    ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CHECK_ERR(err, "clCreateContext");
    program = clCreateProgramWithSource(ctx, 1, &SOURCE, NULL, &err);
    CHECK_ERR(err, "clCreateProgramWithSource");
    if (clBuildProgram(program, 1, &device, NULL, NULL, NULL) != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        cltest_fail("clBuildProgram: %s", log);
    }
    int failed = run_all(THREADS, 0);
    shared_queue = clCreateCommandQueue(ctx, device, 0, &err);
    CHECK_ERR(err, "clCreateCommandQueue (shared)");
    failed += run_all(SHARED_THREADS, 1);
    CHECK(clReleaseCommandQueue(shared_queue));
    CHECK(clReleaseProgram(program));
    CHECK(clReleaseContext(ctx));
    if (failed != 0) {
        return 1;
    }
    printf("threads: %d threads x %d rounds on one context, %d on one queue: all verified\n", THREADS, ROUNDS,
           SHARED_THREADS);
    return 0;
}
