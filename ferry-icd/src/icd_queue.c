/* icd_queue.c: command queues (create, info, release, flush, finish) and the enqueues that are not memory
 * transfers: kernels, markers, barriers, waits, migrations. Also the plumbing every enqueue shares: wait lists
 * (folded into markers past the wire's 64), one-way sending, and waiting for the host without holding the
 * session open (the host serves a session's calls in order, so a call that would wait for a user event that
 * another application thread sets later is refused by the host, and retried here after a short sleep). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enqueue.h"

const ferry_waits ferry_no_waits;

uint64_t ferry_handle(void)
{
    ferry_conn *c = ferry_icd_conn();
    return c ? ferry_new_handle(c) : 0;
}

void ferry_release_handle(uint64_t handle)
{
    ferry_conn *c = ferry_icd_conn();
    if (c && handle) {
        uint64_t a[FERRY_RELEASE_ARGC] = {handle};
        ferry_send(c, FERRY_OP_RELEASE, a, FERRY_RELEASE_ARGC, NULL, 0, 0);
    }
}

/* ---- wait lists ---- */

cl_int ferry_waits_begin(cl_command_queue q, cl_uint n, const cl_event *list, ferry_waits *w)
{
    memset(w, 0, sizeof *w);
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if ((n == 0) != (list == NULL)) {
        return CL_INVALID_EVENT_WAIT_LIST;
    }
    w->events = list;
    w->events_n = n;
    if (n == 0) {
        return CL_SUCCESS;
    }
    uint64_t *all = malloc(sizeof(uint64_t) * n);
    if (!all) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    for (cl_uint i = 0; i < n; i += FERRY_MAX_WAITS) {
        cl_uint part = n - i < FERRY_MAX_WAITS ? n - i : FERRY_MAX_WAITS;
        cl_int rc = ferry_wait_list(q->context, part, list + i, all + i);
        if (rc != CL_SUCCESS) {
            free(all);
            return rc;
        }
    }
    /* Past 64: markers on the queue, each waiting for up to 64, until one list of at most 64 is left. */
    uint32_t count = n;
    while (count > FERRY_MAX_WAITS) {
        uint32_t groups = (count + FERRY_MAX_WAITS - 1) / FERRY_MAX_WAITS;
        uint64_t *grown = realloc(w->markers, sizeof(uint64_t) * (w->markers_n + groups));
        if (!grown) {
            free(all);
            ferry_waits_end(w);
            return CL_OUT_OF_HOST_MEMORY;
        }
        w->markers = grown;
        for (uint32_t g = 0; g < groups; g++) {
            ferry_waits part = {0};
            part.n = count - g * FERRY_MAX_WAITS < FERRY_MAX_WAITS ? count - g * FERRY_MAX_WAITS : FERRY_MAX_WAITS;
            memcpy(part.h, all + g * FERRY_MAX_WAITS, sizeof(uint64_t) * part.n);
            uint64_t m = ferry_handle();
            uint64_t a[FERRY_MARKER_ARGC] = {q->o.handle, m, part.n};
            cl_int rc = ferry_q_send(q, "clEnqueue* (wait list)", FERRY_OP_MARKER, a, FERRY_MARKER_ARGC, &part,
                                     NULL, 0);
            if (rc != CL_SUCCESS) {
                free(all);
                ferry_waits_end(w);
                return rc;
            }
            w->markers[w->markers_n++] = m;
            all[g] = m;
        }
        count = groups;
    }
    memcpy(w->h, all, sizeof(uint64_t) * count);
    w->n = count;
    free(all);
    return CL_SUCCESS;
}

void ferry_waits_end(ferry_waits *w)
{
    for (uint32_t i = 0; i < w->markers_n; i++) {
        ferry_release_handle(w->markers[i]);
    }
    free(w->markers);
    w->markers = NULL;
    w->markers_n = 0;
}

cl_int ferry_waits_failed(const ferry_waits *w, cl_int fallback)
{
    for (cl_uint i = 0; w && i < w->events_n; i++) {
        if (ferry_event_status(w->events[i]) < 0) {
            return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
        }
    }
    return fallback;
}

/* ---- sending and waiting ---- */

