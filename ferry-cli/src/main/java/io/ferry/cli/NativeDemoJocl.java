package io.ferry.cli;

import static org.jocl.CL.*;

import java.util.Locale;
import java.util.Random;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

/**
 * The JOCL program of {@code ./ferry native-demo}: ordinary OpenCL through JOCL (org.jocl:jocl from Maven Central),
 * with nothing of Ferry in it. JOCL's JNI library loads the system's {@code libOpenCL.so.1} (the ocl-icd loader),
 * which finds Ferry's ICD through {@code OCL_ICD_VENDORS}; on a machine without Ferry the same class runs on whatever
 * platform is installed. {@link NativeDemoCommand} starts it in a child JVM with ferry.jar's class path (JOCL is
 * shaded into it). Two parts, each checked against Java, one line each: vector add, and a work-group reduction in
 * {@code __local} memory. Argument: an optional platform-name substring. Exit status 0 when both verified, 1 on a
 * mismatch, 2 on an OpenCL error.
 */
public final class NativeDemoJocl {
    private static final int N = 1 << 20;
    private static final String SOURCE = """
            __kernel void vadd(__global const float *a, __global const float *b, __global float *c) {
                size_t i = get_global_id(0);
                c[i] = a[i] + b[i];
            }
            __kernel void reduce(__global const int *in, __global long *partial, __local long *scratch) {
                size_t l = get_local_id(0);
                scratch[l] = in[get_global_id(0)];
                barrier(CLK_LOCAL_MEM_FENCE);
                for (size_t s = get_local_size(0) / 2; s > 0; s /= 2) {
                    if (l < s) scratch[l] += scratch[l + s];
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                if (l == 0) partial[get_group_id(0)] = scratch[0];
            }
            """;

    private NativeDemoJocl() {
    }

    public static void main(String[] args) {
        try {
            System.exit(run(args.length > 0 ? args[0] : null));
        } catch (CLException e) {
            System.out.println("NativeDemoJocl: OpenCL error: " + e.getMessage());
            System.exit(2);
        }
    }

