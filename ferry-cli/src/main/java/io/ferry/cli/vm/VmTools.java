package io.ferry.cli.vm;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The host tools a VM guest needs: {@code qemu-system-x86_64} to run it, {@code cpio} (and Debian's apt and dpkg)
 * to build its image. Missing ones are installed with apt-get when this process is root and apt-get exists;
 * otherwise {@link #ensure} fails with the exact command to run.
 */
final class VmTools {
    static final String QEMU = "qemu-system-x86_64";
    static final List<String> PACKAGES = List.of("qemu-system-x86", "cpio");
    static final long INSTALL_TIMEOUT_MINUTES = 10;

    private VmTools() {
    }

    /** The command that installs the tools, for messages. */
    static String installCommand() {
        return "apt-get install -y --no-install-recommends " + String.join(" ", PACKAGES);
    }

    /** An executable called {@code name} on PATH (or in /usr/bin, /usr/sbin, /sbin). */
    static Optional<Path> which(String name) {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(File.pathSeparator)));
        }
        dirs.addAll(List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"));
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static boolean present() {
        return which(QEMU).isPresent() && which("cpio").isPresent();
    }

    static boolean isRoot() {
        try {
            Process p = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 && out.equals("0");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Whether {@link #ensure} could install what is missing here. */
    static boolean canInstall() {
        return isRoot() && which("apt-get").isPresent();
    }

    /**
     * Returns the QEMU binary, installing QEMU and cpio first when they are missing and this is possible.
     *
     * @throws VmException when a tool is missing and cannot be installed; the message has the command to run
     */
    static Path ensure(PrintStream log) throws InterruptedException {
        if (!present()) {
            if (!canInstall()) {
                throw new VmException("missing " + (which(QEMU).isEmpty() ? QEMU : "cpio") + "; install it with: sudo "
                        + installCommand());
            }
            log.println("vm-demo: installing " + String.join(" ", PACKAGES) + " (" + installCommand() + ")");
            if (aptInstall(log) != 0) {
                log.println("vm-demo: apt-get install failed; running apt-get update and retrying");
                apt(log, List.of("apt-get", "update", "-q"));
                if (aptInstall(log) != 0) {
                    throw new VmException("could not install " + String.join(" ", PACKAGES) + "; run: "
                            + installCommand());
                }
            }
            if (!present()) {
                throw new VmException("installed " + String.join(" ", PACKAGES) + " but " + QEMU + " or cpio is still"
                        + " not on PATH");
            }
        }
        return which(QEMU).orElseThrow();
    }

    private static int aptInstall(PrintStream log) throws InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends"));
        cmd.addAll(PACKAGES);
        return apt(log, cmd);
    }

    private static int apt(PrintStream log, List<String> cmd) throws InterruptedException {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process p = pb.start();
            Thread pump = Thread.ofPlatform().daemon().start(() -> {
                try (var r = p.inputReader()) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("E:") || line.startsWith("Setting up qemu") || line.startsWith("W:")) {
                            log.println("  [apt] " + line);
                        }
                    }
                } catch (IOException e) {
                    log.println("  [apt] output lost: " + e.getMessage());
                }
            });
            if (!p.waitFor(INSTALL_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new VmException(String.join(" ", cmd) + " did not finish within " + INSTALL_TIMEOUT_MINUTES
                        + " minutes");
            }
            pump.join(1000);
            return p.exitValue();
        } catch (IOException e) {
            throw new VmException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage());
        }
    }
}
