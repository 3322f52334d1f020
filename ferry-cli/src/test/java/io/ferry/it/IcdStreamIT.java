package io.ferry.it;

import static io.ferry.it.NativePrograms.BUILD;
import static io.ferry.it.NativePrograms.ICD;
import static io.ferry.it.NativePrograms.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.host.net.tls.CertificateAuthority;
import io.ferry.host.net.tls.GuestBundle;
import io.ferry.it.NativePrograms.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The native OpenCL ICD over the network transport (issue 16): a real host with {@code insecure-loopback} (plain
 * TCP on 127.0.0.1, the guest's secret in OPEN), and the ICD's programs pointed at it with
 * {@code FERRY_HOST=ferry+tcp://127.0.0.1:PORT/GUEST}, through the system's ICD loader, unchanged:
 * the native demo (vector add, a local-memory reduction, maps of an ALLOC_HOST_PTR and an ordinary buffer, profiled
 * dependent kernels, each against a CPU reference), every OpenCL test program of {@code ferry-icd/tests}, and a
 * program whose connection drops under it (the host goes away: OpenCL errors, no crash, no hang). Then over
 * {@code ferry+tls://127.0.0.1:PORT/GUEST} to a host with a TLS listener and the bundle its certificate authority
 * issues (as {@code ferry guest add NAME --tls} does): the native demo verified, and the certificates the host must
 * refuse (another guest's, a revoked one) refused with its reason.
 */
class IcdStreamIT {
    private static final String GUEST = "net";

    private static Path dir;
    private static Devices devices;
    private static FerryHost host;
    private static Path secret;

    @BeforeAll
    static void buildAndStart() throws Exception {
        Result make = run(List.of("make", "-C", ICD.toString()), Map.of());
        assertEquals(0, make.exit(), "make -C ferry-icd failed (the ICD needs gcc, make, opencl-headers, "
                + "ocl-icd-opencl-dev and libssl-dev; ./ferry test installs them):\n" + make.output());
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-icd-net-");
        devices = Devices.discover(List.of());
        host = start(dir, devices);
        secret = secretFile(dir, host, GUEST);
    }

    @AfterAll
    static void stop() throws IOException {
        if (host != null) {
            host.close();
        }
        if (devices != null) {
            devices.close();
        }
        if (dir != null) {
            Hosts.deleteTree(dir);
        }
    }

    /** A host whose guest {@code net} (4 lanes) is reachable on an insecure-loopback port of its choosing. */
    private static FerryHost start(Path dir, Devices devices) throws IOException {
        HostConfig cfg = new HostConfig(dir, true, List.of(),
                List.of(new HostConfig.GuestConfig(GUEST, 64L << 20).withLanes(HostConfig.LANES_AUTO)))
                .withNet(new NetConfig(List.of(), 0, null));
        return FerryHost.start(cfg, devices);
    }

    @Test
    void theNativeDemoRunsVerifiedOverPlainLoopbackTcp() throws Exception {
        Result r = run(List.of(BUILD.resolve("native_demo").toString(), "Ferry"), streamEnv(host, secret));
        assertEquals(0, r.exit(), "native_demo over ferry+tcp failed:\n" + r.output());
        assertTrue(r.output().contains("native_demo: 4 of 4 parts verified") && r.output().contains("platform: Ferry"),
                "native_demo did not verify all four parts on Ferry:\n" + r.output());
        assertFalse(r.output().contains("FAILED"), r.output());
    }

    @TestFactory
    Stream<DynamicTest> everyOpenClTestProgramPassesOverTheStream() throws IOException {
        List<Path> programs;
        try (Stream<Path> files = Files.list(BUILD.resolve("tests"))) {
            programs = files.filter(p -> {
                String n = p.getFileName().toString();
                // transport* and unit* tests link the transport's objects and set up their own hosts or peers
                return n.endsWith("_test") && !n.startsWith("transport") && !n.startsWith("unit")
                        && Files.isExecutable(p) && n.contains(System.getProperty("icd.net.only", ""));
            }).sorted().toList();
        }
        assertFalse(programs.isEmpty(), "no test programs in " + BUILD.resolve("tests"));
        return programs.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            Result r = run(List.of(p.toString()), streamEnv(host, secret));
            assertEquals(0, r.exit(), p.getFileName() + " over ferry+tcp failed:\n" + r.output());
        }));
    }

    /**
     * The connection drops under a program holding a context, a queue and a buffer (its host goes away): its next
     * calls answer OpenCL errors and it ends normally.
     */
    @Test
    void aDroppedConnectionGivesOpenClErrorsNotACrash() throws Exception {
        Path lostDir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-icd-net-lost-");
        FerryHost lost = start(lostDir, devices);
        try {
            Path lostSecret = secretFile(lostDir, lost, GUEST);
            NativePrograms.lostHost(BUILD.resolve("tests/errors/lost_host"), streamEnv(lost, lostSecret), lost);
        } finally {
            lost.close();
            Hosts.deleteTree(lostDir);
        }
    }

    /** A guest whose secret is wrong: no Ferry platform, and FERRY_LOG=1 prints the host's refusal. */
    @Test
    void aWrongSecretIsRefusedWithTheHostsReason() throws Exception {
        Path wrong = Files.createFile(dir.resolve("wrong.secret"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(wrong, new byte[32]);
        Result r = run(List.of(BUILD.resolve("native_demo").toString(), "Ferry"), streamEnv(host, wrong));
        assertTrue(r.exit() != 0 && r.output().contains("refused guest 'net'"),
                "a wrong secret did not fail with the host's refusal:\n" + r.output());
    }

    @Test
    void theNativeDemoRunsVerifiedOverTls() throws Exception {
        withTlsHost((tls, port) -> {
            Path bundle = bundle(tls, GUEST);
            Result r = run(List.of(BUILD.resolve("native_demo").toString(), "Ferry"), tlsEnv(port, bundle));
            assertEquals(0, r.exit(), "native_demo over ferry+tls failed:\n" + r.output());
            assertTrue(r.output().contains("native_demo: 4 of 4 parts verified"),
                    "native_demo did not verify all four parts over TLS:\n" + r.output());
        });
    }

    @Test
    void certificatesTheHostMustRefuseAreRefusedWithItsReason() throws Exception {
        withTlsHost((tls, port) -> {
            Path other = bundle(tls, "other");     // a certificate of guest 'other', presented for 'net'
            Result r = run(List.of(BUILD.resolve("native_demo").toString(), "Ferry"), tlsEnv(port, other));
            assertTrue(r.exit() != 0 && r.output().contains("refused guest 'net'") && r.output().contains("other"),
                    "another guest's certificate was not refused with the host's reason:\n" + r.output());
            Path revoked = bundle(tls, GUEST);
            CertificateAuthority.open(tls).revoke(GUEST);
            r = run(List.of(BUILD.resolve("native_demo").toString(), "Ferry"), tlsEnv(port, revoked));
            assertTrue(r.exit() != 0 && r.output().contains("refused guest 'net'") && r.output().contains("revoked"),
                    "a revoked certificate was not refused with the host's reason:\n" + r.output());
        });
    }

    private interface TlsCheck {
        void run(Path tlsDir, int port) throws Exception;
    }

    /** A host with a TLS listener on 127.0.0.1 (its CA under DIR/tls) and guests {@code net} and {@code other}. */
    private static void withTlsHost(TlsCheck check) throws Exception {
        Path tlsHostDir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-icd-tls-");
        Path tls = tlsHostDir.resolve("tls");
        HostConfig cfg = new HostConfig(tlsHostDir, true, List.of(), List.of(
                new HostConfig.GuestConfig(GUEST, 64L << 20).withLanes(HostConfig.LANES_AUTO),
                new HostConfig.GuestConfig("other", 16L << 20)))
                .withNet(new NetConfig(List.of(new NetConfig.Address("127.0.0.1", 0)), NetConfig.OFF, null, tls));
        FerryHost h = FerryHost.start(cfg, devices);
        try {
            check.run(tls, h.net().tlsAddresses().getFirst().getPort());
        } finally {
            h.close();
            Hosts.deleteTree(tlsHostDir);
        }
    }

    /** The bundle {@code ferry guest add GUEST --tls} writes (ca.pem, guest.pem, guest.key 0600). */
    private static Path bundle(Path tls, String guest) throws IOException {
        CertificateAuthority authority = CertificateAuthority.open(tls);
        Path b = tls.getParent().resolve("bundle-" + guest + "-" + System.nanoTime());
        GuestBundle.write(b, guest, authority.issue(guest, 1), authority.certificate());
        return b;
    }

    private static Map<String, String> tlsEnv(int port, Path bundle) {
        return Map.of("FERRY_HOST", "ferry+tls://127.0.0.1:" + port + "/" + GUEST, "FERRY_TLS_BUNDLE",
                bundle.toString(), "OCL_ICD_VENDORS", BUILD.toString(), "FERRY_LOG", "1");
    }

    private static Path secretFile(Path dir, FerryHost host, String guest) throws IOException {
        Path file = Files.createFile(dir.resolve(guest + ".secret"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, host.secret(guest));
        return file;
    }

    /** A guest process's environment for the stream: the address, its secret, the ICD; FERRY_LOG for failures. */
    private static Map<String, String> streamEnv(FerryHost host, Path secretFile) {
        int port = host.net().insecureAddress().getPort();
        return Map.of("FERRY_HOST", "ferry+tcp://127.0.0.1:" + port + "/" + GUEST,
                "FERRY_SECRET_FILE", secretFile.toString(), "OCL_ICD_VENDORS", BUILD.toString(), "FERRY_LOG", "1");
    }
}
