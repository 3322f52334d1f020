/* icd_map.c: clEnqueueMapBuffer, clEnqueueMapImage, clEnqueueUnmapMemObject. Where the mapped bytes are:
 *   coherent heap-backed buffer (CL_MEM_ALLOC_HOST_PTR, or USE_HOST_PTR over heap memory, on a CPU device): the
 *     buffer's own heap memory. Map waits (a marker and a finish, when blocking or an event is wanted; nothing
 *     at all when blocking on an idle queue), unmap sends a marker only when an event or wait list asks for one:
 *     zero copies, and on an idle queue no round trip.
 *   heap-backed on another device: the buffer's heap memory, read into by the device at map and written back at
 *     unmap (mapped for writing).
 *   CL_MEM_USE_HOST_PTR in ordinary memory: host_ptr itself (OpenCL's rule): map reads the buffer into it through
 *     staging (completing before map returns), unmap writes back what was mapped for writing.
 *   any other buffer: a heap block (ordinary memory when the heap is full) that the device reads into; unmap writes
 *     it back when mapped for writing; the block is freed at the queue's next finish. Ordinary memory is kept with
 *     the buffer for its next map (one block per buffer, freed with it): a fresh 512 MiB block cost 131,072 page
 *     faults at each map, which made clpeak's "enqueueMapBuffer(for read)" 0.32 GB/s on the development VM.
 *   images: host_ptr (USE_HOST_PTR) or ordinary memory (kept as above), read through staging at map, written back
 *     at unmap. */
#include <stdlib.h>
#include <string.h>
#include "enqueue.h"

enum { MAP_COHERENT, MAP_HEAP, MAP_HOST, MAP_BLOCK, MAP_OWNED };

struct ferry_mapping {
    void *ptr;
    int kind;
    cl_map_flags flags;
    size_t offset, size;                        /* buffers */
    int64_t block;                              /* MAP_BLOCK */
    size_t owned;                               /* MAP_OWNED: the bytes allocated at ptr */
    size_t origin[3], region[3], row, slice;    /* images */
    struct ferry_mapping *next;
};

/* MAP_OWNED memory of at least want bytes: the buffer's spare block when it is large enough, else a new one. */
static void *owned_take(cl_mem m, size_t want, size_t *owned)
{
    pthread_mutex_lock(&m->lock);
    void *p = NULL;
    if (m->map_spare && m->map_spare_size >= want) {
        p = m->map_spare;
        *owned = m->map_spare_size;
        m->map_spare = NULL;
        m->map_spare_size = 0;
    }
    pthread_mutex_unlock(&m->lock);
    if (!p && (p = aligned_alloc(4096, want))) {
        *owned = want;
    }
    return p;
}

/* An unmapped MAP_OWNED block: kept as the buffer's spare when it is the larger, else freed. */
static void owned_give_back(cl_mem m, void *p, size_t owned)
{
    pthread_mutex_lock(&m->lock);
    if (!m->map_spare || m->map_spare_size < owned) {
        void *old = m->map_spare;
        m->map_spare = p;
        m->map_spare_size = owned;
        p = old;
    }
    pthread_mutex_unlock(&m->lock);
    free(p);
}

static cl_int check_map_flags(cl_mem m, cl_map_flags flags)
{
    if ((flags & ~(cl_map_flags)(CL_MAP_READ | CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))
        || ((flags & CL_MAP_WRITE_INVALIDATE_REGION) && (flags & (CL_MAP_READ | CL_MAP_WRITE)))) {
        return CL_INVALID_VALUE;
    }
    if (((flags & CL_MAP_READ) && (m->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS)))
        || ((flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))
            && (m->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)))) {
        return CL_INVALID_OPERATION;
    }
    return CL_SUCCESS;
}

