package io.ferry.host.vfio;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The VFIO assignments Ferry made, in a small JSON state file: for each, the VM, the device asked for, its IOMMU
 * group and every member moved to vfio-pci with the driver (and {@code driver_override}) it had before, so that
 * {@code ferry device release} can restore them and the host can refuse to open an assigned device.
 *
 * <pre>
 * {"version": 1, "assignments": [{"vm": "vm1", "bdf": "0000:01:00.0", "iommu_group": "13", ("pending": true,)
 *   "members": [{"bdf": "0000:01:00.0", "driver": "nvidia", "driver_override": null}, ...]}]}
 * </pre>
 *
 * The file is {@code $FERRY_VFIO_STATE}, else {@value #DEFAULT}. It is replaced atomically (a temporary file in the
 * same directory, then a rename), and changes hold an exclusive lock on {@code FILE.lock} so two commands cannot
 * interleave.
 */
public final class Assignments {
    public static final String ENV = "FERRY_VFIO_STATE";
    public static final String DEFAULT = "/var/lib/ferry/vfio.json";
    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** One member of an assigned group and what it had before. */
    public record Member(String bdf, String driver, String driverOverride) {
    }

    /**
     * One assignment: the device asked for, its VM, and the members of its group that were moved. {@code pending}: an
     * assign that started and has not finished; recorded before the first sysfs write, so that when the command dies
     * in the middle (killed, power lost) {@code ferry device release} finds what to restore.
     */
    public record Assignment(String vm, String bdf, String iommuGroup, List<Member> members, boolean pending) {
        public Assignment {
            members = List.copyOf(members);
        }

        public Assignment(String vm, String bdf, String iommuGroup, List<Member> members) {
            this(vm, bdf, iommuGroup, members, false);
        }

        /** This assignment, finished. */
        public Assignment done() {
            return new Assignment(vm, bdf, iommuGroup, members, false);
        }

        /** Whether {@code pciAddress} is one of the moved members. */
        public boolean covers(String pciAddress) {
            return members.stream().anyMatch(m -> m.bdf().equals(pciAddress));
        }
    }

    private final Path file;
    private final List<Assignment> list;

    private Assignments(Path file, List<Assignment> list) {
        this.file = file;
        this.list = List.copyOf(list);
    }

    /** The state file named by {@code FERRY_VFIO_STATE} in {@code env}, else the default. */
    public static Path path(Map<String, String> env) {
        String p = env.get(ENV);
        return Path.of(p == null || p.isBlank() ? DEFAULT : p);
    }

    /** Checks a VM name: letters, digits, dot, dash, underscore; up to 64; no leading punctuation. */
    public static String vmName(String name) {
        if (name == null || !VM_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a VM name: use letters, digits, '.', '-', '_' "
                    + "(up to 64, starting with a letter or digit)");
        }
        return name;
    }

    /** The assignments recorded in {@code file}; none when it does not exist. */
    public static Assignments load(Path file) throws IOException {
        if (!Files.exists(file)) {
            return new Assignments(file, List.of());
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try {
            Object doc = new Load(LoadSettings.builder().build()).loadFromString(text);
            List<Assignment> out = new ArrayList<>();
            for (Object o : (List<?>) ((Map<?, ?>) doc).get("assignments")) {
                Map<?, ?> a = (Map<?, ?>) o;
                List<Member> members = new ArrayList<>();
                for (Object mo : (List<?>) a.get("members")) {
                    Map<?, ?> m = (Map<?, ?>) mo;
                    members.add(new Member(PciAddress.parse((String) m.get("bdf")), driverName(m.get("driver")),
                            driverName(m.get("driver_override"))));
                }
                out.add(new Assignment(vmName((String) a.get("vm")), PciAddress.parse((String) a.get("bdf")),
                        (String) a.get("iommu_group"), members, Boolean.TRUE.equals(a.get("pending"))));
            }
            return new Assignments(file, out);
        } catch (RuntimeException e) { // a ClassCastException, NullPointerException, YAML error: not our format
            throw new IOException("the VFIO state file " + file + " is not Ferry's (" + e.getMessage() + "); fix or "
                    + "move it (it records the drivers to restore: do not just delete it while devices are assigned)");
        }
    }

    public Path file() {
        return file;
    }

    public List<Assignment> all() {
        return list;
    }

    /** The assignment that moved {@code bdf} (any member of its group), or null. */
    public Assignment covering(String bdf) {
        return list.stream().filter(a -> a.covers(bdf)).findFirst().orElse(null);
    }

    /** The assignments of one VM. */
    public List<Assignment> ofVm(String vm) {
        return list.stream().filter(a -> a.vm().equals(vm)).toList();
    }

    /** A copy with {@code a} added. */
    public Assignments with(Assignment a) {
        List<Assignment> l = new ArrayList<>(list);
        l.add(a);
        return new Assignments(file, l);
    }

    /** A copy without {@code a}. */
    public Assignments without(Assignment a) {
        List<Assignment> l = new ArrayList<>(list);
        l.remove(a);
        return new Assignments(file, l);
    }

    /** Writes the file atomically: a temporary file beside it, flushed, then renamed over it. */
    public void save() throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".vfio-", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(toJson().getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Holds the exclusive lock on {@code FILE.lock} until closed. */
    public static AutoCloseable lock(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        FileChannel ch = FileChannel.open(dir.resolve(file.getFileName() + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.lock();
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return () -> {
            lock.release();
            ch.close();
        };
    }

    String toJson() {
        StringBuilder sb = new StringBuilder("{\"version\": 1, \"assignments\": [");
        for (int i = 0; i < list.size(); i++) {
            Assignment a = list.get(i);
            sb.append(i == 0 ? "\n  " : ",\n  ").append("{\"vm\": ").append(Json.quote(a.vm()))
                    .append(", \"bdf\": ").append(Json.quote(a.bdf()))
                    .append(", \"iommu_group\": ").append(Json.quote(a.iommuGroup()))
                    .append(a.pending() ? ", \"pending\": true" : "").append(", \"members\": [");
            for (int j = 0; j < a.members().size(); j++) {
                Member m = a.members().get(j);
                sb.append(j == 0 ? "" : ", ").append("{\"bdf\": ").append(Json.quote(m.bdf()))
                        .append(", \"driver\": ").append(Json.quote(m.driver()))
                        .append(", \"driver_override\": ").append(Json.quote(m.driverOverride())).append('}');
            }
            sb.append("]}");
        }
        return sb.append(list.isEmpty() ? "]}\n" : "\n]}\n").toString();
    }

    /**
     * A driver name from the state file: null, or one sysfs path element of the kernel's driver-name characters. The
     * name becomes a path under {@code bus/pci/drivers} that root writes to, so a tampered file cannot name another.
     */
    private static String driverName(Object v) {
        if (v == null) {
            return null;
        }
        String s = (String) v;
        if (!s.matches("[A-Za-z0-9_.:-]{1,64}") || s.equals(".") || s.equals("..")) {
            throw new IllegalArgumentException("driver name '" + s + "' is not one a kernel driver has");
        }
        return s;
    }
}
