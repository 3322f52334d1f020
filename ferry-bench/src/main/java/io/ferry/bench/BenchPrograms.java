package io.ferry.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The suites' native helper programs ({@code ferry-icd/bench}, {@code ferry-icd/teec/bench}): building them, running
 * one, and reading the {@code p50_us=} each prints.
 */
final class BenchPrograms {
    private static final Pattern P50 = Pattern.compile("p50_us=([0-9.]+)");

    private BenchPrograms() {
    }

    /** {@code make -s -C ferry-icd TARGETS}; false (with the reason on stderr) when it fails. */
    static boolean make(String suite, List<String> targets) throws IOException, InterruptedException {
        String icd = IcdBench.ferryHome().resolve("ferry-icd").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of("make", "-s", "-C", icd));
        cmd.addAll(targets);
        if (run(suite, cmd, Map.of(), 300) == null) {
            System.err.println("ferry bench " + suite + ": building " + String.join(" ", targets) + " failed (make -C "
                    + icd + ")");
            return false;
        }
        return true;
    }

    /** The first {@code p50_us=} figure {@code out} has, or null. */
    static Double p50(String out) {
        Matcher m = out == null ? null : P50.matcher(out);
        return m != null && m.find() ? Double.parseDouble(m.group(1)) : null;
    }

    /**
     * Runs {@code cmd} with {@code env} added, no FERRY_ variable of ours and no OpenCL vendor override (so PoCL, not
     * a Ferry ICD, is the OpenCL a native program finds); its output when it exits 0 within {@code seconds}, else
     * null (with the output on stderr). The output goes to a file, so a program that hangs is killed at the
     * deadline rather than waited for.
     */
    static String run(String suite, List<String> cmd, Map<String, String> env, long seconds)
            throws IOException, InterruptedException {
        Path log = Files.createTempFile("ferry-bench-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().keySet().removeIf(k -> k.startsWith("FERRY_") || k.equals("OCL_ICD_VENDORS")
                    || k.equals("OPENCL_VENDOR_PATH"));
            pb.environment().putAll(env);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                System.err.println("ferry bench " + suite + ": cannot run " + cmd.getFirst() + ": " + e.getMessage());
                return null;
            }
            p.getOutputStream().close();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                System.err.println("ferry bench " + suite + ": " + String.join(" ", cmd) + " ran past " + seconds
                        + " s and was killed");
                return null;
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                System.err.println("ferry bench " + suite + ": " + String.join(" ", cmd) + " exited with "
                        + p.exitValue() + ":\n" + out.strip());
                return null;
            }
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
