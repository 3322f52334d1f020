package io.ferry.cli.vm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Boots one guest in QEMU and watches its serial console. The guest's region reaches it as an ivshmem PCI device
 * whose BAR2 the host and the guest both map: an {@code ivshmem-doorbell} whose chardev takes the host's sealed
 * memfd and eventfds from the host's ivshmem server ({@code region: ivshmem}), or, as the fallback, an
 * {@code ivshmem-plain} backed by the region file ({@code memory-backend-file,share=on}). The console is QEMU's
 * stdout; every line goes through a {@link SerialLog}.
 *
 * <p>Three ways a boot ends: QEMU exits (the guest powered off, or QEMU failed), the overall timeout passes, or,
 * when a {@code stall} limit is given, init has not printed its first line by then. The last is how a KVM guest
 * that hangs (as under nested virtualization, where the firmware prints but the kernel never does) is told from one
 * that is merely slow; the caller then boots again under TCG.
 */
final class Qemu {
    /** KVM (hardware virtualization) or TCG (QEMU's emulator). */
    enum Accel {
        KVM, TCG;

        String option() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a boot ended. */
    enum End {
        /** QEMU exited by itself. */
        EXITED,
        /** The overall timeout passed; QEMU was killed. */
        TIMED_OUT,
        /** Init printed nothing within the stall limit; QEMU was killed. */
        STALLED
    }

    /**
     * What QEMU needs for one boot.
     *
     * @param qemu       the qemu-system-x86_64 binary
     * @param kernel     the guest kernel
     * @param initrd     the initramfs
     * @param region     the guest's region file (ivshmem-plain), or the host's ivshmem server socket (doorbell)
     * @param regionSize its size in bytes (a power of two)
     * @param accel      KVM or TCG
     * @param memoryMiB  guest RAM
     * @param cpus       guest CPUs
     * @param doorbell   region names the host's ivshmem server socket: use ivshmem-doorbell
     * @param iommu      with the doorbell: a q35 machine with a virtual IOMMU, so the guest can take the device's
     *                   interrupts through vfio-pci (without it the guest naps)
     */
    record Config(Path qemu, Path kernel, Path initrd, Path region, long regionSize, Accel accel, int memoryMiB,
                  int cpus, boolean doorbell, boolean iommu) {
        /** A config with the region file as ivshmem-plain. */
        Config(Path qemu, Path kernel, Path initrd, Path region, long regionSize, Accel accel, int memoryMiB,
               int cpus) {
            this(qemu, kernel, initrd, region, regionSize, accel, memoryMiB, cpus, false, false);
        }

        /** A config with the IOMMU whenever the device is ivshmem-doorbell. */
        Config(Path qemu, Path kernel, Path initrd, Path region, long regionSize, Accel accel, int memoryMiB,
               int cpus, boolean doorbell) {
            this(qemu, kernel, initrd, region, regionSize, accel, memoryMiB, cpus, doorbell, doorbell);
        }
    }

    /**
     * How it went: the end, QEMU's exit status (-1 when killed), when it ended (seconds after start), and the last
     * lines that held no Ferry marker (firmware, kernel and QEMU messages) for error reports.
     */
    record Result(End end, int exitCode, double seconds, List<String> otherLines) {
    }

    /** The guest kernel's command line. */
    static final String APPEND = "console=ttyS0 quiet panic=-1 no_timer_check";
    /** Added for ivshmem-doorbell: the guest kernel uses the virtual IOMMU, so vfio-pci can take the device. */
    static final String APPEND_IOMMU = "intel_iommu=on";

    private Qemu() {
    }

