package io.ferry.opencl;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.spi.ArgumentBindings;
import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * What a kernel declares about its arguments (from {@code clGetKernelArgInfo}, where the platform offers it) and
 * which of them have been set. Checks each {@code setKernelArg*} call against the declaration before the native call,
 * so the guest learns which argument is wrong and why, rather than a bare {@code CL_INVALID_ARG_VALUE}. Indices
 * arrive checked by the host (below {@link #count}).
 */
final class KernelArgs {
    /** Declared kind of one argument. */
    enum Space { GLOBAL, CONSTANT, LOCAL, PRIVATE }

    final String kernelName;
    final int count;
    /** Per argument; null when the platform gives no argument info. */
    private final Space[] spaces;
    private final String[] typeNames;
    private final String[] argNames;
    private final ArgumentBindings bindings;

    KernelArgs(String kernelName, int count, Space[] spaces, String[] typeNames, String[] argNames) {
        this.kernelName = kernelName;
        this.count = count;
        this.spaces = spaces;
        this.typeNames = typeNames;
        this.argNames = argNames;
        this.bindings = new ArgumentBindings(kernelName, "argument", count);
    }

    /** Reads the argument count and, where available, each argument's address space, type name and name. */
    static KernelArgs query(long kernel, String kernelName) throws BackendException {
        int count;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            ClErrors.check("clGetKernelInfo", OpenCL.Info.KERNEL.call(kernel, OpenCL.CL_KERNEL_NUM_ARGS, 4, value,
                    MemorySegment.NULL), "CL_KERNEL_NUM_ARGS of kernel '" + kernelName + "'");
            count = value.get(JAVA_INT, 0);
        }
        Space[] spaces = new Space[count];
        String[] types = new String[count];
        String[] names = new String[count];
        for (int i = 0; i < count; i++) {
            long q = argNumber(kernel, i, OpenCL.CL_KERNEL_ARG_ADDRESS_QUALIFIER);
            if (q < 0) {
                return new KernelArgs(kernelName, count, null, null, null); // no argument info: check indices only
            }
            spaces[i] = switch ((int) q) {
                case OpenCL.CL_KERNEL_ARG_ADDRESS_GLOBAL -> Space.GLOBAL;
                case OpenCL.CL_KERNEL_ARG_ADDRESS_CONSTANT -> Space.CONSTANT;
                case OpenCL.CL_KERNEL_ARG_ADDRESS_LOCAL -> Space.LOCAL;
                default -> Space.PRIVATE;
            };
            types[i] = argString(kernel, i, OpenCL.CL_KERNEL_ARG_TYPE_NAME);
            names[i] = argString(kernel, i, OpenCL.CL_KERNEL_ARG_NAME);
        }
        return new KernelArgs(kernelName, count, spaces, types, names);
    }

    private static long argNumber(long kernel, int index, int param) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            int rc = OpenCL.getKernelArgInfo(kernel, index, param, 4, value, MemorySegment.NULL);
            return rc == OpenCL.CL_SUCCESS ? Integer.toUnsignedLong(value.get(JAVA_INT, 0)) : -1;
        }
    }

    private static String argString(long kernel, int index, int param) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            if (OpenCL.getKernelArgInfo(kernel, index, param, 0, MemorySegment.NULL, size) != OpenCL.CL_SUCCESS) {
                return null;
            }
            long n = size.get(JAVA_LONG, 0);
            MemorySegment value = arena.allocate(Math.max(1, n));
            if (OpenCL.getKernelArgInfo(kernel, index, param, n, value, MemorySegment.NULL) != OpenCL.CL_SUCCESS) {
                return null;
            }
            return n == 0 ? "" : value.getString(0, StandardCharsets.UTF_8);
        }
    }

    /** {@code "argument 2 'n' (int)"}, with as much as is known. */
    String describe(int index) {
        StringBuilder sb = new StringBuilder("argument ").append(index);
        if (argNames != null && argNames[index] != null && !argNames[index].isEmpty()) {
            sb.append(" '").append(argNames[index]).append('\'');
        }
        String type = declaredType(index);
        if (type != null) {
            sb.append(" (").append(type).append(')');
        }
        return sb.toString();
    }

    /** The declared type with its address space, e.g. {@code "__global float*"} or {@code "int"}; null if unknown. */
    String declaredType(int index) {
        if (spaces == null) {
            return null;
        }
        String type = typeNames[index] == null ? "?" : typeNames[index];
        return switch (spaces[index]) {
            case GLOBAL -> "__global " + type;
            case CONSTANT -> "__constant " + type;
            case LOCAL -> "__local " + type;
            case PRIVATE -> type;
        };
    }

    /** Context for native error messages: {@code "kernel 'vadd' argument 2 'n' (int)"}. */
    String context(int index) {
        return "kernel '" + kernelName + "' " + describe(index);
    }

    private BackendException invalid(String message) {
        return new BackendException(Status.INVALID_KERNEL_ARGS, message);
    }

    /** {@code "kernel 'vadd' argument 3 'n' is declared 'int' but "}. */
    private String declaredBut(int index) {
        StringBuilder sb = new StringBuilder("kernel '").append(kernelName).append("' argument ").append(index);
        if (argNames[index] != null && !argNames[index].isEmpty()) {
            sb.append(" '").append(argNames[index]).append('\'');
        }
        return sb.append(" is declared '").append(declaredType(index)).append("' but ").toString();
    }

    private static String remedy(Space space) {
        return switch (space) {
            case GLOBAL, CONSTANT -> "pass a buffer";
            case LOCAL -> "pass a local memory size";
            case PRIVATE -> "pass a value";
        };
    }

    void checkBuffer(int index) throws BackendException {
        if (spaces != null && (spaces[index] == Space.PRIVATE || spaces[index] == Space.LOCAL)) {
            throw invalid(declaredBut(index) + "a buffer was passed: " + remedy(spaces[index]));
        }
    }

    void checkValue(int index, long bytes) throws BackendException {
        if (spaces != null && spaces[index] != Space.PRIVATE) {
            throw invalid(declaredBut(index) + "a value of " + bytes + " bytes was passed: " + remedy(spaces[index]));
        }
    }

    void checkLocal(int index, long bytes) throws BackendException {
        if (spaces != null && spaces[index] != Space.LOCAL) {
            throw invalid(declaredBut(index) + "a local memory size of " + bytes + " bytes was passed: "
                    + remedy(spaces[index]));
        }
    }

    /** Records a successful set; {@code buffer} is the bound buffer or null. */
    void markSet(int index, ClObject buffer) {
        bindings.markSet(index, buffer);
    }

    /** Throws unless every argument is set and no bound buffer has been released. */
    void checkLaunch() throws BackendException {
        bindings.checkLaunch(this::describeBare);
    }

    /** {@code "kernel 'vadd': arguments not set: 1 'b' (__global float*), 2 'n' (int)"}. */
    String notSetMessage() {
        return bindings.notSetMessage(this::describeBare);
    }

    private String describeBare(int index) {
        return describe(index).substring("argument ".length());
    }
}
