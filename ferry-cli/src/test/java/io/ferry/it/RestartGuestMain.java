package io.ferry.it;

import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.Base64;

/**
 * A guest that lives through host restarts: {@code RestartGuestMain socket SOCKET GUEST SECRET_BASE64} or
 * {@code RestartGuestMain file REGIONFILE} connects, verifies a vector add and prints {@code VERIFIED <session>};
 * then for each line {@code AGAIN} on stdin it makes one call and prints {@code ERROR <status> <message>} (or
 * {@code NO-ERROR}), reconnects on the same mapping ({@link Ferry#reconnect()}, retried while no host serves)
 * and verifies again; {@code END} (or the end of stdin) closes it. Any other failure prints {@code FAIL <why>}.
 */
public final class RestartGuestMain {
    private RestartGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        Ferry ferry = args[0].equals("socket")
                ? Ferry.connect(Path.of(args[1]), args[2], Base64.getDecoder().decode(args[3]))
                : Ferry.connect(Path.of(args[1]));
        try {
            verify(ferry, 1);
            for (int round = 2; ; round++) {
                String line = in.readLine();
                if (line == null || line.equals("END")) {
                    break;
                }
                try {
                    ferry.nop(7);
                    System.out.println("NO-ERROR");
                } catch (FerryException e) {
                    System.out.println("ERROR " + e.status() + " " + e.getMessage().replace('\n', ' '));
                }
                ferry = reconnect(ferry);
                verify(ferry, round);
            }
        } catch (RuntimeException e) {
            System.out.println("FAIL " + e.toString().replace('\n', ' '));
        } finally {
            ferry.close();
        }
    }

    private static Ferry reconnect(Ferry old) throws InterruptedException {
        for (int i = 0; ; i++) {
            try {
                return old.reconnect();
            } catch (FerryException e) {
                if (e.status() != Status.HOST_UNAVAILABLE || i > 60) {
                    throw e;
                }
                Thread.sleep(500); // no host serves the region yet
            }
        }
    }

    /** A vector add on the device, every element checked. */
    private static void verify(Ferry ferry, int round) {
        try (VaddRig vadd = new VaddRig(ferry, 4096)) {
            String wrong = vadd.round(round, 4096);
            if (wrong != null) {
                throw new IllegalStateException("round " + round + " " + wrong);
            }
        }
        System.out.println("VERIFIED " + round + " " + ferry.guest() + " lane " + ferry.lane() + " session "
                + ferry.sessionId());
        System.out.flush();
    }
}
