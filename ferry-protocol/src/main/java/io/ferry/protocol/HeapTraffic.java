package io.ferry.protocol;

import java.lang.foreign.MemorySegment;

/** PLACEHOLDER on branch net-host until the lead's HeapTraffic lands on main; replaced at the merge. */
public final class HeapTraffic {
    public enum Direction { IN, OUT }

    public record Range(long offset, long length, Direction direction) {
    }

    public interface SharedMemory {
        long offset(long shmHandle);

        long size(long shmHandle);
    }

    private HeapTraffic() {
    }

    public static void ranges(MemorySegment rec, SharedMemory shm, java.util.function.Consumer<Range> out) {
        CallRecord r = new CallRecord().wrap(rec, 0);
        Op op = Op.of(r.op());
        if (op == Op.BUFFER_READ) {
            out.accept(new Range(r.arg(4), r.arg(3), Direction.OUT));
        } else if (op == Op.BUFFER_WRITE) {
            out.accept(new Range(r.arg(4), r.arg(3), Direction.IN));
        }
    }

    public static long queue(MemorySegment rec) {
        CallRecord r = new CallRecord().wrap(rec, 0);
        Op op = Op.of(r.op());
        return op != null && !op.argNames().isEmpty() && op.argNames().getFirst().equals("queue") ? r.arg(0) : 0;
    }

    public static long event(MemorySegment rec) {
        CallRecord r = new CallRecord().wrap(rec, 0);
        Op op = Op.of(r.op());
        int i = op == null ? -1 : op.argNames().indexOf("event");
        return i < 0 ? 0 : r.arg(i);
    }

    public static boolean hasHeapRanges(Op op) {
        return op == Op.BUFFER_READ || op == Op.BUFFER_WRITE;
    }
}
