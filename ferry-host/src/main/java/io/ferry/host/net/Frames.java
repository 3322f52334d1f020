package io.ferry.host.net;

import io.ferry.protocol.StreamFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/** The frames the host sends (docs/network.md, "Frames"), encoded into Netty buffers, little-endian. */
final class Frames {
    private Frames() {
    }

    /** A buffer holding the 8-byte header of a frame of {@code payload} bytes, with room for the payload. */
    static ByteBuf header(ByteBufAllocator alloc, int type, int payload) {
        return header(alloc, type, payload, payload);
    }

    /** The header of a frame of {@code payload} bytes, in a buffer with room for {@code room} of them. */
    private static ByteBuf header(ByteBufAllocator alloc, int type, int payload, int room) {
        ByteBuf b = alloc.directBuffer(StreamFrame.HEADER_LENGTH + room);
        b.writeIntLE(StreamFrame.HEADER_LENGTH + payload);
        b.writeShortLE(type);
        b.writeShortLE(0);
        return b;
    }

    static ByteBuf opened(ByteBufAllocator alloc, int lane, MemorySegment headerPage) {
        ByteBuf b = header(alloc, StreamFrame.OPENED, 16 + StreamFrame.HEADER_PAGE);
        b.writeIntLE(lane);
        b.writeIntLE(0);
        b.writeLongLE(StreamFrame.MAX_CHUNK);
        return bytes(b, headerPage);
    }

    static ByteBuf closed(ByteBufAllocator alloc, int status, String reason) {
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(r.length, 4096); // a reason is a sentence, never a bulk payload
        ByteBuf b = header(alloc, StreamFrame.CLOSED, 4 + n);
        b.writeIntLE(status);
        b.writeBytes(r, 0, n);
        return b;
    }

    static ByteBuf words(ByteBufAllocator alloc, long[] offsets, long[] values, int n) {
        ByteBuf b = header(alloc, StreamFrame.WORDS, 16 * n);
        for (int i = 0; i < n; i++) {
            b.writeIntLE((int) offsets[i]);
            b.writeIntLE(0);
            b.writeLongLE(values[i]);
        }
        return b;
    }

    /** A COMPLETION or FIGURES frame: the bytes as they are, padded with zeros to a multiple of 8. */
    static ByteBuf copy(ByteBufAllocator alloc, int type, MemorySegment bytes) {
        int n = (int) bytes.byteSize();
        int padded = (n + 7) & ~7;
        return bytes(header(alloc, type, padded), bytes).writeZero(padded - n);
    }

    /**
     * A HEAP frame that sends {@code bytes} from where they lie, without a copy: they are read when the channel
     * writes, so their memory must stay mapped until the channel has closed ({@link LaneMirror#unmap}).
     */
    static ByteBuf heap(ByteBufAllocator alloc, long offset, MemorySegment bytes) {
        ByteBuf head = header(alloc, StreamFrame.HEAP, 8 + (int) bytes.byteSize(), 8).writeLongLE(offset);
        return Unpooled.wrappedBuffer(head, Unpooled.wrappedBuffer(bytes.asByteBuffer()));
    }

    private static ByteBuf bytes(ByteBuf b, MemorySegment bytes) {
        int n = (int) bytes.byteSize();
        MemorySegment.copy(bytes, 0, MemorySegment.ofBuffer(b.nioBuffer(b.writerIndex(), n)), 0, n);
        b.writerIndex(b.writerIndex() + n);
        return b;
    }
}
