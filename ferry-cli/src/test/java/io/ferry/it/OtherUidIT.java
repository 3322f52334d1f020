package io.ferry.it;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Item 8: a process guest runs as any uid the operator allows, not the host's. Run as root, the test starts a
 * guest JVM as uid 65534 (nobody) through {@code setpriv}: it gets its region over the guest socket and verifies
 * a vadd, and it cannot open another guest's region (memfd or file), the admin socket, or another guest's
 * region with its own secret; a guest limited to {@code uids: [0]} refuses it, with an audit line.
 */
class OtherUidIT {
    private static final int NOBODY = 65534;

    @Test
    void aGuestAsAnotherUidVerifiesAndReachesNothingElse() throws Exception {
        assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0, "needs root to change uid");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
        Path cp = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-uid-cp-");
        try (Hosts h = Hosts.start(List.of(
                Hosts.guest("alice", null, Quotas.DEFAULT).withUids(List.of(NOBODY)),
                Hosts.guest("bob", null, Quotas.DEFAULT),
                Hosts.guest("carol", null, Quotas.DEFAULT).withRegion(HostConfig.RegionKind.FILE),
                Hosts.guest("rooty", null, Quotas.DEFAULT).withUids(List.of(0))));
             RegionChecks.Audit audit = new RegionChecks.Audit()) {
            String classPath = readableClassPath(cp);
            List<String> cmd = List.of("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-UsePerfData",
                    "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                    OtherUidGuest.class.getName(), h.host.guestSocket().toString(), "alice",
                    b64(h.host.secret("alice")), h.region("bob").toString(), h.region("carol").toString(),
                    h.host.config().adminSocket().toString(), "bob", "rooty", b64(h.host.secret("rooty")));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).directory(cp.toFile()).start();
            Map<String, String> out;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                List<String> lines = r.lines().toList();
                out = lines.stream().filter(l -> l.matches("[A-Z_]+ .*"))
                        .collect(Collectors.toMap(l -> l.substring(0, l.indexOf(' ')), l -> l.substring(l.indexOf(' ') + 1),
                                (x, y) -> x));
                assertTrue(p.waitFor(120, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), String.join("\n", lines));
            }
            assertEquals("true", out.get("VADD"), out.toString());
            assertTrue(out.get("OPEN_OTHER").startsWith("denied"), out.toString());
            assertTrue(out.get("OPEN_FILE").startsWith("denied"), out.toString());
            assertTrue(out.get("ADMIN").startsWith("denied"), out.toString());
            assertTrue(out.get("AS_OTHER").startsWith("refused BAD_CREDENTIAL"), out.toString());
            assertTrue(out.get("ROOT_ONLY").startsWith("refused BAD_CREDENTIAL")
                    && out.get("ROOT_ONLY").contains("uid " + NOBODY), out.toString());
            assertTrue(audit.has("guest rooty", "refused", "uid " + NOBODY + " not in uids [0]"), audit.lines().toString());
            assertTrue(audit.has("guest alice", "handed", "uid " + NOBODY), audit.lines().toString());
        } finally {
            Hosts.deleteTree(cp);
        }
    }

    private static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    /**
     * The guest needs only the client, channel and protocol modules and this test's classes; copies them where
     * uid 65534 can read them (the Maven repository under /root is not).
     */
    private static String readableClassPath(Path into) throws IOException {
        List<String> out = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            boolean needed = e.contains("ferry-client") || e.contains("ferry-channel") || e.contains("ferry-protocol")
                    || (e.contains("ferry-cli") && e.endsWith("test-classes"));
            if (!needed) {
                continue;
            }
            Path src = Path.of(e);
            Path dst = into.resolve("e" + i++ + (Files.isDirectory(src) ? "" : ".jar"));
            if (Files.isDirectory(src)) {
                try (Stream<Path> walk = Files.walk(src)) {
                    for (Path s : walk.toList()) {
                        Path d = dst.resolve(src.relativize(s).toString());
                        if (Files.isDirectory(s)) {
                            Files.createDirectories(d);
                        } else {
                            Files.copy(s, d, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(src, dst);
            }
            out.add(dst.toString());
        }
        try (Stream<Path> walk = Files.walk(into)) {
            for (Path p : walk.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x"
                        : "rw-r--r--"));
            }
        }
        return String.join(File.pathSeparator, out);
    }
}