    private static int run(String want) {
        CL.setExceptionsEnabled(true);
        int[] count = new int[1];
        clGetPlatformIDs(0, null, count);
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        clGetPlatformIDs(platforms.length, platforms, null);
        cl_platform_id platform = null;
        cl_device_id device = null;
        for (cl_platform_id p : platforms) {
            if (want != null && !platformString(p, CL_PLATFORM_NAME).contains(want)) {
                continue;
            }
            int[] n = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (CLException e) {
                continue; // CL_DEVICE_NOT_FOUND
            }
            if (n[0] > 0) {
                cl_device_id[] ds = new cl_device_id[n[0]];
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n[0], ds, null);
                platform = p;
                device = ds[0];
                break;
            }
        }
        if (device == null) {
            System.out.println("NativeDemoJocl: no OpenCL platform" + (want == null ? "" : " named '" + want + "'")
                    + " with a device");
            return 2;
        }
        System.out.println("platform: " + platformString(platform, CL_PLATFORM_NAME) + "; device: "
                + deviceString(device, CL_DEVICE_NAME));
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL_CONTEXT_PLATFORM, platform);
        cl_context ctx = clCreateContext(props, 1, new cl_device_id[] {device}, null, null, null);
        @SuppressWarnings("deprecation")
        cl_command_queue q = clCreateCommandQueue(ctx, device, 0, null);
        cl_program prog = clCreateProgramWithSource(ctx, 1, new String[] {SOURCE}, null, null);
        try {
            clBuildProgram(prog, 1, new cl_device_id[] {device}, "", null, null);
        } catch (CLException e) {
            long[] size = new long[1];
            clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] log = new byte[(int) size[0]];
            clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
            System.out.println("NativeDemoJocl: build log:\n" + new String(log, 0, Math.max(0, log.length - 1),
                    java.nio.charset.StandardCharsets.UTF_8));
            throw e;
        }
        boolean ok = vadd(ctx, q, prog);
        ok &= reduce(ctx, q, prog, device);
        clFinish(q);
        clReleaseProgram(prog);
        clReleaseCommandQueue(q);
        clReleaseContext(ctx);
        return ok ? 0 : 1;
    }

    private static boolean vadd(cl_context ctx, cl_command_queue q, cl_program prog) {
        Random rnd = new Random(14);
        float[] a = new float[N];
        float[] b = new float[N];
        float[] c = new float[N];
        for (int i = 0; i < N; i++) {
            a[i] = rnd.nextFloat();
            b[i] = rnd.nextFloat();
        }
        cl_mem da = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (long) Sizeof.cl_float * N,
                Pointer.to(a), null);
        cl_mem db = clCreateBuffer(ctx, CL_MEM_READ_ONLY, (long) Sizeof.cl_float * N, null, null);
        cl_mem dc = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, (long) Sizeof.cl_float * N, null, null);
        clEnqueueWriteBuffer(q, db, CL_TRUE, 0, (long) Sizeof.cl_float * N, Pointer.to(b), 0, null, null);
        cl_kernel k = clCreateKernel(prog, "vadd", null);
        clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(da));
        clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(db));
        clSetKernelArg(k, 2, Sizeof.cl_mem, Pointer.to(dc));
        clEnqueueNDRangeKernel(q, k, 1, null, new long[] {N}, null, 0, null, null);
        clEnqueueReadBuffer(q, dc, CL_TRUE, 0, (long) Sizeof.cl_float * N, Pointer.to(c), 0, null, null);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            if (c[i] != a[i] + b[i]) {
                bad++;
            }
        }
        clReleaseKernel(k);
        clReleaseMemObject(da);
        clReleaseMemObject(db);
        clReleaseMemObject(dc);
        return verdict("vadd", bad == 0, "n=" + N + ", " + bad + " mismatches");
    }

    private static boolean reduce(cl_context ctx, cl_command_queue q, cl_program prog, cl_device_id device) {
        cl_kernel k = clCreateKernel(prog, "reduce", null);
        long[] limit = new long[1];
        clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(limit), null);
        long[] kernelLimit = new long[1];
        clGetKernelWorkGroupInfo(k, device, CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(kernelLimit), null);
        int local = 256;
        while (local > limit[0] || local > kernelLimit[0]) {
            local /= 2;
        }
        Random rnd = new Random(15);
        int[] in = new int[N];
        long expect = 0;
        for (int i = 0; i < N; i++) {
            in[i] = rnd.nextInt(2001) - 1000;
            expect += in[i];
        }
        int groups = N / local;
        cl_mem din = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (long) Sizeof.cl_int * N,
                Pointer.to(in), null);
        cl_mem dpart = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, (long) Sizeof.cl_long * groups, null, null);
        clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(din));
        clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(dpart));
        clSetKernelArg(k, 2, (long) Sizeof.cl_long * local, null);
        clEnqueueNDRangeKernel(q, k, 1, null, new long[] {N}, new long[] {local}, 0, null, null);
        long[] partial = new long[groups];
        clEnqueueReadBuffer(q, dpart, CL_TRUE, 0, (long) Sizeof.cl_long * groups, Pointer.to(partial), 0, null,
                null);
        long got = 0;
        for (long p : partial) {
            got += p;
        }
        clReleaseKernel(k);
        clReleaseMemObject(din);
        clReleaseMemObject(dpart);
        return verdict("reduce", got == expect, String.format(Locale.ROOT,
                "n=%d, %d groups of %d, sum %d (expected %d)", N, groups, local, got, expect));
    }

    private static boolean verdict(String part, boolean ok, String detail) {
        System.out.printf(Locale.ROOT, "%-7s %s  %s%n", part, ok ? "verified" : "FAILED  ", detail);
        return ok;
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return new String(b, 0, Math.max(0, b.length - 1), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return new String(b, 0, Math.max(0, b.length - 1), java.nio.charset.StandardCharsets.UTF_8);
    }
}
