package io.ferry.client;

/** What a {@link Mapping} is for (OpenCL's {@code CL_MAP_*} flags). */
public enum MapAccess {
    /** Read the buffer's data; nothing is written back. */
    READ(true, false),
    /** Write data back at {@link Mapping#close()}; the mapping first holds the buffer's data. */
    WRITE(true, true),
    /** Read and write back. */
    READ_WRITE(true, true),
    /** Overwrite the whole mapped range: the buffer's data is not read first ({@code CL_MAP_WRITE_INVALIDATE_REGION}). */
    WRITE_INVALIDATE(false, true);

    private final boolean reads;
    private final boolean writes;

    MapAccess(boolean reads, boolean writes) {
        this.reads = reads;
        this.writes = writes;
    }

    /** Whether mapping reads the buffer's data into the mapping. */
    boolean reads() {
        return reads;
    }

    /** Whether closing the mapping writes it back to the buffer. */
    boolean writes() {
        return writes;
    }
}
