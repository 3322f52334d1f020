package io.ferry.bench;

import io.ferry.host.Devices;
import io.ferry.host.FerryHost;
import io.ferry.host.HostConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/** A host in its own process for benchmarks: {@code BenchHost CONFIG}; prints READY when serving. */
public final class BenchHost {
    private BenchHost() {
    }

    public static void main(String[] args) throws Exception {
        LogManager.getLogManager().reset();
        Logger.getLogger("").setLevel(Level.WARNING);
        HostConfig cfg = HostConfig.load(Path.of(args[0]));
        FerryHost host = FerryHost.start(cfg, Devices.discover(List.of()));
        Runtime.getRuntime().addShutdownHook(new Thread(host::close));
        System.out.println("READY");
        System.out.flush();
        // Ends when the bench closes our stdin.
        while (System.in.read() >= 0) {
            Thread.onSpinWait();
        }
        host.close();
    }
}
