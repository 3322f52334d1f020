/* events_test: events through the real loader against a live host: profiling times in order, user events gating
 * commands (also set from another thread while clFinish waits), a failed user event, callbacks called exactly
 * once, markers and barriers, an out-of-order queue, wait lists longer than the wire's 64, queue info and
 * errors, and 8 application threads, each with its own queue on one context, doing write/launch/read loops. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "cltest.h"

static cl_kernel add_kernel;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void launch_add(cl_command_queue q, cl_kernel k, cl_mem b, size_t words, cl_uint v, cl_uint nwait,
                       const cl_event *wait, cl_event *event)
{
    CHECK_CL(clSetKernelArg(k, 0, sizeof b, &b));
    CHECK_CL(clSetKernelArg(k, 1, sizeof v, &v));
    CHECK_CL(clEnqueueNDRangeKernel(q, k, 1, NULL, &words, NULL, nwait, wait, event));
}

static void profiling(void)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, CL_QUEUE_PROFILING_ENABLE, &err);
    CHECK(q && err == CL_SUCCESS, "profiling queue: %d", err);
    size_t words = 1 << 16;
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, words * 4, NULL, &err);
    cl_uint zero = 0;
    CHECK_CL(clEnqueueFillBuffer(q, b, &zero, 4, 0, words * 4, 0, NULL, NULL));
    cl_event e, w;
    launch_add(q, add_kernel, b, words, 3, 0, NULL, &e);
    uint32_t *host = malloc(words * 4);
    CHECK_CL(clEnqueueWriteBuffer(q, b, CL_FALSE, 0, 64, host, 0, NULL, &w));
    cl_ulong t[4] = {0};
    CHECK_ERR(clGetEventProfilingInfo(e, 0x9999, sizeof t[0], t, NULL), CL_INVALID_VALUE);
    CHECK_CL(clWaitForEvents(1, &e));
    const cl_profiling_info names[4] = {CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT,
                                        CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END};
    for (int i = 0; i < 4; i++) {
        CHECK_CL(clGetEventProfilingInfo(e, names[i], sizeof t[i], &t[i], NULL));
    }
    CHECK(t[0] <= t[1] && t[1] <= t[2] && t[2] <= t[3] && t[3] > 0,
          "profiling times out of order: queued %llu submit %llu start %llu end %llu", (unsigned long long)t[0],
          (unsigned long long)t[1], (unsigned long long)t[2], (unsigned long long)t[3]);
    cl_ulong tw = 0;
    CHECK_CL(clFinish(q));
    CHECK_CL(clGetEventProfilingInfo(w, CL_PROFILING_COMMAND_END, sizeof tw, &tw, NULL));
    CHECK(tw >= t[3], "a later command ends later: %llu < %llu", (unsigned long long)tw, (unsigned long long)t[3]);
    clReleaseEvent(e);
    clReleaseEvent(w);
    /* a queue without profiling */
    cl_command_queue plain = clCreateCommandQueue(test_context, test_device, 0, &err);
    cl_event p;
    CHECK_CL(clEnqueueMarkerWithWaitList(plain, 0, NULL, &p));
    CHECK_CL(clWaitForEvents(1, &p));
    CHECK_ERR(clGetEventProfilingInfo(p, CL_PROFILING_COMMAND_END, sizeof tw, &tw, NULL),
              CL_PROFILING_INFO_NOT_AVAILABLE);
    clReleaseEvent(p);
    clReleaseCommandQueue(plain);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    free(host);
}

struct setter { cl_event e; int delay_ms; cl_int status; };

static void *set_later(void *p)
{
    struct setter *s = p;
    sleep_ms(s->delay_ms);
    CHECK_CL(clSetUserEventStatus(s->e, s->status));
    return NULL;
}

