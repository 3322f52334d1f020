package io.ferry.host.vfio;

import io.ferry.host.vfio.Assignments.Assignment;
import io.ferry.host.vfio.Assignments.Member;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a VM needs to get its devices: the QEMU arguments ({@code -device vfio-pci,host=BDF} per assigned function)
 * and the libvirt {@code <hostdev>} elements for its VFIO assignments, next to the ivshmem device of its Ferry region
 * for the remoted ones. {@code managed='no'}: Ferry, not libvirt, moved the functions to vfio-pci and gives them back.
 */
public final class VmArgs {

    /**
     * The VM's Ferry region as QEMU takes it: {@code doorbell} true for a host-served memfd (the ivshmem server socket
     * at {@code path}), false for a region file at {@code path} of {@code size} bytes (ivshmem-plain).
     */
    public record Region(boolean doorbell, Path path, long size) {
    }

    private VmArgs() {
    }

    /** The functions assigned to {@code vm}, in the order recorded; an unfinished (pending) assignment has none. */
    public static List<String> functions(Assignments state, String vm) {
        List<String> out = new ArrayList<>();
        for (Assignment a : state.ofVm(vm)) {
            if (a.pending()) {
                continue;
            }
            for (Member m : a.members()) {
                out.add(m.bdf());
            }
        }
        return out;
    }

    /** QEMU's arguments, one {@code -device}/{@code -chardev}/{@code -object} option and its value per pair. */
    public static List<String> qemu(List<String> functions, Region region) {
        List<String> args = new ArrayList<>();
        for (String bdf : functions) {
            args.add("-device");
            args.add("vfio-pci,host=" + bdf);
        }
        if (region != null && region.doorbell()) {
            args.addAll(List.of("-chardev", "socket,path=" + region.path() + ",id=ferry",
                    "-device", "ivshmem-doorbell,chardev=ferry,vectors=1"));
        } else if (region != null) {
            args.addAll(List.of("-object", "memory-backend-file,id=ferry,share=on,mem-path=" + region.path()
                    + ",size=" + region.size(), "-device", "ivshmem-plain,memdev=ferry"));
        }
        return args;
    }

    /** The libvirt elements for the domain's {@code <devices>}. */
    public static String libvirt(List<String> functions, String vm, Region region) {
        StringBuilder sb = new StringBuilder();
        for (String bdf : functions) {
            int[] n = PciAddress.numbers(bdf);
            sb.append("<hostdev mode='subsystem' type='pci' managed='no'>\n  <source>\n")
                    .append(String.format(Locale.ROOT, "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
                            + "function='0x%x'/>%n", n[0], n[1], n[2], n[3]))
                    .append("  </source>\n</hostdev>\n");
        }
        if (region != null && region.doorbell()) {
            sb.append("<shmem name='ferry-").append(xml(vm)).append("'>\n  <model type='ivshmem-doorbell'/>\n")
                    .append("  <server path='").append(xml(region.path().toString())).append("'/>\n")
                    .append("  <msi vectors='1'/>\n</shmem>\n");
        } else if (region != null) {
            sb.append("<!-- the region file ").append(region.path()).append(" is not under libvirt's /dev/shm naming: ")
                    .append("pass the QEMU arguments above through <qemu:commandline>, or use region: ivshmem -->\n");
        }
        return sb.toString();
    }

    static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
                .replace("\"", "&quot;");
    }
}
