package io.ferry.cli.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuTest {
    static Qemu.Config config(Qemu.Accel accel) {
        return new Qemu.Config(Path.of("/usr/bin/qemu-system-x86_64"), Path.of("/c/vmlinuz"), Path.of("/w/initrd"),
                Path.of("/dev/shm/ferry/vm1.region"), 64L << 20, accel, 1024, 2);
    }

    private static String after(List<String> cmd, String option) {
        return cmd.get(cmd.indexOf(option) + 1);
    }

    @Test
    void theRegionFileBacksAnIvshmemPlainDeviceSharedWithTheHost() {
        List<String> cmd = Qemu.command(config(Qemu.Accel.TCG));

        assertEquals("memory-backend-file,id=ferry,share=on,mem-path=/dev/shm/ferry/vm1.region,size=67108864",
                after(cmd, "-object"));
        assertEquals("ivshmem-plain,memdev=ferry", after(cmd, "-device"));
    }

    @Test
    void withTheDoorbellTheHostsIvshmemServerHandsQemuTheSealedRegion() {
        Qemu.Config c = config(Qemu.Accel.TCG);
        List<String> cmd = Qemu.command(new Qemu.Config(c.qemu(), c.kernel(), c.initrd(),
                Path.of("/dev/shm/ferry/vm1.ivshmem"), c.regionSize(), c.accel(), c.memoryMiB(), c.cpus(), true));

        assertEquals("socket,path=/dev/shm/ferry/vm1.ivshmem,id=ferry", after(cmd, "-chardev"));
        assertEquals("ivshmem-doorbell,chardev=ferry,vectors=1", cmd.get(cmd.lastIndexOf("-device") + 1));
        assertTrue(!cmd.contains("-object"));
        // MSI-X to the guest's user space goes through VFIO, which needs an IOMMU: q35 with the virtual VT-d first.
        assertEquals("q35", after(cmd, "-machine"));
        assertEquals("intel-iommu", after(cmd, "-device"));
        assertTrue(after(cmd, "-append").contains("intel_iommu=on"));

        // Without the IOMMU (vm-demo --no-iommu): the default machine, and the guest naps.
        List<String> plain = Qemu.command(new Qemu.Config(c.qemu(), c.kernel(), c.initrd(),
                Path.of("/dev/shm/ferry/vm1.ivshmem"), c.regionSize(), c.accel(), c.memoryMiB(), c.cpus(), true, false));
        assertFalse(plain.contains("-machine"));
        assertFalse(plain.contains("intel-iommu"));
        assertFalse(after(plain, "-append").contains("intel_iommu"));
        assertEquals("ivshmem-doorbell,chardev=ferry,vectors=1", after(plain, "-device"));
    }

    @Test
    void theGuestBootsOurKernelAndInitramfsAndEndsWhenItPowersOff() {
        List<String> cmd = Qemu.command(config(Qemu.Accel.TCG));

        assertEquals("/c/vmlinuz", after(cmd, "-kernel"));
        assertEquals("/w/initrd", after(cmd, "-initrd"));
        assertTrue(after(cmd, "-append").contains("console=ttyS0"));
        assertTrue(after(cmd, "-append").contains("panic=-1"));
        assertTrue(after(cmd, "-append").contains("no_timer_check"));
        assertTrue(cmd.contains("-no-reboot"));
        assertEquals("stdio", after(cmd, "-serial"));
        assertEquals("1024M", after(cmd, "-m"));
    }

    @Test
    void kvmUsesTheHostCpuAndTcgTheEmulatorsBest() {
        List<String> kvm = Qemu.command(config(Qemu.Accel.KVM));
        List<String> tcg = Qemu.command(config(Qemu.Accel.TCG));

        assertEquals("kvm", after(kvm, "-accel"));
        assertEquals("host", after(kvm, "-cpu"));
        assertEquals("tcg", after(tcg, "-accel"));
        assertEquals("max", after(tcg, "-cpu"));
    }
}
