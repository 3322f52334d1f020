package io.ferry.tee.soft;

import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import io.ferry.tee.ta.TaStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * One TA instance of the software TEE: the process that serves one guest's sessions to one TA. Started by the host
 * ({@link SoftTeeBackend}), never by hand. Its configuration comes on stdin (never on the command line, where
 * {@code ps} would show it): {@code key=value} lines up to {@code end}: the lane file, the TA directory, the TA's
 * UUID, the guest's name, the trusted signing keys, and the sealed-storage key and directory of this (guest, TA)
 * pair only; where the guest maps a region of its own, {@code region} (its descriptor, for the guest's direct lanes:
 * {@link DirectLanes}) and {@code callLimitMillis} (the watchdog of direct calls). The process never sees the root key, so even code that escaped the TA's class loader could not derive
 * another guest's storage key. It then maps its lane, starts the lane thread, prints {@code READY}, and lives until
 * stdin closes (the host went or stopped it) or the host kills it (the per-call watchdog).
 */
public final class TeeMain {
    private TeeMain() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s %5$s%6$s%n");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Path lanePath = null;
        Path taDir = null;
        UUID ta = null;
        String guest = null;
        Path storeDir = null;
        byte[] storageKey = null;
        boolean sharedStorage = false;
        Path region = null;
        long callLimitMillis = 10_000;
        List<PublicKey> trusted = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null && !line.equals("end")) {
            int eq = line.indexOf('=');
            String k = eq < 0 ? line : line.substring(0, eq);
            String v = eq < 0 ? "" : line.substring(eq + 1);
            switch (k) {
                case "lane" -> lanePath = Path.of(v);
                case "taDir" -> taDir = Path.of(v);
                case "ta" -> ta = UUID.fromString(v);
                case "guest" -> guest = v;
                case "storeDir" -> storeDir = Path.of(v);
                case "storageKey" -> storageKey = Base64.getDecoder().decode(v);
                case "sharedStorage" -> sharedStorage = Boolean.parseBoolean(v);
                case "region" -> region = Path.of(v);
                case "callLimitMillis" -> callLimitMillis = Long.parseLong(v);
                case "trustedKey" -> trusted.add(TaImage.publicKey(Base64.getDecoder().decode(v)));
                default -> throw new IllegalArgumentException("unknown configuration key " + k);
            }
        }
        if (lanePath == null || taDir == null || ta == null || guest == null || storeDir == null
                || storageKey == null) {
            System.err.println("SEVERE incomplete configuration on stdin");
            System.exit(2);
        }
        // an instance per session shares the pair's storage with the guest's other sessions' instances
        TaStorage store = sharedStorage ? SecureStorage.openShared(storageKey, storeDir, guest, ta)
                : SecureStorage.open(storageKey, storeDir, guest, ta);
        Arrays.fill(storageKey, (byte) 0);
        String onlyGuest = guest;
        UUID onlyTa = ta;
        TaRuntime runtime = new TaRuntime(taDir, trusted, (g, t) -> {
            if (!g.equals(onlyGuest) || !t.equals(onlyTa)) {
                throw new IllegalArgumentException("this TEE process serves guest " + onlyGuest + " and TA " + onlyTa
                        + " only");
            }
            return store;
        });
        Lane lane = Lane.open(lanePath);
        lane.wire().teeBeat(ProcessHandle.current().pid());
        Thread.ofPlatform().name("tee-lane").daemon(true).start(new LaneServer(lane, runtime, guest, ta,
                new DirectLanes(region, lane.wire(), runtime, callLimitMillis * 1_000_000)));
        System.out.println("READY");
        System.out.flush();
        while (in.read() >= 0) {
            // configuration is over; anything more is ignored until the host closes stdin
        }
        System.exit(0);
    }
}