cl_int ferry_q_send(cl_command_queue q, const char *call, int op, const uint64_t *args, int argc,
                    const ferry_waits *w, const void *payload, size_t payload_length)
{
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    ferry_iov iov[2];
    int parts = 0;
    if (w && w->n) {
        iov[parts++] = (ferry_iov){w->h, sizeof(uint64_t) * w->n};
    }
    if (payload_length) {
        iov[parts++] = (ferry_iov){payload, payload_length};
    }
    int st = ferry_send(c, op, args, argc, parts ? iov : NULL, parts, 0);
    if (st == 0) {
        atomic_fetch_add(&q->sent, 1);   /* after the record is on the ring: see ferry_q_idle */
    }
    if (st != 0) {
        char why[256] = "";
        ferry_broken(c, why, sizeof why);
        return ferry_cl_error(st, CL_INVALID_COMMAND_QUEUE, call, why[0] ? why : NULL);
    }
    return CL_SUCCESS;
}

int ferry_wait_call(int op, uint64_t handle, ferry_reply *r)
{
    ferry_conn *c = ferry_icd_conn();
    memset(r, 0, sizeof *r);
    if (!c) {
        r->status = FERRY_STATUS_HOST_UNAVAILABLE;
        return r->status;
    }
    long pause_ns = 20000;
    for (;;) {
        uint64_t a[1] = {handle};
        int st = ferry_call(c, op, a, 1, NULL, 0, r);
        /* "... would wait forever: it waits for user event N, which is not set yet": another thread sets it. */
        if (st == FERRY_STATUS_INVALID_ARGUMENT && !r->sticky && r->text && strstr(r->text, "not set yet")) {
            ferry_reply_free(r);
            memset(r, 0, sizeof *r);
            struct timespec ts = {0, pause_ns};
            nanosleep(&ts, NULL);
            if (pause_ns < 2000000) {
                pause_ns *= 2;
            }
            continue;
        }
        return st;
    }
}

cl_int ferry_q_finish(cl_command_queue q, const char *call)
{
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    struct ferry_stage *s = ferry_stage_take(q);
    unsigned long covered = atomic_load(&q->sent);   /* every command counted here is on the ring before FINISH */
    ferry_reply r;
    int st = ferry_wait_call(FERRY_OP_FINISH, q->o.handle, &r);
    if (st == 0) {
        unsigned long was = atomic_load(&q->finished);
        while (was < covered && !atomic_compare_exchange_weak(&q->finished, &was, covered)) {
        }
    }
    ferry_stage_settle(s, st == 0 || r.sticky);
    char msg[1024] = "";
    int early = ferry_take_async(c, msg, sizeof msg);
    cl_int err = CL_SUCCESS;
    if (early) {
        err = ferry_cl_error(early, CL_OUT_OF_RESOURCES, call, msg);
    }
    if (st) {
        cl_int own = ferry_cl_reply_error(st, CL_INVALID_COMMAND_QUEUE, call, &r);
        if (err == CL_SUCCESS) {
            err = own;
        }
    }
    ferry_reply_free(&r);
    ferry_callbacks_poll(q);
    return err;
}

cl_int ferry_q_wait(cl_command_queue q, uint64_t event, const char *call, const ferry_waits *w, cl_ulong *times)
{
    ferry_reply r;
    int st = ferry_wait_call(FERRY_OP_EVENT_WAIT, event, &r);
    if (st == 0) {
        if (times) {
            times[0] = r.results[2];
            times[1] = r.results[3];
            times[2] = r.results[0];
            times[3] = r.results[1];
        }
        ferry_reply_free(&r);
        return CL_SUCCESS;
    }
    cl_int err;
    if (st == FERRY_STATUS_UNKNOWN_HANDLE && q) {
        /* The command was refused, so its event never existed: the queue's own report names the cause. */
        ferry_reply_free(&r);
        err = ferry_q_finish(q, call);
        if (err == CL_SUCCESS) {
            err = CL_OUT_OF_RESOURCES;
        }
    } else {
        err = ferry_cl_reply_error(st, CL_INVALID_EVENT, call, &r);
        ferry_reply_free(&r);
    }
    return ferry_waits_failed(w, err);
}

cl_int ferry_event_out(cl_command_queue q, cl_command_type type, uint64_t handle, cl_event *event)
{
    if (!event) {
        return CL_SUCCESS;
    }
    *event = ferry_event_new(q->context, q, type, handle, 0);
    return *event ? CL_SUCCESS : CL_OUT_OF_HOST_MEMORY;
}

/* ---- queues ---- */

