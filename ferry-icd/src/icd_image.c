/* icd_image.c: image enqueues. Read and write go to the host as IMAGE_READ/IMAGE_WRITE (directly from heap
 * memory, else staged in pieces of slices or rows). The wire has no image-to-image, image-buffer or fill command,
 * so those are done through guest memory: CopyImage, CopyImageToBuffer and CopyBufferToImage read the source
 * (waiting for it) and write the destination with the application's event; FillImage converts the colour to the
 * format's pixel and writes a region of it. Each completes its read before the call returns (allowed: a
 * command may complete early), and its event is the final write's. */
#include <stdlib.h>
#include <string.h>
#include "enqueue.h"

static cl_int check_image(cl_command_queue q, cl_mem m)
{
    if (!ferry_valid(m, FERRY_MAGIC_MEM) || m->type == CL_MEM_OBJECT_BUFFER) {
        return CL_INVALID_MEM_OBJECT;
    }
    return m->context == q->context ? CL_SUCCESS : CL_INVALID_CONTEXT;
}

/* origin and region inside the image, in the wire's form (2D, 1D and 1D array: origin[2] 0 and region[2] 1; 1D:
 * origin[1] 0 and region[1] 1; a 1D array's layers are origin[1], a 2D array's origin[2], as in OpenCL). */
static int image_range(cl_mem m, const size_t *origin, const size_t *region)
{
    if (!origin || !region || !region[0] || !region[1] || !region[2]) {
        return 0;
    }
    size_t d = m->depth ? m->depth : 1;
    return origin[0] < m->width && region[0] <= m->width - origin[0] && origin[1] < m->height
           && region[1] <= m->height - origin[1] && origin[2] < d && region[2] <= d - origin[2];
}

struct image_ctx {
    int op;
    cl_mem m;
    size_t o[3], r0;
};

static cl_int image_piece(cl_command_queue q, void *ctxp, size_t z, size_t y, size_t slices, size_t rows,
                          int64_t heap, size_t heap_size, uint64_t event, const ferry_waits *w)
{
    struct image_ctx *x = ctxp;
    size_t rb = x->r0 * x->m->pixel_bytes;
    uint64_t rect[13] = {x->r0, rows, slices, x->o[0], x->o[1] + y, x->o[2] + z, 0, 0, 0, 0, 0, rb, rb * rows};
    uint64_t a[6] = {q->o.handle, x->m->o.handle, (uint64_t)heap, heap_size, event, w->n};
    return ferry_q_send(q, x->op == FERRY_OP_IMAGE_READ ? "clEnqueueReadImage" : "clEnqueueWriteImage", x->op, a, 6,
                        w, rect, sizeof rect);
}

cl_int ferry_image_transfer(cl_command_queue q, int reading, cl_mem m, cl_bool blocking, const size_t *origin,
                            const size_t *region, size_t row, size_t slice, void *ptr, ferry_waits *w,
                            cl_command_type type, cl_event *event)
{
    const char *call = reading ? "clEnqueueReadImage" : "clEnqueueWriteImage";
    size_t px = m->pixel_bytes;
    row = row ? row : region[0] * px;
    slice = slice ? slice : row * region[1];
    int op = reading ? FERRY_OP_IMAGE_READ : FERRY_OP_IMAGE_WRITE;
    size_t extent = (region[2] - 1) * slice + (region[1] - 1) * row + region[0] * px;
    int64_t heap = ferry_heap_offset_of(ferry_icd_conn(), ptr, extent);
    if (heap >= 0) {
        uint64_t rect[13] = {region[0], region[1], region[2], origin[0], origin[1], origin[2], 0, 0, 0, 0, 0, row,
                             slice};
        uint64_t ev = event || blocking ? ferry_handle() : 0;
        uint64_t a[6] = {q->o.handle, m->o.handle, (uint64_t)heap, extent, ev, w->n};
        cl_int rc = ferry_q_send(q, call, op, a, 6, w, rect, sizeof rect);
        if (rc == CL_SUCCESS && blocking) {
            rc = ferry_q_wait(q, ev, call, w, NULL);
        }
        if (rc == CL_SUCCESS && event) {
            rc = ferry_event_out(q, type, ev, event);
        } else if (ev) {
            ferry_release_handle(ev);
        }
        return rc;
    }
    struct image_ctx x = {op, m, {origin[0], origin[1], origin[2]}, region[0]};
    return ferry_rect_staged(q, call, reading, region[0] * px, region[1], region[2], ptr, row, slice, image_piece,
                             &x, blocking, w, type, event);
}

