package io.ferry.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on loopback between a stream client and a host: bytes pass both ways unchanged until {@link #cut()}
 * resets every connection through it, as a network that drops them does, or {@link #freeze()} silently drops every
 * byte on the connections open then, as a network that stops delivering without a reset does (a pulled cable, a
 * firewall dropping packets). New connections are relayed again after either.
 */
final class TcpRelay implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    /** Sockets whose bytes are read and dropped from now on. */
    private final java.util.Set<Socket> frozen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Host-side sockets of the connections relayed so far. */
    private final List<Socket> upstreams = new CopyOnWriteArrayList<>();
    /** Sockets read no more (their sender's buffers fill, as with a peer that stops reading). */
    private final java.util.Set<Socket> paused = java.util.concurrent.ConcurrentHashMap.newKeySet();

    TcpRelay(InetSocketAddress target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon(true).name("tcp-relay").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(target.getAddress(), target.getPort());
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                open.add(client);
                open.add(upstream);
                upstreams.add(upstream);
                copy(client, upstream);
                copy(upstream, client);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void copy(Socket from, Socket to) {
        Thread.ofPlatform().daemon(true).name("tcp-relay-copy").start(() -> {
            byte[] b = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while (true) {
                    while (paused.contains(from) && !from.isClosed()) {
                        Thread.sleep(10);
                    }
                    if ((n = in.read(b)) <= 0) {
                        break;
                    }
                    if (!frozen.contains(from)) {
                        out.write(b, 0, n);
                    }
                }
            } catch (IOException | InterruptedException e) {
                // cut, or the peer went: the other direction ends too
            }
        });
    }

    /** From now on drops every byte of the connections relayed so far, both ways, and closes none of them. */
    void freeze() {
        frozen.addAll(open);
        open.clear();
    }

    /**
     * From now on reads nothing more from the host on the connections relayed so far, and closes none of them: the
     * host's bytes wait in its socket buffers as with a client that stops reading, while the client's still pass.
     */
    void stopReadingHost() {
        paused.addAll(upstreams);
    }

    /** Resets every relayed connection (RST to both ends). */
    void cut() throws IOException {
        for (Socket s : open) {
            if (!s.isClosed()) {
                s.setSoLinger(true, 0);
                s.close();
            }
        }
        open.clear();
    }

    @Override
    public void close() throws IOException {
        server.close();
        open.addAll(paused);
        paused.clear();
        open.addAll(frozen);
        frozen.clear();
        cut();
    }
}
