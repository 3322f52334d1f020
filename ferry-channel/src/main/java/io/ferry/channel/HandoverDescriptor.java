package io.ferry.channel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The guest socket's two messages: how a process guest asks the host for its region, and the answer that carries
 * the region's descriptor ({@code SCM_RIGHTS}). Both sides use this class; docs/protocol.md shows the same
 * pictures. All integers little-endian.
 *
 * <pre>
 * Request (guest → host), {@value #REQUEST_SIZE} bytes
 *   0                   4         6         8                                  72                 104
 *   +-------------------+---------+---------+----------------------------------+------------------+
 *   | MAGIC u32         | VERSION | FLAGS   | GUEST NAME, UTF-8, NUL-padded    | SECRET           |
 *   | 0x59524546 "FERY" | u16 = 1 | u16 = 0 | 64 bytes (a name has 1..63)      | 32 bytes         |
 *   +-------------------+---------+---------+----------------------------------+------------------+
 *
 * Reply (host → guest), {@value #REPLY_HEADER_SIZE} bytes + MESSAGE LENGTH; on success the region's
 * descriptor arrives with its first byte
 *   0                   4         6         8                  16            20          24
 *   +-------------------+---------+---------+------------------+-------------+-----------+--------------+
 *   | MAGIC u32         | VERSION | STATUS  | REGION SIZE u64  | MESSAGE LEN | RESERVED  | MESSAGE      |
 *   |                   | u16 = 1 | u16     | (0 on refusal)   | u32 ≤ 1024  | u32 = 0   | UTF-8        |
 *   +-------------------+---------+---------+------------------+-------------+-----------+--------------+
 * </pre>
 *
 * STATUS is a {@code io.ferry.protocol.Status} code: 0 (OK) with the descriptor attached; otherwise the
 * message says why (BAD_CREDENTIAL for an unknown guest or a wrong secret alike, so names cannot be probed).
 */
public final class HandoverDescriptor {
    public static final int MAGIC = 0x59524546;
    public static final int VERSION = 1;
    public static final int NAME_LENGTH = 64;
    public static final int SECRET_LENGTH = 32;
    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int FLAGS_OFFSET = 6;
    public static final int NAME_OFFSET = 8;
    public static final int SECRET_OFFSET = NAME_OFFSET + NAME_LENGTH;
    public static final int REQUEST_SIZE = SECRET_OFFSET + SECRET_LENGTH;

    public static final int STATUS_OFFSET = 6;
    public static final int REGION_SIZE_OFFSET = 8;
    public static final int MESSAGE_LENGTH_OFFSET = 16;
    public static final int REPLY_HEADER_SIZE = 24;
    public static final int MAX_MESSAGE = 1024;

    private HandoverDescriptor() {
    }

    /** A request as read; {@link #problem()} is null when it is well formed. */
    public record Request(String guest, byte[] secret, String problem) {
    }

    /** A reply header as read. */
    public record Reply(int status, long regionSize, int messageLength, String problem) {
    }

    /** Encodes a request; the name must be 1..63 bytes of UTF-8 and the secret 32 bytes. */
    public static byte[] request(String guest, byte[] secret) {
        byte[] name = guest.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length >= NAME_LENGTH) {
            throw new IllegalArgumentException("guest name '" + guest + "' must be 1 to " + (NAME_LENGTH - 1)
                    + " bytes");
        }
        if (secret.length != SECRET_LENGTH) {
            throw new IllegalArgumentException("a guest secret is " + SECRET_LENGTH + " bytes, not " + secret.length);
        }
        ByteBuffer b = ByteBuffer.allocate(REQUEST_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC_OFFSET, MAGIC).putShort(VERSION_OFFSET, (short) VERSION).putShort(FLAGS_OFFSET, (short) 0);
        b.put(NAME_OFFSET, name).put(SECRET_OFFSET, secret);
        return b.array();
    }

    /** Decodes a request of exactly {@link #REQUEST_SIZE} bytes, reading each field once. */
    public static Request readRequest(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(MAGIC_OFFSET);
        int version = Short.toUnsignedInt(b.getShort(VERSION_OFFSET));
        int flags = Short.toUnsignedInt(b.getShort(FLAGS_OFFSET));
        byte[] name = Arrays.copyOfRange(raw, NAME_OFFSET, NAME_OFFSET + NAME_LENGTH);
        byte[] secret = Arrays.copyOfRange(raw, SECRET_OFFSET, SECRET_OFFSET + SECRET_LENGTH);
        if (magic != MAGIC) {
            return new Request(null, secret, "bad magic 0x" + Integer.toHexString(magic) + " (not a Ferry guest)");
        }
        if (version != VERSION) {
            return new Request(null, secret, "request version " + version + ", this host speaks " + VERSION
                    + ": use a guest library of the host's version");
        }
        if (flags != 0) {
            return new Request(null, secret, "unknown flags 0x" + Integer.toHexString(flags));
        }
        int len = 0;
        while (len < NAME_LENGTH && name[len] != 0) {
            len++;
        }
        if (len == 0 || len == NAME_LENGTH) {
            return new Request(null, secret, "the guest name is empty or not NUL-terminated");
        }
        return new Request(new String(name, 0, len, StandardCharsets.UTF_8), secret, null);
    }

    /** Encodes a reply: header and message (cut to {@link #MAX_MESSAGE} bytes). */
    public static byte[] reply(int status, long regionSize, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(m.length, MAX_MESSAGE);
        ByteBuffer b = ByteBuffer.allocate(REPLY_HEADER_SIZE + len).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC_OFFSET, MAGIC).putShort(VERSION_OFFSET, (short) VERSION).putShort(STATUS_OFFSET, (short) status);
        b.putLong(REGION_SIZE_OFFSET, regionSize).putInt(MESSAGE_LENGTH_OFFSET, len);
        b.put(REPLY_HEADER_SIZE, m, 0, len);
        return b.array();
    }

    /** Decodes a reply header of {@link #REPLY_HEADER_SIZE} bytes. */
    public static Reply readReply(byte[] header) {
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(MAGIC_OFFSET);
        int version = Short.toUnsignedInt(b.getShort(VERSION_OFFSET));
        int status = Short.toUnsignedInt(b.getShort(STATUS_OFFSET));
        long size = b.getLong(REGION_SIZE_OFFSET);
        int len = b.getInt(MESSAGE_LENGTH_OFFSET);
        if (magic != MAGIC || version != VERSION) {
            return new Reply(status, size, 0, "the socket did not answer as a Ferry host (magic 0x"
                    + Integer.toHexString(magic) + ", version " + version + ")");
        }
        if (len < 0 || len > MAX_MESSAGE) {
            return new Reply(status, size, 0, "reply message length " + len + " is over " + MAX_MESSAGE);
        }
        return new Reply(status, size, len, null);
    }
}
