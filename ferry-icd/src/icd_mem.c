/* icd_mem.c: memory objects and samplers: buffers (every flag), sub-buffers, 2D/3D images, their info queries and
 * destructor callbacks, the supported image formats (INFO kind IMAGE_FORMATS), samplers.
 *
 * Where a buffer lives:
 *   CL_MEM_ALLOC_HOST_PTR: in the guest heap (BUFFER_CREATE with a heap offset), so map is zero-copy. When the heap
 *     has no room, device memory instead (map then copies, as for a plain buffer).
 *   CL_MEM_USE_HOST_PTR over heap memory: the application's heap memory itself.
 *   CL_MEM_USE_HOST_PTR elsewhere: device memory, initialised from host_ptr; map copies the buffer into host_ptr
 *     and unmap copies back what was mapped for writing (icd_map.c), so host_ptr holds the contents when OpenCL
 *     says it does.
 *   a buffer of 1 MiB or more of a CPU device (no USE_HOST_PTR): in the heap too, when it leaves at least half of
 *     the free heap, so blocking reads and writes of it are one memcpy (icd_transfer.c) and maps zero-copy.
 *   anything else: device memory; CL_MEM_COPY_HOST_PTR initialises it through staging, on the context's internal
 *     queue, before clCreateBuffer returns.
 * A heap-backed buffer on a CPU device is coherent: the host device uses the heap bytes in place (PoCL does for
 * CL_MEM_USE_HOST_PTR), so a map only waits and an unmap sends nothing but a marker.
 * Over a stream (a host on another machine: ferry_heap_shared is 0) no buffer lives in the heap: the heap is not
 * shared memory there, so every buffer is device memory and maps and transfers are staged. */
#include <stdlib.h>
#include <string.h>
#include "enqueue.h"

struct ferry_mem_callback {
    void (CL_CALLBACK *fn)(cl_mem, void *);
    void *data;
    struct ferry_mem_callback *next;
};

#define ACCESS_FLAGS (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY)
#define HOST_PTR_FLAGS (CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)
#define AUTO_HEAP_MIN ((size_t)1 << 20)   /* buffers placed in the heap on their own: 1 MiB and more */
#define HOST_ACCESS_FLAGS (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)

static int several(cl_mem_flags f)
{
    return (f & (f - 1)) != 0;
}

int ferry_mem_access(cl_mem_flags flags)
{
    return flags & CL_MEM_READ_ONLY ? 1 : flags & CL_MEM_WRITE_ONLY ? 2 : 0;
}

static cl_int check_flags(cl_mem_flags flags, void *host_ptr)
{
    if ((flags & ~(cl_mem_flags)(ACCESS_FLAGS | HOST_PTR_FLAGS | HOST_ACCESS_FLAGS))
        || several(flags & ACCESS_FLAGS) || several(flags & HOST_ACCESS_FLAGS)
        || ((flags & CL_MEM_USE_HOST_PTR) && (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)))) {
        return CL_INVALID_VALUE;
    }
    if ((host_ptr != NULL) != ((flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR)) != 0)) {
        return CL_INVALID_HOST_PTR;
    }
    return CL_SUCCESS;
}

