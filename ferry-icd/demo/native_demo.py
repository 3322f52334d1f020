#!/usr/bin/python3
"""native_demo.py: an ordinary PyOpenCL program (Debian's python3-pyopencl, nothing Ferry-specific) that
`./ferry native-demo` runs through Ferry's ICD; it runs unchanged on any OpenCL platform. Two parts, each checked
against NumPy, one line each:
  vadd    vector add with a kernel of our own
  reduce  a work-group reduction in __local memory, with a kernel of our own
  array   pyopencl.array: an elementwise a*x+y and a sum (PyOpenCL's own generated kernels, which #include
          PyOpenCL's headers through -I: the ICD must make guest headers available to the host's compiler)
Usage: /usr/bin/python3 native_demo.py [PLATFORM-NAME-SUBSTRING]   (default: the first platform with a device)
Exit status: 0 when all three verified, 1 on a mismatch, 2 on an OpenCL error."""
import functools
import sys

import numpy as np
import pyopencl as cl
import pyopencl.array as cl_array

print = functools.partial(print, flush=True)  # line by line, also into a file: a killed run shows how far it got

N = 1 << 20
SOURCE = """
__kernel void vadd(__global const float *a, __global const float *b, __global float *c) {
    size_t i = get_global_id(0);
    c[i] = a[i] + b[i];
}
__kernel void reduce(__global const uint *in, __global uint *partial, __local uint *scratch) {
    size_t l = get_local_id(0);
    scratch[l] = in[get_global_id(0)];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = get_local_size(0) / 2; s > 0; s /= 2) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) partial[get_group_id(0)] = scratch[0];
}
"""


def pick(want):
    for p in cl.get_platforms():
        if want and want not in p.name:
            continue
        try:
            devices = p.get_devices()
        except cl.Error:
            continue
        if devices:
            return p, devices[0]
    print("native_demo.py: no OpenCL platform%s with a device" % (" named '%s'" % want if want else ""))
    sys.exit(2)


def verdict(part, ok, detail):
    print("%-7s %s  %s" % (part, "verified" if ok else "FAILED  ", detail))
    return ok


def main():
    platform, device = pick(sys.argv[1] if len(sys.argv) > 1 else None)
    print("platform: %s; device: %s" % (platform.name, device.name))
    ctx = cl.Context([device])
    queue = cl.CommandQueue(ctx)
    prog = cl.Program(ctx, SOURCE).build()
    mf = cl.mem_flags
    ok = True

    rng = np.random.default_rng(14)
    a = rng.random(N, dtype=np.float32)
    b = rng.random(N, dtype=np.float32)
    da = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=a)
    db = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=b)
    dc = cl.Buffer(ctx, mf.WRITE_ONLY, a.nbytes)
    prog.vadd(queue, (N,), None, da, db, dc)
    c = np.empty_like(a)
    cl.enqueue_copy(queue, c, dc)
    bad = int(np.count_nonzero(c != a + b))
    ok &= verdict("vadd", bad == 0, "n=%d, %d mismatches" % (N, bad))

    local = 256
    limit = min(device.max_work_group_size,
                prog.reduce.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE, device))
    while local > limit:
        local //= 2
    values = rng.integers(0, 1024, N, dtype=np.uint32)
    din = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=values)
    groups = N // local
    dpart = cl.Buffer(ctx, mf.WRITE_ONLY, groups * 4)
    prog.reduce(queue, (N,), (local,), din, dpart, cl.LocalMemory(local * 4))
    partial = np.empty(groups, dtype=np.uint32)
    cl.enqueue_copy(queue, partial, dpart)
    expect = int(values.sum(dtype=np.uint64))
    ours = int(partial.sum(dtype=np.uint64))
    ok &= verdict("reduce", ours == expect,
                  "n=%d, %d groups of %d: sum %d (expected %d)" % (N, groups, local, ours, expect))

    try:
        x = cl_array.to_device(queue, a)
        y = cl_array.to_device(queue, b)
        z = (2 * x + y).get()
        bad = int(np.count_nonzero(z != 2 * a + b))
        library = int(cl_array.sum(cl_array.to_device(queue, values), dtype=np.uint64).get())
        ok &= verdict("array", bad == 0 and library == expect,
                      "2*x+y: %d mismatches; sum %d (expected %d)" % (bad, library, expect))
    except cl.Error as e:
        ok &= verdict("array", False, "OpenCL error: %s" % str(e).strip().splitlines()[0])
        print(str(e))
    queue.finish()
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cl.Error as e:
        print("native_demo.py: OpenCL error: %s" % e)
        sys.exit(2)
