package io.ferry.host.compute;

import io.ferry.host.config.HostConfig;
import io.ferry.host.session.ServiceContext;
import io.ferry.host.session.SessionService;
import java.nio.file.Path;
import java.util.Map;

/**
 * The compute service of one guest: opens the compute side of each of its sessions ({@link ComputeCalls}). Holds
 * what outlives a session: the host's devices and their schedulers, and the pacing of the guest's device workers.
 * The seam of the endpoint and of test harnesses that drive a session without a region.
 */
public final class ComputeService {
    private final HostConfig host;
    private final HostConfig.GuestConfig guest;
    private final long tenant;
    private final Map<Devices.Device, ? extends DeviceTurns> dispatches;
    private final Path regionPath;
    private final int lane;
    private final Devices devices;
    private final WorkerGate workerGate = new WorkerGate();

    /**
     * @param host       the host's configuration (isolation, scheduling policy, worker limits)
     * @param guest      the guest served
     * @param tenant     the guest's tenant id in the device schedulers
     * @param dispatches each device's scheduler (empty under the FIFO policy)
     * @param regionPath where a device worker re-opens the guest's region
     * @param lane       the lane of the region whose sessions this serves (a worker maps that lane's heap slice)
     * @param devices    the host's devices
     */
    public ComputeService(HostConfig host, HostConfig.GuestConfig guest, long tenant,
                          Map<Devices.Device, ? extends DeviceTurns> dispatches, Path regionPath, int lane,
                          Devices devices) {
        this.host = host;
        this.guest = guest;
        this.tenant = tenant;
        this.dispatches = dispatches;
        this.regionPath = regionPath;
        this.lane = lane;
        this.devices = devices;
    }

    /** A service for lane 0 of the region (a one-lane guest, a harness). */
    public ComputeService(HostConfig host, HostConfig.GuestConfig guest, long tenant,
                          Map<Devices.Device, ? extends DeviceTurns> dispatches, Path regionPath, Devices devices) {
        this(host, guest, tenant, dispatches, regionPath, 0, devices);
    }

    /** The devices a HELLO announces. */
    public int deviceCount() {
        return devices.all().size();
    }

    /** Opens the compute side of a new session. */
    public SessionService open(ServiceContext session) {
        ComputeBackends backends = new ComputeBackends(host, guest, tenant, dispatches, regionPath, lane, session.heap(),
                workerGate, session.handles());
        return new ComputeCalls(session, devices, backends);
    }
}
