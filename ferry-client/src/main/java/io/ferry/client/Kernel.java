package io.ferry.client;

import io.ferry.protocol.Calls;
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

    public Kernel arg(int index, DeviceBuffer buffer) {
        channel().oneWay(new Calls.KernelArgBuffer(), true, c -> c.kernel(handle).index(index).buffer(buffer.handle));
        return this;
    }

    /** An image argument ({@code image2d_t}, {@code image3d_t}). */
    public Kernel arg(int index, Image image) {
        channel().oneWay(new Calls.KernelArgBuffer(), true, c -> c.kernel(handle).index(index).buffer(image.handle));
        return this;
    }

    /** A {@code sampler_t} argument. */
    public Kernel arg(int index, Sampler sampler) {
        channel().oneWay(new io.ferry.protocol.MemoryCalls.KernelArgSampler(), true,
                c -> c.kernel(handle).index(index).sampler(sampler.handle));
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
        channel().oneWay(new Calls.KernelArgValue(), true, bytes, c -> c.kernel(handle).index(index));
        return this;
    }

    /** A {@code __local} argument of {@code bytes} bytes. */
    public Kernel argLocal(int index, long bytes) {
        channel().oneWay(new Calls.KernelArgLocal(), true, c -> c.kernel(handle).index(index).bytes(bytes));
        return this;
    }

    private Kernel value(int index, byte[] bytes) {
        channel().oneWay(new Calls.KernelArgValue(), true, bytes, c -> c.kernel(handle).index(index));
        return this;
    }
}
