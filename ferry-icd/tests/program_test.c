/* program_test.c: platform, device, context, program and kernel calls of the Ferry ICD through the real loader
 * (link with -lOpenCL; run with OCL_ICD_VENDORS naming the build directory and a live host, tests/dev-host.sh).
 * Checks the platform's and device's answers (the device name as the host's own OpenCL names it, where clinfo
 * can show that), a context, builds that succeed and fail with their logs, kernel names, argument info, binaries
 * round trip, compile and link, clSetKernelArg's errors and clCloneKernel. Exits 0 when everything passed. */
#ifndef _GNU_SOURCE /* the Makefile defines it */
#define _GNU_SOURCE
#endif
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            failures++;                                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                            \
            printf(__VA_ARGS__);                                                                                   \
            printf("\n");                                                                                          \
        }                                                                                                          \
    } while (0)
#define CHECK_ERR(call, want) do { cl_int e_ = (call); CHECK(e_ == (want), "%s = %d, want %d", #call, e_, want); } \
    while (0)

static const char *source =
    "kernel void add(global float *a, global const float *b, float s, local float *tmp) {\n"
    "    size_t i = get_global_id(0);\n"
    "    tmp[get_local_id(0)] = b[i];\n"
    "    a[i] = a[i] + tmp[get_local_id(0)] * s;\n"
    "}\n"
    "kernel void scale(global int *a, int4 n) { a[get_global_id(0)] *= n.x; }\n";

static char *platform_string(cl_platform_id p, cl_platform_info what) {
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    b[0] = 0;
    clGetPlatformInfo(p, what, 1024, b, NULL);
    return b;
}

static char *device_string(cl_device_id d, cl_device_info what) {
    static char buf[4][8192];
    static int next;
    char *b = buf[next++ % 4];
    b[0] = 0;
    clGetDeviceInfo(d, what, 8192, b, NULL);
    return b;
}

/* Is name among the devices clinfo lists without the Ferry ICD? -1: clinfo shows no native device (not checked). */
static int native_device_named(const char *name) {
    FILE *f = popen("env -u OCL_ICD_VENDORS clinfo -l 2>/dev/null", "r");
    if (!f) {
        return -1;
    }
    char line[1024];
    int devices = 0, found = 0;
    while (fgets(line, sizeof line, f)) {
        char *d = strstr(line, "Device #");
        if (!d || !(d = strchr(d, ':'))) {
            continue;
        }
        devices++;
        d += 2;
        d[strcspn(d, "\n")] = 0;
        found |= strcmp(d, name) == 0;
    }
    pclose(f);
    return devices ? found : -1;
}

static cl_program build(cl_context ctx, const char *src, const char *options, cl_int *err) {
    cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, err);
    if (!p) {
        return NULL;
    }
    *err = clBuildProgram(p, 0, NULL, options, NULL, NULL);
    return p;
}

static int notified;
static void CL_CALLBACK on_build(cl_program p, void *data) {
    (void) p;
    notified += data == (void *) &notified;
}

