package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.UUID;

/**
 * The lane between the host and a software TEE process (one per TA instance): its layout, and a flyweight over one
 * mapped lane with a named accessor per field, the only code that knows an offset. The host writes a request and
 * publishes its sequence number; the TEE's lane thread serves it, writes the reply and publishes the same number.
 * One call is outstanding at a time, so a mailbox is enough; each sequence word has a cache line of its own, so
 * both sides spin on one line each. A side that has waited a while sleeps on a futex on the low half of the sequence
 * word it waits for, after raising that word's WAITING flag; the other side, having published, wakes it only when
 * the flag is up (a store, a full fence, a load on each side: neither can miss the other).
 *
 * <pre>
 * Lane (little-endian)
 *  0      REQUEST_SEQ  u64   host writes (volatile) after the request body; TEE reads (acquire)
 *  8      REQUEST_WAITING u32  TEE: 1 while its lane thread sleeps on REQUEST_SEQ (the host then wakes it)
 *  64     REPLY_SEQ    u64   TEE writes (volatile) after the reply body; host reads (acquire)
 *  72     REPLY_WAITING u32  host: 1 while it sleeps on REPLY_SEQ (the TEE then wakes it)
 *  128    CANCEL_SEQ   u64   host writes the seq of the request to cancel; the TA polls it
 *  192    TEE_BEAT     u64   the TEE's pid, once its lane thread is about to serve
 *  200    CLOSED       u32   direct lanes: 1 once the lane's session or TA instance is gone (the host sets it)
 *  208    DIRECT_CALLS u64   host's lane: the invokes the TEE served on its direct lanes (the TEE adds, the host reads)
 *  256    request      (REQUEST_LENGTH bytes)
 *  512    reply        (REPLY_LENGTH bytes)
 *  4096   data: memref buffers, placed by the host at offsets it chooses
 *
 * Request (152 bytes)
 *  0      4        8          16             32               48      52      56
 *  +------+--------+----------+--------------+----------------+-------+-------+---------------------------+
 *  | kind |command | session  | ta uuid      | client uuid    | login | types | param[4]: a, b, c (u64)   |
 *  | u32  | u32    | u64      | hi, lo (u64) | hi, lo (u64)   | u32   | u32   | 24 bytes each             |
 *  +------+--------+----------+--------------+----------------+-------+-------+---------------------------+
 *
 * Reply (112 bytes)
 *  0      4        8          16
 *  +------+--------+----------+---------------------------+
 *  | ret  | origin | session  | param[4]: a, b, c (u64)   |
 *  +------+--------+----------+---------------------------+
 * </pre>
 * Kinds: {@link #OPEN}, {@link #INVOKE}, {@link #CLOSE}, and on the host's lane {@link #ATTACH} (session; param 0:
 * a = the direct lane's offset in the guest's region, c = its size). Types are the normalized kinds of the backend SPI's
 * {@code TeeParams} (1–3 values, 5–7 memrefs), 4 bits each. A value parameter carries a and b; a memref carries
 * a = offset of its buffer in the data area ({@link #NULL_MEMREF} for a null memref) and c = its size; in the reply
 * c is the size the TA reported. Only the host's user can map a lane (mode 0600 in a directory of mode 0700), yet
 * the TEE side still checks every memref range against the data area ({@link #data}).
 *
 * <p><b>Direct lanes.</b> A process guest may give an open session a heap block of its region (TEE_DIRECT) laid out
 * as a lane: the TA instance's process then reads that session's invokes from it and answers there, with the host out
 * of the call (two processes per round trip instead of three). The guest plays the host's part above, with
 * {@link #INVOKE} only (the session field is ignored: the lane is bound to its session) and memrefs copied into the
 * data area; the TA's process reads each field once, checks every range, and copies memref data into memory of its
 * own before the TA sees it, since the guest can rewrite the lane at any time. Cancellation is {@link #CANCEL_SEQ}.
 * When the session closes or the instance dies the host sets {@link #CLOSED}, answers a call in flight with
 * TARGET_DEAD and wakes the guest; a guest that finds the flag set answers TARGET_DEAD without calling.
 */
public final class TeeLane {
    public static final int OPEN = 1;
    public static final int INVOKE = 2;
    public static final int CLOSE = 3;
    /** Host's lane only: serve a direct lane for a session (see "Direct lanes"). */
    public static final int ATTACH = 4;
    /** The size of a direct lane the clients give a session: 4 KiB of words and fields, then the data area. */
    public static final long DIRECT_LANE_BYTES = 64 * 1024;
    /** The bounds on a direct lane's size (a multiple of 4 KiB, at a 4 KiB-aligned region offset). */
    public static final long MIN_DIRECT_LANE_BYTES = 8 * 1024;
    public static final long MAX_DIRECT_LANE_BYTES = 1024 * 1024;
    /** Offset of a null memref. */
    public static final long NULL_MEMREF = -1;
    /** Offset of the data area; a lane is this plus its data area long. */
    public static final long DATA_OFFSET = 4096;

