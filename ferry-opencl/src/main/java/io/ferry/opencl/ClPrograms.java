package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.BackendException;
import io.ferry.spi.BuildOptions;
import io.ferry.protocol.Status;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
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
            throw new BackendException(status, log.isBlank() ? message : message + "\nbuild log:\n" + log,
                    ClErrors.word(rc));
        }
        return log;
    }

    private static final MethodHandle CREATE_WITH_BINARY = OpenCL.bind("clCreateProgramWithBinary",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle COMPILE = OpenCL.bind("clCompileProgram", FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle LINK = OpenCL.bind("clLinkProgram", FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final int CL_INVALID_BINARY = -42;

    /**
     * {@code clCreateProgramWithBinary} for the context's device from {@code binary} (the guest's heap: copied out
     * once, then used). A binary the device refuses fails with {@link Status#BUILD_FAILED} naming CL_INVALID_BINARY.
     */
    static ClObject.Program createWithBinary(ClObject.Context ctx, MemorySegment binary, MemorySegment errcode)
            throws BackendException {
        if (CREATE_WITH_BINARY == null) {
            throw new BackendException(Status.UNSUPPORTED, "this OpenCL library lacks clCreateProgramWithBinary");
        }
        long n = binary.byteSize();
        long ptr;
        int binaryStatus;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment copy = arena.allocate(n);
            MemorySegment.copy(binary, 0, copy, 0, n);
            MemorySegment device = arena.allocateFrom(JAVA_LONG, ctx.device.id());
            MemorySegment lengths = arena.allocateFrom(JAVA_LONG, n);
            MemorySegment pointers = arena.allocateFrom(JAVA_LONG, copy.address());
            MemorySegment status = arena.allocate(JAVA_INT);
            try {
                ptr = (long) CREATE_WITH_BINARY.invokeExact(ctx.ptr, 1, device, lengths, pointers, status, errcode);
            } catch (Throwable t) {
                throw new IllegalStateException("native call clCreateProgramWithBinary failed: " + t, t);
            }
            binaryStatus = status.get(JAVA_INT, 0);
        }
        int rc = errcode.get(JAVA_INT, 0);
        if (rc == CL_INVALID_BINARY || (rc == OpenCL.CL_SUCCESS && binaryStatus != OpenCL.CL_SUCCESS)) {
            if (ptr != 0) {
                OpenCL.Release.PROGRAM.call(ptr);
            }
            throw new BackendException(Status.BUILD_FAILED, ClErrors.message("clCreateProgramWithBinary",
                    rc != OpenCL.CL_SUCCESS ? rc : binaryStatus, "device '" + ctx.device.info().name()
                            + "' refused the binary of " + n + " bytes (give it one this device's "
                            + "CL_PROGRAM_BINARIES returned)"), ClErrors.word(CL_INVALID_BINARY));
        }
        ClErrors.check("clCreateProgramWithBinary", rc, n + " bytes");
        return new ClObject.Program(ptr, ctx);
    }

    /**
     * {@code clCompileProgram} for the context's device, with {@code headers} as the embedded headers named
     * {@code names}. Returns the log; on failure throws {@link Status#BUILD_FAILED} with it.
     */
    static String compile(ClObject.Program p, ClObject.Program[] headers, String[] names, String options)
            throws BackendException {
        BuildOptions.check(options, BuildOptions.Dialect.OPENCL);
        if (headers.length != names.length) {
            throw new BackendException(Status.INVALID_ARGUMENT, headers.length + " headers and " + names.length
                    + " include names");
        }
        if (COMPILE == null) {
            throw new BackendException(Status.UNSUPPORTED, "this OpenCL library lacks clCompileProgram (OpenCL 1.2)");
        }
        int rc;
        String log;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocateFrom(JAVA_LONG, p.context.device.id());
            MemorySegment opts = options == null || options.isEmpty() ? MemorySegment.NULL : OpenCL.cString(arena, options);
            int n = headers.length;
            MemorySegment programs = n == 0 ? MemorySegment.NULL : arena.allocate(JAVA_LONG, n);
            MemorySegment includes = n == 0 ? MemorySegment.NULL : arena.allocate(JAVA_LONG, n);
            for (int i = 0; i < n; i++) {
                programs.setAtIndex(JAVA_LONG, i, headers[i].ptr);
                includes.setAtIndex(JAVA_LONG, i, OpenCL.cString(arena, names[i]).address());
            }
            try {
                rc = (int) COMPILE.invokeExact(p.ptr, 1, device, opts, n, programs, includes, MemorySegment.NULL,
                        MemorySegment.NULL);
            } catch (Throwable t) {
                throw new IllegalStateException("native call clCompileProgram failed: " + t, t);
            }
            log = buildLog(arena, p);
        }
        if (rc != OpenCL.CL_SUCCESS) {
            String context = options == null || options.isEmpty() ? null : "options '" + options + "'";
            String message = ClErrors.message("clCompileProgram", rc, context);
            throw new BackendException(ClErrors.status(rc), log.isBlank() ? message : message + "\nbuild log:\n" + log,
                    ClErrors.word(rc));
        }
        return log;
    }

    /** A program linked and its log. */
    record Linked(ClObject.Program program, String log) {
    }

    /**
     * {@code clLinkProgram} of compiled {@code inputs} for the context's device. On failure throws
     * {@link Status#BUILD_FAILED} with the log (a program OpenCL made all the same is released).
     */
    static Linked link(ClObject.Context ctx, ClObject.Program[] inputs, String options, MemorySegment errcode)
            throws BackendException {
        BuildOptions.check(options, BuildOptions.Dialect.OPENCL);
        if (LINK == null) {
            throw new BackendException(Status.UNSUPPORTED, "this OpenCL library lacks clLinkProgram (OpenCL 1.2)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocateFrom(JAVA_LONG, ctx.device.id());
            MemorySegment opts = options == null || options.isEmpty() ? MemorySegment.NULL : OpenCL.cString(arena, options);
            MemorySegment programs = arena.allocate(JAVA_LONG, inputs.length);
            for (int i = 0; i < inputs.length; i++) {
                programs.setAtIndex(JAVA_LONG, i, inputs[i].ptr);
            }
            long ptr;
            try {
                ptr = (long) LINK.invokeExact(ctx.ptr, 1, device, opts, inputs.length, programs, MemorySegment.NULL,
                        MemorySegment.NULL, errcode);
            } catch (Throwable t) {
                throw new IllegalStateException("native call clLinkProgram failed: " + t, t);
            }
            int rc = errcode.get(JAVA_INT, 0);
            ClObject.Program linked = ptr == 0 ? null : new ClObject.Program(ptr, ctx);
            String log = linked == null ? "" : buildLog(arena, linked);
            if (rc != OpenCL.CL_SUCCESS || linked == null) {
                if (linked != null) {
                    OpenCL.Release.PROGRAM.call(ptr);
                }
                String context = options == null || options.isEmpty() ? null : "options '" + options + "'";
                String message = ClErrors.message("clLinkProgram", rc, context);
                throw new BackendException(rc == OpenCL.CL_SUCCESS ? Status.BUILD_FAILED : ClErrors.status(rc),
                        log.isBlank() ? message : message + "\nbuild log:\n" + log,
                        rc == OpenCL.CL_SUCCESS ? io.ferry.protocol.NativeError.NONE : ClErrors.word(rc));
            }
            return new Linked(linked, log);
        }
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
                    "no kernel '" + name + "' in the program; its kernels: " + list), ClErrors.word(rc));
        }
        if (rc == -45) {
            throw new BackendException(Status.INVALID_ARGUMENT, ClErrors.message("clCreateKernel", rc,
                    "kernel '" + name + "': the program is not built; build it successfully first"), ClErrors.word(rc));
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
