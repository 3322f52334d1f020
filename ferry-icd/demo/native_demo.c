/* native_demo.c: a plain OpenCL 1.2 program (no Ferry headers, nothing Ferry-specific) that `./ferry native-demo`
 * runs through Ferry's ICD. It runs unchanged on any OpenCL platform, which is the point: it proves the ICD serves
 * unmodified OpenCL programs. Four parts, each checked against a CPU reference, one line each:
 *   vadd       vector add through ordinary buffers and blocking writes/reads
 *   reduce     a work-group reduction in __local memory (partial sums per group, total on the CPU)
 *   map        map/unmap of a CL_MEM_ALLOC_HOST_PTR buffer and of an ordinary one, with a kernel in between
 *   profiling  two dependent kernels with events: status, and QUEUED <= SUBMIT <= START <= END, first before second
 * Usage: native_demo [PLATFORM-NAME-SUBSTRING]   (default: the first platform that has a device)
 * Exit status: 0 when every part verified, 1 on a mismatch, 2 on an OpenCL error. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N (1u << 20)

static const char *SOURCE =
    "__kernel void vadd(__global const float *a, __global const float *b, __global float *c, uint n) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i < n) c[i] = a[i] + b[i];\n"
    "}\n"
    "__kernel void reduce(__global const uint *in, __global uint *partial, __local uint *scratch, uint n) {\n"
    "    size_t g = get_global_id(0), l = get_local_id(0), size = get_local_size(0);\n"
    "    scratch[l] = g < n ? in[g] : 0u;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    for (size_t s = size / 2; s > 0; s /= 2) {\n"
    "        if (l < s) scratch[l] += scratch[l + s];\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    }\n"
    "    if (l == 0) partial[get_group_id(0)] = scratch[0];\n"
    "}\n"
    "__kernel void affine(__global int *x, int mul, int add) {\n"
    "    size_t i = get_global_id(0);\n"
    "    x[i] = x[i] * mul + add;\n"
    "}\n";

static int failures;

/* An OpenCL error ends the program (status 2): the part cannot be verified. */
static void check(cl_int err, const char *what) {
    if (err != CL_SUCCESS) {
        printf("native_demo: %s failed: OpenCL error %d\n", what, (int)err);
        exit(2);
    }
}

static void verdict(const char *part, int ok, const char *detail) {
    printf("%-9s %s  %s\n", part, ok ? "verified" : "FAILED  ", detail);
    if (!ok) failures++;
}

static cl_device_id pick_device(const char *want, cl_platform_id *platform_out) {
    cl_uint count = 0;
    check(clGetPlatformIDs(0, NULL, &count), "clGetPlatformIDs");
    if (count == 0) {
        printf("native_demo: no OpenCL platform\n");
        exit(2);
    }
    cl_platform_id *platforms = calloc(count, sizeof *platforms);
    check(clGetPlatformIDs(count, platforms, NULL), "clGetPlatformIDs");
    for (cl_uint i = 0; i < count; i++) {
        char name[256] = "";
        check(clGetPlatformInfo(platforms[i], CL_PLATFORM_NAME, sizeof name, name, NULL), "clGetPlatformInfo");
        if (want != NULL && strstr(name, want) == NULL) continue;
        cl_device_id device;
        cl_uint devices = 0;
        if (clGetDeviceIDs(platforms[i], CL_DEVICE_TYPE_ALL, 1, &device, &devices) == CL_SUCCESS && devices > 0) {
            *platform_out = platforms[i];
            free(platforms);
            return device;
        }
    }
    printf("native_demo: no platform %s%s%swith a device\n", want ? "named '" : "", want ? want : "", want ? "' " : "");
    exit(2);
}