static void user_events(void)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, 0, &err);
    size_t n = 4096;
    uint8_t *ref = malloc(n), *got = malloc(n);
    test_fill(ref, n, 8);
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, n, NULL, &err);
    cl_event u = clCreateUserEvent(test_context, &err);
    CHECK(u && err == CL_SUCCESS, "clCreateUserEvent: %d", err);
    cl_int st = 0;
    CHECK_CL(clGetEventInfo(u, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st == CL_SUBMITTED, "a new user event's status: %d", st);
    cl_command_type type = 0;
    CHECK_CL(clGetEventInfo(u, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL));
    CHECK(type == CL_COMMAND_USER, "user event type %#x", type);
    cl_event w;
    CHECK_CL(clEnqueueWriteBuffer(q, b, CL_FALSE, 0, n, ref, 1, &u, &w));
    sleep_ms(20);
    CHECK_CL(clGetEventInfo(w, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st > CL_COMPLETE, "a write gated by an unset user event completed: %d", st);
    /* clFinish waits while another thread sets the user event */
    pthread_t t;
    struct setter s = {u, 100, CL_COMPLETE};
    pthread_create(&t, NULL, set_later, &s);
    CHECK_CL(clFinish(q));
    pthread_join(t, NULL);
    CHECK_CL(clGetEventInfo(w, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st == CL_COMPLETE, "the gated write after the set: %d", st);
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, n, got, 0, NULL, NULL));
    CHECK(test_diff(got, ref, n) < 0, "data of the gated write");
    CHECK_ERR(clSetUserEventStatus(u, CL_COMPLETE), CL_INVALID_OPERATION);
    CHECK_ERR(clSetUserEventStatus(w, CL_COMPLETE), CL_INVALID_EVENT);
    clReleaseEvent(w);
    clReleaseEvent(u);
    /* clWaitForEvents on a user event set by another thread */
    u = clCreateUserEvent(test_context, &err);
    struct setter s2 = {u, 50, CL_COMPLETE};
    pthread_create(&t, NULL, set_later, &s2);
    CHECK_CL(clWaitForEvents(1, &u));
    pthread_join(t, NULL);
    clReleaseEvent(u);
    /* a failed user event: the blocking read waiting for it reports it, its event is failed */
    cl_event f = clCreateUserEvent(test_context, &err);
    CHECK_ERR(clSetUserEventStatus(f, 1), CL_INVALID_VALUE);
    cl_event r;
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_FALSE, 0, 16, got, 1, &f, &r));
    CHECK_CL(clSetUserEventStatus(f, -7));
    CHECK_ERR(clWaitForEvents(1, &r), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    CHECK_CL(clGetEventInfo(r, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st < 0, "a command waiting for a failed user event: status %d", st);
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, 16, got, 1, &f, NULL), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    clFinish(q);   /* may report the failed read */
    clReleaseEvent(r);
    clReleaseEvent(f);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    free(ref);
    free(got);
}

static atomic_int calls[8];
static atomic_int last_status[8];

static void CL_CALLBACK on_event(cl_event e, cl_int status, void *data)
{
    int i = (int)(intptr_t)data;
    atomic_fetch_add(&calls[i], 1);
    atomic_store(&last_status[i], status);
}

static void callbacks(void)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, 0, &err);
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, 4096, NULL, &err);
    cl_event k, u, m;
    launch_add(q, add_kernel, b, 1024, 1, 0, NULL, &k);
    CHECK_CL(clSetEventCallback(k, CL_COMPLETE, on_event, (void *)0));
    CHECK_CL(clSetEventCallback(k, CL_SUBMITTED, on_event, (void *)1));
    CHECK_ERR(clSetEventCallback(k, 77, on_event, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clSetEventCallback(k, CL_COMPLETE, NULL, NULL), CL_INVALID_VALUE);
    u = clCreateUserEvent(test_context, &err);
    CHECK_CL(clSetEventCallback(u, CL_COMPLETE, on_event, (void *)2));
    CHECK_CL(clEnqueueMarkerWithWaitList(q, 1, &u, &m));
    CHECK_CL(clSetEventCallback(m, CL_COMPLETE, on_event, (void *)3));
    clReleaseEvent(m);   /* the callback still comes */
    CHECK_CL(clWaitForEvents(1, &k));
    for (int i = 0; i < 2000 && (atomic_load(&calls[0]) == 0 || atomic_load(&calls[1]) == 0); i++) {
        sleep_ms(5);
    }
    CHECK(atomic_load(&calls[0]) == 1 && atomic_load(&last_status[0]) == CL_COMPLETE, "kernel complete callback: %d",
          atomic_load(&calls[0]));
    CHECK(atomic_load(&calls[1]) == 1, "kernel submitted callback: %d", atomic_load(&calls[1]));
    sleep_ms(30);
    CHECK(atomic_load(&calls[2]) == 0 && atomic_load(&calls[3]) == 0, "callbacks of unset events ran");
    CHECK_CL(clSetUserEventStatus(u, CL_COMPLETE));
    CHECK_CL(clFinish(q));
    for (int i = 0; i < 2000 && (atomic_load(&calls[2]) == 0 || atomic_load(&calls[3]) == 0); i++) {
        sleep_ms(5);
    }
    CHECK(atomic_load(&calls[2]) == 1, "user event callback: %d", atomic_load(&calls[2]));
    CHECK(atomic_load(&calls[3]) == 1, "marker callback (event released): %d", atomic_load(&calls[3]));
    /* a callback set on a complete event runs too */
    CHECK_CL(clSetEventCallback(k, CL_COMPLETE, on_event, (void *)4));
    for (int i = 0; i < 2000 && atomic_load(&calls[4]) == 0; i++) {
        sleep_ms(5);
    }
    CHECK(atomic_load(&calls[4]) == 1, "callback on a complete event: %d", atomic_load(&calls[4]));
    /* a failed user event: its callback gets the error */
    cl_event f = clCreateUserEvent(test_context, &err);
    CHECK_CL(clSetEventCallback(f, CL_COMPLETE, on_event, (void *)5));
    CHECK_CL(clSetUserEventStatus(f, -12));
    for (int i = 0; i < 2000 && atomic_load(&calls[5]) == 0; i++) {
        sleep_ms(5);
    }
    CHECK(atomic_load(&calls[5]) == 1 && atomic_load(&last_status[5]) == -12, "failed event callback: %d calls, "
          "status %d", atomic_load(&calls[5]), atomic_load(&last_status[5]));
    sleep_ms(50);
    for (int i = 0; i < 6; i++) {
        CHECK(atomic_load(&calls[i]) == 1, "callback %d ran %d times", i, atomic_load(&calls[i]));
    }
    clReleaseEvent(f);
    clReleaseEvent(k);
    clReleaseEvent(u);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
}

