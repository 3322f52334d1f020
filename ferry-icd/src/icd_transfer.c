/* icd_transfer.c: buffer transfers: clEnqueueRead/WriteBuffer, their Rect forms, CopyBuffer(Rect), FillBuffer.
 * Memory that lies in the heap (a CL_MEM_ALLOC_HOST_PTR buffer's mapped memory, or any heap address) is named by
 * its heap offset directly; other memory goes through staging (icd_staging.c for linear transfers, the piecewise
 * rectangle stager here for Rect transfers and images). Blocking calls wait for their command's event. */
#include <stdlib.h>
#include <string.h>
#include "enqueue.h"

#define RECT_CAP (UINT64_C(16) << 20)

static cl_int check_buffer(cl_command_queue q, cl_mem b)
{
    if (!ferry_valid(b, FERRY_MAGIC_MEM) || b->type != CL_MEM_OBJECT_BUFFER) {
        return CL_INVALID_MEM_OBJECT;
    }
    return b->context == q->context ? CL_SUCCESS : CL_INVALID_CONTEXT;
}

/* A blocking call whose wait list holds an event already known failed. */
static cl_int known_failed(cl_uint n, const cl_event *list)
{
    for (cl_uint i = 0; list && i < n; i++) {
        if (ferry_valid(list[i], FERRY_MAGIC_EVENT) && atomic_load(&list[i]->status) < 0) {
            return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
        }
    }
    return CL_SUCCESS;
}

