/* memory_test: buffers, sub-buffers, rect transfers, fill, copy, map/unmap (ALLOC_HOST_PTR, USE_HOST_PTR, plain),
 * images where the device has them (2D, 3D, 1D, 1D and 2D arrays), and the argument errors, through the real loader against a live host.
 * Every transfer is checked byte by byte against a reference kept here. Includes a 64 MiB write and read
 * through ordinary memory (the dev host's lanes have 16 MiB heaps). */
#include "cltest.h"

static cl_command_queue q;

static cl_mem buffer(cl_mem_flags flags, size_t size, void *host)
{
    cl_int err;
    cl_mem b = clCreateBuffer(test_context, flags, size, host, &err);
    CHECK(b && err == CL_SUCCESS, "clCreateBuffer(flags %#llx, %zu): %d", (unsigned long long)flags, size, err);
    return b;
}

/* Reads all of b (blocking) and compares it with ref. */
static void expect(cl_mem b, const uint8_t *ref, size_t n, const char *what)
{
    uint8_t *got = malloc(n);
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, n, got, 0, NULL, NULL));
    long d = test_diff(got, ref, n);
    CHECK(d < 0, "%s: byte %ld is %u, expected %u", what, d, d < 0 ? 0 : got[d], d < 0 ? 0 : ref[d]);
    free(got);
}

static void odd_transfers(void)
{
    size_t n = (1 << 20) + 13;
    uint8_t *ref = malloc(n), *src = malloc(n), *dst = malloc(n);
    test_fill(ref, n, 1);
    cl_mem b = buffer(CL_MEM_READ_WRITE, n, NULL);
    CHECK_CL(clEnqueueWriteBuffer(q, b, CL_TRUE, 0, n, ref, 0, NULL, NULL));
    expect(b, ref, n, "blocking write, whole buffer");
    /* odd offsets and sizes, blocking and not */
    const size_t offs[] = {1, 7, 4093, 65537, 300001};
    const size_t lens[] = {1, 3, 4097, 100003, 555555};
    for (int i = 0; i < 5; i++) {
        test_fill(src, lens[i], 10 + i);
        memcpy(ref + offs[i], src, lens[i]);
        CHECK_CL(clEnqueueWriteBuffer(q, b, i % 2, offs[i], lens[i], src + 0, 0, NULL, NULL));
        if (i % 2 == 0) {
            CHECK_CL(clFinish(q));   /* a non-blocking write's source may be reused only once it completes... */
        }
    }
    CHECK_CL(clFinish(q));
    expect(b, ref, n, "odd writes");
    for (int i = 0; i < 5; i++) {
        memset(dst, 0xee, n);
        CHECK_CL(clEnqueueReadBuffer(q, b, i % 2, offs[i] + 1, lens[i], dst, 0, NULL, NULL));
        if (!(i % 2)) {
            CHECK_CL(clFinish(q));   /* non-blocking read into ordinary memory: valid after finish */
        }
        long d = test_diff(dst, ref + offs[i] + 1, lens[i]);
        CHECK(d < 0, "odd read %d (offset %zu, %zu bytes): byte %ld differs", i, offs[i] + 1, lens[i], d);
        CHECK(dst[lens[i]] == 0xee, "odd read %d wrote past its end", i);
    }
    /* non-blocking read with an event: valid after clWaitForEvents */
    cl_event e;
    memset(dst, 0, n);
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_FALSE, 5, n - 5, dst, 0, NULL, &e));
    CHECK_CL(clWaitForEvents(1, &e));
    CHECK(test_diff(dst, ref + 5, n - 5) < 0, "non-blocking read then clWaitForEvents");
    cl_int st;
    CHECK_CL(clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL));
    CHECK(st == CL_COMPLETE, "read event status %d", st);
    clReleaseEvent(e);
    /* a later blocking call of the in-order queue completes an earlier non-blocking read */
    memset(dst, 0, n);
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_FALSE, 0, 1000, dst, 0, NULL, NULL));
    uint8_t one;
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, 1, &one, 0, NULL, NULL));
    CHECK(test_diff(dst, ref, 1000) < 0, "non-blocking read completed by a later blocking read");
    /* errors */
    CHECK_ERR(clEnqueueWriteBuffer(q, b, CL_TRUE, n - 3, 4, src, 0, NULL, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, 0, dst, 0, NULL, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, 4, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clEnqueueReadBuffer(q, (cl_mem)q, CL_TRUE, 0, 4, dst, 0, NULL, NULL), CL_INVALID_MEM_OBJECT);
    CHECK_ERR(clEnqueueReadBuffer(NULL, b, CL_TRUE, 0, 4, dst, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
    CHECK_ERR(clEnqueueReadBuffer(q, b, CL_TRUE, 0, 4, dst, 1, NULL, NULL), CL_INVALID_EVENT_WAIT_LIST);
    cl_int err;
    CHECK(!clCreateBuffer(test_context, CL_MEM_READ_WRITE, 0, NULL, &err) && err == CL_INVALID_BUFFER_SIZE, "size 0");
    CHECK(!clCreateBuffer(test_context, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 4, NULL, &err) && err == CL_INVALID_VALUE,
          "two access flags");
    CHECK(!clCreateBuffer(test_context, CL_MEM_USE_HOST_PTR, 4, NULL, &err) && err == CL_INVALID_HOST_PTR, "no ptr");
    CHECK(!clCreateBuffer(test_context, 0, 4, src, &err) && err == CL_INVALID_HOST_PTR, "ptr without a flag");
    cl_mem na = buffer(CL_MEM_HOST_NO_ACCESS, 64, NULL);
    CHECK_ERR(clEnqueueReadBuffer(q, na, CL_TRUE, 0, 4, dst, 0, NULL, NULL), CL_INVALID_OPERATION);
    clReleaseMemObject(na);
    clReleaseMemObject(b);
    free(ref);
    free(src);
    free(dst);
}

static void big_transfers(void)
{
    size_t n = 64u << 20;
    uint8_t *ref = malloc(n), *dst = malloc(n);
    test_fill(ref, n, 77);
    cl_mem b = buffer(CL_MEM_READ_WRITE, n, NULL);
    CHECK_CL(clEnqueueWriteBuffer(q, b, CL_TRUE, 0, n, ref, 0, NULL, NULL));
    memset(dst, 0, n);
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_TRUE, 0, n, dst, 0, NULL, NULL));
    long d = test_diff(dst, ref, n);
    CHECK(d < 0, "64 MiB blocking write/read: byte %ld differs", d);
    /* non-blocking both ways, then finish */
    test_fill(ref, n, 78);
    CHECK_CL(clEnqueueWriteBuffer(q, b, CL_FALSE, 0, n, ref, 0, NULL, NULL));
    memset(dst, 0, n);
    CHECK_CL(clEnqueueReadBuffer(q, b, CL_FALSE, 0, n, dst, 0, NULL, NULL));
    CHECK_CL(clFinish(q));
    d = test_diff(dst, ref, n);
    CHECK(d < 0, "64 MiB non-blocking write/read + finish: byte %ld differs", d);
    /* COPY_HOST_PTR of 64 MiB (staged through the context's internal queue) */
    cl_mem c = buffer(CL_MEM_COPY_HOST_PTR, n, ref);
    memset(dst, 0, n);
    CHECK_CL(clEnqueueReadBuffer(q, c, CL_TRUE, 0, n, dst, 0, NULL, NULL));
    CHECK(test_diff(dst, ref, n) < 0, "64 MiB CL_MEM_COPY_HOST_PTR");
    clReleaseMemObject(c);
    clReleaseMemObject(b);
    free(ref);
    free(dst);
}

