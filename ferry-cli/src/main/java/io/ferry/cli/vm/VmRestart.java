package io.ferry.cli.vm;

import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.protocol.Status;
import java.io.PrintStream;

/**
 * Inside the VM ({@code VmGuest --restart}): after its workloads the guest tells the host side it waits for a host
 * restart ({@link #WAITING}), calls the host until a call fails with the restart error, then connects again on the
 * same BAR ({@link Ferry#reconnect()}, no remap, no reboot) so that its workloads can verify again (docs/vm.md,
 * "When the host restarts").
 */
final class VmRestart {
    /** The line the host side waits for before it restarts the host. */
    static final String WAITING = VmGuest.PREFIX + "waiting for the host to restart";
    private static final long LIMIT_NANOS = 180_000_000_000L;

    private VmRestart() {
    }

    /** Waits for the restart and reconnects; returns the new connection (the old one is closed). */
    static Ferry await(Ferry ferry, PrintStream out) {
        out.println(WAITING);
        long until = System.nanoTime() + LIMIT_NANOS;
        String seen = null;
        while (seen == null) {
            try {
                ferry.nop(1);
            } catch (FerryException e) {
                // HOST_UNAVAILABLE or "the host stopped" while it is down; the restart error once a new host serves
                if (e.getMessage().contains("the host restarted")) {
                    seen = e.getMessage();
                    break;
                }
            }
            nap(until, 200, "no host restart was seen");
        }
        out.println(VmGuest.PREFIX + "restart seen: " + seen);
        while (true) {
            try {
                Ferry again = ferry.reconnect();
                out.println(VmGuest.PREFIX + "reconnected through the same BAR, no reboot: session "
                        + again.sessionId());
                return again;
            } catch (FerryException e) {
                if (e.status() != Status.HOST_UNAVAILABLE) {
                    throw e;
                }
                nap(until, 500, "the restarted host did not accept a connection");
            }
        }
    }

    private static void nap(long until, long millis, String what) {
        if (System.nanoTime() > until) {
            throw new FerryException(Status.TIMEOUT, what + " within " + LIMIT_NANOS / 1_000_000_000L + " s");
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FerryException(Status.TIMEOUT, "interrupted while waiting for the host's restart");
        }
    }
}
