package io.ferry.host;

import io.ferry.host.admin.StatusJson;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.endpoint.GuestLanes;
import io.ferry.host.vfio.PciAddress;
import io.ferry.host.worker.LiveWorkers;
import io.ferry.protocol.DeviceType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * A running host giving up a device for VFIO assignment ({@code release-device BDF} on the admin socket, which
 * {@code ferry device assign} sends), and taking released devices back ({@code rediscover}); docs/vfio.md.
 *
 * <p>Only a device the host drives through device workers can be given up: under {@code isolation: process}, a CPU
 * device (each guest session's work on it runs in a worker process of its own, and ending the process frees what it
 * opened). A device driven inside the host process (a GPU, or any device under {@code isolation: none}) is refused:
 * its backend has no per-device shutdown (the CUDA driver API cannot undo {@code cuInit}), so only stopping the host
 * frees it.
 */
public final class DeviceWithdrawal {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final Logger AUDIT = Logger.getLogger("ferry.audit");
    /** How long the host waits for the device's workers to be gone before it answers that they are not. */
    static final long CONFIRM_TIMEOUT_MS = 20_000;
    /** After this long a worker still running is killed directly (its endpoint may be busy elsewhere). */
    static final long KILL_AFTER_MS = 5_000;

    private DeviceWithdrawal() {
    }

    /**
     * Stops serving every device whose PCI address is {@code bdf}: it leaves the device list, new calls naming it fail
     * NO_DEVICE with the reason, and every device worker of its backend that runs now is ended (its guests' device
     * work ends with DEVICE_LOST saying the device was assigned away). Returns once no such worker remains.
     *
     * @return the reply: {@code {"released": BDF, "devices": [INDEX...], "workers_ended": N}}
     * @throws IllegalArgumentException when no device of the host has that address (or it is no address)
     * @throws IllegalStateException    when a device is driven inside the host process (nothing is changed)
     * @throws IOException              when workers did not end in time (the device stays withdrawn)
     */
    public static String release(FerryHost host, String bdf) throws IOException {
        String address = PciAddress.parse(bdf);
        Devices devices = host.devices();
        HostConfig config = host.config();
        List<Devices.Device> matching = new ArrayList<>();
        for (Devices.Device d : devices.all()) {
            if (address.equals(d.pciBusId())) {
                matching.add(d);
            }
        }
        if (matching.isEmpty()) {
            throw new IllegalArgumentException("this host has no device with PCI address " + address + " (its "
                    + "status lists each device's pci_bus_id); there is nothing to release");
        }
        for (Devices.Device d : matching) {
            if (config.isolation() != HostConfig.Isolation.PROCESS || d.info().type() != DeviceType.CPU) {
                throw new IllegalStateException("device " + d.index() + " '" + d.info().name() + "' (PCI " + address
                        + ", backend " + d.backend().name() + ") is driven inside the host process ("
                        + (config.isolation() != HostConfig.Isolation.PROCESS ? "isolation: none"
                        : "only CPU devices run in device workers") + "), and its backend has no per-device "
                        + "shutdown (CUDA cannot undo cuInit): the running host cannot give it up. Stop the host, "
                        + "assign, and start it again; the host leaves assigned devices out (docs/vfio.md)");
            }
        }
        List<Integer> indices = new ArrayList<>();
        List<ProcessHandle> processes = new ArrayList<>();
        for (Devices.Device d : matching) {
            String reason = "device " + d.index() + " '" + d.info().name() + "' (PCI " + address + ") was assigned "
                    + "away by the operator (VFIO: ferry device assign); the host no longer serves it, and the "
                    + "device work on it has ended. Reconnect to use the devices the host still serves";
            if (devices.withdraw(d.index(), reason)) {
                AUDIT.warning("device " + d.index() + " (PCI " + address + "): withdrawn by the operator (VFIO); "
                        + "ending its device workers");
            }
            indices.add(d.index());
            // The workers' processes, taken after the withdrawal (a worker started from now on is told the device
            // is gone, and one that registers later than this sees the withdrawal count move and starts again
            // knowing it) and before they are stopped (a sandbox's children are no longer its descendants then).
            processes.addAll(LiveWorkers.processes(LiveWorkers.of(config.workerDir(), d.backend().name())));
            for (GuestLanes lanes : host.guestLanes()) {
                lanes.withdrawDevice(d.backend().name(), "was stopped: " + reason);
            }
        }
        int ended = awaitGone(processes, address);
        LOG.info(() -> "device(s) " + indices + " (PCI " + address + ") no longer served; " + ended
                + " device worker process(es) ended");
        return "{\"released\": " + StatusJson.quote(address) + ", \"devices\": " + indices + ", \"workers_ended\": "
                + ended + "}\n";
    }

    /** Waits until every one of {@code processes} is gone; kills those left after {@link #KILL_AFTER_MS}. */
    private static int awaitGone(List<ProcessHandle> processes, String address) throws IOException {
        long start = System.nanoTime();
        boolean killed = false;
        while (true) {
            List<Long> alive = processes.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid).toList();
            if (alive.isEmpty()) {
                return processes.size();
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (ms > CONFIRM_TIMEOUT_MS) {
                throw new IOException("the device with PCI address " + address + " is no longer offered, but "
                        + "device worker process(es) " + alive + " still run after " + CONFIRM_TIMEOUT_MS + " ms; "
                        + "do not assign it until they are gone (ps -p PID), or stop the host");
            }
            if (ms > KILL_AFTER_MS && !killed) {
                killed = true;
                processes.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the device workers to end");
            }
        }
    }

    /**
     * Serves again the devices the host withdrew whose PCI address no recorded assignment covers now (after
     * {@code ferry device release}); those still assigned stay withdrawn. Devices left out when the host started
     * come back only with a restart.
     *
     * @return the reply: {@code {"rediscovered": {"served_again": [INDEX...], "still_assigned": [INDEX...]}}}
     */
    public static String rediscover(FerryHost host) {
        Devices devices = host.devices();
        List<Integer> again = new ArrayList<>();
        List<Integer> still = new ArrayList<>();
        devices.rediscover(again, still);
        for (int i : again) {
            AUDIT.info("device " + i + ": served again (rediscover: no VFIO assignment covers it now)");
        }
        return "{\"rediscovered\": {\"served_again\": " + again + ", \"still_assigned\": " + still + "}}\n";
    }
}