static void run_add(cl_mem b, size_t words, cl_uint v)
{
    static cl_kernel k;
    if (!k) {
        k = test_kernel("add");
    }
    CHECK_CL(clSetKernelArg(k, 0, sizeof b, &b));
    CHECK_CL(clSetKernelArg(k, 1, sizeof v, &v));
    CHECK_CL(clEnqueueNDRangeKernel(q, k, 1, NULL, &words, NULL, 0, NULL, NULL));
}

static void maps(void)
{
    size_t words = 4096, n = words * 4;
    cl_int err;
    /* ALLOC_HOST_PTR: zero-copy map, a kernel between maps */
    cl_mem a = buffer(CL_MEM_ALLOC_HOST_PTR, n, NULL);
    uint32_t *p = clEnqueueMapBuffer(q, a, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, n, 0, NULL, NULL, &err);
    CHECK(p && err == CL_SUCCESS, "map ALLOC_HOST_PTR: %d", err);
    for (size_t i = 0; p && i < words; i++) {
        p[i] = (uint32_t)i * 3;
    }
    cl_uint count = 9;
    CHECK_CL(clGetMemObjectInfo(a, CL_MEM_MAP_COUNT, sizeof count, &count, NULL));
    CHECK(count == 1, "map count %u", count);
    CHECK_CL(clEnqueueUnmapMemObject(q, a, p, 0, NULL, NULL));
    run_add(a, words, 5);
    uint32_t *r = clEnqueueMapBuffer(q, a, CL_TRUE, CL_MAP_READ, 0, n, 0, NULL, NULL, &err);
    CHECK(r && err == CL_SUCCESS, "map for read: %d", err);
    int bad = 0;
    for (size_t i = 0; r && i < words; i++) {
        bad += r[i] != (uint32_t)i * 3 + 5;
    }
    CHECK(r && !bad, "ALLOC_HOST_PTR after a kernel: %d words wrong", bad);
    /* the mapped pointer is heap memory: a write from it takes the direct path */
    cl_mem other = buffer(CL_MEM_READ_WRITE, n, NULL);
    CHECK_CL(clEnqueueWriteBuffer(q, other, CL_TRUE, 0, n, r, 0, NULL, NULL));
    expect(other, (uint8_t *)r, n, "write from mapped heap memory");
    /* a read into mapped heap memory (the direct path) */
    uint8_t *ref = malloc(n);
    test_fill(ref, n, 5);
    CHECK_CL(clEnqueueWriteBuffer(q, other, CL_TRUE, 0, n, ref, 0, NULL, NULL));
    cl_mem a2 = buffer(CL_MEM_ALLOC_HOST_PTR, n, NULL);
    uint8_t *h = clEnqueueMapBuffer(q, a2, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n, 0, NULL, NULL, &err);
    CHECK_CL(clEnqueueReadBuffer(q, other, CL_TRUE, 0, n, h, 0, NULL, NULL));
    CHECK(test_diff(h, ref, n) < 0, "read into mapped heap memory");
    CHECK_CL(clEnqueueUnmapMemObject(q, a2, h, 0, NULL, NULL));
    CHECK_CL(clEnqueueUnmapMemObject(q, a, r, 0, NULL, NULL));
    CHECK_ERR(clEnqueueUnmapMemObject(q, a, r, 0, NULL, NULL), CL_INVALID_VALUE);
    CHECK_CL(clFinish(q));
    clReleaseMemObject(a2);

    /* USE_HOST_PTR in ordinary memory: the map is host_ptr itself, with the device's contents */
    uint32_t *host = malloc(n);
    for (size_t i = 0; i < words; i++) {
        host[i] = (uint32_t)i;
    }
    cl_mem u = buffer(CL_MEM_USE_HOST_PTR, n, host);
    run_add(u, words, 100);
    uint32_t *m = clEnqueueMapBuffer(q, u, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 16, n - 16, 0, NULL, NULL, &err);
    CHECK(m == host + 4, "USE_HOST_PTR map returned %p, expected host_ptr + 16 (%p)", (void *)m, (void *)(host + 4));
    bad = 0;
    for (size_t i = 4; m && i < words; i++) {
        bad += host[i] != (uint32_t)i + 100;
    }
    CHECK(!bad, "USE_HOST_PTR map: %d words wrong", bad);
    for (size_t i = 4; m && i < words; i++) {
        host[i] = 7;
    }
    CHECK_CL(clEnqueueUnmapMemObject(q, u, m, 0, NULL, NULL));
    run_add(u, words, 1);
    uint32_t *check = malloc(n);
    CHECK_CL(clEnqueueReadBuffer(q, u, CL_TRUE, 0, n, check, 0, NULL, NULL));
    bad = 0;
    for (size_t i = 0; i < words; i++) {
        bad += check[i] != (i < 4 ? (uint32_t)i + 101 : 8);
    }
    CHECK(!bad, "USE_HOST_PTR after unmap and a kernel: %d words wrong", bad);
    void *hp = NULL;
    CHECK_CL(clGetMemObjectInfo(u, CL_MEM_HOST_PTR, sizeof hp, &hp, NULL));
    CHECK(hp == host, "CL_MEM_HOST_PTR");

    /* a plain buffer: map through a heap block, non-blocking with an event */
    cl_event ev;
    uint8_t *pm = clEnqueueMapBuffer(q, other, CL_FALSE, CL_MAP_READ, 3, n - 3, 0, NULL, &ev, &err);
    CHECK(pm && err == CL_SUCCESS, "map plain: %d", err);
    CHECK_CL(clWaitForEvents(1, &ev));
    cl_command_type type = 0;
    CHECK_CL(clGetEventInfo(ev, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL));
    CHECK(type == CL_COMMAND_MAP_BUFFER, "map event type %#x", type);
    clReleaseEvent(ev);
    CHECK(pm && test_diff(pm, ref + 3, n - 3) < 0, "plain map contents");
    CHECK_CL(clEnqueueUnmapMemObject(q, other, pm, 0, NULL, NULL));
    pm = clEnqueueMapBuffer(q, other, CL_TRUE, CL_MAP_WRITE, 100, 50, 0, NULL, NULL, &err);
    memset(pm, 0xab, 50);
    memset(ref + 100, 0xab, 50);
    CHECK_CL(clEnqueueUnmapMemObject(q, other, pm, 0, NULL, &ev));
    CHECK_CL(clWaitForEvents(1, &ev));
    clReleaseEvent(ev);
    expect(other, ref, n, "plain map for writing");
    /* map errors */
    CHECK(!clEnqueueMapBuffer(q, other, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE_INVALIDATE_REGION, 0, 4, 0, NULL, NULL,
                              &err) && err == CL_INVALID_VALUE, "map flags: %d", err);
    CHECK(!clEnqueueMapBuffer(q, other, CL_TRUE, CL_MAP_READ, n, 4, 0, NULL, NULL, &err) && err == CL_INVALID_VALUE,
          "map range: %d", err);
    cl_mem wo = buffer(CL_MEM_HOST_WRITE_ONLY, 64, NULL);
    CHECK(!clEnqueueMapBuffer(q, wo, CL_TRUE, CL_MAP_READ, 0, 4, 0, NULL, NULL, &err) && err == CL_INVALID_OPERATION,
          "map for reading a host-write-only buffer: %d", err);
    clReleaseMemObject(wo);
    CHECK_CL(clFinish(q));
    clReleaseMemObject(u);
    clReleaseMemObject(other);
    clReleaseMemObject(a);
    free(host);
    free(check);
    free(ref);
}