    public static final long REQUEST_SEQ = 0;
    public static final long REQUEST_WAITING = 8;
    public static final long REPLY_SEQ = 64;
    public static final long REPLY_WAITING = 72;
    public static final long CANCEL_SEQ = 128;
    public static final long TEE_BEAT = 192;
    public static final long CLOSED = 200;
    public static final long DIRECT_CALLS = 208;

    public static final long REQUEST = 256;
    public static final long KIND = REQUEST;
    public static final long COMMAND = REQUEST + 4;
    public static final long SESSION = REQUEST + 8;
    public static final long TA = REQUEST + 16;
    public static final long CLIENT = REQUEST + 32;
    public static final long LOGIN = REQUEST + 48;
    public static final long TYPES = REQUEST + 52;
    public static final long REQUEST_PARAMS = REQUEST + 56;
    public static final int PARAM_LENGTH = 24;
    public static final int REQUEST_LENGTH = 56 + 4 * PARAM_LENGTH;

    public static final long REPLY = 512;
    public static final long RET = REPLY;
    public static final long ORIGIN = REPLY + 4;
    public static final long REPLY_SESSION = REPLY + 8;
    public static final long REPLY_PARAMS = REPLY + 16;
    public static final int REPLY_LENGTH = 16 + 4 * PARAM_LENGTH;

    private static final long A = 0;
    private static final long B = 8;
    private static final long C = 16;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final VarHandle SEQ = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle FLAG = ValueLayout.JAVA_INT.varHandle();

    private final MemorySegment lane;
    private final long dataSize;
    /** The futex words: the low halves of REQUEST_SEQ and REPLY_SEQ. */
    private final MemorySegment requestWord;
    private final MemorySegment replyWord;

    /** A view of {@code lane}, which must be 8-byte aligned (a mapping is) and longer than {@link #DATA_OFFSET}. */
    public TeeLane(MemorySegment lane) {
        if (lane.byteSize() <= DATA_OFFSET || lane.address() % 8 != 0) {
            throw new IllegalArgumentException("a TEE lane must be 8-byte aligned and longer than " + DATA_OFFSET
                    + " bytes; got " + lane.byteSize() + " bytes at 0x" + Long.toHexString(lane.address()));
        }
        this.lane = lane;
        this.dataSize = lane.byteSize() - DATA_OFFSET;
        this.requestWord = lane.asSlice(REQUEST_SEQ, 4);
        this.replyWord = lane.asSlice(REPLY_SEQ, 4);
    }

    // ---- sequence words ----

    public long requestSeq() {
        return (long) SEQ.getAcquire(lane, REQUEST_SEQ);
    }

    /**
     * Host: publishes the request written so far (the body is visible before the number), and wakes the TEE's lane
     * thread if it sleeps.
     */
    public void publishRequest(long seq) {
        publish(REQUEST_SEQ, REQUEST_WAITING, requestWord, seq);
    }

    /**
     * TEE: sleeps while the request sequence is still {@code seen}, at most {@code timeoutNanos} (or until woken
     * spuriously). Answers false at once where futexes do not work (the caller naps instead).
     */
    public boolean awaitRequest(long seen, long timeoutNanos) {
        return await(REQUEST_SEQ, REQUEST_WAITING, requestWord, seen, timeoutNanos);
    }

    public long replySeq() {
        return (long) SEQ.getAcquire(lane, REPLY_SEQ);
    }

    /**
     * TEE: publishes the reply to request {@code seq} (the body is visible before the number), and wakes the host if
     * it sleeps.
     */
    public void publishReply(long seq) {
        publish(REPLY_SEQ, REPLY_WAITING, replyWord, seq);
    }

    /** Host: sleeps while the reply sequence is still {@code seen}; as {@link #awaitRequest}. */
    public boolean awaitReply(long seen, long timeoutNanos) {
        return await(REPLY_SEQ, REPLY_WAITING, replyWord, seen, timeoutNanos);
    }

    private void publish(long seqOffset, long waitingOffset, MemorySegment word, long seq) {
        // Volatile store, then volatile load: ordered, so either the sleeper sees the new number before it sleeps,
        // or we see its flag and wake it.
        SEQ.setVolatile(lane, seqOffset, seq);
        if ((int) FLAG.getVolatile(lane, waitingOffset) != 0) {
            Futex.wake(word);
        }
    }

    private boolean await(long seqOffset, long waitingOffset, MemorySegment word, long seen, long timeoutNanos) {
        FLAG.setVolatile(lane, waitingOffset, 1);
        try {
            if ((long) SEQ.getVolatile(lane, seqOffset) != seen) {
                return true;
            }
            // The futex compares the word's low half (little-endian, as Futex's only platform is).
            return Futex.await(word, (int) seen, timeoutNanos);
        } finally {
            FLAG.setRelease(lane, waitingOffset, 0);
        }
    }

    /** Wakes the side that serves requests if it sleeps, without a request (so it sees that it is to stop). */
    public void wakeServer() {
        Futex.wake(requestWord);
    }

    /** The request whose cancellation the host asked for (0: none yet). */
    public long cancelSeq() {
        return (long) SEQ.getAcquire(lane, CANCEL_SEQ);
    }

    public void requestCancel(long seq) {
        SEQ.setRelease(lane, CANCEL_SEQ, seq);
    }

