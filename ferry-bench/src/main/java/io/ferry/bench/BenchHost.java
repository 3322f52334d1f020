package io.ferry.bench;

import io.ferry.host.compute.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.config.HostConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * A host in its own process for benchmarks: {@code BenchHost CONFIG}; prints READY when serving, after a line
 * {@code NET INSECURE_PORT TLS_PORT} (-1 where there is none) when the config names stream listeners.
 */
public final class BenchHost {
    private BenchHost() {
    }

    /** Connects as {@code guest} to an in-process host, over its guest socket with the host's secret. */
    public static io.ferry.client.Ferry connect(FerryHost host, String guest) {
        return io.ferry.client.Ferry.connect(host.guestSocket(), guest, host.secret(guest));
    }

    /** Connects as {@code guest} to the host serving {@code cfg} (the guest's secret must be in the config). */
    public static io.ferry.client.Ferry connect(HostConfig cfg, String guest) {
        return io.ferry.client.Ferry.connect(cfg.guestSocket(), guest, cfg.guest(guest).secret());
    }

    public static void main(String[] args) throws Exception {
        LogManager.getLogManager().reset();
        Logger.getLogger("").setLevel(Level.WARNING);
        HostConfig cfg = HostConfig.load(Path.of(args[0]));
        FerryHost host = FerryHost.start(cfg, Devices.discover(List.of()));
        Runtime.getRuntime().addShutdownHook(new Thread(host::close));
        if (host.net() != null) {
            var net = host.net();
            System.out.println("NET " + (net.insecureAddress() == null ? -1 : net.insecureAddress().getPort()) + " "
                    + (net.tlsAddresses().isEmpty() ? -1 : net.tlsAddresses().getFirst().getPort()));
        }
        System.out.println("READY");
        System.out.flush();
        // Ends when the bench closes our stdin.
        while (System.in.read() >= 0) {
            Thread.onSpinWait();
        }
        host.close();
    }
}