cl_int ferry_image_init(cl_command_queue q, cl_mem m, const void *ptr)
{
    size_t origin[3] = {0, 0, 0}, region[3] = {m->width, m->height, m->depth ? m->depth : 1};
    ferry_waits w = {0};
    return ferry_image_transfer(q, 0, m, CL_TRUE, origin, region, m->row_pitch, m->slice_pitch, (void *)ptr, &w,
                                CL_COMMAND_WRITE_IMAGE, NULL);
}

static cl_int rw(cl_command_queue q, int reading, cl_mem m, cl_bool blocking, const size_t *origin,
                 const size_t *region, size_t row, size_t slice, void *ptr, cl_uint nwait, const cl_event *wait,
                 cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_image(q, m);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!ptr || !image_range(m, origin, region) || (row && row < region[0] * m->pixel_bytes)
        || (m->depth && slice && slice < (row ? row : region[0] * m->pixel_bytes) * region[1])) {
        return CL_INVALID_VALUE;
    }
    if (m->type == CL_MEM_OBJECT_IMAGE1D_ARRAY) {
        /* its layers are rows here: the application's slice pitch is their stride (at least its row pitch) */
        if (slice && slice < (row ? row : region[0] * m->pixel_bytes)) {
            return CL_INVALID_VALUE;
        }
        row = slice ? slice : row;
        slice = 0;
    }
    if (ferry_host_access_refused(m, reading)) {
        return CL_INVALID_OPERATION;
    }
    ferry_waits w;
    if ((rc = ferry_waits_begin(q, nwait, wait, &w)) != CL_SUCCESS) {
        return rc;
    }
    rc = ferry_image_transfer(q, reading, m, blocking, origin, region, row, m->depth ? slice : 0, ptr, &w,
                              reading ? CL_COMMAND_READ_IMAGE : CL_COMMAND_WRITE_IMAGE, event);
    ferry_waits_end(&w);
    return rc;
}

cl_int clEnqueueReadImage(cl_command_queue q, cl_mem image, cl_bool blocking, const size_t *origin,
                          const size_t *region, size_t row_pitch, size_t slice_pitch, void *ptr, cl_uint nwait,
                          const cl_event *wait, cl_event *event)
{
    return rw(q, 1, image, blocking, origin, region, row_pitch, slice_pitch, ptr, nwait, wait, event);
}

cl_int clEnqueueWriteImage(cl_command_queue q, cl_mem image, cl_bool blocking, const size_t *origin,
                           const size_t *region, size_t row_pitch, size_t slice_pitch, const void *ptr, cl_uint nwait,
                           const cl_event *wait, cl_event *event)
{
    return rw(q, 0, image, blocking, origin, region, row_pitch, slice_pitch, (void *)ptr, nwait, wait, event);
}

/* Reads into tmp (blocking), then writes from it with the application's event; sets the event's type. */
static cl_int through_guest(cl_command_queue q, void *tmp, cl_int read_rc, cl_int (*write)(void *), void *wctx,
                            cl_command_type type, cl_event *event)
{
    cl_int rc = read_rc == CL_SUCCESS ? write(wctx) : read_rc;
    if (rc == CL_SUCCESS && event) {
        (*event)->command = type;
    }
    free(tmp);
    return rc;
}

struct write_image_args { cl_command_queue q; cl_mem m; const size_t *origin, *region; void *ptr; cl_event *event; };

static cl_int write_image(void *p)
{
    struct write_image_args *a = p;
    return clEnqueueWriteImage(a->q, a->m, CL_FALSE, a->origin, a->region, 0, 0, a->ptr, 0, NULL, a->event);
}

struct write_buffer_args { cl_command_queue q; cl_mem b; size_t offset, size; void *ptr; cl_event *event; };

static cl_int write_buffer(void *p)
{
    struct write_buffer_args *a = p;
    return clEnqueueWriteBuffer(a->q, a->b, CL_FALSE, a->offset, a->size, a->ptr, 0, NULL, a->event);
}