static cl_mem mem_new(cl_context context, cl_mem_object_type type, cl_mem_flags flags, size_t size)
{
    cl_mem m = calloc(1, sizeof *m);
    if (!m) {
        return NULL;
    }
    m->context = context;
    m->type = type;
    m->flags = flags;
    m->size = size;
    m->heap_offset = -1;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void mem_free(cl_mem m)
{
    free(m->map_spare);
    pthread_mutex_destroy(&m->lock);
    free(m->props);
    free(m);
}

static cl_int copy_props(cl_mem m, const cl_mem_properties *props)
{
    if (!props) {
        return CL_SUCCESS;
    }
    if (props[0] != 0) {
        return CL_INVALID_PROPERTY;   /* no memory properties are supported (no extensions that define them) */
    }
    m->props = malloc(sizeof *props);
    if (!m->props) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    m->props[0] = 0;
    m->props_size = sizeof *props;
    return CL_SUCCESS;
}

static cl_mem buffer_create(cl_context context, const cl_mem_properties *props, cl_mem_flags flags, size_t size,
                            void *host_ptr, cl_int *err)
{
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if ((*err = check_flags(flags, host_ptr)) != CL_SUCCESS) {
        return NULL;
    }
    uint64_t max_alloc = ferry_device_max_alloc(context->device);
    if (size == 0 || (max_alloc && size > max_alloc)) {
        *err = CL_INVALID_BUFFER_SIZE;
        return NULL;
    }
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    cl_mem m = mem_new(context, CL_MEM_OBJECT_BUFFER, flags ? flags : CL_MEM_READ_WRITE, size);
    if (!m) {
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    if (!(m->flags & ACCESS_FLAGS)) {
        m->flags |= CL_MEM_READ_WRITE;
    }
    if ((*err = copy_props(m, props)) != CL_SUCCESS) {
        mem_free(m);
        return NULL;
    }
    uint8_t *base = ferry_heap_base(c);
    int shared = ferry_heap_shared(c);
    if (flags & CL_MEM_USE_HOST_PTR) {
        m->host_ptr = host_ptr;
        m->heap_offset = shared ? ferry_heap_offset_of(c, host_ptr, size) : -1;
    } else if (!shared) {
        /* over a stream: device memory (no heap-resident buffers), maps staged; m->heap_offset stays -1 */
    } else if (flags & CL_MEM_ALLOC_HOST_PTR) {
        m->heap_offset = ferry_heap_alloc(c, size);
        if (m->heap_offset >= 0) {
            m->heap_owned = 1;
            m->host_ptr = base + m->heap_offset;
            if (flags & CL_MEM_COPY_HOST_PTR) {
                memcpy(m->host_ptr, host_ptr, size);   /* before BUFFER_CREATE: the host reads it then */
            }
        } else if (ferry_log_enabled()) {
            ferry_log("clCreateBuffer: CL_MEM_ALLOC_HOST_PTR of %zu bytes: no room in the heap (%llu bytes free); "
                      "the buffer is device memory, and maps copy", size,
                      (unsigned long long)ferry_heap_free_bytes(c));
        }
    } else if ((context->device->type & CL_DEVICE_TYPE_CPU) && size >= AUTO_HEAP_MIN
               && size <= ferry_heap_free_bytes(c) / 2) {
        /* A large buffer of a CPU device goes into the heap when it leaves at least half the free heap to
         * staging and maps: the device computes on those bytes in place, so a blocking read or write of it is one
         * memcpy in the guest (icd_transfer.c), as on a local device, instead of staging plus the host's copy. */
        m->heap_offset = ferry_heap_alloc(c, size);
        if (m->heap_offset >= 0) {
            m->heap_owned = 1;
            m->auto_heap = 1;
            if (flags & CL_MEM_COPY_HOST_PTR) {
                memcpy(base + m->heap_offset, host_ptr, size);   /* before BUFFER_CREATE: the host reads it then */
            }
        }
    }
    m->coherent = m->heap_offset >= 0 && (context->device->type & CL_DEVICE_TYPE_CPU);
    uint64_t h = ferry_new_handle(c);
    uint64_t a[FERRY_BUFFER_CREATE_ARGC] = {h, context->o.handle, size, (uint64_t)ferry_mem_access(m->flags),
                                            m->heap_offset >= 0 ? (uint64_t)m->heap_offset : UINT64_MAX};
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_BUFFER_CREATE, a, FERRY_BUFFER_CREATE_ARGC, NULL, 0, &r);
    if (st) {
        int short_of_memory = st == FERRY_STATUS_OUT_OF_DEVICE_MEMORY || st == FERRY_STATUS_QUOTA_EXCEEDED;
        *err = ferry_cl_native(&r, st) != 0 ? ferry_cl_native(&r, st)
             : short_of_memory ? CL_MEM_OBJECT_ALLOCATION_FAILURE
                               : ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clCreateBuffer", &r);
        if (st == FERRY_STATUS_OUT_OF_DEVICE_MEMORY || st == FERRY_STATUS_QUOTA_EXCEEDED) {
            ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clCreateBuffer", &r);   /* logs the host's figures */
        }
        ferry_reply_free(&r);
        if (m->heap_owned) {
            ferry_heap_free(c, m->heap_offset);
        }
        mem_free(m);
        return NULL;
    }
    ferry_reply_free(&r);
    ferry_object_init(&m->o, FERRY_MAGIC_MEM, h);
    clRetainContext(context);
    if ((flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR)) && m->heap_offset < 0) {
        cl_command_queue q = ferry_internal_queue(context);
        *err = q ? ferry_stage_transfer(q, "clCreateBuffer (initial contents)", FERRY_OP_BUFFER_WRITE, m, 0, size,
                                        host_ptr, CL_TRUE, (ferry_waits *)&ferry_no_waits, CL_COMMAND_WRITE_BUFFER,
                                        NULL)
                 : CL_OUT_OF_RESOURCES;
        if (*err != CL_SUCCESS) {
            clReleaseMemObject(m);
            return NULL;
        }
    }
    *err = CL_SUCCESS;
    return m;
}

cl_mem clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void *host_ptr, cl_int *errcode_ret)
{
    cl_int err;
    cl_mem m = buffer_create(context, NULL, flags, size, host_ptr, &err);
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return m;
}

cl_mem clCreateBufferWithProperties(cl_context context, const cl_mem_properties *properties, cl_mem_flags flags,
                                    size_t size, void *host_ptr, cl_int *errcode_ret)
{
    cl_int err;
    cl_mem m = buffer_create(context, properties, flags, size, host_ptr, &err);
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return m;
}

