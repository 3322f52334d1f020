package io.ferry.channel;

import io.ferry.protocol.CompletionRecord;
import java.lang.foreign.MemorySegment;

/**
 * Reads completions out of a completion ring ({@link SpscRing#poll}), framed and checked once, for every side that
 * waits on answers: the guest library and the host's side of a device worker. A record whose header does not fit
 * or whose blob overruns it is a corrupt ring ({@link RingCorruptedException}); a well-framed one goes to
 * {@link #onCompletion} through a {@link CompletionRecord} flyweight over the ring's private copy.
 */
public abstract class CompletionReader implements RecordHandler {
    private final CompletionRecord record = new CompletionRecord();

    @Override
    public final void onRecord(int type, MemorySegment rec, int length) {
        CompletionRecord c = record.wrap(rec, 0);
        String problem = c.problem(length);
        if (problem != null) {
            throw new RingCorruptedException(problem);
        }
        onCompletion(type, c);
    }

    /**
     * One well-framed completion; {@code c} is valid only during the call.
     *
     * @param type the frame type: the opcode answered, or {@link io.ferry.protocol.Wire#SESSION_CLOSED_TYPE}
     */
    protected abstract void onCompletion(int type, CompletionRecord c);
}
