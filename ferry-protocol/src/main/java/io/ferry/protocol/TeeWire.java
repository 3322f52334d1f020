package io.ferry.protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.UUID;

/**
 * Wire constants of the trusted-service calls ({@link Op#TEE_OPEN_SESSION} .. {@link Op#TEE_SHM_RELEASE}): the
 * GlobalPlatform TEE Client API values (parameter types, memory flags, login methods, return codes and origins)
 * and the layout of the parameter block that travels as the blob of OPEN_SESSION and INVOKE and comes back,
 * updated, as the blob of their completions.
 *
 * <pre>
 * Parameter block (136 bytes, little-endian)
 *  0        4        8                                                         136
 *  +--------+--------+--------------------------------------------------------+
 *  | types  |reserved| param[0..3], 32 bytes each                              |
 *  |  u32   |  u32=0 |                                                        |
 *  +--------+--------+--------------------------------------------------------+
 *
 * One parameter (32 bytes)
 *  0                8                16               24               32
 *  +----------------+----------------+----------------+----------------+
 *  | a              | b              | c              | reserved = 0   |
 *  +----------------+----------------+----------------+----------------+
 *   value:           a = value a (u32), b = value b (u32)
 *   temporary memref: a = heap offset (NULL_MEMREF for a null buffer), b = 0, c = size
 *   registered memref (WHOLE, PARTIAL_*): a = shared-memory handle, b = offset in it, c = size
 * </pre>
 * {@code types} packs one 4-bit parameter type per parameter: {@code p0 | p1 << 4 | p2 << 8 | p3 << 12}. In the
 * reply the host writes output values into a/b and every memref's output size into c (also when the call failed,
 * and also when the size is larger than the buffer: SHORT_BUFFER says how much the TA needs).
 *
 * <p>The cancel word argument of OPEN_SESSION and INVOKE is the heap offset of an 8-byte aligned word, or -1 for
 * none. Writing a nonzero value there asks the host to cancel the pending call (GP RequestCancellation): the host
 * checks it before it starts the call and while it waits for the TEE.
 */
public final class TeeWire {
    private TeeWire() {
    }

    public static final int PARAMS = 4;
    public static final int PARAM_LENGTH = 32;
    public static final int TYPES_OFFSET = 0;
    public static final int PARAMS_OFFSET = 8;
    public static final int BLOCK_LENGTH = PARAMS_OFFSET + PARAMS * PARAM_LENGTH;
    public static final int A = 0;
    public static final int B = 8;
    public static final int C = 16;
    /** Heap offset of a null temporary memref. */
    public static final long NULL_MEMREF = -1L;
    /** "No cancel word" in the cancel word argument. */
    public static final long NO_CANCEL_WORD = -1L;

    // ---- parameter types (TEEC_*) ----
    public static final int NONE = 0x0;
    public static final int VALUE_INPUT = 0x1;
    public static final int VALUE_OUTPUT = 0x2;
    public static final int VALUE_INOUT = 0x3;
    public static final int MEMREF_TEMP_INPUT = 0x5;
    public static final int MEMREF_TEMP_OUTPUT = 0x6;
    public static final int MEMREF_TEMP_INOUT = 0x7;
    public static final int MEMREF_WHOLE = 0xC;
    public static final int MEMREF_PARTIAL_INPUT = 0xD;
    public static final int MEMREF_PARTIAL_OUTPUT = 0xE;
    public static final int MEMREF_PARTIAL_INOUT = 0xF;

    // ---- shared-memory flags ----
    public static final int MEM_INPUT = 0x1;
    public static final int MEM_OUTPUT = 0x2;

    // ---- login methods ----
    public static final int LOGIN_PUBLIC = 0;
    public static final int LOGIN_USER = 1;
    public static final int LOGIN_GROUP = 2;
    public static final int LOGIN_APPLICATION = 4;
    public static final int LOGIN_USER_APPLICATION = 5;
    public static final int LOGIN_GROUP_APPLICATION = 6;

    // ---- return origins ----
    public static final int ORIGIN_API = 1;
    public static final int ORIGIN_COMMS = 2;
    public static final int ORIGIN_TEE = 3;
    public static final int ORIGIN_TRUSTED_APP = 4;