static void part_vadd(cl_context ctx, cl_command_queue q, cl_program prog) {
    cl_int err;
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float)), *c = malloc(N * sizeof(float));
    for (cl_uint i = 0; i < N; i++) {
        a[i] = (float)(i % 1000) * 0.5f;
        b[i] = (float)(i % 77) - 3.0f;
    }
    cl_mem da = clCreateBuffer(ctx, CL_MEM_READ_ONLY, N * sizeof(float), NULL, &err);
    check(err, "clCreateBuffer(a)");
    cl_mem db = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, N * sizeof(float), b, &err);
    check(err, "clCreateBuffer(b, COPY_HOST_PTR)");
    cl_mem dc = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, N * sizeof(float), NULL, &err);
    check(err, "clCreateBuffer(c)");
    check(clEnqueueWriteBuffer(q, da, CL_TRUE, 0, N * sizeof(float), a, 0, NULL, NULL), "clEnqueueWriteBuffer");
    cl_kernel k = clCreateKernel(prog, "vadd", &err);
    check(err, "clCreateKernel(vadd)");
    cl_uint n = N;
    check(clSetKernelArg(k, 0, sizeof da, &da), "clSetKernelArg");
    check(clSetKernelArg(k, 1, sizeof db, &db), "clSetKernelArg");
    check(clSetKernelArg(k, 2, sizeof dc, &dc), "clSetKernelArg");
    check(clSetKernelArg(k, 3, sizeof n, &n), "clSetKernelArg");
    size_t global = N;
    check(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL), "clEnqueueNDRangeKernel(vadd)");
    check(clEnqueueReadBuffer(q, dc, CL_TRUE, 0, N * sizeof(float), c, 0, NULL, NULL), "clEnqueueReadBuffer");
    cl_uint bad = 0;
    for (cl_uint i = 0; i < N; i++) {
        if (c[i] != a[i] + b[i]) bad++;
    }
    char detail[128];
    snprintf(detail, sizeof detail, "n=%u, %u mismatches", N, bad);
    verdict("vadd", bad == 0, detail);
    clReleaseKernel(k);
    clReleaseMemObject(da);
    clReleaseMemObject(db);
    clReleaseMemObject(dc);
    free(a);
    free(b);
    free(c);
}

static void part_reduce(cl_context ctx, cl_command_queue q, cl_program prog, cl_device_id dev) {
    cl_int err;
    cl_kernel k = clCreateKernel(prog, "reduce", &err);
    check(err, "clCreateKernel(reduce)");
    size_t device_max = 0, kernel_max = 0;
    check(clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof device_max, &device_max, NULL),
          "clGetDeviceInfo(MAX_WORK_GROUP_SIZE)");
    check(clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max, NULL),
          "clGetKernelWorkGroupInfo");
    size_t local = 256; /* a power of two the tree in the kernel needs, no larger than the device allows */
    while (local > device_max || local > kernel_max) local /= 2;
    size_t groups = (N + local - 1) / local, global = groups * local;
    cl_uint *in = malloc(N * sizeof(cl_uint)), *partial = malloc(groups * sizeof(cl_uint));
    uint64_t expect = 0;
    for (cl_uint i = 0; i < N; i++) {
        in[i] = (i * 2654435761u) % 1024u;
        expect += in[i];
    }
    cl_mem din = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, N * sizeof(cl_uint), in, &err);
    check(err, "clCreateBuffer(in)");
    cl_mem dpart = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, groups * sizeof(cl_uint), NULL, &err);
    check(err, "clCreateBuffer(partial)");
    cl_uint n = N;
    check(clSetKernelArg(k, 0, sizeof din, &din), "clSetKernelArg");
    check(clSetKernelArg(k, 1, sizeof dpart, &dpart), "clSetKernelArg");
    check(clSetKernelArg(k, 2, local * sizeof(cl_uint), NULL), "clSetKernelArg(__local)");
    check(clSetKernelArg(k, 3, sizeof n, &n), "clSetKernelArg");
    check(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL), "clEnqueueNDRangeKernel(reduce)");
    check(clEnqueueReadBuffer(q, dpart, CL_TRUE, 0, groups * sizeof(cl_uint), partial, 0, NULL, NULL),
          "clEnqueueReadBuffer(partial)");
    uint64_t got = 0;
    for (size_t g = 0; g < groups; g++) got += partial[g];
    char detail[160];
    snprintf(detail, sizeof detail, "n=%u, %zu groups of %zu, sum %llu (expected %llu)", N, groups, local,
             (unsigned long long)got, (unsigned long long)expect);
    verdict("reduce", got == expect, detail);
    clReleaseKernel(k);
    clReleaseMemObject(din);
    clReleaseMemObject(dpart);
    free(in);
    free(partial);
}

