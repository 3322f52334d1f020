package io.ferry.host.tee;

import io.ferry.host.session.CallException;
import io.ferry.protocol.Status;

/**
 * Per-guest limits of the TEE service, in the manner of Xen's OP-TEE mediator (which allows 16 shared buffers per
 * guest, 129 pages per buffer and 16384 pages in all). One memref or registration may hold 1 MiB by default, at any
 * offset (GP asks for at least 512 KiB): the limit is on bytes, so 1 MiB that starts mid-page (257 pages) is as
 * welcome as 1 MiB on a page boundary. The guest's registrations together are counted in the pages they span, which
 * for one buffer is at most {@code maxBufferBytes / PAGE + 2}: bounded, and computed without overflow.
 *
 * @param maxSessions     open sessions per guest session
 * @param maxSharedMemory registered shared-memory blocks per guest
 * @param maxBufferBytes  bytes one memref or registration may hold
 * @param maxTotalPages   4 KiB pages of all registrations of a guest together
 */
public record TeeLimits(int maxSessions, int maxSharedMemory, long maxBufferBytes, long maxTotalPages) {
    public static final long PAGE = 4096;
    public static final TeeLimits DEFAULT = new TeeLimits(64, 16, 1L << 20, 16384);

    public TeeLimits {
        if (maxSessions < 1 || maxSharedMemory < 0 || maxBufferBytes < 1
                || maxTotalPages < pages(PAGE - 1, maxBufferBytes)) {
            throw new IllegalArgumentException("TEE limits must be positive, and total pages at least the pages one "
                    + "buffer may span");
        }
    }

    /**
     * Pages the range [offset, offset + size) spans, computed exactly for every non-negative offset and size (no
     * intermediate sum can overflow: a null memref of size {@code Long.MAX_VALUE} spans 2^51 pages, not a negative
     * count that passes a limit check).
     *
     * @throws IllegalArgumentException if offset or size is negative
     */
    public static long pages(long offset, long size) {
        if (offset < 0 || size < 0) {
            throw new IllegalArgumentException("a range needs a non-negative offset and size, got offset " + offset
                    + " and size " + size);
        }
        if (size == 0) {
            return 0;
        }
        // first page = offset / PAGE; last page = (offset + size - 1) / PAGE, written so nothing can overflow:
        // (r + n) / PAGE with r = offset % PAGE < PAGE and n = size - 1 is n / PAGE + (r + n % PAGE) / PAGE.
        long r = offset % PAGE;
        long n = size - 1;
        return n / PAGE + (r + n % PAGE) / PAGE + 1;
    }

    /** A client's new session or shared-memory handle: non-zero and not {@code used} on this connection. */
    static void checkNewHandle(long handle, boolean used, String what) throws CallException {
        if (handle == 0) {
            throw new CallException(Status.INVALID_ARGUMENT, what + " handle 0 is reserved");
        }
        if (used) {
            throw new CallException(Status.HANDLE_IN_USE, what + " handle " + handle + " is already in use");
        }
    }
}
