package io.ferry.channel.os;

import java.io.IOException;

/** A system call failed; {@link #errno()} is its errno, the message names the call and the C library's text. */
public final class ErrnoException extends IOException {
    private final int errno;

    ErrnoException(String what, int errno, String text) {
        super(what + ": " + text + " (errno " + errno + ")");
        this.errno = errno;
    }

    /** The errno, e.g. 1 (EPERM). */
    public int errno() {
        return errno;
    }

    /** Whether this is EPERM ("Operation not permitted"), which a sealed memfd answers to a resize. */
    public boolean isPermissionDenied() {
        return errno == Libc.EPERM;
    }

    /** Whether this is EAGAIN: a receive or send timeout ({@code SO_RCVTIMEO}) ran out. */
    public boolean isTimeout() {
        return errno == Libc.EAGAIN;
    }
}