/* An ALLOC_HOST_PTR buffer released while a kernel still writes it: its heap memory is not handed to the next
 * buffer before the kernel is done. */
static void release_in_flight(void)
{
    size_t words = 1 << 16, n = words * 4;
    cl_int err;
    cl_kernel spin = test_kernel("spin");
    cl_mem b1 = buffer(CL_MEM_ALLOC_HOST_PTR, n, NULL);
    cl_uint iters = 500;   /* some milliseconds: well under the host's watchdog */
    CHECK_CL(clSetKernelArg(spin, 0, sizeof b1, &b1));
    CHECK_CL(clSetKernelArg(spin, 1, sizeof iters, &iters));
    cl_command_queue q2 = clCreateCommandQueue(test_context, test_device, 0, &err);   /* another queue */
    CHECK_CL(clEnqueueNDRangeKernel(q2, spin, 1, NULL, &words, NULL, 0, NULL, NULL));
    CHECK_CL(clFlush(q2));
    CHECK_CL(clReleaseMemObject(b1));
    cl_mem b2 = buffer(CL_MEM_ALLOC_HOST_PTR, n, NULL);
    uint8_t *m = clEnqueueMapBuffer(q, b2, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, n, 0, NULL, NULL, &err);
    CHECK(m != NULL, "map: %d", err);
    if (m) {
        memset(m, 0x3c, n);
        CHECK_CL(clEnqueueUnmapMemObject(q, b2, m, 0, NULL, NULL));
    }
    CHECK_CL(clFinish(q));
    uint8_t *want = malloc(n);
    memset(want, 0x3c, n);
    expect(b2, want, n, "a new ALLOC_HOST_PTR buffer after releasing one a kernel was writing");
    CHECK_CL(clFinish(q2));
    clReleaseCommandQueue(q2);
    clReleaseMemObject(b2);
    clReleaseKernel(spin);
    free(want);
}

static int destructor_calls;

static void CL_CALLBACK on_destroy(cl_mem m, void *data)
{
    destructor_calls += (int)(intptr_t)data;
}

static void objects(void)
{
    cl_int err;
    cl_mem b = buffer(CL_MEM_READ_ONLY, 100, NULL);
    CHECK_CL(clSetMemObjectDestructorCallback(b, on_destroy, (void *)1));
    CHECK_CL(clSetMemObjectDestructorCallback(b, on_destroy, (void *)10));
    CHECK_ERR(clSetMemObjectDestructorCallback(b, NULL, NULL), CL_INVALID_VALUE);
    CHECK_CL(clRetainMemObject(b));
    CHECK_CL(clReleaseMemObject(b));
    CHECK(destructor_calls == 0, "destructor ran early");
    cl_mem_flags f = 0;
    size_t size = 0;
    cl_mem_object_type t = 0;
    CHECK_CL(clGetMemObjectInfo(b, CL_MEM_FLAGS, sizeof f, &f, NULL));
    CHECK_CL(clGetMemObjectInfo(b, CL_MEM_SIZE, sizeof size, &size, NULL));
    CHECK_CL(clGetMemObjectInfo(b, CL_MEM_TYPE, sizeof t, &t, NULL));
    CHECK(f == CL_MEM_READ_ONLY && size == 100 && t == CL_MEM_OBJECT_BUFFER, "buffer info");
    CHECK_ERR(clGetMemObjectInfo(b, CL_MEM_SIZE, 1, &size, NULL), CL_INVALID_VALUE);
    CHECK_CL(clReleaseMemObject(b));
    CHECK(destructor_calls == 11, "destructor callbacks: %d", destructor_calls);
    cl_mem_properties none[] = {0};
    cl_mem p = clCreateBufferWithProperties(test_context, none, CL_MEM_READ_WRITE, 64, NULL, &err);
    CHECK(p && err == CL_SUCCESS, "clCreateBufferWithProperties: %d", err);
    clReleaseMemObject(p);
    cl_mem_properties bad[] = {0x5555, 1, 0};
    CHECK(!clCreateBufferWithProperties(test_context, bad, CL_MEM_READ_WRITE, 64, NULL, &err)
          && err == CL_INVALID_PROPERTY, "unknown memory property: %d", err);
    cl_bool images = CL_FALSE;
    clGetDeviceInfo(test_device, CL_DEVICE_IMAGE_SUPPORT, sizeof images, &images, NULL);
    if (images) {
        cl_sampler_properties sp[] = {CL_SAMPLER_NORMALIZED_COORDS, CL_FALSE, CL_SAMPLER_ADDRESSING_MODE,
                                      CL_ADDRESS_CLAMP_TO_EDGE, 0};
        cl_sampler s = clCreateSamplerWithProperties(test_context, sp, &err);
        CHECK(s && err == CL_SUCCESS, "clCreateSamplerWithProperties: %d", err);
        cl_addressing_mode am = 0;
        cl_bool norm = CL_TRUE;
        if (s) {
            CHECK_CL(clGetSamplerInfo(s, CL_SAMPLER_ADDRESSING_MODE, sizeof am, &am, NULL));
            CHECK_CL(clGetSamplerInfo(s, CL_SAMPLER_NORMALIZED_COORDS, sizeof norm, &norm, NULL));
            CHECK(am == CL_ADDRESS_CLAMP_TO_EDGE && norm == CL_FALSE, "sampler properties");
            clReleaseSampler(s);
        }
        CHECK(!clCreateSampler(test_context, CL_TRUE, 0x9999, CL_FILTER_NEAREST, &err) && err == CL_INVALID_VALUE,
              "bad addressing mode: %d", err);
    }
    CHECK(clSVMAlloc(test_context, CL_MEM_READ_WRITE, 64, 0) == NULL, "SVM");
    CHECK(!clCreatePipe(test_context, 0, 4, 4, NULL, &err) && err == CL_INVALID_OPERATION, "pipe: %d", err);
}

