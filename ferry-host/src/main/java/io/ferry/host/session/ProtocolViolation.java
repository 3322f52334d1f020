package io.ferry.host.session;

/** The guest broke the protocol; its session is closed with this message. */
public final class ProtocolViolation extends RuntimeException {
    public ProtocolViolation(String message) {
        super(message, null, false, false);
    }
}
