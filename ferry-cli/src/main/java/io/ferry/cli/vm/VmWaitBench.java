package io.ferry.cli.vm;

import io.ferry.client.Context;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.client.VmInterrupts;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Inside the VM: times the same calls with doorbell interrupts and with timed naps, in one run, alternating blocks
 * of each so that the host's load (the VM is emulated) falls on both alike. Two calls: a null call ({@link Ferry#nop},
 * the transport's round trip) and a launch+finish of an empty kernel (a call that waits on device work). With naps
 * the guest does not ring the host's doorbell either, so both sides wait as they did before interrupts existed.
 */
final class VmWaitBench {
    private static final String EMPTY_KERNEL = "__kernel void empty(void) { }";
    private static final int BLOCKS = 4;

    private VmWaitBench() {
    }

    /** Medians of one call in both modes, nanoseconds. */
    record Figures(String call, int samples, long napsMedian, long napsP90, long interruptsMedian,
                   long interruptsP90) {
        double ratio() {
            return interruptsMedian == 0 ? Double.NaN : (double) napsMedian / interruptsMedian;
        }

        /** {@code bench CALL: naps median X µs (p90 Y), interrupts median Z µs (p90 W): naps/interrupts R×}. */
        String line() {
            return String.format(Locale.ROOT, "bench %s: naps median %.1f µs (p90 %.1f), interrupts median %.1f µs"
                    + " (p90 %.1f): naps/interrupts %.1f× (%d calls each)", call, napsMedian / 1e3, napsP90 / 1e3,
                    interruptsMedian / 1e3, interruptsP90 / 1e3, ratio(), samples);
        }
    }

    /** Runs both calls with {@code samples} calls per mode; empty when interrupts are not available. */
    static List<Figures> run(Ferry ferry, Device device, int samples) {
        VmInterrupts vm = ferry.vmInterrupts();
        List<Figures> out = new ArrayList<>();
        if (vm == null || !vm.active() || samples < BLOCKS) {
            return out;
        }
        try {
            out.add(measure("null-call", samples, vm, () -> ferry.nop(1)));
            try (Context ctx = ferry.createContext(device);
                 CommandQueue q = ctx.createQueue();
                 Program p = ctx.buildProgram(EMPTY_KERNEL, "");
                 Kernel k = p.kernel("empty")) {
                out.add(measure("launch+finish", samples, vm, () -> {
                    q.launch(k, NDRange.of(1), NDRange.of(1));
                    q.finish();
                }));
            }
        } finally {
            vm.enable(true);
        }
        return out;
    }

    private static Figures measure(String call, int samples, VmInterrupts vm, Runnable op) {
        for (int i = 0; i < Math.min(50, samples); i++) {
            op.run();  // warm up (the JIT, the host's path)
        }
        int per = samples / BLOCKS;
        long[] naps = new long[per * BLOCKS / 2];
        long[] irq = new long[per * BLOCKS / 2];
        int n = 0;
        int q = 0;
        for (int b = 0; b < BLOCKS; b++) {
            boolean interrupts = b % 2 == 1;
            vm.enable(interrupts);
            for (int i = 0; i < per; i++) {
                long t0 = System.nanoTime();
                op.run();
                long t = System.nanoTime() - t0;
                if (interrupts) {
                    irq[q++] = t;
                } else {
                    naps[n++] = t;
                }
            }
        }
        vm.enable(true);
        Arrays.sort(naps);
        Arrays.sort(irq);
        return new Figures(call, naps.length, naps[naps.length / 2], naps[naps.length * 9 / 10], irq[irq.length / 2],
                irq[irq.length * 9 / 10]);
    }
}