static void test_platform_and_device(cl_platform_id *platform, cl_device_id *device) {
    cl_uint n = 0;
    CHECK_ERR(clGetPlatformIDs(0, NULL, &n), CL_SUCCESS);
    cl_platform_id ps[16];
    CHECK_ERR(clGetPlatformIDs(16, ps, NULL), CL_SUCCESS);
    *platform = NULL;
    for (cl_uint i = 0; i < n && i < 16; i++) {
        if (strcmp(platform_string(ps[i], CL_PLATFORM_NAME), "Ferry") == 0) {
            *platform = ps[i];
        }
    }
    CHECK(*platform != NULL, "no platform named Ferry among %u", n);
    if (!*platform) {
        exit(1);
    }
    cl_platform_id p = *platform;
    CHECK(strcmp(platform_string(p, CL_PLATFORM_VENDOR), "Ferry") == 0, "vendor");
    CHECK(strncmp(platform_string(p, CL_PLATFORM_VERSION), "OpenCL 1.2 Ferry ", 17) == 0, "version %s",
          platform_string(p, CL_PLATFORM_VERSION));
    CHECK(strcmp(platform_string(p, CL_PLATFORM_EXTENSIONS), "cl_khr_icd") == 0, "extensions");
    CHECK(strcmp(platform_string(p, CL_PLATFORM_ICD_SUFFIX_KHR), "Ferry") == 0, "suffix");
    CHECK(strstr(platform_string(p, CL_PLATFORM_PROFILE), "PROFILE") != NULL, "profile");
    CHECK_ERR(clGetPlatformInfo(p, 0x7777, 0, NULL, NULL), CL_INVALID_VALUE);
    CHECK(clGetExtensionFunctionAddressForPlatform(p, "clIcdGetPlatformIDsKHR") != NULL, "clIcdGetPlatformIDsKHR");
    CHECK(clGetExtensionFunctionAddressForPlatform(p, "clNoSuchFunctionKHR") == NULL, "unknown extension function");

    cl_uint nd = 0;
    CHECK_ERR(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &nd), CL_SUCCESS);
    CHECK(nd >= 1, "devices: %u", nd);
    CHECK_ERR(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, device, NULL), CL_SUCCESS);
    CHECK_ERR(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, device, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clGetDeviceIDs(p, 0, 1, device, NULL), CL_INVALID_DEVICE_TYPE);
    cl_device_id d = *device;
    const char *name = device_string(d, CL_DEVICE_NAME);
    int native = native_device_named(name);
    CHECK(native != 0, "device name '%s' is not among the host's own devices (clinfo -l)", name);
    if (native < 0) {
        printf("note: clinfo shows no native OpenCL device here: device name '%s' not compared\n", name);
    }
    cl_platform_id dp = NULL;
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_PLATFORM, sizeof dp, &dp, NULL), CL_SUCCESS);
    CHECK(dp == p, "CL_DEVICE_PLATFORM");
    cl_device_id parent = (cl_device_id) 1;
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_PARENT_DEVICE, sizeof parent, &parent, NULL), CL_SUCCESS);
    CHECK(parent == NULL, "parent device");
    CHECK(strncmp(device_string(d, CL_DEVICE_VERSION), "OpenCL 1.2 Ferry (host device: ", 31) == 0, "version %s",
          device_string(d, CL_DEVICE_VERSION));
    CHECK(strncmp(device_string(d, CL_DEVICE_OPENCL_C_VERSION), "OpenCL C 1.", 11) == 0, "C version %s",
          device_string(d, CL_DEVICE_OPENCL_C_VERSION));
    const char *ext = device_string(d, CL_DEVICE_EXTENSIONS);
    CHECK(strstr(ext, "cl_khr_icd") && !strstr(ext, "cl_khr_command_buffer") && !strstr(ext, "cl_khr_spir")
              && !strstr(ext, "cl_khr_il_program") && !strstr(ext, "subgroups"),
          "extensions '%s'", ext);
    cl_uint u = 9;
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_REFERENCE_COUNT, sizeof u, &u, NULL), CL_SUCCESS);
    CHECK(u == 1, "device reference count %u", u);
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof u, &u, NULL), CL_SUCCESS);
    CHECK(u == 0, "sub-devices %u", u);
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL), CL_SUCCESS);
    CHECK(u >= 1, "compute units %u", u);
    size_t sizes[3] = { 0, 0, 0 };
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof sizes, sizes, NULL), CL_SUCCESS);
    CHECK(sizes[0] >= 1, "work-item sizes");
    cl_device_svm_capabilities svm = 1;
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_SVM_CAPABILITIES, sizeof svm, &svm, NULL), CL_SUCCESS);
    CHECK(svm == 0, "svm %llu", (unsigned long long) svm);
    char small[2];
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof small, small, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clGetDeviceInfo(d, 0x7777, sizeof u, &u, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clGetDeviceInfo(NULL, CL_DEVICE_NAME, 0, NULL, NULL), CL_INVALID_DEVICE);
    cl_device_partition_property equally[] = { CL_DEVICE_PARTITION_EQUALLY, 1, 0 };
    cl_device_id sub[4];
    cl_uint nsub;
    CHECK(clCreateSubDevices(d, equally, 4, sub, &nsub) != CL_SUCCESS, "sub-devices made");
    CHECK_ERR(clRetainDevice(d), CL_SUCCESS);
    CHECK_ERR(clReleaseDevice(d), CL_SUCCESS);
}

static cl_context test_context(cl_platform_id p, cl_device_id d) {
    cl_int err;
    cl_context_properties bad[] = { CL_CONTEXT_PLATFORM, (cl_context_properties) d, 0 };
    CHECK(clCreateContext(bad, 1, &d, NULL, NULL, &err) == NULL && err == CL_INVALID_PLATFORM, "bad platform %d",
          err);
    CHECK(clCreateContext(NULL, 0, &d, NULL, NULL, &err) == NULL && err == CL_INVALID_VALUE, "no devices %d", err);
    cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties) p, 0 };
    cl_context ctx = clCreateContext(props, 1, &d, NULL, NULL, &err);
    CHECK(ctx && err == CL_SUCCESS, "clCreateContext %d", err);
    if (!ctx) {
        exit(1);
    }
    cl_context_properties got[3] = { 0, 0, 0 };
    size_t n = 0;
    CHECK_ERR(clGetContextInfo(ctx, CL_CONTEXT_PROPERTIES, sizeof got, got, &n), CL_SUCCESS);
    CHECK(n == sizeof props && got[1] == props[1], "properties back (%zu bytes)", n);
    cl_device_id cd = NULL;
    CHECK_ERR(clGetContextInfo(ctx, CL_CONTEXT_DEVICES, sizeof cd, &cd, NULL), CL_SUCCESS);
    CHECK(cd == d, "context device");
    CHECK_ERR(clRetainContext(ctx), CL_SUCCESS);
    cl_uint refs = 0;
    CHECK_ERR(clGetContextInfo(ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL), CL_SUCCESS);
    CHECK(refs == 2, "context refs %u", refs);
    CHECK_ERR(clReleaseContext(ctx), CL_SUCCESS);
    cl_context other = clCreateContextFromType(props, CL_DEVICE_TYPE_ALL, NULL, NULL, &err);
    CHECK(other && err == CL_SUCCESS, "clCreateContextFromType %d", err);
    if (other) {
        CHECK_ERR(clReleaseContext(other), CL_SUCCESS);
    }
    return ctx;
}