    /** The QEMU command line for {@code c}. */
    static List<String> command(Config c) {
        List<String> cmd = new ArrayList<>(List.of(c.qemu().toString(),
                "-accel", c.accel().option(),
                "-cpu", c.accel() == Accel.KVM ? "host" : "max",
                "-smp", Integer.toString(c.cpus()),
                "-m", c.memoryMiB() + "M",
                "-display", "none", "-serial", "stdio", "-monitor", "none",
                "-nic", "none",
                "-kernel", c.kernel().toString(),
                "-initrd", c.initrd().toString(),
                // panic=-1: if init dies the kernel reboots at once, and -no-reboot turns that into QEMU exiting.
                // no_timer_check: an emulated CPU on a busy host can miss the kernel's early timer-IRQ test, which
                // then panics ("IO-APIC + timer doesn't work"); virtual machines skip that test.
                "-append", c.doorbell() && c.iommu() ? APPEND + " " + APPEND_IOMMU : APPEND));
        if (c.doorbell()) {
            // The guest takes the doorbell's MSI-X interrupts through VFIO, which needs an IOMMU: a q35 machine with
            // QEMU's virtual VT-d (added before the device it translates for). ivshmem-doorbell has no INTx.
            if (c.iommu()) {
                cmd.addAll(1, List.of("-machine", "q35"));
                cmd.addAll(List.of("-device", "intel-iommu"));
            }
            cmd.addAll(List.of("-chardev", "socket,path=" + c.region() + ",id=ferry",
                    "-device", "ivshmem-doorbell,chardev=ferry,vectors=1"));
        } else {
            cmd.addAll(List.of("-object", "memory-backend-file,id=ferry,share=on,mem-path=" + c.region() + ",size="
                    + c.regionSize(), "-device", "ivshmem-plain,memdev=ferry"));
        }
        cmd.add("-no-reboot");
        return cmd;
    }

    /** Whether /dev/kvm exists and this process may open it read-write. */
    static boolean kvmAvailable() {
        Path kvm = Path.of("/dev/kvm");
        return Files.exists(kvm) && Files.isReadable(kvm) && Files.isWritable(kvm);
    }

    /**
     * Boots {@code c} and feeds each console line to {@code log}; lines with a Ferry marker also go to
     * {@code onGuestLine} (escapes removed), the others to {@code onOtherLine}.
     *
     * @param timeout the most the whole boot may take
     * @param stall   when not null: the most init may take to print its first line
     */
    static Result boot(Config c, Duration timeout, Duration stall, SerialLog log, Consumer<String> onGuestLine,
                       Consumer<String> onOtherLine) throws IOException, InterruptedException {
        List<String> cmd = command(c);
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();  // nothing to type; QEMU sees EOF on stdin and keeps running
        // A VM must not outlive this JVM (Ctrl-C, or a test runner's timeout): kill it on the way out.
        Thread killer = new Thread(p::destroyForcibly, "qemu-killer");
        Runtime.getRuntime().addShutdownHook(killer);
        BlockingQueue<Object> lines = new LinkedBlockingQueue<>();
        Object eof = new Object();
        Thread reader = Thread.ofPlatform().daemon().name("qemu-console").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(new Line(line, seconds(start)));
                }
            } catch (IOException e) {
                lines.add(new Line("vm-demo: console lost: " + e.getMessage(), seconds(start)));
            }
            lines.add(eof);
        });
        Deque<String> other = new ArrayDeque<>();
        long deadline = start + timeout.toNanos();
        long stallDeadline = stall == null ? Long.MAX_VALUE : start + stall.toNanos();
        End end = null;
        try {
            while (true) {
                long now = System.nanoTime();
                if (now >= deadline) {
                    end = End.TIMED_OUT;
                    break;
                }
                if (!log.booted() && now >= stallDeadline) {
                    end = End.STALLED;
                    break;
                }
                Object item = lines.poll(Math.min(deadline, stallDeadline) - now > 0
                        ? Math.min(250_000_000L, Math.min(deadline, stallDeadline) - now) : 1, TimeUnit.NANOSECONDS);
                if (item == eof) {
                    end = End.EXITED;
                    break;
                }
                if (item instanceof Line l) {
                    String msg = log.accept(l.text(), l.seconds());
                    if (msg != null) {
                        onGuestLine.accept(msg);
                    } else {
                        String clean = SerialLog.clean(l.text()).strip();
                        if (!clean.isEmpty()) {
                            other.addLast(clean);
                            if (other.size() > 20) {
                                other.removeFirst();
                            }
                            onOtherLine.accept(clean);
                        }
                    }
                }
            }
        } finally {
            if (end != End.EXITED) {
                p.destroyForcibly();
            }
        }
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        reader.join(2000);
        try {
            Runtime.getRuntime().removeShutdownHook(killer);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs and kills a QEMU that has ended anyway
        }
        int code = end == End.EXITED && !p.isAlive() ? p.exitValue() : -1;
        return new Result(end, code, seconds(start), List.copyOf(other));
    }

    private record Line(String text, double seconds) {
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
