/* icd_bench.c: the harness of `./ferry bench icd`. Measures the same OpenCL calls on two platforms that the standard
 * loader finds in one process: Ferry's ICD (platform "Ferry") and the host's own OpenCL (the first other platform,
 * PoCL here). The two alternate round by round, so both see the same machine, and every figure is a median over all
 * rounds. Prints one flat JSON object on stdout (keys icd_* and native_*); progress and errors go to stderr.
 *
 *   icd_bench [--quick] [--rounds N] [--ferry NAME] [--native NAME] [--mib N]
 *   icd_bench --calls-only [--rounds N]   the Ferry platform's write4 and launch+finish p50 only (see calls())
 *
 * Figures per platform (PREFIX icd or native):
 *   PREFIX_write4_us_p50/p99          blocking 4-byte clEnqueueWriteBuffer from a stack variable
 *   PREFIX_launch_finish_us_p50/p99   clEnqueueNDRangeKernel of a 64-item kernel, then clFinish
 *   PREFIX_write_gbs, PREFIX_read_gbs  blocking transfers of N MiB (64) from/to ordinary malloc'd memory
 *   PREFIX_map_gbs                    a CL_MEM_ALLOC_HOST_PTR buffer: map for write, fill N MiB, unmap, finish
 *   PREFIX_enqueues_per_s             non-blocking NDRange enqueues, then one clFinish
 * --ferry / --native name other platforms (e.g. the same one twice, to try the harness without a Ferry host).
 * Exit status 0 when every call succeeded and the data read back is what was written. */
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KERNEL_SOURCE "__kernel void inc(__global int* a) { a[get_global_id(0)] += 1; }"
#define SMALL_ITEMS 64

/* Everything one platform needs for the measurements. */
typedef struct side {
    const char *key;                 /* "icd" or "native": the JSON prefix */
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel;
    cl_mem small;                    /* SMALL_ITEMS ints: the kernel's argument and the 4-byte writes' target */
    cl_mem big;                      /* the transfers' device buffer */
    cl_mem host_alloc;               /* CL_MEM_ALLOC_HOST_PTR: the map path */
    char platform_name[256];
    char device_name[256];
    /* samples, filled round by round */
    double *write4_us, *launch_us, *write_gbs, *read_gbs, *map_gbs, *enqueue_rate;
    size_t n_write4, n_launch, n_write, n_read, n_map, n_enqueue;
} side;

static size_t transfer_bytes = 64u << 20;
static unsigned char *host_src, *host_dst;

static void die_cl(const side *s, const char *what, cl_int err) {
    fprintf(stderr, "icd_bench: %s: %s failed: OpenCL error %d\n", s ? s->key : "setup", what, (int)err);
    exit(1);
}

#define CHECK(s, call) do { cl_int e_ = (call); if (e_ != CL_SUCCESS) die_cl((s), #call, e_); } while (0)

/* The least warm-up of the timed calls, as ferry-bench's Warmup.CALL_MIN_NANOS: the Ferry side's device worker is a
 * JVM just started (each connection gets its own), which compiles its call path during its first seconds; with 40 ms
 * of warm-up the write4 of the calls-only runs measured 79-84 us, with 3 s 31-34 us (docs/benchmarks.md, "icd"). */
#define WARM_S 3.0

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "icd_bench: out of memory\n");
        exit(1);
    }
    return p;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value below which a fraction q of the samples lie (sorts v). */
