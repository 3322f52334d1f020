package io.ferry.client;

/** Device memory. */
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

    DeviceBuffer(Ferry ferry, long handle, long size) {
        super(ferry, handle);
        this.size = size;
    }

    public long size() {
        return size;
    }
}
