package io.ferry.bench;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.Program;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.HdrHistogram.Histogram;

/**
 * The Ferry side of {@code ./ferry bench net}, for one mode (plain or TLS): one connection's null calls, blocking
 * 4-byte writes, launch + finish and 64 MiB transfers, then 63 connections more (64 in all) with the host's RSS
 * before and after, the first connection's null calls while the others are connected, and the null calls of all 64
 * calling at once. Keys end in {@code suffix} ("" or "_tls").
 */
final class NetCalls {
    /** Connections in the many-clients figures, the measuring one included. */
    static final int CLIENTS = 64;
    /** Lanes of each of the guests the other 63 connections use (the most a guest may have). */
    static final int LANES = 16;

    /** Opens a connection as a guest, over this mode's listener. */
    interface Connector {
        Ferry connect(String guest);
    }

    /** Sample counts: null calls, 4-byte writes and launches, 64 MiB transfers each way, calls per client at 64. */
    record Sizes(int nullCalls, int smallCalls, int transfers, int callsEach) {
        static Sizes of(boolean quick) {
            return quick ? new Sizes(5_000, 2_000, 3, 200) : new Sizes(50_000, 20_000, 9, 2_000);
        }
    }

    private NetCalls() {
    }

    /**
     * Measures this mode: {@code bench} is the measuring guest (one lane, heap for 64 MiB), {@code many} the guests
     * of the other connections ({@link #LANES} lanes each), {@code hostPid} the host process.
     */
    static void measure(Report r, String suffix, Connector c, String bench, List<String> many, long hostPid,
                        Sizes n) throws Exception {
        try (Ferry ferry = c.connect(bench)) {
            calls(r, suffix, ferry, n);
            Histogram one = TransportBench.nullCalls(ferry, n.nullCalls());
            r.put("null_call_us_p50" + suffix, one.getValueAtPercentile(50) / 1e3);
            r.put("null_call_us_p99" + suffix, one.getValueAtPercentile(99) / 1e3);
            Thread.sleep(300);
            double before = TransportBench.rssMib(hostPid);
            List<Ferry> others = new ArrayList<>();
            try {
                for (int i = 0; i < CLIENTS - 1; i++) {
                    others.add(c.connect(many.get(i / LANES)));
                }
                Thread.sleep(300);
                double after = TransportBench.rssMib(hostPid);
                r.put("host_rss_mib_1_client" + suffix, before);
                r.put("host_rss_mib_64_clients" + suffix, after);
                r.put("host_rss_mib_per_client" + suffix, (after - before) / (CLIENTS - 1));
                Histogram connected = TransportBench.nullCalls(ferry, n.nullCalls());
                r.put("null_call_us_p50_64_clients" + suffix, connected.getValueAtPercentile(50) / 1e3);
                others.add(ferry);
                allCalling(r, suffix, others, n.callsEach());
            } finally {
                others.remove(ferry);
                for (Ferry f : others) {
                    f.close();
                }
            }
        }
    }

    /** 4-byte writes, launch + finish and the 64 MiB transfers on one connection. */
    private static void calls(Report r, String suffix, Ferry ferry, Sizes n) {
        long size = NetBench.TRANSFER;
        try (Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer buf = ctx.createBuffer(size);
             HeapBlock block = ferry.heap().allocate(size);
             Program p = ctx.buildProgram(TransportBench.KERNEL);
             Kernel k = p.kernel("inc");
             DeviceBuffer small = ctx.createBuffer(64 * 4)) {
            r.put("device", ferry.defaultDevice().name());
            block.segment().fill((byte) 1);
            double[] w = new double[n.transfers()];
            double[] rd = new double[n.transfers()];
            // Warmed up as the floor is (TcpFloor, Warmup): until neither direction gets faster any more.
            Warmup warm = new Warmup();
            while (warm.more(TransportBench.writeGbs(q, buf, block), TransportBench.readGbs(q, buf, block))) {
                Thread.onSpinWait();
            }
            for (int i = 0; i < n.transfers(); i++) {
                w[i] = TransportBench.writeGbs(q, buf, block);
                rd[i] = TransportBench.readGbs(q, buf, block);
            }
            r.put("write_gbs" + suffix, TransportBench.median(w));
            r.put("read_gbs" + suffix, TransportBench.median(rd));
            r.put("write4_blocking_us_p50" + suffix, TransportBench.median(TransportBench.write4Us(q, small,
                    n.smallCalls())));
            k.arg(0, small);
            r.put("launch_finish_us" + suffix, TransportBench.median(TransportBench.launchFinishUs(q, k,
                    n.smallCalls())));
        }
    }

    /**
     * Every connection calls {@code each} null calls (after a tenth as many) at once, each on a thread of its own:
     * the p50 of all those calls and the calls per second of all together.
     */
    private static void allCalling(Report r, String suffix, List<Ferry> all, int each) throws InterruptedException {
        Histogram h = new Histogram(3_600_000_000L, 3);
        CountDownLatch ready = new CountDownLatch(all.size());
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Histogram> parts = new ArrayList<>();
        for (Ferry f : all) {
            Histogram part = new Histogram(3_600_000_000L, 3);
            parts.add(part);
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each / 10; i++) {
                    f.nop(i);
                }
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < each; i++) {
                    long t0 = System.nanoTime();
                    f.nop(i);
                    part.recordValue(System.nanoTime() - t0);
                }
            }));
        }
        ready.await();
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        for (Histogram part : parts) {
            h.add(part);
        }
        r.put("null_call_us_p50_64_calling" + suffix, h.getValueAtPercentile(50) / 1e3);
        r.put("null_calls_per_s_64_calling" + suffix, (double) each * all.size() / secs);
    }
}
