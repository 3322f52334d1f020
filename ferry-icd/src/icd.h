/* icd.h: Ferry's OpenCL installable client driver (libferry-opencl.so). Every OpenCL object starts with the ICD
 * dispatch pointer (the loader, ocl-icd, calls through it), then a magic word that tells a live object of the right
 * kind from garbage or a released one. One process holds one connection (transport.h); every object names its host
 * object by a 64-bit handle.
 *
 * Ownership of this file: platform, device, context, program, kernel: icd_platform.c, icd_context.c,
 * icd_program.c, icd_kernel.c; queue, mem, event, sampler: icd_queue.c, icd_event.c, icd_mem.c (with
 * icd_staging.c, icd_transfer.c, icd_map.c, icd_image.c, icd_svm.c; their shared declarations are enqueue.h).
 * Add fields only inside your own structs' marked sections. */
#ifndef FERRY_ICD_H
#define FERRY_ICD_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <CL/cl_icd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "transport.h"

#define FERRY_EXPORT __attribute__((visibility("default")))

extern struct _cl_icd_dispatch ferry_dispatch;

enum ferry_magic {
    FERRY_MAGIC_PLATFORM = 0x46504c54, FERRY_MAGIC_DEVICE = 0x46444556, FERRY_MAGIC_CONTEXT = 0x46435458,
    FERRY_MAGIC_QUEUE = 0x46515545, FERRY_MAGIC_MEM = 0x464d454d, FERRY_MAGIC_PROGRAM = 0x46505247,
    FERRY_MAGIC_KERNEL = 0x464b524e, FERRY_MAGIC_EVENT = 0x46455654, FERRY_MAGIC_SAMPLER = 0x46534d50,
    FERRY_MAGIC_DEAD = 0x44454144
};

/* The common head of every object but platform and device (which live as long as the process). */
typedef struct ferry_object {
    struct _cl_icd_dispatch *dispatch;
    uint32_t magic;
    atomic_uint refs;        /* application references */
    uint64_t handle;         /* the host's name for it; 0 where it has none */
} ferry_object;

struct _cl_platform_id {
    struct _cl_icd_dispatch *dispatch;
    uint32_t magic;
    /* ---- icd_platform.c ---- */
};

struct _cl_device_id {
    struct _cl_icd_dispatch *dispatch;
    uint32_t magic;
    uint32_t index;                  /* the host's device number (DEVICE_INFO, CONTEXT_CREATE) */
    cl_device_type type;
    uint64_t global_mem, local_mem;
    uint32_t compute_units;
    size_t max_work_group_size;
    uint32_t mem_base_addr_align;    /* bits, as CL_DEVICE_MEM_BASE_ADDR_ALIGN */
    cl_bool image_support;
    cl_command_queue_properties queue_properties;
    char name[256], vendor[256], version[256];
    /* ---- icd_platform.c ---- */
    pthread_mutex_t lock;            /* guards cache */
    struct ferry_info_entry *cache;  /* the host's clGetDeviceInfo answers, per param */
    atomic_int no_info;              /* the host's backend answers no INFO: DEVICE_INFO's fields only */
};

struct _cl_context {
    ferry_object o;
    cl_device_id device;             /* one device per context (the wire's CONTEXT_CREATE) */
    cl_context_properties *properties; size_t properties_size;
    void (CL_CALLBACK *notify)(const char *, const void *, size_t, void *);
    void *notify_data;
    /* ---- icd_context.c ---- */
    pthread_mutex_t lock;            /* guards destructors */
    struct ferry_callback *destructors;
};

struct _cl_program {
    ferry_object o;
    cl_context context;
    /* ---- icd_program.c ---- */
    pthread_mutex_t lock;            /* guards everything below */
    char *source; size_t source_size; /* clCreateProgramWithSource's text (NULL for other programs) */
    int from_binary, from_link;
    cl_build_status status;
    cl_program_binary_type binary_type;
    char *options;                   /* the last build/compile/link's options */
    char *log;                       /* the last build's log */
    int log_from_host;               /* log is INFO's CL_PROGRAM_BUILD_LOG (else the build call's reply) */
    atomic_uint kernels;             /* live kernels of this program */
    struct ferry_kernel_info *infos; /* per kernel name: argument info from the host */
    struct ferry_callback *release_callbacks;
};

struct _cl_kernel {
    ferry_object o;
    cl_program program;
    char *name;
    cl_uint num_args;
    /* ---- icd_program.c ---- */
    struct ferry_kernel_info *info;  /* shared with the program (lives as long as it) */
    struct ferry_arg *args;          /* each argument's last value, num_args of them (for clCloneKernel) */
    pthread_mutex_t lock;            /* guards args */
};