static void test_builds(cl_context ctx, cl_device_id d) {
    cl_int err;
    cl_program bad = clCreateProgramWithSource(ctx, 1, (const char *[]) { "kernel void f(global int *a) { a[0] = nope; }" },
                                               NULL, &err);
    CHECK(bad && err == CL_SUCCESS, "create %d", err);
    notified = 0;
    CHECK_ERR(clBuildProgram(bad, 1, &d, NULL, on_build, &notified), CL_BUILD_PROGRAM_FAILURE);
    CHECK(notified == 1, "build callback called %d times", notified);
    cl_build_status st = 0;
    CHECK_ERR(clGetProgramBuildInfo(bad, d, CL_PROGRAM_BUILD_STATUS, sizeof st, &st, NULL), CL_SUCCESS);
    CHECK(st == CL_BUILD_ERROR, "status %d", st);
    char log[16384] = "";
    CHECK_ERR(clGetProgramBuildInfo(bad, d, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL), CL_SUCCESS);
    CHECK(strstr(log, "nope") != NULL, "build log names the error: '%s'", log);
    CHECK(clCreateKernel(bad, "f", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "kernel of failed %d", err);
    CHECK_ERR(clBuildProgram(bad, 0, NULL, "-fplugin=x.so", NULL, NULL), CL_INVALID_BUILD_OPTIONS);
    CHECK_ERR(clReleaseProgram(bad), CL_SUCCESS);
    CHECK(clCreateProgramWithSource(ctx, 0, NULL, NULL, &err) == NULL && err == CL_INVALID_VALUE, "no source");
    CHECK(clCreateProgramWithIL(ctx, "x", 1, &err) == NULL && err == CL_INVALID_OPERATION, "IL %d", err);
}

static void test_kernels(cl_context ctx, cl_device_id d) {
    cl_int err;
    /* the guest's include directory is dropped (pyopencl passes its own to every build) */
    cl_program p = build(ctx, source, "-D UNUSED=1 -I /usr/include -cl-kernel-arg-info", &err);
    CHECK(err == CL_SUCCESS, "build %d", err);
    char text[4096];
    CHECK_ERR(clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_OPTIONS, sizeof text, text, NULL), CL_SUCCESS);
    CHECK(strcmp(text, "-D UNUSED=1 -I /usr/include -cl-kernel-arg-info") == 0, "options '%s'", text);
    CHECK_ERR(clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, sizeof text, text, NULL), CL_SUCCESS);
    size_t nk = 0;
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_NUM_KERNELS, sizeof nk, &nk, NULL), CL_SUCCESS);
    CHECK(nk == 2, "kernels %zu", nk);
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, sizeof text, text, NULL), CL_SUCCESS);
    CHECK(strstr(text, "add") && strstr(text, "scale"), "names '%s'", text);
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_SOURCE, sizeof text, text, NULL), CL_SUCCESS);
    CHECK(strcmp(text, source) == 0, "source back");
    cl_kernel all[2];
    cl_uint made = 0;
    CHECK_ERR(clCreateKernelsInProgram(p, 1, all, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clCreateKernelsInProgram(p, 2, all, &made), CL_SUCCESS);
    CHECK(made == 2, "made %u", made);
    CHECK_ERR(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION); /* kernels attached */
    for (cl_uint i = 0; i < made && i < 2; i++) {
        clReleaseKernel(all[i]);
    }
    CHECK(clCreateKernel(p, "nope", &err) == NULL && err == CL_INVALID_KERNEL_NAME, "unknown kernel %d", err);
    cl_kernel k = clCreateKernel(p, "add", &err);
    CHECK(k && err == CL_SUCCESS, "clCreateKernel %d", err);
    if (!k) {
        return;
    }
    cl_uint nargs = 0;
    CHECK_ERR(clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL), CL_SUCCESS);
    CHECK(nargs == 4, "args %u", nargs);
    CHECK_ERR(clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof text, text, NULL), CL_SUCCESS);
    CHECK(strcmp(text, "add") == 0, "name '%s'", text);
    cl_kernel_arg_address_qualifier aq = 0;
    CHECK_ERR(clGetKernelArgInfo(k, 0, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL), CL_SUCCESS);
    CHECK(aq == CL_KERNEL_ARG_ADDRESS_GLOBAL, "arg 0 address %x", aq);
    CHECK_ERR(clGetKernelArgInfo(k, 3, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL), CL_SUCCESS);
    CHECK(aq == CL_KERNEL_ARG_ADDRESS_LOCAL, "arg 3 address %x", aq);
    CHECK_ERR(clGetKernelArgInfo(k, 0, CL_KERNEL_ARG_TYPE_NAME, sizeof text, text, NULL), CL_SUCCESS);
    CHECK(strcmp(text, "float*") == 0, "arg 0 type '%s'", text);
    CHECK_ERR(clGetKernelArgInfo(k, 1, CL_KERNEL_ARG_NAME, sizeof text, text, NULL), CL_SUCCESS);
    CHECK(strcmp(text, "b") == 0, "arg 1 name '%s'", text);
    cl_kernel_arg_type_qualifier tq = 0;
    CHECK_ERR(clGetKernelArgInfo(k, 1, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof tq, &tq, NULL), CL_SUCCESS);
    CHECK(tq & CL_KERNEL_ARG_TYPE_CONST, "arg 1 const");
    CHECK_ERR(clGetKernelArgInfo(k, 4, CL_KERNEL_ARG_NAME, sizeof text, text, NULL), CL_INVALID_ARG_INDEX);

    /* clSetKernelArg's checks */
    float s = 2;
    double dbl = 2;
    struct { void *a, *b; unsigned c[8]; } fake = { 0 };
    cl_mem bogus = (cl_mem) &fake;
    CHECK_ERR(clSetKernelArg(k, 4, sizeof s, &s), CL_INVALID_ARG_INDEX);
    CHECK_ERR(clSetKernelArg(k, 0, 4, &s), CL_INVALID_ARG_SIZE);
    CHECK_ERR(clSetKernelArg(k, 0, sizeof bogus, &bogus), CL_INVALID_MEM_OBJECT);
    CHECK_ERR(clSetKernelArg(k, 2, sizeof dbl, &dbl), CL_INVALID_ARG_SIZE);
    CHECK_ERR(clSetKernelArg(k, 2, sizeof s, NULL), CL_INVALID_ARG_VALUE);
    CHECK_ERR(clSetKernelArg(k, 3, 64, &s), CL_INVALID_ARG_VALUE);
    CHECK_ERR(clSetKernelArg(k, 3, 0, NULL), CL_INVALID_ARG_SIZE);
    CHECK_ERR(clSetKernelArg(k, 0, sizeof(cl_mem), NULL), CL_SUCCESS); /* a NULL buffer */
    CHECK_ERR(clSetKernelArg(k, 2, sizeof s, &s), CL_SUCCESS);
    CHECK_ERR(clSetKernelArg(k, 3, 64, NULL), CL_SUCCESS);
    CHECK_ERR(clSetKernelArgSVMPointer(k, 0, NULL), CL_INVALID_OPERATION);

    size_t wg = 0, cwg[3] = { 9, 9, 9 };
    CHECK_ERR(clGetKernelWorkGroupInfo(k, d, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL), CL_SUCCESS);
    CHECK(wg >= 1, "work-group size %zu", wg);
    CHECK_ERR(clGetKernelWorkGroupInfo(k, NULL, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof cwg, cwg, NULL), CL_SUCCESS);
    CHECK(cwg[0] == 0, "compile work-group size %zu", cwg[0]);

    cl_kernel clone = clCloneKernel(k, &err);
    CHECK(clone && err == CL_SUCCESS, "clone %d", err);
    if (clone) {
        CHECK_ERR(clGetKernelInfo(clone, CL_KERNEL_FUNCTION_NAME, sizeof text, text, NULL), CL_SUCCESS);
        CHECK(strcmp(text, "add") == 0, "clone name '%s'", text);
        /* a synchronous call after the replayed arguments: they were accepted */
        CHECK_ERR(clGetKernelWorkGroupInfo(clone, d, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL), CL_SUCCESS);
        CHECK_ERR(clReleaseKernel(clone), CL_SUCCESS);
    }
    cl_kernel sk = clCreateKernel(p, "scale", &err);
    if (sk) {
        int v[4] = { 3, 0, 0, 0 };
        CHECK_ERR(clSetKernelArg(sk, 1, sizeof(int), v), CL_INVALID_ARG_SIZE); /* int4 is 16 bytes */
        CHECK_ERR(clSetKernelArg(sk, 1, sizeof v, v), CL_SUCCESS);
        clReleaseKernel(sk);
    }
    cl_uint refs = 0;
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_REFERENCE_COUNT, sizeof refs, &refs, NULL), CL_SUCCESS);
    CHECK(refs == 2, "program refs with a kernel: %u", refs);
    CHECK_ERR(clReleaseKernel(k), CL_SUCCESS);
    CHECK_ERR(clReleaseProgram(p), CL_SUCCESS);
}

