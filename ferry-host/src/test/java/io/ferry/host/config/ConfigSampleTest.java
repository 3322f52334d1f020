package io.ferry.host.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * README.md's config sample shows every key with its default: it parses to the defaults of {@link HostConfig}, and
 * names every key the parser knows. A default changed in code, or a key added, fails here until the sample follows.
 */
class ConfigSampleTest {
    private static final Path README = Path.of("..", "README.md");

    static String sample() throws Exception {
        String readme = Files.readString(README);
        int begin = readme.indexOf("<!-- config-sample begin -->");
        int end = readme.indexOf("<!-- config-sample end -->");
        assertTrue(begin >= 0 && end > begin, "README.md lost its <!-- config-sample begin/end --> markers");
        String block = readme.substring(begin, end);
        return block.substring(block.indexOf("```yaml\n") + "```yaml\n".length(), block.lastIndexOf("```"));
    }

    @Test
    void theSampleIsTheDefaults() throws Exception {
        // The sample's secret is "...": a guest without one gets a fresh secret per start, as parse reads it.
        String yaml = sample().replaceAll("(?m)^(\\s*)secret: .*$", "");
        HostConfig parsed = HostConfig.parse(yaml, "README.md's config sample");
        HostConfig defaults = new HostConfig(HostConfig.DEFAULT_REGION_DIR, false, List.of(),
                List.of(new HostConfig.GuestConfig("alice", HostConfig.DEFAULT_REGION_SIZE)));
        assertEquals(defaults.toYaml(), parsed.toYaml());
        assertEquals(HostConfig.defaultAdminSocket(HostConfig.DEFAULT_REGION_DIR), parsed.adminSocket());
        assertEquals(HostConfig.DEFAULT_GUEST_SOCKET, parsed.guestSocket());
    }

    @Test
    void theSampleNamesEveryKeyTheParserKnows() throws Exception {
        String text = sample();
        List<String> missing = new ArrayList<>();
        for (String key : concat(ConfigYaml.KEYS, ConfigYaml.GUEST_KEYS)) {
            if (!Pattern.compile("(?m)^[\\s#-]*" + key + ":").matcher(text).find()) {
                missing.add(key);
            }
        }
        assertEquals(List.of(), missing, "README.md's config sample lacks these keys");
    }

    @Test
    void whatGuestAddWritesNamesEveryKeyButTheOptionalOnes() {
        String yaml = new HostConfig(HostConfig.DEFAULT_REGION_DIR, false, List.of(),
                List.of(new HostConfig.GuestConfig("alice", HostConfig.DEFAULT_REGION_SIZE))).toYaml();
        for (String key : concat(ConfigYaml.KEYS, ConfigYaml.GUEST_KEYS)) {
            boolean optional = key.equals("tee") || key.equals("metrics") || key.equals("reservation")
                    || NetConfig.KEYS.contains(key) || key.equals("secret");
            assertEquals(!optional, Pattern.compile("(?m)^[\\s-]*" + key + ":").matcher(yaml).find(), key + " in\n" + yaml);
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
