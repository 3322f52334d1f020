package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.host.spi.BackendException;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/** Programs and kernels: create from source, build with the log, create kernels with their argument info. */
final class ClPrograms {
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
        MemorySegment text = arena.allocate(n);
        if (OpenCL.getProgramBuildInfo(p.ptr, device, OpenCL.CL_PROGRAM_BUILD_LOG, n, text, MemorySegment.NULL) != 0) {
            return "";
        }
        return text.getString(0, StandardCharsets.UTF_8).strip();
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
