package io.ferry.client;

import java.lang.foreign.MemorySegment;

/**
 * Device memory: a buffer, or a sub-buffer of one ({@link #subBuffer}). Map a range into the heap with
 * {@link CommandQueue#map}. It holds device memory and a host object until {@link #close()}: close it when done (see
 * docs/client.md#lifetimes).
 */
public final class DeviceBuffer extends Remote {
    /** How kernels may use a buffer. */
    public enum Access {
        READ_WRITE(0), READ_ONLY(1), WRITE_ONLY(2);

        private final int code;

        Access(int code) {
            this.code = code;
        }

        int code() {
            return code;
        }
    }

    private final long size;
    /**
     * The heap block a buffer created over heap memory uses in place (a sub-buffer's: its parent's): it must outlive
     * the buffer.
     */
    private final HeapBlock backing;
    /** The heap memory the buffer is made over (a heap-backed buffer or a sub-buffer of one), or null. */
    private final MemorySegment heapMemory;

    DeviceBuffer(Ferry ferry, long handle, long size) {
        this(ferry, handle, size, null, null);
    }

    DeviceBuffer(Ferry ferry, long handle, long size, HeapBlock backing) {
        this(ferry, handle, size, backing, backing == null ? null : backing.segment());
    }

    DeviceBuffer(Ferry ferry, long handle, long size, HeapBlock backing, MemorySegment heapMemory) {
        super(ferry, handle);
        this.size = size;
        this.backing = backing;
        this.heapMemory = heapMemory;
    }

    /** Size in bytes. */
    public long size() {
        return size;
    }

    /**
     * A sub-buffer over {@code [offset, offset + size)} of this buffer ({@code clCreateSubBuffer}), sharing its
     * memory, with this buffer's access. {@code offset} must be a multiple of the device's base-address alignment
     * (128 bytes on PoCL): the host refuses others, naming it. Closing this buffer first is allowed: its memory lives
     * until its last sub-buffer is closed. A sub-buffer of a sub-buffer is refused.
     */
    public DeviceBuffer subBuffer(long offset, long size) {
        return MemoryCommands.subBuffer(this, offset, size, null);
    }

    /** As {@link #subBuffer(long, long)}, with kernels' {@code access} (which the parent's must allow). */
    public DeviceBuffer subBuffer(long offset, long size, Access access) {
        return MemoryCommands.subBuffer(this, offset, size, access);
    }

    /** The heap memory of a heap-backed buffer, or null. */
    MemorySegment heapMemory() {
        return heapMemory;
    }

    /** The heap block a heap-backed buffer uses in place, or null. */
    HeapBlock backing() {
        return backing;
    }
}
