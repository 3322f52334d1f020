/* cltest.h: what the ICD's API tests share: checks that count failures and go on, the Ferry platform through the
 * real loader (-lOpenCL, OCL_ICD_VENDORS), a context and queue on its first device, and a small kernel. */
#ifndef FERRY_CLTEST_H
#define FERRY_CLTEST_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)
#define CHECK_CL(expr) do { cl_int rc_ = (expr); CHECK(rc_ == CL_SUCCESS, "%s returned %d", #expr, rc_); } while (0)
#define CHECK_ERR(expr, want) do { cl_int rc_ = (expr); \
    CHECK(rc_ == (want), "%s returned %d, expected %d (%s)", #expr, rc_, (want), #want); } while (0)

static cl_platform_id test_platform;
static cl_device_id test_device;
static cl_context test_context;

/* The Ferry platform, its first device and a context; exits 1 when there is none. */
static void test_setup(void)
{
    cl_platform_id ps[16];
    cl_uint n = 0;
    if (clGetPlatformIDs(16, ps, &n) != CL_SUCCESS || n == 0) {
        fprintf(stderr, "no OpenCL platform: set OCL_ICD_VENDORS to the ICD's build directory and start a dev host\n");
        exit(1);
    }
    /* CLTEST_PLATFORM=NAME runs the test on another platform (the host's own, to check a test against it) */
    const char *want = getenv("CLTEST_PLATFORM") != NULL ? getenv("CLTEST_PLATFORM") : "Ferry";
    for (cl_uint i = 0; i < n; i++) {
        char name[256] = "";
        clGetPlatformInfo(ps[i], CL_PLATFORM_NAME, sizeof name, name, NULL);
        if (strstr(name, want)) {
            test_platform = ps[i];
        }
    }
    if (!test_platform || clGetDeviceIDs(test_platform, CL_DEVICE_TYPE_ALL, 1, &test_device, NULL) != CL_SUCCESS) {
        fprintf(stderr, "no %s platform or device\n", want);
        exit(1);
    }
    cl_int err;
    test_context = clCreateContext(NULL, 1, &test_device, NULL, NULL, &err);
    if (!test_context) {
        fprintf(stderr, "clCreateContext: %d\n", err);
        exit(1);
    }
}

static const char *test_kernel_source =
    "__kernel void add(__global uint *a, uint v) { size_t i = get_global_id(0); a[i] += v; }\n"
    "__kernel void spin(__global uint *a, uint n) { uint x = a[0]; for (uint i = 0; i < n; i++) x = x * 1664525u + "
    "1013904223u; a[get_global_id(0)] = x; }\n";

/* The add kernel (a[i] += v) of a program built from test_kernel_source. */
static cl_kernel test_kernel(const char *name)
{
    cl_int err;
    static cl_program p;
    if (!p) {
        p = clCreateProgramWithSource(test_context, 1, &test_kernel_source, NULL, &err);
        if (!p || clBuildProgram(p, 1, &test_device, "", NULL, NULL) != CL_SUCCESS) {
            fprintf(stderr, "building the test program failed\n");
            exit(1);
        }
    }
    cl_kernel k = clCreateKernel(p, name, &err);
    if (!k) {
        fprintf(stderr, "clCreateKernel(%s): %d\n", name, err);
        exit(1);
    }
    return k;
}

/* Deterministic bytes: pattern seed at index i. */
static void test_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

/* The first differing index of a and b, or -1. */
static long test_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return (long)i;
        }
    }
    return -1;
}

static int test_end(const char *name)
{
    if (failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, failures, checks);
        return 1;
    }
    printf("%s: %d checks passed\n", name, checks);
    return 0;
}

#endif
