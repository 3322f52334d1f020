package io.ferry.bench;

import io.ferry.client.Context;
import io.ferry.client.Ferry;
import java.nio.file.Path;

/**
 * A guest in its own process for the chaos benchmark: {@code ChaosGuest SOCKET GUEST SECRET_BASE64 BUFFERS BYTES} connects over the guest socket, creates the
 * buffers, prints {@code READY} and sleeps until it is killed, or until the bench is gone ({@link ParentWatch}).
 */
public final class ChaosGuest {
    private ChaosGuest() {
    }

    public static void main(String[] args) throws Exception {
        ParentWatch.exitWithParent();
        Ferry ferry = Ferry.connect(Path.of(args[0]), args[1], java.util.Base64.getDecoder().decode(args[2]));
        Context ctx = ferry.createContext(ferry.defaultDevice());
        for (int i = 0; i < Integer.parseInt(args[3]); i++) {
            ctx.createBuffer(Long.parseLong(args[4]));
        }
        ctx.createQueue().finish(); // every creation has reached the host
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