/* Arguments set on a kernel, cloned, and the clone run: its results show the replayed arguments. */
static void test_clone_runs(cl_context ctx, cl_device_id d) {
    cl_int err;
    cl_program p = build(ctx, source, NULL, &err);
    cl_kernel k = clCreateKernel(p, "add", &err);
    cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
    CHECK(q && err == CL_SUCCESS, "queue %d", err);
    float a[64], b[64], s = 3;
    for (int i = 0; i < 64; i++) {
        a[i] = (float) i;
        b[i] = 1;
    }
    cl_mem ma = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof a, a, &err);
    cl_mem mb = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof b, b, &err);
    CHECK(ma && mb, "buffers %d", err);
    if (!q || !ma || !mb || !k) {
        return;
    }
    CHECK_ERR(clSetKernelArg(k, 0, sizeof ma, &ma), CL_SUCCESS);
    CHECK_ERR(clSetKernelArg(k, 1, sizeof mb, &mb), CL_SUCCESS);
    CHECK_ERR(clSetKernelArg(k, 2, sizeof s, &s), CL_SUCCESS);
    CHECK_ERR(clSetKernelArg(k, 3, 16 * sizeof(float), NULL), CL_SUCCESS);
    cl_kernel clone = clCloneKernel(k, &err);
    CHECK(clone && err == CL_SUCCESS, "clone %d", err);
    clReleaseKernel(k); /* the clone keeps its own arguments */
    size_t global = 64, local = 16;
    CHECK_ERR(clEnqueueNDRangeKernel(q, clone, 1, NULL, &global, &local, 0, NULL, NULL), CL_SUCCESS);
    float out[64];
    CHECK_ERR(clEnqueueReadBuffer(q, ma, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL), CL_SUCCESS);
    int wrong = 0;
    for (int i = 0; i < 64; i++) {
        wrong += out[i] != (float) i + 3;
    }
    CHECK(wrong == 0, "clone's results: %d wrong (out[1] = %g)", wrong, out[1]);
    clReleaseKernel(clone);
    clReleaseMemObject(ma);
    clReleaseMemObject(mb);
    clReleaseCommandQueue(q);
    clReleaseProgram(p);
}

