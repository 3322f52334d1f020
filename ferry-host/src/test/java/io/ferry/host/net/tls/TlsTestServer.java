package io.ferry.host.net.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A Netty TLS server on 127.0.0.1 with the host's {@link HostTls#serverContext}, speaking a line protocol that stands
 * in for the OPEN/OPENED/CLOSED frames: after the handshake it sends {@code HELLO}, reads the guest name the client
 * claims, checks it with {@link GuestCertificates} and answers {@code OPENED NAME} or {@code CLOSED STATUS REASON},
 * then closes. What the host would log lands in {@link #log}.
 */
final class TlsTestServer implements AutoCloseable {
    final BlockingQueue<String> log = new LinkedBlockingQueue<>();
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;

    TlsTestServer(HostTls tls) throws Exception {
        SslContext ctx = tls.serverContext();
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(ctx.newHandler(ch.alloc()), new Open(tls.guests()));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Open extends ChannelInboundHandlerAdapter {
        private final GuestCertificates guests;
        private final StringBuilder line = new StringBuilder();

        Open(GuestCertificates guests) {
            this.guests = guests;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent e) {
                if (e.isSuccess()) {
                    send(ctx, "HELLO", false);
                } else {
                    log.add("handshake: " + HostTls.handshakeFailure(e.cause(), ctx.channel().remoteAddress()));
                    ctx.close();
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                while (in.isReadable()) {
                    char c = (char) in.readByte();
                    if (c != '\n') {
                        line.append(c);
                        continue;
                    }
                    try {
                        String guest = guests.check(ctx.pipeline().get(SslHandler.class).engine().getSession(),
                                line.toString());
                        log.add("accepted " + guest);
                        send(ctx, "OPENED " + guest, true);
                    } catch (GuestCertificates.Refused r) {
                        log.add("refused " + r.kind() + ": " + r.getMessage());
                        send(ctx, "CLOSED " + r.status() + " " + r.getMessage(), true);
                    }
                    return;
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // the handshake failure is logged from its completion event
        }

        private void send(ChannelHandlerContext ctx, String text, boolean last) {
            var f = ctx.writeAndFlush(Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
            if (last) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
