package io.ferry.channel;

/**
 * Layout of a Ferry region: the bytes shared between one guest and the host. All multi-byte fields are
 * little-endian. Constants named {@code X_OFFSET} give the byte offset of field {@code X}; so the field
 * {@code COMMAND_RING_OFFSET} (which holds an offset) lives at {@link #COMMAND_RING_OFFSET_OFFSET}.
 *
 * <h2>Region</h2>
 * A header, then for each of LANE_COUNT lanes its command ring section and completion ring section, then the
 * heap, cut into one slice per lane. Every section starts on a {@value #SECTION_ALIGNMENT}-byte boundary:
 * <pre>
 *   0             4096
 *   +-------------+-------------+----------------+-----+-------------+----------------+--------+-----+--------+
 *   | header      | lane 0 cmds | lane 0 cpls    | ... | lane N-1    | lane N-1 cpls  | heap 0 | ... | heap   |
 *   | (4096)      | ring        | ring           |     | cmds ring   | ring           | slice  |     | N-1    |
 *   +-------------+-------------+----------------+-----+-------------+----------------+--------+-----+--------+
 * </pre>
 * A <b>lane</b> is one session's share of the region: a ring pair, a heap slice and its own connect words. Each
 * guest process (each {@code Ferry} connection) claims a lane of its own, so several processes of one guest hold
 * sessions at once. Lane 0's sections are described at the header's old offsets (24..71) and its connect words
 * live at the old offsets (320..399), so a one-lane region reads as layout version 1 did; lanes 1..N-1 are described
 * by the lane table at {@link #LANE_TABLE_OFFSET}, one {@value #LANE_ENTRY_SIZE}-byte entry each.
 *
 * <h2>Header</h2>
 * <pre>
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *   |          MAGIC 0x4e47_5259_5252_4546 (u64, "FERRYRGN")        |   0  written last, release
 *   +---------------------------------------------------------------+
 *   |                     LAYOUT_VERSION (u32) = 2                  |   8
 *   +---------------------------------------------------------------+
 *   |                   HEADER_SIZE (u32) = 4096                    |  12
 *   +---------------------------------------------------------------+
 *   |                      REGION_SIZE (u64)                        |  16
 *   +---------------------------------------------------------------+
 *   |             COMMAND_RING_OFFSET (u64, lane 0)                 |  24  \
 *   +---------------------------------------------------------------+       |
 *   |      COMMAND_RING_CAPACITY (u64, data bytes, 2^n, lane 0)     |  32   |
 *   +---------------------------------------------------------------+       |
 *   |            COMPLETION_RING_OFFSET (u64, lane 0)               |  40   | lane 0's sections
 *   +---------------------------------------------------------------+       | (a lane table entry's
 *   |    COMPLETION_RING_CAPACITY (u64, data bytes, 2^n, lane 0)    |  48   |  first 48 bytes)
 *   +---------------------------------------------------------------+       |
 *   |          HEAP_OFFSET (u64, lane 0's heap slice)               |  56   |
 *   +---------------------------------------------------------------+       |
 *   |           HEAP_SIZE (u64, lane 0's heap slice)                |  64  /
 *   +---------------------------------------------------------------+
 *   |        GUEST_NAME (64 bytes, UTF-8, NUL padded, max 63)      ...  72
 *   +---------------------------------------------------------------+
 *   |        CREDENTIAL (32 bytes, written at provisioning)        ... 136
 *   +---------------------------------------------------------------+
 *   |                 LANE_COUNT (u32, 1..MAX_LANES)                | 168
 *   +---------------------------------------------------------------+
 *   |                        (reserved)                            ... 172
 *   +---------------------------------------------------------------+
 *   |               HOST_EPOCH (u64, host writes)                   | 256  \
 *   +---------------------------------------------------------------+       host-written line
 *   |             HOST_HEARTBEAT (u64, host writes)                 | 264  /
 *   +---------------------------------------------------------------+
 *   |      lane 0's connect words (LANE_WORDS, see below)          ... 320 .. 447
 *   +---------------------------------------------------------------+
 *   |      HOST_FIGURES (host-published scheduling figures)        ... 512 .. 1023
 *   +---------------------------------------------------------------+
 *   |      lane table: lanes 1..N-1, LANE_ENTRY_SIZE bytes each    ... 1024 .. 4095
 *   +---------------------------------------------------------------+
 * </pre>
 *
 * <h2>Lane table entry</h2>
 * Entry of lane {@code i >= 1} at {@code LANE_TABLE_OFFSET + (i - 1) * LANE_ENTRY_SIZE}; lane 0's sections are
 * the header's bytes 24..71 and its connect words start at 320 ({@link #laneSectionsOffset}, {@link #laneWordsOffset}).
 * <pre>
 *   +---------------------------------------------------------------+
 *   |  COMMAND_RING_OFFSET, COMMAND_RING_CAPACITY (u64 each)        |   0   sections (host writes at
 *   |  COMPLETION_RING_OFFSET, COMPLETION_RING_CAPACITY             |  16   provisioning, read once
 *   |  HEAP_OFFSET, HEAP_SIZE (the lane's heap slice)               |  32   at open and validated)
 *   |  (reserved)                                                   |  48
 *   +---------------------------------------------------------------+
 *   |  LANE_WORDS: CONNECT_REQUEST (u64 nonce, guest writes)        |  64  \
 *   |              GUEST_PID (u64, guest writes)                    |  72   | guest-written line
 *   |              GUEST_HEARTBEAT (u64, guest writes)              |  80   |
 *   |              LANE_CLAIM (u64 claimant's pid, 0: free; CAS)    |  88  /
 *   +---------------------------------------------------------------+
 *   |              CONNECT_ACK (u64 = nonce once rings are reset)   | 128  \ host-written line
 *   |              SESSION_ID (u64, host writes)                    | 136  /
 *   +---------------------------------------------------------------+
 * </pre>
 * A guest process claims a free lane by a compare-and-set of LANE_CLAIM from 0 to its pid; the host sets it back
 * to 0 when the lane's session ends (GOODBYE, the process gone, the watchdog, a violation) or when a claim brings
 * no connect request within the guest timeout. The claim is cooperation between processes of one guest, not
 * protection: they share the region (docs/security.md, "Lanes").
 *
 * <h2>Ring section</h2>
 * A 256-byte control block, then {@code capacity} data bytes. HEAD and TAIL each own a 128-byte line so that
 * the two sides never write the same cache line (adjacent-line prefetch included).
 * <pre>
 *   +---------------------------------------------------------------+
 *   |  HEAD (u64 consumer position; only the consumer writes)       |   0
 *   |  CONSUMER_WAITING (i32; consumer: 1 while it sleeps)          |  64
 *   |  ... padding to 128 ...                                       |
 *   +---------------------------------------------------------------+
 *   |  TAIL (u64 producer position; only the producer writes)       | 128
 *   |  DOORBELL (i32 futex word; producer rings a waiting consumer) | 192
 *   |  ... padding to 256 ...                                       |
 *   +---------------------------------------------------------------+
 *   |  data[capacity]                                              ... 256
 *   +---------------------------------------------------------------+
 * </pre>
 * Positions are monotonically increasing byte counters; a position's index in data is
 * {@code position & (capacity - 1)}.
 *
 * <h2>Record frame</h2>
 * Records start 8-aligned and never wrap. A record that does not fit before the end of data is preceded by a
 * PADDING record ({@code type == -1}) that fills the rest of the data, and starts at index 0.
 * <pre>
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *   |          LENGTH (u32, whole record incl. this header, >= 8)   |  0
 *   +---------------------------------------------------------------+
 *   |          TYPE (i32; -1 = PADDING, other negatives invalid)    |  4
 *   +---------------------------------------------------------------+
 *   |          body (LENGTH - 8 bytes)                             ...  8
 *   +---------------------------------------------------------------+
 *   the producer advances by LENGTH rounded up to 8
 * </pre>
 */
