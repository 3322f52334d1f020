package io.ferry.cli.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The C demo through Ferry's OpenCL ICD inside the guest (issue 14): what {@code ./ferry vm-demo} adds to each run's
 * second archive so that {@code tools/vm/init} can run {@code native_demo} after the Java workloads, with
 * {@code FERRY_HOST=pci:}. The files are the repository's {@code ferry-icd/build/libferry-opencl.so} and
 * {@code build/native_demo} (made with make first; a no-op when they are up to date), the loader
 * {@code libOpenCL.so.1} from this machine (Debian's ocl-icd), a vendors file {@code /etc/OpenCL/vendors/ferry.icd}
 * naming the ICD, and every shared library {@code ldd} says they need, at the same paths as here. They travel per run
 * rather than in the cached base image, so a rebuilt ICD reaches the next boot without rebuilding the image.
 */
final class GuestIcd {
    /** The result name on the guest's line ({@code vm-guest: result native_demo verified|FAILED ...}). */
    static final String DEMO = "native_demo";
    /** Where the ICD and the demo lie in the guest. */
    static final String DIR = "ferry/icd";
    static final String VENDORS_FILE = "etc/OpenCL/vendors/ferry.icd";
    /** What make builds for the guest: the library and the demo, not the ICD's tests (`all` would). */
    static final List<String> TARGETS = List.of("build/libferry-opencl.so", "build/" + DEMO);

    private static final Pattern LDD_PATH = Pattern.compile("(?:=>\\s*)?(/\\S+)\\s+\\(0x[0-9a-f]+\\)");

    /** A file of the per-run archive: {@code path} in the guest (no leading slash). */
    record GuestFile(String path, byte[] data, boolean executable) {
    }

    /**
     * What to add: {@code files} and the lines for {@code /ferry/guest.env}, or (files empty) {@code problem}: why the
     * demo cannot run, with the command that builds it.
     */
    record Plan(List<GuestFile> files, String env, String problem) {
        boolean ready() {
            return problem.isEmpty();
        }
    }

    private GuestIcd() {
    }

    /** The make command that builds what the guest needs, for messages. */
    static String makeCommand(Path repo) {
        return "make -C " + repo.resolve("ferry-icd") + " " + String.join(" ", TARGETS);
    }

    /** Builds (make) and gathers the files for {@code guest}; never throws for a missing piece, it says so instead. */
    static Plan prepare(Path repo, String guest) throws InterruptedException {
        Path icd = repo.resolve("ferry-icd");
        if (!Files.isRegularFile(icd.resolve("Makefile"))) {
            return missing("no " + icd.resolve("Makefile") + " in this checkout");
        }
        String makeCommand = makeCommand(repo);
        List<String> make = new ArrayList<>(List.of("make", "-s", "-C", icd.toString()));
        make.addAll(TARGETS);
        Result built = run(make, 300);
        Path library = icd.resolve("build/libferry-opencl.so");
        Path demo = icd.resolve("build/" + DEMO);
        if (!built.ok() || !Files.isRegularFile(library) || !Files.isExecutable(demo)) {
            return missing("the ICD or the demo is not built (run: " + makeCommand + ")"
                    + (built.ok() ? "" : ": " + lastLines(built.output(), 3)));
        }
        try {
            Map<String, GuestFile> files = new LinkedHashMap<>();
            files.put(DIR + "/libferry-opencl.so", file(DIR + "/libferry-opencl.so", library));
            files.put(DIR + "/" + DEMO, file(DIR + "/" + DEMO, demo));
            files.put(VENDORS_FILE, new GuestFile(VENDORS_FILE,
                    ("/" + DIR + "/libferry-opencl.so\n").getBytes(StandardCharsets.UTF_8), false));
            Set<Path> libs = new LinkedHashSet<>();
            libs.addAll(ldd(demo));
            libs.addAll(ldd(library));
            Path loader = libs.stream().filter(p -> p.getFileName().toString().startsWith("libOpenCL.so"))
                    .findFirst().orElseGet(GuestIcd::systemLoader);
            if (loader == null) {
                return missing("no OpenCL loader libOpenCL.so.1 on this machine (apt-get install ocl-icd-libopencl1)");
            }
            libs.add(loader);
            libs.addAll(ldd(loader));
            for (Path lib : libs) {
                String at = lib.toString().substring(1);
                files.putIfAbsent(at, file(at, lib));
            }
            // native_demo's argument picks the platform by name: Ferry's (the guest has no other)
            String env = "NATIVE_DEMO=/" + DIR + "/" + DEMO + "\nNATIVE_GUEST=" + guest + "\nNATIVE_ARGS=Ferry\n";
            return new Plan(List.copyOf(files.values()), env, "");
        } catch (IOException e) {
            return missing("cannot gather the ICD's files: " + e.getMessage() + " (run: " + makeCommand + ")");
        }
    }

    /**
     * Writes {@code files} into {@code cpio}, each parent directory first (the kernel's unpacker creates no missing
     * directory; an entry for one that the base image already has changes nothing).
     */
    static void write(CpioWriter cpio, List<GuestFile> files) throws IOException {
        Set<String> dirs = new LinkedHashSet<>();
        for (GuestFile f : files) {
            for (int slash = f.path().indexOf('/'); slash > 0; slash = f.path().indexOf('/', slash + 1)) {
                if (dirs.add(f.path().substring(0, slash))) {
                    cpio.directory(f.path().substring(0, slash));
                }
            }
            cpio.file(f.path(), f.data(), f.executable());
        }
    }

    private static Plan missing(String why) {
        return new Plan(List.of(), "", why);
    }

    private static GuestFile file(String at, Path source) throws IOException {
        return new GuestFile(at, Files.readAllBytes(source), Files.isExecutable(source));
    }

    /** Debian's loader where ldd did not name it (a demo that loads it at run time). */
    private static Path systemLoader() {
        for (String p : List.of("/usr/lib/x86_64-linux-gnu/libOpenCL.so.1", "/lib/x86_64-linux-gnu/libOpenCL.so.1",
                "/usr/lib64/libOpenCL.so.1", "/usr/lib/libOpenCL.so.1")) {
            if (Files.isRegularFile(Path.of(p))) {
                return Path.of(p);
            }
        }
        return null;
    }

    /** The shared libraries {@code elf} loads, as ldd resolves them here (the dynamic loader included). */
    static List<Path> ldd(Path elf) throws IOException {
        Result r;
        try {
            r = run(List.of("ldd", elf.toString()), 30);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running ldd " + elf);
        }
        if (!r.ok()) {
            throw new IOException("ldd " + elf + " failed: " + lastLines(r.output(), 2));
        }
        return parseLdd(r.output());
    }

    /** The paths in ldd's output ({@code libx.so => /path (0x…)} and {@code /lib64/ld-linux… (0x…)}). */
    static List<Path> parseLdd(String text) {
        List<Path> paths = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.contains("not found")) {
                continue;
            }
            Matcher m = LDD_PATH.matcher(line.strip());
            if (m.find()) {
                paths.add(Path.of(m.group(1)));
            }
        }
        return paths;
    }

    /** A command's exit status (-1: it could not run or timed out) and output. */
    private record Result(int exit, String output) {
        boolean ok() {
            return exit == 0;
        }
    }

    private static Result run(List<String> cmd, int timeoutSeconds) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, String.join(" ", cmd) + " took more than " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), out.isBlank() && p.exitValue() != 0
                    ? String.join(" ", cmd) + " exited with " + p.exitValue() : out);
        } catch (IOException e) {
            return new Result(-1, "cannot run " + cmd.getFirst() + ": " + e.getMessage());
        }
    }

    private static String lastLines(String text, int n) {
        List<String> lines = text.strip().lines().toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
}