cl_mem clCreateSubBuffer(cl_mem parent, cl_mem_flags flags, cl_buffer_create_type type, const void *info,
                         cl_int *errcode_ret)
{
    cl_int err = CL_SUCCESS;
    cl_mem m = NULL;
    const cl_buffer_region *region = info;
    cl_mem_flags pf = ferry_valid(parent, FERRY_MAGIC_MEM) ? parent->flags : 0;
    if (!ferry_valid(parent, FERRY_MAGIC_MEM) || parent->type != CL_MEM_OBJECT_BUFFER || parent->parent) {
        err = CL_INVALID_MEM_OBJECT;
    } else if (type != CL_BUFFER_CREATE_TYPE_REGION || !region
               || (flags & ~(cl_mem_flags)(ACCESS_FLAGS | HOST_ACCESS_FLAGS))
               || several(flags & ACCESS_FLAGS) || several(flags & HOST_ACCESS_FLAGS)
               || ((pf & CL_MEM_WRITE_ONLY) && (flags & (CL_MEM_READ_WRITE | CL_MEM_READ_ONLY)))
               || ((pf & CL_MEM_READ_ONLY) && (flags & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY)))
               || ((pf & CL_MEM_HOST_WRITE_ONLY) && (flags & CL_MEM_HOST_READ_ONLY))
               || ((pf & CL_MEM_HOST_READ_ONLY) && (flags & CL_MEM_HOST_WRITE_ONLY))
               || ((pf & CL_MEM_HOST_NO_ACCESS) && (flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY)))) {
        err = CL_INVALID_VALUE;
    } else if (region->size == 0) {
        err = CL_INVALID_BUFFER_SIZE;
    } else if (region->origin > parent->size || region->size > parent->size - region->origin) {
        err = CL_INVALID_VALUE;
    } else if (parent->context->device->mem_base_addr_align
               && region->origin % (parent->context->device->mem_base_addr_align / 8 ? parent->context->device->mem_base_addr_align / 8 : 1)) {
        err = CL_MISALIGNED_SUB_BUFFER_OFFSET;
    }
    ferry_conn *c = err == CL_SUCCESS ? ferry_icd_conn() : NULL;
    if (err == CL_SUCCESS && !c) {
        err = CL_OUT_OF_RESOURCES;
    }
    if (err == CL_SUCCESS) {
        cl_mem_flags f = flags;
        if (!(f & ACCESS_FLAGS)) {
            f |= pf & ACCESS_FLAGS;
        }
        if (!(f & HOST_ACCESS_FLAGS)) {
            f |= pf & HOST_ACCESS_FLAGS;
        }
        f |= pf & HOST_PTR_FLAGS;
        m = mem_new(parent->context, CL_MEM_OBJECT_BUFFER, f, region->size);
        if (!m) {
            err = CL_OUT_OF_HOST_MEMORY;
        }
    }
    if (m) {
        uint64_t h = ferry_new_handle(c);
        uint64_t a[FERRY_SUB_BUFFER_CREATE_ARGC] = {h, parent->o.handle, region->origin, region->size,
                                                    (uint64_t)ferry_mem_access(m->flags)};
        ferry_reply r;
        int st = ferry_call(c, FERRY_OP_SUB_BUFFER_CREATE, a, FERRY_SUB_BUFFER_CREATE_ARGC, NULL, 0, &r);
        if (st) {
            err = ferry_cl_reply_error(st, CL_INVALID_MEM_OBJECT, "clCreateSubBuffer", &r);
            if (st == FERRY_STATUS_INVALID_ARGUMENT && r.text && strstr(r.text, "align")) {
                err = CL_MISALIGNED_SUB_BUFFER_OFFSET;
            }
            mem_free(m);
            m = NULL;
        } else {
            ferry_object_init(&m->o, FERRY_MAGIC_MEM, h);
            m->parent = parent;
            m->origin = region->origin;
            m->host_ptr = parent->host_ptr ? (uint8_t *)parent->host_ptr + region->origin : NULL;
            m->heap_offset = parent->heap_offset >= 0 ? parent->heap_offset + (int64_t)region->origin : -1;
            m->coherent = parent->coherent;
            clRetainMemObject(parent);
            clRetainContext(m->context);
        }
        ferry_reply_free(&r);
    }
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return m;
}

cl_int clRetainMemObject(cl_mem m)
{
    if (!ferry_valid(m, FERRY_MAGIC_MEM)) {
        return CL_INVALID_MEM_OBJECT;
    }
    atomic_fetch_add(&m->o.refs, 1);
    return CL_SUCCESS;
}

