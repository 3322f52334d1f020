package io.ferry.it;

import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import java.nio.file.Path;

/**
 * A guest that keeps working, for live-change tests: {@code LiveGuestMain SOCKET GUEST SECRET_BASE64} connects over
 * the guest socket, builds a vector add, prints {@code READY <session id>}, then runs vector adds on data of its own,
 * checks every element and prints {@code VERIFIED <round>} after each, until killed. A failed check prints
 * {@code FAIL <why>}; a FerryException (its session ended) prints {@code ENDED <status> <message>} (any other exception: its class for the status); both exit 3.
 */
public final class LiveGuestMain {
    private LiveGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        int n = 4096;
        try (Ferry ferry = Ferry.connect(Path.of(args[0]), args[1], java.util.Base64.getDecoder().decode(args[2]));
             VaddRig vadd = new VaddRig(ferry, n)) {
            vadd.finish();
            System.out.println("READY " + ferry.sessionId());
            System.out.flush();
            for (int r = 0; ; r++) {
                String wrong = vadd.round(r % 1000, 1024);
                if (wrong != null) {
                    System.out.println("FAIL round " + r + " " + wrong);
                    System.exit(3);
                }
                System.out.println("VERIFIED " + r);
                System.out.flush();
                Thread.sleep(20);
            }
        } catch (FerryException e) {
            System.out.println("ENDED " + e.status() + " " + e.getMessage().replace('\n', ' '));
            System.out.flush();
            System.exit(3);
        } catch (RuntimeException e) { // a region refused at connect, say
            System.out.println("ENDED " + e.getClass().getSimpleName() + " " + e.getMessage().replace('\n', ' '));
            System.out.flush();
            System.exit(3);
        }
    }
}
