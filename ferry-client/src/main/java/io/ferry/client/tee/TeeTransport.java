package io.ferry.client.tee;

import io.ferry.protocol.Op;
import java.lang.foreign.MemorySegment;

/**
 * What the TEE client needs of a connection: synchronous and one-way calls with a binary reply, and the region
 * heap. {@code Ferry.teeTransport()} implements it over a connection.
 * A Ferry-level failure (host gone, session closed, protocol error) is thrown as a
 * {@link io.ferry.client.FerryException}; the TEE client turns it into COMMUNICATION with origin COMMS (UNSUPPORTED,
 * a host that gives the guest no TEE: ACCESS_DENIED or NOT_SUPPORTED).
 */
public interface TeeTransport {

    /** A completion: four result words and the raw blob. */
    record Reply(long r0, long r1, long r2, long r3, byte[] blob) {
    }

    /** Makes a synchronous call and waits for its completion. */
    Reply call(Op op, byte[] blob, long... args);

    /** Sends a one-way call (its failure surfaces at a later synchronous call). */
    void send(Op op, long... args);

    /**
     * Allocates a block of the region heap (64-byte aligned; 4 KiB aligned from 64 KiB) whose segment the application
     * may see: using it after {@link HeapMemory#close()} throws {@link IllegalStateException}.
     */
    HeapMemory allocate(long bytes);

    /**
     * A block for the TEE client's own staging (temporary memrefs, shadows), which never leaves it: its segment may
     * be unscoped, so closing it costs less than closing one of {@link #allocate}'s.
     */
    default HeapMemory allocateStaging(long bytes) {
        return allocate(bytes);
    }

    /** The heap offset of {@code segment} when it lies inside the region heap, else -1. */
    long heapOffset(MemorySegment segment);

    /**
     * Whether the connection is still open (not closed by the application). A closed connection's calls answer
     * COMMUNICATION without touching it.
     */
    default boolean isOpen() {
        return true;
    }

    /**
     * Whether the host's processes map this transport's heap, so that a TEE session may be given a direct lane in it
     * (docs/protocol.md, "Direct TEE lanes"): a process guest on a shared region, not a stream or a VM. Default false.
     */
    default boolean sharesHeap() {
        return false;
    }

    /**
     * Throws the {@link io.ferry.client.FerryException} the next call would fail with when the connection can carry no
     * more calls (the host gone or restarted, the session ended); else returns at once. Cheap: a direct TEE call checks
     * it while it waits, where no ring call watches the host. Default: nothing to check.
     */
    default void checkAlive() {
    }

    /** A block of the region heap. */
    interface HeapMemory extends AutoCloseable {
        long offset();

        MemorySegment segment();

        @Override
        void close();
    }
}