cl_int clReleaseMemObject(cl_mem m)
{
    if (!ferry_valid(m, FERRY_MAGIC_MEM)) {
        return CL_INVALID_MEM_OBJECT;
    }
    if (atomic_fetch_sub(&m->o.refs, 1) != 1) {
        return CL_SUCCESS;
    }
    ferry_release_handle(m->o.handle);
    m->o.magic = FERRY_MAGIC_DEAD;
    /* Destructor callbacks, newest first (OpenCL's order). */
    struct ferry_mem_callback *cb = m->destructors;
    while (cb) {
        struct ferry_mem_callback *n = cb->next;
        cb->fn(m, cb->data);
        free(cb);
        cb = n;
    }
    if (m->heap_owned) {
        /* OpenCL lets commands that use the buffer run on after its release, and the host's buffer is this heap
         * memory: it is given back only once the context's queues have completed what they hold (else it stays
         * allocated: a leak rather than memory a kernel may still write). */
        ferry_conn *c = ferry_icd_conn();
        if (c && ferry_queues_quiesce(m->context)) {
            ferry_heap_free(c, m->heap_offset);
        } else if (ferry_log_enabled()) {
            ferry_log("clReleaseMemObject: the queues of the buffer's context could not be waited for; its %zu heap "
                      "bytes stay allocated", m->size);
        }
    }
    cl_mem parent = m->parent;
    cl_context ctx = m->context;
    mem_free(m);
    if (parent) {
        clReleaseMemObject(parent);
    }
    clReleaseContext(ctx);
    return CL_SUCCESS;
}

cl_int clSetMemObjectDestructorCallback(cl_mem m, void (CL_CALLBACK *fn)(cl_mem, void *), void *data)
{
    if (!ferry_valid(m, FERRY_MAGIC_MEM)) {
        return CL_INVALID_MEM_OBJECT;
    }
    if (!fn) {
        return CL_INVALID_VALUE;
    }
    struct ferry_mem_callback *cb = malloc(sizeof *cb);
    if (!cb) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    pthread_mutex_lock(&m->lock);
    *cb = (struct ferry_mem_callback){fn, data, m->destructors};
    m->destructors = cb;
    pthread_mutex_unlock(&m->lock);
    return CL_SUCCESS;
}

