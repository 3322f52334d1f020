import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordingFile;

/**
 * Reads JFR method traces (jdk.MethodTrace) and prints, for the calls under a root method, each source file whose
 * methods ran on every call (a method of it ran as many times as there were calls): how many method calls per call,
 * and which; then the files that ran during the calls but fewer times (at least once per hundred calls). A file is a top-level class
 * (nested classes count with theirs). Usage: CallPathFiles ROOT CALLS FILE_OR_DIRECTORY...
 * ROOT: a method ("io.ferry.client.CommandQueue.write") or a class's prefix ("io.ferry.host.compute.InWorker.");
 * an event counts when its method or a frame of its stack starts with ROOT.
 */
public class CallPathFiles {
    public static void main(String[] args) throws Exception {
        int a = 0;
        if (args[0].equals("--during")) {
            window(Path.of(args[1]), args[2], args[3]);
            a = 4;
        }
        String root = args[a];
        long calls = Long.parseLong(args[a + 1]);
        Map<String, Map<String, Long>> files = new TreeMap<>();
        for (int i = a + 2; i < args.length; i++) {
            for (Path p : recordings(Path.of(args[i]))) {
                read(p, root, files);
            }
        }
        List<String> out = new ArrayList<>();
        List<String> less = new ArrayList<>();
        files.forEach((file, methods) -> {
            long n = methods.values().stream().mapToLong(Long::longValue).sum();
            long most = methods.values().stream().mapToLong(Long::longValue).max().orElse(0);
            String name = file.replace("io.ferry.", "");
            if (most >= calls * 99 / 100) { // a method of it ran on every call
                StringBuilder m = new StringBuilder();
                methods.forEach((method, c) -> {
                    if (c >= calls * 99 / 100) {
                        m.append(m.isEmpty() ? "" : ", ").append(method).append(c >= 2 * calls ? " ×" + c / calls : "");
                    }
                });
                out.add(String.format("| `%s` | %.1f | %s |", name, (double) n / calls, m));
            } else if (most >= Math.max(2, calls / 100)) {
                // with the calls, not on each: a batch read, the wait for the next call, timers
                less.add(String.format("`%s` (%.2f)", name, (double) n / calls));
            }
        });
        System.out.println("| file | method calls per call | methods run on every call (×: times per call) |");
        System.out.println("|---|---:|---|");
        out.forEach(System.out::println);
        System.out.println();
        System.out.println(out.size() + " files ran on every call. Ran during the calls, fewer times than calls (method"
                + " calls per call; a batch read of the ring, the wait for the next call, timers): "
                + (less.isEmpty() ? "none" : String.join(", ", less)) + ".");
    }

    static java.time.Instant from = java.time.Instant.MIN;
    static java.time.Instant to = java.time.Instant.MAX;

    static void window(Path guest, String first, String last) throws Exception {
        java.time.Instant f = java.time.Instant.MAX;
        java.time.Instant l = java.time.Instant.MIN;
        for (RecordedEvent e : RecordingFile.readAllEvents(guest)) {
            if (e.getEventType().getName().equals("jdk.MethodTrace")) {
                String m = name(e.getValue("method"));
                if (m.equals(first) && e.getStartTime().isBefore(f)) {
                    f = e.getStartTime();
                }
                if (m.equals(last) && e.getEndTime().isAfter(l)) {
                    l = e.getEndTime();
                }
            }
        }
        from = f;
        to = l;
    }

    static List<Path> recordings(Path p) throws Exception {
        if (!Files.isDirectory(p)) {
            return List.of(p);
        }
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(f -> f.toString().endsWith(".jfr")).sorted().toList();
        }
    }

    static void read(Path p, String root, Map<String, Map<String, Long>> files) {
        try (RecordingFile r = new RecordingFile(p)) {
            while (r.hasMoreEvents()) {
                RecordedEvent e = r.readEvent();
                if (!e.getEventType().getName().equals("jdk.MethodTrace")) {
                    continue;
                }
                if (e.getStartTime().isBefore(from) || e.getStartTime().isAfter(to)) {
                    continue;
                }
                RecordedMethod m = e.getValue("method");
                boolean under = name(m).startsWith(root);
                if (!under && e.getStackTrace() != null) {
                    for (RecordedFrame f : e.getStackTrace().getFrames()) {
                        if (name(f.getMethod()).startsWith(root)) {
                            under = true;
                            break;
                        }
                    }
                }
                if (under) {
                    String type = m.getType().getName();
                    String file = type.contains("$") ? type.substring(0, type.indexOf('$')) : type;
                    String method = type.substring(file.length()).replace('$', '.') + "." + m.getName();
                    files.computeIfAbsent(file, k -> new TreeMap<>()).merge(method.substring(1), 1L, Long::sum);
                }
            }
        } catch (Exception e) { // the chunk a killed JVM was writing: unreadable, and after the calls anyway
            System.err.println("call-path: skipped " + p + " (" + e.getMessage() + ")");
        }
    }

    static String name(RecordedMethod m) {
        return m.getType().getName() + "." + m.getName();
    }
}
