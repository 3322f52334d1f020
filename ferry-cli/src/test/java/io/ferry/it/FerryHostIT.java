package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.Main;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A guest program finds its host through FERRY_HOST, in each of its forms, and through the deprecated FERRY_SOCKET:
 * real guest processes ({@link EnvGuestMain}, whose environment is all they are told) against a real host with a
 * socket guest (alice) and a file-region guest (bob).
 */
class FerryHostIT {
    private static Hosts hosts;

    @BeforeAll
    static void start() throws Exception {
        hosts = Hosts.start(List.of(Hosts.guest("alice", null, Quotas.DEFAULT),
                Hosts.guest("bob", null, Quotas.DEFAULT).withRegion(HostConfig.RegionKind.FILE)));
    }

    @AfterAll
    static void stop() throws Exception {
        hosts.close();
    }

    /** Runs EnvGuestMain as {@code guest} with only {@code env} of Ferry's variables set; returns rc and output. */
    private static Map.Entry<Integer, String> guest(String guest, Map<String, String> env) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                EnvGuestMain.class.getName(), guest));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("FERRY_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the guest did not end: " + out);
        return Map.entry(p.exitValue(), out);
    }

    private static String secret(String guest) {
        return Base64.getEncoder().encodeToString(hosts.host.secret(guest));
    }

    private static void assertConnected(String guest, Map.Entry<Integer, String> run) {
        assertEquals(0, run.getKey(), run.getValue());
        assertTrue(run.getValue().contains("CONNECTED " + guest + " "), run.getValue());
    }

    @Test
    void unixNamesTheGuestSocket() throws Exception {
        assertConnected("alice", guest("alice", Map.of("FERRY_HOST", "unix:" + hosts.host.guestSocket(),
                "FERRY_SECRET", secret("alice"))));
    }

    @Test
    void aBarePathToTheSocketIsTheGuestSocket() throws Exception {
        assertConnected("alice", guest("alice", Map.of("FERRY_HOST", hosts.host.guestSocket().toString(),
                "FERRY_SECRET", secret("alice"))));
    }

    @Test
    void fileNamesTheRegionDirectoryOfAFileRegionGuest() throws Exception {
        assertConnected("bob", guest("bob", Map.of("FERRY_HOST", "file:" + hosts.dir)));
    }

    @Test
    void theDeprecatedFerrySocketStillWorksWhereFerryHostIsUnset() throws Exception {
        assertConnected("alice", guest("alice", Map.of("FERRY_SOCKET", hosts.host.guestSocket().toString(),
                "FERRY_SECRET", secret("alice"))));
    }

    @Test
    void ferryHostWinsOverTheDeprecatedVariables() throws Exception {
        assertConnected("alice", guest("alice", Map.of("FERRY_HOST", "unix:" + hosts.host.guestSocket(),
                "FERRY_SOCKET", "/nonexistent/guest.sock", "FERRY_SECRET", secret("alice"))));
    }

    @Test
    void aHostThatIsNotThereIsNamedWithWhereItsAddressCameFrom() throws Exception {
        Map.Entry<Integer, String> run = guest("alice", Map.of("FERRY_HOST", "unix:" + hosts.dir + "-nothing.sock",
                "FERRY_SECRET", secret("alice")));
        assertEquals(3, run.getKey(), run.getValue());
        assertTrue(run.getValue().contains("REFUSED HOST_UNAVAILABLE") && run.getValue().contains("from FERRY_HOST"),
                run.getValue());
    }

    @Test
    void anAddressOfNoKnownFormIsRefusedWithTheForms() throws Exception {
        Map.Entry<Integer, String> run = guest("alice", Map.of("FERRY_HOST", "tcp:localhost:4000"));
        assertEquals(3, run.getKey(), run.getValue());
        assertTrue(run.getValue().contains("REFUSED INVALID_ARGUMENT") && run.getValue().contains("unix:PATH"),
                run.getValue());
    }

    @Test
    void statusFindsTheAdminSocketFromHostAndFromFerryHost() {
        CommandLine status = new CommandLine(new Main());
        assertEquals(0, status.execute("status", "--json", "--host", "unix:" + hosts.host.guestSocket()));
        assertEquals(0, status.execute("status", "--json", "--host", "file:" + hosts.dir));
        assertEquals(0, status.execute("status", "--json", "--admin-socket", hosts.dir.resolve("admin.sock").toString()));
        assertEquals(0, status.execute("status", "--json", "--socket", hosts.dir.resolve("admin.sock").toString()),
                "the old name of --admin-socket");
        assertEquals(1, status.execute("status", "--json", "--host", "unix:" + hosts.dir + "-other.sock"),
                "no host there");
    }

    @Test
    void exampleTakesItsHostFromHostAndStillFromTheOldRegionDirFlag() throws Exception {
        Path config = hosts.dir.resolveSibling(hosts.dir.getFileName() + "-guest.yaml");
        try {
            // The guest's secret from a config file (-c), the host from --host: the two are separate settings.
            new HostConfig(hosts.dir, true, List.of(), List.of(Hosts.guest("alice", hosts.host.secret("alice"),
                    Quotas.DEFAULT))).save(config);
            CommandLine cli = new CommandLine(new Main());
            assertEquals(0, cli.execute("example", "vadd", "--guest", "alice", "--host",
                    "unix:" + hosts.host.guestSocket(), "-c", config.toString()));
            assertEquals(0, cli.execute("example", "vadd", "--guest", "bob", "--region-dir", hosts.dir.toString()),
                    "--region-dir, hidden, as --host file:DIR");
        } finally {
            java.nio.file.Files.deleteIfExists(config);
        }
    }
}
