package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * On a JVM older than 25, ferry.jar says in one line that it needs Java 25, instead of an
 * UnsupportedClassVersionError: its Main-Class ({@link Launcher}) is compiled for Java 8.
 */
class LauncherTest {
    /** The JVM a machine runs by default; Java 17 on the Debian test VMs. */
    private static final Path SYSTEM_JAVA = Path.of("/usr/bin/java");

    @Test
    void theLineNamesTheJavaItFoundAndTheFix() {
        assertEquals("ferry needs Java 25 or newer; this is Java 17 (17.0.15 at /usr/lib/jvm/java-17). Set JAVA_HOME "
                + "to a JDK 25 or use ./ferry", Launcher.problem("17", "17.0.15", "/usr/lib/jvm/java-17"));
        assertTrue(Launcher.problem("1.8", "1.8.0_402", "/x").contains("this is Java 8 (1.8.0_402 at /x)"));
        assertNull(Launcher.problem("25", "25.0.3", "/x"));
        assertNull(Launcher.problem("26", "26-ea", "/x"));
        assertEquals(0, Launcher.feature("weird"));
    }

    @Test
    void theLauncherClassLoadsOnJava8() throws Exception {
        try (InputStream in = LauncherTest.class.getResourceAsStream("/io/ferry/cli/Launcher.class");
             DataInputStream d = new DataInputStream(in)) {
            assertEquals(0xCAFEBABE, d.readInt());
            d.readUnsignedShort();
            assertEquals(52, d.readUnsignedShort(), "class file major version: 52 is Java 8");
        }
    }

    @Test
    void theJarsMainClassIsTheLauncher() throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));
        assertTrue(pom.contains("<mainClass>" + Launcher.class.getName() + "</mainClass>"),
                "ferry-cli's shade configuration must name " + Launcher.class.getName() + " as the Main-Class");
        Path jar = Path.of("target", "ferry.jar");
        if (Files.exists(jar)) {
            try (JarFile j = new JarFile(jar.toFile())) {
                // A jar from before the launcher (a stale build) says nothing about this one.
                if (j.getEntry("io/ferry/cli/Launcher.class") != null) {
                    assertEquals(Launcher.class.getName(), j.getManifest().getMainAttributes().getValue("Main-Class"));
                }
            }
        }
    }

    /**
     * ferry.jar (the daemon's and the CLI's) leaves out the benchmarks and the test tooling (raw wire-format guests,
     * fuzzers), which ferry-bench.jar carries: the shade configuration says so, and a built jar agrees.
     */
    @Test
    void theDaemonsJarLeavesOutTheBenchmarksAndTheTestTooling() throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));
        for (String artifact : List.of("io.ferry:ferry-bench", "io.ferry:ferry-testkit", "com.code-intelligence:*")) {
            assertTrue(pom.contains("<exclude>" + artifact + "</exclude>"), "ferry.jar must leave out " + artifact);
        }
        assertTrue(pom.contains("<outputFile>${project.build.directory}/ferry-bench.jar</outputFile>"), "ferry-bench.jar");
        Path jar = Path.of("target", "ferry.jar");
        if (Files.exists(jar)) {
            try (JarFile j = new JarFile(jar.toFile())) {
                if (j.getEntry("io/ferry/cli/Launcher.class") != null) { // a stale jar says nothing about this one
                    List<String> leaked = j.stream().map(java.util.zip.ZipEntry::getName)
                            .filter(n -> n.startsWith("io/ferry/testkit/") || n.startsWith("io/ferry/bench/")
                                    || n.startsWith("com/code_intelligence/"))
                            .limit(5).toList();
                    assertTrue(leaked.isEmpty(), "ferry.jar carries " + leaked);
                }
            }
        }
    }

    @Test
    void anOlderJavaGetsOneLineAndExitStatus1() throws Exception {
        assumeTrue(Files.isExecutable(SYSTEM_JAVA), "no " + SYSTEM_JAVA);
        String version = run(List.of(SYSTEM_JAVA.toString(), "-XshowSettings:properties", "-version"));
        int feature = version.lines().filter(l -> l.strip().startsWith("java.specification.version = "))
                .map(l -> Launcher.feature(l.substring(l.indexOf('=') + 1).strip())).findFirst().orElse(0);
        assumeTrue(feature > 0 && feature < Launcher.REQUIRED, SYSTEM_JAVA + " is Java " + feature + ", not older "
                + "than " + Launcher.REQUIRED);
        Path classes = Path.of(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<List<String>> runs = new ArrayList<>();
        runs.add(List.of(SYSTEM_JAVA.toString(), "-cp", classes.toString(), Launcher.class.getName(), "help"));
        Path jar = Path.of("target", "ferry.jar");
        if (Files.exists(jar)) {
            try (JarFile j = new JarFile(jar.toFile())) {
                if (j.getEntry("io/ferry/cli/Launcher.class") != null) {
                    runs.add(List.of(SYSTEM_JAVA.toString(), "-jar", jar.toString(), "help"));
                }
            }
        }
        for (List<String> cmd : runs) {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.startsWith("Picked up ")) // JAVA_TOOL_OPTIONS, where set: the JVM's, not ours
                    .collect(java.util.stream.Collectors.joining("\n"));
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " did not end");
            assertEquals(1, p.exitValue(), out);
            assertEquals(1, out.lines().count(), "one line: " + out);
            assertTrue(out.startsWith("ferry needs Java 25 or newer; this is Java " + feature + " ("), out);
            assertTrue(out.strip().endsWith("Set JAVA_HOME to a JDK 25 or use ./ferry"), out);
        }
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }
}
