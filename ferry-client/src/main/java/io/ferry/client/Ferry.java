package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.channel.BackoffIdleStrategy;
import io.ferry.channel.Handshake;
import io.ferry.channel.LaneClaims;
import io.ferry.channel.Region;
import io.ferry.channel.RegionException;
import io.ferry.client.net.StreamPump;
import io.ferry.client.tee.TeeContext;
import io.ferry.client.tee.TeeTransport;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A guest's connection to a Ferry host: the entry point of the client API.
 *
 * <pre>{@code
 * try (Ferry ferry = Ferry.connect("alice");
 *      Context ctx = ferry.createContext(ferry.device(DeviceType.CPU));
 *      CommandQueue queue = ctx.createQueue();
 *      Program program = ctx.buildProgram(source);
 *      Kernel kernel = program.kernel("vadd");
 *      HeapBlock data = ferry.heap().allocate(bytes)) {
 *     ...
 * }
 * }</pre>
 *
 * Objects are named by handles this library picks, so creating one costs no round trip; enqueue-type calls are
 * one-way and their errors surface at the next synchronous call of the same queue ({@link CommandQueue#finish()}).
 * Thread-safe.
 *
 * <p>Each connection takes a <b>lane</b> of the guest's region ({@link #lane()}): its own ring pair, heap slice and
 * session, so several processes of one guest (or several connections in one process) compute at once, each with
 * its own objects and errors. The guest's quotas and scheduling are shared by its lanes; the host config's
 * {@code lanes:} says how many a guest has (docs/protocol.md §3).
 *
 * <p>Every object created here, <em>events</em> included, holds host resources (one of the session's objects: the
 * guest's 4096 by default, shared by its lanes) or heap space until closed: close each (try-with-resources). An
 * unclosed one is released late, when unreachable, with a warning once per kind (docs/client.md#lifetimes).
 */
public final class Ferry implements AutoCloseable {
    /** Where a host keeps its regions by default. */
    public static final Path DEFAULT_REGION_DIR = Path.of("/dev/shm/ferry");
    /** The host's guest socket unless {@code FERRY_HOST} says otherwise (the host's default 'socket:'). */
    public static final Path DEFAULT_SOCKET = Path.of("/run/ferry/guest.sock");
    static final long CONNECT_TIMEOUT_NANOS = 3_000_000_000L;
    /**
     * How long a connect waits for CONNECT_ACK once the host's heartbeat has been seen moving: a live host takes
     * the request within 100 ms when idle, but a loaded machine (a VM emulated without KVM, a busy CI runner) can
     * delay it by seconds; a host that is not there at all is still reported after {@link #CONNECT_TIMEOUT_NANOS}.
     */
    static final long CONNECT_LIVE_HOST_TIMEOUT_NANOS = 20_000_000_000L;

    /** This connection's lane of the region (a lane view: its rings, heap slice and connect words). */
    private final Region region;
    private final Channel channel;
    private final Heap heap;
    private final long sessionId;
    private final List<Device> devices;
    private final AtomicLong handles = new AtomicLong();
    private final Lifetimes lifetimes = new Lifetimes();
    private volatile boolean closed;
    /** Whether {@link #close()} unmapped the region (a closed connection that was not may still {@link #reconnect()}). */
    private volatile boolean unmapped;
    /** Inside a VM on an ivshmem-doorbell device: how this client waits (interrupts or naps); else null. */
    private volatile VmInterrupts vmInterrupts;
    /** Over a stream (docs/network.md): the pump that mirrors this connection's lane; null over shared memory. */
    private final StreamPump stream;
    private final ConnectionTeeTransport teeTransport;

    /** {@code hello}: the host's answer to HELLO (session id, version, capabilities, device count). */
    private Ferry(Region region, Channel channel, Channel.Completion hello, StreamPump stream) {
        this.region = region;
        this.stream = stream;
        this.channel = channel;
        this.heap = new Heap(region.heap());
        this.sessionId = hello.r0();
        lifetimes.owner(" of guest '" + region.header().guestName() + "', session " + sessionId);
        channel.debug("1".equals(System.getenv("FERRY_DEBUG")));
        this.devices = List.copyOf(DeviceList.query(channel, hello.r3()));
        this.teeTransport = new ConnectionTeeTransport(this, channel, hello.r2());
    }

    /**
     * Connects as guest {@code guest} to the host that {@code FERRY_HOST} names (see {@link HostAddress}: a guest
     * socket, a region file or directory, a PCI device), by default over the guest socket
     * {@link #DEFAULT_SOCKET}; over a socket, with the secret from {@code FERRY_SECRET} (base64) or the file named
     * by {@code FERRY_SECRET_FILE} (base64 text or the 32 raw bytes). The deprecated {@code FERRY_SOCKET} and
     * {@code FERRY_REGION_DIR} still work where {@code FERRY_HOST} is unset.
     */
    public static Ferry connect(String guest) {
        return connect(HostAddress.fromEnvironment(), guest);
    }

    /**
     * Connects over the network (docs/network.md) to the host and as the guest {@code uri} names:
     * {@code ferry+tls://HOST:PORT/GUEST} (TLS 1.3 with the guest's certificate bundle), {@code
     * ferry+tcp://127.0.0.1:PORT/GUEST} (a host on this machine with {@code insecure-loopback}), {@code
     * ferry+uds:///SOCKET/GUEST} (a Firecracker vsock socket); see {@link HostAddress}.
     *
     * @throws FerryException INVALID_ARGUMENT when {@code uri} is not such an address with a guest; as
     *                        {@link #connect(String)} otherwise
     */
    public static Ferry connect(URI uri) {
        return connect(uri, (byte[]) null);
    }

    /**
     * As {@link #connect(URI)}, with the guest's {@code secret} (32 bytes, what {@code ferry guest add} printed) for a
     * plain listener ({@code ferry+tcp}, {@code ferry+uds}), which checks it; null takes {@code FERRY_SECRET} or
     * {@code FERRY_SECRET_FILE}. Over {@code ferry+tls} the certificate is the guest's identity and no secret is sent.
     */
    public static Ferry connect(URI uri, byte[] secret) {
        return HostConnect.connectStream(HostConnect.networkAddress(uri), null, secret, null);
    }

    /**
     * As {@link #connect(URI)} over {@code ferry+tls}, with the guest's TLS bundle in the directory {@code tlsBundle}
     * ({@code ca.pem}, {@code guest.pem}, {@code guest.key}: what {@code ferry guest add GUEST --tls} wrote) rather
     * than {@code FERRY_TLS_BUNDLE} or {@code ~/.config/ferry/tls/GUEST/}.
     */
    public static Ferry connect(URI uri, Path tlsBundle) {
        return HostConnect.connectStream(HostConnect.networkAddress(uri), null, null, tlsBundle);
    }

    /** Connects as guest {@code guest} to the host at {@code host} (as {@link #connect(String)} with that FERRY_HOST). */
    public static Ferry connect(HostAddress host, String guest) {
        return HostConnect.connect(host, guest);
    }

    /**
     * Connects as guest {@code guest} over the host's guest socket at {@code socket}: proves {@code secret}
     * (32 bytes), receives the region's sealed memory by descriptor, maps it, then shakes hands in the region.
     *
     * @throws FerryException BAD_CREDENTIAL when the host refuses (unknown guest, wrong secret, uid not
     *                        allowed: the message says which the host may tell), HOST_UNAVAILABLE when nothing
     *                        answers on the socket
     */
    public static Ferry connect(Path socket, String guest, byte[] secret) {
        int fd = HostConnect.regionFd(socket, guest, secret);
        Region region;
        try {
            region = Region.openFd(fd);
        } catch (RegionException e) {
            throw new FerryException(e.status(), e.getMessage());
        }
        return connect(region);
    }

    /**
     * A guest's secret from {@code FERRY_SECRET} (base64) or {@code FERRY_SECRET_FILE} (base64 text or 32 raw
     * bytes).
     *
     * @throws FerryException NOT_CONFIGURED, naming both variables, when neither is set
     */
    public static byte[] secretFromEnvironment(String guest) {
        return HostConnect.secretFromEnvironment(guest);
    }

    /**
     * Connects through the region at {@code regionFile}: a region file ({@code region: file} on the host), or a
     * PCI BAR inside a VM.
     */
    public static Ferry connect(Path regionFile) {
        Region region;
        try {
            region = Region.open(regionFile);
        } catch (RegionException e) {
            throw new FerryException(e.status(), e.getMessage());
        }
        return connect(region);
    }

    private static Ferry connect(Region whole) {
        return connect(whole, false, null);
    }

    /**
     * Claims a lane of {@code whole} (over a stream: {@code whole} is the claimed lane of the mirror) and connects on
     * it; on failure unmaps it unless {@code keepMapping}, after stopping {@code stream}.
     */
    static Ferry connect(Region whole, boolean keepMapping, StreamPump stream) {
        Channel channel = null;
        long pid = ProcessHandle.current().pid();
        Region region;
        try {
            region = stream != null ? whole : LaneClaims.claim(whole, pid, HostConnect.laneWaitNanos());
        } catch (RegionException e) {
            if (!keepMapping) {
                whole.close();
            }
            // every lane is busy: the message names the holders and the fix (not the objects quota's hint)
            throw new FerryException(e.status(), e.getMessage(), null, false);
        }
        String host = stream != null ? stream.target().toString() : "serving " + region.path();
        try {
            long beat = region.hostHeartbeat();
            boolean[] beating = {false};
            long nonce = Handshake.connect(region, pid, new BackoffIdleStrategy(), waited -> {
                if (stream != null && stream.problem() != null) {
                    throw stream.problem();
                }
                beating[0] |= region.hostHeartbeat() != beat;
                long limit = beating[0] ? CONNECT_LIVE_HOST_TIMEOUT_NANOS : CONNECT_TIMEOUT_NANOS;
                if (waited > limit) {
                    throw new FerryException(Status.HOST_UNAVAILABLE, (beating[0]
                            ? "the host " + host + " is running but did not accept the connection"
                            : "no host is " + host + " (its heartbeat is not moving)")
                            + " within " + limit / 1_000_000 + " ms");
                }
            });
            channel = new Channel(region, nonce, stream != null ? "at " + host : "of region " + region.path());
            if (stream != null) {
                channel.sendItself(stream::send); // no hand-off to the pump's sender thread per call
                channel.receiveItself(stream::receiveItself); // nor from its receiver thread
            }
            channel.startHeartbeat();
            long[] cred = HostConnect.credentialWords(region.credential());
            Channel.Completion hello = channel.call(new Calls.Hello(), Wire.utf8(region.header().guestName()),
                    c -> c.magic(Wire.HELLO_MAGIC).version(Wire.PROTOCOL_VERSION).capabilities(Wire.CAPABILITIES)
                            .pid(pid).credential(0, cred[0]).credential(1, cred[1]).credential(2, cred[2])
                            .credential(3, cred[3]));
            return new Ferry(region, channel, hello, stream);
        } catch (RuntimeException e) {
            if (channel != null) {
                channel.closed();
            }
            if (stream != null) {
                stream.close(); // its threads touch the mirror: stopped before it is unmapped
            }
            LaneClaims.release(region, pid);
            if (!keepMapping) {
                region.close();
            }
            throw e;
        }
    }

    /**
     * Connects through a region this VM sees as an {@code ivshmem-plain} PCI device: a PCI address
     * ({@code 0000:00:03.0}) or the guest name in the region header; null or blank takes the only Ferry region.
     * See docs/vm.md.
     */
    public static Ferry connectPci(String pciAddressOrGuest) {
        Path resource = PciRegions.resolve(pciAddressOrGuest);
        Ferry ferry = connect(resource);
        // The device's MSI-X interrupts through VFIO when the VM allows it, else timed naps (docs/vm.md).
        // The device's interrupts are wired to lane 0's rings; another lane's connection naps (docs/vm.md).
        ferry.vmInterrupts = ferry.lane() == 0 ? VmInterrupts.attach(ferry.region, resource.getParent())
                : VmInterrupts.naps(ferry.region, "lane " + ferry.lane() + ": the device's interrupts serve lane 0");
        return ferry;
    }

    /** How this client waits inside a VM (see {@link VmInterrupts}); null when not connected by {@link #connectPci}. */
    public VmInterrupts vmInterrupts() {
        return vmInterrupts;
    }

    void vmInterrupts(VmInterrupts v) {
        vmInterrupts = v;
    }

    Region region() {
        return region;
    }

    /** The stream pump of a network connection, or null over shared memory. */
    StreamPump stream() {
        return stream;
    }

    /**
     * The lane of the guest's region this connection holds (0 to the guest's lane count - 1): its own ring pair,
     * heap slice and session. The host frees it when the connection closes or its process exits.
     */
    public int lane() {
        return region.laneIndex();
    }

    /** The devices the host offers this guest. */
    public List<Device> devices() {
        return devices;
    }

    /** The first device of {@code type}. */
    public Device device(DeviceType type) {
        for (Device d : devices) {
            if (d.type() == type) {
                return d;
            }
        }
        throw new FerryException(Status.NO_DEVICE, "the host offers no " + type + " device; it offers "
                + describeDevices());
    }

    /** The first device whose name or backend contains {@code text} (case-insensitive). */
    public Device device(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        for (Device d : devices) {
            if (d.name().toLowerCase(Locale.ROOT).contains(t) || d.backend().equalsIgnoreCase(text)) {
                return d;
            }
        }
        throw new FerryException(Status.NO_DEVICE, "no device matches '" + text + "'; the host offers "
                + describeDevices());
    }

    /** The host's first device. */
    public Device defaultDevice() {
        if (devices.isEmpty()) {
            throw new FerryException(Status.NO_DEVICE, "the host offers no compute device (is an OpenCL ICD installed "
                    + "on the host? apt-get install pocl-opencl-icd ocl-icd-libopencl1)");
        }
        return devices.getFirst();
    }

    private String describeDevices() {
        return devices.isEmpty() ? "none" : devices.toString();
    }

    /** Memory shared with the host; data placed here reaches the device without copies through the channel. */
    public Heap heap() {
        return heap;
    }

    /** Creates a context on {@code device}. */
    public Context createContext(Device device) {
        long h = newHandle();
        channel().oneWay(new Calls.ContextCreate(), true, c -> c.context(h).device(device.index()));
        return new Context(this, h, device);
    }

    /** A synchronous no-op: one round trip to the host (what {@code ./ferry bench transport} measures). */
    public long nop(long value) {
        return channel().call(new Calls.Nop(), null, c -> c.value(value)).r0();
    }

    /** A one-way no-op. */
    public void nopOneWay(long value) {
        channel().oneWay(new Calls.Nop(), false, c -> c.value(value));
    }

    /**
     * Debug mode (also on with {@code FERRY_DEBUG=1}): every one-way call waits for the host's answer, so a failed call
     * throws at the call itself, not at a later {@link CommandQueue#finish()} (as JOCL's {@code setExceptionsEnabled});
     * a round trip per call. Failures found while the device runs a command still surface at {@code finish()}. Also
     * extra checks of this library's own calls, such as a queue refusing to read from or into memory that one of its
     * unfinished reads still targets ({@link CommandQueue#read}).
     *
     * @return this
     */
    public Ferry debug(boolean on) {
        channel.debug(on);
        return this;
    }

    /** Whether debug mode is on ({@link #debug(boolean)}). */
    boolean debugging() {
        return channel.debugging();
    }

    /** Publishes any calls this library has held back to batch them. */
    public void flush() {
        channel().flush();
    }

    /**
     * What the host publishes about this guest's scheduling (coordinated scheduling): refreshed about every 100 ms
     * and after the guest's commands. All zeros under a host without Ferry's scheduler.
     */
    public SchedulingFigures scheduling() {
        return SchedulingFigures.read(region);
    }

    /**
     * The GlobalPlatform TEE Client API over this connection: trusted applications on the host's TEE service, with
     * shared memory in this guest's heap. Close the context when done.
     */
    public TeeContext tee() {
        return TeeContext.initialize(null, teeTransport());
    }

    /** The calls the TEE client makes, over this connection (for {@link TeeContext#initialize}); one per connection. */
    public TeeTransport teeTransport() {
        return teeTransport;
    }

    /** The host's id of this session (for matching host logs). */
    public long sessionId() {
        return sessionId;
    }

    public String guest() {
        return region.header().guestName();
    }

    /** The channel, after sending the releases of objects the cleaner found unreachable (see {@link Lifetimes}). */
    Channel channel() {
        if (lifetimes.hasPending()) {
            lifetimes.drain(channel);
        }
        return channel;
    }

    Lifetimes lifetimes() {
        return lifetimes;
    }

    /** Whether {@link #close()} (or {@link #reconnect()}) ended this connection. */
    boolean isClosed() {
        return closed;
    }

    long newHandle() {
        return handles.incrementAndGet();
    }

    /** Ends the session: the host releases every object of this guest. */
    @Override
    public synchronized void close() {
        end();
        if (!unmapped) {
            unmapped = true;
            region.close();
            VmInterrupts vm = vmInterrupts;
            if (vm != null) {
                vm.close(); // after the region: closing the VFIO device may turn its BAR2 off
            }
        }
    }

    /**
     * Connects again on the same region, without a new descriptor or mapping: for a guest whose host restarted
     * (its calls fail with "the host restarted … connect again"), a process guest through its still-mapped memfd or
     * file, a VM through its BAR. This connection is closed (its objects were lost with the old host); the new one
     * starts with none. See docs/client.md, "When the host restarts". Over the network (a lost connection: calls
     * fail with HOST_UNAVAILABLE) it opens a new connection to the same address, with a new mirror.
     *
     * @throws FerryException as {@link #connect(Path)}: HOST_UNAVAILABLE while no host serves the region yet (the
     *                        mapping is kept: call reconnect() again later)
     */
    public synchronized Ferry reconnect() {
        end();
        Ferry f = HostConnect.reconnect(this, !unmapped);
        unmapped = true; // the mapping (and the VM's interrupts) are the new connection's now: close() leaves them
        vmInterrupts = null;
        return f;
    }

    /** Ends this connection's session (GOODBYE where the host still serves it), once. */
    private void end() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (stream != null) {
                stream.leaving(); // the host's CLOSED after GOODBYE is no warning
            }
            channel.call(new Calls.Goodbye(), null, c -> { });
            if (stream == null) {
                awaitLaneFreed(); // over a stream the host's proxy frees its own lane; the mirror's is ours
            }
        } catch (FerryException e) {
            // The host is gone or ended the session already: nothing left to release there.
        } finally {
            channel.closed();
            if (stream != null) {
                stream.close(); // before the mirror is unmapped: the pump's threads use it
            }
            LaneClaims.release(region, ProcessHandle.current().pid()); // a claim the host did not free (gone)
        }
    }

    /**
     * After GOODBYE: waits (at most {@value #LANE_FREE_WAIT_MILLIS} ms) until the host has ended the session and freed
     * the lane's claim, so that a connect right after close finds the lane free (a guest of one lane reconnecting).
     */
    private void awaitLaneFreed() {
        long pid = ProcessHandle.current().pid();
        long deadline = System.nanoTime() + LANE_FREE_WAIT_MILLIS * 1_000_000L;
        while (region.laneClaim() == pid && System.nanoTime() < deadline) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static final long LANE_FREE_WAIT_MILLIS = 2000;
}