/* Live queues (application and internal ones), for ferry_queues_quiesce. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static cl_command_queue *live;
static size_t live_n, live_cap;

static void live_add(cl_command_queue q)
{
    pthread_mutex_lock(&live_lock);
    if (live_n == live_cap) {
        size_t cap = live_cap ? live_cap * 2 : 16;
        cl_command_queue *grown = realloc(live, sizeof *grown * cap);
        if (grown) {
            live = grown;
            live_cap = cap;
        }
    }
    if (live_n < live_cap) {
        live[live_n++] = q;
    }
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(cl_command_queue q)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < live_n; i++) {
        if (live[i] == q) {
            live[i] = live[--live_n];
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

/* Waits (a marker and its EVENT_WAIT, once: never for an unset user event) until every command enqueued so far
 * on the context's queues has completed. 1 when they have, 0 when that could not be established. Used before
 * heap memory that commands may still use is given back (the release of a CL_MEM_ALLOC_HOST_PTR buffer). */
int ferry_queues_quiesce(cl_context context)
{
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return 0;
    }
    pthread_mutex_lock(&live_lock);
    uint64_t *handles = live_n ? malloc(sizeof *handles * live_n) : NULL;
    size_t n = 0;
    for (size_t i = 0; handles && i < live_n; i++) {
        if (live[i]->context == context) {
            handles[n++] = live[i]->o.handle;
        }
    }
    int ok = live_n == 0 || handles != NULL;
    pthread_mutex_unlock(&live_lock);
    for (size_t i = 0; i < n && ok; i++) {
        uint64_t m = ferry_new_handle(c);
        uint64_t a[FERRY_MARKER_ARGC] = {handles[i], m, 0};
        if (ferry_send(c, FERRY_OP_MARKER, a, FERRY_MARKER_ARGC, NULL, 0, 0) != 0) {
            ok = 0;
            break;
        }
        uint64_t wa[FERRY_EVENT_WAIT_ARGC] = {m};
        ferry_reply r;
        ok = ferry_call(c, FERRY_OP_EVENT_WAIT, wa, FERRY_EVENT_WAIT_ARGC, NULL, 0, &r) == 0;
        ferry_reply_free(&r);
        ferry_release_handle(m);
    }
    free(handles);
    return ok;
}

static cl_command_queue queue_create(cl_context context, cl_device_id device, cl_command_queue_properties props,
                                     int internal, cl_int *err)
{
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if (device != context->device) {
        *err = CL_INVALID_DEVICE;
        return NULL;
    }
    if (props & ~(cl_command_queue_properties)(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_PROFILING_ENABLE)) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    if (props & ~device->queue_properties) {
        *err = CL_INVALID_QUEUE_PROPERTIES;
        return NULL;
    }
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    cl_command_queue q = calloc(1, sizeof *q);
    if (!q) {
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    uint64_t h = ferry_new_handle(c);
    uint64_t flags = (props & CL_QUEUE_PROFILING_ENABLE ? FERRY_QUEUE_PROFILING : 0)
                     | (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE ? FERRY_QUEUE_OUT_OF_ORDER : 0);
    uint64_t a[FERRY_QUEUE_CREATE_ARGC] = {h, context->o.handle, flags, 0};
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_QUEUE_CREATE, a, FERRY_QUEUE_CREATE_ARGC, NULL, 0, &r);
    if (st) {
        *err = ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clCreateCommandQueue", &r);
        if (st == FERRY_STATUS_UNSUPPORTED) {
            *err = CL_INVALID_QUEUE_PROPERTIES;
        }
        ferry_reply_free(&r);
        free(q);
        return NULL;
    }
    ferry_reply_free(&r);
    ferry_object_init(&q->o, FERRY_MAGIC_QUEUE, h);
    q->context = context;
    q->device = device;
    q->properties = props;
    pthread_mutex_init(&q->lock, NULL);
    if (!internal) {
        clRetainContext(context);
    }
    live_add(q);
    *err = CL_SUCCESS;
    return q;
}

cl_command_queue clCreateCommandQueue(cl_context context, cl_device_id device,
                                      cl_command_queue_properties properties, cl_int *errcode_ret)
{
    cl_int err;
    cl_command_queue q = queue_create(context, device, properties, 0, &err);
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return q;
}