/* A marker for the map/unmap's event and wait list; nothing when neither is asked for and it need not wait. */
static cl_int marker(cl_command_queue q, const char *call, const ferry_waits *w, cl_bool blocking,
                     cl_command_type type, cl_event *event)
{
    if (!event && w->n == 0 && (!blocking || ferry_q_idle(q))) {
        return CL_SUCCESS;   /* nothing to wait for: an idle queue's earlier commands have all completed */
    }
    uint64_t a[FERRY_MARKER_ARGC] = {q->o.handle, 0, 0};
    return ferry_direct(q, call, FERRY_OP_MARKER, a, FERRY_MARKER_ARGC, FERRY_ARG_MARKER_EVENT, w, NULL, 0, blocking,
                        type, event);
}

static cl_int buffer_io(cl_command_queue q, const char *call, int op, cl_mem b, size_t offset, size_t size,
                        int64_t heap, const ferry_waits *w, cl_bool blocking, cl_command_type type, cl_event *event)
{
    uint64_t a[7] = {q->o.handle, b->o.handle, offset, size, (uint64_t)heap, 0, 0};
    return ferry_direct(q, call, op, a, 7, 5, w, NULL, 0, blocking, type, event);
}

static void add_mapping(cl_mem m, struct ferry_mapping *mp)
{
    pthread_mutex_lock(&m->lock);
    mp->next = m->maps;
    m->maps = mp;
    m->map_count++;
    pthread_mutex_unlock(&m->lock);
}

void *clEnqueueMapBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, cl_map_flags flags, size_t offset,
                         size_t size, cl_uint nwait, const cl_event *wait, cl_event *event, cl_int *errcode_ret)
{
    const char *call = "clEnqueueMapBuffer";
    cl_int rc = CL_SUCCESS;
    void *ptr = NULL;
    struct ferry_mapping *mp = NULL;
    ferry_waits w = {0};
    ferry_conn *c = ferry_icd_conn();
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        rc = CL_INVALID_COMMAND_QUEUE;
    } else if (!ferry_valid(b, FERRY_MAGIC_MEM) || b->type != CL_MEM_OBJECT_BUFFER) {
        rc = CL_INVALID_MEM_OBJECT;
    } else if (b->context != q->context) {
        rc = CL_INVALID_CONTEXT;
    } else if (size == 0 || offset > b->size || size > b->size - offset) {
        rc = CL_INVALID_VALUE;
    } else if ((rc = check_map_flags(b, flags)) == CL_SUCCESS && !c) {
        rc = CL_OUT_OF_RESOURCES;
    }
    if (rc == CL_SUCCESS && !(mp = calloc(1, sizeof *mp))) {
        rc = CL_OUT_OF_HOST_MEMORY;
    }
    if (rc == CL_SUCCESS) {
        rc = ferry_waits_begin(q, nwait, wait, &w);
    }
    if (rc == CL_SUCCESS) {
        int reads = !(flags & CL_MAP_WRITE_INVALIDATE_REGION);
        uint8_t *base = ferry_heap_base(c);
        mp->flags = flags;
        mp->offset = offset;
        mp->size = size;
        mp->block = -1;
        if (b->coherent) {
            mp->kind = MAP_COHERENT;
            ptr = base + b->heap_offset + offset;
            rc = marker(q, call, &w, blocking, CL_COMMAND_MAP_BUFFER, event);
        } else if (b->heap_offset >= 0) {
            mp->kind = MAP_HEAP;
            ptr = base + b->heap_offset + offset;
            rc = reads ? buffer_io(q, call, FERRY_OP_BUFFER_READ, b, offset, size, b->heap_offset + (int64_t)offset,
                                   &w, blocking, CL_COMMAND_MAP_BUFFER, event)
                       : marker(q, call, &w, blocking, CL_COMMAND_MAP_BUFFER, event);
        } else {
            if (b->flags & CL_MEM_USE_HOST_PTR) {
                mp->kind = MAP_HOST;
                ptr = (uint8_t *)b->host_ptr + offset;
            } else if ((mp->block = ferry_stage_alloc(q, size, &rc)) >= 0) {
                mp->kind = MAP_BLOCK;
                ptr = base + mp->block;
            } else if (rc == CL_SUCCESS) {
                mp->kind = MAP_OWNED;   /* the heap is full: ordinary memory, staged */
                ptr = owned_take(b, (size + 4095) & ~(size_t)4095, &mp->owned);
                rc = ptr ? CL_SUCCESS : CL_MAP_FAILURE;
            }
            if (rc == CL_SUCCESS && mp->kind == MAP_BLOCK) {
                rc = reads ? buffer_io(q, call, FERRY_OP_BUFFER_READ, b, offset, size, mp->block, &w, blocking,
                                       CL_COMMAND_MAP_BUFFER, event)
                           : marker(q, call, &w, blocking, CL_COMMAND_MAP_BUFFER, event);
            } else if (rc == CL_SUCCESS) {
                /* Ordinary memory: the staged read completes before map returns. */
                rc = reads ? ferry_stage_transfer(q, call, FERRY_OP_BUFFER_READ, b, offset, size, ptr, CL_TRUE, &w,
                                                  CL_COMMAND_MAP_BUFFER, event)
                           : marker(q, call, &w, CL_TRUE, CL_COMMAND_MAP_BUFFER, event);
            }
            if (rc != CL_SUCCESS) {
                if (mp->kind == MAP_BLOCK) {
                    ferry_stage_keep(q, mp->block);
                } else if (mp->kind == MAP_OWNED && ptr) {
                    owned_give_back(b, ptr, mp->owned);
                }
            }
        }
        ferry_waits_end(&w);
    }
    if (rc == CL_SUCCESS) {
        mp->ptr = ptr;
        add_mapping(b, mp);
    } else {
        free(mp);
        ptr = NULL;
    }
    if (errcode_ret) {
        *errcode_ret = rc;
    }
    return ptr;
}

