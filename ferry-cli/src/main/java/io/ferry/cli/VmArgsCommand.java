package io.ferry.cli;

import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import io.ferry.host.vfio.Assignments;
import io.ferry.host.vfio.VmArgs;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry vm-args VM}: the QEMU arguments and libvirt XML of a VM's VFIO-assigned devices (from the state
 * file) and of its Ferry region (the guest of the same name in the host's config) for the remoted ones.
 */
@Command(name = "vm-args", mixinStandardHelpOptions = true, description = "Print the QEMU arguments and the libvirt "
        + "<hostdev>/<shmem> XML for a VM: its VFIO-assigned devices (ferry device assign) and the ivshmem device "
        + "of its Ferry region (the host's guest of the same name).")
final class VmArgsCommand implements Callable<Integer> {
    @Mixin
    DeviceCommand.Where where = new DeviceCommand.Where();

    @Parameters(index = "0", paramLabel = "VM", description = "the VM (and Ferry guest) name")
    String vm;

    PrintStream out = System.out;

    @Override
    public Integer call() throws IOException {
        DeviceCommand.checked(() -> Assignments.vmName(vm));
        List<String> functions = VmArgs.functions(Assignments.load(where.state()), vm);
        HostConfig cfg = where.config();
        HostConfig.GuestConfig guest = cfg == null ? null : cfg.guest(vm);
        VmArgs.Region region = null;
        String note = null;
        if (guest != null && guest.region() == HostConfig.RegionKind.IVSHMEM) {
            region = new VmArgs.Region(true, FerryHost.ivshmemPath(cfg.regionDir(), vm), guest.regionSize());
        } else if (guest != null && guest.region() == HostConfig.RegionKind.FILE) {
            region = new VmArgs.Region(false, FerryHost.regionPath(cfg.regionDir(), vm), guest.regionSize());
        } else if (guest != null) {
            note = "guest '" + vm + "' has region: memfd (for process guests); give it region: ivshmem for a VM "
                    + "(docs/vm.md)";
        } else {
            note = "the host's config " + (cfg == null ? "(none found; give -c FILE)" : "") + " has no guest '" + vm
                    + "': no remoted devices (ferry guest add " + vm + " adds one)";
        }
        if (functions.isEmpty() && region == null) {
            System.err.println("ferry vm-args: VM '" + vm + "' has no assigned device (ferry device assign BDF --to "
                    + vm + ") and " + note);
            return 1;
        }
        List<String> args = VmArgs.qemu(functions, region);
        out.println("# QEMU (" + functions.size() + " assigned function(s)" + (region == null ? "" : ", Ferry region")
                + ")");
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < args.size(); i += 2) {
            line.append(i == 0 ? "" : " \\\n").append(args.get(i)).append(' ').append(args.get(i + 1));
        }
        out.println(line);
        out.println();
        out.println("# libvirt: inside the domain's <devices>");
        out.print(VmArgs.libvirt(functions, vm, region));
        if (note != null) {
            out.println();
            out.println("# note: " + note);
        }
        return 0;
    }
}
