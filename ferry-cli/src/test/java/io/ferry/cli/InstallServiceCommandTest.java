package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ferry.host.config.HostConfig;
import io.ferry.host.sched.SchedClass;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code ferry install-service}: the unit's text, and the command's --dry-run and --output. */
class InstallServiceCommandTest {
    private static final List<String> COMMAND = List.of("/usr/lib/jvm/jdk 25/bin/java", "-Dferry.home=/opt/ferry",
            "-jar", "/opt/ferry/ferry.jar", "host", "--config", "/etc/ferry/my \"host\" 100%.yaml");

    private static HostConfig config(SchedClass c) {
        HostConfig.GuestConfig g = new HostConfig.GuestConfig("alice", 64L << 20).withScheduling(c, 1, null,
                HostConfig.DEFAULT_OVERRUN_NANOS);
        return new HostConfig(Path.of("/var/lib/ferry regions"), true, List.of(), List.of(g))
                .withTee(new HostConfig.Tee(Path.of("/var/lib/ferry/tee"), Path.of("/etc/ferry/tee.policy")));
    }

    @Test
    void theUnitHasTheKeysAndAbsolutePaths() {
        String unit = ServiceUnit.render(COMMAND, config(SchedClass.CRITICAL), Path.of("/opt/ferry/docs/operations.md"),
                257);
        for (String line : List.of("Type=simple", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID",
                "KillMode=mixed", "NotifyAccess=main", "FileDescriptorStoreMax=256", "FileDescriptorStorePreserve=yes",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                "ProtectKernelModules=yes", "ProtectControlGroups=yes", "RestrictSUIDSGID=yes", "LockPersonality=yes",
                "RestrictRealtime=yes", "LimitMEMLOCK=infinity", "TimeoutStopSec=30s", "WantedBy=multi-user.target",
                "ReadWritePaths=-\"/var/lib/ferry regions\"", "ReadWritePaths=-/run/ferry",
                "ReadWritePaths=-/var/lib/ferry/tee", "ExecStartPre=+/bin/mkdir -p \"/var/lib/ferry regions\"")) {
            assertTrue(unit.lines().anyMatch(line::equals), "no line " + line + " in\n" + unit);
        }
        // Device workers' bubblewrap needs user namespaces and its own /proc (see bwrapNeedsAnUncoveredProc).
        for (String off : List.of("RestrictNamespaces=", "PrivateUsers=", "ProtectKernelLogs=", "ProtectProc=",
                "MemoryDenyWriteExecute=", "DeviceAllow=", "PrivateDevices=", "Type=notify")) {
            assertFalse(unit.lines().anyMatch(l -> l.startsWith(off)), off + " must not be set:\n" + unit);
        }
        assertTrue(unit.lines().anyMatch("ProtectKernelTunables=no"::equals), unit);
        for (String l : unit.lines().filter(l -> l.startsWith("ReadWritePaths=")).toList()) {
            assertTrue(unquote(l.substring("ReadWritePaths=-".length())).getFirst().startsWith("/"), l);
        }
        // systemd reads back exactly the command: spaces quoted, '"' escaped, '%' doubled
        String exec = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertEquals(COMMAND, unquote(exec.substring("ExecStart=".length())));
        assertTrue(exec.endsWith("--config \"/etc/ferry/my \\\"host\\\" 100%%.yaml\""), exec);
    }

    @Test
    void theHostJvmPreloadsTheSignalChainingLibraryWhereItsJdkHasOne() {
        Path home = Path.of(System.getProperty("java.home"));
        List<String> cmd = List.of(home.resolve("bin/java").toString(), "-jar", "/opt/ferry/ferry.jar", "host");
        String unit = ServiceUnit.render(cmd, config(SchedClass.NORMAL), null, 257);
        assertTrue(unit.lines().anyMatch(("Environment=LD_PRELOAD=" + home.resolve("lib/libjsig.so"))::equals), unit);
        // a JDK whose path ld.so cannot preload from (a space) or that has none: no line (the host then warns)
        assertTrue(ServiceUnit.render(COMMAND, config(SchedClass.NORMAL), null, 257).lines()
                .noneMatch(l -> l.startsWith("Environment=LD_PRELOAD")));
    }

