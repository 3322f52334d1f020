package io.ferry.host.endpoint;

import io.ferry.channel.os.Memfd;
import io.ferry.channel.os.UnixSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * systemd's file-descriptor store as the keeper of sealed regions (docs/protocol.md, "Epochs and host restarts"): under a unit
 * with {@code FileDescriptorStoreMax=} (and {@code FileDescriptorStorePreserve=yes} to survive a stop), each memfd
 * is pushed to the store with an {@code sd_notify} datagram {@code FDSTORE=1\nFDNAME=NAME} carrying it
 * (SCM_RIGHTS) to {@code NOTIFY_SOCKET}; at the next start systemd hands them back as {@code LISTEN_FDS}
 * descriptors from 3, named in {@code LISTEN_FDNAMES}, for the process {@code LISTEN_PID}. A guest removed is
 * dropped with {@code FDSTOREREMOVE=1\nFDNAME=NAME}.
 *
 * <p>Tested here for its message format and parsing, and against a datagram socket of the test's own, not
 * against a real systemd.
 */
final class SystemdFdStore implements FdKeeper {
    private final String notifySocket;
    /** What systemd handed back at start, by name; taken once. */
    private final Map<String, Integer> passed;

    SystemdFdStore(String notifySocket, Map<String, Integer> passed) {
        this.notifySocket = notifySocket;
        this.passed = new HashMap<>(passed);
    }

    /** The store of this process when systemd runs it with a notify socket; else null. */
    static SystemdFdStore fromEnvironment() {
        Map<String, String> env = System.getenv();
        String notify = env.get("NOTIFY_SOCKET");
        if (notify == null || notify.isBlank()) {
            return null;
        }
        return new SystemdFdStore(notify, listenFds(env, ProcessHandle.current().pid()));
    }

    /**
     * The descriptors systemd passed to process {@code pid}, by name: {@code LISTEN_FDS} of them from fd 3, named
     * by {@code LISTEN_FDNAMES} (colon separated); none when {@code LISTEN_PID} is another process's.
     */
    static Map<String, Integer> listenFds(Map<String, String> env, long pid) {
        Map<String, Integer> out = new HashMap<>();
        String listenPid = env.get("LISTEN_PID");
        String count = env.get("LISTEN_FDS");
        if (listenPid == null || count == null) {
            return out;
        }
        int n;
        try {
            if (Long.parseLong(listenPid.strip()) != pid) {
                return out; // meant for another process (a parent that did not clear them)
            }
            n = Integer.parseInt(count.strip());
        } catch (NumberFormatException e) {
            return out;
        }
        String[] names = env.getOrDefault("LISTEN_FDNAMES", "").split(":", -1);
        for (int i = 0; i < n && i < 1024; i++) {
            String name = i < names.length ? names[i] : "";
            if (!name.isEmpty()) {
                out.put(name, 3 + i);
            }
        }
        return out;
    }

    /** The datagram that stores a descriptor under {@code name}. */
    static byte[] storeMessage(String name) {
        return ("FDSTORE=1\nFDNAME=" + checkedName(name)).getBytes(StandardCharsets.UTF_8);
    }

    /** The datagram that drops what is stored under {@code name}. */
    static byte[] removeMessage(String name) {
        return ("FDSTOREREMOVE=1\nFDNAME=" + checkedName(name)).getBytes(StandardCharsets.UTF_8);
    }

    /** systemd's rule for FDNAME: 1 to 255 printable ASCII characters, no ':'. */
    static String checkedName(String name) {
        if (name.isEmpty() || name.length() > 255 || !name.chars().allMatch(c -> c > 32 && c < 127 && c != ':')) {
            throw new IllegalArgumentException("'" + name + "' is not a valid systemd FDNAME");
        }
        return name;
    }

    @Override
    public String describe() {
        return "systemd's file-descriptor store (NOTIFY_SOCKET " + notifySocket + ")";
    }

    @Override
    public synchronized int take(String name) {
        Integer fd = passed.remove(name);
        return fd == null ? -1 : fd;
    }

    @Override
    public void keep(String name, int fd) throws IOException {
        // The same memfd handed back at start and stored again is one entry: systemd ignores a descriptor it holds.
        UnixSocket.sendDatagram(notifySocket, storeMessage(name), fd);
    }

    @Override
    public void drop(String name) throws IOException {
        UnixSocket.sendDatagram(notifySocket, removeMessage(name), -1);
    }

    @Override
    public synchronized void close() {
        for (int fd : passed.values()) {
            Memfd.closeQuietly(fd); // handed back but no longer configured: the store still has them
        }
        passed.clear();
    }
}
