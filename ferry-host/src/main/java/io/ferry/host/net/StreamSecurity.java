package io.ferry.host.net;

import io.ferry.protocol.Status;

/**
 * Who a stream connection's peer is. TLS listeners map the verified client certificate to a guest; the plain
 * listeners (insecure loopback, the vsock Unix socket) take the OPEN frame's name and check the guest's secret that
 * follows it ({@link PlainSecurity}).
 */
public interface StreamSecurity {
    /**
     * The TLS server context (TLS 1.3, client certificates required), or null for a plain listener.
     */
    io.netty.handler.ssl.SslContext serverContext();

    /**
     * The guest the peer is, given the TLS session (null on a plain listener), the OPEN frame's guest name and the
     * secret that followed the name (null when none).
     *
     * @throws Refused with a status and a reason that says what was wrong and what to do
     */
    String guestOf(javax.net.ssl.SSLSession session, String openName, byte[] secret) throws Refused;

    /** A connection refused at OPEN: closed with a CLOSED frame carrying this status and reason. */
    final class Refused extends Exception {
        private final Status status;

        public Refused(Status status, String reason) {
            super(reason, null, false, false);
            this.status = status;
        }

        public Status status() {
            return status;
        }
    }
}