static void sub_buffers(void)
{
    cl_uint align_bits = 0;
    clGetDeviceInfo(test_device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL);
    size_t align = align_bits >= 8 ? align_bits / 8 : 128;
    size_t n = align * 8;
    uint8_t *ref = malloc(n), *src = malloc(n);
    test_fill(ref, n, 3);
    cl_mem parent = buffer(CL_MEM_READ_WRITE, n, NULL);
    CHECK_CL(clEnqueueWriteBuffer(q, parent, CL_TRUE, 0, n, ref, 0, NULL, NULL));
    cl_buffer_region region = {align * 2, align * 3 + 5};
    cl_int err;
    cl_mem sub = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    CHECK(sub && err == CL_SUCCESS, "clCreateSubBuffer: %d", err);
    expect(sub, ref + region.origin, region.size, "sub-buffer contents");
    test_fill(src, region.size, 4);
    CHECK_CL(clEnqueueWriteBuffer(q, sub, CL_TRUE, 0, region.size, src, 0, NULL, NULL));
    memcpy(ref + region.origin, src, region.size);
    expect(parent, ref, n, "parent after a write through its sub-buffer");
    size_t off = 0;
    cl_mem assoc = NULL;
    CHECK_CL(clGetMemObjectInfo(sub, CL_MEM_OFFSET, sizeof off, &off, NULL));
    CHECK_CL(clGetMemObjectInfo(sub, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof assoc, &assoc, NULL));
    CHECK(off == region.origin && assoc == parent, "sub-buffer info");
    cl_buffer_region mis = {1, 16}, out = {n - 4, 8};
    CHECK(!clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &mis, &err)
          && err == CL_MISALIGNED_SUB_BUFFER_OFFSET, "misaligned sub-buffer: %d", err);
    CHECK(!clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &out, &err) && err == CL_INVALID_VALUE,
          "sub-buffer out of range: %d", err);
    CHECK(!clCreateSubBuffer(sub, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err) && err == CL_INVALID_MEM_OBJECT,
          "sub-buffer of a sub-buffer: %d", err);
    /* copy between parent and sub-buffer ranges that overlap: refused */
    CHECK_ERR(clEnqueueCopyBuffer(q, parent, sub, region.origin, 0, 16, 0, NULL, NULL), CL_MEM_COPY_OVERLAP);
    /* release the parent first: the sub-buffer still works */
    clReleaseMemObject(parent);
    expect(sub, ref + region.origin, region.size, "sub-buffer after its parent's release");
    clReleaseMemObject(sub);
    free(ref);
    free(src);
}

static void fill_copy(void)
{
    size_t n = 100000;
    uint8_t *ref = malloc(n);
    test_fill(ref, n, 9);
    cl_mem a = buffer(CL_MEM_COPY_HOST_PTR, n, ref), b = buffer(CL_MEM_READ_WRITE, n, NULL);
    const size_t sizes[] = {1, 2, 4, 16, 128};
    size_t at = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t pat[128];
        test_fill(pat, sizes[i], 50 + i);
        at = (at + sizes[i] - 1) / sizes[i] * sizes[i];
        size_t len = sizes[i] * (37 + i);
        CHECK_CL(clEnqueueFillBuffer(q, a, pat, sizes[i], at, len, 0, NULL, NULL));
        for (size_t j = 0; j < len; j++) {
            ref[at + j] = pat[j % sizes[i]];
        }
        at += len + 3;
    }
    expect(a, ref, n, "fills");
    CHECK_ERR(clEnqueueFillBuffer(q, a, ref, 3, 0, 3, 0, NULL, NULL), CL_INVALID_VALUE);
    CHECK_ERR(clEnqueueFillBuffer(q, a, ref, 4, 2, 4, 0, NULL, NULL), CL_INVALID_VALUE);
    uint8_t *refb = calloc(1, n);
    CHECK_CL(clEnqueueFillBuffer(q, b, refb, 1, 0, n, 0, NULL, NULL));
    CHECK_CL(clEnqueueCopyBuffer(q, a, b, 11, 3001, 55555, 0, NULL, NULL));
    memcpy(refb + 3001, ref + 11, 55555);
    expect(b, refb, n, "copy");
    CHECK_ERR(clEnqueueCopyBuffer(q, a, a, 0, 10, 100, 0, NULL, NULL), CL_MEM_COPY_OVERLAP);
    CHECK_ERR(clEnqueueCopyBuffer(q, a, b, n - 10, 0, 11, 0, NULL, NULL), CL_INVALID_VALUE);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    free(ref);
    free(refb);
}

