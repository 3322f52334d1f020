package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.workload.Workload;
import io.ferry.cli.workload.WorkloadResult;
import io.ferry.cli.workload.Workloads;
import io.ferry.client.Ferry;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.NetConfig;
import io.ferry.host.net.tls.CertificateAuthority;
import io.ferry.host.net.tls.GuestBundle;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The real Java client over the stream transport (docs/network.md) against a real host with PoCL: every example
 * workload over {@code ferry+tls://127.0.0.1:PORT/GUEST} (TLS 1.3, the guest's certificate bundle),
 * {@code ferry+tcp://127.0.0.1:PORT/GUEST} (the insecure loopback listener) and the vsock Unix socket
 * ({@code ferry+uds}), each verified against its Java reference. Heap data crosses the stream both ways (the writes
 * before their calls, the reads before the completions that make them certain). Each URI connects right after the
 * previous connection closed, on a guest of one lane.
 */
class StreamWorkloadsIT {
    @Test
    void everyWorkloadVerifiesOverTlsLoopbackTcpAndTheVsockSocket() throws Exception {
        Path dir = Hosts.newDir();
        Path ca = dir.resolve("tls");
        HostConfig cfg = new HostConfig(dir, true, List.of(), List.of(new HostConfig.GuestConfig("alice", 64L << 20)))
                .withNet(new NetConfig(List.of(new NetConfig.Address("127.0.0.1", 0)), 0,
                        new NetConfig.Vsock(dir.resolve("v.sock"), 7072), ca));
        String home = System.getProperty("user.home");
        try (FerryHost host = FerryHost.start(cfg, Devices.discover(List.of()))) {
            // the guest's bundle where the client looks for it: ~/.config/ferry/tls/alice (here a private home)
            CertificateAuthority authority = CertificateAuthority.open(ca);
            GuestBundle.write(dir.resolve("home/.config/ferry/tls/alice"), "alice", authority.issue("alice", 1),
                    authority.certificate());
            System.setProperty("user.home", dir.resolve("home").toString());
            byte[] secret = host.secret("alice");
            for (URI uri : List.of(URI.create("ferry+tls://127.0.0.1:" + host.net().tlsAddresses().getFirst().getPort()
                            + "/alice"),
                    URI.create("ferry+tcp://127.0.0.1:" + host.net().insecureAddress().getPort() + "/alice"),
                    URI.create("ferry+uds://" + host.net().vsockPath() + "/alice"))) {
                try (Ferry ferry = connect(uri, secret)) {
                    for (Workload w : Workloads.all()) {
                        WorkloadResult r = w.run(ferry, ferry.defaultDevice());
                        assertTrue(r.verified(), uri + ": " + r.humanLine("alice"));
                    }
                }
            }
            assertEquals(0, host.net().counters().figures().internalErrors(), host.net().counters().figures().toString());
        } finally {
            System.setProperty("user.home", home);
            Hosts.deleteTree(dir);
        }
    }

    /**
     * Connects, waiting while the guest's one lane is still held by the previous transport's connection: the host
     * frees it once it has torn that session down (its device worker stopped), a moment after the client closed.
     */
    private static Ferry connect(URI uri, byte[] secret) throws InterruptedException {
        long until = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                return Ferry.connect(uri, secret);
            } catch (io.ferry.client.FerryException e) {
                if (!e.getMessage().contains("lane(s) of guest") || System.nanoTime() > until) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
