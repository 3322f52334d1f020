package io.ferry.spi;

import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The answer to an INFO query ({@link BackendSession#info}): the value's size in bytes and either its bytes (for
 * the completion's blob) or, where the guest named a heap range, whether it was written there.
 *
 * @param size    the value's size in bytes
 * @param written whether the value was written to the guest's heap range
 * @param bytes   the value, when it goes back in the completion's blob; null otherwise
 */
public record InfoValue(long size, boolean written, byte[] bytes) {

    /**
     * Delivers {@code value} as the guest asked: {@code heapSize} 0 into the completion's blob (a value over
     * {@link Wire#MAX_COMPLETION_BLOB} is refused naming its size), else into {@code [heapOffset, heapOffset +
     * heapSize)} of {@code heap} (a range the host checked) when it fits; when it does not, nothing is written and the
     * answer says how many bytes are needed.
     */
    public static InfoValue deliver(MemorySegment value, MemorySegment heap, long heapOffset, long heapSize,
                                    String what) throws BackendException {
        long n = value.byteSize();
        if (heapSize == 0) {
            if (n > Wire.MAX_COMPLETION_BLOB) {
                throw new BackendException(Status.INVALID_ARGUMENT, what + " is " + n + " bytes, over the "
                        + Wire.MAX_COMPLETION_BLOB + " a completion carries; name a heap range for it");
            }
            return new InfoValue(n, false, value.toArray(ValueLayout.JAVA_BYTE));
        }
        if (n > heapSize) {
            return new InfoValue(n, false, null);
        }
        MemorySegment dst;
        try {
            dst = heap.asSlice(heapOffset, heapSize);
        } catch (IndexOutOfBoundsException e) {
            throw new BackendException(Status.HEAP_RANGE, "heap range [" + heapOffset + ", +" + heapSize + ") is "
                    + "outside the heap of " + heap.byteSize() + " bytes (the host should have refused it)");
        }
        MemorySegment.copy(value, 0, dst, 0, n);
        return new InfoValue(n, true, null);
    }
}