    // ---- return codes ----
    public static final int SUCCESS = 0x0000_0000;
    public static final int ERROR_GENERIC = 0xFFFF_0000;
    public static final int ERROR_ACCESS_DENIED = 0xFFFF_0001;
    public static final int ERROR_CANCEL = 0xFFFF_0002;
    public static final int ERROR_ACCESS_CONFLICT = 0xFFFF_0003;
    public static final int ERROR_EXCESS_DATA = 0xFFFF_0004;
    public static final int ERROR_BAD_FORMAT = 0xFFFF_0005;
    public static final int ERROR_BAD_PARAMETERS = 0xFFFF_0006;
    public static final int ERROR_BAD_STATE = 0xFFFF_0007;
    public static final int ERROR_ITEM_NOT_FOUND = 0xFFFF_0008;
    public static final int ERROR_NOT_IMPLEMENTED = 0xFFFF_0009;
    public static final int ERROR_NOT_SUPPORTED = 0xFFFF_000A;
    public static final int ERROR_NO_DATA = 0xFFFF_000B;
    public static final int ERROR_OUT_OF_MEMORY = 0xFFFF_000C;
    public static final int ERROR_BUSY = 0xFFFF_000D;
    public static final int ERROR_COMMUNICATION = 0xFFFF_000E;
    public static final int ERROR_SECURITY = 0xFFFF_000F;
    public static final int ERROR_SHORT_BUFFER = 0xFFFF_0010;
    public static final int ERROR_EXTERNAL_CANCEL = 0xFFFF_0011;
    public static final int ERROR_TARGET_DEAD = 0xFFFF_3024;
    public static final int ERROR_STORAGE_NOT_AVAILABLE = 0xF010_0003;
    public static final int ERROR_STORAGE_NO_SPACE = 0xFFFF_3041;
    public static final int ERROR_MAC_INVALID = 0xFFFF_3071;
    public static final int ERROR_SIGNATURE_INVALID = 0xFFFF_3072;
    /** GP Internal Core API TEE_ERROR_CORRUPT_OBJECT: a sealed object was rolled back to an older version. */
    public static final int ERROR_CORRUPT_OBJECT = 0xF010_0001;

    /** Namespace of the client UUIDs Linux derives for USER and GROUP logins (UUIDv5). */
    public static final UUID LOGIN_NAMESPACE = UUID.fromString("58ac9ca0-2086-4683-a1b8-ec4bc08e01b6");

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    /** Type of parameter {@code i} in a packed {@code types} word. */
    public static int type(int types, int i) {
        return (types >>> (4 * i)) & 0xF;
    }

    /** Packs four parameter types. */
    public static int types(int p0, int p1, int p2, int p3) {
        return (p0 & 0xF) | (p1 & 0xF) << 4 | (p2 & 0xF) << 8 | (p3 & 0xF) << 12;
    }

    public static boolean isValue(int type) {
        return type >= VALUE_INPUT && type <= VALUE_INOUT;
    }

    public static boolean isTempMemref(int type) {
        return type >= MEMREF_TEMP_INPUT && type <= MEMREF_TEMP_INOUT;
    }

    public static boolean isRegisteredMemref(int type) {
        return type == MEMREF_WHOLE || type >= MEMREF_PARTIAL_INPUT;
    }

    /** Whether the nibble is one of the GP parameter types. */
    public static boolean isKnownType(int type) {
        return type == NONE || isValue(type) || isTempMemref(type) || isRegisteredMemref(type);
    }

    /** Whether data flows to the TEE (VALUE_/MEMREF_ INPUT or INOUT; WHOLE decides by the memory's flags). */
    public static boolean isInput(int type) {
        return (type & 0x3) != 0x2 && type != NONE;
    }

    /** Whether data flows back from the TEE (OUTPUT or INOUT). */
    public static boolean isOutput(int type) {
        return (type & 0x2) != 0;
    }

    public static int blockTypes(MemorySegment block) {
        return block.get(INT, TYPES_OFFSET);
    }

    public static void blockTypes(MemorySegment block, int types) {
        block.set(INT, TYPES_OFFSET, types);
    }

    /** Field {@code field} (A, B or C) of parameter {@code i}. */
    public static long field(MemorySegment block, int i, int field) {
        return block.get(LONG, PARAMS_OFFSET + (long) PARAM_LENGTH * i + field);
    }

    public static void field(MemorySegment block, int i, int field, long value) {
        block.set(LONG, PARAMS_OFFSET + (long) PARAM_LENGTH * i + field, value);
    }

    /** The client UUID Linux derives for a login: UUIDv5 over {@code text} in {@link #LOGIN_NAMESPACE}. */
    public static UUID uuidV5(UUID namespace, String text) {
        try {
            var sha1 = java.security.MessageDigest.getInstance("SHA-1");
            sha1.update(toBytes(namespace));
            byte[] h = sha1.digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            h[6] = (byte) ((h[6] & 0x0F) | 0x50);
            h[8] = (byte) ((h[8] & 0x3F) | 0x80);
            return fromBytes(h);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-1", e);
        }
    }

    /** Big-endian bytes of a UUID (the order GP and the Linux driver use). */
    public static byte[] toBytes(UUID u) {
        byte[] b = new byte[16];
        long hi = u.getMostSignificantBits();
        long lo = u.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return b;
    }

    /** A UUID from its first 16 big-endian bytes. */
    public static UUID fromBytes(byte[] b) {
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | (b[i] & 0xFF);
            lo = lo << 8 | (b[8 + i] & 0xFF);
        }
        return new UUID(hi, lo);
    }
}
