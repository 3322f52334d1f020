package io.ferry.it;

import io.ferry.client.Ferry;
import io.ferry.client.FerryException;

/**
 * A guest in its own JVM that finds its host as a user's program does: {@code EnvGuestMain GUEST} calls
 * {@link Ferry#connect(String)} (FERRY_HOST and the rest from its environment), makes one round trip and prints
 * {@code CONNECTED GUEST SESSION}; a FerryException prints {@code REFUSED STATUS MESSAGE} and exits 3.
 */
public final class EnvGuestMain {
    private EnvGuestMain() {
    }

    public static void main(String[] args) {
        try (Ferry ferry = Ferry.connect(args[0])) {
            if (ferry.nop(41) != 41) {
                throw new IllegalStateException("NOP did not echo its value");
            }
            System.out.println("CONNECTED " + ferry.guest() + " " + ferry.sessionId());
        } catch (FerryException e) {
            System.out.println("REFUSED " + e.status() + " " + e.getMessage());
            System.exit(3);
        }
    }
}
