package io.ferry.tee.soft;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Layout of the request and reply bodies in a {@link Lane}.
 *
 * <pre>
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
 * Types are the normalized kinds of {@code io.ferry.spi.TeeParams} (1–3 values, 5–7 memrefs), 4 bits each.
 * A value parameter carries a and b; a memref carries a = offset of its buffer in the lane's data area (-1 for a
 * null memref) and c = its size; in the reply c is the size the TA reported.
 */
final class LaneMessages {
    private LaneMessages() {
    }

    static final int OPEN = 1;
    static final int INVOKE = 2;
    static final int CLOSE = 3;

    static final long KIND = 0;
    static final long COMMAND = 4;
    static final long SESSION = 8;
    static final long TA_HI = 16;
    static final long TA_LO = 24;
    static final long CLIENT_HI = 32;
    static final long CLIENT_LO = 40;
    static final long LOGIN = 48;
    static final long TYPES = 52;
    static final long PARAMS = 56;
    static final int PARAM_LENGTH = 24;
    static final int REQUEST_LENGTH = (int) PARAMS + 4 * PARAM_LENGTH;

    static final long RET = 0;
    static final long ORIGIN = 4;
    static final long REPLY_SESSION = 8;
    static final long REPLY_PARAMS = 16;
    static final int REPLY_LENGTH = (int) REPLY_PARAMS + 4 * PARAM_LENGTH;

    static final long A = 0;
    static final long B = 8;
    static final long C = 16;

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    static long param(MemorySegment body, long paramsAt, int i, long field) {
        return body.get(LONG, paramsAt + (long) PARAM_LENGTH * i + field);
    }

    static void param(MemorySegment body, long paramsAt, int i, long field, long value) {
        body.set(LONG, paramsAt + (long) PARAM_LENGTH * i + field, value);
    }
}