struct _cl_command_queue {
    ferry_object o;
    cl_context context;
    cl_device_id device;
    cl_command_queue_properties properties;
    /* ---- icd_queue.c ---- */
    pthread_mutex_t lock;            /* guards stage */
    struct ferry_stage *stage;       /* staging blocks and copy-outs the next finish settles (icd_staging.c) */
    cl_queue_properties *props; size_t props_size;   /* clCreateCommandQueueWithProperties' list, as given */
    atomic_ulong sent;               /* device commands sent on the ring (counted after each is written) */
    atomic_ulong finished;           /* of those, how many a completed FINISH covered: equal means idle */
};

struct _cl_mem {
    ferry_object o;
    cl_context context;
    cl_mem_object_type type;         /* CL_MEM_OBJECT_BUFFER, _IMAGE2D, _IMAGE3D */
    cl_mem_flags flags;
    size_t size;
    void *host_ptr;                  /* CL_MEM_USE_HOST_PTR's pointer, or the heap address of an ALLOC_HOST_PTR one */
    int64_t heap_offset;             /* -1: device memory; else the buffer lives in the heap at this offset */
    cl_mem parent; size_t origin;    /* sub-buffers */
    /* ---- icd_mem.c ---- */
    pthread_mutex_t lock;            /* guards maps, map_spare and destructors */
    struct ferry_mapping *maps;      /* live mappings (icd_map.c) */
    cl_uint map_count;
    void *map_spare; size_t map_spare_size; /* ordinary memory of an unmapped mapping, kept for the next (icd_map.c) */
    struct ferry_mem_callback *destructors;
    int heap_owned;                  /* heap_offset is a block this object allocated (ALLOC_HOST_PTR) */
    int coherent;                    /* heap-backed on a CPU device: the heap bytes are the buffer's bytes */
    int auto_heap;                   /* placed in the heap by the ICD (a large buffer of a CPU device), not asked */
    cl_image_format format;          /* images */
    size_t width, height, depth, array_size, row_pitch, slice_pitch, pixel_bytes;
    cl_mem_properties *props; size_t props_size;
};

struct _cl_event {
    ferry_object o;
    cl_context context;
    cl_command_queue queue;          /* NULL for a user event */
    cl_command_type command;
    /* ---- icd_event.c ---- */
    atomic_int status;               /* last known execution status; <= CL_COMPLETE is final */
    pthread_mutex_t lock;            /* guards times and callbacks */
    int have_times;
    cl_ulong times[4];               /* queued, submit, start, end (ns, the host device's clock) */
    struct ferry_event_callback *callbacks;
    int user;                        /* a user event */
};

struct _cl_sampler {
    ferry_object o;
    cl_context context;
    cl_bool normalized;
    cl_addressing_mode addressing;
    cl_filter_mode filter;
    /* ---- icd_mem.c ---- */
    cl_sampler_properties *props; size_t props_size;
};

/* ---- shared helpers (icd_common.c) ---- */

/* The process's connection, made at the first call that needs it; NULL (and err says why) when the host cannot be
 * reached. Thread-safe. */
ferry_conn *ferry_icd_conn(void);
const char *ferry_icd_connect_error(void);
extern struct _cl_platform_id ferry_platform;

/* Is obj a live object of this kind? (NULL, a released object, or another kind: no.) */
int ferry_valid(const void *obj, uint32_t magic);
void ferry_object_init(ferry_object *o, uint32_t magic, uint64_t handle);

/* The OpenCL error for a Ferry status, given the call's own "invalid object" error for UNKNOWN_HANDLE and
 * WRONG_HANDLE_KIND (e.g. CL_INVALID_MEM_OBJECT). Logs text when FERRY_LOG is set. */
cl_int ferry_cl_error(int status, cl_int invalid_object, const char *call, const char *text);
/* The host device's own OpenCL error code in a failed reply of status `status` (docs/protocol.md §2.2, "native
 * error"), when the host gave one and it is a code OpenCL defines; else 0. */
cl_int ferry_cl_native(const ferry_reply *r, int status);
/* ferry_cl_error for a failed call's reply: the device's own code where the host passed one on, else the mapping. */
cl_int ferry_cl_reply_error(int status, cl_int invalid_object, const char *call, const ferry_reply *r);

/* The clGet*Info answer rule: copy size bytes of value into param_value (if not NULL; CL_INVALID_VALUE if
 * param_value_size is smaller) and report size in *param_value_size_ret (if not NULL). */
cl_int ferry_info(const void *value, size_t size, size_t param_value_size, void *param_value,
                  size_t *param_value_size_ret);
cl_int ferry_info_string(const char *s, size_t param_value_size, void *param_value, size_t *param_value_size_ret);

/* Checks an event wait list as OpenCL does and writes its host handles into out (at most 64; more: staged into
 * marker events by the caller). Returns CL_SUCCESS, CL_INVALID_EVENT_WAIT_LIST or CL_INVALID_CONTEXT. */
cl_int ferry_wait_list(cl_context context, cl_uint n, const cl_event *events, uint64_t *out);

#endif
