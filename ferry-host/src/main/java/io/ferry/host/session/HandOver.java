package io.ferry.host.session;

import io.ferry.channel.SpscRing;
import io.ferry.protocol.Op;

/**
 * Thrown (through the command ring's {@link SpscRing#poll}, which leaves the record in the ring) by the first call
 * that needs a device when {@link Session#handOverCompute} allows: the endpoint hands the ring to the guest's
 * worker, which serves this call and every later one.
 */
public final class HandOver extends SpscRing.Deferred {
    HandOver(Op op) {
        super(op + ": the session moves to the guest's device worker");
    }
}