cl_int clGetMemObjectInfo(cl_mem m, cl_mem_info param, size_t size, void *value, size_t *size_ret)
{
    if (!ferry_valid(m, FERRY_MAGIC_MEM)) {
        return CL_INVALID_MEM_OBJECT;
    }
    switch (param) {
    case CL_MEM_TYPE:
        return ferry_info(&m->type, sizeof m->type, size, value, size_ret);
    case CL_MEM_FLAGS:
        return ferry_info(&m->flags, sizeof m->flags, size, value, size_ret);
    case CL_MEM_SIZE:
        return ferry_info(&m->size, sizeof m->size, size, value, size_ret);
    case CL_MEM_HOST_PTR: {
        void *p = m->flags & CL_MEM_USE_HOST_PTR ? m->host_ptr : NULL;
        return ferry_info(&p, sizeof p, size, value, size_ret);
    }
    case CL_MEM_MAP_COUNT: {
        pthread_mutex_lock(&m->lock);
        cl_uint n = m->map_count;
        pthread_mutex_unlock(&m->lock);
        return ferry_info(&n, sizeof n, size, value, size_ret);
    }
    case CL_MEM_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&m->o.refs);
        return ferry_info(&refs, sizeof refs, size, value, size_ret);
    }
    case CL_MEM_CONTEXT:
        return ferry_info(&m->context, sizeof m->context, size, value, size_ret);
    case CL_MEM_ASSOCIATED_MEMOBJECT:
        return ferry_info(&m->parent, sizeof m->parent, size, value, size_ret);
    case CL_MEM_OFFSET:
        return ferry_info(&m->origin, sizeof m->origin, size, value, size_ret);
    case CL_MEM_USES_SVM_POINTER: {
        cl_bool no = CL_FALSE;
        return ferry_info(&no, sizeof no, size, value, size_ret);
    }
    case CL_MEM_PROPERTIES:
        return ferry_info(m->props, m->props_size, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

/* ---- images ---- */

size_t ferry_pixel_bytes(const cl_image_format *f)
{
    size_t channels;
    switch (f->image_channel_order) {
    case CL_R: case CL_A: case CL_INTENSITY: case CL_LUMINANCE: channels = 1; break;
    case CL_RG: case CL_RA: channels = 2; break;
    case CL_RGBA: case CL_BGRA: case CL_ARGB: channels = 4; break;
    default: return 0;
    }
    switch (f->image_channel_data_type) {
    case CL_SNORM_INT8: case CL_UNORM_INT8: case CL_SIGNED_INT8: case CL_UNSIGNED_INT8: return channels;
    case CL_SNORM_INT16: case CL_UNORM_INT16: case CL_SIGNED_INT16: case CL_UNSIGNED_INT16: case CL_HALF_FLOAT:
        return channels * 2;
    case CL_SIGNED_INT32: case CL_UNSIGNED_INT32: case CL_FLOAT: return channels * 4;
    default: return 0;
    }
}

static cl_mem image_create(cl_context context, const cl_mem_properties *props, cl_mem_flags flags,
                           const cl_image_format *format, const cl_image_desc *desc, void *host_ptr, cl_int *err)
{
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if ((*err = check_flags(flags, host_ptr)) != CL_SUCCESS) {
        return NULL;
    }
    if (!format) {
        *err = CL_INVALID_IMAGE_FORMAT_DESCRIPTOR;
        return NULL;
    }
    if (!desc || desc->num_mip_levels || desc->num_samples) {
        *err = CL_INVALID_IMAGE_DESCRIPTOR;
        return NULL;
    }
    if (!context->device->image_support) {
        *err = CL_INVALID_OPERATION;
        return NULL;
    }
    size_t px = ferry_pixel_bytes(format);
    if (px == 0) {
        *err = CL_INVALID_IMAGE_FORMAT_DESCRIPTOR;
        return NULL;
    }
    /* Each type in the wire's form (ferry_wire.h, IMAGE_CREATE): a 1D image is a 2D one of one row, a 1D array's
     * layers are rows, a 2D array's layers are slices; so origins and regions mean what OpenCL's do. A 1D buffer
     * image (an image over a buffer's memory) is not carried: no formats are listed for it. */
    cl_mem_object_type kind = desc->image_type;
    if (kind == CL_MEM_OBJECT_IMAGE1D_BUFFER) {
        *err = CL_IMAGE_FORMAT_NOT_SUPPORTED;
        return NULL;
    }
    if (kind != CL_MEM_OBJECT_IMAGE2D && kind != CL_MEM_OBJECT_IMAGE3D && kind != CL_MEM_OBJECT_IMAGE2D_ARRAY
        && kind != CL_MEM_OBJECT_IMAGE1D && kind != CL_MEM_OBJECT_IMAGE1D_ARRAY) {
        *err = CL_INVALID_IMAGE_DESCRIPTOR;
        return NULL;
    }
    if (desc->buffer) {
        *err = CL_INVALID_IMAGE_DESCRIPTOR;
        return NULL;
    }
    int three = kind == CL_MEM_OBJECT_IMAGE3D || kind == CL_MEM_OBJECT_IMAGE2D_ARRAY;   /* has slices */
    int layers = kind == CL_MEM_OBJECT_IMAGE1D_ARRAY || kind == CL_MEM_OBJECT_IMAGE2D_ARRAY;
    size_t w = desc->image_width;
    size_t h = kind == CL_MEM_OBJECT_IMAGE1D ? 1 : kind == CL_MEM_OBJECT_IMAGE1D_ARRAY ? desc->image_array_size
                                                                                      : desc->image_height;
    size_t d = kind == CL_MEM_OBJECT_IMAGE3D ? desc->image_depth
             : kind == CL_MEM_OBJECT_IMAGE2D_ARRAY ? desc->image_array_size : 1;
    if (w == 0 || h == 0 || d == 0 || w > 65536 || h > 65536 || (kind == CL_MEM_OBJECT_IMAGE3D && d < 2)
        || d > 2048 || (kind == CL_MEM_OBJECT_IMAGE1D_ARRAY && h > 2048)) {
        *err = CL_INVALID_IMAGE_SIZE;
        return NULL;
    }
    /* The application's pitches, in the wire's form: a 1D array's slice pitch is the stride of its layers, which
     * are rows here (its row pitch, if given, only bounds it). */
    size_t row = desc->image_row_pitch, slice = three ? desc->image_slice_pitch : 0;
    if (!host_ptr && (row || (layers || three ? desc->image_slice_pitch : 0))) {
        *err = CL_INVALID_IMAGE_DESCRIPTOR;
        return NULL;
    }
    if (kind == CL_MEM_OBJECT_IMAGE1D_ARRAY) {
        size_t stride = desc->image_slice_pitch, r = row ? row : w * px;
        if ((row && (row < w * px || row % px)) || (stride && (stride < r || stride % r))) {
            *err = CL_INVALID_IMAGE_DESCRIPTOR;
            return NULL;
        }
        row = stride ? stride : row;
    }
    if ((row && (row < w * px || row % px))
        || (slice && (slice < (row ? row : w * px) * h || slice % (row ? row : w * px)))) {
        *err = CL_INVALID_IMAGE_DESCRIPTOR;
        return NULL;
    }
    row = row ? row : w * px;
    slice = three ? (slice ? slice : row * h) : 0;
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    cl_mem m = mem_new(context, desc->image_type, flags, three ? slice * d : row * h);
    if (!m) {
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    if (!(m->flags & ACCESS_FLAGS)) {
        m->flags |= CL_MEM_READ_WRITE;
    }
    if ((*err = copy_props(m, props)) != CL_SUCCESS) {
        mem_free(m);
        return NULL;
    }
    m->format = *format;
    m->width = w;
    m->height = h;
    m->depth = three ? d : 0;
    m->array_size = kind == CL_MEM_OBJECT_IMAGE1D_ARRAY ? h : kind == CL_MEM_OBJECT_IMAGE2D_ARRAY ? d : 0;
    m->row_pitch = row;
    m->slice_pitch = slice;
    m->pixel_bytes = px;
    m->host_ptr = flags & CL_MEM_USE_HOST_PTR ? host_ptr : NULL;
    m->size = w * h * d * px;
    uint64_t hd = ferry_new_handle(c);
    /* the depth word: the depth or layers, and OpenCL's image type in bits 32-47 */
    uint64_t depth_word = (uint64_t)(three ? d : 0) | (uint64_t)kind << FERRY_IMAGE_TYPE_SHIFT;
    uint64_t a[FERRY_IMAGE_CREATE_ARGC] = {hd, context->o.handle, w, h, depth_word, format->image_channel_order,
                                           format->image_channel_data_type, (uint64_t)ferry_mem_access(m->flags)};
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_IMAGE_CREATE, a, FERRY_IMAGE_CREATE_ARGC, NULL, 0, &r);
    if (st) {
        *err = st == FERRY_STATUS_UNSUPPORTED ? CL_IMAGE_FORMAT_NOT_SUPPORTED
             : st == FERRY_STATUS_OUT_OF_DEVICE_MEMORY || st == FERRY_STATUS_QUOTA_EXCEEDED
                 ? CL_MEM_OBJECT_ALLOCATION_FAILURE : CL_SUCCESS;
        cl_int mapped = ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clCreateImage", &r);
        if (*err == CL_SUCCESS) {
            *err = mapped;
        }
        if (st == FERRY_STATUS_INVALID_ARGUMENT) {
            *err = CL_INVALID_IMAGE_SIZE;   /* the host checks the figures: the format was checked here */
        }
        if (ferry_cl_native(&r, st) != 0) {
            *err = ferry_cl_native(&r, st); /* the device's own answer */
        }
        ferry_reply_free(&r);
        mem_free(m);
        return NULL;
    }
    ferry_reply_free(&r);
    ferry_object_init(&m->o, FERRY_MAGIC_MEM, hd);
    clRetainContext(context);
    if (host_ptr) {
        cl_command_queue q = ferry_internal_queue(context);
        *err = q ? ferry_image_init(q, m, host_ptr) : CL_OUT_OF_RESOURCES;
        if (*err != CL_SUCCESS) {
            clReleaseMemObject(m);
            return NULL;
        }
    }
    *err = CL_SUCCESS;
    return m;
}

cl_mem clCreateImage(cl_context context, cl_mem_flags flags, const cl_image_format *format,
                     const cl_image_desc *desc, void *host_ptr, cl_int *errcode_ret)
{
    cl_int err;
    cl_mem m = image_create(context, NULL, flags, format, desc, host_ptr, &err);
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return m;
}

cl_mem clCreateImageWithProperties(cl_context context, const cl_mem_properties *properties, cl_mem_flags flags,
                                   const cl_image_format *format, const cl_image_desc *desc, void *host_ptr,
                                   cl_int *errcode_ret)
{
    cl_int err;
    cl_mem m = image_create(context, properties, flags, format, desc, host_ptr, &err);
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return m;
}

cl_mem clCreateImage2D(cl_context context, cl_mem_flags flags, const cl_image_format *format, size_t width,
                       size_t height, size_t row_pitch, void *host_ptr, cl_int *errcode_ret)
{
    cl_image_desc d = {0};
    d.image_type = CL_MEM_OBJECT_IMAGE2D;
    d.image_width = width;
    d.image_height = height;
    d.image_row_pitch = row_pitch;
    return clCreateImage(context, flags, format, &d, host_ptr, errcode_ret);
}

cl_mem clCreateImage3D(cl_context context, cl_mem_flags flags, const cl_image_format *format, size_t width,
                       size_t height, size_t depth, size_t row_pitch, size_t slice_pitch, void *host_ptr,
                       cl_int *errcode_ret)
{
    cl_image_desc d = {0};
    d.image_type = CL_MEM_OBJECT_IMAGE3D;
    d.image_width = width;
    d.image_height = height;
    d.image_depth = depth;
    d.image_row_pitch = row_pitch;
    d.image_slice_pitch = slice_pitch;
    return clCreateImage(context, flags, format, &d, host_ptr, errcode_ret);
}

cl_int clGetImageInfo(cl_mem m, cl_image_info param, size_t size, void *value, size_t *size_ret)
{
    if (!ferry_valid(m, FERRY_MAGIC_MEM) || m->type == CL_MEM_OBJECT_BUFFER) {
        return CL_INVALID_MEM_OBJECT;
    }
    cl_uint none = 0;
    cl_mem no_buffer = NULL;
    switch (param) {
    case CL_IMAGE_FORMAT: return ferry_info(&m->format, sizeof m->format, size, value, size_ret);
    case CL_IMAGE_ELEMENT_SIZE: return ferry_info(&m->pixel_bytes, sizeof(size_t), size, value, size_ret);
    case CL_IMAGE_ROW_PITCH: return ferry_info(&m->row_pitch, sizeof(size_t), size, value, size_ret);
    /* OpenCL's figures from the wire's form (a 1D array's layers are rows, a 2D array's slices) */
    case CL_IMAGE_SLICE_PITCH: {
        size_t v = m->type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? m->row_pitch : m->slice_pitch;
        return ferry_info(&v, sizeof v, size, value, size_ret);
    }
    case CL_IMAGE_WIDTH: return ferry_info(&m->width, sizeof(size_t), size, value, size_ret);
    case CL_IMAGE_HEIGHT: {
        size_t v = m->type == CL_MEM_OBJECT_IMAGE1D || m->type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? 0 : m->height;
        return ferry_info(&v, sizeof v, size, value, size_ret);
    }
    case CL_IMAGE_DEPTH: {
        size_t v = m->type == CL_MEM_OBJECT_IMAGE3D ? m->depth : 0;
        return ferry_info(&v, sizeof v, size, value, size_ret);
    }
    case CL_IMAGE_ARRAY_SIZE: return ferry_info(&m->array_size, sizeof(size_t), size, value, size_ret);
    case CL_IMAGE_BUFFER: return ferry_info(&no_buffer, sizeof no_buffer, size, value, size_ret);
    case CL_IMAGE_NUM_MIP_LEVELS:
    case CL_IMAGE_NUM_SAMPLES: return ferry_info(&none, sizeof none, size, value, size_ret);
    default: return CL_INVALID_VALUE;
    }
}

cl_int clGetSupportedImageFormats(cl_context context, cl_mem_flags flags, cl_mem_object_type type, cl_uint n,
                                  cl_image_format *formats, cl_uint *n_ret)
{
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        return CL_INVALID_CONTEXT;
    }
    if ((n == 0 && formats) || (type < CL_MEM_OBJECT_IMAGE2D || type > CL_MEM_OBJECT_IMAGE1D_BUFFER)
        || check_flags(flags & ~(cl_mem_flags)(CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR), NULL) != CL_SUCCESS) {
        return CL_INVALID_VALUE;
    }
    cl_uint count = 0;
    ferry_reply r = {0};
    if (context->device->image_support && type != CL_MEM_OBJECT_IMAGE1D_BUFFER) {   /* 1D buffer images: not carried */
        ferry_conn *c = ferry_icd_conn();
        if (!c) {
            return CL_OUT_OF_RESOURCES;
        }
        uint64_t a[FERRY_INFO_ARGC] = {FERRY_INFO_IMAGE_FORMATS, context->o.handle, flags, type, 0, 0};
        int st = ferry_call(c, FERRY_OP_INFO, a, FERRY_INFO_ARGC, NULL, 0, &r);
        if (st) {
            cl_int err = ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clGetSupportedImageFormats", &r);
            ferry_reply_free(&r);
            return err;
        }
        /* Only what the wire's IMAGE_CREATE takes (its orders and types; the host checks them too). */
        const cl_image_format *all = (const cl_image_format *)r.text;
        size_t total = r.text ? r.length / sizeof(cl_image_format) : 0;
        for (size_t i = 0; i < total; i++) {
            cl_image_format f;
            memcpy(&f, all + i, sizeof f);
            cl_channel_order o = f.image_channel_order;
            if (ferry_pixel_bytes(&f) == 0 || (o != CL_R && o != CL_RG && o != CL_RGBA && o != CL_BGRA)) {
                continue;
            }
            if (formats && count < n) {
                formats[count] = f;
            }
            count++;
        }
    }
    ferry_reply_free(&r);
    if (n_ret) {
        *n_ret = count;
    }
    return CL_SUCCESS;
}

