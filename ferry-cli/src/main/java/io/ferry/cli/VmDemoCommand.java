package io.ferry.cli;

import io.ferry.cli.vm.VmException;
import io.ferry.cli.vm.VmRun;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ferry vm-demo}: Ferry with a real virtual machine. Builds (once, cached) a guest image from Debian's
 * packages, starts a host in this process with one guest region, boots QEMU with the region as an
 * {@code ivshmem-plain} device, and lets the guest run vector add and matrix multiply through the host, then the C
 * program {@code native_demo} through Ferry's OpenCL ICD. The last line is {@code vm-demo: N verified, M failed};
 * the exit status is 0 only when M is 0 and N is at least 1.
 * See docs/vm.md.
 */
@Command(name = "vm-demo", mixinStandardHelpOptions = true,
        description = "Boot a QEMU guest whose Ferry region is an ivshmem PCI device; inside, run vadd and matmul "
                + "through the host, then the C program native_demo through the OpenCL ICD. Last line: vm-demo: N"
                + " verified, M failed.")
public final class VmDemoCommand implements Callable<Integer> {

    @Option(names = "--workloads", split = ",", paramLabel = "LIST", defaultValue = "vadd,matmul",
            description = "workloads the guest runs (default ${DEFAULT-VALUE})")
    List<String> workloads;

    @Option(names = "--small", description = "smaller problem sizes (quicker under emulation)")
    boolean small;

    @Option(names = "--accel", defaultValue = "auto", paramLabel = "auto|kvm|tcg",
            description = "KVM when it works, else TCG (default ${DEFAULT-VALUE})")
    String accel;

    @Option(names = "--timeout", defaultValue = "360", paramLabel = "SECONDS",
            description = "kill QEMU after this long (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--cpus", defaultValue = "2", description = "guest CPUs (default ${DEFAULT-VALUE})")
    int cpus;

    @Option(names = "--cache-dir", paramLabel = "DIR",
            description = "where the guest image is cached (default $FERRY_CACHE/vm or ~/.cache/ferry/vm)")
    Path cacheDir;

    @Option(names = "--verbose", description = "also show firmware and kernel console lines")
    boolean verbose;

    @Option(names = "--bench", defaultValue = "200", paramLabel = "CALLS",
            description = "calls per mode for the guest's doorbell-interrupts versus timed-naps figures (null call,"
                    + " launch+finish); 0 skips them (default ${DEFAULT-VALUE})")
    int bench;

    @Option(names = "--no-iommu", description = "boot without the virtual IOMMU (q35 + intel-iommu): the guest cannot"
            + " take the doorbell's interrupts through vfio-pci and naps (shows the fallback)")
    boolean noIommu;

    @Option(names = "--restart-host", description = "restart the host under the running VM once the workloads "
            + "verified; the guest runs them again without a reboot (the region becomes a file as ivshmem-plain, "
            + "no doorbells: docs/vm.md, \"When the host restarts\")")
    boolean restartHost;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        VmRun.Options defaults = VmRun.Options.defaults();
        VmRun.Outcome r;
        try {
            VmRun.Options o = new VmRun.Options(cacheDir != null ? cacheDir : defaults.cacheDir(), workloads, small,
                    accel.toLowerCase(Locale.ROOT), Duration.ofSeconds(timeoutSeconds), defaults.kvmStall(), cpus,
                    defaults.memoryMiB(), verbose, bench, !noIommu);
            if (restartHost) {
                o = o.withRestart();
            }
            r = VmRun.run(o, out);
        } catch (VmException | IllegalArgumentException e) {
            out.println("vm-demo: " + e.getMessage());
            out.println("vm-demo: 0 verified, " + (workloads.size() + 1) + " failed"); // + the C demo (ICD)
            return 1;
        }
        out.println();
        if (Double.isNaN(r.bootSeconds())) {
            out.println("vm-demo: accelerator " + r.accel() + "; the guest did not boot");
        } else {
            out.printf(Locale.ROOT, "vm-demo: accelerator %s; boot %.1f s (QEMU start to init; guest kernel uptime"
                    + " %.1f s), run %s (guest JVM start, connect, workloads)%n", r.accel(), r.bootSeconds(),
                    r.guestUptime(), Double.isNaN(r.runSeconds()) ? "unfinished"
                            : String.format(Locale.ROOT, "%.1f s", r.runSeconds()));
        }
        if (!r.problem().isEmpty()) {
            out.println("vm-demo: " + r.problem());
        }
        int failed = r.failed() + (r.problem().isEmpty() ? 0 : Math.max(0, 1 - r.failed()));
        out.println("vm-demo: " + r.verified() + " verified, " + failed + " failed");
        return failed == 0 && r.verified() >= 1 ? 0 : 1;
    }
}