cl_command_queue clCreateCommandQueueWithProperties(cl_context context, cl_device_id device,
                                                    const cl_queue_properties *properties, cl_int *errcode_ret)
{
    cl_command_queue_properties props = 0;
    size_t n = 0;
    cl_int err = CL_SUCCESS;
    if (properties) {
        for (; properties[n]; n += 2) {
            if (properties[n] == CL_QUEUE_PROPERTIES) {
                props = properties[n + 1];
                if (props & (CL_QUEUE_ON_DEVICE | CL_QUEUE_ON_DEVICE_DEFAULT)) {
                    err = CL_INVALID_QUEUE_PROPERTIES;  /* no device-side enqueue */
                }
            } else {
                err = CL_INVALID_VALUE;                 /* CL_QUEUE_SIZE, priority and throttle hints */
            }
        }
        n++;
    }
    cl_command_queue q = NULL;
    if (err == CL_SUCCESS) {
        q = queue_create(context, device, props, 0, &err);
    }
    if (q && properties) {
        q->props = malloc(sizeof *properties * n);
        if (q->props) {
            memcpy(q->props, properties, sizeof *properties * n);
            q->props_size = sizeof *properties * n;
        }
    }
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return q;
}

cl_int clRetainCommandQueue(cl_command_queue q)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    atomic_fetch_add(&q->o.refs, 1);
    return CL_SUCCESS;
}

cl_int clReleaseCommandQueue(cl_command_queue q)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (atomic_fetch_sub(&q->o.refs, 1) != 1) {
        return CL_SUCCESS;
    }
    /* OpenCL's release only flushes; but staged reads still owe their copies and staging blocks their heap
     * space: one FINISH settles them. It is not retried: when the queue waits for a user event nobody has set,
     * the blocks are left to the session (a leak) rather than the release blocking. */
    struct ferry_stage *s = ferry_stage_take(q);
    if (s) {
        ferry_conn *c = ferry_icd_conn();
        uint64_t a[FERRY_FINISH_ARGC] = {q->o.handle};
        ferry_reply r;
        int st = c ? ferry_call(c, FERRY_OP_FINISH, a, FERRY_FINISH_ARGC, NULL, 0, &r) : FERRY_STATUS_HOST_UNAVAILABLE;
        if (st == 0 || (c && r.sticky)) {
            ferry_stage_settle(s, 1);
        } else if (ferry_log_enabled()) {
            ferry_log("clReleaseCommandQueue: the queue could not be finished (%s); its staging blocks stay allocated",
                      c && r.text ? r.text : "no session");
        }
        if (c) {
            ferry_reply_free(&r);
        }
    }
    live_remove(q);
    ferry_release_handle(q->o.handle);
    ferry_stage_destroy(q);
    q->o.magic = FERRY_MAGIC_DEAD;
    cl_context ctx = q->context;
    pthread_mutex_destroy(&q->lock);
    free(q->props);
    free(q);
    clReleaseContext(ctx);
    return CL_SUCCESS;
}

cl_int clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info param, size_t size, void *value,
                             size_t *size_ret)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    switch (param) {
    case CL_QUEUE_CONTEXT:
        return ferry_info(&q->context, sizeof q->context, size, value, size_ret);
    case CL_QUEUE_DEVICE:
        return ferry_info(&q->device, sizeof q->device, size, value, size_ret);
    case CL_QUEUE_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&q->o.refs);
        return ferry_info(&refs, sizeof refs, size, value, size_ret);
    }
    case CL_QUEUE_PROPERTIES:
        return ferry_info(&q->properties, sizeof q->properties, size, value, size_ret);
    case CL_QUEUE_PROPERTIES_ARRAY:
        return ferry_info(q->props, q->props_size, size, value, size_ret);
    case CL_QUEUE_DEVICE_DEFAULT: {
        cl_command_queue none = NULL;
        return ferry_info(&none, sizeof none, size, value, size_ret);
    }
    default:
        return CL_INVALID_VALUE;   /* CL_QUEUE_SIZE: not a device queue */
    }
}

cl_int clSetCommandQueueProperty(cl_command_queue q, cl_command_queue_properties properties, cl_bool enable,
                                 cl_command_queue_properties *old)
{
    return ferry_valid(q, FERRY_MAGIC_QUEUE) ? CL_INVALID_OPERATION : CL_INVALID_COMMAND_QUEUE;
}

cl_int clSetDefaultDeviceCommandQueue(cl_context context, cl_device_id device, cl_command_queue q)
{
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        return CL_INVALID_CONTEXT;
    }
    return CL_INVALID_OPERATION;   /* no device-side queues */
}

