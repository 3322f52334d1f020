package io.ferry.channel;

import static io.ferry.channel.RegionDescriptor.FRAME_HEADER_LENGTH;
import static io.ferry.channel.RegionDescriptor.PADDING_TYPE;
import static io.ferry.channel.RegionDescriptor.RING_DATA_OFFSET;
import static io.ferry.channel.RegionDescriptor.RING_HEAD_OFFSET;
import static io.ferry.channel.RegionDescriptor.RING_TAIL_OFFSET;

import io.ferry.protocol.Futex;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * A single-producer single-consumer ring of length-prefixed records over one ring section of a region
 * (layout in {@link RegionDescriptor}). One thread may act as producer ({@link #tryClaim}, {@link #publish},
 * {@link #freeBytes}) and one thread as consumer ({@link #poll}, {@link #isEmpty}); the two are usually in
 * different processes, each with its own view over the same shared bytes. Nothing else is thread safe.
 *
 * <h2>Why it is shaped this way</h2>
 * <ul>
 *   <li><b>The peer is hostile.</b> Whatever the other side may write (its position word, every record byte,
 *       and, since it is all shared, even our own position word) is read at most once into a local and
 *       validated before it is used. Each view keeps its own positions privately and only <em>writes</em> them
 *       to shared memory; it never reads its own position back. A record is validated from its frame header
 *       (one 8-byte read) and then copied into a private scratch buffer; the handler sees only that copy, so it
 *       cannot double-fetch guest memory. Any violation throws {@link RingCorruptedException} naming the check
 *       and the values read; no violation ever reads or writes outside the ring section.</li>
 *   <li><b>Claim, then publish.</b> {@link #tryClaim} writes the frame header and reserves space but publishes
 *       nothing; {@link #publish} makes every claimed record visible with one release store of TAIL, so a batch
 *       of records costs one index update and one cache-line transfer.</li>
 *   <li><b>Cached head.</b> The producer re-reads HEAD only when its cached copy says the ring is full, so in
 *       the common case claiming touches no line the consumer writes.</li>
 *   <li><b>Records never wrap.</b> A record that does not fit before the end of the data is preceded by a
 *       padding record, so a record is always one contiguous slice and can be copied with one call.
 *       Max record length is half the capacity, which bounds the padding waste.</li>
 *   <li><b>Consumer batches HEAD.</b> {@link #poll} stores HEAD once, after the batch (or when the batch ends
 *       early with an exception), with a release store that orders the reads of the consumed records before
 *       the producer may overwrite them.</li>
 * </ul>
 *
 * <h2>Memory order</h2>
 * Producer: plain writes of a record, then {@code setRelease(TAIL)}; consumer: {@code getAcquire(TAIL)}, then
 * plain reads of the records. Consumer: plain reads (copy) of the records, then {@code setRelease(HEAD)};
 * producer: {@code getAcquire(HEAD)}, then plain writes over the freed space.
 */
public final class SpscRing {

    /** Little-endian long access with explicit memory order; coordinates (MemorySegment, long offset). */
    private static final VarHandle POSITION = RegionHeader.LONG.varHandle();
    private static final VarHandle WORD = RegionHeader.INT.varHandle();

    private final String name;
    private final MemorySegment section;
    private final int capacity;
    private final int mask;
    private final int maxRecordLength;

    /** Non-null when the positions found at attach (or reset) time were inconsistent. */
    private String attachError;

    // Producer-private state: only the producer thread touches these.
    private long producerTail;
    private long pendingTail;
    private long cachedHead;

    // Consumer-private state: only the consumer thread touches these.
    private long consumerHead;
    /** False once a futex wait failed on this mapping: nap instead. */
    private boolean futexes = true;
    private MemorySegment scratch;
    /** Where futexes do not reach the peer (a VM): the eventfd/interrupt doorbell of this side, or null. */
    private volatile RingDoorbell doorbell;

    /**
     * A view over a ring section. Reads HEAD and TAIL once to pick up where the ring stands; if they are
     * inconsistent, the first producer or consumer call throws {@link RingCorruptedException} until
     * {@link #reset()}.
     *
     * @param name     names the ring in messages, e.g. "command"
     * @param section  the ring section: 256-byte control block then {@code capacity} data bytes, 8-byte aligned
     * @param capacity data bytes, a power of two of at least 16
     * @throws IllegalArgumentException when the section is too small or misaligned or the capacity is invalid
     */
    public SpscRing(String name, MemorySegment section, int capacity) {
        this.name = Objects.requireNonNull(name, "name");
        if (!RegionDescriptor.isPowerOfTwo(capacity) || capacity < 16) {
            throw new IllegalArgumentException("ring capacity " + capacity + " must be a power of two >= 16");
        }
        if (section.byteSize() < RING_DATA_OFFSET + (long) capacity) {
            throw new IllegalArgumentException("ring section of " + section.byteSize() + " bytes is too small for "
                    + capacity + " data bytes plus a " + RING_DATA_OFFSET + "-byte control block");
        }
        if (section.maxByteAlignment() < Long.BYTES) {
            throw new IllegalArgumentException("ring section must be 8-byte aligned");
        }
        this.section = section;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.maxRecordLength = RegionDescriptor.maxRecordLengthFor(capacity);
        attach();
    }

    private void attach() {
        // Acquire: if the peer was active, see the records up to the positions read.
        long head = (long) POSITION.getAcquire(section, (long) RING_HEAD_OFFSET);
        long tail = (long) POSITION.getAcquire(section, (long) RING_TAIL_OFFSET);
        attachError = null;
        if (head < 0 || head > tail || tail - head > capacity || ((head | tail) & 7) != 0) {
            attachError = name + " ring: inconsistent positions at attach: head=" + head + " tail=" + tail
                    + " capacity=" + capacity + " (need 0 <= head <= tail <= head + capacity, both 8-aligned);"
                    + " reset the ring by reconnecting the session";
            head = 0;
            tail = 0;
        }
        producerTail = tail;
        pendingTail = tail;
        cachedHead = head;
        consumerHead = head;
    }

    /**
     * Picks up the positions in shared memory again, as at construction: for a side that takes over a ring another
     * process used (the host, after the worker that produced the guest's completions is gone).
     */
    public void resync() {
        attach();
    }

    /** Names the ring in messages. */
    public String name() {
        return name;
    }

    /** The ring section: control block then data. Offsets returned by {@link #tryClaim} are into this. */
    public MemorySegment segment() {
        return section;
    }

    /** Data bytes of the ring. */
    public int capacity() {
        return capacity;
    }

    /** The longest record, frame header included, that {@link #tryClaim} accepts: half the capacity. */
    public int maxRecordLength() {
        return maxRecordLength;
    }

    // ---- producer -----------------------------------------------------------------------------------------

    /**
     * Producer: reserves space for a record of {@code length} bytes (frame header included) and writes its
     * frame header; the caller writes the body at {@code offset + 8 .. offset + length} of {@link #segment()}
     * and later calls {@link #publish()}. The record is invisible to the consumer until then.
     *
     * @param type   the record type, zero or positive (negative types are reserved; -1 is padding)
     * @param length the record length including the 8-byte frame header, 8 to {@link #maxRecordLength()}
     * @return the offset of the record's frame header within {@link #segment()}, or -1 when the ring has not
     *         enough free space now (try again after the consumer catches up)
     * @throws IllegalArgumentException when {@code type} or {@code length} is out of range
     * @throws RingCorruptedException   when the consumer's HEAD breaks the ring protocol
     */
    public long tryClaim(int type, int length) {
        if (type < 0) {
            throw new IllegalArgumentException("record type " + type + " is reserved: use 0 or more");
        }
        if (length < FRAME_HEADER_LENGTH || length > maxRecordLength) {
            throw new IllegalArgumentException("record length " + length + " must be between "
                    + FRAME_HEADER_LENGTH + " and " + maxRecordLength + " (half the " + name + " ring's capacity)");
        }
        checkAttached();
        int aligned = (int) RegionDescriptor.alignRecord(length);
        long pending = pendingTail;
        int index = (int) (pending & mask);
        int toEnd = capacity - index;
        int padding = aligned > toEnd ? toEnd : 0;
        long end = pending + padding + aligned;
        if (end - cachedHead > capacity) {
            long head = readHeadAsProducer();
            if (end - head > capacity) {
                return -1;
            }
        }
        if (padding != 0) {
            section.set(RegionHeader.LONG, RING_DATA_OFFSET + index, frameWord(PADDING_TYPE, padding));
            index = 0;
        }
        long offset = RING_DATA_OFFSET + index;
        section.set(RegionHeader.LONG, offset, frameWord(type, length));
        pendingTail = end;
        return offset;
    }

    /** Producer: makes every record claimed since the last publish visible to the consumer. */
    public void publish() {
        if (publishQuietly()) {
            wakeConsumer(); // its full fence: TAIL is visible before CONSUMER_WAITING is read (Dekker with sleep)
        }
    }

    /**
     * Producer: as {@link #publish()}, without looking at the doorbell: for a producer that hands its records to the
     * consumer itself (a stream client's caller sending its own records) and rings with {@link #wakeConsumer()} only
     * when it could not.
     *
     * @return whether anything was published
     */
    public boolean publishQuietly() {
        long pending = pendingTail;
        if (pending == producerTail) {
            return false;
        }
        producerTail = pending;
        // Release: the record bytes written since the last publish become visible no later than TAIL;
        // pairs with the consumer's getAcquire(TAIL).
        POSITION.setRelease(section, (long) RING_TAIL_OFFSET, pending);
        return true;
    }

    /**
     * Sets this view's doorbell for a peer that futexes do not reach (null: none): {@link #publish} rings it when the
     * consumer sleeps, and {@link #awaitData} sleeps on it. Set by the side that owns this view, before use or
     * between uses.
     */
    public void doorbell(RingDoorbell doorbell) {
        this.doorbell = doorbell;
    }

    /** This view's doorbell, or null. */
    public RingDoorbell doorbell() {
        return doorbell;
    }

    /**
     * Consumer: sleeps until the producer publishes, at most {@code timeoutNanos} (a futex across processes on one
     * machine; the {@link #doorbell(RingDoorbell) doorbell} where one is set, as across a VM boundary; else a plain
     * nap where futexes do not reach the producer, as from inside a VM). May return early.
     */
    public void awaitData(long timeoutNanos) {
        sleep(timeoutNanos, true);
    }

    /**
     * Consumer that is not reading the ring now (a host endpoint between sessions): sleeps until the producer
     * {@linkplain #wakeConsumer() wakes} it or publishes, at most {@code timeoutNanos}, whatever the ring holds.
     * May return early.
     */
    public void awaitDoorbell(long timeoutNanos) {
        sleep(timeoutNanos, false);
    }

    /**
     * Producer, without a record: rings the doorbell if the consumer sleeps (a guest that has just asked for a
     * session, so the host's endpoint sees the request at once rather than at its next timed wake-up).
     */
    public void wakeConsumer() {
        // Full fence: what the caller stored before (the connect request) is visible before we read
        // CONSUMER_WAITING, as in publish (Dekker with sleep).
        VarHandle.fullFence();
        if ((int) WORD.getOpaque(section, (long) RegionDescriptor.RING_CONSUMER_WAITING_OFFSET) != 0) {
            WORD.getAndAdd(section, (long) RegionDescriptor.RING_DOORBELL_OFFSET, 1);
            Futex.wake(section.asSlice(RegionDescriptor.RING_DOORBELL_OFFSET, 4));
            RingDoorbell d = doorbell;
            if (d != null) {
                d.ring();
            }
        }
    }

    private void sleep(long timeoutNanos, boolean forData) {
        MemorySegment bell = section.asSlice(RegionDescriptor.RING_DOORBELL_OFFSET, 4);
        int rung = (int) WORD.getAcquire(section, (long) RegionDescriptor.RING_DOORBELL_OFFSET);
        WORD.setVolatile(section, (long) RegionDescriptor.RING_CONSUMER_WAITING_OFFSET, 1);
        try {
            // After announcing ourselves (volatile: a full fence), look once more: a publish before the
            // announcement did not ring.
            long tail = (long) POSITION.getAcquire(section, (long) RING_TAIL_OFFSET);
            if (forData && tail != consumerHead) {
                return;
            }
            RingDoorbell d = doorbell;
            if (d != null && d.await(timeoutNanos)) {
                return;
            }
            if (!futexes || !Futex.await(bell, rung, timeoutNanos)) {
                futexes = false;
                java.util.concurrent.locks.LockSupport.parkNanos(timeoutNanos);
            }
        } finally {
            WORD.setRelease(section, (long) RegionDescriptor.RING_CONSUMER_WAITING_OFFSET, 0);
        }
    }

    /**
     * Producer: bytes free for claims now (re-reads the consumer's HEAD). A record of length {@code n} needs
     * {@code n} rounded up to 8, plus padding when it does not fit before the end of the data.
     *
     * @throws RingCorruptedException when the consumer's HEAD breaks the ring protocol
     */
    public long freeBytes() {
        checkAttached();
        return capacity - (pendingTail - readHeadAsProducer());
    }

    /** Reads the consumer's HEAD once, validates it against what this producer knows and caches it. */
    private long readHeadAsProducer() {
        // Acquire: the consumer's reads of the space it freed happen before our writes into it.
        long head = (long) POSITION.getAcquire(section, (long) RING_HEAD_OFFSET);
        long tail = producerTail;
        if (head > tail) {
            throw corrupted("producer check head <= tail failed: head=" + head + " tail=" + tail);
        }
        if (tail - head > capacity) {
            throw corrupted("producer check tail - head <= capacity failed: head=" + head + " tail=" + tail
                    + " capacity=" + capacity);
        }
        if (head < cachedHead) {
            throw corrupted("producer check head moves forward failed: head=" + head + " was " + cachedHead);
        }
        if ((head & 7) != 0) {
            throw corrupted("producer check head 8-aligned failed: head=" + head);
        }
        cachedHead = head;
        return head;
    }

    // ---- consumer -----------------------------------------------------------------------------------------

    /**
     * Consumer: takes up to {@code limit} published records in order and hands each to {@code handler} as a
     * private copy (see {@link RecordHandler}). Padding records are skipped and not counted. HEAD is stored
     * once, after the batch. If the handler throws, HEAD has already been advanced past that record (it is
     * not delivered again), is stored, and the exception propagates; except {@link Deferred}, which leaves the record
     * in the ring. The handler must not call {@code poll}.
     *
     * @return the number of records handed to {@code handler}
     * @throws RingCorruptedException when TAIL or a record breaks the ring protocol; records before the bad
     *                                one have been consumed, HEAD stops at the bad one
     */
    public int poll(RecordHandler handler, int limit) {
        checkAttached();
        // Acquire: the producer's record writes before its release of TAIL are visible to our reads below.
        long tail = (long) POSITION.getAcquire(section, (long) RING_TAIL_OFFSET);
        long head = consumerHead;
        if (tail < head) {
            throw corrupted("consumer check head <= tail failed: head=" + head + " tail=" + tail);
        }
        if (tail - head > capacity) {
            throw corrupted("consumer check tail <= head + capacity failed: head=" + head + " tail=" + tail
                    + " capacity=" + capacity);
        }
        if ((tail & 7) != 0) {
            throw corrupted("consumer check tail 8-aligned failed: tail=" + tail);
        }
        long position = head;
        int count = 0;
        try {
            while (count < limit && position < tail) {
                int index = (int) (position & mask);
                long offset = RING_DATA_OFFSET + index;
                // One 8-byte read of the frame header: length and type are fetched exactly once.
                long word = section.get(RegionHeader.LONG, offset);
                long length = word & 0xFFFF_FFFFL;
                int type = (int) (word >>> 32);
                if (length < FRAME_HEADER_LENGTH) {
                    throw corrupted("consumer check record length >= " + FRAME_HEADER_LENGTH + " failed: length="
                            + length + " type=" + type + " at position " + position);
                }
                long aligned = RegionDescriptor.alignRecord(length);
                if (aligned > tail - position) {
                    throw corrupted("consumer check record within published bytes failed: length=" + length
                            + " type=" + type + " at position " + position + " but only " + (tail - position)
                            + " bytes published (tail=" + tail + ")");
                }
                if (index + aligned > capacity) {
                    throw corrupted("consumer check record does not cross the end failed: length=" + length
                            + " type=" + type + " at index " + index + " of " + capacity);
                }
                if (type < 0) {
                    if (type != PADDING_TYPE) {
                        throw corrupted("consumer check record type >= 0 or padding (-1) failed: type=" + type
                                + " length=" + length + " at position " + position);
                    }
                    if (index + length != capacity) {
                        throw corrupted("consumer check padding ends at the end failed: length=" + length
                                + " at index " + index + " of " + capacity);
                    }
                    position += length;
                    continue;
                }
                if (length > maxRecordLength) {
                    throw corrupted("consumer check record length <= " + maxRecordLength + " failed: length="
                            + length + " type=" + type + " at position " + position);
                }
                MemorySegment copy = scratch();
                MemorySegment.copy(section, offset, copy, 0, length);
                // The copied header may differ from the validated one if the peer raced us: use ours.
                copy.set(RegionHeader.LONG, 0, word);
                position += aligned;
                count++;
                try {
                    handler.onRecord(type, copy, (int) length);
                } catch (Deferred d) {
                    // not consumed: HEAD stays before this record, for whoever consumes the ring next
                    position -= aligned;
                    count--;
                    throw d;
                }
            }
        } finally {
            if (position != head) {
                consumerHead = position;
                // Release: our reads (copies) of the consumed records happen before the producer, after its
                // getAcquire(HEAD), overwrites that space.
                POSITION.setRelease(section, (long) RING_HEAD_OFFSET, position);
            }
        }
        return count;
    }

    /**
     * Thrown by a {@link RecordHandler} that does not take the record it was given: {@link #poll} then leaves HEAD
     * before that record (it stays in the ring for the next consumer, e.g. another process the ring is handed to)
     * and rethrows. Records before it in the batch are consumed.
     */
    public static class Deferred extends RuntimeException {
        public Deferred(String why) {
            super(why, null, false, false);
        }
    }

    /**
     * Either side, as a hint only: whether the consumer has not yet taken everything published (TAIL and HEAD differ;
     * neither is validated, so a hostile peer can only make this answer wrong). A server asks it of the ring it
     * answers on, to see whether its caller is running ({@link RingIdleStrategy}).
     */
    public boolean holdsUnread() {
        return (long) POSITION.getOpaque(section, (long) RING_TAIL_OFFSET)
                != (long) POSITION.getOpaque(section, (long) RING_HEAD_OFFSET);
    }

    /** Consumer: whether no published record (or padding) is waiting. */
    public boolean isEmpty() {
        return (long) POSITION.getAcquire(section, (long) RING_TAIL_OFFSET) == consumerHead;
    }

    // ---- both ---------------------------------------------------------------------------------------------

    /**
     * Empties the ring: stores HEAD = TAIL = 0 and clears this view's private state (pending claims included).
     * Call only while the ring is quiescent and both sides agree, as in a session reconnect: the host resets
     * before acknowledging the connect request, the guest resets its own views after seeing the
     * acknowledgement and before producing. A view in another process keeps its private state until it is
     * reset too.
     */
    public void reset() {
        // Release: anything this side wrote before the reset is ordered before the zeroed positions.
        POSITION.setRelease(section, (long) RING_HEAD_OFFSET, 0L);
        POSITION.setRelease(section, (long) RING_TAIL_OFFSET, 0L);
        attachError = null;
        producerTail = 0;
        pendingTail = 0;
        cachedHead = 0;
        consumerHead = 0;
    }

    @Override
    public String toString() {
        return "SpscRing[" + name + ", capacity=" + capacity + "]";
    }

    private MemorySegment scratch() {
        MemorySegment s = scratch;
        if (s == null) {
            // Native, 8-byte aligned and owned by this view: handlers may read aligned longs, take a
            // ByteBuffer view or pass it to native code. Freed with the view.
            s = Arena.ofAuto().allocate(maxRecordLength, Long.BYTES);
            scratch = s;
        }
        return s;
    }

    private void checkAttached() {
        if (attachError != null) {
            throw new RingCorruptedException(attachError);
        }
    }

    private RingCorruptedException corrupted(String detail) {
        return new RingCorruptedException(name + " ring: " + detail
                + "; the peer broke the ring protocol, close the session");
    }

    private static long frameWord(int type, long length) {
        return ((long) type << 32) | (length & 0xFFFF_FFFFL);
    }
}
