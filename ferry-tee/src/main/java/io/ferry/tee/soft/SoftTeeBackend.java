package io.ferry.tee.soft;

import static io.ferry.tee.soft.LaneMessages.*;

import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeBackendConfig;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
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
    static final long START_TIMEOUT_MILLIS = 20_000;
    /** Largest memref the lanes carry (4 of them per call). */
    public static final long MAX_MEMREF = 1024 * 1024;

    private final TeeBackendConfig config;
    private final Path laneDir;
    private final List<PublicKey> trusted = new ArrayList<>();
    private final Object lifecycle = new Object();
    private final Map<Key, Instance> live = new HashMap<>(); // guarded by lifecycle
    private final Map<Integer, Instance> byId = new ConcurrentHashMap<>();
    private int nextId; // guarded by lifecycle
    private volatile boolean closed;

    private record Key(String guest, UUID ta) {
    }

    /** One TA instance: its process and lane. Everything but the volatile fields is guarded by {@link #lock}. */
    private static final class Instance {
        final int id;
        final Key key;
        final ReentrantLock lock = new ReentrantLock();
        Process process;
        Lane lane;
        long seq;
        int sessions;
        volatile boolean dead;
        volatile long lastUsed = System.nanoTime();

        Instance(int id, Key key) {
            this.id = id;
            this.key = key;
        }

        String describe() {
            return "TA " + key.ta() + " of guest " + key.guest() + " (instance " + id
                    + (process == null ? "" : ", process " + process.pid()) + ")";
        }
    }

    /** How a wait for the TEE ended. */
    private enum Outcome { REPLIED, DIED, OVERRAN }

    private SoftTeeBackend(TeeBackendConfig config, Path laneDir) {
        this.config = config;
        this.laneDir = laneDir;
    }

    /** Prepares the lane directory; TA processes start on the first OpenSession of each (guest, TA) pair. */
    public static SoftTeeBackend start(TeeBackendConfig config) throws BackendException {
        Path dir;
        try {
            Files.createDirectories(config.workDir());
            dir = Files.createTempDirectory(config.workDir(), "soft-tee-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackendException(Status.INTERNAL, "cannot create the TEE lane directory in " + config.workDir()
                    + ": " + e);
        }
        SoftTeeBackend b = new SoftTeeBackend(config, dir);
        try {
            for (byte[] k : config.trustedKeys()) {
                b.trusted.add(TaImage.publicKey(k));
            }
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            b.close();
            throw new BackendException(Status.INVALID_ARGUMENT, "a trusted TA signing key is not an Ed25519 key: " + e);
        }
        LOG.info("soft-tee: TAs from " + config.taDir() + ", one process per guest and TA (at most "
                + config.maxInstances() + "), call limit " + config.callLimitMillis() + " ms");
        return b;
    }

    @Override
    public String name() {
        return "soft-tee";
    }

    @Override
    public int threads() {
        return config.threads();
    }

    /** The process id of {@code guest}'s instance of {@code ta} (for tests and status), or -1 if none runs. */
    public long pid(String guest, UUID ta) {
        Instance i;
        synchronized (lifecycle) {
            i = live.get(new Key(guest, ta));
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
        Key key = new Key(guest, ta);
        boolean running;
        synchronized (lifecycle) {
            Instance i = live.get(key);
            running = i != null && !i.dead;
        }
        if (!running) {
            // No instance yet: check the image before making room or starting anything (a missing or forged TA
            // costs a file read and a signature check, never a process).
            TeeReturn refused = verifyImage(ta);
            if (refused != null) {
                return refused;
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
                    TeeReturn refused = verifyImage(ta);
                    if (refused == null) {
                        try {
                            refused = spawn(inst);
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
                TeeReturn r = call(inst, OPEN, 0, 0, ta, login, clientUuid, params, cancel, "OpenSession");
                if (!r.ok()) {
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
    public void closeSession(long session) {
        Instance inst = byId.get((int) (session >>> 32));
        if (inst == null || inst.dead || !lock(inst)) {
            return;
        }
        try {
            if (!inst.dead) {
                call(inst, CLOSE, 0, session & 0xFFFF_FFFFL, null, 0, null, new TeeParams(), TeeCancellation.NEVER,
                        "CloseSession");
                inst.sessions = Math.max(0, inst.sessions - 1);
            }
        } finally {
            inst.lock.unlock();
        }
    }

    /** Takes the instance's lock, waiting at most as long as a call (or a start) there may take. */
    private boolean lock(Instance inst) {
        try {
            if (inst.lock.tryLock(config.callLimitMillis() + START_TIMEOUT_MILLIS + 1000, TimeUnit.MILLISECONDS)) {
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
        if (!inst.process.isAlive()) {
            stop(inst, "its process " + inst.process.pid() + " is gone (exit " + inst.process.exitValue() + ")");
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
        Lane lane = inst.lane;
        MemorySegment req = lane.request();
        req.set(INT, KIND, kind);
        req.set(INT, COMMAND, command);
        req.set(LONG, SESSION, session);
        req.set(LONG, TA_HI, ta == null ? 0 : ta.getMostSignificantBits());
        req.set(LONG, TA_LO, ta == null ? 0 : ta.getLeastSignificantBits());
        req.set(LONG, CLIENT_HI, client == null ? 0 : client.getMostSignificantBits());
        req.set(LONG, CLIENT_LO, client == null ? 0 : client.getLeastSignificantBits());
        req.set(INT, LOGIN, login);
        int types = 0;
        long data = 0;
        long[] placed = new long[TeeParams.COUNT];
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = params.type(i);
            types |= t << (4 * i);
            if (TeeParams.isMemref(t)) {
                MemorySegment buf = params.buffer(i);
                long size = params.size(i);
                if (buf == null) {
                    placed[i] = -1;
                } else {
                    if (buf.byteSize() > MAX_MEMREF || data + buf.byteSize() > lane.dataSize()) {
                        return TeeReturn.of(TeeWire.ERROR_EXCESS_DATA, TeeWire.ORIGIN_COMMS);
                    }
                    placed[i] = data;
                    // Every memref is copied in, output ones too (the host zeroed those): the lane never shows a
                    // TA what an earlier call left there.
                    MemorySegment.copy(buf, 0, lane.segment(), Lane.DATA_OFFSET + data, buf.byteSize());
                    size = buf.byteSize();
                    data += (buf.byteSize() + 63) & ~63L;
                }
                param(req, PARAMS, i, A, placed[i]);
                param(req, PARAMS, i, B, 0);
                param(req, PARAMS, i, C, size);
            } else {
                param(req, PARAMS, i, A, params.a(i));
                param(req, PARAMS, i, B, params.b(i));
                param(req, PARAMS, i, C, 0);
            }
        }
        req.set(INT, TYPES, types);
        long seq = ++inst.seq;
        lane.setRelease(Lane.REQUEST_SEQ, seq);
        Outcome outcome = await(inst, seq, cancel);
        if (outcome == Outcome.DIED) {
            Process p = inst.process;
            stop(inst, "its process " + p.pid() + " died during " + what
                    + (p.isAlive() ? "" : " with exit code " + p.exitValue()));
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        if (outcome == Outcome.OVERRAN) {
            stop(inst, what + " ran past the call limit of " + config.callLimitMillis() + " ms (raise the TEE's "
                    + "callLimit if the TA needs longer)");
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        MemorySegment reply = lane.reply();
        int ret = reply.get(INT, RET);
        int origin = reply.get(INT, ORIGIN);
        long newSession = reply.get(LONG, REPLY_SESSION);
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = params.type(i);
            if (TeeParams.isValue(t) && (t & 2) != 0) {
                params.setValue(i, param(reply, REPLY_PARAMS, i, A), param(reply, REPLY_PARAMS, i, B));
            } else if (TeeParams.isMemref(t) && (t & 2) != 0) {
                long out = param(reply, REPLY_PARAMS, i, C);
                params.setSize(i, out);
                MemorySegment buf = params.buffer(i);
                if (buf != null && out > 0) {
                    MemorySegment.copy(lane.segment(), Lane.DATA_OFFSET + placed[i], buf, 0,
                            Math.min(out, buf.byteSize()));
                }
            }
        }
        return new TeeReturn(ret, origin, newSession);
    }

    /** Waits for the reply to {@code seq}, forwarding a cancel request, within the call limit. */
    private Outcome await(Instance inst, long seq, TeeCancellation cancel) {
        Lane lane = inst.lane;
        Process p = inst.process;
        Backoff idle = new Backoff(200_000);
        long start = System.nanoTime();
        long limit = TimeUnit.MILLISECONDS.toNanos(config.callLimitMillis());
        long nextCheck = start + 1_000_000;
        boolean cancelSent = false;
        int spins = 0;
        while (lane.getAcquire(Lane.REPLY_SEQ) != seq) {
            idle.idle();
            if ((++spins & 127) != 0) {
                continue;
            }
            if (!cancelSent && cancel.requested()) {
                lane.setRelease(Lane.CANCEL_SEQ, seq);
                cancelSent = true;
            }
            long now = System.nanoTime();
            if (now >= nextCheck) {
                nextCheck = now + 1_000_000;
                if (!p.isAlive()) {
                    return lane.getAcquire(Lane.REPLY_SEQ) == seq ? Outcome.REPLIED : Outcome.DIED;
                }
                if (now - start > limit) {
                    return Outcome.OVERRAN;
                }
            }
        }
        return Outcome.REPLIED;
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

    /** Whether {@code ta}'s image exists and verifies; null when it does, else the answer (origin TEE). */
    private TeeReturn verifyImage(UUID ta) {
        Path file = config.taDir().resolve(ta + TaImage.SUFFIX);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return TeeReturn.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE);
        } catch (IOException e) {
            LOG.warning("soft-tee: cannot read TA image " + file + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE);
        }
        try {
            TaImage image = TaImage.verify(bytes, trusted);
            if (!image.uuid().equals(ta)) {
                LOG.warning("soft-tee: TA image " + file + " is signed for " + image.uuid() + ", not " + ta + ": refused");
                return TeeReturn.of(TeeWire.ERROR_SECURITY, TeeWire.ORIGIN_TEE);
            }
        } catch (TaImage.RefusedException e) {
            LOG.warning("soft-tee: TA image " + file + " refused: " + e.getMessage());
            return TeeReturn.of(TeeWire.ERROR_SECURITY, TeeWire.ORIGIN_TEE);
        }
        return null;
    }

    /** Starts the instance's process (lock held); null when it is ready, else the answer. */
    private TeeReturn spawn(Instance inst) {
        Key key = inst.key;
        Path lanePath = laneDir.resolve(Lane.fileName(inst.id));
        try {
            inst.lane = Lane.create(lanePath, 4 * MAX_MEMREF);
        } catch (IOException | RuntimeException e) {
            LOG.warning("soft-tee: cannot create the lane of " + inst.describe() + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-XX:+UseSerialGC", "-Xmx128m", "-XX:-UsePerfData",
                "-Dferry.tee.spins=" + Backoff.spins(), "-cp", classPath(), TeeMain.class.getName());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            LOG.warning("soft-tee: cannot start the process of " + inst.describe() + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        inst.process = p;
        byte[] storageKey = SecureStorage.storageKey(config.rootKey(), key.guest(), key.ta());
        try {
            OutputStream stdin = p.getOutputStream();
            StringBuilder cfg = new StringBuilder();
            cfg.append("lane=").append(lanePath).append('\n');
            cfg.append("taDir=").append(config.taDir().toAbsolutePath()).append('\n');
            cfg.append("ta=").append(key.ta()).append('\n');
            cfg.append("guest=").append(key.guest()).append('\n');
            cfg.append("storeDir=").append(SecureStorage.storeDir(config.storageDir().toAbsolutePath(), key.guest(),
                    key.ta())).append('\n');
            for (byte[] k : config.trustedKeys()) {
                cfg.append("trustedKey=").append(Base64.getEncoder().encodeToString(k)).append('\n');
            }
            cfg.append("storageKey=").append(Base64.getEncoder().encodeToString(storageKey)).append('\n');
            cfg.append("end\n");
            stdin.write(cfg.toString().getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            LOG.warning("soft-tee: cannot configure the process of " + inst.describe() + ": " + e);
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        } finally {
            Arrays.fill(storageKey, (byte) 0);
        }
        CountDownLatch ready = new CountDownLatch(1);
        String tag = key.guest() + "/" + key.ta() + "[" + p.pid() + "]";
        Thread.ofPlatform().name("soft-tee-output-" + inst.id).daemon(true).start(() -> pump(p, tag, ready));
        try {
            if (!ready.await(START_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS) || !p.isAlive()) {
                LOG.warning("soft-tee: the process of " + inst.describe() + " did not become ready (exit "
                        + (p.isAlive() ? "none" : String.valueOf(p.exitValue())) + "); see the log above");
                return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
        LOG.info("soft-tee: " + inst.describe() + " started");
        return null;
    }

    /**
     * Ends an instance (lock held, or the instance not yet shared): kills its process, unmaps and deletes its lane.
     * Its sessions answer TARGET_DEAD from then on. {@code why} null is a quiet stop (idle, refused image, close).
     */
    private void stop(Instance inst, String why) {
        inst.dead = true;
        if (why != null) {
            LOG.warning("soft-tee: " + inst.describe() + " stopped: " + why + "; its " + inst.sessions
                    + " session(s) answer TARGET_DEAD, other guests and TAs are unaffected");
        }
        synchronized (lifecycle) {
            live.remove(inst.key, inst);
        }
        byId.remove(inst.id);
        Process p = inst.process;
        if (p != null) {
            try {
                p.getOutputStream().close();
            } catch (IOException e) {
                // it is being killed anyway
            }
            if (why != null) {
                p.destroyForcibly();
            } else {
                p.onExit().orTimeout(2, TimeUnit.SECONDS).exceptionally(t -> {
                    p.destroyForcibly();
                    return p;
                });
            }
        }
        if (inst.lane != null) {
            inst.lane.close();
            try {
                Files.deleteIfExists(inst.lane.path());
            } catch (IOException e) {
                LOG.log(Level.FINE, "soft-tee: could not delete " + inst.lane.path(), e);
            }
            inst.lane = null;
        }
    }

    private static void pump(Process p, String tag, CountDownLatch ready) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.equals("READY")) {
                    ready.countDown();
                } else if (line.startsWith("SEVERE") || line.startsWith("WARNING")) {
                    LOG.warning("soft-tee " + tag + ": " + line);
                } else {
                    LOG.info("soft-tee " + tag + ": " + line);
                }
            }
        } catch (IOException e) {
            LOG.fine("soft-tee output closed: " + e.getMessage());
        } finally {
            // The process ended (or closed its output): do not keep a starting call waiting for READY.
            ready.countDown();
        }
    }

    /** Class path of a TEE process: this module and the protocol constants, wherever they were loaded from. */
    private static String classPath() {
        Set<String> parts = new LinkedHashSet<>();
        for (Class<?> c : List.of(TeeMain.class, TeeWire.class)) {
            try {
                parts.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (URISyntaxException e) {
                throw new IllegalStateException("cannot locate the class path of " + c, e);
            }
        }
        return String.join(java.io.File.pathSeparator, parts);
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
            Process p = i.process;
            if (p != null) {
                try {
                    p.getOutputStream().close();
                } catch (IOException e) {
                    p.destroyForcibly();
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Instance i : all) {
            Process p = i.process;
            if (p != null) {
                try {
                    if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                }
            }
            boolean locked = i.lock.tryLock();
            try {
                i.dead = true;
                byId.remove(i.id);
                if (locked && i.lane != null) {
                    i.lane.close();
                    i.lane = null;
                }
            } finally {
                if (locked) {
                    i.lock.unlock();
                }
            }
        }
        try (var files = Files.list(laneDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(laneDir);
        } catch (IOException | UncheckedIOException e) {
            LOG.log(Level.FINE, "soft-tee: could not remove " + laneDir, e);
        }
        LOG.info("soft-tee: stopped");
    }
}