cl_int clFlush(cl_command_queue q)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    ferry_conn *c = ferry_icd_conn();
    if (c) {
        ferry_flush(c);   /* enqueues are published at once; this publishes anything held back */
    }
    return CL_SUCCESS;
}

int ferry_q_idle(cl_command_queue q)
{
    ferry_conn *c = ferry_icd_conn();
    return c && !ferry_broken(c, NULL, 0) && atomic_load(&q->sent) == atomic_load(&q->finished);
}

cl_int clFinish(cl_command_queue q)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (ferry_q_idle(q) && !ferry_stage_holds(q) && !ferry_stage_pending(q)) {
        /* Nothing sent since a finish that completed: nothing to wait for (a map-and-fill loop on an idle queue
         * costs no round trip). Failures of other one-way calls still surface at the next synchronous call. */
        ferry_callbacks_poll(q);
        return CL_SUCCESS;
    }
    return ferry_q_finish(q, "clFinish");
}

/* ---- the context's internal queue ---- */

static pthread_mutex_t internal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct internal_queue { uint64_t context; cl_command_queue q; struct internal_queue *next; } *internals;

cl_command_queue ferry_internal_queue(cl_context context)
{
    pthread_mutex_lock(&internal_lock);
    struct internal_queue *i = internals;
    while (i && i->context != context->o.handle) {
        i = i->next;
    }
    cl_command_queue q = i ? i->q : NULL;
    if (!q) {
        cl_int err;
        q = queue_create(context, context->device, 0, 1, &err);
        i = q ? malloc(sizeof *i) : NULL;
        if (i) {
            *i = (struct internal_queue){context->o.handle, q, internals};
            internals = i;
        }
    }
    pthread_mutex_unlock(&internal_lock);
    return q;
}

/* For clReleaseContext (icd_context.c) when the context dies: finishes and releases its internal queue. */
void ferry_mem_context_released(cl_context context)
{
    pthread_mutex_lock(&internal_lock);
    struct internal_queue **p = &internals;
    while (*p && (*p)->context != context->o.handle) {
        p = &(*p)->next;
    }
    struct internal_queue *i = *p;
    if (i) {
        *p = i->next;
    }
    pthread_mutex_unlock(&internal_lock);
    if (i) {
        ferry_q_finish(i->q, "clReleaseContext");
        live_remove(i->q);
        ferry_release_handle(i->q->o.handle);
        ferry_stage_destroy(i->q);
        i->q->o.magic = FERRY_MAGIC_DEAD;
        pthread_mutex_destroy(&i->q->lock);
        free(i->q);
        free(i);
    }
}

/* ---- kernels ---- */

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel kernel, cl_uint dims, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint nwait, const cl_event *wait,
                              cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    if (kernel->program->context != q->context) {
        return CL_INVALID_CONTEXT;
    }
    if (dims < 1 || dims > 3) {
        return CL_INVALID_WORK_DIMENSION;
    }
    if (!global) {
        return CL_INVALID_GLOBAL_WORK_SIZE;
    }
    uint64_t a[FERRY_LAUNCH_ARGC] = {0};
    size_t items = 1;
    for (cl_uint d = 0; d < 3; d++) {
        size_t g = d < dims ? global[d] : 1, o = d < dims && offset ? offset[d] : 0;
        size_t l = d < dims ? (local ? local[d] : 0) : (local ? 1 : 0);
        if (g == 0 || (o + g) < g) {
            return CL_INVALID_GLOBAL_WORK_SIZE;
        }
        if (local && (l == 0 || g % l != 0)) {
            return CL_INVALID_WORK_GROUP_SIZE;
        }
        items *= local ? l : 1;
        a[FERRY_ARG_LAUNCH_OFFSET0 + d] = o;
        a[FERRY_ARG_LAUNCH_GLOBAL0 + d] = g;
        a[FERRY_ARG_LAUNCH_LOCAL0 + d] = l;
    }
    if (local && q->device->max_work_group_size && items > q->device->max_work_group_size) {
        return CL_INVALID_WORK_GROUP_SIZE;
    }
    ferry_waits w;
    cl_int rc = ferry_waits_begin(q, nwait, wait, &w);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    uint64_t ev = event ? ferry_handle() : 0;
    a[FERRY_ARG_LAUNCH_QUEUE] = q->o.handle;
    a[FERRY_ARG_LAUNCH_KERNEL] = kernel->o.handle;
    a[FERRY_ARG_LAUNCH_DIMENSIONS] = dims;
    a[FERRY_ARG_LAUNCH_EVENT] = ev;
    a[FERRY_ARG_LAUNCH_WAITS] = w.n;
    rc = ferry_q_send(q, "clEnqueueNDRangeKernel", FERRY_OP_LAUNCH, a, FERRY_LAUNCH_ARGC, &w, NULL, 0);
    ferry_waits_end(&w);
    if (rc == CL_SUCCESS) {
        rc = ferry_event_out(q, CL_COMMAND_NDRANGE_KERNEL, ev, event);
    }
    return rc;
}