void *clEnqueueMapImage(cl_command_queue q, cl_mem m, cl_bool blocking, cl_map_flags flags, const size_t *origin,
                        const size_t *region, size_t *row_pitch, size_t *slice_pitch, cl_uint nwait,
                        const cl_event *wait, cl_event *event, cl_int *errcode_ret)
{
    const char *call = "clEnqueueMapImage";
    cl_int rc = CL_SUCCESS;
    void *ptr = NULL;
    struct ferry_mapping *mp = NULL;
    ferry_waits w = {0};
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        rc = CL_INVALID_COMMAND_QUEUE;
    } else if (!ferry_valid(m, FERRY_MAGIC_MEM) || m->type == CL_MEM_OBJECT_BUFFER) {
        rc = CL_INVALID_MEM_OBJECT;
    } else if (m->context != q->context) {
        rc = CL_INVALID_CONTEXT;
    } else if (!origin || !region || !row_pitch
               || ((m->depth || m->type == CL_MEM_OBJECT_IMAGE1D_ARRAY) && !slice_pitch) || !region[0] || !region[1]
               || !region[2] || origin[0] >= m->width || region[0] > m->width - origin[0]
               || origin[1] >= m->height || region[1] > m->height - origin[1]
               || origin[2] >= (m->depth ? m->depth : 1) || region[2] > (m->depth ? m->depth : 1) - origin[2]) {
        rc = CL_INVALID_VALUE;
    } else {
        rc = check_map_flags(m, flags);
    }
    if (rc == CL_SUCCESS && !(mp = calloc(1, sizeof *mp))) {
        rc = CL_OUT_OF_HOST_MEMORY;
    }
    if (rc == CL_SUCCESS) {
        rc = ferry_waits_begin(q, nwait, wait, &w);
    }
    if (rc == CL_SUCCESS) {
        size_t px = m->pixel_bytes;
        mp->flags = flags;
        mp->block = -1;
        memcpy(mp->origin, origin, sizeof mp->origin);
        memcpy(mp->region, region, sizeof mp->region);
        if (m->flags & CL_MEM_USE_HOST_PTR) {
            mp->kind = MAP_HOST;
            mp->row = m->row_pitch;
            mp->slice = m->depth ? m->slice_pitch : 0;
            ptr = (uint8_t *)m->host_ptr + origin[2] * m->slice_pitch + origin[1] * m->row_pitch + origin[0] * px;
        } else {
            mp->kind = MAP_OWNED;
            mp->row = region[0] * px;
            mp->slice = m->depth ? mp->row * region[1] : 0;
            size_t n = region[0] * px * region[1] * region[2];
            ptr = owned_take(m, (n + 4095) & ~(size_t)4095, &mp->owned);
            rc = ptr ? CL_SUCCESS : CL_MAP_FAILURE;
        }
        if (rc == CL_SUCCESS) {
            rc = flags & CL_MAP_WRITE_INVALIDATE_REGION
                     ? marker(q, call, &w, CL_TRUE, CL_COMMAND_MAP_IMAGE, event)
                     : ferry_image_transfer(q, 1, m, CL_TRUE, origin, region, mp->row, mp->slice, ptr, &w,
                                            CL_COMMAND_MAP_IMAGE, event);
            if (rc != CL_SUCCESS && mp->kind == MAP_OWNED) {
                owned_give_back(m, ptr, mp->owned);
            }
        }
        ferry_waits_end(&w);
    }
    if (rc == CL_SUCCESS) {
        mp->ptr = ptr;
        *row_pitch = mp->row;
        if (slice_pitch) {
            /* a 1D array's layers are rows here: OpenCL calls their stride the slice pitch */
            *slice_pitch = m->type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? mp->row : mp->slice;
        }
        add_mapping(m, mp);
    } else {
        free(mp);
        ptr = NULL;
    }
    if (errcode_ret) {
        *errcode_ret = rc;
    }
    return ptr;
}

