package io.ferry.host.net;

import io.ferry.channel.RegionDescriptor;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.StreamFrame;
import io.ferry.protocol.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A stream client spoken straight from docs/network.md, frame by frame, without the guest library: the tests' hands
 * on a connection, well-behaved or hostile. Blocking I/O; a read that gets nothing for 20 s fails the test (a hang
 * guard, not a timing).
 */
final class StreamClient implements AutoCloseable {
    record Frame(int type, byte[] payload) {
        MemorySegment segment() {
            return MemorySegment.ofArray(payload);
        }
    }

    /** A completion read off the stream. */
    record Completion(int op, long seq, int status, long r0, long r1, String text) {
    }

    private final Socket socket;
    private final SocketChannel unix;
    final InputStream in;
    final OutputStream out;
    int lane = -1;
    byte[] headerPage;
    long nonce;
    long seq;
    long beat;
    final List<Frame> others = new ArrayList<>();
    /** Host words seen in WORDS frames, by region offset. */
    final java.util.Map<Integer, Long> hostWords = new java.util.HashMap<>();

    private StreamClient(Socket socket, SocketChannel unix) throws IOException {
        this.socket = socket;
        this.unix = unix;
        if (socket != null) {
            socket.setSoTimeout(20_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        } else {
            in = Channels.newInputStream(unix);
            out = Channels.newOutputStream(unix);
        }
    }

    static StreamClient tcp(InetSocketAddress a) throws IOException {
        return tcp(a, 0);
    }

    /** Over TCP; {@code receiveBuffer} > 0 sets a small receive buffer (a client that reads little). */
    static StreamClient tcp(InetSocketAddress a, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(a, 10_000);
        s.setTcpNoDelay(true);
        return new StreamClient(s, null);
    }

    /** Over a TCP socket already connected. */
    static StreamClient of(Socket connected) throws IOException {
        connected.setTcpNoDelay(true);
        return new StreamClient(connected, null);
    }

    /** Over TLS 1.3, presenting the certificate of the guest bundle in {@code bundle}; the handshake done. */
    static StreamClient tls(InetSocketAddress a, Path bundle) throws IOException {
        javax.net.ssl.SSLContext ctx = io.ferry.host.net.tls.HostTls.clientContext(bundle);
        javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket();
        s.connect(a, 10_000);
        s.setTcpNoDelay(true);
        s.setSoTimeout(20_000);
        s.startHandshake();
        return new StreamClient(s, null);
    }

    static StreamClient unix(Path p) throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(p));
        return new StreamClient(null, c);
    }

    /** This end's address as the host's log names the peer ("/127.0.0.1:40000"); a Unix socket's is unnamed. */
    String localAddress() {
        return socket != null ? String.valueOf(socket.getLocalSocketAddress()) : "?";
    }

    // ---- raw frames ---------------------------------------------------------------------------------------

    /** Frames (and raw writes) sent so far. */
    int sent;

    void frame(int type, int flags, byte[] payload) throws IOException {
        sent++;
        ByteBuffer b = ByteBuffer.allocate(8 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(8 + payload.length).putShort((short) type).putShort((short) flags).put(payload);
        out.write(b.array());
        out.flush();
    }

    void raw(byte[] bytes) throws IOException {
        sent++;
        out.write(bytes);
        out.flush();
    }

    /** The next frame, or null when the host closed the connection. */
    Frame read() throws IOException {
        byte[] h = in.readNBytes(8);
        if (h.length < 8) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        int length = b.getInt();
        int type = b.getShort() & 0xffff;
        if (length < 8 || length > 8 + StreamFrame.MAX_PAYLOAD) {
            throw new IOException("host sent a frame of length " + length);
        }
        byte[] p = in.readNBytes(length - 8);
        if (p.length < length - 8) {
            return null;
        }
        return new Frame(type, p);
    }

    static byte[] openPayload(long magic, int version, String guest, byte[] secret) {
        byte[] n = guest.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(16 + n.length + (secret == null ? 0 : 1 + secret.length))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(magic).putInt(version).putInt(0).put(n);
        if (secret != null) {
            b.put((byte) 0).put(secret);
        }
        return b.array();
    }

    /** Sends OPEN; returns OPENED (lane and header page kept) or the CLOSED frame. */
    Frame open(String guest, byte[] secret) throws IOException {
        frame(StreamFrame.OPEN, 0, openPayload(StreamFrame.OPEN_MAGIC, StreamFrame.VERSION, guest, secret));
        Frame f = read();
        if (f != null && f.type() == StreamFrame.OPENED) {
            StreamFrame.Opened o = StreamFrame.parseOpened(f.segment());
            lane = o.lane();
            headerPage = o.headerPage().toArray(ValueLayout.JAVA_BYTE);
        }
        return f;
    }

    static StreamFrame.Closed closed(Frame f) {
        return f != null && f.type() == StreamFrame.CLOSED ? StreamFrame.parseClosed(f.segment()) : null;
    }

    int words() {
        return RegionDescriptor.laneWordsOffset(lane);
    }

    void words(long[] offsets, long[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 * offsets.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < offsets.length; i++) {
            b.putInt((int) offsets[i]).putInt(0).putLong(values[i]);
        }
        frame(StreamFrame.WORDS, 0, b.array());
    }

    void heartbeat() throws IOException {
        words(new long[] {words() + RegionDescriptor.LANE_GUEST_HEARTBEAT_OFFSET}, new long[] {++beat});
    }

    // ---- a session ----------------------------------------------------------------------------------------

    /** CONNECT_REQUEST up, CONNECT_ACK back, then HELLO with the header page's credential; returns its status. */
    Completion connect() throws IOException {
        request();
        return hello();
    }

    /** CONNECT_REQUEST up and CONNECT_ACK back: a session the host opened, before HELLO. */
    void request() throws IOException {
        nonce = new java.util.Random().nextLong() | 1;
        words(new long[] {words() + 8, words() + 16, words()}, new long[] {4242, ++beat, nonce});
        int ack = words() + RegionDescriptor.LANE_CONNECT_ACK_OFFSET;
        while (hostWords.getOrDefault(ack, 0L) != nonce) {
            Frame f = read();
            if (f == null) {
                throw new IOException("host closed the connection before CONNECT_ACK");
            }
            take(f);
        }
    }

    /** HELLO with the header page's credential; returns its completion. */
    Completion hello() throws IOException {
        seq = 0;
        byte[] name = guestName().getBytes(StandardCharsets.UTF_8);
        MemorySegment rec = record(Op.HELLO, true, name);
        Calls.Hello h = new Calls.Hello().wrap(rec, 0);
        h.magic(Wire.HELLO_MAGIC).version(Wire.PROTOCOL_VERSION).capabilities(Wire.CAPABILITIES).pid(4242);
        ByteBuffer cred = ByteBuffer.wrap(headerPage, RegionDescriptor.CREDENTIAL_OFFSET, 32).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4; i++) {
            h.credential(i, cred.getLong());
        }
        return call(rec);
    }

    String guestName() {
        int i = RegionDescriptor.GUEST_NAME_OFFSET;
        int n = 0;
        while (n < 64 && headerPage[i + n] != 0) {
            n++;
        }
        return new String(headerPage, i, n, StandardCharsets.UTF_8);
    }

    /** A call record of {@code op} in private memory, header written, arguments zero; seq the next one. */
    MemorySegment record(Op op, boolean reply, byte[] blob) {
        int blobBytes = blob == null ? 0 : blob.length;
        int length = CallRecord.length(op, blobBytes);
        MemorySegment rec = MemorySegment.ofArray(new long[(length + 7) / 8]).asSlice(0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 0, length);
        rec.set(ValueLayout.JAVA_INT_UNALIGNED, 4, op.code());
        CallRecord v = CallRecord.of(op).wrap(rec, 0).header(++seq,
                reply || op.kind() == Op.Kind.SYNC ? Wire.FLAG_REPLY : 0, blobBytes);
        if (blobBytes > 0) {
            v.blob(blob);
        }
        return rec;
    }

    /** A RECORD frame: the record, padded with zeros to a multiple of 8 as in the ring. */
    void send(MemorySegment rec) throws IOException {
        frame(StreamFrame.RECORD, 0, padded(rec.toArray(ValueLayout.JAVA_BYTE)));
    }

    static byte[] padded(byte[] b) {
        return java.util.Arrays.copyOf(b, (b.length + 7) & ~7);
    }

    /** Sends {@code rec} and reads frames until its completion (null when the host closed first). */
    Completion call(MemorySegment rec) throws IOException {
        long want = rec.get(ValueLayout.JAVA_LONG_UNALIGNED, 8);
        heartbeat();
        send(rec);
        while (true) {
            Frame f = read();
            if (f == null) {
                return null;
            }
            Completion c = take(f);
            if (c != null && c.seq() == want) {
                return c;
            }
        }
    }

    Completion nop(long value) throws IOException {
        MemorySegment rec = record(Op.NOP, true, null);
        new Calls.Nop().wrap(rec, 0).value(value);
        return call(rec);
    }

    /** Files a frame read: host words, completions (returned), the rest kept in {@link #others}. */
    Completion take(Frame f) {
        if (f.type() == StreamFrame.WORDS) {
            StreamFrame.forEachWord(f.segment(), (o, v) -> hostWords.put(o, v));
            return null;
        }
        if (f.type() == StreamFrame.COMPLETION) {
            MemorySegment s = f.segment();
            CompletionRecord c = new CompletionRecord().wrap(s, 0);
            int blob = s.get(ValueLayout.JAVA_INT_UNALIGNED, CompletionRecord.BLOB_LENGTH_OFFSET);
            String text = new String(f.payload(), CompletionRecord.HEADER_LENGTH,
                    Math.max(0, Math.min(blob, f.payload().length - CompletionRecord.HEADER_LENGTH)), StandardCharsets.UTF_8);
            return new Completion(c.op(), c.seq(), c.status(),
                    s.get(ValueLayout.JAVA_LONG_UNALIGNED, CompletionRecord.RESULTS_OFFSET),
                    s.get(ValueLayout.JAVA_LONG_UNALIGNED, CompletionRecord.RESULTS_OFFSET + 8), text);
        }
        others.add(f);
        return null;
    }

    /** Says nothing more (half-close): a host waiting for the rest of a frame sees the end of the stream. */
    void shutdownOutput() throws IOException {
        if (socket != null) {
            socket.shutdownOutput();
        } else {
            unix.shutdownOutput();
        }
    }

    /** Reads until the host closes; returns its CLOSED frame if it sent one. */
    StreamFrame.Closed awaitClosed() throws IOException {
        StreamFrame.Closed last = null;
        try {
            for (Frame f = read(); f != null; f = read()) {
                if (f.type() == StreamFrame.CLOSED) {
                    last = StreamFrame.parseClosed(f.segment());
                }
            }
        } catch (java.net.SocketException e) {
            // reset after CLOSED
        }
        return last;
    }

    /** Ends the connection abruptly (RST on TCP), as a killed process's does. */
    void kill() throws IOException {
        if (socket != null) {
            socket.setSoLinger(true, 0);
            socket.close();
        } else {
            unix.close();
        }
    }

    @Override
    public void close() throws IOException {
        if (socket != null) {
            socket.close();
        } else {
            unix.close();
        }
    }
}
