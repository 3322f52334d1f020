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
import io.ferry.host.config.Quotas;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.DevTee;
import java.io.IOException;
import io.ferry.it.NativePrograms.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Ferry's native libteec ({@code ferry-icd/teec}, {@code libteec.so.2} and {@code libteec.so.1}) against a real host
 * whose software TEE serves the built-in TAs: plain GP client programs in C, built against the ABI-compatible
 * {@code tee_client_api.h} and linked against the library as an application would be, with the guest's environment
 * ({@code FERRY_HOST}, {@code FERRY_GUEST}, {@code FERRY_SECRET_FILE}).
 *
 * <p>Every {@code ferry-icd/build/teec/tests/*_test} (from {@code teec/tests/*_test.c}) is one dynamic test against a
 * shared host; a lost host is a program in {@code teec/tests/errors/} with a host of its own. The library and its
 * tests are built first with {@code make -C ferry-icd}.
 */
class LibteecIT {
    private static final String GUEST = "teec";

    private static Rig rig;

    /** A host with the software TEE, one guest whose policy opens every TA (a missing one reaches the TEE). */
    record Rig(Path dir, TeeServiceFactory tee, FerryHost host, Path secret) implements AutoCloseable {
        static Rig start(String guest) throws Exception {
            Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-teec-");
            DevTee.Setup setup = DevTee.prepare(dir.resolve("tee"), 2);
            TeeServiceFactory tee = new TeeServiceFactory(TeeBackends.open(setup.config(), "soft-tee"),
                    TeePolicy.parse("allow guest=" + guest + " ta=* login=public,user,group groups=1234"),
                    TeeLimits.DEFAULT);
            HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                    List.of(new HostConfig.GuestConfig(guest, 64L << 20).withLanes(4)))
                    .withNet(new NetConfig(List.of(), 0, null)); // plain loopback TCP too, for the stream's tests
            FerryHost host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee);
            Path secret = Files.createFile(dir.resolve(guest + ".secret"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(secret, host.secret(guest));
            return new Rig(dir, tee, host, secret);
        }

        Map<String, String> env(String guest) {
            return Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST", guest,
                    "FERRY_SECRET_FILE", secret.toString(), "FERRY_LOG", "1");
        }

        /** The same guest over the network transport: ferry+tcp to the host's insecure-loopback port. */
        Map<String, String> streamEnv(String guest) {
            return Map.of("FERRY_HOST", "ferry+tcp://127.0.0.1:" + host.net().insecureAddress().getPort() + "/"
                    + guest, "FERRY_SECRET_FILE", secret.toString(), "FERRY_LOG", "1");
        }

        @Override
        public void close() throws IOException {
            host.close();
            tee.close();
            Hosts.deleteTree(dir);
        }
    }

    @BeforeAll
    static void buildAndStart() throws Exception {
        Result make = run(List.of("make", "-C", ICD.toString()), Map.of());
        assertEquals(0, make.exit(), "make -C ferry-icd failed (it needs gcc, make, opencl-headers and "
                + "ocl-icd-opencl-dev; ./ferry test installs them):\n" + make.output());
        rig = Rig.start(GUEST);
    }

    @AfterAll
    static void stop() throws IOException {
        if (rig != null) {
            rig.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyTestProgramPassesAgainstARealHost() throws IOException {
        List<Path> programs;
        try (Stream<Path> files = Files.list(BUILD.resolve("teec/tests"))) {
            programs = files.filter(p -> p.getFileName().toString().endsWith("_test") && Files.isExecutable(p))
                    .sorted().toList();
        }
        assertFalse(programs.isEmpty(), "no test programs in " + BUILD.resolve("teec/tests"));
        return programs.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            Result r = run(List.of(p.toString()), rig.env(GUEST));
            assertEquals(0, r.exit(), p.getFileName() + " failed:\n" + r.output());
        }));
    }

    /**
     * Every test program again over the network transport (ferry+tcp): memrefs travel as heap bytes (INPUT and
     * INOUT before the call, OUTPUT and INOUT back before its answer), so the same programs must pass unchanged;
     * all but {@code cancel_test}: cancellation does not reach the host over a stream in this version (docs/tee.md).
     */
    @TestFactory
    Stream<DynamicTest> everyTestProgramPassesOverTheStream() throws IOException {
        List<Path> programs;
        try (Stream<Path> files = Files.list(BUILD.resolve("teec/tests"))) {
            programs = files.filter(p -> p.getFileName().toString().endsWith("_test") && Files.isExecutable(p)
                    && !p.getFileName().toString().equals("cancel_test")).sorted().toList();
        }
        return programs.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            Result r = run(List.of(p.toString()), rig.streamEnv(GUEST));
            assertEquals(0, r.exit(), p.getFileName() + " over ferry+tcp failed:\n" + r.output());
        }));
    }

    /**
     * The libraries export the GP functions and OP-TEE's one extension Ferry provides
     * (TEEC_RegisterSharedMemoryFileDescriptor), nothing else, under OP-TEE's SONAMEs.
     */
    @Test
    void theLibrariesExportOnlyTheClientApiUnderOpteesSonames() throws Exception {
        for (String lib : List.of("libteec.so.2", "libteec.so.1")) {
            Result nm = run(List.of("nm", "-D", "--defined-only", BUILD.resolve(lib).toString()), Map.of());
            assertEquals(0, nm.exit(), nm.output());
            List<String> symbols = nm.output().lines().map(l -> l.substring(l.lastIndexOf(' ') + 1)).sorted().toList();
            assertEquals(List.of("TEEC_AllocateSharedMemory", "TEEC_CloseSession", "TEEC_FinalizeContext",
                    "TEEC_InitializeContext", "TEEC_InvokeCommand", "TEEC_OpenSession", "TEEC_RegisterSharedMemory",
                    "TEEC_RegisterSharedMemoryFileDescriptor", "TEEC_ReleaseSharedMemory",
                    "TEEC_RequestCancellation"), symbols, lib);
            Result soname = run(List.of("readelf", "-d", BUILD.resolve(lib).toString()), Map.of());
            assertTrue(soname.output().contains("Library soname: [" + lib + "]"), soname.output());
        }
    }

    /**
     * The host goes away under a program holding a context, a session and shared memory: its next calls answer
     * COMMUNICATION with origin COMMS, and it ends normally (no crash, no hang).
     */
    @Test
    void aLostHostGivesCommunicationErrorsNotACrash() throws Exception {
        Rig lost = Rig.start("lost");
        NativePrograms.lostHost(BUILD.resolve("teec/tests/errors/lost_host"), lost.env("lost"), lost);
    }

    /**
     * A host that refuses the guest the TEE answers as through the Java API, origin COMMS: ACCESS_DENIED for a guest
     * whose config lacks the tee service, NOT_SUPPORTED from a host that runs no TEE.
     */
    @Test
    void aRefusedTeeAnswersAccessDeniedOrNotSupportedAsTheJavaApi() throws Exception {
        Path dir = Hosts.newDir();
        try {
            HostConfig.GuestConfig computeOnly = new HostConfig.GuestConfig("nosvc", 16L << 20, null,
                    SchedClass.NORMAL, 1, Set.of("compute"), Quotas.DEFAULT);
            HostConfig cfg = new HostConfig(dir.resolve("regions"), true, List.of(),
                    List.of(computeOnly, new HostConfig.GuestConfig("notee", 16L << 20)));
            try (FerryHost host = FerryHost.start(cfg, Devices.of(List.of(), List.of()))) {
                for (String[] c : new String[][] {{"nosvc", "ffff0001"}, {"notee", "ffff000a"}}) {
                    Path secret = Files.createFile(dir.resolve(c[0] + ".secret"),
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.write(secret, host.secret(c[0]));
                    Result r = run(List.of(BUILD.resolve("teec/tests/errors/refused").toString(), c[1]),
                            Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST", c[0],
                                    "FERRY_SECRET_FILE", secret.toString(), "FERRY_LOG", "1"));
                    assertEquals(0, r.exit(), "guest " + c[0] + ":\n" + r.output());
                }
            }
        } finally {
            Hosts.deleteTree(dir);
        }
    }
}
