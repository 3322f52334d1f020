package io.ferry.cli.vm;

import io.ferry.cli.workload.Workloads;
import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * One VM run, end to end: make sure QEMU is there, build (or reuse) the guest image, start a Ferry host in this
 * process with one guest region, boot the guest with that region as an ivshmem device, let the guest run its
 * workloads through the host, and count what it reports. {@code ./ferry vm-demo} and the VM test both use it.
 */
public final class VmRun {
    /** The guest's name, in the region header and on the guest's command line. */
    public static final String GUEST = "vm1";
    /** The region size: ivshmem needs a power of two. */
    public static final long REGION_SIZE = 64L << 20;
    /** In the cache directory: the host boot id under which a KVM guest hung, so later runs go straight to TCG. */
    static final String KVM_STUCK = "kvm-stuck";
    /** Calls per mode of the guest's interrupts-versus-naps figures when not told otherwise. */
    public static final int DEFAULT_BENCH = 200;

    /**
     * What to run.
     *
     * @param cacheDir  where the guest image is cached
     * @param workloads the workloads the guest runs, in order
     * @param small     smaller problem sizes (for emulated guests in tests)
     * @param accel     "auto" (KVM when it works, else TCG), "kvm" or "tcg"
     * @param timeout   the most one boot may take before QEMU is killed
     * @param kvmStall  the most a KVM guest may take to reach init before it counts as stuck
     * @param cpus      guest CPUs
     * @param memoryMiB guest RAM
     * @param verbose   also show the firmware's and kernel's console lines
     * @param bench     calls per mode for the guest's interrupts-versus-naps figures ({@link VmWaitBench}); 0: none
     * @param iommu     give the VM a virtual IOMMU (q35 + intel-iommu) so its guest takes doorbell interrupts
     *                  through vfio-pci; false shows the fallback (timed naps)
     * @param restart   restart the host under the running VM once the guest's workloads verified; the guest then
     *                  runs them again without a reboot. The region is then a file as {@code ivshmem-plain}
     *                  (docs/vm.md, "When the host restarts"), so no doorbells and no bench
     */
    public record Options(Path cacheDir, List<String> workloads, boolean small, String accel, Duration timeout,
                          Duration kvmStall, int cpus, int memoryMiB, boolean verbose, int bench, boolean iommu,
                          boolean restart) {
        public Options(Path cacheDir, List<String> workloads, boolean small, String accel, Duration timeout,
                       Duration kvmStall, int cpus, int memoryMiB, boolean verbose, int bench, boolean iommu) {
            this(cacheDir, workloads, small, accel, timeout, kvmStall, cpus, memoryMiB, verbose, bench, iommu, false);
        }

        /** These options with a host restart under the running VM (an ivshmem-plain file region, no bench). */
        public Options withRestart() {
            return new Options(cacheDir, workloads, small, accel, timeout, kvmStall, cpus, memoryMiB, verbose, 0,
                    false, true);
        }

        /** Options with the default bench ({@link #DEFAULT_BENCH} calls per mode) and the IOMMU. */
        public Options(Path cacheDir, List<String> workloads, boolean small, String accel, Duration timeout,
                       Duration kvmStall, int cpus, int memoryMiB, boolean verbose) {
            this(cacheDir, workloads, small, accel, timeout, kvmStall, cpus, memoryMiB, verbose, DEFAULT_BENCH, true);
        }

        /** Options with the IOMMU. */
        public Options(Path cacheDir, List<String> workloads, boolean small, String accel, Duration timeout,
                       Duration kvmStall, int cpus, int memoryMiB, boolean verbose, int bench) {
            this(cacheDir, workloads, small, accel, timeout, kvmStall, cpus, memoryMiB, verbose, bench, true);
        }

        public Options {
            workloads = List.copyOf(workloads);
            if (workloads.isEmpty()) {
                throw new IllegalArgumentException("name at least one workload (" + Workloads.names() + ")");
            }
            workloads.forEach(Workloads::byName);  // an unknown name fails here, not after a boot
            if (bench < 0) {
                throw new IllegalArgumentException("--bench must be 0 or more calls, not " + bench);
            }
            if (!List.of("auto", "kvm", "tcg").contains(accel)) {
                throw new IllegalArgumentException("accel must be auto, kvm or tcg, not '" + accel + "'");
            }
        }

        /** The demo's defaults: vadd and matmul at full size, KVM when it works, 6 minutes at most. */
        public static Options defaults() {
            return new Options(GuestImage.defaultCacheDir(), List.of("vadd", "matmul"), false, "auto",
                    Duration.ofMinutes(6), Duration.ofSeconds(20), 2, 1024, false);
        }
    }

