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
    /**
     * What this kernel uses and must outlive it: its program, and the buffers, images and samplers set as arguments
     * (index to object), so the cleaner never releases one while a launch may still name it.
     */
    private final Program program;
    private final java.util.Map<Integer, Remote> argBuffers = new java.util.HashMap<>();

    Kernel(Ferry ferry, long handle, Program program, String name, int argCount) {
        super(ferry, handle);
        this.program = program;
        this.name = name;
        this.argCount = argCount;
    }

    /** The program this kernel comes from. */
    public Program program() {
        return program;
    }

    public String name() {
        return name;
    }

    public int argCount() {
        return argCount;
    }

    /** A buffer argument; {@code null} passes a NULL buffer, as {@link #argNull}. */
    public Kernel arg(int index, DeviceBuffer buffer) {
        long b = buffer == null ? 0 : buffer.handle;
        channel().oneWay(new Calls.KernelArgBuffer(), true, c -> c.kernel(handle).index(index).buffer(b));
        holdArg(index, buffer); // after the send: keeps the buffer reachable until its record is written
        return this;
    }

    /** An image argument ({@code image2d_t}, {@code image3d_t}). */
    public Kernel arg(int index, Image image) {
        long h = image.handle;
        channel().oneWay(new Calls.KernelArgBuffer(), true, c -> c.kernel(handle).index(index).buffer(h));
        holdArg(index, image); // after the send: keeps the image reachable until its record is written
        return this;
    }

    /** A {@code sampler_t} argument. */
    public Kernel arg(int index, Sampler sampler) {
        channel().oneWay(new io.ferry.protocol.MemoryCalls.KernelArgSampler(), true,
                c -> c.kernel(handle).index(index).sampler(sampler.handle));
        holdArg(index, sampler);
        return this;
    }

    private void holdArg(int index, Remote buffer) {
        synchronized (argBuffers) {
            if (buffer == null) {
                argBuffers.remove(index);
            } else {
                argBuffers.put(index, buffer);
            }
        }
    }

    /** A NULL buffer argument ({@code clSetKernelArg} with a NULL {@code cl_mem}): the kernel sees a null pointer. */
    public Kernel argNull(int index) {
        return arg(index, (DeviceBuffer) null);
    }

    /**
     * The kernel's limits on its device (OpenCL's {@code clGetKernelWorkGroupInfo}): a synchronous call.
     *
     * @param workGroupSize     the largest work-group this kernel can run in (CL_KERNEL_WORK_GROUP_SIZE)
     * @param preferredMultiple work-group sizes should be multiples of this
     *                          (CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE)
     * @param localMemoryBytes  local memory the kernel uses (CL_KERNEL_LOCAL_MEM_SIZE)
     * @param privateMemoryBytes private memory per work-item (CL_KERNEL_PRIVATE_MEM_SIZE)
     */
    public record WorkGroupInfo(long workGroupSize, long preferredMultiple, long localMemoryBytes,
                                long privateMemoryBytes) {
    }

    /** Asks the host for this kernel's {@link WorkGroupInfo}. */
    public WorkGroupInfo workGroupInfo() {
        Channel.Completion c = channel().call(new io.ferry.protocol.EventCalls.KernelWorkGroupInfo(), null,
                w -> w.kernel(handle));
        if (c.r0() <= 0 || c.r1() <= 0 || c.r2() < 0 || c.r3() < 0) {
            throw new FerryException(io.ferry.protocol.Status.INTERNAL, "KERNEL_WORK_GROUP_INFO of kernel '" + name
                    + "': the host answered work-group size " + c.r0() + ", multiple " + c.r1() + ", local "
                    + c.r2() + " and private " + c.r3() + " bytes, which are no kernel limits");
        }
        return new WorkGroupInfo(c.r0(), c.r1(), c.r2(), c.r3());
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
        holdArg(index, null);
        return this;
    }

    /**
     * A {@code __local} argument of {@code bytes} bytes; more than the device's local memory
     * ({@link Device#localMemoryBytes()}) throws {@code INVALID_ARGUMENT} here.
     */
    public Kernel argLocal(int index, long bytes) {
        Device device = program.device();
        long has = device.localMemoryBytes();
        if (has > 0 && bytes > has) {
            throw new FerryException(io.ferry.protocol.Status.INVALID_ARGUMENT, "kernel '" + name + "' argument "
                    + index + ": __local size of " + bytes + " bytes exceeds the local memory of device '"
                    + device.name() + "' (" + has + " bytes, Device.localMemoryBytes()); use a smaller work-group tile");
        }
        channel().oneWay(new Calls.KernelArgLocal(), true, c -> c.kernel(handle).index(index).bytes(bytes));
        holdArg(index, null);
        return this;
    }

    private Kernel value(int index, byte[] bytes) {
        channel().oneWay(new Calls.KernelArgValue(), true, bytes, c -> c.kernel(handle).index(index));
        holdArg(index, null);
        return this;
    }
}
