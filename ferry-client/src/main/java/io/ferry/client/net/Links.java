package io.ferry.client.net;

import io.ferry.channel.os.ErrnoException;
import io.ferry.channel.os.UnixSocket;
import io.ferry.channel.os.StreamSocket;
import io.ferry.client.FerryException;
import io.ferry.client.HostAddress;
import io.ferry.protocol.Status;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** The byte streams a pump runs over: an FFM socket (plain TCP, Unix, vsock) or a TLS socket. */
final class Links {
    /** How long a TCP connect, and a TLS handshake, may take. */
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private Links() {
    }

    /** A connected byte stream: one thread reads, another writes; {@link #close} from any thread stops both. */
    interface Link extends AutoCloseable {
        /** Fills {@code dst}'s remaining bytes; EOFException at the end of the stream. */
        void readFully(ByteBuffer dst) throws IOException;

        /** Writes every remaining byte of {@code srcs}, in order (may buffer until {@link #flush}). */
        void write(ByteBuffer... srcs) throws IOException;

        void flush() throws IOException;

        @Override
        void close();
    }

    /** Plain TCP to a loopback address (connected at once or refused): TCP_NODELAY, SO_KEEPALIVE, through FFM. */
    static Link tcp(HostAddress.Stream a) throws IOException {
        InetSocketAddress to = new InetSocketAddress(a.host(), a.port());
        if (to.isUnresolved() || !to.getAddress().isLoopbackAddress()) {
            throw new FerryException(Status.INVALID_ARGUMENT, a + ": " + a.host() + " resolves to "
                    + (to.isUnresolved() ? "nothing" : to.getAddress().getHostAddress()) + ", not a loopback address; "
                    + "ferry+tcp is plain TCP for a host on this machine only: use ferry+tls");
        }
        try {
            return new FdLink(StreamSocket.connectTcp(to.getAddress(), a.port()));
        } catch (ErrnoException e) {
            throw e.errno() == 111 ? new ConnectException("Connection refused") : e; // ECONNREFUSED
        }
    }

    /** The Unix socket of a Firecracker-style vsock listener, read and written through FFM as vsock is. */
    static Link unix(HostAddress.Stream a) throws IOException {
        return new FdLink(StreamSocket.ofDescriptor(UnixSocket.connect(a.socket()).fd()));
    }

