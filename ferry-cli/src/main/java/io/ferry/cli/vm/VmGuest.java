package io.ferry.cli.vm;

import io.ferry.cli.workload.MatmulWorkload;
import io.ferry.cli.workload.ReduceWorkload;
import io.ferry.cli.workload.VaddWorkload;
import io.ferry.cli.workload.Workload;
import io.ferry.cli.workload.WorkloadResult;
import io.ferry.cli.workload.Workloads;
import io.ferry.client.Device;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.PciRegions;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The program a VM guest runs (from {@code tools/vm/init}): finds its Ferry region among the ivshmem PCI devices,
 * connects through BAR2, runs workloads through the host and prints one line per event on stdout, which init
 * sends to the serial console where {@code ./ferry vm-demo} reads it:
 *
 * <pre>
 * vm-guest: region 0000:00:03.0 (Ferry region of guest 'vm1', 64 MiB) at /sys/bus/pci/devices/0000:00:03.0/resource2
 * vm-guest: connected as vm1 in 41 ms; device: cpu-... [opencl]
 * vm-guest: result vadd verified 1M floats 12.30 ms (build 300.0 ms) max rel. error 0.00e+00
 * vm-guest: result matmul FAILED 256×256×256 ... : what went wrong
 * vm-guest: done 1 verified, 1 failed in 2.31 s
 * </pre>
 *
 * Arguments: {@code [--pci ADDRESS|GUEST] [--workloads vadd,matmul] [--small] [--probe] [--bench CALLS]}.
 * {@code --bench} times null calls and launch+finish with doorbell interrupts and with timed naps
 * ({@link VmWaitBench}). {@code --small} runs
 * smaller problems (the guest's Java side fills and checks the arrays, which is slow under full emulation);
 * {@code --probe} first times loads from BAR2 against loads from ordinary memory ({@link BarProbe}). Exit status: 0 when every run verified, 1 when any failed, 2 when the region or host could not be reached.
 */
public final class VmGuest {
    /** Prefix of every line this program prints; the host side parses these. */
    public static final String PREFIX = "vm-guest: ";

    private VmGuest() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        int code;
        try {
            code = run(args, out);
        } catch (IllegalArgumentException e) {
            out.println(PREFIX + "error: " + e.getMessage());
            code = 2;
        }
        out.flush();
        System.exit(code);
    }

    static int run(String[] args, PrintStream out) {
        String pci = null;
        List<String> names = List.of("vadd", "matmul");
        boolean small = false;
        boolean probe = false;
        int bench = 0;
        boolean restart = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pci" -> pci = value(args, ++i, "--pci");
                case "--workloads" -> names = List.of(value(args, ++i, "--workloads").split(","));
                case "--small" -> small = true;
                case "--probe" -> probe = true;
                case "--bench" -> bench = Integer.parseInt(value(args, ++i, "--bench"));
                case "--restart" -> restart = true;
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; usage: VmGuest [--pci ADDRESS|GUEST] [--workloads vadd,matmul] [--small] [--probe]"
                        + " [--bench CALLS] [--restart]");
            }
        }
        List<Workload> workloads = new ArrayList<>();
        for (String n : names) {
            workloads.add(workload(n.trim(), small));
        }
        long start = System.nanoTime();
        Path resource;
        try {
            resource = PciRegions.resolve(pci);
            for (PciRegions.PciRegion r : PciRegions.find()) {
                if (r.resource().equals(resource)) {
                    out.println(PREFIX + "region " + r + " at " + resource);
                }
            }
        } catch (FerryException e) {
            out.println(PREFIX + "error: no region: " + e.getMessage());
            out.println(PREFIX + "done 0 verified, " + workloads.size() + " failed");
            return 2;
        }
        if (probe) {
            out.println(PREFIX + BarProbe.measure(resource));
        }
        Ferry ferry;
        try {
            // connectPci: the doorbell's MSI-X interrupts through VFIO when the VM has them, else timed naps
            ferry = Ferry.connectPci(resource.getParent().getFileName().toString());
        } catch (FerryException e) {
            out.println(PREFIX + "error: cannot connect through " + resource + ": " + e.getMessage());
            out.println(PREFIX + "done 0 verified, " + workloads.size() + " failed");
            return 2;
        }
        int verified = 0;
        int failed = 0;
        Ferry[] current = {ferry};
        try {
            Device device = ferry.defaultDevice();
            out.printf(Locale.ROOT, "%sconnected as %s in %.0f ms; device: %s [%s]%n", PREFIX, ferry.guest(),
                    (System.nanoTime() - start) / 1e6, device.name(), device.backend());
            out.println(PREFIX + "wait: " + ferry.vmInterrupts().description());
            for (Workload w : workloads) {
                WorkloadResult r = runOne(ferry, device, w);
                out.println(resultLine(r));
                if (r.verified()) {
                    verified++;
                } else {
                    failed++;
                }
            }
            if (restart) {
                // The host restarts under this VM: the same workloads again on the same BAR, no reboot
                ferry = VmRestart.await(ferry, out);
                current[0] = ferry;
                for (Workload w : workloads) {
                    WorkloadResult r = runOne(ferry, device(ferry), w);
                    out.println(resultLine(r).replaceFirst("result " + java.util.regex.Pattern.quote(r.workload()),
                            "result " + r.workload() + "-after-restart"));
                    if (r.verified()) {
                        verified++;
                    } else {
                        failed++;
                    }
                }
            }
            if (bench > 0) {
                for (VmWaitBench.Figures f : VmWaitBench.run(ferry, device, bench)) {
                    out.println(PREFIX + f.line());
                }
            }
            out.println(PREFIX + "interrupts: " + ferry.vmInterrupts().interruptsReceived() + " received, "
                    + ferry.vmInterrupts().doorbellsRung() + " doorbells rung to the host");
        } catch (FerryException e) {
            out.println(PREFIX + "error: " + e.getMessage());
            failed = Math.max(1, workloads.size() * (restart ? 2 : 1) - verified);
        } finally {
            current[0].close();
        }
        out.printf(Locale.ROOT, "%sdone %d verified, %d failed in %.2f s%n", PREFIX, verified, failed,
                (System.nanoTime() - start) / 1e9);
        return failed == 0 ? 0 : 1;
    }

    /** {@code vm-guest: result NAME verified|FAILED SIZE ...}: the line {@link SerialLog} counts. */
    static String resultLine(WorkloadResult r) {
        return String.format(Locale.ROOT, "%sresult %s %s %s %.2f ms (build %.1f ms) max rel. error %.2e%s", PREFIX,
                r.workload(), r.verified() ? "verified" : "FAILED", r.size(), r.millis(), r.buildMillis(),
                r.maxRelativeError(), r.verified() ? "" : ": " + r.detail());
    }

    /** The workload called {@code name}; {@code small} picks sizes that keep an emulated guest quick. */
    static Workload workload(String name, boolean small) {
        if (!small) {
            return Workloads.byName(name);
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "vadd" -> new VaddWorkload(1 << 16);
            case "matmul" -> new MatmulWorkload(64, 64, 64);
            case "reduce" -> new ReduceWorkload(1 << 16);
            default -> Workloads.byName(name);
        };
    }

    private static Device device(Ferry ferry) {
        return ferry.defaultDevice();
    }

    private static WorkloadResult runOne(Ferry ferry, Device device, Workload w) {
        try {
            return w.run(ferry, device);
        } catch (RuntimeException e) {
            return WorkloadResult.failed(w.name(), w.size(), device.name(), Double.NaN, Double.NaN,
                    "internal error: " + e);
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