/* Image and sampler arguments: a read through them. */
static void test_image_args(cl_context ctx, cl_device_id d) {
    cl_bool images = CL_FALSE;
    clGetDeviceInfo(d, CL_DEVICE_IMAGE_SUPPORT, sizeof images, &images, NULL);
    if (!images) {
        printf("note: the device has no images: image and sampler arguments not checked\n");
        return;
    }
    cl_int err;
    const char *src = "kernel void r(read_only image2d_t im, sampler_t s, global float4 *o) {\n"
                      "    o[0] = read_imagef(im, s, (int2)(1, 0));\n}\n";
    cl_program p = build(ctx, src, NULL, &err);
    CHECK(err == CL_SUCCESS, "image program %d", err);
    cl_kernel k = clCreateKernel(p, "r", &err);
    cl_image_format fmt = { CL_RGBA, CL_FLOAT };
    cl_image_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.image_type = CL_MEM_OBJECT_IMAGE2D;
    desc.image_width = 2;
    desc.image_height = 1;
    float pixels[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    cl_mem im = clCreateImage(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, &fmt, &desc, pixels, &err);
    CHECK(im && err == CL_SUCCESS, "image %d", err);
    cl_sampler smp = clCreateSampler(ctx, CL_FALSE, CL_ADDRESS_CLAMP_TO_EDGE, CL_FILTER_NEAREST, &err);
    CHECK(smp && err == CL_SUCCESS, "sampler %d", err);
    cl_mem out = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, 4 * sizeof(float), NULL, &err);
    cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
    if (!k || !im || !smp || !out || !q) {
        return;
    }
    CHECK_ERR(clSetKernelArg(k, 0, sizeof out, &out), CL_INVALID_MEM_OBJECT); /* a buffer for an image */
    CHECK_ERR(clSetKernelArg(k, 1, sizeof im, &im), CL_INVALID_SAMPLER);
    CHECK_ERR(clSetKernelArg(k, 1, 4, &smp), CL_INVALID_ARG_SIZE);
    CHECK_ERR(clSetKernelArg(k, 2, sizeof smp, &smp), CL_INVALID_MEM_OBJECT); /* a sampler for a buffer */
    CHECK_ERR(clSetKernelArg(k, 0, sizeof im, &im), CL_SUCCESS);
    CHECK_ERR(clSetKernelArg(k, 1, sizeof smp, &smp), CL_SUCCESS);
    CHECK_ERR(clSetKernelArg(k, 2, sizeof out, &out), CL_SUCCESS);
    CHECK_ERR(clEnqueueTask(q, k, 0, NULL, NULL), CL_SUCCESS);
    float got[4] = { 0, 0, 0, 0 };
    CHECK_ERR(clEnqueueReadBuffer(q, out, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL), CL_SUCCESS);
    CHECK(got[0] == 5 && got[3] == 8, "read through image and sampler: %g %g %g %g", got[0], got[1], got[2], got[3]);
    clReleaseCommandQueue(q);
    clReleaseMemObject(out);
    clReleaseSampler(smp);
    clReleaseMemObject(im);
    clReleaseKernel(k);
    clReleaseProgram(p);
}

