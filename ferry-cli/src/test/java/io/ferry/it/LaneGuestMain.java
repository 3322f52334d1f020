package io.ferry.it;

import io.ferry.client.Ferry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;

/**
 * One process of a guest with lanes: {@code LaneGuestMain SOCKET GUEST SECRET_BASE64 ROUNDS} connects over the guest
 * socket, builds a vector add, prints {@code READY <lane> <session id>}, waits for a line {@code GO} on stdin, then
 * runs ROUNDS vector adds on data of its own (seeded by its pid), checks every element, and prints
 * {@code OK <lane> <session id> <rounds>} (or {@code FAIL <why>}), then waits for stdin to close.
 */
public final class LaneGuestMain {
    private LaneGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        int n = 16384;
        int rounds = Integer.parseInt(args[3]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (Ferry ferry = Ferry.connect(Path.of(args[0]), args[1], java.util.Base64.getDecoder().decode(args[2]));
             VaddRig vadd = new VaddRig(ferry, n)) {
            System.out.println("READY " + ferry.lane() + " " + ferry.sessionId());
            System.out.flush();
            if (!"GO".equals(in.readLine())) {
                return;
            }
            float seed = ProcessHandle.current().pid() % 1000;
            for (int r = 0; r < rounds; r++) {
                String wrong = vadd.round(seed + r, 1024);
                if (wrong != null) {
                    System.out.println("FAIL round " + r + " " + wrong);
                    return;
                }
            }
            System.out.println("OK " + ferry.lane() + " " + ferry.sessionId() + " " + rounds);
            System.out.flush();
            in.readLine();
        } catch (RuntimeException e) {
            System.out.println("FAIL " + e);
        }
    }
}
