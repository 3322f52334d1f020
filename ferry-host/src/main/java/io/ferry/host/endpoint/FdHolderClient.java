package io.ferry.host.endpoint;

import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The host's side of the {@link FdHolder}: talks to the holder on {@code REGIONDIR/fd-holder.sock}, and starts
 * one (a detached JVM in its own session, so that neither Ctrl-C in the host's terminal nor the host's death ends
 * it) when none answers.
 */
final class FdHolderClient implements FdKeeper {
    private static final Duration START_WAIT = Duration.ofSeconds(20);
    private final Path socket;

    FdHolderClient(Path regionDir) {
        this.socket = regionDir.resolve(FdHolder.SOCKET);
    }

    Path socket() {
        return socket;
    }

    @Override
    public String describe() {
        return "the fd holder process on " + socket;
    }

    @Override
    public int take(String name) throws IOException {
        int[] fd = {-1};
        byte answer = ask(FdHolder.GET, name, -1, fd, false);
        if (answer != FdHolder.OK) {
            Memfd.closeQuietly(fd[0]);
            return -1;
        }
        return fd[0];
    }

    @Override
    public void keep(String name, int fd) throws IOException {
        byte answer = ask(FdHolder.PUT, name, fd, null, true);
        if (answer != FdHolder.OK) {
            throw new IOException("the fd holder on " + socket + " refused to keep " + name + " (answer " + answer
                    + ")");
        }
    }

    @Override
    public void drop(String name) throws IOException {
        ask(FdHolder.DROP, name, -1, null, false);
    }

    /** One request; a holder that is not there is started when {@code start} (else the answer is NONE). */
    private byte ask(byte op, String name, int passFd, int[] fdOut, boolean start) throws IOException {
        UnixSocket connected;
        try {
            connected = UnixSocket.connect(socket);
        } catch (IOException e) {
            if (!start) {
                return FdHolder.NONE; // no holder: nothing is held
            }
            connected = startHolder();
        }
        try (UnixSocket s = connected) {
            s.timeouts(Duration.ofSeconds(10), Duration.ofSeconds(10));
            s.send(FdHolder.request(op, name), passFd);
            byte[] answer = new byte[1];
            s.receiveFully(answer, fdOut);
            return answer[0];
        }
    }

    private UnixSocket startHolder() throws IOException {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // its own session: the terminal's Ctrl-C and the host's group are not its
        }
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx32m", "-Xss512k",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                FdHolder.class.getName(), socket.toString()));
        new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long until = System.nanoTime() + START_WAIT.toNanos();
        while (true) {
            try {
                return UnixSocket.connect(socket);
            } catch (IOException e) {
                if (System.nanoTime() > until) {
                    throw new IOException("started the fd holder (" + String.join(" ", cmd) + ") but nothing answered"
                            + " on " + socket + " within " + START_WAIT.toSeconds() + " s: " + e.getMessage(), e);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while the fd holder started", ie);
                }
            }
        }
    }
}
