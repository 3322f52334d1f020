/* icd_common.c: helpers every OpenCL file of the ICD shares (icd.h, "shared helpers"): the process's one
 * connection, object checks, Ferry status -> OpenCL error, the clGet*Info copy rule and event wait lists. */
#include <stdio.h>
#include <string.h>
#include "icd.h"

const ferry_client_id ferry_client = {"ferry-opencl", "the OpenCL driver"};

static pthread_once_t conn_once = PTHREAD_ONCE_INIT;
static ferry_conn *conn;
static char conn_error[1024];

static void connect_once(void) {
    char err[1024] = {0};
    int st = ferry_connect(&conn, err, sizeof err);
    if (st != 0) {
        conn = NULL;
        snprintf(conn_error, sizeof conn_error, "%s", err[0] ? err : "cannot connect to a Ferry host");
    }
}

ferry_conn *ferry_icd_conn(void) {
    pthread_once(&conn_once, connect_once);
    return conn;
}

const char *ferry_icd_connect_error(void) {
    pthread_once(&conn_once, connect_once);
    return conn != NULL ? "" : conn_error;
}

/* Every object (platform and device included) starts with the dispatch pointer, then the magic word. */
typedef struct object_head {
    struct _cl_icd_dispatch *dispatch;
    uint32_t magic;
} object_head;

int ferry_valid(const void *obj, uint32_t magic) {
    if (obj == NULL) {
        return 0;
    }
    const object_head *h = obj;
    return __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == magic && magic != FERRY_MAGIC_DEAD;
}

void ferry_object_init(ferry_object *o, uint32_t magic, uint64_t handle) {
    o->dispatch = &ferry_dispatch;
    atomic_init(&o->refs, 1);
    o->handle = handle;
    __atomic_store_n(&o->magic, magic, __ATOMIC_RELEASE);
}

cl_int ferry_cl_error(int status, cl_int invalid_object, const char *call, const char *text) {
    if (status == FERRY_STATUS_OK) {
        return CL_SUCCESS;
    }
    if (ferry_log_enabled()) {
        ferry_log("%s: %s", call ? call : "call", text && *text ? text : "failed (no message)");
    }
    switch (status) {
    case FERRY_STATUS_INVALID_ARGUMENT:
    case FERRY_STATUS_OUT_OF_RANGE:
    case FERRY_STATUS_HEAP_RANGE:
        return CL_INVALID_VALUE;
    case FERRY_STATUS_UNKNOWN_HANDLE:
    case FERRY_STATUS_WRONG_HANDLE_KIND:
        return invalid_object != 0 ? invalid_object : CL_INVALID_VALUE;
    case FERRY_STATUS_BUILD_FAILED:
        return CL_BUILD_PROGRAM_FAILURE;
    case FERRY_STATUS_KERNEL_NOT_FOUND:
        return CL_INVALID_KERNEL_NAME;
    case FERRY_STATUS_INVALID_KERNEL_ARGS:
        return CL_INVALID_KERNEL_ARGS;
    case FERRY_STATUS_INVALID_WORK_SIZE:
        return CL_INVALID_WORK_GROUP_SIZE;
    case FERRY_STATUS_OUT_OF_DEVICE_MEMORY:
        return CL_MEM_OBJECT_ALLOCATION_FAILURE;
    case FERRY_STATUS_NO_DEVICE:
        return CL_INVALID_DEVICE;
    case FERRY_STATUS_UNSUPPORTED:
    case FERRY_STATUS_NOT_GRANTED:          /* the guest has no compute service: the operator must grant it */
        return CL_INVALID_OPERATION;
    case FERRY_STATUS_HANDLE_IN_USE:           /* the driver's own handles collided: a resource problem to the app */
    case FERRY_STATUS_QUOTA_EXCEEDED:
    case FERRY_STATUS_DEVICE_ERROR:
    case FERRY_STATUS_DEVICE_LOST:
    case FERRY_STATUS_PROTOCOL_VIOLATION:
    case FERRY_STATUS_VERSION_MISMATCH:
    case FERRY_STATUS_NOT_CONFIGURED:
    case FERRY_STATUS_HOST_UNAVAILABLE:
    case FERRY_STATUS_SESSION_CLOSED:
    case FERRY_STATUS_BAD_CREDENTIAL:
    case FERRY_STATUS_TIMEOUT:
    case FERRY_STATUS_INTERNAL:
    default:
        return CL_OUT_OF_RESOURCES;
    }
}

cl_int ferry_cl_native(const ferry_reply *r, int status) {
    if (r == NULL || status == FERRY_STATUS_OK || status != r->status || r->sticky || r->results[2] == 1) {
        return 0; /* a sticky report is an earlier call's failure: this call answers as the specification lists */
    }
    uint64_t w = r->results[FERRY_NATIVE_ERROR_RESULT];
    if ((w & FERRY_NATIVE_ERROR_TAG_MASK) != FERRY_NATIVE_ERROR_TAG
        || ((w >> 32) & 0xffff) != FERRY_NATIVE_API_OPENCL) {
        return 0;
    }
    int32_t code = (int32_t) (uint32_t) w;
    /* the error codes of OpenCL 1.0 to 3.0 (CL_DEVICE_NOT_FOUND -1 .. CL_MAX_SIZE_RESTRICTION_EXCEEDED -72): the
     * host is checked too, and a code out of that range is none the application could know */
    return code <= -1 && code >= -72 && code != -20 && !(code <= -21 && code >= -29) ? code : 0;
}

cl_int ferry_cl_reply_error(int status, cl_int invalid_object, const char *call, const ferry_reply *r) {
    cl_int mapped = ferry_cl_error(status, invalid_object, call, r != NULL ? r->text : NULL);
    cl_int native = ferry_cl_native(r, status);
    return native != 0 ? native : mapped;
}

cl_int ferry_info(const void *value, size_t size, size_t param_value_size, void *param_value,
                  size_t *param_value_size_ret) {
    if (param_value != NULL) {
        if (param_value_size < size) {
            return CL_INVALID_VALUE;
        }
        if (size > 0) {
            memcpy(param_value, value, size);
        }
    }
    if (param_value_size_ret != NULL) {
        *param_value_size_ret = size;
    }
    return CL_SUCCESS;
}

cl_int ferry_info_string(const char *s, size_t param_value_size, void *param_value, size_t *param_value_size_ret) {
    if (s == NULL) {
        s = "";
    }
    return ferry_info(s, strlen(s) + 1, param_value_size, param_value, param_value_size_ret);
}

cl_int ferry_wait_list(cl_context context, cl_uint n, const cl_event *events, uint64_t *out) {
    if ((n == 0) != (events == NULL)) {
        return CL_INVALID_EVENT_WAIT_LIST;
    }
    for (cl_uint i = 0; i < n; i++) {
        cl_event e = events[i];
        if (!ferry_valid(e, FERRY_MAGIC_EVENT)) {
            return CL_INVALID_EVENT_WAIT_LIST;
        }
        if (context != NULL && e->context != context) {
            return CL_INVALID_CONTEXT;
        }
    }
    if (out != NULL) {
        for (cl_uint i = 0; i < n && i < FERRY_WAIT_LIST_MAX; i++) {
            out[i] = events[i]->o.handle;
        }
    }
    return CL_SUCCESS;
}
