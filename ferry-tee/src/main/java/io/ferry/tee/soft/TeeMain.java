package io.ferry.tee.soft;

import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The software TEE process. Started by the host ({@link SoftTeeBackend}), never by hand. Its configuration,
 * including the storage root key, comes on stdin (never on the command line, where {@code ps} would show it):
 * {@code key=value} lines up to {@code end}. It then maps the lanes, starts one thread per lane, prints
 * {@code READY}, and lives until stdin closes: when the host dies or closes it, the TEE ends with it.
 */
public final class TeeMain {
    private TeeMain() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %5$s%6$s%n");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Path lanes = null;
        int laneCount = 0;
        Path taDir = null;
        Path storageDir = null;
        byte[] rootKey = null;
        List<PublicKey> trusted = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null && !line.equals("end")) {
            int eq = line.indexOf('=');
            String k = eq < 0 ? line : line.substring(0, eq);
            String v = eq < 0 ? "" : line.substring(eq + 1);
            switch (k) {
                case "lanes" -> lanes = Path.of(v);
                case "laneCount" -> laneCount = Integer.parseInt(v);
                case "taDir" -> taDir = Path.of(v);
                case "storageDir" -> storageDir = Path.of(v);
                case "rootKey" -> rootKey = Base64.getDecoder().decode(v);
                case "trustedKey" -> trusted.add(TaImage.publicKey(Base64.getDecoder().decode(v)));
                default -> throw new IllegalArgumentException("unknown configuration key " + k);
            }
        }
        if (lanes == null || laneCount < 1 || taDir == null || storageDir == null || rootKey == null) {
            System.err.println("SEVERE incomplete configuration on stdin");
            System.exit(2);
        }
        TaRuntime runtime = new TaRuntime(taDir, trusted, new SecureStorage(rootKey, storageDir));
        java.util.Arrays.fill(rootKey, (byte) 0);
        for (int i = 0; i < laneCount; i++) {
            Lane lane = Lane.open(lanes.resolve(Lane.fileName(i)));
            lane.setRelease(Lane.TEE_BEAT, ProcessHandle.current().pid());
            Thread.ofPlatform().name("tee-lane-" + i).daemon(true).start(new LaneServer(lane, runtime));
        }
        System.out.println("READY");
        System.out.flush();
        while (in.read() >= 0) {
            // configuration is over; anything more is ignored until the host closes stdin
        }
        System.exit(0);
    }
}