    /** Direct lanes: whether the host has closed the lane (its session or TA instance is gone). */
    public boolean closed() {
        return (int) FLAG.getAcquire(lane, CLOSED) != 0;
    }

    /** Host: closes a direct lane; see "Direct lanes". */
    public void markClosed() {
        FLAG.setVolatile(lane, CLOSED, 1);
    }

    /** Host's lane: invokes the TEE has served on its direct lanes (any outcome), for the host's counters. */
    public long directCalls() {
        return (long) SEQ.getAcquire(lane, DIRECT_CALLS);
    }

    /** TEE: one more invoke served on a direct lane (its lane threads add at once). */
    public void countDirectCall() {
        SEQ.getAndAdd(lane, DIRECT_CALLS, 1L);
    }

    public long teeBeat() {
        return (long) SEQ.getAcquire(lane, TEE_BEAT);
    }

    public void teeBeat(long pid) {
        SEQ.setRelease(lane, TEE_BEAT, pid);
    }

    // ---- request ----

    /** Writes a request's fixed fields (null UUIDs as zero); the parameters follow with {@link #param}. */
    public void request(int kind, int command, long session, UUID ta, int login, UUID client, int types) {
        lane.set(INT, KIND, kind);
        lane.set(INT, COMMAND, command);
        lane.set(LONG, SESSION, session);
        uuid(TA, ta);
        uuid(CLIENT, client);
        lane.set(INT, LOGIN, login);
        lane.set(INT, TYPES, types);
    }

    public int kind() {
        return lane.get(INT, KIND);
    }

    public int command() {
        return lane.get(INT, COMMAND);
    }

    public long session() {
        return lane.get(LONG, SESSION);
    }

    public UUID ta() {
        return new UUID(lane.get(LONG, TA), lane.get(LONG, TA + 8));
    }

    public UUID client() {
        return new UUID(lane.get(LONG, CLIENT), lane.get(LONG, CLIENT + 8));
    }

    public int login() {
        return lane.get(INT, LOGIN);
    }

    public int types() {
        return lane.get(INT, TYPES);
    }

    /** Request parameter {@code i}. */
    public void param(int i, long a, long b, long c) {
        long at = REQUEST_PARAMS + (long) PARAM_LENGTH * i;
        lane.set(LONG, at + A, a);
        lane.set(LONG, at + B, b);
        lane.set(LONG, at + C, c);
    }

    public long paramA(int i) {
        return lane.get(LONG, REQUEST_PARAMS + (long) PARAM_LENGTH * i + A);
    }

    public long paramB(int i) {
        return lane.get(LONG, REQUEST_PARAMS + (long) PARAM_LENGTH * i + B);
    }

    public long paramC(int i) {
        return lane.get(LONG, REQUEST_PARAMS + (long) PARAM_LENGTH * i + C);
    }

    // ---- reply ----

    /** Writes a reply's fixed fields; the parameters follow with {@link #replyParam}. */
    public void reply(int ret, int origin, long session) {
        lane.set(INT, RET, ret);
        lane.set(INT, ORIGIN, origin);
        lane.set(LONG, REPLY_SESSION, session);
    }

    /** Zeroes the reply (a failed request answers nothing but its code). */
    public void clearReply() {
        lane.asSlice(REPLY, REPLY_LENGTH).fill((byte) 0);
    }

    public int replyRet() {
        return lane.get(INT, RET);
    }

    public int replyOrigin() {
        return lane.get(INT, ORIGIN);
    }

    public long replySession() {
        return lane.get(LONG, REPLY_SESSION);
    }

    /** Reply parameter {@code i}. */
    public void replyParam(int i, long a, long b, long c) {
        long at = REPLY_PARAMS + (long) PARAM_LENGTH * i;
        lane.set(LONG, at + A, a);
        lane.set(LONG, at + B, b);
        lane.set(LONG, at + C, c);
    }

    public long replyA(int i) {
        return lane.get(LONG, REPLY_PARAMS + (long) PARAM_LENGTH * i + A);
    }

    public long replyB(int i) {
        return lane.get(LONG, REPLY_PARAMS + (long) PARAM_LENGTH * i + B);
    }

    public long replyC(int i) {
        return lane.get(LONG, REPLY_PARAMS + (long) PARAM_LENGTH * i + C);
    }

    // ---- data area ----

    public long dataSize() {
        return dataSize;
    }

    /**
     * The data area's bytes [{@code offset}, {@code offset + size}).
     *
     * @throws IllegalArgumentException when the range does not lie inside the data area
     */
    public MemorySegment data(long offset, long size) {
        if (offset < 0 || size < 0 || offset > dataSize - size) {
            throw new IllegalArgumentException("[" + offset + ", +" + size + ") is outside the lane's data area of "
                    + dataSize + " bytes");
        }
        return lane.asSlice(DATA_OFFSET + offset, size);
    }

    private void uuid(long at, UUID u) {
        lane.set(LONG, at, u == null ? 0 : u.getMostSignificantBits());
        lane.set(LONG, at + 8, u == null ? 0 : u.getLeastSignificantBits());
    }
}