/* One command naming heap memory directly; blocking: waits for it. */
cl_int ferry_direct(cl_command_queue q, const char *call, int op, uint64_t *a, int argc, int event_arg,
                     const ferry_waits *w, const void *payload, size_t payload_length, cl_bool blocking,
                     cl_command_type type, cl_event *event)
{
    int ooo = (q->properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    /* In order, blocking, no event asked for: FINISH waits as well as an event would, and spares making one. */
    int by_finish = blocking && !ooo && !event;
    uint64_t ev = event || (blocking && !by_finish) ? ferry_handle() : 0;
    a[event_arg] = ev;
    a[event_arg + 1] = w->n;
    struct ferry_stage *prior = blocking && !ooo ? ferry_stage_take(q) : NULL;
    cl_int rc = ferry_q_send(q, call, op, a, argc, w, payload, payload_length);
    if (rc == CL_SUCCESS && blocking) {
        rc = by_finish ? ferry_q_finish(q, call) : ferry_q_wait(q, ev, call, w, NULL);
    }
    if (rc == CL_SUCCESS) {
        ferry_stage_settle(prior, 1);
    } else {
        ferry_stage_put_back(q, prior);
    }
    if (rc == CL_SUCCESS && event) {
        rc = ferry_event_out(q, type, ev, event);
        if (rc == CL_SUCCESS && blocking) {
            ferry_event_settled(*event, CL_COMPLETE, NULL);
        }
    } else if (ev) {
        ferry_release_handle(ev);
    }
    return rc;
}

static cl_int linear(cl_command_queue q, int reading, cl_mem b, cl_bool blocking, size_t offset, size_t size,
                     void *ptr, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    const char *call = reading ? "clEnqueueReadBuffer" : "clEnqueueWriteBuffer";
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_buffer(q, b);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!ptr || size == 0 || offset > b->size || size > b->size - offset) {
        return CL_INVALID_VALUE;
    }
    if (ferry_host_access_refused(b, reading)) {
        return CL_INVALID_OPERATION;
    }
    if (blocking && (rc = known_failed(nwait, wait)) != CL_SUCCESS) {
        return rc;
    }
    ferry_waits w;
    if ((rc = ferry_waits_begin(q, nwait, wait, &w)) != CL_SUCCESS) {
        return rc;
    }
    if (blocking && !event && w.n == 0 && b->coherent) {
        /* The buffer's bytes are heap bytes the device uses in place: once the queue's earlier commands are done
         * (a finish, unless it is idle), the transfer is one memcpy here, as with a local device. */
        rc = ferry_q_idle(q) ? CL_SUCCESS : ferry_q_finish(q, call);
        if (rc == CL_SUCCESS) {
            uint8_t *bytes = ferry_heap_base(ferry_icd_conn()) + b->heap_offset + offset;
            memmove(reading ? ptr : bytes, reading ? bytes : ptr, size);
        }
        ferry_waits_end(&w);
        return rc;
    }
    int op = reading ? FERRY_OP_BUFFER_READ : FERRY_OP_BUFFER_WRITE;
    cl_command_type type = reading ? CL_COMMAND_READ_BUFFER : CL_COMMAND_WRITE_BUFFER;
    int64_t heap = ferry_heap_offset_of(ferry_icd_conn(), ptr, size);
    if (heap >= 0) {
        uint64_t a[7] = {q->o.handle, b->o.handle, offset, size, (uint64_t)heap, 0, 0};
        rc = ferry_direct(q, call, op, a, 7, 5, &w, NULL, 0, blocking, type, event);
    } else {
        rc = ferry_stage_transfer(q, call, op, b, offset, size, ptr, blocking, &w, type, event);
    }
    ferry_waits_end(&w);
    return rc;
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, size_t offset, size_t size, void *ptr,
                           cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return linear(q, 1, b, blocking, offset, size, ptr, nwait, wait, event);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, size_t offset, size_t size,
                            const void *ptr, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return linear(q, 0, b, blocking, offset, size, (void *)ptr, nwait, wait, event);
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_offset, size_t dst_offset,
                           size_t size, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_buffer(q, src);
    if (rc == CL_SUCCESS) {
        rc = check_buffer(q, dst);
    }
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (size == 0 || src_offset > src->size || size > src->size - src_offset || dst_offset > dst->size
        || size > dst->size - dst_offset) {
        return CL_INVALID_VALUE;
    }
    /* Overlap: the same memory (a buffer and its sub-buffers share the parent's). */
    cl_mem sroot = src->parent ? src->parent : src, droot = dst->parent ? dst->parent : dst;
    size_t s0 = src_offset + src->origin, d0 = dst_offset + dst->origin;
    if (sroot == droot && s0 < d0 + size && d0 < s0 + size) {
        return CL_MEM_COPY_OVERLAP;
    }
    ferry_waits w;
    if ((rc = ferry_waits_begin(q, nwait, wait, &w)) != CL_SUCCESS) {
        return rc;
    }
    uint64_t a[FERRY_BUFFER_COPY_ARGC] = {q->o.handle, src->o.handle, dst->o.handle, src_offset, dst_offset, size};
    rc = ferry_direct(q, "clEnqueueCopyBuffer", FERRY_OP_BUFFER_COPY, a, FERRY_BUFFER_COPY_ARGC, FERRY_ARG_BUFFER_COPY_EVENT,
                &w, NULL, 0, CL_FALSE, CL_COMMAND_COPY_BUFFER, event);
    ferry_waits_end(&w);
    return rc;
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem b, const void *pattern, size_t pattern_size, size_t offset,
                           size_t size, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_buffer(q, b);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!pattern || pattern_size == 0 || pattern_size > 128 || (pattern_size & (pattern_size - 1))
        || offset % pattern_size || size % pattern_size || size == 0 || offset > b->size
        || size > b->size - offset) {
        return CL_INVALID_VALUE;
    }
    ferry_waits w;
    if ((rc = ferry_waits_begin(q, nwait, wait, &w)) != CL_SUCCESS) {
        return rc;
    }
    uint64_t a[FERRY_BUFFER_FILL_ARGC] = {q->o.handle, b->o.handle, offset, size};
    rc = ferry_direct(q, "clEnqueueFillBuffer", FERRY_OP_BUFFER_FILL, a, FERRY_BUFFER_FILL_ARGC, FERRY_ARG_BUFFER_FILL_EVENT,
                &w, pattern, pattern_size, CL_FALSE, CL_COMMAND_FILL_BUFFER, event);
    ferry_waits_end(&w);
    return rc;
}

/* ---- rectangles ---- */

/* OpenCL's pitch defaults and checks; the last byte the rectangle touches must lie within limit. */
static int rect_side(const size_t *origin, const size_t *region, size_t *row, size_t *slice, size_t limit)
{
    if (*row == 0) {
        *row = region[0];
    }
    if (*slice == 0) {
        *slice = region[1] * *row;
    }
    if (*row < region[0] || *slice < region[1] * *row || *slice % *row) {
        return 0;
    }
    size_t end = (origin[2] + region[2] - 1) * *slice + (origin[1] + region[1] - 1) * *row + origin[0] + region[0];
    return end <= limit;
}

