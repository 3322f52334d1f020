/* icd_event.c: events. An event names a host event by its handle (a command's, a marker's or a user event). Its
 * execution status is cached once final; before that it is asked of the host (EVENT_STATUS, which never waits).
 * Profiling times come from EVENT_WAIT's answer (queued, submit, start, end on the host device's clock).
 *
 * Callbacks: clSetEventCallback files the event in a registry (holding a reference) and starts a poller thread
 * that asks EVENT_STATUS of each registered event about every millisecond while any callback is pending, and
 * fires the callbacks that became due, each exactly once, outside any lock. clFinish and clWaitForEvents check
 * the registry too, so a callback is due no later than the call that saw its event complete. The poller never
 * holds a synchronous call open while it waits: the host serves a session's calls in order. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enqueue.h"

struct ferry_event_callback {
    void (CL_CALLBACK *fn)(cl_event, cl_int, void *);
    void *data;
    cl_int type;              /* CL_SUBMITTED, CL_RUNNING or CL_COMPLETE: due when the status is at or past it */
    struct ferry_event_callback *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cl_event *registry;    /* events with pending callbacks, each holding one reference */
static size_t registry_n, registry_cap;
static int poller_running;

cl_event ferry_event_new(cl_context context, cl_command_queue q, cl_command_type type, uint64_t handle, int user)
{
    cl_event e = calloc(1, sizeof *e);
    if (!e) {
        return NULL;
    }
    ferry_object_init(&e->o, FERRY_MAGIC_EVENT, handle);
    e->context = context;
    e->queue = q;
    e->command = type;
    e->user = user;
    atomic_init(&e->status, user ? CL_SUBMITTED : CL_QUEUED);
    pthread_mutex_init(&e->lock, NULL);
    clRetainContext(context);
    if (q) {
        clRetainCommandQueue(q);
    }
    return e;
}

cl_int clRetainEvent(cl_event e)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
        return CL_INVALID_EVENT;
    }
    atomic_fetch_add(&e->o.refs, 1);
    return CL_SUCCESS;
}

cl_int clReleaseEvent(cl_event e)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
        return CL_INVALID_EVENT;
    }
    if (atomic_fetch_sub(&e->o.refs, 1) != 1) {
        return CL_SUCCESS;
    }
    ferry_release_handle(e->o.handle);   /* a user event released unset is failed by the host */
    e->o.magic = FERRY_MAGIC_DEAD;
    cl_command_queue q = e->queue;
    cl_context ctx = e->context;
    pthread_mutex_destroy(&e->lock);
    free(e);
    if (q) {
        clReleaseCommandQueue(q);
    }
    clReleaseContext(ctx);
    return CL_SUCCESS;
}

/* ---- status and callbacks ---- */

/* Fires the callbacks of e that status makes due; each exactly once. */
static void fire(cl_event e, cl_int status)
{
    struct ferry_event_callback *due = NULL, **p;
    int drop = 0;
    pthread_mutex_lock(&registry_lock);
    for (p = &e->callbacks; *p;) {
        struct ferry_event_callback *cb = *p;
        if (status < 0 || status <= cb->type) {
            *p = cb->next;
            cb->next = due;
            due = cb;
        } else {
            p = &cb->next;
        }
    }
    if (due && !e->callbacks) {
        for (size_t i = 0; i < registry_n; i++) {
            if (registry[i] == e) {
                registry[i] = registry[--registry_n];
                drop = 1;
                break;
            }
        }
    }
    pthread_mutex_unlock(&registry_lock);
    /* due is oldest first (the list is newest first, and was reversed while taken). */
    struct ferry_event_callback *ordered = due;
    while (ordered) {
        struct ferry_event_callback *n = ordered->next;
        ordered->fn(e, status < 0 ? status : ordered->type, ordered->data);
        free(ordered);
        ordered = n;
    }
    if (drop) {
        clReleaseEvent(e);
    }
}