static void test_binaries(cl_context ctx, cl_device_id d) {
    cl_int err;
    cl_program p = build(ctx, source, NULL, &err);
    CHECK(err == CL_SUCCESS, "build %d", err);
    size_t size = 0;
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL), CL_SUCCESS);
    CHECK(size > 0, "binary size %zu", size);
    unsigned char *bin = malloc(size ? size : 1);
    unsigned char *bins[1] = { bin };
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL), CL_SUCCESS);
    clReleaseProgram(p);
    cl_int status = 1;
    const unsigned char *cbins[1] = { bin };
    cl_program q = clCreateProgramWithBinary(ctx, 1, &d, &size, cbins, &status, &err);
    CHECK(q && err == CL_SUCCESS && status == CL_SUCCESS, "from binary %d %d", err, status);
    if (q) {
        CHECK_ERR(clBuildProgram(q, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
        cl_program_binary_type type = 0;
        CHECK_ERR(clGetProgramBuildInfo(q, d, CL_PROGRAM_BINARY_TYPE, sizeof type, &type, NULL), CL_SUCCESS);
        CHECK(type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE, "binary type %llu", (unsigned long long) type);
        cl_kernel k = clCreateKernel(q, "scale", &err);
        CHECK(k && err == CL_SUCCESS, "kernel from binary %d", err);
        if (k) {
            clReleaseKernel(k);
        }
        clReleaseProgram(q);
    }
    unsigned char junk[64];
    memset(junk, 0x5a, sizeof junk);
    size_t jn = sizeof junk;
    const unsigned char *jb[1] = { junk };
    status = 1;
    cl_program j = clCreateProgramWithBinary(ctx, 1, &d, &jn, jb, &status, &err);
    if (j) { /* some compilers take any bytes until the build */
        CHECK(clBuildProgram(j, 0, NULL, NULL, NULL, NULL) != CL_SUCCESS, "junk binary built");
        clReleaseProgram(j);
    } else {
        CHECK(err == CL_INVALID_BINARY && status == CL_INVALID_BINARY, "junk binary %d %d", err, status);
    }
    free(bin);
}

static void test_compile_link(cl_context ctx, cl_device_id d) {
    cl_int err;
    const char *hsrc = "#define K 3\n";
    const char *msrc = "#include \"k.h\"\nkernel void k(global int *a) { a[0] = K; }\n";
    cl_program h = clCreateProgramWithSource(ctx, 1, &hsrc, NULL, &err);
    cl_program m = clCreateProgramWithSource(ctx, 1, &msrc, NULL, &err);
    const char *names[1] = { "k.h" };
    CHECK_ERR(clCompileProgram(m, 1, &d, NULL, 1, &h, names, NULL, NULL), CL_SUCCESS);
    cl_program_binary_type type = 0;
    CHECK_ERR(clGetProgramBuildInfo(m, d, CL_PROGRAM_BINARY_TYPE, sizeof type, &type, NULL), CL_SUCCESS);
    CHECK(type == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT, "compiled type %llu", (unsigned long long) type);
    CHECK(clCreateKernel(m, "k", &err) == NULL && err == CL_INVALID_PROGRAM_EXECUTABLE, "kernel of object %d", err);
    notified = 0;
    cl_program linked = clLinkProgram(ctx, 1, &d, NULL, 1, &m, on_build, &notified, &err);
    CHECK(linked && err == CL_SUCCESS, "link %d", err);
    CHECK(notified == 1, "link callback");
    if (linked) {
        CHECK_ERR(clGetProgramBuildInfo(linked, d, CL_PROGRAM_BINARY_TYPE, sizeof type, &type, NULL), CL_SUCCESS);
        CHECK(type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE, "linked type %llu", (unsigned long long) type);
        cl_kernel k = clCreateKernel(linked, "k", &err);
        CHECK(k && err == CL_SUCCESS, "kernel of linked %d", err);
        if (k) {
            clReleaseKernel(k);
        }
        clReleaseProgram(linked);
    }
    cl_program unbuilt = clCreateProgramWithSource(ctx, 1, &msrc, NULL, &err);
    CHECK(clLinkProgram(ctx, 0, NULL, NULL, 1, &unbuilt, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION,
          "link of an uncompiled program %d", err);
    const char *broken = "kernel void k(global int *a) { a[0] = K; }\n"; /* K undefined without the header */
    cl_program b = clCreateProgramWithSource(ctx, 1, &broken, NULL, &err);
    CHECK_ERR(clCompileProgram(b, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL), CL_COMPILE_PROGRAM_FAILURE);
    clReleaseProgram(b);
    clReleaseProgram(unbuilt);
    clReleaseProgram(m);
    clReleaseProgram(h);
}

/* Threads sharing one program: kernels made, arguments set, queries and releases at once. */
struct shared { cl_program program; cl_device_id device; int errors; pthread_mutex_t lock; };

static void *worker(void *arg) {
    struct shared *sh = arg;
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        cl_int err;
        cl_kernel k = clCreateKernel(sh->program, i % 2 ? "add" : "scale", &err);
        if (!k) {
            bad++;
            continue;
        }
        float s = 1;
        int v[4] = { 1, 2, 3, 4 };
        bad += (i % 2 ? clSetKernelArg(k, 2, sizeof s, &s) : clSetKernelArg(k, 1, sizeof v, v)) != CL_SUCCESS;
        char name[64];
        bad += clGetDeviceInfo(sh->device, CL_DEVICE_NAME, sizeof name, name, NULL) != CL_SUCCESS;
        cl_kernel_arg_address_qualifier aq;
        bad += clGetKernelArgInfo(k, 0, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL) != CL_SUCCESS;
        bad += clReleaseKernel(k) != CL_SUCCESS;
    }
    pthread_mutex_lock(&sh->lock);
    sh->errors += bad;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

static void test_threads(cl_context ctx, cl_device_id d) {
    cl_int err;
    struct shared sh = { build(ctx, source, "-cl-kernel-arg-info", &err), d, 0, PTHREAD_MUTEX_INITIALIZER };
    CHECK(err == CL_SUCCESS, "build %d", err);
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        pthread_create(&t[i], NULL, worker, &sh);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(sh.errors == 0, "%d calls failed in threads", sh.errors);
    cl_uint refs = 0;
    CHECK_ERR(clGetProgramInfo(sh.program, CL_PROGRAM_REFERENCE_COUNT, sizeof refs, &refs, NULL), CL_SUCCESS);
    CHECK(refs == 1, "program refs after the threads: %u", refs);
    clReleaseProgram(sh.program);
}

/* What the specification (and a conformance suite, piglit's) asks where the host's device says otherwise: kernels see
 * the platform's OpenCL version, argument info only for a program built asking for it, no link of an executable, an
 * allocation beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE refused as a bad size. */
static void test_as_the_platform_says(cl_context ctx, cl_device_id d) {
    static const char *src =
        "__kernel void v(__global int *o) {\n"
        "    o[0] = __OPENCL_VERSION__;\n"
        "    o[1] = __LINE__;\n"
        "}\n";
    cl_int err;
    cl_program p = build(ctx, src, "-D UNUSED=1", &err);
    CHECK(err == CL_SUCCESS, "build %d", err);
    cl_kernel k = clCreateKernel(p, "v", &err);
    CHECK(k && err == CL_SUCCESS, "clCreateKernel %d", err);
    if (!k) {
        return;
    }
    cl_kernel_arg_address_qualifier aq;
    CHECK_ERR(clGetKernelArgInfo(k, 0, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq, NULL),
              CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
    /* an executable is no input of a link: only compiled objects and libraries are */
    CHECK(clLinkProgram(ctx, 0, NULL, "", 1, &p, NULL, NULL, &err) == NULL && err == CL_INVALID_OPERATION,
          "linking an executable: %d", err);
    cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
    cl_mem b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2 * sizeof(cl_int), NULL, &err);
    CHECK_ERR(clSetKernelArg(k, 0, sizeof b, &b), CL_SUCCESS);
    size_t one = 1;
    CHECK_ERR(clEnqueueNDRangeKernel(q, k, 1, NULL, &one, NULL, 0, NULL, NULL), CL_SUCCESS);
    cl_int got[2] = { 0, 0 };
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL), CL_SUCCESS);
    char version[256] = "";
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_VERSION, sizeof version, version, NULL), CL_SUCCESS);
    int major = 0, minor = 0;
    CHECK(sscanf(version, "OpenCL %d.%d", &major, &minor) == 2, "device version '%s'", version);
    CHECK(got[0] == major * 100 + minor * 10, "__OPENCL_VERSION__ %d in a kernel, device '%s'", got[0], version);
    CHECK(got[1] == 3, "__LINE__ %d, the source's line 3", got[1]);
    cl_ulong max_alloc = 0;
    CHECK_ERR(clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL), CL_SUCCESS);
    CHECK(clCreateBuffer(ctx, CL_MEM_READ_WRITE, (size_t) max_alloc + 1, NULL, &err) == NULL
          && err == CL_INVALID_BUFFER_SIZE, "a buffer beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE: %d", err);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    clReleaseKernel(k);
    clReleaseProgram(p);
}

