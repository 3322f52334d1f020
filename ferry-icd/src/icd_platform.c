/* icd_platform.c: the platform "Ferry" and its devices (the host's granted devices). Device queries are answered
 * from the host's real device through INFO (each answer cached per device and param), except where Ferry differs
 * from the device: it presents OpenCL 1.2, one platform, no partitioning, and only the extensions that need no
 * host API entry points Ferry lacks. Without INFO (a backend that answers UNSUPPORTED) DEVICE_INFO's fields answer
 * what they cover. Also the ICD loader's entry points and the extension-function lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "icd_objects.h"
#include "enqueue.h"

#ifndef FERRY_VERSION
#define FERRY_VERSION "0.1.0"
#endif

struct _cl_platform_id ferry_platform = { &ferry_dispatch, FERRY_MAGIC_PLATFORM };

/* One cached answer of the host's device. */
struct ferry_info_entry {
    struct ferry_info_entry *next;
    cl_device_info param;
    cl_int err;
    size_t size;
    void *bytes;
};

static pthread_mutex_t devices_lock = PTHREAD_MUTEX_INITIALIZER;
static struct _cl_device_id *devices;
static _Atomic cl_uint device_count;
static atomic_int devices_made;

/* ---- INFO ---- */

cl_int ferry_query(int kind, uint64_t handle, uint64_t param, uint64_t index, int64_t heap_offset,
                   uint64_t heap_size, void **out, size_t *size, int *unsupported, const char *call) {
    *out = NULL;
    *size = 0;
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    uint64_t args[FERRY_INFO_ARGC] = { (uint64_t) kind, handle, param, index, (uint64_t) heap_offset, heap_size };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = ferry_call(c, FERRY_OP_INFO, args, FERRY_INFO_ARGC, NULL, 0, &r);
    cl_int err = CL_SUCCESS;
    if (status == FERRY_STATUS_OK) {
        uint64_t n = r.results[0];
        if (heap_size > 0) {
            if (n > heap_size || r.results[1] != 1) {
                err = CL_OUT_OF_RESOURCES;
                ferry_log("%s: the value (%llu bytes) did not fit the heap range of %llu bytes", call,
                          (unsigned long long) n, (unsigned long long) heap_size);
            } else {
                *size = (size_t) n;
                *out = calloc(1, 1);
            }
        } else if (n != r.length) {
            err = ferry_cl_error(FERRY_STATUS_INTERNAL, CL_INVALID_VALUE, call,
                                 "the host's INFO answer does not match its stated size");
        } else {
            *size = (size_t) n;
            if (r.text) {
                *out = r.text;
                r.text = NULL;
            } else {
                *out = calloc(1, 1);
            }
        }
        if (!*out && err == CL_SUCCESS) {
            err = CL_OUT_OF_HOST_MEMORY;
        }
    } else if (status == FERRY_STATUS_UNSUPPORTED) {
        if (unsupported) {
            *unsupported = 1;
        }
        err = CL_INVALID_OPERATION;
    } else if (status == FERRY_STATUS_INVALID_ARGUMENT) {
        err = CL_INVALID_VALUE;
        if (ferry_log_enabled()) {
            ferry_log("%s: %s", call, r.text ? r.text : "refused");
        }
    } else {
        err = ferry_cl_reply_error(status, CL_INVALID_VALUE, call, &r);
    }
    ferry_reply_free(&r);
    return err;
}

/* ---- devices ---- */

static void copy_line(char *dst, size_t cap, const char **p) {
    size_t n = 0;
    const char *s = *p;
    while (s[n] && s[n] != '\n') {
        n++;
    }
    size_t take = n < cap - 1 ? n : cap - 1;
    memcpy(dst, s, take);
    dst[take] = 0;
    *p = s[n] ? s + n + 1 : s + n;
}