public final class RegionDescriptor {

    // ---- values -------------------------------------------------------------------------------------------

    /**
     * Value of the MAGIC field; its little-endian bytes spell "FERRYRGN".
     */
    public static final long MAGIC = 0x4e47_5259_5252_4546L;
    /** Value of the LAYOUT_VERSION field that this library reads and writes (2: lanes). */
    public static final int LAYOUT_VERSION = 2;
    /** Value of the HEADER_SIZE field, and the size of the header section. */
    public static final int HEADER_SIZE = 4096;
    /** Every section starts at a multiple of this. */
    public static final int SECTION_ALIGNMENT = 4096;

    // ---- header field offsets -----------------------------------------------------------------------------

    public static final int MAGIC_OFFSET = 0;
    public static final int LAYOUT_VERSION_OFFSET = 8;
    public static final int HEADER_SIZE_OFFSET = 12;
    public static final int REGION_SIZE_OFFSET = 16;
    public static final int COMMAND_RING_OFFSET_OFFSET = 24;
    public static final int COMMAND_RING_CAPACITY_OFFSET = 32;
    public static final int COMPLETION_RING_OFFSET_OFFSET = 40;
    public static final int COMPLETION_RING_CAPACITY_OFFSET = 48;
    public static final int HEAP_OFFSET_OFFSET = 56;
    public static final int HEAP_SIZE_OFFSET = 64;
    public static final int GUEST_NAME_OFFSET = 72;
    /** Bytes reserved for the guest name, including at least one terminating NUL. */
    public static final int GUEST_NAME_LENGTH = 64;
    /** Longest guest name in bytes. */
    public static final int GUEST_NAME_MAX_LENGTH = GUEST_NAME_LENGTH - 1;
    public static final int CREDENTIAL_OFFSET = 136;
    /** Length of the credential written at provisioning; all zero means none. */
    public static final int CREDENTIAL_LENGTH = 32;
    /** u32: how many lanes the region has, 1 to {@link #MAX_LANES}. */
    public static final int LANE_COUNT_OFFSET = 168;
    public static final int HOST_EPOCH_OFFSET = 256;
    public static final int HOST_HEARTBEAT_OFFSET = 264;
    // lane 0's connect words; another lane's are at the same offsets from its laneWordsOffset
    public static final int CONNECT_REQUEST_OFFSET = 320;
    public static final int GUEST_PID_OFFSET = 328;
    public static final int GUEST_HEARTBEAT_OFFSET = 336;
    public static final int LANE_CLAIM_OFFSET = 344;
    public static final int CONNECT_ACK_OFFSET = 384;
    public static final int SESSION_ID_OFFSET = 392;
    /** Start of the host-published scheduling figures. */
    public static final int HOST_FIGURES_OFFSET = 512;
    public static final int HOST_FIGURES_LENGTH = 512;
    // HOST_FIGURES words (u64 each, host-written with release, read with acquire); docs/protocol.md §1.1
    /** ns a command submitted now would wait for the device (estimate). */
    public static final int FIGURE_EXPECTED_WAIT_OFFSET = HOST_FIGURES_OFFSET;
    /** ns of device time left in the reservation period; -1 without a reservation. */
    public static final int FIGURE_BUDGET_LEFT_OFFSET = HOST_FIGURES_OFFSET + 8;
    /** ns of device time the guest has used. */
    public static final int FIGURE_DEVICE_TIME_OFFSET = HOST_FIGURES_OFFSET + 16;
    /** Commands completed after their hinted deadline. */
    public static final int FIGURE_DEADLINE_MISSES_OFFSET = HOST_FIGURES_OFFSET + 24;
    /** Commands waiting for the device. */
    public static final int FIGURE_QUEUED_OFFSET = HOST_FIGURES_OFFSET + 32;
    /** Commands on the device. */
    public static final int FIGURE_IN_FLIGHT_OFFSET = HOST_FIGURES_OFFSET + 40;
    /** Scheduling class: 0 CRITICAL, 1 HIGH, 2 NORMAL, 3 BEST_EFFORT. */
    public static final int FIGURE_CLASS_OFFSET = HOST_FIGURES_OFFSET + 48;
    /** Publication counter (0: never published). */
    public static final int FIGURE_UPDATES_OFFSET = HOST_FIGURES_OFFSET + 56;

