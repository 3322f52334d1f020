/* icd_context.c: contexts. A context holds one device (the wire's CONTEXT_CREATE takes one); its properties are
 * kept as given and answered back. Creation is sent with the reply flag so a refusal (quota, lost host) is
 * reported at the call. Objects made in a context hold a reference to it; the host's context is released with
 * the last one. */
#include <stdlib.h>
#include <string.h>
#include "enqueue.h"
#include "icd_objects.h"

/* Checks properties (a 0-terminated list of pairs) and copies them; *copy is NULL when properties is NULL. */
static cl_int check_properties(const cl_context_properties *properties, cl_context_properties **copy,
                               size_t *bytes) {
    *copy = NULL;
    *bytes = 0;
    if (!properties) {
        return CL_SUCCESS;
    }
    size_t n = 0;
    int platform_seen = 0, sync_seen = 0;
    for (; properties[n]; n += 2) {
        switch (properties[n]) {
        case CL_CONTEXT_PLATFORM:
            if (platform_seen++) {
                return CL_INVALID_PROPERTY;
            }
            if ((cl_platform_id) properties[n + 1] != &ferry_platform) {
                return CL_INVALID_PLATFORM;
            }
            break;
        case CL_CONTEXT_INTEROP_USER_SYNC:
            if (sync_seen++) {
                return CL_INVALID_PROPERTY;
            }
            break;
        default:
            return CL_INVALID_PROPERTY;
        }
    }
    *bytes = (n + 1) * sizeof *properties;
    *copy = malloc(*bytes);
    if (!*copy) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    memcpy(*copy, properties, *bytes);
    return CL_SUCCESS;
}

static cl_context make_context(cl_context_properties *props, size_t props_size, cl_device_id device,
                               void (CL_CALLBACK *notify)(const char *, const void *, size_t, void *),
                               void *user_data, cl_int *err) {
    ferry_conn *c = ferry_icd_conn();
    cl_context ctx = calloc(1, sizeof *ctx);
    if (!c || !ctx) {
        free(ctx);
        free(props);
        *err = c ? CL_OUT_OF_HOST_MEMORY : CL_DEVICE_NOT_AVAILABLE;
        return NULL;
    }
    uint64_t handle = ferry_new_handle(c);
    uint64_t args[FERRY_CONTEXT_CREATE_ARGC];
    args[FERRY_ARG_CONTEXT_CREATE_CONTEXT] = handle;
    args[FERRY_ARG_CONTEXT_CREATE_DEVICE] = device->index;
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = ferry_call(c, FERRY_OP_CONTEXT_CREATE, args, FERRY_CONTEXT_CREATE_ARGC, NULL, 0, &r);
    if (status != FERRY_STATUS_OK) {
        /* a device withdrawn, or this session's device work lost (its worker stopped by the host's watchdog) or
         * the host gone: the device is "currently not available", as the specification words it; the host's reason
         * goes to FERRY_LOG */
        cl_int mapped = ferry_cl_reply_error(status, CL_INVALID_DEVICE, "clCreateContext", &r);
        *err = status == FERRY_STATUS_NO_DEVICE || status == FERRY_STATUS_DEVICE_LOST
                       || status == FERRY_STATUS_HOST_UNAVAILABLE || status == FERRY_STATUS_SESSION_CLOSED
                   ? CL_DEVICE_NOT_AVAILABLE : mapped;
        ferry_reply_free(&r);
        free(ctx);
        free(props);
        return NULL;
    }
    ferry_reply_free(&r);
    ferry_object_init(&ctx->o, FERRY_MAGIC_CONTEXT, handle);
    ctx->device = device;
    ctx->properties = props;
    ctx->properties_size = props_size;
    ctx->notify = notify;
    ctx->notify_data = user_data;
    pthread_mutex_init(&ctx->lock, NULL);
    *err = CL_SUCCESS;
    return ctx;
}

cl_context CL_API_CALL clCreateContext(const cl_context_properties *properties, cl_uint num_devices,
                                       const cl_device_id *devices,
                                       void (CL_CALLBACK *pfn_notify)(const char *, const void *, size_t, void *),
                                       void *user_data, cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!devices || num_devices == 0 || (!pfn_notify && user_data)) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    cl_device_id device = NULL;
    for (cl_uint i = 0; i < num_devices; i++) {
        if (!ferry_valid_device(devices[i])) {
            *err = CL_INVALID_DEVICE;
            return NULL;
        }
        if (device && devices[i] != device) {
            ferry_log("clCreateContext: a Ferry context holds one device; %u were given (make one context per "
                      "device)", num_devices);
            *err = CL_INVALID_DEVICE;
            return NULL;
        }
        device = devices[i];
    }
    cl_context_properties *props;
    size_t props_size;
    *err = check_properties(properties, &props, &props_size);
    if (*err != CL_SUCCESS) {
        return NULL;
    }
    return make_context(props, props_size, device, pfn_notify, user_data, err);
}