void ferry_event_settled(cl_event e, cl_int status, const cl_ulong *times)
{
    if (status <= CL_COMPLETE) {
        if (times) {
            pthread_mutex_lock(&e->lock);
            if (!e->have_times) {
                memcpy(e->times, times, sizeof e->times);
                e->have_times = 1;
            }
            pthread_mutex_unlock(&e->lock);
        }
        int current = atomic_load(&e->status);
        while (current > CL_COMPLETE && !atomic_compare_exchange_weak(&e->status, &current, status)) {
        }
    } else {
        int current = atomic_load(&e->status);
        while (current > status && !atomic_compare_exchange_weak(&e->status, &current, status)) {
        }
    }
    fire(e, atomic_load(&e->status));
}

cl_int ferry_event_status(cl_event e)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
        return CL_INVALID_EVENT;
    }
    cl_int s = atomic_load(&e->status);
    if (s <= CL_COMPLETE) {
        return s;
    }
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return s;
    }
    uint64_t a[FERRY_EVENT_STATUS_ARGC] = {e->o.handle};
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_EVENT_STATUS, a, FERRY_EVENT_STATUS_ARGC, NULL, 0, &r);
    if (st == 0) {
        int64_t v = (int64_t)r.results[0];
        s = v > CL_QUEUED ? CL_QUEUED : v < INT32_MIN ? INT32_MIN : (cl_int)v;
    } else if (st == FERRY_STATUS_UNKNOWN_HANDLE) {
        s = CL_OUT_OF_RESOURCES;   /* the command was refused: its event never existed on the host */
    } else {
        char why[8];
        if (ferry_broken(c, why, sizeof why)) {
            s = CL_OUT_OF_RESOURCES;
        }
    }
    ferry_reply_free(&r);
    if (s == CL_COMPLETE && e->queue) {
        ferry_stage_settle_tag(e->queue, e->o.handle);   /* a non-blocking staged read's data, before anyone sees it */
    }
    ferry_event_settled(e, s, NULL);
    return atomic_load(&e->status);
}

/* Retained copies of the registered events of q (all when NULL). */
static cl_event *snapshot(cl_command_queue q, size_t *n)
{
    pthread_mutex_lock(&registry_lock);
    cl_event *list = registry_n ? malloc(sizeof *list * registry_n) : NULL;
    *n = 0;
    for (size_t i = 0; list && i < registry_n; i++) {
        if (!q || registry[i]->queue == q) {
            atomic_fetch_add(&registry[i]->o.refs, 1);
            list[(*n)++] = registry[i];
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return list;
}

void ferry_callbacks_poll(cl_command_queue q)
{
    size_t n;
    cl_event *list = snapshot(q, &n);
    for (size_t i = 0; i < n; i++) {
        fire(list[i], ferry_event_status(list[i]));
        clReleaseEvent(list[i]);
    }
    free(list);
}

static void *poller(void *unused)
{
    long pause_ns = 200000;
    for (;;) {
        pthread_mutex_lock(&registry_lock);
        if (registry_n == 0) {
            poller_running = 0;
            pthread_mutex_unlock(&registry_lock);
            return NULL;
        }
        size_t before = registry_n;
        pthread_mutex_unlock(&registry_lock);
        ferry_callbacks_poll(NULL);
        pthread_mutex_lock(&registry_lock);
        pause_ns = registry_n < before ? 200000 : (pause_ns < 2000000 ? pause_ns * 2 : pause_ns);
        pthread_mutex_unlock(&registry_lock);
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
    }
}

cl_int clSetEventCallback(cl_event e, cl_int type, void (CL_CALLBACK *fn)(cl_event, cl_int, void *), void *data)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
        return CL_INVALID_EVENT;
    }
    if (!fn || (type != CL_COMPLETE && type != CL_RUNNING && type != CL_SUBMITTED)) {
        return CL_INVALID_VALUE;
    }
    struct ferry_event_callback *cb = malloc(sizeof *cb);
    if (!cb) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    *cb = (struct ferry_event_callback){fn, data, type, NULL};
    pthread_mutex_lock(&registry_lock);
    if (!e->callbacks) {
        if (registry_n == registry_cap) {
            size_t cap = registry_cap ? registry_cap * 2 : 16;
            cl_event *grown = realloc(registry, sizeof *grown * cap);
            if (!grown) {
                pthread_mutex_unlock(&registry_lock);
                free(cb);
                return CL_OUT_OF_HOST_MEMORY;
            }
            registry = grown;
            registry_cap = cap;
        }
        registry[registry_n++] = e;
        atomic_fetch_add(&e->o.refs, 1);   /* the registry's reference: the callbacks outlive the application's */
    }
    cb->next = e->callbacks;
    e->callbacks = cb;
    int start = !poller_running;
    if (start) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        poller_running = pthread_create(&t, &attr, poller, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&registry_lock);
    return CL_SUCCESS;
}