    // ---- lanes -------------------------------------------------------------------------------------------

    /** Start of the lane table (entries of lanes 1..N-1). */
    public static final int LANE_TABLE_OFFSET = 1024;
    /** Bytes of one lane table entry. */
    public static final int LANE_ENTRY_SIZE = 192;
    /** Offset of the connect words within a lane table entry. */
    public static final int LANE_ENTRY_WORDS_OFFSET = 64;
    /** Most lanes a region has: lane 0 in the header, lanes 1..15 in the lane table (room for 16 entries). */
    public static final int MAX_LANES = 16;
    // offsets within a lane's sections block (lane 0: COMMAND_RING_OFFSET_OFFSET onwards)
    public static final int LANE_COMMAND_RING_OFFSET_OFFSET = 0;
    public static final int LANE_COMMAND_RING_CAPACITY_OFFSET = 8;
    public static final int LANE_COMPLETION_RING_OFFSET_OFFSET = 16;
    public static final int LANE_COMPLETION_RING_CAPACITY_OFFSET = 24;
    public static final int LANE_HEAP_OFFSET_OFFSET = 32;
    public static final int LANE_HEAP_SIZE_OFFSET = 40;
    // offsets within a lane's connect words (lane 0: CONNECT_REQUEST_OFFSET onwards)
    public static final int LANE_CONNECT_REQUEST_OFFSET = 0;
    public static final int LANE_GUEST_PID_OFFSET = 8;
    public static final int LANE_GUEST_HEARTBEAT_OFFSET = 16;
    public static final int LANE_CLAIM_WORD_OFFSET = 24;
    public static final int LANE_CONNECT_ACK_OFFSET = 64;
    public static final int LANE_SESSION_ID_OFFSET = 72;