/* ---- samplers ---- */

static cl_sampler sampler_create(cl_context context, cl_bool normalized, cl_addressing_mode addressing,
                                 cl_filter_mode filter, const cl_sampler_properties *props, size_t props_n,
                                 cl_int *err)
{
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if ((normalized != CL_TRUE && normalized != CL_FALSE) || addressing < CL_ADDRESS_NONE
        || addressing > CL_ADDRESS_MIRRORED_REPEAT || (filter != CL_FILTER_NEAREST && filter != CL_FILTER_LINEAR)) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    if (!context->device->image_support) {
        *err = CL_INVALID_OPERATION;
        return NULL;
    }
    ferry_conn *c = ferry_icd_conn();
    cl_sampler s = c ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        *err = c ? CL_OUT_OF_HOST_MEMORY : CL_OUT_OF_RESOURCES;
        return NULL;
    }
    uint64_t h = ferry_new_handle(c);
    uint64_t a[FERRY_SAMPLER_CREATE_ARGC] = {h, context->o.handle, normalized, addressing, filter};
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_SAMPLER_CREATE, a, FERRY_SAMPLER_CREATE_ARGC, NULL, 0, &r);
    if (st) {
        *err = ferry_cl_reply_error(st, CL_INVALID_CONTEXT, "clCreateSampler", &r);
        if (st == FERRY_STATUS_UNSUPPORTED) {
            *err = CL_INVALID_OPERATION;
        }
        ferry_reply_free(&r);
        free(s);
        return NULL;
    }
    ferry_reply_free(&r);
    ferry_object_init(&s->o, FERRY_MAGIC_SAMPLER, h);
    s->context = context;
    s->normalized = normalized;
    s->addressing = addressing;
    s->filter = filter;
    if (props) {
        s->props = malloc(sizeof *props * props_n);
        if (s->props) {
            memcpy(s->props, props, sizeof *props * props_n);
            s->props_size = sizeof *props * props_n;
        }
    }
    clRetainContext(context);
    *err = CL_SUCCESS;
    return s;
}