/* ---- waiting ---- */

cl_int clWaitForEvents(cl_uint n, const cl_event *list)
{
    if (n == 0 || !list) {
        return CL_INVALID_VALUE;
    }
    for (cl_uint i = 0; i < n; i++) {
        if (!ferry_valid(list[i], FERRY_MAGIC_EVENT)) {
            return CL_INVALID_EVENT;
        }
        if (list[i]->context != list[0]->context) {
            return CL_INVALID_CONTEXT;
        }
    }
    cl_int result = CL_SUCCESS;
    for (cl_uint i = 0; i < n; i++) {
        cl_event e = list[i];
        cl_int s = atomic_load(&e->status);
        if (s > CL_COMPLETE) {
            ferry_reply r;
            int st = ferry_wait_call(FERRY_OP_EVENT_WAIT, e->o.handle, &r);
            if (st == 0) {
                cl_ulong times[4] = {r.results[2], r.results[3], r.results[0], r.results[1]};
                if (e->queue) {
                    ferry_stage_settle_tag(e->queue, e->o.handle);
                }
                ferry_event_settled(e, CL_COMPLETE, times);
            } else if (st != FERRY_STATUS_UNKNOWN_HANDLE) {
                ferry_cl_reply_error(st, CL_INVALID_EVENT, "clWaitForEvents", &r);   /* logs it */
            }
            ferry_reply_free(&r);
            s = ferry_event_status(e);
        }
        if (s < 0) {
            result = CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
        } else if (e->queue) {
            ferry_stage_settle_tag(e->queue, e->o.handle);   /* a non-blocking staged read's data */
        }
    }
    ferry_callbacks_poll(NULL);
    return result;
}

