package io.ferry.cli;

import io.ferry.cli.workload.Workload;
import io.ferry.cli.workload.WorkloadResult;
import io.ferry.cli.workload.Workloads;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry ops-guest} (hidden; {@code ops-demo} runs it): one guest process that keeps one connection for its
 * whole life, so that a host restart or a region reset happens under it. It connects once, then for each line
 * {@code run} on stdin runs the workloads through that same {@link Ferry} and prints their {@code RESULT} lines (as
 * {@code example --report} does) and {@code ROUND<TAB>n<TAB>verified<TAB>failed}; it ends at {@code quit} or end of
 * input.
 *
 * <p>A run that fails because the host restarted or the region was reset (the client's "host restarted" or
 * "session closed ... reconnect" error) is handled as an application would: this process connects again (same
 * process; {@link #reconnect}) and runs it once more; the note and the retry's result are both printed, and only
 * the retry's verdict counts. Where the client re-handshakes by itself, no run fails and nothing is retried.
 */
@Command(name = "ops-guest", hidden = true, description = "A guest that runs workload rounds on 'run' lines (ops-demo).")
final class OpsGuestCommand implements Callable<Integer> {
    /** What the client says when its session was lost to a host restart or a region reset. */
    static final Pattern LOST = Pattern.compile("(?i)restart|epoch|reset|reconnect|session closed|ended this session");

    @Option(names = "--guest", required = true) String guest;
    @Option(names = "--socket", required = true) Path socket;
    @Option(names = "--workloads", split = ",", defaultValue = "vadd,reduce") List<String> workloads;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        List<Workload> selected = new ArrayList<>();
        for (String w : workloads) {
            selected.add(Workloads.byName(w));
        }
        String secret = System.getenv("FERRY_SECRET");
        if (secret == null || secret.isBlank()) {
            out.println("ERROR\tFERRY_SECRET is not set");
            return 2;
        }
        byte[] key = Base64.getDecoder().decode(secret.strip());
        Ferry ferry;
        try {
            ferry = Ferry.connect(socket, guest, key);
        } catch (FerryException e) {
            out.println("ERROR\tcannot connect as guest '" + guest + "': " + e.getMessage());
            return 2;
        }
        out.println("CONNECTED\t" + guest);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int round = 0;
        try {
            String line;
            while ((line = in.readLine()) != null && !line.strip().equals("quit")) {
                if (!line.strip().equals("run")) {
                    continue;
                }
                round++;
                int verified = 0;
                int failed = 0;
                for (Workload w : selected) {
                    WorkloadResult r = runOne(ferry, w);
                    if (!r.verified() && LOST.matcher(r.detail()).find()) {
                        out.println("NOTE\t" + w.name() + ": " + r.detail());
                        Ferry again = reconnect(ferry, key, out);
                        if (again != null) {
                            ferry = again;
                            r = runOne(ferry, w);
                        }
                    }
                    out.println(r.reportLine(guest));
                    if (r.verified()) {
                        verified++;
                    } else {
                        failed++;
                    }
                }
                out.println("ROUND\t" + round + "\t" + verified + "\t" + failed);
            }
        } finally {
            ferry.close();
        }
        return 0;
    }

    /**
     * Connects again after a lost session, for up to 30 s (the host may still be starting); null if it cannot. Uses
     * {@link Ferry#reconnect()}: a new session on the same, still-mapped region, as a VM does through its BAR.
     */
    private Ferry reconnect(Ferry lost, byte[] key, PrintStream out) throws InterruptedException {
        long end = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                Ferry f = lost.reconnect();
                out.println("NOTE\treconnected on the same region mapping (Ferry.reconnect), same process "
                        + ProcessHandle.current().pid());
                return f;
            } catch (FerryException e) {
                if (System.nanoTime() > end) {
                    out.println("NOTE\tcannot connect again: " + e.getMessage());
                    return null;
                }
                Thread.sleep(500);
            }
        }
    }

    private static WorkloadResult runOne(Ferry ferry, Workload w) {
        Device dev;
        try {
            dev = ferry.defaultDevice();
        } catch (FerryException e) {
            return WorkloadResult.failed(w.name(), w.size(), "-", Double.NaN, Double.NaN, e.getMessage());
        }
        try {
            return w.run(ferry, dev);
        } catch (RuntimeException e) {
            return WorkloadResult.failed(w.name(), w.size(), dev.name(), Double.NaN, Double.NaN,
                    "internal error: " + e);
        }
    }
}