cl_sampler clCreateSampler(cl_context context, cl_bool normalized, cl_addressing_mode addressing,
                           cl_filter_mode filter, cl_int *errcode_ret)
{
    cl_int err;
    cl_sampler s = sampler_create(context, normalized, addressing, filter, NULL, 0, &err);
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return s;
}

cl_sampler clCreateSamplerWithProperties(cl_context context, const cl_sampler_properties *props,
                                         cl_int *errcode_ret)
{
    cl_bool normalized = CL_TRUE;
    cl_addressing_mode addressing = CL_ADDRESS_CLAMP;
    cl_filter_mode filter = CL_FILTER_NEAREST;
    cl_int err = CL_SUCCESS;
    size_t n = 0;
    int seen = 0;
    for (; props && props[n] && err == CL_SUCCESS; n += 2) {
        int bit = props[n] == CL_SAMPLER_NORMALIZED_COORDS ? 1 : props[n] == CL_SAMPLER_ADDRESSING_MODE ? 2
                : props[n] == CL_SAMPLER_FILTER_MODE ? 4 : 0;
        if (bit == 0 || (seen & bit)) {
            err = CL_INVALID_VALUE;
        }
        seen |= bit;
        if (bit == 1) {
            normalized = (cl_bool)props[n + 1];
        } else if (bit == 2) {
            addressing = (cl_addressing_mode)props[n + 1];
        } else if (bit == 4) {
            filter = (cl_filter_mode)props[n + 1];
        }
    }
    cl_sampler s = NULL;
    if (err == CL_SUCCESS) {
        s = sampler_create(context, normalized, addressing, filter, props, props ? n + 1 : 0, &err);
    }
    if (errcode_ret) {
        *errcode_ret = err;
    }
    return s;
}

