package io.ferry.client;

import io.ferry.protocol.Op;
import java.lang.foreign.MemorySegment;

/**
 * A kernel and its arguments. Setting an argument is one-way: a wrong kind (a buffer for a scalar, say) is
 * reported by the next synchronous call, naming the failed call.
 */
public final class Kernel extends Remote {
    private final String name;
    private final int argCount;

    Kernel(Ferry ferry, long handle, String name, int argCount) {
        super(ferry, handle);
        this.name = name;
        this.argCount = argCount;
    }

    public String name() {
        return name;
    }

    public int argCount() {
        return argCount;
    }

    public Kernel arg(int index, Buffer buffer) {
        channel().oneWay(Op.KERNEL_ARG_BUFFER, true, (byte[]) null, handle, index, buffer.handle);
        return this;
    }

    public Kernel arg(int index, int value) {
        return value(index, new byte[] {(byte) value, (byte) (value >> 8), (byte) (value >> 16), (byte) (value >> 24)});
    }

    public Kernel arg(int index, float value) {
        return arg(index, Float.floatToRawIntBits(value));
    }

    public Kernel arg(int index, long value) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (value >> (8 * i));
        }
        return value(index, b);
    }

    public Kernel arg(int index, double value) {
        return arg(index, Double.doubleToRawLongBits(value));
    }

    /** A by-value argument given as raw bytes (a struct or vector type). */
    public Kernel arg(int index, MemorySegment bytes) {
        channel().oneWay(Op.KERNEL_ARG_VALUE, true, bytes, handle, index);
        return this;
    }

    /** A {@code __local} argument of {@code bytes} bytes. */
    public Kernel argLocal(int index, long bytes) {
        channel().oneWay(Op.KERNEL_ARG_LOCAL, true, (byte[]) null, handle, index, bytes);
        return this;
    }

    private Kernel value(int index, byte[] bytes) {
        channel().oneWay(Op.KERNEL_ARG_VALUE, true, bytes, handle, index);
        return this;
    }
}