static double quantile(double *v, size_t n, double q) {
    if (n == 0) {
        return -1;
    }
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* The platform whose name is exactly want, or (want NULL) the first with a device whose name is not avoid. */
static cl_platform_id find_platform(const char *want, const char *avoid, char *name, size_t name_length) {
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &n);
    if (err != CL_SUCCESS || n == 0) {
        fprintf(stderr, "icd_bench: the loader found no OpenCL platform (error %d; OCL_ICD_VENDORS=%s)\n", (int)err,
                getenv("OCL_ICD_VENDORS") ? getenv("OCL_ICD_VENDORS") : "(unset)");
        exit(1);
    }
    cl_platform_id *ids = xcalloc(n, sizeof *ids);
    CHECK(NULL, clGetPlatformIDs(n, ids, NULL));
    cl_platform_id found = NULL;
    for (cl_uint i = 0; i < n && !found; i++) {
        char pname[256] = "";
        cl_uint devices = 0;
        if (clGetPlatformInfo(ids[i], CL_PLATFORM_NAME, sizeof pname, pname, NULL) != CL_SUCCESS) {
            continue;
        }
        if (want ? strcmp(pname, want) == 0
                 : strcmp(pname, avoid) != 0
                   && clGetDeviceIDs(ids[i], CL_DEVICE_TYPE_ALL, 0, NULL, &devices) == CL_SUCCESS && devices > 0) {
            found = ids[i];
            snprintf(name, name_length, "%s", pname);
        }
    }
    if (!found) {
        fprintf(stderr, "icd_bench: no platform %s%s%s among the %u the loader found:", want ? "named " : "other than ",
                want ? want : avoid, want ? "" : " with a device", n);
        for (cl_uint i = 0; i < n; i++) {
            char pname[256] = "?";
            clGetPlatformInfo(ids[i], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
            fprintf(stderr, " '%s'", pname);
        }
        fprintf(stderr, " (OCL_ICD_VENDORS=%s)\n", getenv("OCL_ICD_VENDORS") ? getenv("OCL_ICD_VENDORS") : "(unset)");
        exit(1);
    }
    free(ids);
    return found;
}

static void setup(side *s, size_t max_samples) {
    cl_int err;
    CHECK(s, clGetDeviceIDs(s->platform, CL_DEVICE_TYPE_ALL, 1, &s->device, NULL));
    if (clGetDeviceInfo(s->device, CL_DEVICE_NAME, sizeof s->device_name, s->device_name, NULL) != CL_SUCCESS) {
        snprintf(s->device_name, sizeof s->device_name, "?");
    }
    s->context = clCreateContext(NULL, 1, &s->device, NULL, NULL, &err);
    CHECK(s, err);
    s->queue = clCreateCommandQueue(s->context, s->device, 0, &err);
    CHECK(s, err);
    const char *src = KERNEL_SOURCE;
    s->program = clCreateProgramWithSource(s->context, 1, &src, NULL, &err);
    CHECK(s, err);
    err = clBuildProgram(s->program, 1, &s->device, "", NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(s->program, s->device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        fprintf(stderr, "icd_bench: %s: build log:\n%s\n", s->key, log);
        die_cl(s, "clBuildProgram", err);
    }
    s->kernel = clCreateKernel(s->program, "inc", &err);
    CHECK(s, err);
    s->small = clCreateBuffer(s->context, CL_MEM_READ_WRITE, SMALL_ITEMS * sizeof(cl_int), NULL, &err);
    CHECK(s, err);
    s->big = clCreateBuffer(s->context, CL_MEM_READ_WRITE, transfer_bytes, NULL, &err);
    CHECK(s, err);
    s->host_alloc = clCreateBuffer(s->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, transfer_bytes, NULL, &err);
    CHECK(s, err);
    CHECK(s, clSetKernelArg(s->kernel, 0, sizeof s->small, &s->small));
    cl_int zeros[SMALL_ITEMS] = {0};
    CHECK(s, clEnqueueWriteBuffer(s->queue, s->small, CL_TRUE, 0, sizeof zeros, zeros, 0, NULL, NULL));
    s->write4_us = xcalloc(max_samples, sizeof(double));
    s->launch_us = xcalloc(max_samples, sizeof(double));
    s->write_gbs = xcalloc(max_samples, sizeof(double));
    s->read_gbs = xcalloc(max_samples, sizeof(double));
    s->map_gbs = xcalloc(max_samples, sizeof(double));
    s->enqueue_rate = xcalloc(max_samples, sizeof(double));
}

static void teardown(side *s) {
    clReleaseMemObject(s->host_alloc);
    clReleaseMemObject(s->big);
    clReleaseMemObject(s->small);
    clReleaseKernel(s->kernel);
    clReleaseProgram(s->program);
    clReleaseCommandQueue(s->queue);
    clReleaseContext(s->context);
}

/* ---- one measurement each ---- */

static double write4_us(side *s, cl_int value) {
    double t0 = now_s();
    CHECK(s, clEnqueueWriteBuffer(s->queue, s->small, CL_TRUE, 0, sizeof value, &value, 0, NULL, NULL));
    return (now_s() - t0) * 1e6;
}

static double launch_finish_us(side *s) {
    size_t global = SMALL_ITEMS;
    double t0 = now_s();
    CHECK(s, clEnqueueNDRangeKernel(s->queue, s->kernel, 1, NULL, &global, NULL, 0, NULL, NULL));
    CHECK(s, clFinish(s->queue));
    return (now_s() - t0) * 1e6;
}

static double write_gbs(side *s) {
    double t0 = now_s();
    CHECK(s, clEnqueueWriteBuffer(s->queue, s->big, CL_TRUE, 0, transfer_bytes, host_src, 0, NULL, NULL));
    return (double)transfer_bytes / (now_s() - t0) / 1e9;
}

static double read_gbs(side *s) {
    double t0 = now_s();
    CHECK(s, clEnqueueReadBuffer(s->queue, s->big, CL_TRUE, 0, transfer_bytes, host_dst, 0, NULL, NULL));
    return (double)transfer_bytes / (now_s() - t0) / 1e9;
}

static double map_gbs(side *s, int fill) {
    cl_int err;
    double t0 = now_s();
    void *p = clEnqueueMapBuffer(s->queue, s->host_alloc, CL_TRUE, CL_MAP_WRITE, 0, transfer_bytes, 0, NULL, NULL,
                                 &err);
    CHECK(s, err);
    memset(p, fill, transfer_bytes);
    CHECK(s, clEnqueueUnmapMemObject(s->queue, s->host_alloc, p, 0, NULL, NULL));
    CHECK(s, clFinish(s->queue));
    return (double)transfer_bytes / (now_s() - t0) / 1e9;
}

static double enqueues_per_s(side *s, int count) {
    size_t global = SMALL_ITEMS;
    double t0 = now_s();
    for (int i = 0; i < count; i++) {
        CHECK(s, clEnqueueNDRangeKernel(s->queue, s->kernel, 1, NULL, &global, NULL, 0, NULL, NULL));
    }
    CHECK(s, clFinish(s->queue));
    return count / (now_s() - t0);
}

/* ---- checks ---- */

/* The transfers moved the right bytes: what was written to big reads back, and the map path's fill arrived. */
static int verify(side *s, int fill) {
    memset(host_dst, 0, transfer_bytes);
    CHECK(s, clEnqueueWriteBuffer(s->queue, s->big, CL_TRUE, 0, transfer_bytes, host_src, 0, NULL, NULL));
    CHECK(s, clEnqueueReadBuffer(s->queue, s->big, CL_TRUE, 0, transfer_bytes, host_dst, 0, NULL, NULL));
    if (memcmp(host_src, host_dst, transfer_bytes) != 0) {
        fprintf(stderr, "icd_bench: %s: a %zu-byte buffer read back differs from what was written\n", s->key,
                transfer_bytes);
        return 0;
    }
    unsigned char probe[2] = {0, 0};
    CHECK(s, clEnqueueReadBuffer(s->queue, s->host_alloc, CL_TRUE, 0, 1, &probe[0], 0, NULL, NULL));
    CHECK(s, clEnqueueReadBuffer(s->queue, s->host_alloc, CL_TRUE, transfer_bytes - 1, 1, &probe[1], 0, NULL, NULL));
    if (probe[0] != (unsigned char)fill || probe[1] != (unsigned char)fill) {
        fprintf(stderr, "icd_bench: %s: the mapped buffer holds %d/%d after the fill with %d\n", s->key, probe[0],
                probe[1], fill);
        return 0;
    }
    return 1;
}

/* ---- output ---- */

static void json_string(const char *key, const char *value, int *first) {
    printf("%s\n  \"%s\": \"", *first ? "{" : ",", key);
    for (const char *c = value; *c; c++) {
        if (*c == '"' || *c == '\\') {
            printf("\\%c", *c);
        } else if ((unsigned char)*c < 0x20) {
            printf("\\u%04x", *c);
        } else {
            putchar(*c);
        }
    }
    putchar('"');
    *first = 0;
}

static void json_number(const char *prefix, const char *key, double value, int *first) {
    printf("%s\n  \"%s%s\": %.4f", *first ? "{" : ",", prefix, key, value);
    *first = 0;
}

static void report(side *s, int *first) {
    char key[64];
    snprintf(key, sizeof key, "%s_platform", s->key);
    json_string(key, s->platform_name, first);
    snprintf(key, sizeof key, "%s_device", s->key);
    json_string(key, s->device_name, first);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s_", s->key);
    json_number(prefix, "write4_us_p50", quantile(s->write4_us, s->n_write4, 0.50), first);
    json_number(prefix, "write4_us_p99", quantile(s->write4_us, s->n_write4, 0.99), first);
    json_number(prefix, "launch_finish_us_p50", quantile(s->launch_us, s->n_launch, 0.50), first);
    json_number(prefix, "launch_finish_us_p99", quantile(s->launch_us, s->n_launch, 0.99), first);
    json_number(prefix, "write_gbs", quantile(s->write_gbs, s->n_write, 0.50), first);
    json_number(prefix, "read_gbs", quantile(s->read_gbs, s->n_read, 0.50), first);
    json_number(prefix, "map_gbs", quantile(s->map_gbs, s->n_map, 0.50), first);
    json_number(prefix, "enqueues_per_s", quantile(s->enqueue_rate, s->n_enqueue, 0.50), first);
}

static void usage(void) {
    fprintf(stderr, "usage: icd_bench [--quick] [--rounds N] [--ferry NAME] [--native NAME] [--mib N] [--calls-only]\n");
    exit(2);
}

/* --calls-only: the Ferry platform's two per-call figures alone (no other platform in the process, no transfers),
 * for comparing with the Java library run by run: {"icd_write4_us_p50": .., "icd_launch_finish_us_p50": ..}. */
static int calls(const char *ferry_name, int rounds, int block) {
    side s = {.key = "icd"};
    s.platform = find_platform(ferry_name, NULL, s.platform_name, sizeof s.platform_name);
    transfer_bytes = 4096;   /* setup's buffers: small, the transfers are not measured here */
    host_src = calloc(1, transfer_bytes);
    host_dst = calloc(1, transfer_bytes);
    size_t max = (size_t)rounds * (size_t)block;
    setup(&s, max);
    /* Warm-up: a quarter block and WARM_S at least (see WARM_S). */
    double warm_until = now_s() + WARM_S;
    for (int i = 0; i < block / 4 || now_s() < warm_until; i++) {
        write4_us(&s, i);
        launch_finish_us(&s);
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < block; i++) {
            s.write4_us[s.n_write4++] = write4_us(&s, i);
        }
        for (int i = 0; i < block; i++) {
            s.launch_us[s.n_launch++] = launch_finish_us(&s);
        }
    }
    printf("{\n  \"icd_write4_us_p50\": %.4f,\n  \"icd_launch_finish_us_p50\": %.4f\n}\n",
           quantile(s.write4_us, s.n_write4, 0.5), quantile(s.launch_us, s.n_launch, 0.5));
    teardown(&s);
    free(host_src);
    free(host_dst);
    return 0;
}

int main(int argc, char **argv) {
    int quick = 0, rounds = 0, calls_only = 0;
    const char *ferry_name = "Ferry", *native_name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--calls-only") == 0) {
            calls_only = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--ferry") == 0 && i + 1 < argc) {
            ferry_name = argv[++i];
        } else if (strcmp(argv[i], "--native") == 0 && i + 1 < argc) {
            native_name = argv[++i];
        } else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            transfer_bytes = (size_t)atoi(argv[++i]) << 20;
        } else {
            usage();
        }
    }
    if (rounds <= 0) {
        rounds = quick ? 3 : 7;
    }
    if (transfer_bytes == 0) {
        usage();
    }
    /* per round and platform: latency blocks, bandwidth pairs, one enqueue burst */
    const int latency_block = quick ? 200 : 1000;
    const int bandwidth_reps = 2;
    const int burst = quick ? 2000 : 10000;

    if (calls_only) {
        return calls(ferry_name, rounds, latency_block);
    }
    side sides[2] = {{.key = "icd"}, {.key = "native"}};
    sides[0].platform = find_platform(ferry_name, NULL, sides[0].platform_name, sizeof sides[0].platform_name);
    sides[1].platform = find_platform(native_name, ferry_name, sides[1].platform_name, sizeof sides[1].platform_name);
    host_src = malloc(transfer_bytes);
    host_dst = malloc(transfer_bytes);
    if (!host_src || !host_dst) {
        fprintf(stderr, "icd_bench: cannot allocate 2 x %zu bytes\n", transfer_bytes);
        return 1;
    }
    for (size_t i = 0; i < transfer_bytes; i++) {
        host_src[i] = (unsigned char)(i * 131 + 7);
    }
    memset(host_dst, 0, transfer_bytes);
    size_t max_samples = (size_t)rounds * (size_t)latency_block;
    for (int k = 0; k < 2; k++) {
        setup(&sides[k], max_samples);
        fprintf(stderr, "icd_bench: %s: %s / %s\n", sides[k].key, sides[k].platform_name, sides[k].device_name);
    }

    /* Warm-up, both alike: first calls build caches, fault pages in, start threads; WARM_S at least. */
    for (int k = 0; k < 2; k++) {
        side *s = &sides[k];
        double warm_until = now_s() + WARM_S;
        for (int i = 0; i < latency_block / 4 || now_s() < warm_until; i++) {
            write4_us(s, i);
            launch_finish_us(s);
        }
        write_gbs(s);
        read_gbs(s);
        map_gbs(s, 1);
        enqueues_per_s(s, burst / 10);
    }

    double started = now_s();
    int fill = 0;
    for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < 2; j++) {
            side *s = &sides[(r + j) % 2];  /* alternate who goes first */
            for (int i = 0; i < latency_block; i++) {
                s->write4_us[s->n_write4++] = write4_us(s, i);
            }
            for (int i = 0; i < latency_block; i++) {
                s->launch_us[s->n_launch++] = launch_finish_us(s);
            }
            for (int i = 0; i < bandwidth_reps; i++) {
                s->write_gbs[s->n_write++] = write_gbs(s);
                s->read_gbs[s->n_read++] = read_gbs(s);
                fill = (r * bandwidth_reps + i) % 251 + 1;
                s->map_gbs[s->n_map++] = map_gbs(s, fill);
            }
            s->enqueue_rate[s->n_enqueue++] = enqueues_per_s(s, burst);
        }
        fprintf(stderr, "icd_bench: round %d of %d done (%.1f s)\n", r + 1, rounds, now_s() - started);
    }
    int ok = verify(&sides[0], fill) & verify(&sides[1], fill);

    int first = 1;
    for (int k = 0; k < 2; k++) {
        report(&sides[k], &first);
    }
    printf(",\n  \"rounds\": %d,\n  \"latency_samples_per_round\": %d,\n  \"transfer_bytes\": %zu,\n"
           "  \"enqueue_burst\": %d,\n  \"verified\": %s\n}\n", rounds, latency_block, transfer_bytes, burst,
           ok ? "true" : "false");
    for (int k = 0; k < 2; k++) {
        teardown(&sides[k]);
    }
    free(host_src);
    free(host_dst);
    return ok ? 0 : 1;
}