cl_int clEnqueueUnmapMemObject(cl_command_queue q, cl_mem m, void *ptr, cl_uint nwait, const cl_event *wait,
                               cl_event *event)
{
    const char *call = "clEnqueueUnmapMemObject";
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    if (!ferry_valid(m, FERRY_MAGIC_MEM)) {
        return CL_INVALID_MEM_OBJECT;
    }
    if (m->context != q->context) {
        return CL_INVALID_CONTEXT;
    }
    ferry_waits w;
    cl_int rc = ferry_waits_begin(q, nwait, wait, &w);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    pthread_mutex_lock(&m->lock);
    struct ferry_mapping **p = &m->maps;
    while (*p && (*p)->ptr != ptr) {
        p = &(*p)->next;
    }
    struct ferry_mapping *mp = *p;
    if (mp) {
        *p = mp->next;
        m->map_count--;
    }
    pthread_mutex_unlock(&m->lock);
    if (!mp) {
        ferry_waits_end(&w);
        return CL_INVALID_VALUE;
    }
    int writes = (mp->flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION)) != 0;
    cl_command_type type = CL_COMMAND_UNMAP_MEM_OBJECT;
    if (m->type != CL_MEM_OBJECT_BUFFER) {
        rc = writes ? ferry_image_transfer(q, 0, m, CL_FALSE, mp->origin, mp->region, mp->row, mp->slice, ptr, &w,
                                           type, event)
                    : marker(q, call, &w, CL_FALSE, type, event);
    } else if (!writes || mp->kind == MAP_COHERENT) {
        rc = marker(q, call, &w, CL_FALSE, type, event);
    } else if (mp->kind == MAP_HEAP) {
        rc = buffer_io(q, call, FERRY_OP_BUFFER_WRITE, m, mp->offset, mp->size, m->heap_offset + (int64_t)mp->offset,
                       &w, CL_FALSE, type, event);
    } else if (mp->kind == MAP_BLOCK) {
        rc = buffer_io(q, call, FERRY_OP_BUFFER_WRITE, m, mp->offset, mp->size, mp->block, &w, CL_FALSE, type, event);
    } else {
        rc = ferry_stage_transfer(q, call, FERRY_OP_BUFFER_WRITE, m, mp->offset, mp->size, ptr, CL_FALSE, &w, type,
                                  event);
    }
    ferry_waits_end(&w);
    if (mp->kind == MAP_BLOCK) {
        ferry_stage_keep(q, mp->block);   /* the device may still read it: freed at the next finish */
    } else if (mp->kind == MAP_OWNED) {
        owned_give_back(m, ptr, mp->owned);   /* staged writes copied it into the heap before returning */
    }
    free(mp);
    return rc;
}
