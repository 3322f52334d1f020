package io.ferry.channel;

import io.ferry.protocol.Status;

/**
 * A ring's shared state or a record in it broke the ring protocol: the peer is buggy or hostile. The message
 * names the ring, the check that failed and the values read. The ring cannot be used again until both sides
 * agree to {@link SpscRing#reset()} it (a session reconnect); the host closes the session.
 */
public class RingCorruptedException extends RegionException {

    public RingCorruptedException(String message) {
        super(Status.PROTOCOL_VIOLATION, message);
    }
}