cl_int clRetainSampler(cl_sampler s)
{
    if (!ferry_valid(s, FERRY_MAGIC_SAMPLER)) {
        return CL_INVALID_SAMPLER;
    }
    atomic_fetch_add(&s->o.refs, 1);
    return CL_SUCCESS;
}

cl_int clReleaseSampler(cl_sampler s)
{
    if (!ferry_valid(s, FERRY_MAGIC_SAMPLER)) {
        return CL_INVALID_SAMPLER;
    }
    if (atomic_fetch_sub(&s->o.refs, 1) != 1) {
        return CL_SUCCESS;
    }
    ferry_release_handle(s->o.handle);
    s->o.magic = FERRY_MAGIC_DEAD;
    cl_context ctx = s->context;
    free(s->props);
    free(s);
    clReleaseContext(ctx);
    return CL_SUCCESS;
}

cl_int clGetSamplerInfo(cl_sampler s, cl_sampler_info param, size_t size, void *value, size_t *size_ret)
{
    if (!ferry_valid(s, FERRY_MAGIC_SAMPLER)) {
        return CL_INVALID_SAMPLER;
    }
    switch (param) {
    case CL_SAMPLER_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&s->o.refs);
        return ferry_info(&refs, sizeof refs, size, value, size_ret);
    }
    case CL_SAMPLER_CONTEXT: return ferry_info(&s->context, sizeof s->context, size, value, size_ret);
    case CL_SAMPLER_NORMALIZED_COORDS: return ferry_info(&s->normalized, sizeof s->normalized, size, value, size_ret);
    case CL_SAMPLER_ADDRESSING_MODE: return ferry_info(&s->addressing, sizeof s->addressing, size, value, size_ret);
    case CL_SAMPLER_FILTER_MODE: return ferry_info(&s->filter, sizeof s->filter, size, value, size_ret);
    case CL_SAMPLER_PROPERTIES: return ferry_info(s->props, s->props_size, size, value, size_ret);
    default: return CL_INVALID_VALUE;
    }
}
