package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ferry.channel.Region;
import io.ferry.client.Ferry;
import io.ferry.protocol.Op;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * README.md's guest program, as a user takes it: its {@code pom.xml} and {@code Hello.java} (between the
 * {@code guest-pom} and {@code guest-hello} markers) are built by Maven with the README's command, against
 * io.ferry:ferry-client as {@code ./ferry install} would put it in a local repository, and run with the README's
 * {@code java} line against a real host.
 *
 * <p>The io.ferry artifacts go into a local repository of this test's own, never into the shared {@code ~/.m2}:
 * every other entry of {@code ~/.m2/repository} is linked into it, so Maven finds its plugins offline.
 */
class GuestProgramIT {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path M2 = Path.of(System.getProperty("user.home"), ".m2", "repository");

    @Test
    void theReadmesGuestProgramBuildsAndRunsAgainstARealHost() throws Exception {
        Path mvn = onPath("mvn");
        assumeTrue(mvn != null, "mvn is not on the PATH: cannot build README.md's guest program");
        String readme = Files.readString(ROOT.resolve("README.md"));
        String pom = block(readme, "guest-pom", "xml");
        String hello = block(readme, "guest-hello", "java");
        List<String> run = block(readme, "guest-run", "sh").lines().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("export ")).toList();
        assertEquals(2, run.size(), "README.md's guest-run block: the mvn line and the java line, besides export");
        Path work = Files.createTempDirectory("ferry-guest-program");
        try (TestHost host = TestHost.start("alice")) {
            Path repo = localRepository(work.resolve("m2"));
            Path project = work.resolve("hello");
            Matcher pkg = Pattern.compile("(?m)^package ([\\w.]+);").matcher(hello);
            assertTrue(pkg.find(), "Hello.java has a package");
            Path source = project.resolve("src/main/java").resolve(pkg.group(1).replace('.', '/')).resolve("Hello.java");
            Files.createDirectories(source.getParent());
            Files.writeString(project.resolve("pom.xml"), pom);
            Files.writeString(source, hello);

            List<String> build = new ArrayList<>(words(run.get(0)));
            assertEquals("mvn", build.getFirst(), run.get(0));
            build.set(0, mvn.toString());
            build.addAll(1, List.of("-B", "-Dmaven.repo.local=" + repo));
            List<String> offline = new ArrayList<>(build);
            offline.add(1, "-o");
            // Maven's own JVM starts faster with C1 only: the build is short, and the whole test should be too.
            Map<String, String> quick = Map.of("MAVEN_OPTS", "-XX:TieredStopAtLevel=1");
            Map.Entry<Integer, String> built = exec(offline, project, quick);
            if (built.getKey() != 0 && built.getValue().contains("offline")) {
                built = exec(build, project, quick); // a plugin not in ~/.m2 yet: let Maven fetch it
            }
            assertEquals(0, built.getKey(), "README.md's guest program does not build:\n" + built.getValue());

            List<String> java = new ArrayList<>(words(run.get(1)));
            assertEquals("java", java.getFirst(), run.get(1));
            java.set(0, Path.of(System.getProperty("java.home"), "bin", "java").toString());
            java.replaceAll(w -> w.equals("target/classes:target/lib/*") ? classPath(project) : w);
            Map.Entry<Integer, String> ran = exec(java, project, Map.of(
                    "FERRY_HOST", "unix:" + host.host.guestSocket(),
                    "FERRY_SECRET", Base64.getEncoder().encodeToString(host.host.secret("alice"))));
            assertEquals(0, ran.getKey(), ran.getValue());
            assertTrue(ran.getValue().contains("hello: 1024 floats doubled on ") && ran.getValue().contains("as guest alice"),
                    ran.getValue());
        } finally {
            deleteTree(work);
        }
    }

    /** The fenced block of {@code lang} between {@code <!-- NAME begin -->} and {@code <!-- NAME end -->}. */
    private static String block(String readme, String name, String lang) {
        int begin = readme.indexOf("<!-- " + name + " begin -->");
        int end = readme.indexOf("<!-- " + name + " end -->");
        assertTrue(begin >= 0 && end > begin, "README.md lost its <!-- " + name + " begin/end --> markers");
        String b = readme.substring(begin, end);
        int open = b.indexOf("```" + lang + "\n");
        assertTrue(open >= 0, "README.md's " + name + " block has no ```" + lang + " fence");
        return b.substring(open + lang.length() + 4, b.lastIndexOf("```"));
    }

    /** A shell line's words: split at blanks, single quotes kept together and removed. */
    private static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("'([^']*)'|(\\S+)").matcher(line);
        while (m.find()) {
            out.add(m.group(1) != null ? m.group(1) : m.group(2));
        }
        return out;
    }

    /** What the shell makes of {@code target/classes:target/lib/*}: Java expands a class path's {@code dir/*}. */
    private static String classPath(Path project) {
        return project.resolve("target/classes") + File.pathSeparator + project.resolve("target/lib") + "/*";
    }

    /**
     * A local repository of this test's own: every entry of ~/.m2/repository linked in (io/ entry by entry), and
     * io/ferry holding ferry-parent, ferry-protocol, ferry-channel and ferry-client as {@code ./ferry install}
     * leaves them: the modules' pom.xml and their classes (this build's, as the test runs them) as jars.
     */
    private static Path localRepository(Path repo) throws IOException {
        Files.createDirectories(repo.resolve("io"));
        if (Files.isDirectory(M2)) {
            try (Stream<Path> top = Files.list(M2)) {
                for (Path p : top.toList()) {
                    if (!p.getFileName().toString().equals("io")) {
                        Files.createSymbolicLink(repo.resolve(p.getFileName().toString()), p);
                    }
                }
            }
            if (Files.isDirectory(M2.resolve("io"))) {
                try (Stream<Path> io = Files.list(M2.resolve("io"))) {
                    for (Path p : io.toList()) {
                        if (!p.getFileName().toString().equals("ferry")) {
                            Files.createSymbolicLink(repo.resolve("io").resolve(p.getFileName().toString()), p);
                        }
                    }
                }
            }
        }
        String version = version(Files.readString(ROOT.resolve("pom.xml")));
        install(repo, "ferry-parent", version, ROOT.resolve("pom.xml"), null);
        install(repo, "ferry-protocol", version, ROOT.resolve("ferry-protocol/pom.xml"), Op.class);
        install(repo, "ferry-channel", version, ROOT.resolve("ferry-channel/pom.xml"), Region.class);
        install(repo, "ferry-client", version, ROOT.resolve("ferry-client/pom.xml"), Ferry.class);
        return repo;
    }

    private static String version(String parentPom) {
        Matcher m = Pattern.compile("(?m)^  <version>([^<]+)</version>").matcher(parentPom);
        assertTrue(m.find(), "the parent pom's version");
        return m.group(1);
    }

    private static void install(Path repo, String artifact, String version, Path pom, Class<?> member)
            throws IOException {
        Path dir = repo.resolve("io/ferry").resolve(artifact).resolve(version);
        Files.createDirectories(dir);
        Files.copy(pom, dir.resolve(artifact + "-" + version + ".pom"));
        if (member == null) {
            return;
        }
        Path jar = dir.resolve(artifact + "-" + version + ".jar");
        Path from;
        try {
            from = Path.of(member.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        if (Files.isRegularFile(from)) {
            Files.copy(from, jar); // the module's jar (a build that packaged it)
            return;
        }
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
             Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                j.putNextEntry(new JarEntry(from.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, j);
                j.closeEntry();
            }
        }
    }

    private static Map.Entry<Integer, String> exec(List<String> cmd, Path dir, Map<String, String> env)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("FERRY_"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return Map.entry(-1, String.join(" ", cmd) + " did not end:\n" + out);
        }
        return Map.entry(p.exitValue(), out);
    }

    private static Path onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return Path.of(d, name);
            }
        }
        return null;
    }

    /** Deletes {@code dir}; links are removed as links, never followed (the repository links into ~/.m2). */
    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
