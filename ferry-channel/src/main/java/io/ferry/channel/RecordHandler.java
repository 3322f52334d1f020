package io.ferry.channel;

import java.lang.foreign.MemorySegment;

/** Receives the records {@link SpscRing#poll} takes from a ring. */
@FunctionalInterface
public interface RecordHandler {

    /**
     * Handles one record.
     *
     * @param type   the record type from the frame header (never negative: padding is not delivered)
     * @param record a private copy of the record, starting at offset 0 with its 8-byte frame header and body at
     *               offset 8; it is owned by the ring view, may be larger than {@code length}, and is valid
     *               only until this method returns (the next record overwrites it). It is not shared memory,
     *               so reading it twice sees the same bytes.
     * @param length the record length from the frame header, frame header included (8 or more)
     */
    void onRecord(int type, MemorySegment record, int length);
}