/* Fills a buffer through a map, runs x*3+7 on it, checks it through a second map. */
static cl_uint map_round(cl_command_queue q, cl_kernel k, cl_mem buf, cl_uint count) {
    cl_int err;
    cl_int *p = clEnqueueMapBuffer(q, buf, CL_TRUE, CL_MAP_WRITE, 0, count * sizeof(cl_int), 0, NULL, NULL, &err);
    check(err, "clEnqueueMapBuffer(write)");
    for (cl_uint i = 0; i < count; i++) p[i] = (cl_int)i - 5000;
    check(clEnqueueUnmapMemObject(q, buf, p, 0, NULL, NULL), "clEnqueueUnmapMemObject");
    cl_int mul = 3, add = 7;
    check(clSetKernelArg(k, 0, sizeof buf, &buf), "clSetKernelArg");
    check(clSetKernelArg(k, 1, sizeof mul, &mul), "clSetKernelArg");
    check(clSetKernelArg(k, 2, sizeof add, &add), "clSetKernelArg");
    size_t global = count;
    check(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL), "clEnqueueNDRangeKernel(affine)");
    /* A read map of the second half only: offsets must be honoured. */
    size_t half = count / 2;
    p = clEnqueueMapBuffer(q, buf, CL_TRUE, CL_MAP_READ, half * sizeof(cl_int), (count - half) * sizeof(cl_int), 0,
                           NULL, NULL, &err);
    check(err, "clEnqueueMapBuffer(read)");
    cl_uint bad = 0;
    for (cl_uint i = (cl_uint)half; i < count; i++) {
        if (p[i - half] != ((cl_int)i - 5000) * 3 + 7) bad++;
    }
    check(clEnqueueUnmapMemObject(q, buf, p, 0, NULL, NULL), "clEnqueueUnmapMemObject");
    /* And the whole buffer by an ordinary read. */
    cl_int *all = malloc(count * sizeof(cl_int));
    check(clEnqueueReadBuffer(q, buf, CL_TRUE, 0, count * sizeof(cl_int), all, 0, NULL, NULL), "clEnqueueReadBuffer");
    for (cl_uint i = 0; i < count; i++) {
        if (all[i] != ((cl_int)i - 5000) * 3 + 7) bad++;
    }
    free(all);
    return bad;
}

static void part_map(cl_context ctx, cl_command_queue q, cl_program prog) {
    cl_int err;
    cl_uint count = 1u << 18;
    cl_kernel k = clCreateKernel(prog, "affine", &err);
    check(err, "clCreateKernel(affine)");
    cl_mem pinned = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, count * sizeof(cl_int), NULL, &err);
    check(err, "clCreateBuffer(ALLOC_HOST_PTR)");
    cl_mem plain = clCreateBuffer(ctx, CL_MEM_READ_WRITE, count * sizeof(cl_int), NULL, &err);
    check(err, "clCreateBuffer");
    cl_uint bad_pinned = map_round(q, k, pinned, count), bad_plain = map_round(q, k, plain, count);
    char detail[160];
    snprintf(detail, sizeof detail, "n=%u, ALLOC_HOST_PTR buffer %u mismatches, ordinary buffer %u mismatches", count,
             bad_pinned, bad_plain);
    verdict("map", bad_pinned == 0 && bad_plain == 0, detail);
    clReleaseKernel(k);
    clReleaseMemObject(pinned);
    clReleaseMemObject(plain);
}

