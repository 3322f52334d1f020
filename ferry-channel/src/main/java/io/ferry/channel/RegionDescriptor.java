package io.ferry.channel;

/**
 * Layout of a Ferry region: the bytes shared between one guest and the host. All multi-byte fields are
 * little-endian. Constants named {@code X_OFFSET} give the byte offset of field {@code X}; so the field
 * {@code COMMAND_RING_OFFSET} (which holds an offset) lives at {@link #COMMAND_RING_OFFSET_OFFSET}.
 *
 * <h2>Region</h2>
 * Four sections, each starting on a {@value #SECTION_ALIGNMENT}-byte boundary:
 * <pre>
 *   0                  4096
 *   +------------------+----------------------+-------------------------+--------------------+
 *   | header (4096)    | command ring section | completion ring section | heap               |
 *   +------------------+----------------------+-------------------------+--------------------+
 *                      ^ COMMAND_RING_OFFSET   ^ COMPLETION_RING_OFFSET   ^ HEAP_OFFSET
 * </pre>
 *
 * <h2>Header</h2>
 * <pre>
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *   |          MAGIC 0x4e47_5259_5252_4546 (u64, "FERRYRGN")        |   0  written last, release
 *   +---------------------------------------------------------------+
 *   |                     LAYOUT_VERSION (u32)                      |   8
 *   +---------------------------------------------------------------+
 *   |                   HEADER_SIZE (u32) = 4096                    |  12
 *   +---------------------------------------------------------------+
 *   |                      REGION_SIZE (u64)                        |  16
 *   +---------------------------------------------------------------+
 *   |                  COMMAND_RING_OFFSET (u64)                    |  24
 *   +---------------------------------------------------------------+
 *   |         COMMAND_RING_CAPACITY (u64, data bytes, 2^n)          |  32
 *   +---------------------------------------------------------------+
 *   |                 COMPLETION_RING_OFFSET (u64)                  |  40
 *   +---------------------------------------------------------------+
 *   |        COMPLETION_RING_CAPACITY (u64, data bytes, 2^n)        |  48
 *   +---------------------------------------------------------------+
 *   |                      HEAP_OFFSET (u64)                        |  56
 *   +---------------------------------------------------------------+
 *   |                       HEAP_SIZE (u64)                         |  64
 *   +---------------------------------------------------------------+
 *   |        GUEST_NAME (64 bytes, UTF-8, NUL padded, max 63)      ...  72
 *   +---------------------------------------------------------------+
 *   |        CREDENTIAL (32 bytes, written at provisioning)        ... 136
 *   +---------------------------------------------------------------+
 *   |                        (reserved)                            ... 168
 *   +---------------------------------------------------------------+
 *   |               HOST_EPOCH (u64, host writes)                   | 256  \
 *   +---------------------------------------------------------------+       host-written line
 *   |             HOST_HEARTBEAT (u64, host writes)                 | 264  /
 *   +---------------------------------------------------------------+
 *   |          CONNECT_REQUEST (u64 nonce, guest writes)            | 320  \
 *   +---------------------------------------------------------------+       |
 *   |                GUEST_PID (u64, guest writes)                  | 328    guest-written line
 *   +---------------------------------------------------------------+       |
 *   |             GUEST_HEARTBEAT (u64, guest writes)               | 336  /
 *   +---------------------------------------------------------------+
 *   |        CONNECT_ACK (u64 = nonce once rings are reset)         | 384  \
 *   +---------------------------------------------------------------+       host-written line
 *   |               SESSION_ID (u64, host writes)                   | 392  /
 *   +---------------------------------------------------------------+
 *   |      HOST_FIGURES (host-published scheduling figures)        ... 512 .. 4095
 *   +---------------------------------------------------------------+
 * </pre>
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
    /** Value of the LAYOUT_VERSION field that this library reads and writes. */
    public static final int LAYOUT_VERSION = 1;
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
    public static final int HOST_EPOCH_OFFSET = 256;
    public static final int HOST_HEARTBEAT_OFFSET = 264;
    public static final int CONNECT_REQUEST_OFFSET = 320;
    public static final int GUEST_PID_OFFSET = 328;
    public static final int GUEST_HEARTBEAT_OFFSET = 336;
    public static final int CONNECT_ACK_OFFSET = 384;
    public static final int SESSION_ID_OFFSET = 392;
    /** Start of the host-published scheduling figures; they run to the end of the header. */
    public static final int HOST_FIGURES_OFFSET = 512;
    public static final int HOST_FIGURES_LENGTH = HEADER_SIZE - HOST_FIGURES_OFFSET;
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
