package io.ferry.host.vfio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code ferry vm-args} prints, checked by the real tools: QEMU's own list of each device's and object's
 * properties ({@code qemu-system-x86_64 -device vfio-pci,help}), and libvirt's schema ({@code virt-xml-validate},
 * Debian's libvirt-clients). Each check skips, saying which package to install, only when its tool is absent.
 */
class VmArgsTest {
    private static final List<String> FUNCTIONS = List.of("0000:01:00.0", "0000:01:00.1");
    private static final VmArgs.Region DOORBELL = new VmArgs.Region(true, Path.of("/dev/shm/ferry/vm1.ivshmem"), 0);
    private static final VmArgs.Region PLAIN = new VmArgs.Region(false, Path.of("/dev/shm/ferry/vm1.region"),
            64L << 20);

    @TempDir
    Path dir;

    @Test
    void argumentsAreWhatTheStateRecords() throws IOException {
        SysfsFixture fx = SysfsFixture.standard(dir.resolve("sys"));
        Path state = dir.resolve("vfio.json");
        new VfioAssigner(fx.kernel(), state).assign("0000:01:00.0", "vm1", Map.of());
        Assignments a = Assignments.load(state);
        assertEquals(FUNCTIONS, VmArgs.functions(a, "vm1"));
        assertEquals(List.of(), VmArgs.functions(a, "vm2"));
        assertEquals(List.of("-device", "vfio-pci,host=0000:01:00.0", "-device", "vfio-pci,host=0000:01:00.1",
                "-chardev", "socket,path=/dev/shm/ferry/vm1.ivshmem,id=ferry",
                "-device", "ivshmem-doorbell,chardev=ferry,vectors=1"), VmArgs.qemu(FUNCTIONS, DOORBELL));
        String xml = VmArgs.libvirt(FUNCTIONS, "vm1", DOORBELL);
        assertTrue(xml.contains("<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>"), xml);
        assertTrue(xml.contains("managed='no'"), xml);
    }

    @Test
    void qemuKnowsEveryPropertyWeName() throws Exception {
        Assumptions.assumeTrue(onPath("qemu-system-x86_64"), "qemu-system-x86_64 is not installed (Debian: "
                + "apt-get install -y --no-install-recommends qemu-system-x86); QEMU's validation is skipped");
        List<String> args = new ArrayList<>(VmArgs.qemu(FUNCTIONS, DOORBELL));
        args.addAll(VmArgs.qemu(List.of(), PLAIN));
        int checked = 0;
        for (int i = 0; i < args.size(); i += 2) {
            String option = args.get(i);
            String[] parts = args.get(i + 1).split(",");
            if (option.equals("-chardev")) {
                assertTrue(run("qemu-system-x86_64", "-chardev", "help").contains(parts[0]), parts[0]);
                continue;
            }
            String help = run("qemu-system-x86_64", option, parts[0] + ",help");
            for (String kv : Arrays.copyOfRange(parts, 1, parts.length)) {
                String key = kv.substring(0, kv.indexOf('='));
                if (key.equals("id") && option.equals("-object")) {
                    continue; // every object's identifier, not a property of its type
                }
                assertTrue(help.contains("\n  " + key + "="), "QEMU's " + option + " " + parts[0] + " has no "
                        + "property '" + key + "':\n" + help);
                checked++;
            }
            assertTrue(!help.contains("\n  hostx="), "the check would catch a wrong name");
        }
        assertEquals(8, checked); // host twice, chardev, vectors, share, mem-path, size, memdev
    }

    @Test
    void libvirtValidatesTheHostdevAndShmemXml() throws Exception {
        Assumptions.assumeTrue(onPath("virt-xml-validate") && onPath("xmllint"), "virt-xml-validate or the "
                + "xmllint it runs is not installed (Debian: apt-get install -y libvirt-clients libxml2-utils); "
                + "libvirt's validation is skipped");
        Path good = domain("good.xml", VmArgs.libvirt(FUNCTIONS, "vm1", DOORBELL));
        Process p = new ProcessBuilder("virt-xml-validate", good.toString(), "domain").redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out + "\n" + Files.readString(good));
        // and the validator is not one that accepts anything: a function number past 7 is refused
        Path bad = domain("bad.xml", VmArgs.libvirt(FUNCTIONS, "vm1", DOORBELL).replace("function='0x1'",
                "function='0x9'"));
        Process q = new ProcessBuilder("virt-xml-validate", bad.toString(), "domain").redirectErrorStream(true)
                .start();
        q.getInputStream().readAllBytes();
        assertTrue(q.waitFor(60, TimeUnit.SECONDS));
        assertNotEquals(0, q.exitValue());
    }

    private Path domain(String name, String devices) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, "<domain type='kvm'>\n<name>vm1</name>\n<memory unit='MiB'>1024</memory>\n"
                + "<os><type arch='x86_64' machine='q35'>hvm</type></os>\n<devices>\n" + devices
                + "</devices>\n</domain>\n");
        return f;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
        return "\n" + out;
    }
}
