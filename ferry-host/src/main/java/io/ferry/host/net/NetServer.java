package io.ferry.host.net;

import io.ferry.host.config.NetConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The stream transport's listeners (docs/network.md): TLS on each {@code listen:} address, plain TCP on 127.0.0.1
 * for {@code insecure-loopback:}, and the Firecracker-style vsock Unix socket {@code uds_port} for {@code vsock:}.
 * None unless the config names them. One Netty event loop group (epoll, else NIO) serves every connection; each
 * connection is a {@link StreamConnection} with a {@link CompletionPump} thread of its own.
 *
 * <p>This machine's own AF_VSOCK is never opened: a VM's vsock reaches the host through its VMM's Unix socket.
 */
public final class NetServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.net");
    /** A connection with no frame for this long is closed (clients send WORDS at least every 100 ms). */
    public static final int IDLE_SECONDS = 10;
    /** The write buffer's water marks: above the high one the pump reads no completion until below the low one. */
    static final int LOW_WATER = 512 * 1024;
    static final int HIGH_WATER = 1024 * 1024;
    /** Event loop threads for every connection of the host. */
    static final int EVENT_LOOP_THREADS = 2;

    private final GuestDirectory guests;
    private final NetCounters counters = new NetCounters();
    private final Admission admission = new Admission();
    private final EventLoopGroup group;
    private final boolean epoll;
    private final List<Channel> channels = new ArrayList<>();
    private InetSocketAddress insecureAddress;
    private final List<InetSocketAddress> tlsAddresses = new ArrayList<>();
    private Path vsockPath;

    private NetServer(GuestDirectory guests) {
        this.guests = guests;
        this.epoll = Epoll.isAvailable();
        IoHandlerFactory io;
        if (epoll) {
            io = EpollIoHandler.newFactory();
        } else {
            LOG.info("stream transport: epoll is not available here (" + Epoll.unavailabilityCause()
                    + "); using Java NIO");
            io = NioIoHandler.newFactory();
        }
        this.group = new MultiThreadIoEventLoopGroup(EVENT_LOOP_THREADS, io);
    }

    /**
     * Starts the listeners {@code net} names, or returns null when it names none (a host never listens by default).
     * TLS listeners open the certificate authority in {@code net.tlsDir()} (created on first use) with the host's
     * certificate for the addresses they name.
     */
    public static NetServer start(NetConfig net, GuestDirectory guests) throws IOException {
        if (net == null || !net.any()) {
            return null;
        }
        NetServer s = new NetServer(guests);
        try {
            StreamSecurity plain = new PlainSecurity(guests);
            StreamSecurity tls = net.listen().isEmpty() ? null : tls(net);
            for (NetConfig.Address a : net.listen()) {
                InetSocketAddress bound = (InetSocketAddress) s.bind(
                        new InetSocketAddress(a.host(), a.port()), false, tls, "tls " + a);
                s.tlsAddresses.add(bound);
                LOG.info("stream transport: TLS on " + bound);
            }
            if (net.insecureLoopback() != NetConfig.OFF) {
                s.insecureAddress = (InetSocketAddress) s.bind(new InetSocketAddress(
                        java.net.InetAddress.getLoopbackAddress(), net.insecureLoopback()), false, plain,
                        "insecure-loopback");
                LOG.warning("stream transport: PLAIN TCP (no TLS) on " + s.insecureAddress + " (insecure-loopback): "
                        + "traffic is readable by anyone on this machine; guests prove their secret; for benchmarks only");
            }
            if (net.vsock() != null) {
                s.vsockPath = net.vsock().socketPath();
                s.bindVsock(s.vsockPath, plain);
                LOG.info("stream transport: vsock Unix socket " + s.vsockPath + " (Firecracker: guests connect to "
                        + "CID 2 port " + net.vsock().port() + "; plain stream, guests prove their secret)");
            }
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e instanceof IOException io ? io : new IOException("stream transport: " + e.getMessage(), e);
        }
        return s;
    }

    private static StreamSecurity tls(NetConfig net) throws IOException {
        Path dir = net.tlsDir() != null ? net.tlsDir() : io.ferry.host.net.tls.CertificateAuthority.defaultDirectory();
        List<String> names = new ArrayList<>();
        for (NetConfig.Address a : net.listen()) {
            if (!a.host().equals("0.0.0.0") && !a.host().equals("::") && !names.contains(a.host())) {
                names.add(a.host()); // the host's certificate names the addresses guests connect to
            }
        }
        try {
            StreamSecurity t = new TlsSecurity(io.ferry.host.net.tls.HostTls.open(dir, names));
            LOG.info("stream transport: TLS certificate authority " + dir);
            return t;
        } catch (IOException | RuntimeException e) {
            throw new IOException("listen: cannot open the TLS certificate authority in " + dir + ": "
                    + e.getMessage() + " (tls-dir in the config, or FERRY_TLS_DIR, names another)", e);
        }
    }

    private void bindVsock(Path path, StreamSecurity plain) throws IOException {
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            if (!isSocket(path)) {
                throw new IOException("vsock: " + path + " exists and is not a socket; remove it or choose "
                        + "another uds path");
            }
            Files.delete(path); // a stale socket of an earlier host
        }
        SocketAddress a = epoll ? new DomainSocketAddress(path.toString()) : UnixDomainSocketAddress.of(path);
        bind(a, true, plain, "vsock " + path);
        // the VMM connects here; the secret in OPEN decides, as on the guest socket
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
    }

    private static boolean isSocket(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0140000;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private SocketAddress bind(SocketAddress address, boolean unix, StreamSecurity security, String listener)
            throws IOException {
        Class<? extends ServerChannel> type = unix
                ? (epoll ? EpollServerDomainSocketChannel.class : NioServerDomainSocketChannel.class)
                : (epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class);
        SslContext ssl = security.serverContext();
        ServerBootstrap b = new ServerBootstrap().group(group).channel(type)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(LOW_WATER, HIGH_WATER))
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel c) {
                        Admission.Place place = admission.admit(c.remoteAddress(), listener);
                        if (place.refusal() != null) {
                            refuse(c, ssl == null, place.refusal());
                            return;
                        }
                        c.closeFuture().addListener(f -> place.release());
                        if (ssl != null) {
                            c.pipeline().addLast(ssl.newHandler(c.alloc()));
                        }
                        c.pipeline().addLast(new IdleStateHandler(IDLE_SECONDS, 0, 0, TimeUnit.SECONDS));
                        c.pipeline().addLast(new StreamConnection(NetServer.this, security, listener, place));
                    }
                });
        if (!unix) {
            b.childOption(ChannelOption.TCP_NODELAY, true).childOption(ChannelOption.SO_KEEPALIVE, true);
        }
        try {
            Channel c = b.bind(address).sync().channel();
            channels.add(c);
            return c.localAddress();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("stream transport: interrupted binding " + address, e);
        } catch (RuntimeException e) {
            throw new IOException("stream transport: cannot listen on " + address + " (" + listener + "): " + e, e);
        }
    }

    /** Closes a connection beyond the {@link Admission} limits; a plain one first hears why (TLS: not before the handshake). */
    private static void refuse(Channel c, boolean plain, String why) {
        if (plain) {
            c.writeAndFlush(Frames.closed(c.alloc(), io.ferry.protocol.Status.QUOTA_EXCEEDED.code(),
                    io.ferry.protocol.Status.QUOTA_EXCEEDED + ": " + why)).addListener(
                    io.netty.channel.ChannelFutureListener.CLOSE);
        } else {
            c.close();
        }
    }

    /** Connections waiting for their OPEN: how many there are, and how many were refused. */
    Admission admission() {
        return admission;
    }

    private final java.util.concurrent.atomic.AtomicInteger departing = new java.util.concurrent.atomic.AtomicInteger();

    /** Connections that ended and are still leaving their lanes. */
    int departing() {
        return departing.get();
    }

    void departing(int delta) {
        departing.addAndGet(delta);
    }

    GuestDirectory guests() {
        return guests;
    }

    /** What the stream transport did (connections, records, the most bytes one connection buffered). */
    public NetCounters counters() {
        return counters;
    }

    /** The insecure loopback listener's address, or null. */
    public InetSocketAddress insecureAddress() {
        return insecureAddress;
    }

    /** The TLS listeners' addresses, in config order. */
    public List<InetSocketAddress> tlsAddresses() {
        return List.copyOf(tlsAddresses);
    }

    /** The vsock Unix socket, or null. */
    public Path vsockPath() {
        return vsockPath;
    }

    /** Whether the epoll transport is in use (else NIO). */
    public boolean epoll() {
        return epoll;
    }

    /** Stops listening and closes every connection (each leaves its lane). */
    @Override
    public void close() {
        for (Channel c : channels) {
            c.close().awaitUninterruptibly(1_000);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3_000);
        if (vsockPath != null) {
            try {
                Files.deleteIfExists(vsockPath);
            } catch (IOException e) {
                LOG.fine("vsock socket not removed: " + e.getMessage());
            }
        }
    }
}