    @Test
    void theTlsAuthorityAndTheVsockSocketDirectoryAreWritable() {
        String unit = ServiceUnit.render(COMMAND, config(SchedClass.NORMAL), null, 257);
        // the default CA directory, made 0700 before the host starts, even before any listen: is configured
        assertTrue(unit.lines().anyMatch("ReadWritePaths=-/var/lib/ferry/tls"::equals), unit);
        assertTrue(unit.lines().anyMatch("ExecStartPre=+/bin/mkdir -p -m 0700 /var/lib/ferry/tls"::equals), unit);
        HostConfig net = config(SchedClass.NORMAL).withNet(new io.ferry.host.config.NetConfig(
                List.of(new io.ferry.host.config.NetConfig.Address("0.0.0.0", 7070)), io.ferry.host.config.NetConfig.OFF,
                new io.ferry.host.config.NetConfig.Vsock(Path.of("/srv/vm/v.sock"), 7072), Path.of("/srv/ferry-ca")));
        unit = ServiceUnit.render(COMMAND, net, null, 257);
        for (String line : List.of("ReadWritePaths=-/srv/ferry-ca", "ExecStartPre=+/bin/mkdir -p -m 0700 /srv/ferry-ca",
                "ReadWritePaths=-/srv/vm", "ExecStartPre=+/bin/mkdir -p /srv/vm")) {
            assertTrue(unit.lines().anyMatch(line::equals), "no line " + line + " in\n" + unit);
        }
        assertFalse(unit.contains("/var/lib/ferry/tls"), unit);
    }

    @Test
    void homeAndTmpPathsLoosenWhatWouldHideThem() {
        List<String> cmd = List.of("/usr/bin/java", "-jar", "/root/ferry/ferry.jar", "host", "--config",
                "/tmp/ferry.yaml");
        String unit = ServiceUnit.render(cmd, config(SchedClass.NORMAL), null, 252);
        assertTrue(unit.lines().anyMatch("ProtectHome=read-only"::equals), unit);
        assertTrue(unit.lines().anyMatch("PrivateTmp=no"::equals), unit);
        assertFalse(unit.lines().anyMatch(l -> l.startsWith("FileDescriptorStorePreserve=")), "systemd 252 lacks it");
        assertFalse(unit.contains("Documentation="), unit);
    }

    @Test
    void dryRunPrintsAndOutputWrites(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("host config.yaml");
        new HostConfig(dir.resolve("regions"), true, List.of(), List.of(new HostConfig.GuestConfig("alice", 64L << 20)
                .withSecret(HostConfig.newSecret()))).save(cfg);
        Run dry = run("install-service", "--config", cfg.toString(), "--dry-run");
        assertEquals(0, dry.exit, dry.err);
        assertTrue(dry.out.startsWith("# ferry-host.service"), dry.out);
        String exec = dry.out.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        List<String> args = unquote(exec.substring("ExecStart=".length()));
        assertTrue(Path.of(args.getFirst()).isAbsolute() && Files.isExecutable(Path.of(args.getFirst())), exec);
        assertEquals(List.of("host", "--config", cfg.toAbsolutePath().toString()), args.subList(args.size() - 3,
                args.size()));

        Path unit = dir.resolve("ferry-host.service");
        Run wrote = run("install-service", "--config", cfg.toString(), "--output", unit.toString());
        assertEquals(0, wrote.exit, wrote.err);
        assertEquals(dry.out, Files.readString(unit));
        assertTrue(wrote.out.contains("wrote " + unit), wrote.out);
        assertTrue(wrote.out.contains("systemctl daemon-reload && systemctl enable --now ferry-host"), wrote.out);

        Run missing = run("install-service", "--config", dir.resolve("none.yaml").toString(), "--dry-run");
        assertEquals(2, missing.exit);
        assertTrue(missing.err.contains("does not exist") && missing.err.contains("guest add"), missing.err);
    }

