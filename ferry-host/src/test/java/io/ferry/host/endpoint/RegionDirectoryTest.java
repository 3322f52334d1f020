package io.ferry.host.endpoint;

import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Item 6: the region directory is trusted only when it is the host's own (owner, 0700, no link). */
class RegionDirectoryTest {
    private Path root;

    @BeforeEach
    void makeRoot() throws IOException {
        root = Files.createTempDirectory(Path.of("/dev/shm"), "ferry-dir-");
    }

    @AfterEach
    void removeRoot() throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private FerryHost start(Path regionDir) throws IOException {
        return FerryHost.start(new HostConfig(regionDir, true, List.of(), List.of(
                new HostConfig.GuestConfig("alice", 1L << 20))), Devices.of(List.of(), List.of()));
    }

    private static String refusal(Path regionDir, RegionDirectoryTest t) {
        IOException e = assertThrows(IOException.class, () -> t.start(regionDir).close());
        return e.getMessage();
    }

    @Test
    void aPlantedWorkersLinkMakesTheHostRefuseToStartAndLeavesItsTargetAlone() throws IOException {
        Path dir = Files.createDirectory(root.resolve("regions"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path precious = Files.createDirectory(root.resolve("precious"));
        Files.writeString(precious.resolve("a.txt"), "keep me");
        Files.writeString(precious.resolve("b.worker"), "keep me too");
        Files.createSymbolicLink(dir.resolve("workers"), precious);

        String message = refusal(dir, this);
        assertTrue(message.contains("symbolic link") && message.contains("workers"), message);
        assertEquals("keep me", Files.readString(precious.resolve("a.txt")));
        assertEquals("keep me too", Files.readString(precious.resolve("b.worker")));
    }

    @Test
    void aRegionDirectoryOthersCanEnterIsRefusedWithTheFix() throws IOException {
        Path dir = Files.createDirectory(root.resolve("regions"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String message = refusal(dir, this);
        assertTrue(message.contains("rwxr-xr-x") && message.contains("chmod 700"), message);
    }

    @Test
    void aRegionDirectoryOwnedByAnotherUidIsRefusedWithTheFix() throws IOException {
        Path dir = Files.createDirectory(root.resolve("regions"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        int me = RegionDirectory.hostUid();
        int other = me == 0 ? 65534 : me; // only root can give a directory away
        org.junit.jupiter.api.Assumptions.assumeTrue(me == 0, "needs root to chown");
        Files.setAttribute(dir, "unix:uid", other);
        String message = refusal(dir, this);
        assertTrue(message.contains("owned by uid " + other) && message.contains("not the host's uid " + me)
                && message.contains("chown"), message);
    }

    @Test
    void aRegionDirectoryThatIsALinkIsRefused() throws IOException {
        Path real = Files.createDirectory(root.resolve("real"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path link = Files.createSymbolicLink(root.resolve("regions"), real);
        String message = refusal(link, this);
        assertTrue(message.contains("symbolic link"), message);
    }

    @Test
    void aMissingRegionDirectoryIsCreatedPrivate() throws IOException {
        Path dir = root.resolve("new/regions");
        try (FerryHost h = start(dir)) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir,
                    LinkOption.NOFOLLOW_LINKS)));
        }
    }

    @Test
    void staleWorkerFilesAreRemovedButALinkAmongThemIsNeverFollowed() throws IOException {
        Path dir = Files.createDirectory(root.resolve("regions"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path workers = Files.createDirectory(dir.resolve("workers"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path victim = Files.writeString(root.resolve("victim.txt"), "intact");
        Files.writeString(workers.resolve("old.worker"), "stale");
        Files.createSymbolicLink(workers.resolve("planted.worker"), victim);
        try (FerryHost h = start(dir)) {
            assertFalse(Files.exists(workers.resolve("old.worker"), LinkOption.NOFOLLOW_LINKS));
            assertFalse(Files.exists(workers.resolve("planted.worker"), LinkOption.NOFOLLOW_LINKS));
            assertEquals("intact", Files.readString(victim));
        }
    }
}
