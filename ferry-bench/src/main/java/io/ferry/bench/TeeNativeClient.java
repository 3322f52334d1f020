package io.ferry.bench;

import io.ferry.host.FerryHost;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./ferry bench tee}'s native client: the hello TA's increment from a C program through Ferry's libteec
 * ({@code ferry-icd/build/teec_bench}, from {@code ferry-icd/teec/bench/teec_bench.c}), a child process with a guest's
 * environment, against the bench's host. Gives {@code invoke_rtt_us_p50_native_client}.
 */
final class TeeNativeClient {
    static final List<String> MAKE_TARGETS = List.of("build/libteec.so.2", "build/teec_bench", "build/handoff_floor");
    private static final Pattern P50 = Pattern.compile("p50_us=([0-9.]+)");

    private TeeNativeClient() {
    }

    /**
     * The median round trip in microseconds, or null (with the reason on stderr) when the harness cannot be built or
     * fails.
     */
    static Double p50(FerryHost host, String guest, Path dir, int samples) throws IOException, InterruptedException {
        Path icd = IcdBench.ferryHome().resolve("ferry-icd");
        List<String> make = new java.util.ArrayList<>(List.of("make", "-s", "-C", icd.toString()));
        make.addAll(MAKE_TARGETS);
        String made = run(make, Map.of(), 300);
        if (made == null) {
            System.err.println("ferry bench tee: building libteec and its harness failed (make -C " + icd + " "
                    + String.join(" ", MAKE_TARGETS) + "); no invoke_rtt_us_p50_native_client");
            return null;
        }
        Path secret = dir.resolve(guest + ".secret");
        Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(secret, host.secret(guest));
        String out = run(List.of(icd.resolve("build/teec_bench").toString(), Integer.toString(samples)),
                Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST", guest,
                        "FERRY_SECRET_FILE", secret.toString()), 600);
        Matcher m = out == null ? null : P50.matcher(out);
        if (m == null || !m.find()) {
            System.err.println("ferry bench tee: the native client (teec_bench) failed; no "
                    + "invoke_rtt_us_p50_native_client" + (out == null ? "" : ":\n" + out));
            return null;
        }
        return Double.parseDouble(m.group(1));
    }

    /**
     * The floor under a round trip through {@code modes.length()} processes that pass a token and do no work
     * ({@code ferry-icd/bench/handoff_floor.c}; each waits as its letter in {@code modes} says): the median over
     * {@code runs} runs of each run's p50, in µs, or null when the tool cannot run. Run after {@link #p50}, which
     * builds it.
     */
    static Double floor(String modes, int runs, int rounds) throws IOException, InterruptedException {
        Path tool = IcdBench.ferryHome().resolve("ferry-icd/build/handoff_floor");
        double[] p50 = new double[runs];
        for (int i = 0; i < runs; i++) {
            String out = run(List.of(tool.toString(), "procs", modes, Integer.toString(rounds)), Map.of(), 120);
            Matcher m = out == null ? null : P50.matcher(out);
            if (m == null || !m.find()) {
                System.err.println("ferry bench tee: " + tool + " failed; no floor for " + modes.length()
                        + " processes");
                return null;
            }
            p50[i] = Double.parseDouble(m.group(1));
        }
        java.util.Arrays.sort(p50);
        return p50[runs / 2];
    }

    /** Runs cmd with env added (no other FERRY_ variable); its output when it exits 0, else null. */
    private static String run(List<String> cmd, Map<String, String> env, long seconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("FERRY_"));
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            System.err.println("ferry bench tee: cannot run " + cmd.getFirst() + ": " + e.getMessage());
            return null;
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return null;
        }
        if (p.exitValue() != 0) {
            System.err.println("ferry bench tee: " + String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n"
                    + out.strip());
            return null;
        }
        return out;
    }
}
