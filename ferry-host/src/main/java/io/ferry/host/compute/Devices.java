package io.ferry.host.compute;

import io.ferry.host.vfio.Assignments;
import io.ferry.host.vfio.PciAddress;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.logging.Logger;

/**
 * The devices this host offers: every device of every backend on the class path, optionally filtered by name.
 * A guest names a device by its index in {@link #all()}.
 */
public final class Devices implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("ferry.host");

    /** One offered device, the backend that drives it, and its PCI address (null when it reports none). */
    public record Device(int index, ComputeBackend backend, DeviceInfo info, String pciBusId) {
        public Device(int index, ComputeBackend backend, DeviceInfo info) {
            this(index, backend, info, null);
        }

        /**
         * The index: a device's turns are looked up by it on every device command, and the record's own hash
         * would hash every field of its {@link DeviceInfo}. Equal devices have equal indices, so equals still holds.
         */
        @Override
        public int hashCode() {
            return index;
        }
    }

    private final List<ComputeBackend> backends;
    private final List<Device> devices;
    private final List<String> unavailable;
    /** The VFIO state file the devices were checked against (null: none), which {@link #rediscover} reads again. */
    private final Path vfioState;
    /** Devices the running host stopped serving (an operator's VFIO assign), by index, with the reason. */
    private final java.util.Map<Integer, String> withdrawn = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong withdrawals = new java.util.concurrent.atomic.AtomicLong();

    private Devices(List<ComputeBackend> backends, List<Device> devices) {
        this.backends = List.copyOf(backends);
        this.vfioState = null;
        this.devices = List.copyOf(devices);
        this.unavailable = List.of();
    }

    private Devices(List<ComputeBackend> backends, List<String> filter, VfioCheck vfio, Path vfioState) {
        this.backends = List.copyOf(backends);
        this.vfioState = vfioState;
        List<Device> found = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (ComputeBackend b : backends) {
            List<DeviceInfo> infos = b.devices();
            if (infos.isEmpty()) {
                why.add(b.name() + ": " + b.unavailableReason());
            }
            for (DeviceInfo info : infos) {
                if (filter.isEmpty() || filter.stream().anyMatch(f ->
                        info.name().toLowerCase(Locale.ROOT).contains(f.toLowerCase(Locale.ROOT))
                                || b.name().equalsIgnoreCase(f))) {
                    String bus = busId(b, info);
                    if (vfio.refuses(b.name(), info.name(), bus)) {
                        continue;
                    }
                    found.add(new Device(found.size(), b, info, bus));
                }
            }
        }
        this.devices = List.copyOf(found);
        this.unavailable = List.copyOf(why);
    }

    /**
     * Finds backends with {@link ServiceLoader} and discovers their devices, leaving out those assigned to a VM in
     * the VFIO state file ({@code $FERRY_VFIO_STATE}, else {@value Assignments#DEFAULT}).
     */
    public static Devices discover(List<String> filter) {
        return discover(filter, Assignments.path(System.getenv()));
    }

    /** {@link #discover(List)} with the VFIO state file named. */
    public static Devices discover(List<String> filter, Path vfioState) {
        List<ComputeBackend> backends = new ArrayList<>();
        for (ComputeBackend b : ServiceLoader.load(ComputeBackend.class)) {
            backends.add(b);
        }
        Devices d = new Devices(backends, filter, VfioCheck.load(vfioState), vfioState);
        for (Device dev : d.devices) {
            LOG.info(() -> "device " + dev.index + ": " + dev.info.name() + " (" + dev.backend.name() + ", "
                    + dev.info.type() + ", " + dev.info.computeUnits() + " compute units, "
                    + (dev.info.globalMemoryBytes() >> 20) + " MiB)");
        }
        for (String w : d.unavailable) {
            LOG.warning("backend without devices: " + w);
        }
        io.ferry.spi.sandbox.FaultHandlers.warnIfTaken(LOG, "the host");
        return d;
    }

    /** The device's PCI address, normalized; null when it reports none (or the query fails). */
    private static String busId(ComputeBackend b, DeviceInfo info) {
        String given = TestPciBusIds.forDevice(b.name(), info.index());
        if (given != null) {
            return given;
        }
        try {
            return PciAddress.orNull(b.pciBusId(info.index()));
        } catch (RuntimeException e) {
            LOG.fine(() -> b.name() + " device " + info.index() + ": no PCI bus id (" + e.getMessage() + ")");
            return null;
        }
    }

    /** For tests and embedding: the given backends only. */
    public static Devices of(List<ComputeBackend> backends, List<String> filter) {
        return new Devices(backends, filter, VfioCheck.NONE, null);
    }

    /** A device worker's list, made by {@link WorkerDevices#read}: the host's devices under the host's indices. */
    static Devices ofList(ComputeBackend backend, List<Device> devices) {
        return new Devices(List.of(backend), devices);
    }

    /** For tests: the given backends, minus the devices {@code vfioState} records as assigned. */
    public static Devices of(List<ComputeBackend> backends, List<String> filter, Path vfioState) {
        return new Devices(backends, filter, VfioCheck.load(vfioState), vfioState);
    }

    public List<Device> all() {
        return devices;
    }

    /** The device at {@code index}; null when there is none, or the host stopped serving it ({@link #missing}). */
    public Device get(long index) {
        return index >= 0 && index < devices.size() && !withdrawn.containsKey((int) index)
                ? devices.get((int) index) : null;
    }

    /** The devices served now: {@link #all()} less those withdrawn. Indices stay those of {@link #all()}. */
    public List<Device> served() {
        return devices.stream().filter(d -> !withdrawn.containsKey(d.index())).toList();
    }

    /**
     * Stops offering device {@code index} (it keeps its index; calls naming it fail with {@code reason}).
     *
     * @return false when it was withdrawn already
     */
    public boolean withdraw(int index, String reason) {
        withdrawals.incrementAndGet();
        return withdrawn.putIfAbsent(index, reason) == null;
    }

    /**
     * How many withdrawals there have been: a device worker started with the withdrawn devices as they were, and
     * registered ({@link io.ferry.host.worker.LiveWorkers}), checks the count did not change meanwhile.
     */
    public long withdrawals() {
        return withdrawals.get();
    }

    /**
     * Offers again the withdrawn devices no assignment covers now (their indices go to {@code again}); the others
     * stay withdrawn (to {@code still}). The state file is the one the devices were discovered with, else
     * {@code $FERRY_VFIO_STATE}, else the default.
     */
    public void rediscover(List<Integer> again, List<Integer> still) {
        VfioCheck vfio = VfioCheck.load(vfioState != null ? vfioState : Assignments.path(System.getenv()));
        for (Device d : devices) {
            if (withdrawn.containsKey(d.index())) {
                if (vfio.refuses(d.backend().name(), d.info().name(), d.pciBusId())) {
                    still.add(d.index());
                } else {
                    withdrawn.remove(d.index());
                    again.add(d.index());
                }
            }
        }
    }

    /** Why device {@code index} is withdrawn, or null when it is not. */
    public String withdrawnReason(long index) {
        return index < 0 || index > Integer.MAX_VALUE ? null : withdrawn.get((int) index);
    }

    /**
     * The refusal of a call naming device {@code index} that {@link #get} does not give: NO_DEVICE, whose message is
     * the reason for a withdrawn device. (Not DEVICE_LOST: that would end the session's device work on every device;
     * a guest enumerating devices stops at NO_DEVICE.)
     */
    public io.ferry.host.session.CallException missing(long index) {
        String why = withdrawnReason(index);
        return new io.ferry.host.session.CallException(io.ferry.protocol.Status.NO_DEVICE, why != null ? why
                : "device " + index + " does not exist: " + noDeviceMessage());
    }

    /** Why backends offer no devices, one line per backend. */
    public List<String> unavailableReasons() {
        return unavailable;
    }

    /** Text for a guest that asked for a device when there is none. */
    public String noDeviceMessage() {
        if (backends.isEmpty()) {
            return "the host has no compute backend on its class path";
        }
        return devices.isEmpty() ? "the host has no compute device: " + String.join("; ", unavailable)
                : "the host has " + devices.size() + " device(s), numbered 0.." + (devices.size() - 1);
    }

    @Override
    public void close() {
        for (ComputeBackend b : backends) {
            b.close();
        }
    }
}