/* A source larger than a record carries (half the 256 KiB command ring): through the heap (PROGRAM_CREATE_HEAP),
 * built, run, and CL_PROGRAM_SOURCE is still the application's text. */
static void test_large_source(cl_context ctx, cl_device_id d) {
    static const char line[] = "// a long comment line, to make the source larger than a record carries .........\n";
    static const char kernel[] =
        "__kernel void seven(__global int *o) { o[get_global_id(0)] = 7 * (int) get_global_id(0); }\n";
    size_t lines = (300u << 10) / (sizeof line - 1);
    size_t n = lines * (sizeof line - 1) + sizeof kernel - 1;
    char *src = malloc(n + 1);
    for (size_t i = 0; i < lines; i++) {
        memcpy(src + i * (sizeof line - 1), line, sizeof line - 1);
    }
    memcpy(src + lines * (sizeof line - 1), kernel, sizeof kernel);
    cl_int err;
    const char *text = src;
    cl_program p = clCreateProgramWithSource(ctx, 1, &text, NULL, &err);
    CHECK(p && err == CL_SUCCESS, "a source of %zu bytes: %d", n, err);
    if (!p) {
        free(src);
        return;
    }
    CHECK_ERR(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
    size_t back = 0;
    CHECK_ERR(clGetProgramInfo(p, CL_PROGRAM_SOURCE, 0, NULL, &back), CL_SUCCESS);
    CHECK(back == n + 1, "CL_PROGRAM_SOURCE of %zu bytes, the source has %zu", back, n + 1);
    cl_kernel k = clCreateKernel(p, "seven", &err);
    cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
    cl_mem b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64 * sizeof(cl_int), NULL, &err);
    CHECK_ERR(clSetKernelArg(k, 0, sizeof b, &b), CL_SUCCESS);
    size_t global = 64;
    CHECK_ERR(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL), CL_SUCCESS);
    cl_int got[64] = { 0 };
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL), CL_SUCCESS);
    for (int i = 0; i < 64; i++) {
        CHECK(got[i] == 7 * i, "item %d: %d", i, got[i]);
    }
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    clReleaseKernel(k);
    clReleaseProgram(p);
    free(src);
}

