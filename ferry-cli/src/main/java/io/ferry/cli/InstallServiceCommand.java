package io.ferry.cli;

import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry install-service}: writes {@code ferry-host.service} ({@link ServiceUnit}) for the host run with this
 * JDK and this ferry.jar on a config, and says how to enable it. {@code --dry-run} prints the unit instead;
 * {@code --output FILE} writes it elsewhere.
 */
@Command(name = "install-service", mixinStandardHelpOptions = true,
        description = {"Write a systemd unit (ferry-host.service) that runs the host on a config, with "
                + "Restart=on-failure, reload on SIGHUP and hardening; then say how to enable it.",
                "Default target: /etc/systemd/system/ferry-host.service (needs root). See docs/operations.md."})
final class InstallServiceCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "the host's config (default: $FERRY_CONFIG or ./ferry.yaml); the unit names it by its "
                    + "absolute path")
    Path config;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "write the unit here instead of /etc/systemd/system/ferry-host.service")
    Path output;

    @Option(names = "--dry-run", description = "print the unit, write nothing")
    boolean dryRun;

    @Option(names = "--java", paramLabel = "PATH", description = "the java to run the host with (default: this one)")
    Path javaPath;

    @Override
    public Integer call() throws IOException {
        Path file = HostCommand.configPath(config).toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            System.err.println("ferry install-service: config " + file + " does not exist; create it first "
                    + "(./ferry guest add NAME -c " + file + ") or name it with --config FILE");
            return 2;
        }
        HostConfig cfg = HostConfig.load(file);
        String unit = ServiceUnit.render(command(file), cfg, docs(), systemdVersion());
        if (dryRun) {
            System.out.print(unit);
            return 0;
        }
        Path target = (output != null ? output : ServiceUnit.DEFAULT_DIR.resolve(ServiceUnit.NAME))
                .toAbsolutePath().normalize();
        try {
            Files.writeString(target, unit);
        } catch (AccessDeniedException | java.nio.file.NoSuchFileException e) {
            System.err.println("ferry install-service: cannot write " + target + " (" + e.getClass().getSimpleName()
                    .replace("Exception", "") + "): run it as root (sudo ./ferry install-service), or give "
                    + "--output FILE, or --dry-run to print the unit");
            return 2;
        }
        System.out.println("wrote " + target + " (host config " + file + ")");
        if (target.getParent().equals(ServiceUnit.DEFAULT_DIR) && target.getFileName().toString().equals(ServiceUnit.NAME)) {
            System.out.println("enable and start it:  systemctl daemon-reload && systemctl enable --now ferry-host");
        } else {
            System.out.println("install it:  cp " + target + " " + ServiceUnit.DEFAULT_DIR.resolve(ServiceUnit.NAME)
                    + " && systemctl daemon-reload && systemctl enable --now ferry-host");
        }
        System.out.println("then:  systemctl status ferry-host;  journalctl -u ferry-host;  "
                + "systemctl reload ferry-host (re-reads the config)");
        return 0;
    }

    /** The host's command: this JDK's java on ferry.jar (or, run from classes, on this class path). */
    List<String> command(Path configFile) {
        String javaBin = javaPath != null ? javaPath.toAbsolutePath().normalize().toString()
                : Path.of(System.getProperty("java.home"), "bin", "java").toAbsolutePath().normalize().toString();
        // generational ZGC: no stop-the-world pause of the endpoints (Serial's young collections took 33-49 ms)
        List<String> cmd = new ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED", "-XX:+UseZGC",
                "-Xss512k"));
        String home = System.getProperty("ferry.home");
        if (home != null && !home.isBlank()) {
            cmd.add("-Dferry.home=" + Path.of(home).toAbsolutePath().normalize());
        }
        Path jar = codeSource();
        if (jar != null && Files.isRegularFile(jar) && jar.toString().endsWith(".jar")) {
            cmd.addAll(List.of("-jar", jar.toString()));
        } else {
            List<String> cp = new ArrayList<>();
            for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                if (!e.isBlank()) {
                    cp.add(Path.of(e).toAbsolutePath().normalize().toString());
                }
            }
            cmd.addAll(List.of("-cp", String.join(java.io.File.pathSeparator, cp), Main.class.getName()));
        }
        cmd.addAll(List.of("host", "--config", configFile.toString()));
        return cmd;
    }

    private static Path codeSource() {
        try {
            return Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .toAbsolutePath().normalize();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    /** The first number of {@code systemctl --version} ("systemd 252 (252.39-1)"), 0 when unknown. */
    static int systemdVersion() {
        for (String tool : List.of("systemctl", "systemd-analyze")) {
            Path p = OpsChildren.onPath(tool);
            if (p == null) {
                continue;
            }
            try {
                Process proc = new ProcessBuilder(p.toString(), "--version").redirectErrorStream(true).start();
                proc.getOutputStream().close();
                String first = new String(proc.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                        .lines().findFirst().orElse("");
                proc.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("^systemd (\\d+)").matcher(first);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            } catch (IOException e) {
                // try the next tool
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            }
        }
        return 0;
    }

    /** docs/operations.md of the checkout this runs from, where there is one. */
    private static Path docs() {
        String home = System.getProperty("ferry.home");
        Path p = home != null ? Path.of(home, "docs", "operations.md") : null;
        return p != null && Files.isRegularFile(p) ? p : null;
    }
}
