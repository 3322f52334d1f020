package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.config.HostConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ferry guest add NAME --tls}, {@code guest revoke} and {@code guest remove} on a config and a CA directory in
 * a temporary directory (its admin socket has no host behind it); and the options of {@code guest add}.
 */
class GuestTlsCommandTest {
    @TempDir
    Path dir;
    Path config;
    String out;
    String err;

    @BeforeEach
    void config() throws Exception {
        config = dir.resolve("ferry.yaml");
        new HostConfig(dir.resolve("regions"), false, List.of(), List.of()).save(config);
    }

    private int ferry(String... args) {
        PrintStream o = System.out;
        PrintStream e = System.err;
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        ByteArrayOutputStream be = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(bo, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(be, true, StandardCharsets.UTF_8));
            return new CommandLine(new GuestCommand()).execute(args);
        } finally {
            System.setOut(o);
            System.setErr(e);
            out = bo.toString(StandardCharsets.UTF_8);
            err = be.toString(StandardCharsets.UTF_8);
        }
    }

    private static X509Certificate cert(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static String hex(X509Certificate c) {
        return c.getSerialNumber().toString(16).toUpperCase(java.util.Locale.ROOT);
    }

    @Test
    void addSetsTheOverrunLimitTheOperatorGivesOrOffAndRefusesANonsenseOne() throws Exception {
        assertEquals(0, ferry("add", "batch", "-c", config.toString(), "--overrun-limit", "30s"), err);
        assertEquals(0, ferry("add", "hpc", "-c", config.toString(), "--overrun-limit", "off"), err);
        assertEquals(0, ferry("add", "plain", "-c", config.toString()), err);
        HostConfig c = HostConfig.load(config);
        assertEquals(30_000_000_000L, c.guest("batch").overrunLimitNanos());
        assertEquals(0, c.guest("hpc").overrunLimitNanos(), "off: no limit");
        assertEquals(HostConfig.DEFAULT_OVERRUN_NANOS, c.guest("plain").overrunLimitNanos());
        // a ConfigException, which ferry's main prints as one line and exit code 2
        assertNotEquals(0, ferry("add", "odd", "-c", config.toString(), "--overrun-limit", "soon"));
        assertTrue(err.contains("--overrun-limit: 'soon' needs a unit"), err);
        assertEquals(null, HostConfig.load(config).guest("odd"), "nothing written for a refused option");
    }

    @Test
    void addWithTlsWritesABundleAndAgainIssuesANewCertificateWithoutTouchingTheConfig() throws Exception {
        Path tls = dir.resolve("tls");
        Path b1 = dir.resolve("b1");
        assertEquals(0, ferry("add", "alice", "-c", config.toString(), "--tls", "--tls-days", "10", "--bundle",
                b1.toString(), "--tls-dir", tls.toString()), err);
        assertTrue(out.contains("bundle of alice: " + b1.toAbsolutePath()), out);
        assertTrue(out.contains("~/.config/ferry/tls/alice/"), out);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(b1.resolve("guest.key"))));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("ca.key"))));
        X509Certificate first = cert(b1.resolve("guest.pem"));
        assertEquals("CN=ferry-guest:alice", first.getSubjectX500Principal().getName());
        first.verify(cert(b1.resolve("ca.pem")).getPublicKey());
        assertArrayEquals(Files.readAllBytes(tls.resolve("ca.pem")), Files.readAllBytes(b1.resolve("ca.pem")));
        byte[] secret = HostConfig.load(config).guest("alice").secret();

        Path b2 = dir.resolve("b2");
        assertEquals(0, ferry("add", "alice", "-c", config.toString(), "--tls", "--bundle", b2.toString(),
                "--tls-dir", tls.toString()), err);
        X509Certificate second = cert(b2.resolve("guest.pem"));
        assertNotEquals(first.getSerialNumber(), second.getSerialNumber());
        assertTrue(out.contains("serial " + hex(second)), out);
        assertArrayEquals(secret, HostConfig.load(config).guest("alice").secret(), "the guest was not re-provisioned");
        String issued = Files.readString(tls.resolve("issued.txt"));
        assertTrue(issued.contains(hex(first) + " alice ") && issued.contains(hex(second) + " alice "), issued);

        assertEquals(2, ferry("add", "carol", "-c", config.toString(), "--tls-days", "5"));
        assertTrue(err.contains("go with --tls") && HostConfig.load(config).guest("carol") == null, err);
        assertEquals(2, ferry("add", "alice", "-c", config.toString()));
        assertTrue(err.contains("--tls issues it a new TLS certificate"), err);
        assertEquals(1, ferry("add", "alice", "-c", config.toString(), "--tls", "--tls-days", "0", "--bundle",
                dir.resolve("b3").toString(), "--tls-dir", tls.toString()));
        assertTrue(err.contains("at least 1 day"), err);
    }

    @Test
    void revokeListsEveryCertificateOfTheGuestAndRemoveRevokesToo() throws Exception {
        Path tls = dir.resolve("tls");
        for (String g : new String[] {"alice", "alice", "bob"}) {
            assertEquals(0, ferry("add", g, "-c", config.toString(), "--tls", "--bundle",
                    dir.resolve("b-" + g).toString(), "--tls-dir", tls.toString()), err);
        }
        assertEquals(0, ferry("revoke", "alice", "--tls-dir", tls.toString()), err);
        assertTrue(out.startsWith("revoked 2 certificates of guest alice"), out);
        assertEquals(0, ferry("revoke", "alice", "--tls-dir", tls.toString()), err);
        assertTrue(out.contains("no certificate left to revoke"), out);
        assertEquals(2, Files.readString(tls.resolve("revoked.txt")).lines().filter(l -> l.contains(" alice ")).count());

        BigInteger bob = cert(dir.resolve("b-bob/guest.pem")).getSerialNumber();
        assertEquals(0, ferry("remove", "bob", "-c", config.toString(), "--tls-dir", tls.toString()), err);
        assertTrue(out.contains("revoked 1 certificate of guest bob"), out);
        assertTrue(Files.readString(tls.resolve("revoked.txt")).contains(bob.toString(16).toUpperCase()));

        assertEquals(1, ferry("revoke", "carol", "--tls-dir", dir.resolve("nothing").toString()));
        assertTrue(err.contains("no certificate authority in"), err);
    }
}
