package io.ferry.client;

/**
 * Device memory. It holds device memory and a host object until {@link #close()}: close it when done (see
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
    /** The heap block a buffer created over heap memory uses in place: it must outlive the buffer. */
    private final HeapBlock backing;

    DeviceBuffer(Ferry ferry, long handle, long size) {
        this(ferry, handle, size, null);
    }

    DeviceBuffer(Ferry ferry, long handle, long size, HeapBlock backing) {
        super(ferry, handle);
        this.size = size;
        this.backing = backing;
    }

    /** Size in bytes. */
    public long size() {
        return size;
    }
}
