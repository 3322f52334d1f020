package io.ferry.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.admin.StatusJson;
import io.ferry.host.config.HostConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a reload changes: guests by name and content (the secret by its bytes), host settings named. */
class GuestChangesTest {
    private static final Path DIR = Path.of("/dev/shm/ferry-changes-test");

    private static HostConfig.GuestConfig guest(String name, byte[] secret) {
        return new HostConfig.GuestConfig(name, 16L << 20).withSecret(secret);
    }

    @Test
    void addedRemovedAndChangedGuestsAreNamedAndEqualSecretsAreNoChange() {
        byte[] s1 = HostConfig.newSecret();
        HostConfig before = new HostConfig(DIR, true, List.of(), List.of(guest("a", s1), guest("b", null),
                guest("c", null)));
        HostConfig after = new HostConfig(DIR, true, List.of(), List.of(guest("a", s1.clone()),
                guest("c", null).withLanes(2), guest("d", null)));
        GuestChanges c = GuestChanges.between(before, after);
        assertEquals(List.of("d"), c.added());
        assertEquals(List.of("b"), c.removed());
        assertEquals(List.of("c"), c.changed());
        assertEquals(List.of(), c.restartNeeded());
        assertTrue(GuestChanges.between(before, before).none());
        assertTrue(GuestChanges.between(before, new HostConfig(DIR, true, List.of(), List.of(guest("a",
                HostConfig.newSecret()), guest("b", null), guest("c", null)))).changed().contains("a"));
    }

    @Test
    void hostSettingsThatDifferAreNamedAsNeedingARestart() {
        HostConfig before = new HostConfig(DIR, true, List.of(), List.of(guest("a", null)));
        HostConfig after = before.withGuestSocket(Path.of("/dev/shm/elsewhere.sock"));
        GuestChanges c = GuestChanges.between(before, after);
        assertTrue(c.none());
        assertEquals(List.of("guestSocket"), c.restartNeeded());
        assertTrue(c.summary().contains("guestSocket"), c.summary());
    }

    @Test
    @SuppressWarnings("unchecked")
    void theReplyIsOneJsonDocument() {
        HostConfig before = new HostConfig(DIR, true, List.of(), List.of(guest("a", null)));
        HostConfig after = new HostConfig(DIR, true, List.of(), List.of(guest("b", null)));
        GuestChanges c = GuestChanges.between(before, after).applied(List.of("guest x: \"quoted\""),
                Map.of("b", "sealed memfd"));
        Map<String, Object> doc = (Map<String, Object>) StatusJson.parse(c.toJson());
        assertEquals(List.of("b"), doc.get("added"));
        assertEquals(List.of("a"), doc.get("removed"));
        assertEquals(List.of("guest x: \"quoted\""), doc.get("errors"));
        assertEquals(Map.of("b", "sealed memfd"), doc.get("regions"));
    }
}