static void device_from_device_info(struct _cl_device_id *d, ferry_conn *c) {
    uint64_t args[FERRY_DEVICE_INFO_ARGC] = { d->index };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    if (ferry_call(c, FERRY_OP_DEVICE_INFO, args, FERRY_DEVICE_INFO_ARGC, NULL, 0, &r) == FERRY_STATUS_OK) {
        switch (r.results[0] & 0xff) {
        case 1: d->type = CL_DEVICE_TYPE_CPU; break;
        case 2: d->type = CL_DEVICE_TYPE_GPU; break;
        case 3: d->type = CL_DEVICE_TYPE_ACCELERATOR; break;
        default: d->type = CL_DEVICE_TYPE_CUSTOM; break;
        }
        d->global_mem = r.results[1];
        d->local_mem = r.results[2];
        d->compute_units = (uint32_t) r.results[3];
        d->max_work_group_size = (size_t) (r.results[3] >> 32);
        const char *p = r.text ? r.text : "";
        copy_line(d->name, sizeof d->name, &p);
        copy_line(d->vendor, sizeof d->vendor, &p);
        copy_line(d->version, sizeof d->version, &p);
    } else {
        d->type = CL_DEVICE_TYPE_DEFAULT;
        snprintf(d->name, sizeof d->name, "Ferry device %u", d->index);
        ferry_log("clGetDeviceIDs: DEVICE_INFO of device %u failed: %s", d->index, r.text ? r.text : "?");
    }
    ferry_reply_free(&r);
}

/* The host's answer for param (cached). On success *bytes points into the cache (valid as long as the process). */
static cl_int host_param(cl_device_id d, cl_device_info param, const void **bytes, size_t *size) {
    pthread_mutex_lock(&d->lock);
    for (struct ferry_info_entry *e = d->cache; e; e = e->next) {
        if (e->param == param) {
            *bytes = e->bytes;
            *size = e->size;
            pthread_mutex_unlock(&d->lock);
            return e->err;
        }
    }
    int no_info = atomic_load(&d->no_info);
    pthread_mutex_unlock(&d->lock);
    if (no_info) {
        return CL_INVALID_VALUE;
    }
    void *out;
    size_t n;
    int unsupported = 0;
    cl_int err = ferry_query(FERRY_INFO_DEVICE, d->index, param, 0, 0, 0, &out, &n, &unsupported,
                             "clGetDeviceInfo");
    if (unsupported) {
        atomic_store(&d->no_info, 1);
        return CL_INVALID_VALUE;
    }
    if (err != CL_SUCCESS && err != CL_INVALID_VALUE) {
        return err; /* not cached: the session may recover */
    }
    struct ferry_info_entry *e = calloc(1, sizeof *e);
    if (!e) {
        free(out);
        return CL_OUT_OF_HOST_MEMORY;
    }
    e->param = param;
    e->err = err;
    e->bytes = out;
    e->size = n;
    pthread_mutex_lock(&d->lock);
    e->next = d->cache;
    d->cache = e;
    pthread_mutex_unlock(&d->lock);
    *bytes = e->bytes;
    *size = e->size;
    return err;
}

static uint64_t host_uint(cl_device_id d, cl_device_info param, uint64_t otherwise) {
    const void *b;
    size_t n;
    if (host_param(d, param, &b, &n) != CL_SUCCESS) {
        return otherwise;
    }
    if (n == 8) {
        uint64_t v;
        memcpy(&v, b, 8);
        return v;
    }
    if (n == 4) {
        uint32_t v;
        memcpy(&v, b, 4);
        return v;
    }
    return otherwise;
}

static void make_devices(void) {
    if (atomic_load(&devices_made)) {
        return;
    }
    pthread_mutex_lock(&devices_lock);
    if (!atomic_load(&devices_made)) {
        ferry_conn *c = ferry_icd_conn();
        if (c) {
            uint32_t n = ferry_device_count(c);
            if (n > 64) {
                n = 64;
            }
            devices = n ? calloc(n, sizeof *devices) : NULL;
            if (!devices) {
                n = 0;
            }
            for (uint32_t i = 0; i < n; i++) {
                struct _cl_device_id *d = &devices[i];
                d->dispatch = &ferry_dispatch;
                d->magic = FERRY_MAGIC_DEVICE;
                d->index = i;
                pthread_mutex_init(&d->lock, NULL);
                device_from_device_info(d, c);
                d->mem_base_addr_align = (uint32_t) host_uint(d, CL_DEVICE_MEM_BASE_ADDR_ALIGN, 1024);
                d->image_support = (cl_bool) host_uint(d, CL_DEVICE_IMAGE_SUPPORT, CL_FALSE);
                d->queue_properties = host_uint(d, CL_DEVICE_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE);
                uint64_t wg = host_uint(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, 0);
                if (wg) {
                    d->max_work_group_size = (size_t) wg;
                }
            }
            atomic_store(&device_count, n);
            atomic_store(&devices_made, 1); /* a host that cannot be reached is tried again at the next call */
        } else {
            static atomic_int told;
            if (!atomic_exchange(&told, 1)) {
                ferry_log("no Ferry host (no devices until one answers): %s", ferry_icd_connect_error());
            }
        }
    }
    pthread_mutex_unlock(&devices_lock);
}

