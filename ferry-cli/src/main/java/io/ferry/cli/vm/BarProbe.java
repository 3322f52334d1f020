package io.ferry.cli.vm;

import io.ferry.channel.RegionDescriptor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The memory-type check for a region mapped through a PCI BAR: times acquire loads of one header word through the
 * {@code resource2} mapping against the same loads from ordinary memory. A guest maps {@code resource2} uncached
 * (the kernel's sysfs BAR mapping); whether the CPU really treats it as uncached depends on the hypervisor (under
 * TCG memory types do nothing; under KVM it depends on the host CPU and kernel). Acquire loads of ring indices are
 * what a waiting side spins on, so a large ratio here means slow waits; docs/vm.md says what to do then.
 */
final class BarProbe {
    static final int LOADS = 2_000_000;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private BarProbe() {
    }

    /** One line: ns per load through BAR2 and through ordinary memory, and whether a WC mapping is offered. */
    static String measure(Path resource) {
        try (FileChannel ch = FileChannel.open(resource, StandardOpenOption.READ);
             Arena arena = Arena.ofConfined()) {
            MemorySegment bar = ch.map(FileChannel.MapMode.READ_ONLY, 0, RegionDescriptor.HEADER_SIZE, arena);
            MemorySegment ram = arena.allocate(RegionDescriptor.HEADER_SIZE, 4096);
            MemorySegment.copy(bar, 0, ram, 0, RegionDescriptor.HEADER_SIZE);
            long off = RegionDescriptor.HOST_HEARTBEAT_OFFSET;
            loads(bar, off, LOADS / 10);  // warm up: get the loop compiled
            loads(ram, off, LOADS / 10);
            double barNs = loads(bar, off, LOADS);
            double ramNs = loads(ram, off, LOADS);
            Path wc = resource.resolveSibling(resource.getFileName() + "_wc");
            return String.format(Locale.ROOT, "probe: acquire load via %s %.1f ns, via ordinary memory %.1f ns"
                    + " (ratio %.1f); %s_wc %s", resource.getFileName(), barNs, ramNs, barNs / ramNs,
                    resource.getFileName(), Files.exists(wc) ? "present" : "absent");
        } catch (IOException e) {
            return "probe: cannot map " + resource + ": " + e;
        }
    }

    /** Nanoseconds per acquire load of the word at {@code off}. */
    private static double loads(MemorySegment s, long off, int n) {
        long sum = 0;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sum += (long) LONG.getAcquire(s, off);
        }
        long ns = System.nanoTime() - start;
        if (sum == 42) {  // keeps the loads alive; never true in practice
            System.out.print("");
        }
        return (double) ns / n;
    }
}