static size_t region_bytes(cl_mem m, const size_t *region)
{
    return region[0] * region[1] * region[2] * m->pixel_bytes;
}

cl_int clEnqueueCopyImage(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *so, const size_t *dox,
                          const size_t *region, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_image(q, src);
    if (rc == CL_SUCCESS) {
        rc = check_image(q, dst);
    }
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (memcmp(&src->format, &dst->format, sizeof src->format)) {
        return CL_IMAGE_FORMAT_MISMATCH;
    }
    if (!image_range(src, so, region) || !image_range(dst, dox, region)) {
        return CL_INVALID_VALUE;
    }
    if (src == dst && so[0] < dox[0] + region[0] && dox[0] < so[0] + region[0] && so[1] < dox[1] + region[1]
        && dox[1] < so[1] + region[1] && so[2] < dox[2] + region[2] && dox[2] < so[2] + region[2]) {
        return CL_MEM_COPY_OVERLAP;
    }
    void *tmp = malloc(region_bytes(src, region));
    if (!tmp) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    cl_int r = clEnqueueReadImage(q, src, CL_TRUE, so, region, 0, 0, tmp, nwait, wait, NULL);
    struct write_image_args a = {q, dst, dox, region, tmp, event};
    return through_guest(q, tmp, r, write_image, &a, CL_COMMAND_COPY_IMAGE, event);
}

cl_int clEnqueueCopyImageToBuffer(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *so, const size_t *region,
                                  size_t dst_offset, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_image(q, src);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!ferry_valid(dst, FERRY_MAGIC_MEM) || dst->type != CL_MEM_OBJECT_BUFFER) {
        return CL_INVALID_MEM_OBJECT;
    }
    if (dst->context != q->context) {
        return CL_INVALID_CONTEXT;
    }
    if (!image_range(src, so, region)) {
        return CL_INVALID_VALUE;
    }
    size_t n = region_bytes(src, region);
    if (dst_offset > dst->size || n > dst->size - dst_offset) {
        return CL_INVALID_VALUE;
    }
    void *tmp = malloc(n);
    if (!tmp) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    cl_int r = clEnqueueReadImage(q, src, CL_TRUE, so, region, 0, 0, tmp, nwait, wait, NULL);
    struct write_buffer_args a = {q, dst, dst_offset, n, tmp, event};
    return through_guest(q, tmp, r, write_buffer, &a, CL_COMMAND_COPY_IMAGE_TO_BUFFER, event);
}

cl_int clEnqueueCopyBufferToImage(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_offset,
                                  const size_t *dox, const size_t *region, cl_uint nwait, const cl_event *wait,
                                  cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_image(q, dst);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!ferry_valid(src, FERRY_MAGIC_MEM) || src->type != CL_MEM_OBJECT_BUFFER) {
        return CL_INVALID_MEM_OBJECT;
    }
    if (src->context != q->context) {
        return CL_INVALID_CONTEXT;
    }
    if (!image_range(dst, dox, region)) {
        return CL_INVALID_VALUE;
    }
    size_t n = region_bytes(dst, region);
    if (src_offset > src->size || n > src->size - src_offset) {
        return CL_INVALID_VALUE;
    }
    void *tmp = malloc(n);
    if (!tmp) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    cl_int r = clEnqueueReadBuffer(q, src, CL_TRUE, src_offset, n, tmp, nwait, wait, NULL);
    struct write_image_args a = {q, dst, dox, region, tmp, event};
    return through_guest(q, tmp, r, write_image, &a, CL_COMMAND_COPY_BUFFER_TO_IMAGE, event);
}

/* ---- fill ---- */

static uint16_t to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, m = x & 0x7fffff;
    if (e == 0xff) {
        return (uint16_t)(sign | 0x7c00 | (m ? 0x200 : 0));
    }
    int he = (int)e - 127 + 15;
    if (he >= 31) {
        return (uint16_t)(sign | 0x7c00);
    }
    if (he <= 0) {
        if (he < -10) {
            return (uint16_t)sign;
        }
        m |= 0x800000;
        uint32_t shift = (uint32_t)(14 - he);
        uint32_t v = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        v += rest > half || (rest == half && (v & 1));
        return (uint16_t)(sign | v);
    }
    uint32_t v = ((uint32_t)he << 10) | (m >> 13), rest = m & 0x1fff;
    v += rest > 0x1000 || (rest == 0x1000 && (v & 1));
    return (uint16_t)(sign | v);
}

