package io.ferry.host;

/** The guest broke the protocol; its session is closed with this message. */
final class ProtocolViolation extends RuntimeException {
    ProtocolViolation(String message) {
        super(message, null, false, false);
    }
}
