package io.ferry.tee.soft;

import static io.ferry.protocol.TeeLane.CLOSE;
import static io.ferry.protocol.TeeLane.INVOKE;
import static io.ferry.protocol.TeeLane.OPEN;

import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeBackendConfig;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.storage.SecureStorage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The host side of the software TEE: one TEE process per TA instance, and an instance per (guest, TA) pair.
 *
 * <p>Why a process per (guest, TA). Guests must never share TA state: instance fields (a key in memory, an
 * attestation register), static fields and sealed storage all belong to one guest. A process of its own per pair
 * makes that hold for any TA, not only for the built-ins: the process is handed only its pair's derived storage
 * key and directory ({@link TeeMain}). And Java cannot stop a thread that spins, nor survive a TA that calls
 * {@code System.exit} or exhausts the heap; a process can be killed, and its death ends only that pair's sessions.
 *
 * <p>Per-call watchdog: every call (open, invoke, close) on an instance has {@link TeeBackendConfig#callLimitMillis}
 * (default 10 s). A call that runs longer, or whose process dies meanwhile, answers TARGET_DEAD (origin TEE); the
 * process is killed, and every other session of that instance answers TARGET_DEAD from then on. The next
 * OpenSession of that guest to that TA starts a new process. No other guest and no other TA notices.
 *
 * <p>Channel: one mapped file per instance (a {@link Lane}, mode 0600 in a private directory of mode 0700), a
 * mailbox with one call at a time (the TA runs one call at a time anyway). Chosen over a pipe or socket because the
 * goal is a guest → TA → guest round trip under 10 µs. Stdin of each process carries its configuration and its
 * life: when the host goes, stdin closes and the process exits.
 *
 * <p>Resources: at most {@link TeeBackendConfig#maxInstances} processes (default 32); when full, the instance idle
 * longest (no open session, no call) is stopped to make room, as GP stops an instance without
 * {@code instanceKeepAlive} when its last session closes; if none is idle, OpenSession answers OUT_OF_MEMORY.
 * Session ids carry the instance id (never reused) in their high 32 bits.
 */
public final class SoftTeeBackend implements TeeBackend {
    private static final Logger LOG = Logger.getLogger("ferry.tee");

    private final TeeBackendConfig config;
    private final Launcher launcher;
    private final Object lifecycle = new Object();
    private final Map<Instance.Key, Instance> live = new HashMap<>(); // guarded by lifecycle
    private final Map<Integer, Instance> byId = new ConcurrentHashMap<>();
    private int nextId; // guarded by lifecycle
    private final java.util.concurrent.atomic.AtomicLong nextSlot = new java.util.concurrent.atomic.AtomicLong();
    /** Invokes served on direct lanes by instances that have ended, per guest. */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> retiredDirect = new ConcurrentHashMap<>();
    /** Each guest's region, for its instances' direct lanes ({@link #guestRegion}). */
    private final Map<String, java.nio.file.Path> regions = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private SoftTeeBackend(TeeBackendConfig config, Launcher launcher) {
        this.config = config;
        this.launcher = launcher;
    }

    /** Prepares the lane directory; TA processes start on the first OpenSession of each (guest, TA) pair. */
    public static SoftTeeBackend start(TeeBackendConfig config) throws BackendException {
        SoftTeeBackend b = new SoftTeeBackend(config, Launcher.create(config));
        LOG.info("soft-tee: TAs from " + config.taDir() + ", one process per guest and TA (at most "
                + config.maxInstances() + "), call limit " + config.callLimitMillis() + " ms");
        return b;
    }

    @Override
    public String name() {
        return "soft-tee";
    }

    /**
     * As many calls as instances: each (guest, TA) instance is a process of its own that runs one call at a time, so
     * a call in flight holds only its own instance, never a thread another guest's instance needs. (The configured
     * thread count is for a TEE whose threads are shared, such as OP-TEE.)
     */
    @Override
    public int threads() {
        return Math.max(config.threads(), config.maxInstances());
    }

    /** The process id of {@code guest}'s instance of {@code ta} (for tests and status), or -1 if none runs. */
    public long pid(String guest, UUID ta) {
        Instance i;
        synchronized (lifecycle) {
            i = live.get(new Instance.Key(guest, ta));
        }
        if (i == null || i.dead) {
            return -1;
        }
        i.lock.lock();
        try {
            return i.process == null || i.dead ? -1 : i.process.pid();
        } finally {
            i.lock.unlock();
        }
    }

    /** TA instances (processes) running now. */
    public int instanceCount() {
        synchronized (lifecycle) {
            return (int) live.values().stream().filter(i -> !i.dead).count();
        }
    }

    // ---- calls ----

    @Override
    public TeeReturn openSession(String guest, UUID ta, int login, UUID clientUuid, TeeParams params,
                                 TeeCancellation cancel) {
        if (!SecureStorage.validGuest(guest)) {
            LOG.warning("soft-tee: refused an OpenSession for guest '" + guest + "': not a valid guest name");
            return TeeReturn.of(TeeWire.ERROR_BAD_PARAMETERS, TeeWire.ORIGIN_COMMS);
        }
        Instance.Key key = new Instance.Key(guest, ta);
        boolean running;
        synchronized (lifecycle) {
            Instance i = live.get(key);
            running = i != null && !i.dead && !i.exited;
        }
        if (!running) {
            // No instance yet: check the image before making room or starting anything (a missing or forged TA
            // costs a file read and a signature check, never a process).
            TeeReturn refused = launcher.verifyImage(ta);
            if (refused != null) {
                return refused;
            }
            if (launcher.perSession(ta)) {
                key = new Instance.Key(guest, ta, nextSlot.incrementAndGet()); // a fresh instance for this session
            }
        }
        // Twice at most: an instance that died while this call waited for it is replaced once.
        for (int attempt = 0; attempt < 2; attempt++) {
            Instance inst;
            synchronized (lifecycle) {
                if (closed) {
                    return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
                }
                inst = live.get(key);
                if (inst == null || inst.dead) {
                    if (!makeRoom()) {
                        LOG.warning("soft-tee: guest " + guest + " cannot open TA " + ta + ": " + instanceCount()
                                + " TA instances run, the limit is " + config.maxInstances() + ", and none is idle; "
                                + "close sessions or raise the TEE's maxInstances");
                        return TeeReturn.of(TeeWire.ERROR_OUT_OF_MEMORY, TeeWire.ORIGIN_TEE);
                    }
                    inst = new Instance(++nextId, key);
                    live.put(key, inst);
                    byId.put(inst.id, inst);
                }
            }
            if (!lock(inst)) {
                return TeeReturn.of(TeeWire.ERROR_BUSY, TeeWire.ORIGIN_COMMS);
            }
            try {
                if (inst.dead) {
                    continue;
                }
                if (inst.process == null) {
                    TeeReturn refused = launcher.verifyImage(ta);
                    if (refused == null) {
                        try {
                            Instance started = inst;
                            refused = launcher.spawn(inst, regions.get(guest), () -> died(started));
                        } catch (RuntimeException e) {
                            LOG.log(Level.WARNING, "soft-tee: cannot start " + inst.describe(), e);
                            refused = TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
                        }
                    }
                    if (refused != null) {
                        stop(inst, null);
                        return refused;
                    }
                }
                if (inst.exited || !inst.process.isAlive()) {
                    // ended between calls (a direct call's watchdog, a crash) and not yet stopped: start afresh
                    stop(inst, "its process " + inst.process.pid() + " ended" + exit(inst.process));
                    continue;
                }
                TeeReturn r = call(inst, OPEN, 0, 0, ta, login, clientUuid, params, cancel, "OpenSession");
                if (!r.ok()) {
                    if (key.perSession() && !inst.dead) {
                        stop(inst, null); // the instance was for this session only
                    }
                    return r;
                }
                inst.sessions++;
                return new TeeReturn(r.code(), r.origin(), ((long) inst.id << 32) | (r.session() & 0xFFFF_FFFFL));
            } finally {
                inst.lock.unlock();
            }
        }
        return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
    }

    @Override
    public TeeReturn invoke(long session, int command, TeeParams params, TeeCancellation cancel) {
        Instance inst = byId.get((int) (session >>> 32));
        if (inst == null || inst.dead) {
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        if (!lock(inst)) {
            return TeeReturn.of(TeeWire.ERROR_BUSY, TeeWire.ORIGIN_COMMS);
        }
        try {
            if (inst.dead) {
                return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
            }
            return call(inst, INVOKE, command, session & 0xFFFF_FFFFL, null, 0, null, params, cancel,
                    "command " + Integer.toUnsignedString(command));
        } finally {
            inst.lock.unlock();
        }
    }

    @Override
    public long directInvokes(String guest) {
        synchronized (retiredDirect) { // an instance's count moves to retiredDirect as it ends: counted once
            java.util.concurrent.atomic.AtomicLong retired = retiredDirect.get(guest);
            long n = retired == null ? 0 : retired.get();
            for (Instance i : byId.values()) {
                if (i.key.guest().equals(guest) && !i.dead) {
                    n += DirectLaneHost.served(i);
                }
            }
            return n;
        }
    }

    @Override
    public void guestRegion(String guest, java.nio.file.Path region) {
        regions.put(guest, region);
    }

    @Override
    public TeeReturn attachDirect(String guest, long session, DirectLane lane) {
        Instance inst = byId.get((int) (session >>> 32));
        if (inst == null || inst.dead) {
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        if (!inst.key.guest().equals(guest) || inst.regionInode == null
                || !inst.regionInode.equals(Launcher.inode(lane.region()))) {
            return TeeReturn.of(TeeWire.ERROR_NOT_SUPPORTED, TeeWire.ORIGIN_COMMS); // started without this region
        }
        if (!lock(inst)) {
            return TeeReturn.of(TeeWire.ERROR_BUSY, TeeWire.ORIGIN_COMMS);
        }
        try {
            if (inst.dead) { // an exited one DirectLaneHost.attach refuses itself
                return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
            }
            return DirectLaneHost.attach(inst, session, lane, TimeUnit.MILLISECONDS.toNanos(config.callLimitMillis()));
        } finally {
            inst.lock.unlock();
        }
    }

    @Override
    public void closeSession(long session) {
        Instance inst = byId.get((int) (session >>> 32));
        if (inst == null || inst.dead || !lock(inst)) {
            return;
        }
        try {
            if (!inst.dead) {
                call(inst, CLOSE, 0, session & 0xFFFF_FFFFL, null, 0, null, new TeeParams(), TeeCancellation.NEVER,
                        "CloseSession");
                DirectLaneHost.close(inst.direct.remove(session));
                inst.sessions = Math.max(0, inst.sessions - 1);
                if (inst.key.perSession() && inst.sessions == 0 && !inst.dead) {
                    stop(inst, null); // an instance per session ends with its session
                }
            }
        } finally {
            inst.lock.unlock();
        }
    }

    /**
     * The process of {@code inst} has ended (its output closed): its direct lanes answer TARGET_DEAD at once, and, unless
     * a call in progress holds the instance (it sees the death itself) or the host stopped it, the instance ends, so
     * the next OpenSession starts a fresh one. A direct call past the call limit ends this way: the instance's
     * process halts itself ({@link DirectLanes}).
     */
    private void died(Instance inst) {
        inst.exited = true; // first: a caller that hears TARGET_DEAD from a lane next opens a fresh instance
        DirectLaneHost.closeAll(inst);
        Process p = inst.process;
        if (inst.dead || p == null || closed) { // closed: the backend is stopping every instance itself
            return;
        }
        try {
            p.waitFor(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!inst.lock.tryLock()) {
            return;
        }
        try {
            if (!inst.dead) {
                stop(inst, "its process " + p.pid() + " ended" + exit(p));
            }
        } finally {
            inst.lock.unlock();
        }
    }

    private static String exit(Process p) {
        return p.isAlive() ? " (its output closed)" : " (exit " + p.exitValue() + ")";
    }

    /** Takes the instance's lock, waiting at most as long as a call (or a start) there may take. */
    private boolean lock(Instance inst) {
        try {
            if (inst.lock.tryLock(config.callLimitMillis() + Launcher.START_TIMEOUT_MILLIS + 1000, TimeUnit.MILLISECONDS)) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.warning("soft-tee: " + inst.describe() + " stayed busy; a call waiting for it answers BUSY");
        return false;
    }

    /** One call on a started instance (lock held). A dead or overrunning process ends the instance. */
    private TeeReturn call(Instance inst, int kind, int command, long session, UUID ta, int login, UUID client,
                           TeeParams params, TeeCancellation cancel, String what) {
        if (inst.exited || !inst.process.isAlive()) {
            stop(inst, "its process " + inst.process.pid() + " ended" + exit(inst.process));
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        inst.lastUsed = System.nanoTime();
        try {
            return exchange(inst, kind, command, session, ta, login, client, params, cancel, what);
        } finally {
            inst.lastUsed = System.nanoTime();
        }
    }

    private TeeReturn exchange(Instance inst, int kind, int command, long session, UUID ta, int login, UUID client,
                               TeeParams params, TeeCancellation cancel, String what) {
        LaneClient.Outcome outcome = inst.lane.call(inst.process, kind, command, session, ta, login, client, params,
                cancel, TimeUnit.MILLISECONDS.toNanos(config.callLimitMillis()));
        switch (outcome) {
            case REPLIED -> {
                return inst.lane.reply(params);
            }
            case TOO_LARGE -> {
                return TeeReturn.of(TeeWire.ERROR_EXCESS_DATA, TeeWire.ORIGIN_COMMS);
            }
            case DIED -> {
                Process p = inst.process;
                stop(inst, "its process " + p.pid() + " died during " + what
                        + (p.isAlive() ? "" : " with exit code " + p.exitValue()));
                return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
            }
            default -> {
                stop(inst, what + " ran past the call limit of " + config.callLimitMillis() + " ms (raise the TEE's "
                        + "callLimit if the TA needs longer)");
                return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
            }
        }
    }

    // ---- instances ----

    /** Under {@link #lifecycle}: true when another instance may start, stopping the longest-idle one if need be. */
    private boolean makeRoom() {
        live.values().removeIf(i -> i.dead);
        if (live.size() < config.maxInstances()) {
            return true;
        }
        Instance victim = null;
        for (Instance i : live.values()) {
            if (i.lock.tryLock()) {
                boolean idle = i.sessions == 0 && !i.dead;
                i.lock.unlock();
                if (idle && (victim == null || i.lastUsed < victim.lastUsed)) {
                    victim = i;
                }
            }
        }
        if (victim == null || !victim.lock.tryLock()) {
            return false;
        }
        try {
            if (victim.sessions != 0) {
                return false;
            }
            LOG.info("soft-tee: stopping idle " + victim.describe() + " to make room (" + live.size() + " of "
                    + config.maxInstances() + " instances run)");
            stop(victim, null);
        } finally {
            victim.lock.unlock();
        }
        live.values().removeIf(i -> i.dead);
        return live.size() < config.maxInstances();
    }

    /**
     * Ends an instance (lock held, or the instance not yet shared): kills its process, unmaps and deletes its lane.
     * Its sessions answer TARGET_DEAD from then on. {@code why} null is a quiet stop (idle, refused image, close).
     */
    private void stop(Instance inst, String why) {
        synchronized (retiredDirect) {
            if (!inst.dead) {
                retiredDirect.computeIfAbsent(inst.key.guest(), g -> new java.util.concurrent.atomic.AtomicLong())
                        .addAndGet(DirectLaneHost.served(inst));
            }
            inst.dead = true;
        }
        if (why != null) {
            LOG.warning("soft-tee: " + inst.describe() + " stopped: " + why + "; its " + inst.sessions
                    + " session(s) answer TARGET_DEAD, other guests and TAs are unaffected");
        }
        synchronized (lifecycle) {
            live.remove(inst.key, inst);
        }
        byId.remove(inst.id);
        Launcher.release(inst, why != null);
    }

    @Override
    public void close() {
        List<Instance> all;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            all = new ArrayList<>(live.values());
            live.clear();
        }
        for (Instance i : all) {
            byId.remove(i.id);
        }
        launcher.shutdown(all);
        LOG.info("soft-tee: stopped");
    }
}
