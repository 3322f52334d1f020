package io.ferry.cli;

import io.ferry.host.admin.StatusJson;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The child processes of {@code ops-demo} (a host, CLI commands, {@link OpsGuestCommand}s) and its probes. */
final class OpsChildren {
    /** The end-of-output marker a guest's queue gets when its process's output ends. */
    static final String EOF = "\u0000EOF";

    private OpsChildren() {
    }

    /** {@code java ... io.ferry.cli.Main ARGS}: this JVM's java and class path. */
    static List<String> ferry(String... args) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"),
                "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-Xss512k"));
        String home = System.getProperty("ferry.home");
        if (home != null) {
            cmd.add("-Dferry.home=" + home);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A finished CLI command: its exit status and output (stdout and stderr together). */
    record Result(int exit, String output) {
    }

    /** Runs a ferry CLI command to its end (at most two minutes). */
    static Result run(String... args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(ferry(args)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            return new Result(-1, out + "\n(killed after two minutes)");
        }
        return new Result(p.exitValue(), out);
    }

    /** A host child process ({@code ferry host --config FILE}); its last output lines are kept. */
    static final class Host {
        final Process process;
        private final Deque<String> tail = new ArrayDeque<>();

        Host(Path config) throws IOException {
            process = new ProcessBuilder(ferry("host", "--config", config.toString())).redirectErrorStream(true).start();
            process.getOutputStream().close();
            Thread.ofPlatform().daemon().name("ops-demo-host-output").start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (tail) {
                            tail.addLast(line);
                            if (tail.size() > 30) {
                                tail.removeFirst();
                            }
                        }
                    }
                } catch (IOException e) {
                    // the host ended
                }
            });
        }

        String tail() {
            synchronized (tail) {
                return String.join("\n", tail);
            }
        }

        /** SIGTERM, then its exit status (-1 when it had to be killed after 60 s). */
        int stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                return -1;
            }
            return process.exitValue();
        }
    }

    /** A guest child process ({@link OpsGuestCommand}): lines of its output in a queue, rounds on request. */
    static final class Guest {
        final String name;
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final Writer in;

        Guest(String name, Path socket, byte[] secret, List<String> workloads) throws IOException {
            this.name = name;
            ProcessBuilder pb = new ProcessBuilder(ferry("ops-guest", "--guest", name, "--socket", socket.toString(),
                    "--workloads", String.join(",", workloads))).redirectErrorStream(true);
            pb.environment().put("FERRY_SECRET", java.util.Base64.getEncoder().encodeToString(secret));
            pb.environment().remove("FERRY_SECRET_FILE");
            process = pb.start();
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread.ofPlatform().daemon().name("ops-demo-guest-" + name).start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the guest ended
                } finally {
                    lines.add(EOF);
                }
            });
        }

        /** Asks for one round; false when the process no longer listens. */
        boolean send(String command) {
            try {
                in.write(command + "\n");
                in.flush();
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        /** The next line, EOF at the end of its output, null after {@code seconds} without one. */
        String next(long seconds) throws InterruptedException {
            return lines.poll(seconds, TimeUnit.SECONDS);
        }

        void quit() throws InterruptedException {
            send("quit");
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    /** The admin socket's status document, or null when nothing answers there. */
    static Map<?, ?> status(Path adminSocket) {
        try {
            return StatusJson.parse(StatusCommand.ask(adminSocket)) instanceof Map<?, ?> m ? m : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The guests' names in a status document (empty when null). */
    static List<String> guestNames(Map<?, ?> status) {
        List<String> out = new ArrayList<>();
        if (status != null && status.get("guests") instanceof List<?> gs) {
            for (Object g : gs) {
                if (g instanceof Map<?, ?> m && m.get("name") != null) {
                    out.add(String.valueOf(m.get("name")));
                }
            }
        }
        return out;
    }

    /** An HTTP GET: status and body; status -1 (and the reason as body) when nothing answered. */
    record Http(int status, String body) {
    }

    static Http get(String url) {
        try (HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            return new Http(r.statusCode(), r.body());
        } catch (IOException e) {
            return new Http(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Http(-1, "interrupted");
        }
    }

    /** A loopback port free now (the host binds it; the same port after its restart keeps the URL). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The first of these on PATH (or absolute and executable), or null. */
    static Path onPath(String... names) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String n : names) {
            for (String d : path.split(":")) {
                Path p = Path.of(d.isEmpty() ? "." : d, n);
                if (java.nio.file.Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }
}
