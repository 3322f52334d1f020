package io.ferry.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** No main-code class of any module over {@link #MAX_LINES} lines: one concern per class. */
class ClassSizeTest {
    static final int MAX_LINES = 500;

    @Test
    void noMainClassIsOverTheLimit() throws IOException {
        Path root = repositoryRoot();
        List<String> over = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root, 12)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")
                    && root.relativize(p).toString().contains("/src/main/java/")).sorted().toList()) {
                long lines;
                try (Stream<String> s = Files.lines(f)) {
                    lines = s.count();
                }
                String rel = root.relativize(f).toString();
                if (lines > MAX_LINES) {
                    over.add(rel + " (" + lines + " lines)");
                }
            }
        }
        assertTrue(over.isEmpty(), "main-code classes over " + MAX_LINES + " lines: " + over
                + "; split them (one concern per class)");
    }

    /** The directory whose pom.xml lists the modules (the tests run in ferry-cli/). */
    private static Path repositoryRoot() throws IOException {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            Path pom = p.resolve("pom.xml");
            if (Files.exists(pom) && Files.readString(pom).contains("<module>ferry-host</module>")) {
                return p;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("no Ferry repository above " + Path.of("").toAbsolutePath());
    }
}
