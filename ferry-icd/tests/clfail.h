/* clfail.h: for test programs that stop at the first failure (cltest.h's checks count failures and go on): the
 * Ferry platform and its first device, and checks that print the failing call with its error code and exit 1.
 * Header-only (static functions), for programs that go through the loader (-lOpenCL). */
#ifndef FERRY_CLFAIL_H
#define FERRY_CLFAIL_H

#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints "FAIL: ..." on stderr and exits 1. */
__attribute__((format(printf, 1, 2), noreturn, unused)) static void clfail_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* CHECK(call): the call must return CL_SUCCESS. */
#define CHECK(call) do { \
        cl_int check_err_ = (call); \
        if (check_err_ != CL_SUCCESS) clfail_fail("%s:%d: %s returned %d", __FILE__, __LINE__, #call, check_err_); \
    } while (0)

/* CHECK_ERR(err): an errcode_ret the previous call filled must be CL_SUCCESS. */
#define CHECK_ERR(err, what) do { \
        if ((err) != CL_SUCCESS) clfail_fail("%s:%d: %s: error %d", __FILE__, __LINE__, (what), (int) (err)); \
    } while (0)

/* The platform named "Ferry" (OCL_ICD_VENDORS may list others); CLTEST_PLATFORM=NAME picks another (to check a
 * test itself against a native OpenCL, e.g. "Portable Computing Language"). */
__attribute__((unused)) static cl_platform_id clfail_platform(void) {
    const char *want = getenv("CLTEST_PLATFORM") != NULL ? getenv("CLTEST_PLATFORM") : "Ferry";
    cl_platform_id ids[16];
    cl_uint n = 0;
    CHECK(clGetPlatformIDs(16, ids, &n));
    for (cl_uint i = 0; i < n && i < 16; i++) {
        char name[256] = "";
        CHECK(clGetPlatformInfo(ids[i], CL_PLATFORM_NAME, sizeof name, name, NULL));
        if (strcmp(name, want) == 0) {
            return ids[i];
        }
    }
    clfail_fail("no platform named %s among %u (is OCL_ICD_VENDORS the ferry-icd build directory?)", want, n);
}

/* The Ferry platform's first device of any type. */
__attribute__((unused)) static cl_device_id clfail_device(cl_platform_id platform) {
    cl_device_id device;
    CHECK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    return device;
}

/* A context on the Ferry platform's first device (into *dev when dev is not NULL), and an in-order queue on it. */
__attribute__((unused)) static cl_command_queue clfail_queue(cl_context *ctx, cl_device_id *dev) {
    cl_device_id device = clfail_device(clfail_platform());
    if (dev) {
        *dev = device;
    }
    cl_int err;
    *ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CHECK_ERR(err, "clCreateContext");
    cl_command_queue q = clCreateCommandQueue(*ctx, device, 0, &err);
    CHECK_ERR(err, "clCreateCommandQueue");
    return q;
}

#endif
