/* launch_floor.c: the floor under `./ferry bench transport`'s launch + finish, with no Ferry in it. The transport
 * suite's kernel (inc over 64 work-items) is launched and finished on the first CPU device (PoCL), called
 *
 *   native        by this process, as the suite's native baseline calls it;
 *   relay MODES   by a second process at this one's request, through a mailbox in shared memory: the first letter is
 *                 how this process waits for the answer, the second how the device's process waits for the next call
 *                 (handoff.h: y yield, s spin, b spin 20 us then yield, f futex). Ferry's guest and its device worker
 *                 wait as y and b do, so "relay yb" is a guest and its worker with nothing of Ferry between them:
 *                 no ring, no codec, no checks, no scheduler.
 *
 * Relay minus native is what crossing from the caller's process to the device's costs on this machine by itself;
 * Ferry's launch_finish_us_remoted minus launch_finish_us_native cannot go below it. Each warms up for 3 s (the
 * suite's rule: docs/CONTRIBUTING.md), then times ROUNDS calls and prints "p50_us=... p90_us=...". The environment
 * reaches PoCL as it is (POCL_AFFINITY=1 pins its threads, as Ferry's device workers do by default).
 *
 *   make -C ferry-icd build/launch_floor
 *   ferry-icd/build/launch_floor native|relay MODES [ROUNDS]
 */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "handoff.h"

#define WARM_NS 3000000000ull
static const char *KERNEL = "__kernel void inc(__global int* a) { a[get_global_id(0)] += 1; }";

typedef struct {
    cl_context ctx;
    cl_command_queue queue;
    cl_kernel kernel;
} device;

/* The mailboxes between the two processes, and what the device's process reports before it serves. */
typedef struct {
    box call;           /* the caller posts the round's number */
    box answer;         /* the device's process posts it back once the launch finished; 1: ready */
    uint32_t stop;      /* set before the last call: the device's process exits instead of launching */
    int32_t error;      /* the device's process: its OpenCL error, if it could not start */
} mailboxes;

/* Opens the first CPU device with the kernel ready to launch; an OpenCL error or 0. */
static cl_int open_device(device *d) {
    cl_platform_id platforms[16];
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(16, platforms, &n);
    cl_device_id dev = NULL;
    for (cl_uint i = 0; err == CL_SUCCESS && i < n && dev == NULL; i++) {
        if (clGetDeviceIDs(platforms[i], CL_DEVICE_TYPE_CPU, 1, &dev, NULL) != CL_SUCCESS) {
            dev = NULL;
        }
    }
    if (err != CL_SUCCESS || dev == NULL) {
        fprintf(stderr, "launch_floor: no OpenCL CPU device (clGetPlatformIDs: %d, %u platforms); install PoCL "
                        "(Debian: pocl-opencl-icd) and leave OCL_ICD_VENDORS unset\n", err, n);
        return err != CL_SUCCESS ? err : CL_DEVICE_NOT_FOUND;
    }
    d->ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    if (err == CL_SUCCESS) d->queue = clCreateCommandQueue(d->ctx, dev, 0, &err);
    cl_program program = NULL;
    if (err == CL_SUCCESS) program = clCreateProgramWithSource(d->ctx, 1, &KERNEL, NULL, &err);
    if (err == CL_SUCCESS) err = clBuildProgram(program, 1, &dev, "", NULL, NULL);
    if (err == CL_SUCCESS) d->kernel = clCreateKernel(program, "inc", &err);
    cl_mem buf = NULL;
    if (err == CL_SUCCESS) buf = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, 64 * sizeof(cl_int), NULL, &err);
    if (err == CL_SUCCESS) err = clSetKernelArg(d->kernel, 0, sizeof buf, &buf);
    if (err != CL_SUCCESS) fprintf(stderr, "launch_floor: setting up the device failed: OpenCL error %d\n", err);
    return err;
}

static cl_int launch(device *d) {
    size_t global = 64;
    cl_int err = clEnqueueNDRangeKernel(d->queue, d->kernel, 1, NULL, &global, NULL, 0, NULL, NULL);
    return err == CL_SUCCESS ? clFinish(d->queue) : err;
}

/* The device's process: answers each call with a launch + finish until told to stop. */
static int serve(mailboxes *m, char mode) {
    device d;
    cl_int err = open_device(&d);
    if (err != CL_SUCCESS) {
        m->error = err;
        post(&m->answer, 1);
        return 1;
    }
    post(&m->answer, 1);
    for (uint32_t r = 2;; r++) {
        wait_for(&m->call, r, mode);
        if (__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) return 0;
        err = launch(&d);
        if (err != CL_SUCCESS) {
            m->error = err;
            post(&m->answer, r);
            return 1;
        }
        post(&m->answer, r);
    }
}

int main(int argc, char **argv) {
    int relay = argc >= 2 && strcmp(argv[1], "relay") == 0;
    int native = argc >= 2 && strcmp(argv[1], "native") == 0;
    int rounds_at = relay ? 3 : 2;
    long rounds = argc > rounds_at ? atol(argv[rounds_at]) : 20000;
    if ((!relay && !native) || argc > rounds_at + 1 || rounds < 100 || rounds > 10000000
        || (relay && (argc < 3 || strlen(argv[2]) != 2 || strspn(argv[2], HANDOFF_MODES) != 2))) {
        fprintf(stderr, "usage: launch_floor native [ROUNDS]\n"
                        "       launch_floor relay MODES [ROUNDS]\n"
                        "  MODES: two letters, how the caller waits and how the device's process waits (y sched_yield, "
                        "s spin,\n         b spin 20 us then yield, f futex sleep); Ferry's guest and worker: yb\n"
                        "  ROUNDS: launches timed after 3 s of warm-up (100 to 10000000; default 20000)\n");
        return 2;
    }
    uint64_t *us = malloc((size_t) rounds * sizeof(uint64_t));
    mailboxes *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (us == NULL || m == MAP_FAILED) {
        perror("launch_floor: memory");
        return 1;
    }
    device d;
    pid_t child = -1;
    char mode = relay ? argv[2][0] : 0;
    if (relay) {
        pid_t caller = getpid();
        child = fork();
        if (child < 0) {
            perror("launch_floor: fork");
            return 1;
        }
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the caller (a killed bench would leave it yielding) */
            if (getppid() != caller) _exit(1);
            _exit(serve(m, argv[2][1]));
        }
        wait_for(&m->answer, 1, 'y');
        if (m->error != CL_SUCCESS) {
            waitpid(child, NULL, 0);
            return 1;
        }
    } else if (open_device(&d) != CL_SUCCESS) {
        return 1;
    }
    uint32_t r = 1;
    uint64_t warm_until = now_ns() + WARM_NS;
    for (long i = 0; i < rounds;) {
        uint64_t t0 = now_ns();
        cl_int err;
        if (relay) {
            post(&m->call, ++r);
            wait_for(&m->answer, r, mode);
            err = m->error;
        } else {
            err = launch(&d);
        }
        uint64_t t1 = now_ns();
        if (err != CL_SUCCESS) {
            fprintf(stderr, "launch_floor: launch + finish failed: OpenCL error %d\n", err);
            return 1;
        }
        if (t0 >= warm_until) us[i++] = t1 - t0;
    }
    if (relay) {
        __atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
        post(&m->call, ++r);
        waitpid(child, NULL, 0);
    }
    char label[32];
    snprintf(label, sizeof label, "%s%s%s", argv[1], relay ? " " : "", relay ? argv[2] : "");
    report(label, us, (size_t) rounds);
    free(us);
    return 0;
}
