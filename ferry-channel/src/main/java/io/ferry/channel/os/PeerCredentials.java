package io.ferry.channel.os;

/**
 * Who is at the other end of a Unix socket, as the kernel recorded it when the connection was made
 * ({@code SO_PEERCRED}): it cannot be forged by the peer. Pid and ids are as seen from this process's
 * namespaces (a peer in another pid namespace shows its pid here, or 0 when it has none here).
 */
public record PeerCredentials(long pid, int uid, int gid) {
    @Override
    public String toString() {
        return "pid " + pid + ", uid " + uid + ", gid " + gid;
    }
}