cl_uint ferry_device_count_icd(void) {
    make_devices();
    return atomic_load(&device_count);
}

cl_device_id ferry_device_at(cl_uint i) {
    return i < ferry_device_count_icd() ? &devices[i] : NULL;
}

int ferry_valid_device(cl_device_id d) {
    if (!d || !atomic_load(&devices_made)) {
        return 0;
    }
    cl_uint n = atomic_load(&device_count);
    return d >= devices && d < devices + n && d->magic == FERRY_MAGIC_DEVICE;
}

size_t ferry_device_pointer_size(cl_device_id d) {
    uint64_t bits = host_uint(d, CL_DEVICE_ADDRESS_BITS, 64);
    return bits == 32 ? 4 : 8;
}

/* CL_DEVICE_MAX_MEM_ALLOC_SIZE as clGetDeviceInfo answers it; 0 when unknown. */
uint64_t ferry_device_max_alloc(cl_device_id d) {
    uint64_t v = host_uint(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, d->global_mem);
    return d->global_mem && v > d->global_mem ? d->global_mem : v;
}

/* ---- the loader's entry points and the platform ---- */

FERRY_EXPORT cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id *platforms,
                                                         cl_uint *num_platforms) {
    if ((num_entries == 0 && platforms) || (!platforms && !num_platforms)) {
        return CL_INVALID_VALUE;
    }
    if (platforms) {
        platforms[0] = &ferry_platform;
    }
    if (num_platforms) {
        *num_platforms = 1;
    }
    return CL_SUCCESS;
}

cl_int CL_API_CALL clGetPlatformIDs(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms) {
    return clIcdGetPlatformIDsKHR(num_entries, platforms, num_platforms);
}

/* The first device's profile, or FULL_PROFILE. */
static const char *platform_profile(void) {
    const void *b;
    size_t n;
    cl_device_id d = ferry_device_at(0);
    if (d && host_param(d, CL_DEVICE_PROFILE, &b, &n) == CL_SUCCESS && strcmp(b, "EMBEDDED_PROFILE") == 0) {
        return "EMBEDDED_PROFILE";
    }
    return "FULL_PROFILE";
}

