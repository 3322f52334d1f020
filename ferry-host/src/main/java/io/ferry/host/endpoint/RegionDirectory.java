package io.ferry.host.endpoint;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The host's region directory is trusted only after it is checked: a directory (not a symbolic link), owned by
 * the host's uid, mode 0700; the same for its {@code workers} subdirectory where it exists. Created so where
 * missing. After the check nobody but the host's uid can add, rename or remove anything in it, so paths in it
 * stay what the host made them.
 *
 * <p>Stale worker files are still removed relative to the directory's descriptor
 * ({@link SecureDirectoryStream}: {@code openat}/{@code unlinkat} with {@code O_NOFOLLOW}), so even a link planted
 * before the host started is never followed: a planted {@code workers} link makes the check refuse to start.
 */
public final class RegionDirectory {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    static final String WORKERS = "workers";

    private RegionDirectory() {
    }

    /** A region directory that cannot be trusted; the message says what is wrong and the fix. */
    static final class UntrustedException extends IOException {
        UntrustedException(String message) {
            super(message);
        }
    }

    /** Creates {@code dir} (0700) where missing, then checks it and its workers subdirectory. */
    public static void prepare(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            // createDirectories honours the umask; say exactly what we mean.
            Files.setPosixFilePermissions(dir, OWNER_ONLY);
        }
        int uid = hostUid();
        check(dir, "region directory " + dir, uid, "or choose another regionDir");
        Path workers = dir.resolve(WORKERS);
        if (Files.exists(workers, LinkOption.NOFOLLOW_LINKS)) {
            check(workers, "worker directory " + workers, uid, "the host makes it anew");
        }
    }

    private static void check(Path dir, String what, int hostUid, String otherFix) throws IOException {
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (a.isSymbolicLink()) {
            throw new UntrustedException(what + " is a symbolic link (to " + Files.readSymbolicLink(dir)
                    + "), not a directory: remove the link (rm " + dir + "); " + otherFix);
        }
        if (!a.isDirectory()) {
            throw new UntrustedException(what + " is not a directory: remove it; " + otherFix);
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (owner != hostUid) {
            throw new UntrustedException(what + " is owned by uid " + owner + ", not the host's uid " + hostUid
                    + ": chown " + hostUid + " " + dir + "; " + otherFix);
        }
        if (!a.permissions().equals(OWNER_ONLY)) {
            throw new UntrustedException(what + " has mode " + PosixFilePermissions.toString(a.permissions())
                    + ", not rwx------ (0700): others could plant or swap files there; chmod 700 " + dir + "; "
                    + otherFix);
        }
    }

    /** The effective uid of this process (the owner of /proc/self). */
    static int hostUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /**
     * Removes the files a host that died left in {@code dir/workers}, through the directory's descriptor: the
     * subdirectory is opened with O_NOFOLLOW and each entry unlinked relative to it, never through a link.
     */
    public static void deleteStaleWorkerFiles(Path dir) throws IOException {
        try (DirectoryStream<Path> top = Files.newDirectoryStream(dir)) {
            if (!(top instanceof SecureDirectoryStream<Path> secure)) {
                throw new UntrustedException("the file system of " + dir + " offers no secure directory access "
                        + "(openat/unlinkat); put regionDir on a local POSIX file system such as /dev/shm");
            }
            SecureDirectoryStream<Path> workers;
            try {
                workers = secure.newDirectoryStream(Path.of(WORKERS), LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return;
            }
            try (workers) {
                for (Path entry : workers) {
                    Path name = entry.getFileName();
                    var attrs = workers.getFileAttributeView(name, PosixFileAttributeView.class,
                            LinkOption.NOFOLLOW_LINKS).readAttributes();
                    if (attrs.isDirectory()) {
                        LOG.warning("left " + entry + " in place: the host makes no directories there");
                    } else {
                        workers.deleteFile(name); // unlinkat: removes a link itself, never its target
                    }
                }
            }
        }
    }
}