static size_t rect_extent(const size_t *origin, const size_t *region, size_t row, size_t slice)
{
    return (origin[2] + region[2] - 1) * slice + (origin[1] + region[1] - 1) * row + origin[0] + region[0];
}

struct piece { size_t z, y, slices, rows; };

static void piece_copy(int reading, uint8_t *block, uint8_t *host, size_t rb, size_t hrow, size_t hslice,
                       struct piece p)
{
    for (size_t s = 0; s < p.slices; s++) {
        for (size_t r = 0; r < p.rows; r++) {
            uint8_t *h = host + (p.z + s) * hslice + (p.y + r) * hrow;
            uint8_t *b = block + (s * p.rows + r) * rb;
            if (reading) {
                memcpy(h, b, rb);
            } else {
                memcpy(b, h, rb);
            }
        }
    }
}

cl_int ferry_rect_staged(cl_command_queue q, const char *call, int reading, size_t rb, size_t r1, size_t r2,
                         uint8_t *host, size_t hrow, size_t hslice, piece_fn send, void *ctx, cl_bool blocking,
                         ferry_waits *w, cl_command_type type, cl_event *event)
{
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    uint64_t total = (uint64_t)rb * r1 * r2;
    uint64_t cap = ferry_heap_free_bytes(c) / 4;
    cap = cap > RECT_CAP ? RECT_CAP : cap;
    cap = cap < rb ? rb : cap;
    cap = cap > total ? total : cap;
    /* Pieces: whole slices when a slice fits, else rows of one slice. */
    size_t per_slices = rb * r1 <= cap ? cap / (rb * r1) : 0;
    size_t per_rows = per_slices ? r1 : cap / rb;
    per_slices = per_slices ? (per_slices > r2 ? r2 : per_slices) : 1;
    uint64_t bsize = (uint64_t)rb * per_rows * per_slices;
    int64_t blocks[2] = {-1, -1};
    int k = 0;
    cl_int aerr;
    blocks[k] = ferry_stage_alloc(q, bsize, &aerr);
    if (blocks[k] < 0) {
        return aerr != CL_SUCCESS ? aerr : CL_OUT_OF_RESOURCES;
    }
    k++;
    uint64_t count = r1 == per_rows ? (r2 + per_slices - 1) / per_slices
                                    : (uint64_t)r2 * ((r1 + per_rows - 1) / per_rows);
    if (count > 1) {
        blocks[1] = ferry_heap_alloc(c, bsize);
        k += blocks[1] >= 0;
    }
    int ooo = (q->properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    uint8_t *base = ferry_heap_base(c);
    uint64_t ev[2] = {0, 0};
    struct piece held[2];
    uint64_t app = event ? ferry_handle() : 0;
    int app_sent = 0, sent = 0;
    cl_int err = CL_SUCCESS;
    size_t z = 0, y = 0;
    for (uint64_t i = 0; i < count && err == CL_SUCCESS; i++) {
        int slot = (int)(i % (uint64_t)k);
        if (ev[slot]) {
            err = ferry_q_wait(q, ev[slot], call, w, NULL);
            ferry_release_handle(ev[slot]);
            ev[slot] = 0;
            if (err != CL_SUCCESS) {
                break;
            }
            if (reading) {
                piece_copy(1, base + blocks[slot], host, rb, hrow, hslice, held[slot]);
            }
        }
        struct piece p = {z, y, r1 == per_rows ? (r2 - z < per_slices ? r2 - z : per_slices) : 1,
                          r1 == per_rows ? r1 : (r1 - y < per_rows ? r1 - y : per_rows)};
        if (!reading) {
            piece_copy(0, base + blocks[slot], host, rb, hrow, hslice, p);
        }
        int last = i + 1 == count;
        uint64_t e = last && app && !ooo ? app : ferry_handle();
        err = send(q, ctx, p.z, p.y, p.slices, p.rows, blocks[slot], rb * p.rows * p.slices, e,
                   i == 0 || ooo ? w : &ferry_no_waits);
        if (err != CL_SUCCESS) {
            if (e != app) {
                ferry_release_handle(e);
            }
            break;
        }
        sent = 1;
        app_sent |= e == app;
        ev[slot] = e == app ? 0 : e;
        held[slot] = p;
        if (r1 == per_rows) {
            z += p.slices;
        } else if ((y += p.rows) == r1) {
            y = 0;
            z++;
        }
    }
    if (err == CL_SUCCESS && ooo && app) {
        ferry_waits tail = {0};
        for (int s = 0; s < k; s++) {
            if (ev[s]) {
                tail.h[tail.n++] = ev[s];
            }
        }
        uint64_t a[FERRY_MARKER_ARGC] = {q->o.handle, app, tail.n};
        err = ferry_q_send(q, call, FERRY_OP_MARKER, a, FERRY_MARKER_ARGC, &tail, NULL, 0);
        app_sent = err == CL_SUCCESS;
    }
    /* A staged read completes here (copying out row by row at a later finish is not worth it): legal, as a
     * non-blocking command may complete before its call returns. */
    int wait_all = blocking || reading;
    if (err == CL_SUCCESS && wait_all) {
        if (app && !ooo) {
            err = ferry_q_wait(q, app, call, w, NULL);
        }
        for (uint64_t j = count > (uint64_t)k ? count - k : 0; j < count && err == CL_SUCCESS; j++) {
            int s = (int)(j % (uint64_t)k);
            if (ev[s]) {
                err = ferry_q_wait(q, ev[s], call, w, NULL);
            }
            if (err == CL_SUCCESS && reading) {
                piece_copy(1, base + blocks[s], host, rb, hrow, hslice, held[s]);
            }
        }
    }
    for (int s = 0; s < k; s++) {
        ferry_release_handle(ev[s]);
        if (err == CL_SUCCESS && wait_all) {
            ferry_heap_free(c, blocks[s]);
        } else if (sent) {
            ferry_stage_keep(q, blocks[s]);
        } else {
            ferry_heap_free(c, blocks[s]);
        }
    }
    if (app) {
        if (err == CL_SUCCESS) {
            err = ferry_event_out(q, type, app, event);
            if (err == CL_SUCCESS && wait_all) {
                ferry_event_settled(*event, CL_COMPLETE, NULL);
            }
        } else if (app_sent) {
            ferry_release_handle(app);
        }
    }
    return err;
}

struct rect_ctx {
    int op;
    cl_mem b;
    size_t bo[3], r0, brow, bslice;
};

static cl_int rect_piece(cl_command_queue q, void *ctxp, size_t z, size_t y, size_t slices, size_t rows,
                         int64_t heap, size_t heap_size, uint64_t event, const ferry_waits *w)
{
    struct rect_ctx *x = ctxp;
    uint64_t rect[13] = {x->r0, rows, slices, x->bo[0], x->bo[1] + y, x->bo[2] + z, x->brow, x->bslice,
                         0, 0, 0, x->r0, x->r0 * rows};
    uint64_t a[6] = {q->o.handle, x->b->o.handle, (uint64_t)heap, heap_size, event, w->n};
    return ferry_q_send(q, x->op == FERRY_OP_BUFFER_READ_RECT ? "clEnqueueReadBufferRect" : "clEnqueueWriteBufferRect",
                        x->op, a, 6, w, rect, sizeof rect);
}

static cl_int rect(cl_command_queue q, int reading, cl_mem b, cl_bool blocking, const size_t *bo, const size_t *ho,
                   const size_t *region, size_t brow, size_t bslice, size_t hrow, size_t hslice, void *ptr,
                   cl_uint nwait, const cl_event *wait, cl_event *event)
{
    const char *call = reading ? "clEnqueueReadBufferRect" : "clEnqueueWriteBufferRect";
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_buffer(q, b);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!ptr || !bo || !ho || !region || !region[0] || !region[1] || !region[2]
        || !rect_side(bo, region, &brow, &bslice, b->size) || !rect_side(ho, region, &hrow, &hslice, SIZE_MAX)) {
        return CL_INVALID_VALUE;
    }
    if (ferry_host_access_refused(b, reading)) {
        return CL_INVALID_OPERATION;
    }
    if (blocking && (rc = known_failed(nwait, wait)) != CL_SUCCESS) {
        return rc;
    }
    ferry_waits w;
    if ((rc = ferry_waits_begin(q, nwait, wait, &w)) != CL_SUCCESS) {
        return rc;
    }
    int op = reading ? FERRY_OP_BUFFER_READ_RECT : FERRY_OP_BUFFER_WRITE_RECT;
    cl_command_type type = reading ? CL_COMMAND_READ_BUFFER_RECT : CL_COMMAND_WRITE_BUFFER_RECT;
    size_t extent = rect_extent(ho, region, hrow, hslice);
    int64_t heap = ferry_heap_offset_of(ferry_icd_conn(), ptr, extent);
    if (heap >= 0) {
        uint64_t r13[13] = {region[0], region[1], region[2], bo[0], bo[1], bo[2], brow, bslice,
                            ho[0], ho[1], ho[2], hrow, hslice};
        uint64_t a[6] = {q->o.handle, b->o.handle, (uint64_t)heap, extent, 0, 0};
        rc = ferry_direct(q, call, op, a, 6, 4, &w, r13, sizeof r13, blocking, type, event);
    } else {
        struct rect_ctx x = {op, b, {bo[0], bo[1], bo[2]}, region[0], brow, bslice};
        uint8_t *host = (uint8_t *)ptr + ho[0] + ho[1] * hrow + ho[2] * hslice;
        rc = ferry_rect_staged(q, call, reading, region[0], region[1], region[2], host, hrow, hslice, rect_piece, &x,
                               blocking, &w, type, event);
    }
    ferry_waits_end(&w);
    return rc;
}