    /**
     * How it went.
     *
     * @param verified      runs the guest reported verified
     * @param failed        runs that failed or never reported (a guest that did not finish counts every
     *                      unreported workload as failed)
     * @param accel         the accelerator of the boot that counted ("kvm" or "tcg")
     * @param bootSeconds   QEMU start to init's first line, host clock; NaN when the guest never got there
     * @param runSeconds    init's first line to the guest program's end (JVM start, connect, workloads)
     * @param guestUptime   the guest kernel's uptime at init's first line
     * @param problem       what went wrong beyond failed workloads, or empty
     * @param guestLines    every vm-init/vm-guest line
     * @param hostDoorbells times the guest's DOORBELL write woke the host's endpoint (its ivshmem eventfd)
     * @param hostInterrupts times the host raised the guest's interrupt (a completion while the guest slept)
     */
    public record Outcome(int verified, int failed, String accel, double bootSeconds, double runSeconds,
                          double guestUptime, String problem, List<String> guestLines, long hostDoorbells,
                          long hostInterrupts) {
        public boolean ok() {
            return failed == 0 && verified > 0 && problem.isEmpty();
        }
    }

    private VmRun() {
    }

    /** Runs the guest; progress goes to {@code out}. */
    public static Outcome run(Options o, PrintStream out) throws IOException, InterruptedException {
        Path qemu = VmTools.ensure(out);
        GuestImage image = GuestImage.ensure(o.cacheDir(), out);
        Path work = Files.createTempDirectory("ferry-vm-");
        Path regionDir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "ferry-vm-");
        try {
            Path initrd = work.resolve("initrd.cpio");
            // The C demo through the OpenCL ICD, after the Java workloads (GuestIcd; its own result line)
            GuestIcd.Plan icd = GuestIcd.prepare(GuestImage.toolsDir().getParent().getParent(), GUEST);
            if (icd.ready()) {
                out.println("vm-demo: guest: " + GuestIcd.DEMO + " through libferry-opencl.so and the ocl-icd loader"
                        + " (" + icd.files().size() + " files in the per-run archive)");
            }
            image.writeInitrd(initrd, GuestImage.guestClassPath(), guestEnv(o) + icd.env(), icd.files());
            // QEMU's ivshmem-doorbell: a sealed memfd; for a restart under the VM, ivshmem-plain on the region file
            // regions are discarded at stop, but kept (for the next host) when the host restarts under the VM
            HostConfig cfg = new HostConfig(regionDir, !o.restart(), List.of(),
                    List.of(new HostConfig.GuestConfig(GUEST, REGION_SIZE).withRegion(o.restart()
                            ? HostConfig.RegionKind.FILE : HostConfig.RegionKind.IVSHMEM)));
            java.util.concurrent.atomic.AtomicReference<FerryHost> current = new java.util.concurrent.atomic
                    .AtomicReference<>();
            try (Devices devices = Devices.discover(List.of());
                 AutoCloseable stop = () -> current.get().close()) {
                current.set(FerryHost.start(cfg, devices));
                if (devices.all().isEmpty()) {
                    return failedBeforeBoot(o, "the host found no compute device: " + devices.noDeviceMessage());
                }
                out.println("vm-demo: host: " + devices.all().size() + " device(s): " + devices.all().stream()
                        .map(d -> d.info().name() + " [" + d.backend().name() + "]").toList());
                Path region = o.restart() ? FerryHost.regionPath(regionDir, GUEST) : FerryHost.ivshmemPath(regionDir, GUEST);
                out.println("vm-demo: guest " + GUEST + ": " + (o.restart() ? "region file " + region
                        + " as ivshmem-plain BAR2 (the host restarts under the VM)" : "sealed region ("
                        + (REGION_SIZE >> 20) + " MiB) from the host's ivshmem server " + region
                        + " as ivshmem-doorbell BAR2"));
                Outcome r = boot(o, qemu, image, initrd, region, out, () -> restartHost(current, cfg, devices, out));
                long[] bells = current.get().ivshmemDoorbells(GUEST);
                out.println("vm-demo: host: " + bells[0] + " doorbells from the guest woke it, " + bells[1]
                        + " interrupts raised in the guest");
                List<String> lines = r.guestLines();
                if (!icd.ready()) {
                    // counted failed already: the guest could not report it (expected(o) counts it)
                    String line = "vm-demo: result " + GuestIcd.DEMO + " FAILED: " + icd.problem();
                    out.println(line);
                    lines = new ArrayList<>(lines);
                    lines.add(line);
                }
                return new Outcome(r.verified(), r.failed(), r.accel(), r.bootSeconds(), r.runSeconds(),
                        r.guestUptime(), r.problem(), List.copyOf(lines), bells[0], bells[1]);
            } catch (IOException | InterruptedException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e);
            }
        } finally {
            deleteTree(work, out);
            deleteTree(regionDir, out);
        }
    }

    /** The results a run should report: one per workload, and the C demo through the ICD ({@link GuestIcd}). */
    public static int expected(Options o) {
        return o.workloads().size() * (o.restart() ? 2 : 1) + 1;
    }

    /**
     * The host restarts under the running VM (the guest printed {@link VmRestart#WAITING}): stopped as at SIGTERM
     * (sessions closed, epoch cleared, the region file kept), then started with the same config, which reopens the
     * region file in place and publishes a new epoch.
     */
    private static void restartHost(java.util.concurrent.atomic.AtomicReference<FerryHost> current, HostConfig cfg,
                                    Devices devices, PrintStream out) {
        Thread.ofPlatform().name("vm-host-restart").start(() -> {
            try {
                out.println("vm-demo: host: stopping under the running VM, then starting again with the same config");
                current.get().close();
                Thread.sleep(1500); // long enough for the guest to see the heartbeat stand still
                current.set(FerryHost.start(cfg, devices));
                out.println("vm-demo: host: restarted; the region file was reopened in place");
            } catch (IOException | InterruptedException | RuntimeException e) {
                out.println("vm-demo: host: the restart failed: " + e);
            }
        });
    }

    /** The guest's arguments, as {@code tools/vm/init} sources them. */
    static String guestEnv(Options o) {
        return "GUEST_ARGS=\"--pci " + GUEST + " --probe --workloads " + String.join(",", o.workloads())
                + (o.small() ? " --small" : "") + (o.bench() > 0 ? " --bench " + o.bench() : "")
                + (o.restart() ? " --restart" : "") + "\"\n";
    }

    private static Outcome boot(Options o, Path qemu, GuestImage image, Path initrd, Path region, PrintStream out,
                                Runnable restartHost) throws IOException, InterruptedException {
        List<Qemu.Accel> plan = new ArrayList<>();
        switch (o.accel()) {
            case "kvm" -> plan.add(Qemu.Accel.KVM);
            case "tcg" -> plan.add(Qemu.Accel.TCG);
            default -> {
                Path marker = o.cacheDir().resolve(KVM_STUCK);
                if (Qemu.kvmAvailable() && kvmStuckSinceBoot(marker)) {
                    out.println("vm-demo: a KVM guest hung on an earlier run since this host booted (" + marker
                            + "); using TCG (--accel kvm tries KVM anyway)");
                } else if (Qemu.kvmAvailable()) {
                    plan.add(Qemu.Accel.KVM);
                } else {
                    out.println("vm-demo: /dev/kvm is missing or not usable by this user; using TCG (emulation)");
                }
                plan.add(Qemu.Accel.TCG);
            }
        }
        Outcome last = null;
        boolean retried = false;
        for (int i = 0; i < plan.size(); i++) {
            Qemu.Accel accel = plan.get(i);
            boolean fallbackLeft = i + 1 < plan.size();
            Qemu.Config cfg = new Qemu.Config(qemu, image.kernel(), initrd, region, REGION_SIZE, accel, o.memoryMiB(),
                    o.cpus(), !o.restart(), o.iommu() && !o.restart());
            out.println("vm-demo: booting under " + accel + ": " + String.join(" ", Qemu.command(cfg)));
            SerialLog log = new SerialLog();
            Qemu.Result r = Qemu.boot(cfg, o.timeout(), fallbackLeft ? o.kvmStall() : null, log,
                    line -> {
                        out.println("  [vm] " + line);
                        if (o.restart() && line.startsWith(VmRestart.WAITING)) {
                            restartHost.run();
                        }
                    },
                    line -> {
                        if (o.verbose()) {
                            out.println("  [console] " + line);
                        }
                    });
            if (!fallbackLeft && !log.booted() && r.end() == Qemu.End.EXITED && !retried) {
                // The kernel died before init (a panic reboots, and -no-reboot ends QEMU). Seen once under TCG on a
                // heavily loaded host; a second boot is cheap next to failing the run.
                retried = true;
                out.println("vm-demo: the guest kernel ended before init (" + lastLines(r) + "); booting once more");
                i--;
                continue;
            }
            if (fallbackLeft && !log.booted()) {
                out.println(r.end() == Qemu.End.STALLED
                        ? String.format(Locale.ROOT, "vm-demo: the %s guest printed nothing within %d s (a stuck KVM"
                                + " boot, as under nested virtualization); falling back to TCG", accel,
                                o.kvmStall().toSeconds())
                        : "vm-demo: the " + accel + " guest ended before init (QEMU exit " + r.exitCode() + ": "
                                + lastLines(r) + "); falling back to TCG");
                if (r.end() == Qemu.End.STALLED) {
                    rememberKvmStuck(o.cacheDir().resolve(KVM_STUCK), out);
                }
                continue;
            }
            last = outcome(o, accel, log, r);
            break;
        }
        return last;
    }

    /** This host's boot id: a stuck KVM is remembered until the host reboots. */
    private static String bootId() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    static boolean kvmStuckSinceBoot(Path marker) {
        try {
            return Files.isRegularFile(marker) && Files.readString(marker).strip().equals(bootId());
        } catch (IOException e) {
            return false;
        }
    }

    private static void rememberKvmStuck(Path marker, PrintStream out) {
        try {
            Files.writeString(marker, bootId() + "\n");
        } catch (IOException e) {
            out.println("vm-demo: could not record the stuck KVM boot in " + marker + ": " + e.getMessage());
        }
    }

    private static Outcome outcome(Options o, Qemu.Accel accel, SerialLog log, Qemu.Result r) {
        String problem = "";
        if (r.end() == Qemu.End.TIMED_OUT) {
            problem = String.format(Locale.ROOT, "the VM did not finish within %d s and was killed (%s)",
                    o.timeout().toSeconds(), log.booted() ? "it booted; the guest program hung or is too slow"
                            : "it never reached init: " + lastLines(r));
        } else if (!log.booted()) {
            problem = "the guest never reached init (QEMU exit " + r.exitCode() + "): " + lastLines(r);
        } else if (!log.done()) {
            problem = "the guest program ended without its final line"
                    + (log.guestExit() != Integer.MIN_VALUE ? " (exit status " + log.guestExit() + ")" : "");
        } else if (r.exitCode() != 0) {
            problem = "QEMU exited with status " + r.exitCode() + ": " + lastLines(r);
        }
        int reported = log.verified() + log.failed();
        int failed = log.failed() + Math.max(0, expected(o) - reported);
        return new Outcome(log.verified(), failed, accel.option(), log.bootSeconds(), log.runSeconds(),
                log.guestUptimeAtInit(), problem, log.guestLines(), 0, 0);
    }

    private static Outcome failedBeforeBoot(Options o, String problem) {
        return new Outcome(0, expected(o), "none", Double.NaN, Double.NaN, Double.NaN, problem, List.of(),
                0, 0);
    }

    private static String lastLines(Qemu.Result r) {
        List<String> l = r.otherLines();
        return l.isEmpty() ? "no console output" : String.join(" | ", l.subList(Math.max(0, l.size() - 5), l.size()));
    }

    private static void deleteTree(Path dir, PrintStream out) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            out.println("vm-demo: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