static void rects(void)
{
    /* buffer: 3 slices of 9 rows of 40 bytes (row pitch 40, slice pitch 400); host: pitches 64 and 1024 */
    size_t bsize = 1200, hsize = 4096;
    uint8_t *bref = malloc(bsize), *host = malloc(hsize), *back = malloc(hsize);
    test_fill(bref, bsize, 21);
    test_fill(host, hsize, 22);
    cl_mem b = buffer(CL_MEM_COPY_HOST_PTR, bsize, bref);
    size_t bo[3] = {3, 1, 1}, ho[3] = {5, 2, 0}, region[3] = {17, 6, 2};
    CHECK_CL(clEnqueueWriteBufferRect(q, b, CL_TRUE, bo, ho, region, 40, 400, 64, 1024, host, 0, NULL, NULL));
    for (size_t z = 0; z < region[2]; z++) {
        for (size_t y = 0; y < region[1]; y++) {
            memcpy(bref + (bo[2] + z) * 400 + (bo[1] + y) * 40 + bo[0], host + (ho[2] + z) * 1024 + (ho[1] + y) * 64 + ho[0],
                   region[0]);
        }
    }
    expect(b, bref, bsize, "write rect");
    memset(back, 0x5a, hsize);
    uint8_t *want = malloc(hsize);
    memset(want, 0x5a, hsize);
    size_t bo2[3] = {0, 2, 0}, ho2[3] = {1, 1, 1}, r2[3] = {40, 7, 3};
    CHECK_CL(clEnqueueReadBufferRect(q, b, CL_FALSE, bo2, ho2, r2, 0, 0, 48, 480, back, 0, NULL, NULL));
    CHECK_CL(clFinish(q));
    for (size_t z = 0; z < r2[2]; z++) {
        for (size_t y = 0; y < r2[1]; y++) {
            memcpy(want + (ho2[2] + z) * 480 + (ho2[1] + y) * 48 + ho2[0], bref + (bo2[2] + z) * 280 + (bo2[1] + y) * 40,
                   r2[0]);
        }
    }
    /* the buffer side uses the default pitches: row 40, slice 40 x 7 = 280 */
    CHECK(test_diff(back, want, hsize) < 0, "read rect (byte %ld)", test_diff(back, want, hsize));
    /* copy rect within one buffer, disjoint */
    cl_mem c = buffer(CL_MEM_READ_WRITE, bsize, NULL);
    uint8_t *cref = calloc(1, bsize);
    CHECK_CL(clEnqueueFillBuffer(q, c, cref, 1, 0, bsize, 0, NULL, NULL));
    size_t so[3] = {2, 0, 0}, dox[3] = {10, 3, 1}, r3[3] = {8, 4, 2};
    CHECK_CL(clEnqueueCopyBufferRect(q, b, c, so, dox, r3, 40, 400, 30, 300, 0, NULL, NULL));
    for (size_t z = 0; z < r3[2]; z++) {
        for (size_t y = 0; y < r3[1]; y++) {
            memcpy(cref + (dox[2] + z) * 300 + (dox[1] + y) * 30 + dox[0], bref + (so[2] + z) * 400 + (so[1] + y) * 40 + so[0],
                   r3[0]);
        }
    }
    expect(c, cref, bsize, "copy rect");
    size_t big[3] = {41, 1, 1};
    CHECK_ERR(clEnqueueReadBufferRect(q, b, CL_TRUE, bo2, ho2, big, 40, 0, 0, 0, back, 0, NULL, NULL), CL_INVALID_VALUE);
    size_t far[3] = {0, 0, 3};
    CHECK_ERR(clEnqueueReadBufferRect(q, b, CL_TRUE, far, ho2, region, 40, 400, 0, 0, back, 0, NULL, NULL),
              CL_INVALID_VALUE);
    clReleaseMemObject(b);
    clReleaseMemObject(c);
    free(bref);
    free(host);
    free(back);
    free(want);
    free(cref);
}

static void images(void)
{
    cl_bool support = CL_FALSE;
    clGetDeviceInfo(test_device, CL_DEVICE_IMAGE_SUPPORT, sizeof support, &support, NULL);
    cl_image_format fmt = {CL_RGBA, CL_UNORM_INT8};
    cl_uint nf = 0;
    CHECK_CL(clGetSupportedImageFormats(test_context, CL_MEM_READ_WRITE, CL_MEM_OBJECT_IMAGE2D, 0, NULL, &nf));
    cl_image_desc d = {0};
    d.image_type = CL_MEM_OBJECT_IMAGE2D;
    d.image_width = 37;
    d.image_height = 23;
    cl_int err;
    if (!support) {
        CHECK(nf == 0, "no image support but %u formats", nf);
        CHECK(!clCreateImage(test_context, CL_MEM_READ_WRITE, &fmt, &d, NULL, &err) && err == CL_INVALID_OPERATION,
              "image without image support: %d", err);
        printf("images: the device has none (checked CL_INVALID_OPERATION)\n");
        return;
    }
    CHECK(nf > 0, "image formats: %u", nf);
    cl_image_format *all = malloc(sizeof *all * (nf ? nf : 1));
    CHECK_CL(clGetSupportedImageFormats(test_context, CL_MEM_READ_WRITE, CL_MEM_OBJECT_IMAGE2D, nf, all, NULL));
    int found = 0;
    for (cl_uint i = 0; i < nf; i++) {
        found |= all[i].image_channel_order == CL_RGBA && all[i].image_channel_data_type == CL_UNORM_INT8;
    }
    CHECK(found, "RGBA UNORM_INT8 among the %u formats", nf);
    free(all);
    size_t px = 4, n = 37 * 23 * px;
    uint8_t *ref = malloc(n), *got = malloc(n);
    test_fill(ref, n, 31);
    cl_mem img = clCreateImage(test_context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &d, ref, &err);
    CHECK(img && err == CL_SUCCESS, "clCreateImage: %d", err);
    size_t o[3] = {0, 0, 0}, r[3] = {37, 23, 1};
    CHECK_CL(clEnqueueReadImage(q, img, CL_TRUE, o, r, 0, 0, got, 0, NULL, NULL));
    CHECK(test_diff(got, ref, n) < 0, "image COPY_HOST_PTR then read");
    /* a sub-rectangle write with a host row pitch */
    uint8_t src[10 * 5 * 4 + 64];
    test_fill(src, sizeof src, 32);
    size_t o2[3] = {3, 4, 0}, r2[3] = {7, 5, 1};
    CHECK_CL(clEnqueueWriteImage(q, img, CL_TRUE, o2, r2, 40, 0, src, 0, NULL, NULL));
    for (size_t y = 0; y < 5; y++) {
        memcpy(ref + ((4 + y) * 37 + 3) * px, src + y * 40, 7 * px);
    }
    CHECK_CL(clEnqueueReadImage(q, img, CL_TRUE, o, r, 0, 0, got, 0, NULL, NULL));
    CHECK(test_diff(got, ref, n) < 0, "image sub-rectangle write");
    size_t w = 0;
    CHECK_CL(clGetImageInfo(img, CL_IMAGE_WIDTH, sizeof w, &w, NULL));
    CHECK(w == 37, "CL_IMAGE_WIDTH %zu", w);
    /* fill, copy image, image <-> buffer, map */
    cl_mem img2 = clCreateImage(test_context, CL_MEM_READ_WRITE, &fmt, &d, NULL, &err);
    float color[4] = {1.0f, 0.0f, 0.5f, 1.0f};
    CHECK_CL(clEnqueueFillImage(q, img2, color, o, r, 0, NULL, NULL));
    CHECK_CL(clEnqueueReadImage(q, img2, CL_TRUE, o, r, 0, 0, got, 0, NULL, NULL));
    CHECK(got[0] == 255 && got[1] == 0 && got[2] == 128 && got[3] == 255, "fill image: %u %u %u %u", got[0], got[1],
          got[2], got[3]);
    size_t so[3] = {1, 2, 0}, dox[3] = {20, 10, 0}, cr[3] = {9, 6, 1};
    CHECK_CL(clEnqueueCopyImage(q, img, img2, so, dox, cr, 0, NULL, NULL));
    CHECK_CL(clEnqueueReadImage(q, img2, CL_TRUE, dox, cr, 0, 0, got, 0, NULL, NULL));
    int bad = 0;
    for (size_t y = 0; y < 6; y++) {
        bad += memcmp(got + y * 9 * px, ref + ((2 + y) * 37 + 1) * px, 9 * px) != 0;
    }
    CHECK(!bad, "copy image: %d rows differ", bad);
    cl_mem buf = buffer(CL_MEM_READ_WRITE, n, NULL);
    CHECK_CL(clEnqueueCopyImageToBuffer(q, img, buf, o, r, 0, 0, NULL, NULL));
    expect(buf, ref, n, "image to buffer");
    CHECK_CL(clEnqueueCopyBufferToImage(q, buf, img2, 0, o, r, 0, NULL, NULL));
    CHECK_CL(clEnqueueReadImage(q, img2, CL_TRUE, o, r, 0, 0, got, 0, NULL, NULL));
    CHECK(test_diff(got, ref, n) < 0, "buffer to image");
    size_t rp = 0;
    uint8_t *m = clEnqueueMapImage(q, img2, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, so, cr, &rp, NULL, 0, NULL, NULL,
                                   &err);
    CHECK(m && rp >= 9 * px, "map image: %d, row pitch %zu", err, rp);
    bad = 0;
    for (size_t y = 0; m && y < 6; y++) {
        bad += memcmp(m + y * rp, ref + ((2 + y) * 37 + 1) * px, 9 * px) != 0;
        memset(m + y * rp, 0x11, 9 * px);
        memset(ref + ((2 + y) * 37 + 1) * px, 0x11, 9 * px);
    }
    CHECK(!bad, "map image contents: %d rows differ", bad);
    CHECK_CL(clEnqueueUnmapMemObject(q, img2, m, 0, NULL, NULL));
    CHECK_CL(clEnqueueReadImage(q, img2, CL_TRUE, o, r, 0, 0, got, 0, NULL, NULL));
    CHECK(test_diff(got, ref, n) < 0, "after unmapping an image written through its map");
    size_t past[3] = {37, 1, 1};
    CHECK_ERR(clEnqueueReadImage(q, img, CL_TRUE, o2, past, 0, 0, got, 0, NULL, NULL), CL_INVALID_VALUE);
    cl_image_format odd = {CL_RGBA, 0x9999};
    CHECK(!clCreateImage(test_context, CL_MEM_READ_WRITE, &odd, &d, NULL, &err)
          && err == CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, "bad format: %d", err);
    /* ffmpeg's P010 chroma plane: PoCL 3.1 refuses it with CL_INVALID_OPERATION, which the application must see as
     * the device said it (docs/protocol.md, "native error"), not as Ferry's CL_OUT_OF_RESOURCES */
    cl_image_format rg16 = {CL_RG, CL_UNORM_INT16};
    cl_image_desc dp = {0};
    dp.image_type = CL_MEM_OBJECT_IMAGE2D;
    dp.image_width = 160;
    dp.image_height = 120;
    cl_mem plane = clCreateImage(test_context, CL_MEM_READ_WRITE, &rg16, &dp, NULL, &err);
    CHECK(plane ? err == CL_SUCCESS : err != CL_OUT_OF_RESOURCES && err != CL_SUCCESS, "a 16-bit RG plane: %d", err);
    if (plane) {
        clReleaseMemObject(plane);
    }
    /* 3D */
    cl_image_desc d3 = {0};
    d3.image_type = CL_MEM_OBJECT_IMAGE3D;
    d3.image_width = 5;
    d3.image_height = 4;
    d3.image_depth = 3;
    cl_mem img3 = clCreateImage(test_context, CL_MEM_READ_WRITE, &fmt, &d3, NULL, &err);
    if (img3) {
        uint8_t v[5 * 4 * 3 * 4], v2[sizeof v];
        test_fill(v, sizeof v, 40);
        size_t r3[3] = {5, 4, 3};
        CHECK_CL(clEnqueueWriteImage(q, img3, CL_TRUE, o, r3, 0, 0, v, 0, NULL, NULL));
        CHECK_CL(clEnqueueReadImage(q, img3, CL_TRUE, o, r3, 0, 0, v2, 0, NULL, NULL));
        CHECK(test_diff(v, v2, sizeof v) < 0, "3D image round trip");
        clReleaseMemObject(img3);
    } else {
        printf("images: no 3D image (%d)\n", err);
    }
    cl_sampler s = clCreateSampler(test_context, CL_TRUE, CL_ADDRESS_CLAMP, CL_FILTER_LINEAR, &err);
    CHECK(s && err == CL_SUCCESS, "clCreateSampler: %d", err);
    cl_filter_mode fm = 0;
    CHECK_CL(clGetSamplerInfo(s, CL_SAMPLER_FILTER_MODE, sizeof fm, &fm, NULL));
    CHECK(fm == CL_FILTER_LINEAR, "sampler filter");
    clReleaseSampler(s);
    CHECK_CL(clFinish(q));
    clReleaseMemObject(buf);
    clReleaseMemObject(img);
    clReleaseMemObject(img2);
    free(ref);
    free(got);
}

