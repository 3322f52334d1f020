package io.ferry.host.session;

import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.util.function.LongPredicate;

/**
 * HELLO: the first call of a session checks the protocol's magic and version, the guest's credential and name,
 * and records the guest's process id (and whether this host can see that process: it maps the region).
 */
final class Handshake {
    private final String guest;
    private final long credential0, credential1, credential2, credential3;
    /** Whether this host can watch a process: it is alive here and maps the guest's region. */
    private final LongPredicate watchable;
    private final Calls.Hello view = new Calls.Hello();
    private boolean done;
    private volatile long guestPid;
    private volatile boolean pidVerified;

    Handshake(String guest, long[] credential, LongPredicate watchable) {
        this.guest = guest;
        this.credential0 = credential[0];
        this.credential1 = credential[1];
        this.credential2 = credential[2];
        this.credential3 = credential[3];
        this.watchable = watchable;
    }

    boolean done() {
        return done;
    }

    /** The session continues one whose HELLO was checked elsewhere (the host, for its device worker). */
    void resume(long pid, boolean verified) {
        done = true;
        guestPid = pid;
        pidVerified = verified;
    }

    long guestPid() {
        return guestPid;
    }

    boolean pidVerified() {
        return pidVerified;
    }

    /** Checks a HELLO; a failure the guest may retry is a {@link CallException}, a broken one a violation. */
    void hello(MemorySegment rec) throws CallException {
        Calls.Hello h = view.wrap(rec, 0);
        if (done) {
            throw new ProtocolViolation("second HELLO in one session");
        }
        if (h.magic() != Wire.HELLO_MAGIC) {
            throw new ProtocolViolation("HELLO with bad magic 0x" + Long.toHexString(h.magic()));
        }
        long version = h.version();
        if (version != Wire.PROTOCOL_VERSION) {
            throw new CallException(Status.VERSION_MISMATCH, "guest speaks protocol version " + version
                    + ", this host speaks " + Wire.PROTOCOL_VERSION);
        }
        if (h.credential(0) != credential0 || h.credential(1) != credential1
                || h.credential(2) != credential2 || h.credential(3) != credential3) {
            throw new CallException(Status.BAD_CREDENTIAL, "the credential in HELLO is not the one provisioned for "
                    + "guest '" + guest + "': the region is stale or belongs to another guest");
        }
        String name = h.blobText();
        if (!name.equals(guest)) {
            throw new CallException(Status.BAD_CREDENTIAL, "HELLO names guest '" + name + "' but this region is '"
                    + guest + "'");
        }
        done = true;
        guestPid = h.pid();
        pidVerified = watchable.test(guestPid);
    }
}