static long round_f(float v)
{
    return v >= 0 ? (long)(v + 0.5f) : -(long)(-v + 0.5f);
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The fill colour as one pixel of format f; 0 if the format is not one Ferry carries. */
static size_t pack_color(const cl_image_format *f, const void *color, uint8_t *out)
{
    int idx[4], n;
    switch (f->image_channel_order) {
    case CL_R: n = 1; idx[0] = 0; break;
    case CL_RG: n = 2; idx[0] = 0; idx[1] = 1; break;
    case CL_RGBA: n = 4; idx[0] = 0; idx[1] = 1; idx[2] = 2; idx[3] = 3; break;
    case CL_BGRA: n = 4; idx[0] = 2; idx[1] = 1; idx[2] = 0; idx[3] = 3; break;
    default: return 0;
    }
    const float *fc = color;
    const int32_t *ic = color;
    const uint32_t *uc = color;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        int c = idx[i];
        switch (f->image_channel_data_type) {
        case CL_UNORM_INT8: out[at++] = (uint8_t)round_f(clampf(fc[c], 0, 1) * 255.0f); break;
        case CL_SNORM_INT8: out[at++] = (uint8_t)(int8_t)round_f(clampf(fc[c], -1, 1) * 127.0f); break;
        case CL_SIGNED_INT8: out[at++] = (uint8_t)(int8_t)(ic[c] < -128 ? -128 : ic[c] > 127 ? 127 : ic[c]); break;
        case CL_UNSIGNED_INT8: out[at++] = (uint8_t)(uc[c] > 255 ? 255 : uc[c]); break;
        case CL_UNORM_INT16: case CL_SNORM_INT16: case CL_SIGNED_INT16: case CL_UNSIGNED_INT16: case CL_HALF_FLOAT: {
            uint16_t v;
            switch (f->image_channel_data_type) {
            case CL_UNORM_INT16: v = (uint16_t)round_f(clampf(fc[c], 0, 1) * 65535.0f); break;
            case CL_SNORM_INT16: v = (uint16_t)(int16_t)round_f(clampf(fc[c], -1, 1) * 32767.0f); break;
            case CL_SIGNED_INT16: v = (uint16_t)(int16_t)(ic[c] < -32768 ? -32768 : ic[c] > 32767 ? 32767 : ic[c]);
                break;
            case CL_UNSIGNED_INT16: v = (uint16_t)(uc[c] > 65535 ? 65535 : uc[c]); break;
            default: v = to_half(fc[c]); break;
            }
            memcpy(out + at, &v, 2);
            at += 2;
            break;
        }
        case CL_SIGNED_INT32: case CL_UNSIGNED_INT32: case CL_FLOAT:
            memcpy(out + at, (const uint8_t *)color + 4 * c, 4);
            at += 4;
            break;
        default: return 0;
        }
    }
    return at;
}

cl_int clEnqueueFillImage(cl_command_queue q, cl_mem m, const void *color, const size_t *origin,
                          const size_t *region, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ferry_valid(q, FERRY_MAGIC_QUEUE)) {
        return CL_INVALID_COMMAND_QUEUE;
    }
    cl_int rc = check_image(q, m);
    if (rc != CL_SUCCESS) {
        return rc;
    }
    if (!color || !image_range(m, origin, region)) {
        return CL_INVALID_VALUE;
    }
    uint8_t pixel[16];
    size_t px = pack_color(&m->format, color, pixel);
    if (px != m->pixel_bytes) {
        return CL_INVALID_VALUE;
    }
    size_t count = region[0] * region[1] * region[2];
    uint8_t *tmp = malloc(count * px);
    if (!tmp) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    for (size_t i = 0; i < count; i++) {
        memcpy(tmp + i * px, pixel, px);
    }
    rc = clEnqueueWriteImage(q, m, CL_FALSE, origin, region, 0, 0, tmp, nwait, wait, event);
    if (rc == CL_SUCCESS && event) {
        (*event)->command = CL_COMMAND_FILL_IMAGE;
    }
    free(tmp);   /* staged writes copied it into the heap before returning */
    return rc;
}