static void markers_barriers(void)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, 0, &err);
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, 4096 * 4, NULL, &err);
    cl_uint zero = 0;
    CHECK_CL(clEnqueueFillBuffer(q, b, &zero, 4, 0, 4096 * 4, 0, NULL, NULL));
    cl_event k1, mk, bar, old;
    launch_add(q, add_kernel, b, 4096, 2, 0, NULL, &k1);
    CHECK_CL(clEnqueueMarkerWithWaitList(q, 1, &k1, &mk));
    CHECK_CL(clEnqueueBarrierWithWaitList(q, 0, NULL, &bar));
    launch_add(q, add_kernel, b, 4096, 3, 1, &bar, NULL);
    CHECK_CL(clEnqueueMarker(q, &old));
    CHECK_ERR(clEnqueueMarker(q, NULL), CL_INVALID_VALUE);
    CHECK_CL(clEnqueueBarrier(q));
    CHECK_CL(clEnqueueWaitForEvents(q, 1, &mk));
    CHECK_ERR(clEnqueueWaitForEvents(q, 0, NULL), CL_INVALID_VALUE);
    cl_mem mems[1] = {b};
    CHECK_CL(clEnqueueMigrateMemObjects(q, 1, mems, CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, NULL));
    CHECK_CL(clWaitForEvents(1, &old));
    cl_command_type type = 0;
    CHECK_CL(clGetEventInfo(bar, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL));
    CHECK(type == CL_COMMAND_BARRIER, "barrier type %#x", type);
    CHECK_CL(clGetEventInfo(mk, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL));
    CHECK(type == CL_COMMAND_MARKER, "marker type %#x", type);
    uint32_t got[4096];
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL));
    int bad = 0;
    for (int i = 0; i < 4096; i++) {
        bad += got[i] != 5;
    }
    CHECK(!bad, "kernels around markers and barriers: %d words wrong", bad);
    cl_command_queue qq = NULL;
    cl_context cc = NULL;
    cl_uint refs = 0;
    CHECK_CL(clGetEventInfo(k1, CL_EVENT_COMMAND_QUEUE, sizeof qq, &qq, NULL));
    CHECK_CL(clGetEventInfo(k1, CL_EVENT_CONTEXT, sizeof cc, &cc, NULL));
    CHECK_CL(clRetainEvent(k1));
    CHECK_CL(clGetEventInfo(k1, CL_EVENT_REFERENCE_COUNT, sizeof refs, &refs, NULL));
    CHECK(qq == q && cc == test_context && refs >= 2, "event info");
    CHECK_CL(clReleaseEvent(k1));
    cl_command_queue_properties props = 99;
    CHECK_CL(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL));
    CHECK(props == 0, "queue properties %#llx", (unsigned long long)props);
    CHECK_CL(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof cc, &cc, NULL));
    CHECK(cc == test_context, "queue context");
    CHECK_ERR(clGetCommandQueueInfo(q, 0x7777, sizeof cc, &cc, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clSetCommandQueueProperty(q, CL_QUEUE_PROFILING_ENABLE, CL_TRUE, NULL), CL_INVALID_OPERATION);
    CHECK_ERR(clEnqueueNativeKernel(q, NULL, NULL, 0, 0, NULL, NULL, 0, NULL, NULL), CL_INVALID_OPERATION);
    size_t g = 0;
    CHECK_ERR(clEnqueueNDRangeKernel(q, add_kernel, 1, NULL, &g, NULL, 0, NULL, NULL), CL_INVALID_GLOBAL_WORK_SIZE);
    g = 100;
    size_t l = 7;
    CHECK_ERR(clEnqueueNDRangeKernel(q, add_kernel, 1, NULL, &g, &l, 0, NULL, NULL), CL_INVALID_WORK_GROUP_SIZE);
    CHECK_ERR(clEnqueueNDRangeKernel(q, add_kernel, 4, NULL, &g, NULL, 0, NULL, NULL), CL_INVALID_WORK_DIMENSION);
    CHECK_ERR(clWaitForEvents(0, NULL), CL_INVALID_VALUE);
    cl_event bogus = (cl_event)b;
    CHECK_ERR(clWaitForEvents(1, &bogus), CL_INVALID_EVENT);
    CHECK_ERR(clEnqueueMarkerWithWaitList(q, 1, &bogus, NULL), CL_INVALID_EVENT_WAIT_LIST);
    cl_queue_properties qp[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
    cl_command_queue q2 = clCreateCommandQueueWithProperties(test_context, test_device, qp, &err);
    CHECK(q2 && err == CL_SUCCESS, "clCreateCommandQueueWithProperties: %d", err);
    if (q2) {
        clReleaseCommandQueue(q2);
    }
    cl_queue_properties qbad[] = {CL_QUEUE_SIZE, 1024, 0};
    CHECK(!clCreateCommandQueueWithProperties(test_context, test_device, qbad, &err) && err == CL_INVALID_VALUE,
          "CL_QUEUE_SIZE refused: %d", err);
    CHECK(!clCreateCommandQueue(test_context, test_device, 0x100, &err) && err == CL_INVALID_VALUE, "bad props: %d",
          err);
    clReleaseEvent(mk);
    clReleaseEvent(bar);
    clReleaseEvent(old);
    clReleaseEvent(k1);
    CHECK_CL(clFinish(q));
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
}

static void out_of_order(void)
{
    cl_command_queue_properties dp = 0;
    clGetDeviceInfo(test_device, CL_DEVICE_QUEUE_PROPERTIES, sizeof dp, &dp, NULL);
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (!(dp & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)) {
        CHECK(!q && err == CL_INVALID_QUEUE_PROPERTIES, "out-of-order queue on a device without: %d", err);
        printf("out-of-order: the device has none (checked CL_INVALID_QUEUE_PROPERTIES)\n");
        return;
    }
    CHECK(q && err == CL_SUCCESS, "out-of-order queue: %d", err);
    size_t n = 3u << 20;
    uint8_t *ref = malloc(n), *got = malloc(n);
    test_fill(ref, n, 60);
    cl_mem a = clCreateBuffer(test_context, CL_MEM_READ_WRITE, n, NULL, &err);
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, n, NULL, &err);
    cl_event wa, k, c;
    CHECK_CL(clEnqueueWriteBuffer(q, a, CL_FALSE, 0, n, ref, 0, NULL, &wa));
    cl_kernel kk = test_kernel("add");
    launch_add(q, kk, a, n / 4, 1, 1, &wa, &k);
    CHECK_CL(clEnqueueCopyBuffer(q, a, b, 0, 0, n, 1, &k, &c));
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, n, got, 1, &c, NULL));
    uint32_t *r = (uint32_t *)ref;
    for (size_t i = 0; i < n / 4; i++) {
        r[i] += 1;
    }
    CHECK(test_diff(got, ref, n) < 0, "out-of-order chain write -> kernel -> copy -> read");
    CHECK_CL(clFinish(q));
    clReleaseEvent(wa);
    clReleaseEvent(k);
    clReleaseEvent(c);
    clReleaseKernel(kk);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    clReleaseCommandQueue(q);
    free(ref);
    free(got);
}