cl_int clGetEventInfo(cl_event e, cl_event_info param, size_t size, void *value, size_t *size_ret)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
        return CL_INVALID_EVENT;
    }
    switch (param) {
    case CL_EVENT_COMMAND_QUEUE:
        return ferry_info(&e->queue, sizeof e->queue, size, value, size_ret);
    case CL_EVENT_CONTEXT:
        return ferry_info(&e->context, sizeof e->context, size, value, size_ret);
    case CL_EVENT_COMMAND_TYPE:
        return ferry_info(&e->command, sizeof e->command, size, value, size_ret);
    case CL_EVENT_COMMAND_EXECUTION_STATUS: {
        cl_int s = ferry_event_status(e);
        return ferry_info(&s, sizeof s, size, value, size_ret);
    }
    case CL_EVENT_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&e->o.refs);
        return ferry_info(&refs, sizeof refs, size, value, size_ret);
    }
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int clGetEventProfilingInfo(cl_event e, cl_profiling_info param, size_t size, void *value, size_t *size_ret)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
        return CL_INVALID_EVENT;
    }
    int index;
    switch (param) {
    case CL_PROFILING_COMMAND_QUEUED: index = 0; break;
    case CL_PROFILING_COMMAND_SUBMIT: index = 1; break;
    case CL_PROFILING_COMMAND_START: index = 2; break;
    case CL_PROFILING_COMMAND_END:
    case CL_PROFILING_COMMAND_COMPLETE: index = 3; break;
    default: return CL_INVALID_VALUE;
    }
    if (e->user || !e->queue || !(e->queue->properties & CL_QUEUE_PROFILING_ENABLE)
        || ferry_event_status(e) != CL_COMPLETE) {
        return CL_PROFILING_INFO_NOT_AVAILABLE;
    }
    pthread_mutex_lock(&e->lock);
    int have = e->have_times;
    pthread_mutex_unlock(&e->lock);
    if (!have) {
        /* Complete already: EVENT_WAIT answers at once, with the times. */
        ferry_reply r;
        int st = ferry_wait_call(FERRY_OP_EVENT_WAIT, e->o.handle, &r);
        if (st != 0) {
            ferry_cl_reply_error(st, CL_INVALID_EVENT, "clGetEventProfilingInfo", &r);
            ferry_reply_free(&r);
            return CL_PROFILING_INFO_NOT_AVAILABLE;
        }
        cl_ulong times[4] = {r.results[2], r.results[3], r.results[0], r.results[1]};
        ferry_reply_free(&r);
        ferry_event_settled(e, CL_COMPLETE, times);
    }
    pthread_mutex_lock(&e->lock);
    cl_ulong t = e->times[index];
    pthread_mutex_unlock(&e->lock);
    return ferry_info(&t, sizeof t, size, value, size_ret);
}

/* ---- user events ---- */

cl_event clCreateUserEvent(cl_context context, cl_int *errcode_ret)
{
    cl_int err = CL_SUCCESS;
    cl_event e = NULL;
    ferry_conn *c = ferry_icd_conn();
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        err = CL_INVALID_CONTEXT;
    } else if (!c) {
        err = CL_OUT_OF_RESOURCES;
    } else {
        uint64_t h = ferry_new_handle(c);
        uint64_t a[FERRY_USER_EVENT_CREATE_ARGC] = {h, context->o.handle};
        ferry_reply r;
        int st = ferry_call(c, FERRY_OP_USER_EVENT_CREATE, a, FERRY_USER_EVENT_CREATE_ARGC, NULL, 0, &r);
        if (st) {
            err = ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clCreateUserEvent", &r);
        } else if (!(e = ferry_event_new(context, NULL, CL_COMMAND_USER, h, 1))) {
            ferry_release_handle(h);
            err = CL_OUT_OF_HOST_MEMORY;
        }
        ferry_reply_free(&r);
    }
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return e;
}

cl_int clSetUserEventStatus(cl_event e, cl_int status)
{
    if (!ferry_valid(e, FERRY_MAGIC_EVENT) || !e->user) {
        return CL_INVALID_EVENT;
    }
    if (status > CL_COMPLETE) {
        return CL_INVALID_VALUE;
    }
    if (atomic_load(&e->status) <= CL_COMPLETE) {
        return CL_INVALID_OPERATION;
    }
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    uint64_t a[FERRY_USER_EVENT_SET_ARGC] = {e->o.handle, (uint64_t)(int64_t)status};
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_USER_EVENT_SET, a, FERRY_USER_EVENT_SET_ARGC, NULL, 0, &r);
    cl_int err = CL_SUCCESS;
    if (st == FERRY_STATUS_INVALID_ARGUMENT) {
        err = CL_INVALID_OPERATION;   /* set already */
    } else if (st) {
        err = ferry_cl_reply_error(st, CL_INVALID_EVENT, "clSetUserEventStatus", &r);
    }
    ferry_reply_free(&r);
    if (err == CL_SUCCESS) {
        ferry_event_settled(e, status, NULL);
    }
    return err;
}