static void part_profiling(cl_context ctx, cl_device_id dev, cl_program prog) {
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(ctx, dev, CL_QUEUE_PROFILING_ENABLE, &err);
    check(err, "clCreateCommandQueue(PROFILING_ENABLE)");
    cl_kernel k = clCreateKernel(prog, "affine", &err);
    check(err, "clCreateKernel(affine)");
    cl_uint count = 1u << 16;
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, count * sizeof(cl_int), NULL, &err);
    check(err, "clCreateBuffer");
    cl_int one = 1;
    check(clEnqueueFillBuffer(q, buf, &one, sizeof one, 0, count * sizeof(cl_int), 0, NULL, NULL),
          "clEnqueueFillBuffer");
    cl_int mul = 2, add = 1;
    check(clSetKernelArg(k, 0, sizeof buf, &buf), "clSetKernelArg");
    check(clSetKernelArg(k, 1, sizeof mul, &mul), "clSetKernelArg");
    check(clSetKernelArg(k, 2, sizeof add, &add), "clSetKernelArg");
    size_t global = count;
    cl_event ev[2];
    check(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &ev[0]), "clEnqueueNDRangeKernel");
    check(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 1, &ev[0], &ev[1]), "clEnqueueNDRangeKernel(wait)");
    check(clWaitForEvents(2, ev), "clWaitForEvents");
    cl_ulong t[2][4];
    const cl_profiling_info names[4] = {CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT,
                                        CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END};
    int ok = 1;
    cl_int statuses[2] = {-1, -1};
    for (int e = 0; e < 2; e++) {
        cl_int status = -1;
        check(clGetEventInfo(ev[e], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
              "clGetEventInfo(EXECUTION_STATUS)");
        statuses[e] = status;
        if (status != CL_COMPLETE) ok = 0;
        for (int i = 0; i < 4; i++) {
            check(clGetEventProfilingInfo(ev[e], names[i], sizeof(cl_ulong), &t[e][i], NULL),
                  "clGetEventProfilingInfo");
        }
        if (!(t[e][0] <= t[e][1] && t[e][1] <= t[e][2] && t[e][2] <= t[e][3])) ok = 0;
    }
    if (t[0][3] > t[1][2]) ok = 0; /* the second kernel waited for the first */
    cl_int first = 0;
    check(clEnqueueReadBuffer(q, buf, CL_TRUE, 0, sizeof first, &first, 0, NULL, NULL), "clEnqueueReadBuffer");
    if (first != (1 * 2 + 1) * 2 + 1) ok = 0;
    char detail[200];
    snprintf(detail, sizeof detail, "kernel 1 ran %.3f ms, kernel 2 %.3f ms, gap %.3f ms, result %d (expected 7)",
             (double)(t[0][3] - t[0][2]) / 1e6, (double)(t[1][3] - t[1][2]) / 1e6,
             ((double)t[1][2] - (double)t[0][3]) / 1e6, first);
    if (!ok) { /* say which check failed: each event's status and its four times */
        for (int e = 0; e < 2; e++) {
            fprintf(stderr, "profiling: event %d status %d queued %llu submit %llu start %llu end %llu\n", e + 1,
                    statuses[e], (unsigned long long)t[e][0], (unsigned long long)t[e][1],
                    (unsigned long long)t[e][2], (unsigned long long)t[e][3]);
        }
    }
    verdict("profiling", ok, detail);
    clReleaseEvent(ev[0]);
    clReleaseEvent(ev[1]);
    clReleaseKernel(k);
    clReleaseMemObject(buf);
    clReleaseCommandQueue(q);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a file: a killed run still shows how far it got */
    cl_platform_id platform;
    cl_device_id dev = pick_device(argc > 1 ? argv[1] : NULL, &platform);
    char pname[256] = "", dname[256] = "";
    check(clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof pname, pname, NULL), "clGetPlatformInfo");
    check(clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname, dname, NULL), "clGetDeviceInfo(NAME)");
    printf("platform: %s; device: %s\n", pname, dname);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    check(err, "clCreateContext");
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    check(err, "clCreateCommandQueue");
    cl_program prog = clCreateProgramWithSource(ctx, 1, &SOURCE, NULL, &err);
    check(err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &dev, "", NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[8192] = "";
        clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        printf("native_demo: build log:\n%s\n", log);
        check(err, "clBuildProgram");
    }
    part_vadd(ctx, q, prog);
    part_reduce(ctx, q, prog, dev);
    part_map(ctx, q, prog);
    part_profiling(ctx, dev, prog);
    check(clFinish(q), "clFinish");
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    printf("native_demo: %d of 4 parts verified\n", 4 - failures);
    return failures == 0 ? 0 : 1;
}