static void long_wait_lists(void)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, 0, &err);
    enum { N = 150 };
    cl_event list[N];
    for (int i = 0; i < N; i++) {
        list[i] = clCreateUserEvent(test_context, &err);
    }
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, 64, NULL, &err);
    uint8_t ref[64], got[64];
    test_fill(ref, 64, 70);
    cl_event w;
    CHECK_CL(clEnqueueWriteBuffer(q, b, CL_FALSE, 0, 64, ref, N, list, &w));
    for (int i = 0; i < N - 1; i++) {
        CHECK_CL(clSetUserEventStatus(list[i], CL_COMPLETE));
    }
    sleep_ms(20);
    cl_int st = 0;
    CHECK_CL(clGetEventInfo(w, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st > CL_COMPLETE, "a write waiting for 150 events ran with one unset: %d", st);
    CHECK_CL(clSetUserEventStatus(list[N - 1], CL_COMPLETE));
    CHECK_CL(clWaitForEvents(1, &w));
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, 64, got, N, list, NULL));
    CHECK(test_diff(got, ref, 64) < 0, "data after a wait list of 150");
    for (int i = 0; i < N; i++) {
        clReleaseEvent(list[i]);
    }
    clReleaseEvent(w);
    clReleaseMemObject(b);
    CHECK_CL(clFinish(q));
    clReleaseCommandQueue(q);
}