/* Runs kernel name of src over a 3D range (the image's pixels and layers) into a buffer of n bytes; returns it. */
static uint8_t *kernel_read(const char *src, const char *name, cl_mem img, const size_t *range, size_t n)
{
    cl_int err;
    cl_program p = clCreateProgramWithSource(test_context, 1, &src, NULL, &err);
    CHECK(p && err == CL_SUCCESS, "program: %d", err);
    err = clBuildProgram(p, 1, &test_device, NULL, NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(p, test_device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        CHECK(0, "build of %s: %d\n%s", name, err, log);
        clReleaseProgram(p);
        return NULL;
    }
    cl_kernel k = clCreateKernel(p, name, &err);
    cl_mem out = buffer(CL_MEM_WRITE_ONLY, n, NULL);
    CHECK_CL(clSetKernelArg(k, 0, sizeof img, &img));
    CHECK_CL(clSetKernelArg(k, 1, sizeof out, &out));
    CHECK_CL(clEnqueueNDRangeKernel(q, k, 3, NULL, range, NULL, 0, NULL, NULL));
    uint8_t *got = malloc(n);
    CHECK_CL(clEnqueueReadBuffer(q, out, CL_TRUE, 0, n, got, 0, NULL, NULL));
    clReleaseMemObject(out);
    clReleaseKernel(k);
    clReleaseProgram(p);
    return got;
}

/* 1D images, 1D arrays and 2D arrays (PyOpenCL's test_enqueue_copy_array made a 2D array and got
 * CL_IMAGE_FORMAT_NOT_SUPPORTED): formats, transfers with OpenCL's pitches (a 1D array's slice pitch is the stride
 * of its layers), image info, a map, and kernels that read them as image1d_array_t and image2d_array_t, so the
 * device holds arrays, not 2D or 3D images of the same bytes. */
static void image_arrays(void)
{
    cl_bool support = CL_FALSE;
    clGetDeviceInfo(test_device, CL_DEVICE_IMAGE_SUPPORT, sizeof support, &support, NULL);
    if (!support) {
        return;
    }
    cl_uint nf = 0;
    const cl_mem_object_type types[3] = {CL_MEM_OBJECT_IMAGE1D, CL_MEM_OBJECT_IMAGE1D_ARRAY,
                                         CL_MEM_OBJECT_IMAGE2D_ARRAY};
    for (int i = 0; i < 3; i++) {
        CHECK_CL(clGetSupportedImageFormats(test_context, CL_MEM_READ_WRITE, types[i], 0, NULL, &nf));
        CHECK(nf > 0, "formats of image type %#x: %u", (unsigned)types[i], nf);
    }
    CHECK_CL(clGetSupportedImageFormats(test_context, CL_MEM_READ_WRITE, CL_MEM_OBJECT_IMAGE1D_BUFFER, 0, NULL, &nf));
    CHECK(nf == 0, "1D buffer images are not carried, yet %u formats are listed", nf);
    cl_image_format fmt = {CL_RGBA, CL_UNSIGNED_INT8};
    const size_t px = 4;
    cl_int err;
    size_t o[3] = {0, 0, 0}, v = 0;

    /* 1D: 50 pixels; a sub-range written, the whole read */
    cl_image_desc d1 = {0};
    d1.image_type = CL_MEM_OBJECT_IMAGE1D;
    d1.image_width = 50;
    uint8_t one[50 * 4], back[50 * 4], part[20 * 4];
    test_fill(one, sizeof one, 51);
    cl_mem i1 = clCreateImage(test_context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &d1, one, &err);
    CHECK(i1 && err == CL_SUCCESS, "1D image: %d", err);
    test_fill(part, sizeof part, 52);
    size_t o1[3] = {30, 0, 0}, r1[3] = {20, 1, 1}, all1[3] = {50, 1, 1};
    CHECK_CL(clEnqueueWriteImage(q, i1, CL_TRUE, o1, r1, 0, 0, part, 0, NULL, NULL));
    memcpy(one + 30 * px, part, sizeof part);
    CHECK_CL(clEnqueueReadImage(q, i1, CL_TRUE, o, all1, 0, 0, back, 0, NULL, NULL));
    CHECK(test_diff(back, one, sizeof one) < 0, "1D image: write of pixels 30..49, then read");
    CHECK_CL(clGetImageInfo(i1, CL_IMAGE_HEIGHT, sizeof v, &v, NULL));
    CHECK(v == 0, "1D image: CL_IMAGE_HEIGHT %zu", v);
    size_t beyond[3] = {20, 2, 1};
    CHECK_ERR(clEnqueueReadImage(q, i1, CL_TRUE, o1, beyond, 0, 0, back, 0, NULL, NULL), CL_INVALID_VALUE);

    /* 1D array: 16 pixels x 5 layers, made from memory whose layers are 128 bytes apart (its slice pitch) */
    enum { W1 = 16, L1 = 5, STRIDE = 128 };   /* a slice pitch must be a multiple of the row pitch (64) */
    uint8_t src[L1 * STRIDE], want[L1 * W1 * 4], got[L1 * W1 * 4];
    test_fill(src, sizeof src, 53);
    for (int l = 0; l < L1; l++) {
        memcpy(want + l * W1 * px, src + l * STRIDE, W1 * px);
    }
    cl_image_desc da = {0};
    da.image_type = CL_MEM_OBJECT_IMAGE1D_ARRAY;
    da.image_width = W1;
    da.image_array_size = L1;
    da.image_slice_pitch = STRIDE;
    cl_mem ia = clCreateImage(test_context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &da, src, &err);
    CHECK(ia && err == CL_SUCCESS, "1D array: %d", err);
    size_t ra[3] = {W1, L1, 1};
    CHECK_CL(clEnqueueReadImage(q, ia, CL_TRUE, o, ra, 0, 0, got, 0, NULL, NULL));
    CHECK(test_diff(got, want, sizeof want) < 0, "1D array: made with a slice pitch, read packed");
    /* layers 2..3 read into memory whose layers are STRIDE apart */
    uint8_t strided[2 * STRIDE];
    memset(strided, 0, sizeof strided);
    size_t ol[3] = {0, 2, 0}, rl[3] = {W1, 2, 1};
    CHECK_CL(clEnqueueReadImage(q, ia, CL_TRUE, ol, rl, 0, STRIDE, strided, 0, NULL, NULL));
    CHECK(memcmp(strided, want + 2 * W1 * px, W1 * px) == 0 && memcmp(strided + STRIDE, want + 3 * W1 * px,
                                                                       W1 * px) == 0,
          "1D array: layers 2 and 3 read with a slice pitch of %d", STRIDE);
    size_t layers = 0;
    CHECK_CL(clGetImageInfo(ia, CL_IMAGE_ARRAY_SIZE, sizeof layers, &layers, NULL));
    CHECK_CL(clGetImageInfo(ia, CL_IMAGE_HEIGHT, sizeof v, &v, NULL));
    CHECK(layers == L1 && v == 0, "1D array: CL_IMAGE_ARRAY_SIZE %zu, CL_IMAGE_HEIGHT %zu", layers, v);
    size_t rp = 0, sp = 0;
    uint8_t *m = clEnqueueMapImage(q, ia, CL_TRUE, CL_MAP_READ, ol, rl, &rp, &sp, 0, NULL, NULL, &err);
    CHECK(m && sp >= W1 * px, "1D array: map (%d), slice pitch %zu", err, sp);
    if (m) {
        CHECK(memcmp(m, want + 2 * W1 * px, W1 * px) == 0 && memcmp(m + sp, want + 3 * W1 * px, W1 * px) == 0,
              "1D array: mapped layers 2 and 3, %zu bytes apart", sp);
        CHECK_CL(clEnqueueUnmapMemObject(q, ia, m, 0, NULL, NULL));
    }
    CHECK_ERR(clEnqueueMapImage(q, ia, CL_TRUE, CL_MAP_READ, ol, rl, &rp, NULL, 0, NULL, NULL, &err) == NULL
              ? err : CL_SUCCESS, CL_INVALID_VALUE);
    uint8_t *k1 = kernel_read(
        "__kernel void a1(__read_only image1d_array_t img, __global uchar4 *out) {\n"
        "    int x = get_global_id(0), l = get_global_id(1);\n"
        "    out[l * get_image_width(img) + x] = convert_uchar4(read_imageui(img, (int2)(x, l)));\n"
        "}\n", "a1", ia, (size_t[3]){W1, L1, 1}, sizeof want);
    CHECK(k1 && test_diff(k1, want, sizeof want) < 0, "1D array: a kernel reads it as image1d_array_t");
    free(k1);

    /* 2D array: 9 x 7 pixels x 4 layers; layer 2 written alone */
    enum { W2 = 9, H2 = 7, L2 = 4 };
    size_t n2 = W2 * H2 * L2 * px, layer = W2 * H2 * px;
    uint8_t *ref = calloc(1, n2), *all = malloc(n2);
    cl_image_desc d2 = {0};
    d2.image_type = CL_MEM_OBJECT_IMAGE2D_ARRAY;
    d2.image_width = W2;
    d2.image_height = H2;
    d2.image_array_size = L2;
    cl_mem i2 = clCreateImage(test_context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &fmt, &d2, ref, &err);
    CHECK(i2 && err == CL_SUCCESS, "2D array: %d", err);
    test_fill(ref + 2 * layer, layer, 54);
    size_t o2[3] = {0, 0, 2}, r2[3] = {W2, H2, 1}, a2[3] = {W2, H2, L2};
    CHECK_CL(clEnqueueWriteImage(q, i2, CL_TRUE, o2, r2, 0, 0, ref + 2 * layer, 0, NULL, NULL));
    CHECK_CL(clEnqueueReadImage(q, i2, CL_TRUE, o, a2, 0, 0, all, 0, NULL, NULL));
    CHECK(test_diff(all, ref, n2) < 0, "2D array: layer 2 written, all read");
    CHECK_CL(clGetImageInfo(i2, CL_IMAGE_ARRAY_SIZE, sizeof layers, &layers, NULL));
    CHECK_CL(clGetImageInfo(i2, CL_IMAGE_DEPTH, sizeof v, &v, NULL));
    CHECK(layers == L2 && v == 0, "2D array: CL_IMAGE_ARRAY_SIZE %zu, CL_IMAGE_DEPTH %zu", layers, v);
    size_t past[3] = {W2, H2, 2};
    size_t o3[3] = {0, 0, 3};
    CHECK_ERR(clEnqueueReadImage(q, i2, CL_TRUE, o3, past, 0, 0, all, 0, NULL, NULL), CL_INVALID_VALUE);
    uint8_t *k2 = kernel_read(
        "__kernel void a2(__read_only image2d_array_t img, __global uchar4 *out) {\n"
        "    int x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);\n"
        "    int w = get_image_width(img), h = get_image_height(img);\n"
        "    out[(z * h + y) * w + x] = convert_uchar4(read_imageui(img, (int4)(x, y, z, 0)));\n"
        "}\n", "a2", i2, a2, n2);
    CHECK(k2 && test_diff(k2, ref, n2) < 0, "2D array: a kernel reads it as image2d_array_t");
    free(k2);
    CHECK(!clCreateImage(test_context, CL_MEM_READ_WRITE, &fmt, &(cl_image_desc){.image_type =
          CL_MEM_OBJECT_IMAGE2D_ARRAY, .image_width = 4, .image_height = 4, .image_array_size = 0}, NULL, &err)
          && err == CL_INVALID_IMAGE_SIZE, "2D array of 0 layers: %d", err);
    free(ref);
    free(all);
    clReleaseMemObject(i1);
    clReleaseMemObject(ia);
    clReleaseMemObject(i2);
    printf("images: 1D, 1D array and 2D array checked\n");
}

/* Maps of a buffer larger than the heap: ordinary memory, kept with the buffer for its next map. Each map must
 * show the device's bytes of the moment (not what the kept memory held), two live maps must not share memory, and
 * what was mapped for writing must reach the device at unmap. */
static void owned_maps(void)
{
    size_t n = 24u << 20;   /* larger than the dev host's 16 MiB heap */
    uint8_t *ref = malloc(n);
    cl_int err;
    cl_mem b = buffer(CL_MEM_READ_WRITE, n, NULL);
    for (int round = 0; round < 3; round++) {
        test_fill(ref, n, (unsigned)(90 + round));
        CHECK_CL(clEnqueueWriteBuffer(q, b, CL_TRUE, 0, n, ref, 0, NULL, NULL));
        uint8_t *r = clEnqueueMapBuffer(q, b, CL_TRUE, CL_MAP_READ, 0, n, 0, NULL, NULL, &err);
        CHECK(r && err == CL_SUCCESS, "map of a buffer larger than the heap, round %d: %d", round, err);
        long d = test_diff(r, ref, n);
        CHECK(d < 0, "map for reading, round %d: byte %ld is not the device's", round, d);
        CHECK_CL(clEnqueueUnmapMemObject(q, b, r, 0, NULL, NULL));
    }
    /* two maps at once, written, unmapped in the other order */
    uint8_t *lo = clEnqueueMapBuffer(q, b, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n / 2, 0, NULL, NULL, &err);
    CHECK(lo && err == CL_SUCCESS, "first of two maps: %d", err);
    uint8_t *hi = clEnqueueMapBuffer(q, b, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, n / 2, n / 2, 0, NULL, NULL, &err);
    CHECK(hi && err == CL_SUCCESS, "second of two maps: %d", err);
    CHECK(lo && hi && (hi >= lo + n / 2 || lo >= hi + n / 2), "two live maps overlap in memory");
    if (lo && hi) {
        memset(lo + 5, 0xA5, 1000);
        memset(ref + 5, 0xA5, 1000);
        memset(hi + 7, 0x5A, 3000);
        memset(ref + n / 2 + 7, 0x5A, 3000);
        CHECK_CL(clEnqueueUnmapMemObject(q, b, hi, 0, NULL, NULL));
        CHECK_CL(clEnqueueUnmapMemObject(q, b, lo, 0, NULL, NULL));
    }
    expect(b, ref, n, "two maps written and unmapped");
    /* a smaller map after the larger ones, then an invalidating one that writes everything */
    uint8_t *m = clEnqueueMapBuffer(q, b, CL_TRUE, CL_MAP_READ, 4096 + 3, 100, 0, NULL, NULL, &err);
    CHECK(m && err == CL_SUCCESS && test_diff(m, ref + 4096 + 3, 100) < 0, "a small map after large ones: %d", err);
    CHECK_CL(clEnqueueUnmapMemObject(q, b, m, 0, NULL, NULL));
    m = clEnqueueMapBuffer(q, b, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, n, 0, NULL, NULL, &err);
    CHECK(m && err == CL_SUCCESS, "invalidating map: %d", err);
    if (m) {
        test_fill(ref, n, 97);
        memcpy(m, ref, n);
        CHECK_CL(clEnqueueUnmapMemObject(q, b, m, 0, NULL, NULL));
    }
    expect(b, ref, n, "an invalidating map written whole");
    CHECK_CL(clReleaseMemObject(b));
    free(ref);
}

int main(void)
{
    test_setup();
    cl_int err;
    q = clCreateCommandQueue(test_context, test_device, 0, &err);
    if (!q) {
        fprintf(stderr, "clCreateCommandQueue: %d\n", err);
        return 1;
    }
    odd_transfers();
    big_transfers();
    maps();
    owned_maps();
    release_in_flight();
    objects();
    sub_buffers();
    fill_copy();
    rects();
    images();
    image_arrays();
    CHECK_CL(clFinish(q));
    CHECK_CL(clReleaseCommandQueue(q));
    CHECK_CL(clReleaseContext(test_context));
    return test_end("memory_test");
}