    /**
     * TLS 1.3 with {@code context} (the guest's bundle): the host's certificate must chain to the bundle's CA and
     * name the host ({@code HTTPS} endpoint identification: a DNS name or an IP address in its subject alternative
     * names). The handshake runs here, bounded by {@link #CONNECT_TIMEOUT_MILLIS}.
     */
    static Link tls(HostAddress.Stream a, SSLContext context) throws IOException {
        Socket raw = new Socket();
        try {
            raw.setTcpNoDelay(true);
            raw.setKeepAlive(true);
            raw.connect(new InetSocketAddress(a.host(), a.port()), CONNECT_TIMEOUT_MILLIS);
            SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(raw, a.host(), a.port(), true);
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3"});
            p.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(p);
            s.setSoTimeout(CONNECT_TIMEOUT_MILLIS);
            s.startHandshake();
            s.setSoTimeout(0);
            return new SocketLink(raw, s.getInputStream(), s.getOutputStream());
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /**
     * AF_VSOCK to {@code CID:PORT} (inside a VM: CID 2 is the host), through FFM ({@link StreamSocket}); the kernel
     * bounds the connect (2 s by default).
     */
    static Link vsock(HostAddress.Stream a) throws IOException {
        return new FdLink(StreamSocket.connectVsock(Long.parseLong(a.host()), a.port()));
    }

    /**
     * A stream socket read and written through FFM (plain TCP to a loopback address, a Unix socket, AF_VSOCK): reads
     * through a 64 KiB buffer of its own (one system call brings a frame's header and payload, often the next
     * frames), except a read that size or larger into a direct buffer, which goes straight; the buffers of one
     * {@link #write} gathered into one send where they fit. A thread's blocked read is not ended by an interrupt.
     */
    static final class FdLink implements Link {
        private static final int BUFFER = 64 * 1024;
        private final StreamSocket socket;
        private final MemorySegment readBuffer;
        private final MemorySegment writeScratch;
        /** Bytes read and not yet taken: [readAt, readEnd) of readBuffer (reader only). */
        private int readAt;
        private int readEnd;

        FdLink(StreamSocket socket) {
            this.socket = socket;
            Arena arena = Arena.ofAuto(); // freed when the link is unreachable: a closing thread may still copy
            this.readBuffer = arena.allocate(BUFFER);
            this.writeScratch = arena.allocate(BUFFER);
        }

        @Override
        public void readFully(ByteBuffer dst) throws IOException {
            while (dst.hasRemaining()) {
                if (readAt < readEnd) {
                    int n = Math.min(readEnd - readAt, dst.remaining());
                    MemorySegment.copy(readBuffer, readAt, MemorySegment.ofBuffer(dst), 0, n);
                    dst.position(dst.position() + n);
                    readAt += n;
                    continue;
                }
                if (dst.isDirect() && dst.remaining() >= BUFFER) {
                    int n = socket.read(MemorySegment.ofBuffer(dst));
                    if (n < 0) {
                        throw new EOFException("the host closed the connection");
                    }
                    dst.position(dst.position() + n);
                    continue;
                }
                int n = socket.read(readBuffer);
                if (n < 0) {
                    throw new EOFException("the host closed the connection");
                }
                readAt = 0;
                readEnd = n;
            }
        }

        @Override
        public void write(ByteBuffer... srcs) throws IOException {
            long total = 0;
            for (ByteBuffer b : srcs) {
                total += b.remaining();
            }
            if (total <= BUFFER) {
                long at = 0;
                for (ByteBuffer b : srcs) {
                    int n = b.remaining();
                    MemorySegment.copy(MemorySegment.ofBuffer(b), 0, writeScratch, at, n);
                    b.position(b.limit());
                    at += n;
                }
                socket.writeFully(writeScratch.asSlice(0, at));
                return;
            }
            for (ByteBuffer b : srcs) {
                if (b.isDirect()) {
                    socket.writeFully(MemorySegment.ofBuffer(b));
                    b.position(b.limit());
                    continue;
                }
                while (b.hasRemaining()) {
                    int n = Math.min(BUFFER, b.remaining());
                    MemorySegment.copy(MemorySegment.ofBuffer(b), 0, writeScratch, 0, n);
                    socket.writeFully(writeScratch.asSlice(0, n));
                    b.position(b.position() + n);
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    /**
     * An SSLSocket's streams, copied through arrays; closing the raw socket stops a blocked reader and writer. Unlike
     * a socket channel's, a platform thread's blocked read is not ended by {@link Thread#interrupt}: a caller that
     * reads its own answer ({@link PumpReceiver}) cannot close the connection by being interrupted.
     */
    private static final class SocketLink implements Link {
        private final Socket raw;
        private final InputStream in;
        private final OutputStream out;
        private final byte[] readScratch = new byte[64 * 1024];
        private final byte[] writeScratch = new byte[64 * 1024];

        SocketLink(Socket raw, InputStream in, OutputStream out) {
            this.raw = raw;
            this.in = in;
            this.out = new BufferedOutputStream(out, 64 * 1024);
        }

        @Override
        public void readFully(ByteBuffer dst) throws IOException {
            while (dst.hasRemaining()) {
                int n;
                if (dst.hasArray()) {
                    n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                    if (n > 0) {
                        dst.position(dst.position() + n);
                    }
                } else {
                    n = in.read(readScratch, 0, Math.min(readScratch.length, dst.remaining()));
                    if (n > 0) {
                        dst.put(readScratch, 0, n);
                    }
                }
                if (n < 0) {
                    throw new EOFException("the host closed the connection");
                }
            }
        }

        @Override
        public void write(ByteBuffer... srcs) throws IOException {
            for (ByteBuffer b : srcs) {
                if (b.hasArray()) {
                    out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
                    b.position(b.limit());
                } else {
                    while (b.hasRemaining()) {
                        int n = Math.min(writeScratch.length, b.remaining());
                        b.get(writeScratch, 0, n);
                        out.write(writeScratch, 0, n);
                    }
                }
            }
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() {
            try {
                raw.close();
            } catch (IOException ignored) {
                // closing: nothing left to do
            }
        }
    }
}
