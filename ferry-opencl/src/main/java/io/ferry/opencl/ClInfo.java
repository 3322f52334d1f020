package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.protocol.InfoKind;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.InfoValue;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The raw values of OpenCL's {@code clGet*Info} calls for INFO: each is asked for its size, fetched whole into
 * native memory of the call's own, and delivered to the blob or the guest's heap ({@link InfoValue#deliver}).
 * {@code CL_PROGRAM_BINARIES} is answered with the binary's bytes (OpenCL's value is an array of pointers to them).
 */
final class ClInfo {
    /** The largest value fetched: a program binary's limit (no other value comes near). */
    static final long MAX_VALUE = ProgramCalls.ProgramCreateBinary.MAX_SIZE;
    static final int CL_PROGRAM_BINARY_SIZES = 0x1165;

    private static final MethodHandle GET_SUPPORTED_IMAGE_FORMATS = OpenCL.bind("clGetSupportedImageFormats",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private ClInfo() {
    }

    /** One {@code clGet*Info(object, ..., param, size, value, size_ret)} call with the object's part bound. */
    @FunctionalInterface
    interface Query {
        int call(long size, MemorySegment value, MemorySegment sizeRet);
    }

    /** The value of {@code q}, in {@code arena}: asked for its size, then fetched. */
    static MemorySegment fetch(Arena arena, Query q, String function, String what) throws BackendException {
        MemorySegment n = arena.allocate(JAVA_LONG);
        int rc = q.call(0, MemorySegment.NULL, n);
        if (rc != OpenCL.CL_SUCCESS) {
            throw failed(function, rc, what);
        }
        long size = n.get(JAVA_LONG, 0);
        if (size < 0 || size > MAX_VALUE) {
            throw new BackendException(Status.INVALID_ARGUMENT, function + ": " + what + " is " + size + " bytes, "
                    + "over the host's limit of " + MAX_VALUE);
        }
        MemorySegment value = arena.allocate(Math.max(size, 1));
        rc = q.call(size, value, MemorySegment.NULL);
        if (rc != OpenCL.CL_SUCCESS) {
            throw failed(function, rc, what);
        }
        return value.asSlice(0, size);
    }

    private static BackendException failed(String function, int rc, String what) {
        return new BackendException(Status.INVALID_ARGUMENT, ClErrors.message(function, rc, what), ClErrors.word(rc));
    }

    /** {@code clGetDeviceInfo(param)} of {@code device}. */
    static byte[] device(ClDevice device, int param) throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            return fetch(arena, (size, value, sizeRet) -> OpenCL.Info.DEVICE.call(device.id(), param, size, value,
                    sizeRet), "clGetDeviceInfo", "device param 0x" + Integer.toHexString(param) + " of '"
                    + device.info().name() + "'").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** The value of {@code param} of {@code kind} for {@code o} (a program, kernel or context as the kind says). */
    static InfoValue query(InfoKind kind, ClObject o, int param, long index, MemorySegment heap, long heapOffset,
                           long heapSize) throws BackendException {
        String what = kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + " param 0x"
                + Integer.toHexString(param);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = switch (kind) {
                case PROGRAM -> {
                    ClObject.Program p = (ClObject.Program) o;
                    yield param == InfoKind.CL_PROGRAM_BINARIES ? binary(arena, p)
                            : fetch(arena, (size, v, r) -> OpenCL.Info.PROGRAM.call(p.ptr, param, size, v, r),
                            "clGetProgramInfo", what);
                }
                case PROGRAM_BUILD -> {
                    ClObject.Program p = (ClObject.Program) o;
                    long device = p.context.device.id();
                    yield fetch(arena, (size, v, r) -> OpenCL.getProgramBuildInfo(p.ptr, device, param, size, v, r),
                            "clGetProgramBuildInfo", what);
                }
                case KERNEL -> fetch(arena, (size, v, r) -> OpenCL.Info.KERNEL.call(o.ptr, param, size, v, r),
                        "clGetKernelInfo", what);
                case KERNEL_ARG -> fetch(arena, (size, v, r) -> OpenCL.getKernelArgInfo(o.ptr, (int) index, param,
                        size, v, r), "clGetKernelArgInfo", what + " of argument " + index);
                case KERNEL_WORK_GROUP -> {
                    long device = ((ClObject.Kernel) o).context.device.id();
                    yield fetch(arena, (size, v, r) -> OpenCL.getKernelWorkGroupInfo(o.ptr, device, param, size, v,
                            r), "clGetKernelWorkGroupInfo", what);
                }
                case IMAGE_FORMATS -> imageFormats(arena, (ClObject.Context) o, param, index);
                case DEVICE -> throw new BackendException(Status.INVALID_ARGUMENT, "device params are the backend's "
                        + "(ComputeBackend.deviceInfo), not a session's");
            };
            return InfoValue.deliver(value, heap, heapOffset, heapSize, what);
        }
    }

    /** The program's binary for its one device: its bytes, not OpenCL's array of pointers to them. */
    private static MemorySegment binary(Arena arena, ClObject.Program p) throws BackendException {
        MemorySegment sizes = fetch(arena, (size, v, r) -> OpenCL.Info.PROGRAM.call(p.ptr, CL_PROGRAM_BINARY_SIZES,
                size, v, r), "clGetProgramInfo", "CL_PROGRAM_BINARY_SIZES");
        if (sizes.byteSize() != 8) {
            throw new BackendException(Status.INVALID_ARGUMENT, "clGetProgramInfo: the program has "
                    + sizes.byteSize() / 8 + " binaries, not the one of its device");
        }
        long n = sizes.get(JAVA_LONG, 0);
        if (n <= 0) {
            throw new BackendException(Status.INVALID_ARGUMENT, "clGetProgramInfo: CL_PROGRAM_BINARIES: the program "
                    + "has no binary yet; build, compile or link it first");
        }
        if (n > MAX_VALUE) {
            throw new BackendException(Status.INVALID_ARGUMENT, "clGetProgramInfo: the program's binary is " + n
                    + " bytes, over the host's limit of " + MAX_VALUE);
        }
        MemorySegment bytes = arena.allocate(n);
        MemorySegment pointers = arena.allocateFrom(JAVA_LONG, bytes.address());
        int rc = OpenCL.Info.PROGRAM.call(p.ptr, (int) InfoKind.CL_PROGRAM_BINARIES, 8, pointers,
                MemorySegment.NULL);
        if (rc != OpenCL.CL_SUCCESS) {
            throw failed("clGetProgramInfo", rc, "CL_PROGRAM_BINARIES");
        }
        return bytes;
    }

    /** {@code clGetSupportedImageFormats}: the array of {@code cl_image_format} (8 bytes each). */
    private static MemorySegment imageFormats(Arena arena, ClObject.Context ctx, long flags, long type)
            throws BackendException {
        if (GET_SUPPORTED_IMAGE_FORMATS == null) {
            throw new BackendException(Status.UNSUPPORTED, "this OpenCL library lacks clGetSupportedImageFormats");
        }
        MemorySegment count = arena.allocate(JAVA_INT);
        int rc = formats(ctx.ptr, flags, (int) type, 0, MemorySegment.NULL, count);
        if (rc != OpenCL.CL_SUCCESS) {
            throw failed("clGetSupportedImageFormats", rc, "flags 0x" + Long.toHexString(flags) + ", type 0x"
                    + Long.toHexString(type));
        }
        int n = count.get(JAVA_INT, 0);
        if (n <= 0) {
            return arena.allocate(1).asSlice(0, 0);
        }
        if (n > MAX_VALUE / 8) {
            throw new BackendException(Status.INVALID_ARGUMENT, "clGetSupportedImageFormats: " + n + " formats");
        }
        MemorySegment out = arena.allocate(8L * n);
        rc = formats(ctx.ptr, flags, (int) type, n, out, MemorySegment.NULL);
        if (rc != OpenCL.CL_SUCCESS) {
            throw failed("clGetSupportedImageFormats", rc, null);
        }
        return out;
    }

    private static int formats(long context, long flags, int type, int entries, MemorySegment out,
                               MemorySegment count) {
        try {
            return (int) GET_SUPPORTED_IMAGE_FORMATS.invokeExact(context, flags, type, entries, out, count);
        } catch (Throwable t) {
            throw new IllegalStateException("native call clGetSupportedImageFormats failed: " + t, t);
        }
    }
}
