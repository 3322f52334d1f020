package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real virtual machine: QEMU boots the guest image with its region as an ivshmem-doorbell device (q35 with a
 * virtual IOMMU), and the guest runs vadd through the host in this JVM, waiting on the device's MSI-X interrupts
 * through vfio-pci; its doorbell writes wake the host. Then the C program native_demo runs through Ferry's OpenCL
 * ICD (libferry-opencl.so under the ocl-icd loader, FERRY_HOST=pci:) and verifies. It builds the image on first use
 * (Debian packages, about 20 s; cached under $FERRY_CACHE/vm or ~/.cache/ferry/vm) and installs QEMU when missing
 * and root. Skipped only when QEMU is missing and cannot be installed here.
 */
@Tag("slow")
class VmBootTest {

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aQemuGuestRunsVaddThroughItsIvshmemRegion() throws Exception {
        assumeTrue(VmTools.present() || VmTools.canInstall(), "qemu-system-x86_64 or cpio is missing and cannot be"
                + " installed here (needs root and apt-get): " + VmTools.installCommand());
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        VmRun.Options o = new VmRun.Options(GuestImage.defaultCacheDir(), List.of("vadd"), true, "auto",
                Duration.ofSeconds(150), Duration.ofSeconds(15), 2, 1024, false);

        VmRun.Outcome r = VmRun.run(o, out);

        out.printf(Locale.ROOT, "vm test: %s, boot %.1f s, run %.1f s%n", r.accel(), r.bootSeconds(), r.runSeconds());
        assertTrue(r.ok(), () -> "the VM run failed: " + r.problem() + "\n  " + String.join("\n  ", r.guestLines()));
        assertEquals(2, r.verified(), "vadd and the C demo through the OpenCL ICD");
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: result native_demo verified")),
                () -> "the C demo ran through the ICD over the ivshmem device: " + r.guestLines());
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: region ") && l.contains("'vm1'")),
                () -> "the guest found its region as an ivshmem device: " + r.guestLines());
        // Doorbell interrupts, both ways: the guest library took MSI-X through vfio-pci and woke on them, and its
        // DOORBELL writes woke the host's endpoint through the ivshmem server's eventfd.
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: wait: MSI-X interrupts through"
                + " vfio-pci")), () -> "the guest waits with interrupts: " + r.guestLines());
        long received = r.guestLines().stream().filter(l -> l.startsWith("vm-guest: interrupts: ")).mapToLong(
                l -> Long.parseLong(l.substring("vm-guest: interrupts: ".length()).split(" ")[0])).findFirst()
                .orElse(-1);
        assertTrue(received > 0, () -> "the guest received interrupts: " + r.guestLines());
        assertTrue(r.hostInterrupts() > 0, "the host raised the guest's interrupt: " + r.hostInterrupts());
        assertTrue(r.hostDoorbells() > 0, "the guest's doorbell woke the host: " + r.hostDoorbells());
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: bench null-call: naps median")),
                () -> "the guest timed naps against interrupts: " + r.guestLines());
    }

    /**
     * The host restarts while the QEMU guest runs: the guest verifies vadd, the host in this JVM stops (sessions
     * closed, epoch cleared, region file kept) and starts again with the same config (the region file reopened in
     * place, a new epoch); the guest's next call fails with the restart error, it reconnects through the same BAR
     * (no reboot, no remap) and verifies vadd again, then the C demo runs through the ICD against the new host.
     * The region is a file as ivshmem-plain here (docs/vm.md, "When the host restarts").
     */
    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void theHostRestartsUnderARunningQemuGuestThatVerifiesAgainWithoutAReboot() throws Exception {
        assumeTrue(VmTools.present() || VmTools.canInstall(), "qemu-system-x86_64 or cpio is missing and cannot be"
                + " installed here (needs root and apt-get): " + VmTools.installCommand());
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        VmRun.Options o = new VmRun.Options(GuestImage.defaultCacheDir(), List.of("vadd"), true, "auto",
                Duration.ofSeconds(240), Duration.ofSeconds(15), 2, 1024, false).withRestart();

        VmRun.Outcome r = VmRun.run(o, out);

        assertTrue(r.ok(), () -> "the VM run failed: " + r.problem() + "\n  " + String.join("\n  ", r.guestLines()));
        assertEquals(3, r.verified(), "vadd, vadd again after the host restarted, and the C demo");
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: restart seen: ")
                && l.contains("the host restarted (epoch") && l.contains("this session's objects are lost")),
                () -> "the guest's next call failed with the restart error: " + r.guestLines());
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: reconnected through the same BAR")),
                () -> "the guest reconnected without a reboot: " + r.guestLines());
        assertTrue(r.guestLines().stream().anyMatch(l -> l.startsWith("vm-guest: result vadd-after-restart verified")),
                () -> "vadd verified again after the restart: " + r.guestLines());
    }
}