    /** systemd-analyze verify accepts the unit, where it is installed (Debian: the systemd package). */
    @Test
    void systemdAnalyzeVerifies(@TempDir Path dir) throws Exception {
        Path analyze = OpsChildren.onPath("systemd-analyze");
        assumeTrue(analyze != null, "no systemd-analyze");
        Path cfg = dir.resolve("ferry.yaml");
        new HostConfig(Path.of("/dev/shm/ferry-verify"), true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 64L << 20).withSecret(HostConfig.newSecret()))).save(cfg);
        Path unit = dir.resolve(ServiceUnit.NAME);
        assertEquals(0, run("install-service", "--config", cfg.toString(), "--output", unit.toString()).exit);
        Process p = new ProcessBuilder(analyze.toString(), "verify", "--man=no", unit.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.contains(ServiceUnit.NAME + ":"), "systemd-analyze complains about the unit:\n" + out);
    }

    /**
     * Why ProtectKernelTunables is off: it over-mounts /proc/sys read-only, and then the kernel refuses bubblewrap's
     * fresh /proc in its user namespace. Shown with unshare (a user and mount namespace like the one systemd makes)
     * where this machine allows unprivileged user namespaces.
     */
    @Test
    void bwrapNeedsAnUncoveredProc() throws Exception {
        Path unshare = OpsChildren.onPath("unshare");
        Path bwrap = OpsChildren.onPath("bwrap");
        assumeTrue(unshare != null && bwrap != null, "needs unshare and bwrap");
        String sandbox = bwrap + " --unshare-all --unshare-user --ro-bind /usr /usr --symlink usr/lib /lib"
                + " --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev -- /bin/true";
        Run plain = sh(unshare + " -Urm sh -c '" + sandbox + "'");
        assumeTrue(plain.exit == 0, "no nested user namespaces here: " + plain.err);
        Run tunables = sh(unshare + " -Urm sh -c 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro "
                + "/proc/sys && " + sandbox + "'");
        assertTrue(tunables.exit != 0 && tunables.err.contains("proc"), "bwrap ran under a read-only /proc/sys: "
                + tunables.err + " (ProtectKernelTunables could be turned on)");
    }

    @Test
    void listedInHelpWithOpsDemoAndNotTheHiddenGuest() {
        String usage = new CommandLine(new Main()).getUsageMessage();
        assertTrue(usage.contains("install-service") && usage.contains("ops-demo"), usage);
        assertFalse(usage.contains("ops-guest"), "ops-guest is ops-demo's own, hidden:\n" + usage);
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new Main()).execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static Run sh(String script) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", script).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out, err);
    }

    /** How systemd splits an ExecStart or path-list value: words, "..." with \ escapes, %% as %, $$ as $. */
    static List<String> unquote(String value) {
        List<String> words = new ArrayList<>();
        int i = 0;
        while (i < value.length()) {
            while (i < value.length() && value.charAt(i) == ' ') {
                i++;
            }
            if (i >= value.length()) {
                break;
            }
            StringBuilder w = new StringBuilder();
            boolean quoted = false;
            for (; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c == '"') {
                    quoted = !quoted;
                } else if (c == '\\' && quoted && i + 1 < value.length()) {
                    w.append(value.charAt(++i));
                } else if (c == ' ' && !quoted) {
                    break;
                } else if ((c == '%' || c == '$') && i + 1 < value.length() && value.charAt(i + 1) == c) {
                    w.append(c);
                    i++;
                } else {
                    w.append(c);
                }
            }
            words.add(w.toString());
        }
        return words;
    }
}
