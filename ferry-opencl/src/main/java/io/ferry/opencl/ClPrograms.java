package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.BackendException;
import io.ferry.spi.BuildOptions;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/** Programs and kernels: create from source, build with the log, create kernels with their argument info. */
final class ClPrograms {
    /**
     * The most build-log bytes returned: what fits a guest's completion (16 KiB) beside the error's own words. A
     * longer log is cut, with a note of its size.
     */
    static final int LOG_LIMIT = 12 * 1024;
    /**
     * OpenCL hands a build log out only whole, into a buffer of its full size; a log over this size is not fetched at
     * all (PoCL already holds it; a second copy would double the worker's memory).
     */
    static final long LOG_FETCH_LIMIT = 64L << 20;

    private ClPrograms() {
    }

    /** {@code clCreateProgramWithSource} of OpenCL C {@code source}; {@code errcode} is scratch for the status. */
    static ClObject.Program create(ClObject.Context ctx, String source, MemorySegment errcode) throws BackendException {
        long ptr;
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = source.getBytes(StandardCharsets.UTF_8);
            MemorySegment text = arena.allocate(bytes.length + 1L); // zeroed: NUL-terminated
            MemorySegment.copy(bytes, 0, text, JAVA_BYTE, 0, bytes.length);
            MemorySegment strings = arena.allocateFrom(JAVA_LONG, text.address());
            MemorySegment lengths = arena.allocateFrom(JAVA_LONG, (long) bytes.length);
            ptr = OpenCL.createProgramWithSource(ctx.ptr, strings, lengths, errcode);
        }
        ClErrors.check("clCreateProgramWithSource", errcode.get(JAVA_INT, 0), null);
        return new ClObject.Program(ptr, ctx);
    }

    /**
     * {@code clBuildProgram} for the context's device. Returns the build log (often empty); on failure throws
     * {@link Status#BUILD_FAILED} with {@code "clBuildProgram: CL_NAME (code)"} and the full log in the message.
     */
    static String build(ClObject.Program p, String options) throws BackendException {
        BuildOptions.check(options, BuildOptions.Dialect.OPENCL); // the host checked too: this worker trusts nobody
        int rc;
        String log;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocateFrom(JAVA_LONG, p.context.device.id());
            MemorySegment opts = options == null || options.isEmpty() ? MemorySegment.NULL : OpenCL.cString(arena, options);
            rc = OpenCL.buildProgram(p.ptr, device, opts);
            log = buildLog(arena, p);
        }
        if (rc != OpenCL.CL_SUCCESS) {
            Status status = rc == -11 || rc == -43 ? Status.BUILD_FAILED : ClErrors.status(rc);
            String context = options == null || options.isEmpty() ? null : "options '" + options + "'";
            String message = ClErrors.message("clBuildProgram", rc, context);
            throw new BackendException(status, log.isBlank() ? message : message + "\nbuild log:\n" + log);
        }
        return log;
    }

    private static String buildLog(Arena arena, ClObject.Program p) {
        long device = p.context.device.id();
        MemorySegment size = arena.allocate(JAVA_LONG);
        if (OpenCL.getProgramBuildInfo(p.ptr, device, OpenCL.CL_PROGRAM_BUILD_LOG, 0, MemorySegment.NULL, size) != 0) {
            return "";
        }
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1) {
            return "";
        }
        if (n > LOG_FETCH_LIMIT) {
            return "(build log of " + sizeText(n) + " not read: over " + sizeText(LOG_FETCH_LIMIT) + ")";
        }
        MemorySegment text;
        try {
            text = arena.allocate(n);
        } catch (OutOfMemoryError e) {
            return "(build log of " + sizeText(n) + " not read: no memory for it in the device worker)";
        }
        if (OpenCL.getProgramBuildInfo(p.ptr, device, OpenCL.CL_PROGRAM_BUILD_LOG, n, text, MemorySegment.NULL) != 0) {
            return "";
        }
        return cut(text, n - 1);
    }

    /** The first {@link #LOG_LIMIT} bytes of a NUL-terminated log of {@code length} bytes, noting a cut. */
    static String cut(MemorySegment text, long length) {
        int take = (int) Math.min(length, LOG_LIMIT);
        byte[] bytes = text.asSlice(0, take).toArray(JAVA_BYTE);
        int end = 0;
        while (end < take && bytes[end] != 0) {
            end++;
        }
        String log = new String(bytes, 0, end, StandardCharsets.UTF_8).strip();
        return length > LOG_LIMIT ? log + "\n… (log cut at " + sizeText(LOG_LIMIT) + " of " + sizeText(length) + ")"
                : log;
    }

    static String sizeText(long bytes) {
        if (bytes >= 1_000_000) {
            return String.format(java.util.Locale.ROOT, "%.0f MB", bytes / 1e6);
        }
        return bytes % 1024 == 0 ? bytes / 1024 + " KiB" : bytes + " bytes";
    }

    /**
     * {@code clCreateKernel}; an unknown name fails with {@link Status#KERNEL_NOT_FOUND} listing the program's
     * kernels, an unbuilt program with {@link Status#INVALID_ARGUMENT}.
     */
    static ClObject.Kernel createKernel(ClObject.Program p, String name, MemorySegment errcode) throws BackendException {
        long ptr;
        try (Arena arena = Arena.ofConfined()) {
            ptr = OpenCL.createKernel(p.ptr, OpenCL.cString(arena, name), errcode);
        }
        int rc = errcode.get(JAVA_INT, 0);
        if (rc == -46) {
            int[] status = new int[1];
            String names = OpenCL.infoString(OpenCL.Info.PROGRAM, p.ptr, OpenCL.CL_PROGRAM_KERNEL_NAMES, status);
            String list = names == null || names.isBlank() ? "none" : String.join(", ", names.split(";"));
            throw new BackendException(Status.KERNEL_NOT_FOUND, ClErrors.message("clCreateKernel", rc,
                    "no kernel '" + name + "' in the program; its kernels: " + list));
        }
        if (rc == -45) {
            throw new BackendException(Status.INVALID_ARGUMENT, ClErrors.message("clCreateKernel", rc,
                    "kernel '" + name + "': the program is not built; build it successfully first"));
        }
        ClErrors.check("clCreateKernel", rc, "kernel '" + name + "'");
        try {
            return new ClObject.Kernel(ptr, p.context, KernelArgs.query(ptr, name));
        } catch (BackendException | RuntimeException e) {
            OpenCL.Release.KERNEL.call(ptr);
            throw e;
        }
    }
}
