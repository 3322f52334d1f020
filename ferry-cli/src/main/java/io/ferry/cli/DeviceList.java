package io.ferry.cli;

import io.ferry.host.vfio.Assignments;
import io.ferry.host.vfio.Json;
import io.ferry.host.vfio.PciFunction;
import io.ferry.host.vfio.PciScan;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** What {@code ferry device list} prints: a table, or JSON ({@code --json}, documented in docs/vfio.md). */
final class DeviceList {
    private DeviceList() {
    }

    static String json(PciScan scan, Assignments state, Map<String, List<String>> served, List<PciFunction> acc,
                       List<List<PciFunction>> groups) throws IOException {
        StringBuilder sb = new StringBuilder("{\"iommu\": ").append(scan.iommuOn())
                .append(", \"vfio_pci_loaded\": ").append(scan.vfioLoaded())
                .append(", \"state_file\": ").append(Json.quote(state.file().toString()))
                .append(",\n \"devices\": [");
        for (int i = 0; i < acc.size(); i++) {
            PciFunction f = acc.get(i);
            Assignments.Assignment a = state.covering(f.bdf());
            sb.append(i == 0 ? "\n  " : ",\n  ").append("{\"bdf\": ").append(Json.quote(f.bdf()))
                    .append(", \"class\": ").append(Json.quote(f.kind()))
                    .append(", \"class_code\": ").append(Json.quote(String.format("0x%06x", f.classCode())))
                    .append(", \"vendor\": ").append(Json.quote(f.vendor()))
                    .append(", \"device\": ").append(Json.quote(f.device()))
                    .append(", \"driver\": ").append(Json.quote(f.driver()))
                    .append(", \"numa_node\": ").append(f.numaNode())
                    .append(", \"iommu_group\": ").append(Json.quote(f.iommuGroup()))
                    .append(", \"group_members\": [");
            List<PciFunction> others = groups.get(i).stream().filter(m -> !m.bdf().equals(f.bdf())).toList();
            for (int j = 0; j < others.size(); j++) {
                PciFunction m = others.get(j);
                sb.append(j == 0 ? "" : ", ").append("{\"bdf\": ").append(Json.quote(m.bdf()))
                        .append(", \"class\": ").append(Json.quote(m.kind()))
                        .append(", \"driver\": ").append(Json.quote(m.driver())).append('}');
            }
            List<String> guests = served.get(f.bdf());
            sb.append("], \"ferry_serves\": ").append(guests != null).append(", \"ferry_guests\": [");
            if (guests != null) {
                sb.append(String.join(", ", guests.stream().map(Json::quote).toList()));
            }
            sb.append("], \"assigned_to\": ").append(Json.quote(a == null ? null : a.vm()))
                    .append(", \"assignment_pending\": ").append(a != null && a.pending()).append('}');
        }
        return sb.append(acc.isEmpty() ? "]}\n" : "\n]}\n").toString();
    }

    static String table(PciScan scan, Assignments state, Map<String, List<String>> served, List<PciFunction> acc,
                        List<List<PciFunction>> groups) throws IOException {
        StringBuilder sb = new StringBuilder();
        if (!scan.iommuOn()) {
            sb.append("IOMMU: off (no groups under ").append(scan.sysfs().root().resolve("kernel/iommu_groups"))
                    .append("): devices can be shared by Ferry but not assigned; docs/vfio.md\n");
        } else if (!scan.vfioLoaded()) {
            sb.append("vfio-pci: not loaded (modprobe vfio-pci before assigning)\n");
        }
        if (acc.isEmpty()) {
            return sb.append("no accelerator (display, processing accelerator, coprocessor) under ")
                    .append(scan.sysfs().root().resolve("bus/pci/devices")).append('\n').toString();
        }
        String fmt = "%-13s %-22s %-10s %-14s %-5s %-6s %-22s %s%n";
        sb.append(String.format(fmt, "address", "class", "id", "driver", "numa", "group", "ferry serves",
                "assigned to"));
        for (int i = 0; i < acc.size(); i++) {
            PciFunction f = acc.get(i);
            Assignments.Assignment a = state.covering(f.bdf());
            List<String> guests = served.get(f.bdf());
            sb.append(String.format(fmt, f.bdf(), f.kind(), hex4(f.vendor()) + ":" + hex4(f.device()),
                    f.driver() == null ? "-" : f.driver(), f.numaNode() < 0 ? "-" : f.numaNode(),
                    f.iommuGroup() == null ? "-" : f.iommuGroup(), guests == null ? "no" : guests.isEmpty()
                            ? "yes" : "yes: " + String.join(", ", guests), a == null ? "-" : "VM " + a.vm()
                            + (a.pending() ? " (unfinished: ferry device release " + a.bdf() + ")" : "")));
            for (PciFunction m : groups.get(i)) {
                if (!m.bdf().equals(f.bdf())) {
                    sb.append(String.format("  group member %s (%s, %s)%n", m.bdf(), m.kind(),
                            m.driver() == null ? "unbound" : m.driver()));
                }
            }
        }
        return sb.toString();
    }

    private static String hex4(String id) {
        return id == null ? "?" : id.startsWith("0x") ? id.substring(2) : id;
    }
}
