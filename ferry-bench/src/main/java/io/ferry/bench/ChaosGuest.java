package io.ferry.bench;

import io.ferry.client.Context;
import io.ferry.client.Ferry;
import java.nio.file.Path;

/**
 * A guest in its own process for the chaos benchmark: {@code ChaosGuest REGION BUFFERS BYTES} connects, creates the
 * buffers, prints {@code READY} and sleeps until it is killed.
 */
public final class ChaosGuest {
    private ChaosGuest() {
    }

    public static void main(String[] args) throws Exception {
        Ferry ferry = Ferry.connect(Path.of(args[0]));
        Context ctx = ferry.createContext(ferry.defaultDevice());
        for (int i = 0; i < Integer.parseInt(args[1]); i++) {
            ctx.createBuffer(Long.parseLong(args[2]));
        }
        ctx.createQueue().finish(); // every creation has reached the host
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
