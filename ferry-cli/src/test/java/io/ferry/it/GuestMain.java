package io.ferry.it;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import java.nio.file.Path;

/**
 * A guest in its own JVM for lifecycle tests: {@code GuestMain SOCKET GUEST SECRET_BASE64 BUFFERS BYTES} connects
 * over the guest socket, creates the buffers, prints {@code READY <session id>} and sleeps until killed.
 */
public final class GuestMain {
    private GuestMain() {
    }

    public static void main(String[] args) throws Exception {
        Ferry ferry = Ferry.connect(Path.of(args[0]), args[1], java.util.Base64.getDecoder().decode(args[2]));
        Context ctx = ferry.createContext(ferry.defaultDevice());
        int n = Integer.parseInt(args[3]);
        long bytes = Long.parseLong(args[4]);
        DeviceBuffer[] buffers = new DeviceBuffer[n];
        for (int i = 0; i < n; i++) {
            buffers[i] = ctx.createBuffer(bytes);
        }
        ctx.createQueue().finish(); // every creation has reached the host
        System.out.println("READY " + ferry.sessionId());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