/* A command the host refuses: clFinish reports it once, its event is failed. */
static void async_failure(void)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, 0, &err);
    cl_kernel k = test_kernel("add");   /* no arguments set */
    size_t g = 64;
    cl_event e;
    CHECK_CL(clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, &e));
    CHECK_ERR(clFinish(q), CL_INVALID_KERNEL_ARGS);
    CHECK_CL(clFinish(q));
    cl_int st = 0;
    CHECK_CL(clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st < 0, "the refused launch's event: status %d", st);
    CHECK_ERR(clWaitForEvents(1, &e), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    clReleaseEvent(e);
    clReleaseKernel(k);
    clReleaseCommandQueue(q);
}

/* ---- threads ---- */

struct worker { int id; int failures; };

static void *worker(void *p)
{
    struct worker *w = p;
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(test_context, test_device, 0, &err);
    cl_kernel k = test_kernel("add");   /* one kernel per thread: clSetKernelArg is not thread-safe per kernel */
    size_t words = 1000 + 37 * (size_t)w->id, n = words * 4;
    uint32_t *src = malloc(n), *dst = malloc(n);
    cl_mem b = clCreateBuffer(test_context, CL_MEM_READ_WRITE, n, NULL, &err);
    if (!q || !b) {
        w->failures++;
        return NULL;
    }
    for (int it = 0; it < 40; it++) {
        for (size_t i = 0; i < words; i++) {
            src[i] = (uint32_t)(w->id * 100000 + it * 1000 + i);
        }
        cl_uint v = (cl_uint)(it + w->id);
        w->failures += clEnqueueWriteBuffer(q, b, it % 2, 0, n, src, 0, NULL, NULL) != CL_SUCCESS;
        w->failures += clSetKernelArg(k, 0, sizeof b, &b) != CL_SUCCESS;
        w->failures += clSetKernelArg(k, 1, sizeof v, &v) != CL_SUCCESS;
        w->failures += clEnqueueNDRangeKernel(q, k, 1, NULL, &words, NULL, 0, NULL, NULL) != CL_SUCCESS;
        w->failures += clEnqueueReadBuffer(q, b, it % 3 == 0, 0, n, dst, 0, NULL, NULL) != CL_SUCCESS;
        if (it % 3 != 0) {
            w->failures += clFinish(q) != CL_SUCCESS;
        }
        for (size_t i = 0; i < words; i++) {
            if (dst[i] != src[i] + v) {
                w->failures++;
                break;
            }
        }
    }
    clReleaseMemObject(b);
    clReleaseKernel(k);
    clReleaseCommandQueue(q);
    free(src);
    free(dst);
    return NULL;
}

static void threads(void)
{
    enum { T = 8 };
    pthread_t t[T];
    struct worker w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (struct worker){i, 0};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].failures == 0, "thread %d: %d failures", i, w[i].failures);
    }
}

int main(void)
{
    test_setup();
    add_kernel = test_kernel("add");
    profiling();
    user_events();
    callbacks();
    markers_barriers();
    out_of_order();
    long_wait_lists();
    async_failure();
    threads();
    clReleaseKernel(add_kernel);
    CHECK_CL(clReleaseContext(test_context));
    return test_end("events_test");
}