cl_int clEnqueueReadBufferRect(cl_command_queue q, cl_mem b, cl_bool blocking, const size_t *buffer_origin,
                               const size_t *host_origin, const size_t *region, size_t buffer_row_pitch,
                               size_t buffer_slice_pitch, size_t host_row_pitch, size_t host_slice_pitch, void *ptr,
                               cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return rect(q, 1, b, blocking, buffer_origin, host_origin, region, buffer_row_pitch, buffer_slice_pitch,
                host_row_pitch, host_slice_pitch, ptr, nwait, wait, event);
}

cl_int clEnqueueWriteBufferRect(cl_command_queue q, cl_mem b, cl_bool blocking, const size_t *buffer_origin,
                                const size_t *host_origin, const size_t *region, size_t buffer_row_pitch,
                                size_t buffer_slice_pitch, size_t host_row_pitch, size_t host_slice_pitch,
                                const void *ptr, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return rect(q, 0, b, blocking, buffer_origin, host_origin, region, buffer_row_pitch, buffer_slice_pitch,
                host_row_pitch, host_slice_pitch, (void *)ptr, nwait, wait, event);
}

cl_int clEnqueueCopyBufferRect(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *so, const size_t *dox,
                               const size_t *region, size_t srow, size_t sslice, size_t drow, size_t dslice,
                               cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_buffer(q, src);
    if (rc == CL_SUCCESS) {
        rc = check_buffer(q, dst);
    }
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!so || !dox || !region || !region[0] || !region[1] || !region[2]
        || !rect_side(so, region, &srow, &sslice, src->size) || !rect_side(dox, region, &drow, &dslice, dst->size)) {
        return CL_INVALID_VALUE;
    }
    cl_mem sroot = src->parent ? src->parent : src, droot = dst->parent ? dst->parent : dst;
    if (sroot == droot) {
        if (src == dst && (srow != drow || sslice != dslice)) {
            return CL_INVALID_VALUE;
        }
        size_t s0 = src->origin + so[0] + so[1] * srow + so[2] * sslice;
        size_t d0 = dst->origin + dox[0] + dox[1] * drow + dox[2] * dslice;
        size_t s1 = src->origin + rect_extent(so, region, srow, sslice);
        size_t d1 = dst->origin + rect_extent(dox, region, drow, dslice);
        if (s0 < d1 && d0 < s1) {
            return CL_MEM_COPY_OVERLAP;   /* the spans overlap (conservative: interleaved rows count too) */
        }
    }
    ferry_waits w;
    if ((rc = ferry_waits_begin(q, nwait, wait, &w)) != CL_SUCCESS) {
        return rc;
    }
    uint64_t r13[13] = {region[0], region[1], region[2], so[0], so[1], so[2], srow, sslice,
                        dox[0], dox[1], dox[2], drow, dslice};
    uint64_t a[FERRY_BUFFER_COPY_RECT_ARGC] = {q->o.handle, src->o.handle, dst->o.handle};
    rc = ferry_direct(q, "clEnqueueCopyBufferRect", FERRY_OP_BUFFER_COPY_RECT, a, FERRY_BUFFER_COPY_RECT_ARGC,
                FERRY_ARG_BUFFER_COPY_RECT_EVENT, &w, r13, sizeof r13, CL_FALSE, CL_COMMAND_COPY_BUFFER_RECT, event);
    ferry_waits_end(&w);
    return rc;
}