cl_context CL_API_CALL clCreateContextFromType(const cl_context_properties *properties, cl_device_type device_type,
                                               void (CL_CALLBACK *pfn_notify)(const char *, const void *, size_t,
                                                                              void *),
                                               void *user_data, cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!pfn_notify && user_data) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    cl_context_properties *props;
    size_t props_size;
    *err = check_properties(properties, &props, &props_size);
    if (*err != CL_SUCCESS) {
        return NULL;
    }
    cl_device_id device;
    cl_uint n;
    *err = clGetDeviceIDs(&ferry_platform, device_type, 1, &device, &n);
    if (*err != CL_SUCCESS) {
        free(props);
        return NULL;
    }
    return make_context(props, props_size, device, pfn_notify, user_data, err);
}

void ferry_context_retain(cl_context c) {
    atomic_fetch_add(&c->o.refs, 1);
}

void ferry_context_release(cl_context c) {
    if (atomic_fetch_sub(&c->o.refs, 1) != 1) {
        return;
    }
    ferry_mem_context_released(c); /* the context's internal queue (icd_queue.c) goes first */
    /* destructor callbacks, the last registered first, before the context's memory goes */
    ferry_callbacks_run(c->destructors, c);
    ferry_conn *conn = ferry_icd_conn();
    if (conn && c->o.handle) {
        uint64_t args[FERRY_RELEASE_ARGC] = { c->o.handle };
        ferry_send(conn, FERRY_OP_RELEASE, args, FERRY_RELEASE_ARGC, NULL, 0, 1);
    }
    c->o.magic = FERRY_MAGIC_DEAD;
    pthread_mutex_destroy(&c->lock);
    free(c->properties);
    free(c);
}

cl_int CL_API_CALL clRetainContext(cl_context context) {
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        return CL_INVALID_CONTEXT;
    }
    ferry_context_retain(context);
    return CL_SUCCESS;
}

cl_int CL_API_CALL clReleaseContext(cl_context context) {
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        return CL_INVALID_CONTEXT;
    }
    ferry_context_release(context);
    return CL_SUCCESS;
}

cl_int CL_API_CALL clGetContextInfo(cl_context context, cl_context_info param_name, size_t param_value_size,
                                    void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        return CL_INVALID_CONTEXT;
    }
    switch (param_name) {
    case CL_CONTEXT_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&context->o.refs);
        return ferry_info(&refs, sizeof refs, param_value_size, param_value, param_value_size_ret);
    }
    case CL_CONTEXT_NUM_DEVICES: {
        cl_uint one = 1;
        return ferry_info(&one, sizeof one, param_value_size, param_value, param_value_size_ret);
    }
    case CL_CONTEXT_DEVICES:
        return ferry_info(&context->device, sizeof context->device, param_value_size, param_value,
                          param_value_size_ret);
    case CL_CONTEXT_PROPERTIES:
        return ferry_info(context->properties, context->properties_size, param_value_size, param_value,
                          param_value_size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL clSetContextDestructorCallback(cl_context context,
                                                  void (CL_CALLBACK *pfn_notify)(cl_context, void *),
                                                  void *user_data) {
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        return CL_INVALID_CONTEXT;
    }
    if (!pfn_notify) {
        return CL_INVALID_VALUE;
    }
    return ferry_callback_push(&context->destructors, &context->lock, (void (CL_CALLBACK *)(void *, void *)) pfn_notify,
                               user_data);
}

cl_int ferry_callback_push(struct ferry_callback **list, pthread_mutex_t *lock,
                           void (CL_CALLBACK *fn)(void *, void *), void *user_data) {
    struct ferry_callback *cb = malloc(sizeof *cb);
    if (!cb) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    cb->fn = fn;
    cb->user_data = user_data;
    pthread_mutex_lock(lock);
    cb->next = *list;
    *list = cb;
    pthread_mutex_unlock(lock);
    return CL_SUCCESS;
}

void ferry_callbacks_run(struct ferry_callback *list, void *object) {
    for (struct ferry_callback *cb = list, *next; cb; cb = next) {
        next = cb->next;
        cb->fn(object, cb->user_data);
        free(cb);
    }
}