FERRY_EXPORT cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id platform, cl_platform_info param_name,
                                                    size_t param_value_size, void *param_value,
                                                    size_t *param_value_size_ret) {
    if (platform && platform != &ferry_platform) {
        return CL_INVALID_PLATFORM;
    }
    switch (param_name) {
    case CL_PLATFORM_PROFILE:
        return ferry_info_string(platform_profile(), param_value_size, param_value, param_value_size_ret);
    case CL_PLATFORM_VERSION:
        return ferry_info_string("OpenCL 1.2 Ferry " FERRY_VERSION, param_value_size, param_value,
                                 param_value_size_ret);
    case CL_PLATFORM_NAME:
    case CL_PLATFORM_VENDOR:
    case CL_PLATFORM_ICD_SUFFIX_KHR:
        return ferry_info_string("Ferry", param_value_size, param_value, param_value_size_ret);
    case CL_PLATFORM_EXTENSIONS:
        return ferry_info_string("cl_khr_icd", param_value_size, param_value, param_value_size_ret);
    case CL_PLATFORM_HOST_TIMER_RESOLUTION: { /* no device and host timer synchronization */
        cl_ulong zero = 0;
        return ferry_info(&zero, sizeof zero, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PLATFORM_NUMERIC_VERSION: {
        cl_version v = CL_MAKE_VERSION(1, 2, 0);
        return ferry_info(&v, sizeof v, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PLATFORM_EXTENSIONS_WITH_VERSION: {
        cl_name_version icd;
        memset(&icd, 0, sizeof icd);
        icd.version = CL_MAKE_VERSION(1, 0, 0);
        strcpy(icd.name, "cl_khr_icd");
        return ferry_info(&icd, sizeof icd, param_value_size, param_value, param_value_size_ret);
    }
    default:
        return CL_INVALID_VALUE;
    }
}

/* Extension functions: Ferry's platform offers none but the ICD loader's own. */
FERRY_EXPORT void *CL_API_CALL clGetExtensionFunctionAddress(const char *func_name) {
    if (func_name && strcmp(func_name, "clIcdGetPlatformIDsKHR") == 0) {
        return (void *) clIcdGetPlatformIDsKHR;
    }
    return NULL;
}

void *CL_API_CALL clGetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char *func_name) {
    if (platform != &ferry_platform) {
        return NULL;
    }
    return clGetExtensionFunctionAddress(func_name);
}

cl_int CL_API_CALL clUnloadCompiler(void) {
    return CL_SUCCESS;
}

cl_int CL_API_CALL clUnloadPlatformCompiler(cl_platform_id platform) {
    return platform == &ferry_platform ? CL_SUCCESS : CL_INVALID_PLATFORM;
}

/* ---- device ids ---- */

static int type_matches(cl_device_type want, cl_device_type have) {
    if (want == CL_DEVICE_TYPE_ALL || want == CL_DEVICE_TYPE_DEFAULT) {
        return 1;
    }
    return (want & have) != 0;
}

cl_int CL_API_CALL clGetDeviceIDs(cl_platform_id platform, cl_device_type device_type, cl_uint num_entries,
                                  cl_device_id *devices_out, cl_uint *num_devices) {
    if (platform && platform != &ferry_platform) {
        return CL_INVALID_PLATFORM;
    }
    const cl_device_type known = CL_DEVICE_TYPE_DEFAULT | CL_DEVICE_TYPE_CPU | CL_DEVICE_TYPE_GPU
        | CL_DEVICE_TYPE_ACCELERATOR | CL_DEVICE_TYPE_CUSTOM;
    if ((device_type & CL_DEVICE_TYPE_ALL) == CL_DEVICE_TYPE_ALL) {
        device_type = CL_DEVICE_TYPE_ALL; /* JOCL and other bindings sign-extend the 32-bit constant to 64 bits */
    }
    if (device_type != CL_DEVICE_TYPE_ALL && (device_type == 0 || (device_type & ~known))) {
        return CL_INVALID_DEVICE_TYPE;
    }
    if ((num_entries == 0 && devices_out) || (!devices_out && !num_devices)) {
        return CL_INVALID_VALUE;
    }
    cl_uint n = ferry_device_count_icd();
    cl_uint found = 0;
    for (cl_uint i = 0; i < n; i++) {
        if (!type_matches(device_type, devices[i].type)) {
            continue;
        }
        if (device_type == CL_DEVICE_TYPE_DEFAULT && found == 1) {
            break; /* the default device is the first one */
        }
        if (devices_out && found < num_entries) {
            devices_out[found] = &devices[i];
        }
        found++;
    }
    if (num_devices) {
        *num_devices = found;
    }
    return found ? CL_SUCCESS : CL_DEVICE_NOT_FOUND;
}

/* ---- device info ---- */

/* Extensions that need no host API entry points Ferry lacks (OpenCL C features and plain queries). */
static const char *const kept_extensions[] = {
    "cl_khr_fp64", "cl_khr_fp16", "cl_khr_int64_base_atomics", "cl_khr_int64_extended_atomics",
    "cl_khr_global_int32_base_atomics", "cl_khr_global_int32_extended_atomics", "cl_khr_local_int32_base_atomics",
    "cl_khr_local_int32_extended_atomics", "cl_khr_byte_addressable_store", "cl_khr_3d_image_writes",
    "cl_khr_select_fprounding_mode", "cl_khr_device_uuid", "cl_khr_pci_bus_info", "cl_khr_extended_bit_ops",
    "cl_khr_expect_assume", "cl_khr_integer_dot_product", NULL
};

static int kept(const char *name, size_t n) {
    for (int i = 0; kept_extensions[i]; i++) {
        if (strlen(kept_extensions[i]) == n && memcmp(kept_extensions[i], name, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The host's extension list, filtered, with cl_khr_icd; malloc'd. */
static char *device_extensions(cl_device_id d) {
    const void *b;
    size_t n;
    const char *host = host_param(d, CL_DEVICE_EXTENSIONS, &b, &n) == CL_SUCCESS ? b : "";
    char *out = malloc(strlen(host) + sizeof "cl_khr_icd" + 2);
    if (!out) {
        return NULL;
    }
    out[0] = 0;
    size_t len = 0;
    for (const char *p = host; *p;) {
        while (*p == ' ') {
            p++;
        }
        const char *e = p;
        while (*e && *e != ' ') {
            e++;
        }
        if (e > p && kept(p, (size_t) (e - p))) {
            memcpy(out + len, p, (size_t) (e - p));
            len += (size_t) (e - p);
            out[len++] = ' ';
        }
        p = e;
    }
    strcpy(out + len, "cl_khr_icd");
    return out;
}

static cl_int answer_extensions_with_version(cl_device_id d, size_t size, void *value, size_t *size_ret) {
    char *names = device_extensions(d);
    if (!names) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    const void *b;
    size_t hn;
    const cl_name_version *host = NULL;
    size_t host_count = 0;
    if (host_param(d, CL_DEVICE_EXTENSIONS_WITH_VERSION, &b, &hn) == CL_SUCCESS) {
        host = b;
        host_count = hn / sizeof(cl_name_version);
    }
    size_t count = 1;
    for (char *p = names; *p; p++) {
        count += *p == ' ';
    }
    cl_name_version *list = calloc(count, sizeof *list);
    if (!list) {
        free(names);
        return CL_OUT_OF_HOST_MEMORY;
    }
    size_t i = 0;
    for (char *save = NULL, *t = strtok_r(names, " ", &save); t && i < count; t = strtok_r(NULL, " ", &save), i++) {
        snprintf(list[i].name, sizeof list[i].name, "%s", t);
        list[i].version = CL_MAKE_VERSION(1, 0, 0);
        for (size_t k = 0; k < host_count; k++) {
            if (strncmp(host[k].name, t, sizeof host[k].name) == 0) {
                list[i].version = host[k].version;
            }
        }
    }
    cl_int err = ferry_info(list, i * sizeof *list, size, value, size_ret);
    free(list);
    free(names);
    return err;
}

/* The host's OpenCL C version string, capped at 1.2. */
static cl_int answer_c_version(cl_device_id d, size_t size, void *value, size_t *size_ret) {
    const void *b;
    size_t n;
    cl_int err = host_param(d, CL_DEVICE_OPENCL_C_VERSION, &b, &n);
    int major = 1, minor = 2;
    if (err == CL_SUCCESS) {
        if (sscanf(b, "OpenCL C %d.%d", &major, &minor) == 2 && (major < 1 || (major == 1 && minor < 2))) {
            return ferry_info_string(b, size, value, size_ret);
        }
    }
    return ferry_info_string("OpenCL C 1.2", size, value, size_ret);
}

static cl_int answer_version(cl_device_id d, size_t size, void *value, size_t *size_ret) {
    const void *b;
    size_t n;
    const char *host = host_param(d, CL_DEVICE_VERSION, &b, &n) == CL_SUCCESS ? b : d->version;
    char text[512];
    snprintf(text, sizeof text, "OpenCL 1.2 Ferry (host device: %s)", host);
    return ferry_info_string(text, size, value, size_ret);
}

/* The answer from DEVICE_INFO's fields when the host's backend has no INFO. */
static cl_int answer_fallback(cl_device_id d, cl_device_info param, size_t size, void *value, size_t *size_ret) {
    cl_uint u;
    cl_ulong ul;
    size_t sz;
    cl_bool yes = CL_TRUE;
    switch (param) {
    case CL_DEVICE_TYPE:
        return ferry_info(&d->type, sizeof d->type, size, value, size_ret);
    case CL_DEVICE_NAME:
        return ferry_info_string(d->name, size, value, size_ret);
    case CL_DEVICE_VENDOR:
        return ferry_info_string(d->vendor, size, value, size_ret);
    case CL_DEVICE_GLOBAL_MEM_SIZE:
        ul = d->global_mem;
        return ferry_info(&ul, sizeof ul, size, value, size_ret);
    case CL_DEVICE_LOCAL_MEM_SIZE:
        ul = d->local_mem;
        return ferry_info(&ul, sizeof ul, size, value, size_ret);
    case CL_DEVICE_MAX_COMPUTE_UNITS:
        u = d->compute_units;
        return ferry_info(&u, sizeof u, size, value, size_ret);
    case CL_DEVICE_MAX_WORK_GROUP_SIZE:
        sz = d->max_work_group_size;
        return ferry_info(&sz, sizeof sz, size, value, size_ret);
    case CL_DEVICE_AVAILABLE:
    case CL_DEVICE_COMPILER_AVAILABLE:
        return ferry_info(&yes, sizeof yes, size, value, size_ret);
    case CL_DEVICE_PROFILE:
        return ferry_info_string("FULL_PROFILE", size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

static cl_int answer_capped(cl_device_id d, cl_device_info param, size_t cap, size_t size, void *value,
                            size_t *size_ret) {
    const void *b;
    size_t n;
    cl_int err = host_param(d, param, &b, &n);
    if (err != CL_SUCCESS) {
        return atomic_load(&d->no_info) ? answer_fallback(d, param, size, value, size_ret) : err;
    }
    size_t v = 0;
    memcpy(&v, b, n < sizeof v ? n : sizeof v);
    if (v > cap) {
        v = cap;
    }
    return ferry_info(&v, sizeof v, size, value, size_ret);
}

static cl_int answer_memory(cl_device_id d, cl_device_info param, size_t size, void *value, size_t *size_ret) {
    cl_ulong granted = param == CL_DEVICE_LOCAL_MEM_SIZE ? d->local_mem : d->global_mem;
    cl_ulong v = host_uint(d, param, granted);
    if (granted && v > granted) {
        v = granted;
    }
    if (!v) {
        return answer_fallback(d, param, size, value, size_ret);
    }
    return ferry_info(&v, sizeof v, size, value, size_ret);
}

cl_int CL_API_CALL clGetDeviceInfo(cl_device_id device, cl_device_info param_name, size_t param_value_size,
                                   void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid_device(device)) {
        return CL_INVALID_DEVICE;
    }
    cl_device_id d = device;
    size_t size = param_value_size;
    void *value = param_value;
    size_t *ret = param_value_size_ret;
    cl_uint zero_u = 0;
    cl_ulong zero_ul = 0;
    size_t zero_sz = 0;
    cl_bool no = CL_FALSE;
    switch (param_name) {
    case CL_DEVICE_PLATFORM: {
        cl_platform_id p = &ferry_platform;
        return ferry_info(&p, sizeof p, size, value, ret);
    }
    case CL_DEVICE_PARENT_DEVICE: {
        cl_device_id none = NULL;
        return ferry_info(&none, sizeof none, size, value, ret);
    }
    case CL_DEVICE_REFERENCE_COUNT: {
        cl_uint one = 1;
        return ferry_info(&one, sizeof one, size, value, ret);
    }
    case CL_DEVICE_VERSION:
        return answer_version(d, size, value, ret);
    case CL_DEVICE_OPENCL_C_VERSION:
        return answer_c_version(d, size, value, ret);
    case CL_DEVICE_EXTENSIONS: {
        char *ext = device_extensions(d);
        if (!ext) {
            return CL_OUT_OF_HOST_MEMORY;
        }
        cl_int err = ferry_info_string(ext, size, value, ret);
        free(ext);
        return err;
    }
    case CL_DEVICE_EXTENSIONS_WITH_VERSION:
        return answer_extensions_with_version(d, size, value, ret);
    case CL_DEVICE_BUILT_IN_KERNELS:  /* no built-in kernels through Ferry */
    case CL_DEVICE_IL_VERSION:
        return ferry_info_string("", size, value, ret);
    case CL_DEVICE_ILS_WITH_VERSION:
    case CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION:
    case CL_DEVICE_OPENCL_C_FEATURES:
    case CL_DEVICE_PARTITION_TYPE:
        return ferry_info(NULL, 0, size, value, ret);
    case CL_DEVICE_PARTITION_MAX_SUB_DEVICES:
        return ferry_info(&zero_u, sizeof zero_u, size, value, ret);
    case CL_DEVICE_PARTITION_PROPERTIES: {
        cl_device_partition_property none = 0;
        return ferry_info(&none, sizeof none, size, value, ret);
    }
    case CL_DEVICE_PARTITION_AFFINITY_DOMAIN: {
        cl_device_affinity_domain none = 0;
        return ferry_info(&none, sizeof none, size, value, ret);
    }
    case CL_DEVICE_NUMERIC_VERSION: {
        cl_version v = CL_MAKE_VERSION(1, 2, 0);
        return ferry_info(&v, sizeof v, size, value, ret);
    }
    case CL_DEVICE_OPENCL_C_ALL_VERSIONS: {
        cl_name_version v[3];
        memset(v, 0, sizeof v);
        for (int i = 0; i < 3; i++) {
            strcpy(v[i].name, "OpenCL C");
            v[i].version = CL_MAKE_VERSION(1, (cl_uint) i, 0);
        }
        return ferry_info(v, sizeof v, size, value, ret);
    }
    case CL_DEVICE_MAX_PARAMETER_SIZE: /* KERNEL_ARG_VALUE carries at most 1024 bytes */
        return answer_capped(d, param_name, 1024, size, value, ret);
    case CL_DEVICE_IMAGE2D_MAX_WIDTH:
    case CL_DEVICE_IMAGE2D_MAX_HEIGHT:
    case CL_DEVICE_IMAGE3D_MAX_WIDTH:
    case CL_DEVICE_IMAGE3D_MAX_HEIGHT: /* IMAGE_CREATE's limits */
        return answer_capped(d, param_name, 65536, size, value, ret);
    case CL_DEVICE_IMAGE3D_MAX_DEPTH:
    case CL_DEVICE_IMAGE_MAX_ARRAY_SIZE: /* IMAGE_CREATE's layers */
        return answer_capped(d, param_name, 2048, size, value, ret);
    case CL_DEVICE_GLOBAL_MEM_SIZE:
    case CL_DEVICE_MAX_MEM_ALLOC_SIZE: /* what the host grants (DEVICE_INFO) when it is less than the device's */
    case CL_DEVICE_LOCAL_MEM_SIZE:
        return answer_memory(d, param_name, size, value, ret);
    case CL_DEVICE_EXECUTION_CAPABILITIES: { /* native kernels (host function pointers) cannot cross */
        cl_device_exec_capabilities c = CL_EXEC_KERNEL;
        return ferry_info(&c, sizeof c, size, value, ret);
    }
    /* OpenCL 2.x/3.0 capabilities: what a device without them answers */
    case CL_DEVICE_SVM_CAPABILITIES: {
        cl_device_svm_capabilities none = 0;
        return ferry_info(&none, sizeof none, size, value, ret);
    }
    case CL_DEVICE_QUEUE_ON_DEVICE_PROPERTIES:
    case CL_DEVICE_DEVICE_ENQUEUE_CAPABILITIES:
        return ferry_info(&zero_ul, sizeof zero_ul, size, value, ret);
    case CL_DEVICE_MAX_READ_WRITE_IMAGE_ARGS:
    case CL_DEVICE_QUEUE_ON_DEVICE_PREFERRED_SIZE:
    case CL_DEVICE_QUEUE_ON_DEVICE_MAX_SIZE:
    case CL_DEVICE_MAX_ON_DEVICE_QUEUES:
    case CL_DEVICE_MAX_ON_DEVICE_EVENTS:
    case CL_DEVICE_MAX_PIPE_ARGS:
    case CL_DEVICE_PIPE_MAX_ACTIVE_RESERVATIONS:
    case CL_DEVICE_PIPE_MAX_PACKET_SIZE:
    case CL_DEVICE_PREFERRED_PLATFORM_ATOMIC_ALIGNMENT:
    case CL_DEVICE_PREFERRED_GLOBAL_ATOMIC_ALIGNMENT:
    case CL_DEVICE_PREFERRED_LOCAL_ATOMIC_ALIGNMENT:
    case CL_DEVICE_MAX_NUM_SUB_GROUPS:
    case CL_DEVICE_IMAGE_PITCH_ALIGNMENT:
    case CL_DEVICE_IMAGE_BASE_ADDRESS_ALIGNMENT:
        return ferry_info(&zero_u, sizeof zero_u, size, value, ret);
    case CL_DEVICE_MAX_GLOBAL_VARIABLE_SIZE:
    case CL_DEVICE_GLOBAL_VARIABLE_PREFERRED_TOTAL_SIZE:
        return ferry_info(&zero_sz, sizeof zero_sz, size, value, ret);
    case CL_DEVICE_SUB_GROUP_INDEPENDENT_FORWARD_PROGRESS:
    case CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT:
    case CL_DEVICE_WORK_GROUP_COLLECTIVE_FUNCTIONS_SUPPORT:
    case CL_DEVICE_GENERIC_ADDRESS_SPACE_SUPPORT:
    case CL_DEVICE_PIPE_SUPPORT:
        return ferry_info(&no, sizeof no, size, value, ret);
    case CL_DEVICE_ATOMIC_MEMORY_CAPABILITIES: { /* what OpenCL 1.2 atomics are */
        cl_device_atomic_capabilities c = CL_DEVICE_ATOMIC_ORDER_RELAXED | CL_DEVICE_ATOMIC_SCOPE_WORK_GROUP;
        return ferry_info(&c, sizeof c, size, value, ret);
    }
    case CL_DEVICE_ATOMIC_FENCE_CAPABILITIES: {
        cl_device_atomic_capabilities c = CL_DEVICE_ATOMIC_ORDER_RELAXED | CL_DEVICE_ATOMIC_ORDER_ACQ_REL
            | CL_DEVICE_ATOMIC_SCOPE_WORK_GROUP;
        return ferry_info(&c, sizeof c, size, value, ret);
    }
    case CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED:
        return CL_INVALID_VALUE;
    default:
        /* outside the core range only the params of extensions Ferry keeps (command buffers, SPIR: dropped) */
        if ((param_name < 0x1000 || param_name > 0x10FF) && param_name != CL_DEVICE_PCI_BUS_INFO_KHR) {
            return CL_INVALID_VALUE;
        }
        break;
    }
    const void *b;
    size_t n;
    cl_int err = host_param(d, param_name, &b, &n);
    if (err == CL_SUCCESS) {
        return ferry_info(b, n, size, value, ret);
    }
    if (atomic_load(&d->no_info)) {
        return answer_fallback(d, param_name, size, value, ret);
    }
    return err;
}

cl_int CL_API_CALL clCreateSubDevices(cl_device_id in_device, const cl_device_partition_property *properties,
                                      cl_uint num_devices, cl_device_id *out_devices, cl_uint *num_devices_ret) {
    if (!ferry_valid_device(in_device)) {
        return CL_INVALID_DEVICE;
    }
    if (!properties) {
        return CL_INVALID_VALUE;
    }
    switch (properties[0]) {
    case CL_DEVICE_PARTITION_EQUALLY:
    case CL_DEVICE_PARTITION_BY_COUNTS:
    case CL_DEVICE_PARTITION_BY_AFFINITY_DOMAIN:
        return CL_INVALID_VALUE; /* the device supports no partitioning (CL_DEVICE_PARTITION_PROPERTIES) */
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL clRetainDevice(cl_device_id device) {
    return ferry_valid_device(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

cl_int CL_API_CALL clReleaseDevice(cl_device_id device) {
    return ferry_valid_device(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

/* No device and host timer synchronization (CL_PLATFORM_HOST_TIMER_RESOLUTION is 0): the host device's clock
 * cannot be read from the guest. */
cl_int CL_API_CALL clGetDeviceAndHostTimer(cl_device_id device, cl_ulong *device_timestamp,
                                           cl_ulong *host_timestamp) {
    if (!ferry_valid_device(device)) {
        return CL_INVALID_DEVICE;
    }
    if (!device_timestamp || !host_timestamp) {
        return CL_INVALID_VALUE;
    }
    return CL_INVALID_OPERATION;
}

cl_int CL_API_CALL clGetHostTimer(cl_device_id device, cl_ulong *host_timestamp) {
    if (!ferry_valid_device(device)) {
        return CL_INVALID_DEVICE;
    }
    if (!host_timestamp) {
        return CL_INVALID_VALUE;
    }
    return CL_INVALID_OPERATION;
}