/* Macro values as real programs pass them (OpenCV's filters: -D COEFF=DIG(9)DIG(29)...) and a function-like macro:
 * each only the body of a #define, so the host lets them through and the kernel sees them. */
static void test_macro_options(cl_context ctx, cl_device_id d) {
    static const char src[] = "#define DIG(x) x+\n"
                              "__kernel void m(__global int *o) { o[0] = COEFF 0; o[1] = F(6, 7); }\n";
    cl_int err;
    const char *text = src;
    cl_program p = clCreateProgramWithSource(ctx, 1, &text, NULL, &err);
    CHECK_ERR(clBuildProgram(p, 1, &d, "-D 1N=2", NULL, NULL), CL_INVALID_BUILD_OPTIONS);
    /* allowed by the host, refused by some compilers (PoCL 3.1: CL_INVALID_BUILD_OPTIONS, passed on as the device
     * said it), taken by others */
    err = clBuildProgram(p, 1, &d, "-cl-std=CL1.0", NULL, NULL);
    CHECK(err == CL_SUCCESS || err == CL_INVALID_BUILD_OPTIONS, "-cl-std=CL1.0: %d", err);
    CHECK_ERR(clBuildProgram(p, 1, &d, "-D COEFF=DIG(9)DIG(-29)DIG(55) -DF(a,b)=((a)*(b))", NULL, NULL),
              CL_SUCCESS);
    cl_kernel k = clCreateKernel(p, "m", &err);
    CHECK(k && err == CL_SUCCESS, "kernel of a program built with macros: %d", err);
    cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
    cl_mem b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 2 * sizeof(cl_int), NULL, &err);
    CHECK_ERR(clSetKernelArg(k, 0, sizeof b, &b), CL_SUCCESS);
    size_t one = 1;
    CHECK_ERR(clEnqueueNDRangeKernel(q, k, 1, NULL, &one, NULL, 0, NULL, NULL), CL_SUCCESS);
    cl_int got[2] = { 0 };
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL), CL_SUCCESS);
    CHECK(got[0] == 35 && got[1] == 42, "macros gave %d %d, want 35 42", got[0], got[1]);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    clReleaseKernel(k);
    clReleaseProgram(p);
}

int main(void) {
    cl_platform_id p;
    cl_device_id d;
    test_platform_and_device(&p, &d);
    cl_context ctx = test_context(p, d);
    test_builds(ctx, d);
    test_kernels(ctx, d);
    test_clone_runs(ctx, d);
    test_image_args(ctx, d);
    test_binaries(ctx, d);
    test_compile_link(ctx, d);
    test_threads(ctx, d);
    test_as_the_platform_says(ctx, d);
    test_large_source(ctx, d);
    test_macro_options(ctx, d);
    CHECK_ERR(clReleaseContext(ctx), CL_SUCCESS);
    if (failures) {
        printf("program_test: %d failed\n", failures);
        return 1;
    }
    printf("program_test: passed\n");
    return 0;
}
