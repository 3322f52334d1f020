package io.ferry.bench;

import io.ferry.host.FerryHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

/**
 * {@code ./ferry bench tee}'s native client: the hello TA's increment from a C program through Ferry's libteec
 * ({@code ferry-icd/build/teec_bench}, from {@code ferry-icd/teec/bench/teec_bench.c}), a child process with a guest's
 * environment, against the bench's host. Gives {@code invoke_rtt_us_p50_native_client} (its invokes on a direct
 * lane to the TA instance, as libteec makes them by default) and {@code invoke_rtt_us_p50_native_client_ring} (with
 * {@code FERRY_TEE_DIRECT=0}: every invoke through the host, as before direct lanes).
 */
final class TeeNativeClient {
    static final List<String> MAKE_TARGETS = List.of("build/libteec.so.2", "build/teec_bench", "build/handoff_floor");

    private TeeNativeClient() {
    }

    /**
     * The median round trip in microseconds, or null (with the reason on stderr) when the harness cannot be built or
     * fails.
     */
    static Double p50(FerryHost host, String guest, Path dir, int samples, boolean directLane)
            throws IOException, InterruptedException {
        if (!BenchPrograms.make("tee", MAKE_TARGETS)) {
            System.err.println("ferry bench tee: no invoke_rtt_us_p50_native_client");
            return null;
        }
        Path secret = dir.resolve(guest + ".secret");
        if (!Files.exists(secret)) {
            Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(secret, host.secret(guest));
        }
        Path icd = IcdBench.ferryHome().resolve("ferry-icd");
        String out = BenchPrograms.run("tee", List.of(icd.resolve("build/teec_bench").toString(),
                Integer.toString(samples)), Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST", guest,
                "FERRY_SECRET_FILE", secret.toString(), "FERRY_TEE_DIRECT", directLane ? "1" : "0"), 600);
        Double p50 = BenchPrograms.p50(out);
        if (p50 == null) {
            System.err.println("ferry bench tee: the native client (teec_bench) failed; no "
                    + "invoke_rtt_us_p50_native_client" + (directLane ? "" : "_ring") + (out == null ? "" : ":\n" + out));
        }
        return p50;
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
            Double one = BenchPrograms.p50(BenchPrograms.run("tee", List.of(tool.toString(), "procs", modes,
                    Integer.toString(rounds)), Map.of(), 120));
            if (one == null) {
                System.err.println("ferry bench tee: " + tool + " failed; no floor for " + modes.length()
                        + " processes");
                return null;
            }
            p50[i] = one;
        }
        return TransportBench.median(p50);
    }
}
