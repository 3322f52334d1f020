package io.ferry.host.compute;

import io.ferry.channel.Handshake;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RegionLayout;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.SpscRing;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.sched.SchedClass;
import io.ferry.host.session.ProtocolViolation;
import io.ferry.host.session.Session;
import io.ferry.host.worker.OsPriority;
import io.ferry.host.worker.Sandbox;
import io.ferry.host.worker.ServeWords;
import io.ferry.host.worker.LeaseWords;
import io.ferry.host.worker.WorkerTurns;
import io.ferry.protocol.CallFailure;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import io.ferry.spi.ComputeBackend;
import java.io.IOException;
import java.io.StringReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * A guest's session, served in the guest's sandboxed device worker: the worker consumes the guest's command ring and
 * produces its completions directly, so a device call crosses no process boundary beyond the guest's own (the host
 * served the session's HELLO and its first calls, then handed the ring over at the first compute call; see
 * {@code io.ferry.host.endpoint.WorkerServed}). Compute calls run here, on this worker's own backend, through the same
 * {@link Session} and {@link ComputeCalls} the host uses; calls of other services (the TEE's) are forwarded to the
 * host ({@link HostLink}). The figures and every call that waits for device work or builds a program are published in the control region
 * ({@link ServeWords}) for the host's status and watchdog.
 *
 * <p>Usage (as the worker's main class, in its sandbox): {@code InWorker CONTROL_REGION GUEST_REGION SETTINGS} where
 * SETTINGS is the base64 of a properties text the host wrote ({@link #settings}).
 */
public final class InWorker {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    /** Worker → host: the session ended here (arg 0: status code; blob: the reason). */
    public static final int ENDED = Wire.WORKER_FIRST + 0x10;
    /** Worker → host: a device turn, see {@link HostLink}. */
    public static final int GRANT_REQUEST = HostLink.REQUEST;
    public static final int GRANT_DONE = HostLink.DONE;
    public static final int DECLARE_RELEASE = HostLink.DECLARE;
    public static final int GRANT_ANSWER = HostLink.GRANTED;

    /** Lease words of device {@code i} lie at {@link #LEASES_OFFSET} + 256 i of the control region's header. */
    public static final long LEASES_OFFSET = 2048;
    public static final int MAX_LEASED_DEVICES = 8;

    private InWorker() {
    }

    /** The lease words of device {@code index} in a control region's mapping. */
    public static LeaseWords leaseWords(MemorySegment control, int index) {
        return new LeaseWords(control, LEASES_OFFSET + LeaseWords.SIZE * index);
    }

    /** The settings a worker serving {@code guest}'s session needs, as the host passes them. */
    public static String settings(HostConfig host, HostConfig.GuestConfig guest, int lane, String backend,
                                  long sessionId, long connectNonce, long guestPid, boolean pidVerified,
                                  CallFailure pending, Devices devices) {
        Properties p = new Properties();
        // the host's devices, in the host's order and by identity: the worker numbers them as the host does (the host
        // left out devices its filter or a VFIO assignment excludes; the sandbox may hide some of the backend's)
        WorkerDevices.write(devices, p);
        for (Devices.Device d : devices.all()) { // withdrawn by the operator: the worker refuses them as the host does
            String why = devices.withdrawnReason(d.index());
            if (why != null) {
                p.setProperty("withdrawn." + d.index(), why);
            }
        }
        p.setProperty("guest", guest.name());
        p.setProperty("regionSize", Long.toString(guest.regionSize()));
        p.setProperty("lanes", Integer.toString(GuestLayout.lanes(guest)));
        p.setProperty("lane", Integer.toString(lane));
        p.setProperty("backend", backend);
        p.setProperty("session", Long.toString(sessionId));
        p.setProperty("nonce", Long.toString(connectNonce));
        p.setProperty("pid", Long.toString(guestPid));
        p.setProperty("verified", Boolean.toString(pidVerified));
        p.setProperty("services", String.join(",", guest.services()));
        Quotas q = guest.quotas();
        p.setProperty("quotas", q.deviceMemoryBytes() + "," + q.objects() + "," + q.commandsInFlight() + ","
                + q.oneWayOutstanding() + "," + q.lanes());
        p.setProperty("class", guest.schedClass().name());
        p.setProperty("policy", host.scheduling().policy().name());
        if (guest.reservation() != null) { // for the worker's check of a release declaration
            p.setProperty("reservation", guest.reservation().budgetNanos() + "," + guest.reservation().periodNanos());
        }
        p.setProperty("realtime", io.ferry.host.worker.RealTime.Settings.of(host.scheduling(), guest.schedClass())
                .encode());
        p.setProperty("waitLimit", Long.toString(host.scheduling().policy() == HostConfig.Policy.FIFO
                ? guest.overrunLimitNanos() : 0));
        p.setProperty("compileLimit", Long.toString(host.workerLimits().compileTimeNanos()));
        if (pending != null) {
            p.setProperty("pending", pending.seq() + "," + pending.op().code() + "," + pending.status().code() + ","
                    + Base64.getEncoder().encodeToString(pending.message().getBytes(StandardCharsets.UTF_8)));
        }
        java.io.StringWriter w = new java.io.StringWriter();
        try {
            p.store(w, null);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return Base64.getEncoder().encodeToString(w.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** What the worker knows of its guest to check a release declaration: its class and reservation. */
    private static io.ferry.host.sched.TenantSpec releaseSpec(SchedClass c, String reservation) {
        String[] r = reservation == null ? null : reservation.split(",");
        return new io.ferry.host.sched.TenantSpec(0, "this guest", c, 1, r == null ? null
                : new io.ferry.host.sched.Reservation(Long.parseLong(r[0]), Long.parseLong(r[1])));
    }

    public static void main(String[] args) throws Exception {
        Sandbox.enterWorker();
        Properties p = new Properties();
        p.load(new StringReader(new String(Base64.getDecoder().decode(args[2]), StandardCharsets.UTF_8)));
        SchedClass schedClass = SchedClass.valueOf(p.getProperty("class"));
        if (HostConfig.Policy.valueOf(p.getProperty("policy")) == HostConfig.Policy.FERRY) {
            // before the device starts its threads, so that they inherit the guest's CPU priority
            OsPriority.applyToWorkerThread(schedClass, io.ferry.host.worker.RealTime.Settings.decode(
                    p.getProperty("realtime")));
        }
        Region control = Region.open(Path.of(args[0]));
        long regionSize = Long.parseLong(p.getProperty("regionSize"));
        RegionLayout layout = RegionLayout.forSize(regionSize, Integer.parseInt(p.getProperty("lanes")));
        int lane = Integer.parseInt(p.getProperty("lane"));
        // the guest's whole region: its lane's rings and heap slice where the host's layout (not the header) says
        MemorySegment region;
        try (FileChannel ch = FileChannel.open(Path.of(args[1]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (ch.size() < regionSize) {
                throw new IllegalStateException("the guest's region has " + ch.size() + " bytes, not " + regionSize);
            }
            region = ch.map(FileChannel.MapMode.READ_WRITE, 0, regionSize, Arena.global());
        }
        SpscRing commands = new SpscRing("command", region.asSlice(layout.commandRingOffset(lane),
                RegionDescriptor.sectionSizeFor(layout.commandRingCapacity())), layout.commandRingCapacity());
        SpscRing completions = new SpscRing("completion", region.asSlice(layout.completionRingOffset(lane),
                RegionDescriptor.sectionSizeFor(layout.completionRingCapacity())), layout.completionRingCapacity());
        MemorySegment heap = region.asSlice(layout.laneHeapOffset(lane), layout.laneHeapSize());

        String backendName = p.getProperty("backend");
        ComputeBackend backend = null;
        for (ComputeBackend b : ServiceLoader.load(ComputeBackend.class)) {
            if (b.name().equals(backendName)) {
                backend = b;
            }
        }
        if (backend == null) {
            System.err.println("ferry worker: no backend '" + backendName + "' on the class path");
            System.exit(3);
        }
        ServeWords words = new ServeWords(control.segment());
        Devices devices = WorkerDevices.read(backend, p);
        for (Devices.Device d : devices.all()) {
            String why = p.getProperty("withdrawn." + d.index());
            if (why != null) {
                devices.withdraw(d.index(), why);
            }
        }
        String[] q = p.getProperty("quotas").split(",");
        Quotas quotas = new Quotas(Long.parseLong(q[0]), Integer.parseInt(q[1]), Integer.parseInt(q[2]),
                Integer.parseInt(q[3]), Integer.parseInt(q[4]));
        String guest = p.getProperty("guest");
        Set<String> services = Set.of(p.getProperty("services").split(","));
        HostConfig.GuestConfig config = new HostConfig.GuestConfig(guest, regionSize, null, schedClass, 1, services,
                quotas);
        // in here the device runs in this process: the worker is the isolation
        HostConfig local = new HostConfig(Path.of("/tmp"), false, List.of(), List.of(config))
                .withIsolation(HostConfig.Isolation.INPROCESS);
        HostLink host = new HostLink(control.completionRing(), control.commandRing());
        // under the host's scheduler every device command takes its turn: free under a lease, else asked for
        Map<Devices.Device, DeviceTurns> turns = new java.util.HashMap<>();
        if (HostConfig.Policy.valueOf(p.getProperty("policy")) == HostConfig.Policy.FERRY) {

            for (Devices.Device d : devices.all()) {
                if (d.index() < MAX_LEASED_DEVICES) {
                    turns.put(d, DeviceTurns.inWorker(new WorkerTurns(leaseWords(control.segment(), d.index()),
                            host.forDevice(d.index())), releaseSpec(schedClass, p.getProperty("reservation"))));
                }
            }
        }
        ComputeService compute = new ComputeService(local, config, 0, turns, Path.of(args[1]), lane, devices);

        Session session = new Session(config, Long.parseLong(p.getProperty("session")), new long[4], pid -> false,
                completions, heap, devices.all().size(), compute::open, host);
        session.resume(Long.parseLong(p.getProperty("pid")), Boolean.parseBoolean(p.getProperty("verified")));
        String pending = p.getProperty("pending");
        if (pending != null) {
            String[] f = pending.split(",", 4);
            session.pendingFailure(new CallFailure(Long.parseLong(f[0]), Op.of(Integer.parseInt(f[1])),
                    Status.of(Integer.parseInt(f[2])), new String(Base64.getDecoder().decode(f[3]),
                    StandardCharsets.UTF_8)));
        }
        session.counts(new io.ferry.host.worker.WorkerCallTable(control.segment()));
        session.beforeCompletion(() -> words.figures(session.calls(), session.objects(), session.deviceMemoryBytes(),
                session.commandsInFlight()));
        Handshake.accept(control, ProcessHandle.current().pid()); // ready: the host stops reading the ring
        long nonce = Long.parseLong(p.getProperty("nonce"));
        long waitLimit = Long.parseLong(p.getProperty("waitLimit"));
        long compileLimit = Long.parseLong(p.getProperty("compileLimit"));
        // the calls that wait for device work or build are announced, so the host's watchdog can time them
        RecordHandler timed = (type, rec, length) -> {
            boolean build = type == Op.PROGRAM_BUILD.code() || type == Op.PROGRAM_COMPILE.code()
                    || type == Op.PROGRAM_LINK.code();
            boolean waits = build || type == Op.FINISH.code() || type == Op.EVENT_WAIT.code();
            if (waits) {
                words.busy(build ? compileLimit : waitLimit, build);
            }
            try {
                session.onRecord(type, rec, length);
            } finally {
                if (waits) {
                    words.idle();
                }
            }
        };
        long request = RegionDescriptor.laneWordsOffset(lane) + RegionDescriptor.LANE_CONNECT_REQUEST_OFFSET;
        // waits for the guest's next call; moves off a CPU it shares with the guest (RingIdleStrategy)
        IdleStrategy idle = RingIdleStrategy.forRequests(commands, completions, 50_000_000);
        int exit = serve(session, timed, commands, idle, control, words, region.asSlice(request, 8), nonce);
        System.exit(exit);
    }

    /** Serves the session until it ends; tells the host how, and returns the process's exit code. */
    private static int serve(Session session, RecordHandler calls, SpscRing commands, IdleStrategy idle,
                             Region control, ServeWords words, MemorySegment connectRequest, long nonce) {
        boolean[] close = new boolean[1];
        RecordHandler fromHost = (type, rec, length) -> close[0] |= type == Wire.WORKER_CLOSE;
        Status status;
        String reason;
        while (true) {
            int n;
            try {
                n = commands.poll(calls, 64);
            } catch (RingCorruptedException | ProtocolViolation e) {
                status = Status.PROTOCOL_VIOLATION;
                reason = e.getMessage();
                break;
            } catch (RuntimeException e) {
                status = Status.INTERNAL;
                reason = "internal error in the device worker: " + e;
                e.printStackTrace();
                break;
            }
            words.figures(session.calls(), session.objects(), session.deviceMemoryBytes(),
                    session.commandsInFlight());
            if (session.goodbye()) {
                status = Status.OK;
                reason = "guest said goodbye";
                break;
            }
            n += control.commandRing().poll(fromHost, 4);
            if (close[0]) {
                status = Status.SESSION_CLOSED;
                reason = "closed by the host";
                break;
            }
            if (n == 0 && (long) LONG.getAcquire(connectRequest, 0L) != nonce) {
                status = Status.SESSION_CLOSED;
                reason = "the guest reconnected";
                break;
            }
            idle.idle(n);
        }
        // After a GOODBYE the host hears first: the guest, answered, may exit at once, and the host would take a
        // guest that leaves before the worker's word for one gone (it kills the worker on this word, mid-close or not).
        boolean goodbye = session.goodbye();
        if (goodbye) {
            tellHost(control, status, reason);
        }
        // a reconnecting guest resets its rings: no notice for it; otherwise the guest learns why
        session.close(reason.equals("the guest reconnected") ? Status.OK : status, reason);
        words.figures(session.calls(), 0, 0, 0);
        if (!goodbye) {
            tellHost(control, status, reason);
        }
        return 0;
    }

    /** Tells the host how the session ended (a record ENDED: status, reason), waiting up to 1 s for room. */
    private static void tellHost(Region control, Status status, String reason) {
        byte[] why = Wire.utf8(reason);
        SpscRing toHost = control.completionRing();
        int length = CallRecord.length(1, Math.min(why.length, 4096));
        long at;
        long deadline = System.nanoTime() + 1_000_000_000L;
        while ((at = toHost.tryClaim(ENDED, length)) < 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        if (at >= 0) {
            int blob = length - CallRecord.length(1, 0);
            new CallRecord().wrap(toHost.segment(), at).header(0, 0, blob).arg(0, status.code());
            MemorySegment.copy(why, 0, toHost.segment(), ValueLayout.JAVA_BYTE, at + CallRecord.length(1, 0), blob);
            toHost.publish();
        }
    }
}