cl_int clEnqueueTask(cl_command_queue q, cl_kernel kernel, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    size_t one = 1;
    cl_int rc = clEnqueueNDRangeKernel(q, kernel, 1, NULL, &one, &one, nwait, wait, event);
    if (rc == CL_SUCCESS && event) {
        (*event)->command = CL_COMMAND_TASK;
    }
    return rc;
}

cl_int clEnqueueNativeKernel(cl_command_queue q, void (CL_CALLBACK *fn)(void *), void *args, size_t args_size,
                             cl_uint nmem, const cl_mem *mems, const void **locs, cl_uint nwait, const cl_event *wait,
                             cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    return CL_INVALID_OPERATION;   /* the device is on another machine: it cannot run a guest function */
}

/* ---- markers, barriers, waits ---- */

static cl_int marker(cl_command_queue q, int op, cl_command_type type, const char *call, cl_uint nwait,
                     const cl_event *wait, cl_event *event)
{
    ferry_waits w;
    cl_int rc = ferry_waits_begin(q, nwait, wait, &w);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    uint64_t ev = event ? ferry_handle() : 0;
    uint64_t a[3] = {q->o.handle, ev, w.n};
    rc = ferry_q_send(q, call, op, a, 3, &w, NULL, 0);
    ferry_waits_end(&w);
    if (rc == CL_SUCCESS) {
        rc = ferry_event_out(q, type, ev, event);
    }
    return rc;
}

cl_int clEnqueueMarkerWithWaitList(cl_command_queue q, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return marker(q, FERRY_OP_MARKER, CL_COMMAND_MARKER, "clEnqueueMarkerWithWaitList", nwait, wait, event);
}

cl_int clEnqueueBarrierWithWaitList(cl_command_queue q, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return marker(q, FERRY_OP_BARRIER, CL_COMMAND_BARRIER, "clEnqueueBarrierWithWaitList", nwait, wait, event);
}

cl_int clEnqueueMarker(cl_command_queue q, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (!event) {
        return CL_INVALID_VALUE;
    }
    return marker(q, FERRY_OP_MARKER, CL_COMMAND_MARKER, "clEnqueueMarker", 0, NULL, event);
}

cl_int clEnqueueBarrier(cl_command_queue q)
{
    return marker(q, FERRY_OP_BARRIER, CL_COMMAND_BARRIER, "clEnqueueBarrier", 0, NULL, NULL);
}

cl_int clEnqueueWaitForEvents(cl_command_queue q, cl_uint n, const cl_event *list)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (n == 0 || !list) {
        return CL_INVALID_VALUE;
    }
    cl_int rc = marker(q, FERRY_OP_BARRIER, CL_COMMAND_BARRIER, "clEnqueueWaitForEvents", n, list, NULL);
    return rc == CL_INVALID_EVENT_WAIT_LIST ? CL_INVALID_EVENT : rc;
}

/* Migration is a no-op here (one device per context): a marker with the wait list keeps the ordering. */
cl_int clEnqueueMigrateMemObjects(cl_command_queue q, cl_uint nmem, const cl_mem *mems, cl_mem_migration_flags flags,
                                  cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (nmem == 0 || !mems
        || (flags & ~(cl_mem_migration_flags)(CL_MIGRATE_MEM_OBJECT_HOST | CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED))) {
        return CL_INVALID_VALUE;
    }
    for (cl_uint i = 0; i < nmem; i++) {
        if (!ferry_valid(mems[i], FERRY_MAGIC_MEM)) {
            return CL_INVALID_MEM_OBJECT;
        }
        if (mems[i]->context != q->context) {
            return CL_INVALID_CONTEXT;
        }
    }
    cl_int rc = marker(q, FERRY_OP_MARKER, CL_COMMAND_MIGRATE_MEM_OBJECTS, "clEnqueueMigrateMemObjects", nwait, wait,
                       event);
    return rc;
}