    // ---- ring section -------------------------------------------------------------------------------------

    /** Offset of HEAD (consumer position) within a ring section. */
    public static final int RING_HEAD_OFFSET = 0;
    /** Offset of TAIL (producer position) within a ring section. */
    public static final int RING_TAIL_OFFSET = 128;
    /** i32 written by the consumer: 1 while it sleeps (or is about to) waiting for records. Own 64-byte line. */
    public static final int RING_CONSUMER_WAITING_OFFSET = 64;
    /** i32 futex word the producer increments (and wakes) when it publishes to a waiting consumer. Own line. */
    public static final int RING_DOORBELL_OFFSET = 192;
    /** Size of the control block that precedes the data of a ring section. */
    public static final int RING_CONTROL_SIZE = 256;
    /** Offset of the first data byte within a ring section. */
    public static final int RING_DATA_OFFSET = RING_CONTROL_SIZE;
    /** Smallest ring capacity (data bytes). */
    public static final int MIN_RING_CAPACITY = 4096;
    /** Largest ring capacity (data bytes); keeps record lengths within an int. */
    public static final int MAX_RING_CAPACITY = 1 << 30;

    // ---- record frame -------------------------------------------------------------------------------------

    public static final int FRAME_LENGTH_OFFSET = 0;
    public static final int FRAME_TYPE_OFFSET = 4;
    /** Length of the frame header that starts every record. */
    public static final int FRAME_HEADER_LENGTH = 8;
    /** Records start at, and the producer advances by, multiples of this. */
    public static final int RECORD_ALIGNMENT = 8;
    /** Type of a padding record, which fills the data up to its end. */
    public static final int PADDING_TYPE = -1;

    // ---- heap ---------------------------------------------------------------------------------------------

    /** Smallest heap. */
    public static final long MIN_HEAP_SIZE = 64 * 1024;

    private RegionDescriptor() {
    }

    /** Offset of lane {@code lane}'s sections block (six u64: ring offsets and capacities, heap slice). */
    public static int laneSectionsOffset(int lane) {
        checkLane(lane);
        return lane == 0 ? COMMAND_RING_OFFSET_OFFSET : LANE_TABLE_OFFSET + (lane - 1) * LANE_ENTRY_SIZE;
    }

    /** Offset of lane {@code lane}'s connect words (CONNECT_REQUEST first; see the lane table entry). */
    public static int laneWordsOffset(int lane) {
        checkLane(lane);
        return lane == 0 ? CONNECT_REQUEST_OFFSET
                : LANE_TABLE_OFFSET + (lane - 1) * LANE_ENTRY_SIZE + LANE_ENTRY_WORDS_OFFSET;
    }

    private static void checkLane(int lane) {
        if (lane < 0 || lane >= MAX_LANES) {
            throw new IllegalArgumentException("lane " + lane + " is not between 0 and " + (MAX_LANES - 1));
        }
    }

    /** Bytes a ring section of {@code capacity} data bytes occupies, rounded up to the section alignment. */
    public static long sectionSizeFor(long capacity) {
        return alignSection(RING_CONTROL_SIZE + capacity);
    }

    /** Largest record (frame header included) a ring of {@code capacity} data bytes accepts. */
    public static int maxRecordLengthFor(int capacity) {
        return capacity / 2;
    }

    /** {@code value} rounded up to a multiple of {@link #SECTION_ALIGNMENT}. */
    public static long alignSection(long value) {
        return (value + SECTION_ALIGNMENT - 1) & -SECTION_ALIGNMENT;
    }

    /** {@code length} rounded up to a multiple of {@link #RECORD_ALIGNMENT}. */
    public static long alignRecord(long length) {
        return (length + RECORD_ALIGNMENT - 1) & -RECORD_ALIGNMENT;
    }

    /** Whether {@code value} is a positive power of two. */
    public static boolean isPowerOfTwo(long value) {
        return value > 0 && (value & (value - 1)) == 0;
    }
}
