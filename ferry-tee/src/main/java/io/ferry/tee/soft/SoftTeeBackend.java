package io.ferry.tee.soft;

import static io.ferry.tee.soft.LaneMessages.*;

import io.ferry.host.spi.BackendException;
import io.ferry.host.spi.TeeBackend;
import io.ferry.host.spi.TeeBackendConfig;
import io.ferry.host.spi.TeeCancellation;
import io.ferry.host.spi.TeeParams;
import io.ferry.host.spi.TeeReturn;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The host side of the software TEE: starts the TEE process ({@link TeeMain}), supervises it, and carries calls
 * over its {@link Lane}s.
 *
 * <p>Channel: one mapped file per lane in a private directory (0700; files 0600), a mailbox each (see
 * {@link Lane}). Chosen over a pipe or socket because the goal is a guest → TA → guest round trip under 10 µs: a
 * spinning mailbox answers in well under a microsecond, a pipe costs a wake-up per direction. Stdin of the child
 * carries its configuration (the root key never appears on a command line) and its life: when the host goes,
 * stdin closes and the TEE exits.
 *
 * <p>Supervision: a waiting call checks every millisecond that the process lives; if it died, the call answers
 * COMMUNICATION (origin COMMS), every session of that process answers TARGET_DEAD (origin TEE), and the next
 * OpenSession starts a new process. Session ids carry the process generation in their high 32 bits.
 */
public final class SoftTeeBackend implements TeeBackend {
    private static final Logger LOG = Logger.getLogger("ferry.tee");
    static final long START_TIMEOUT_MILLIS = 20_000;
    /** Largest memref the lanes carry (4 of them per call). */
    public static final long MAX_MEMREF = 1024 * 1024;

    private final TeeBackendConfig config;
    private final Path laneDir;
    private final List<HostLane> lanes = new ArrayList<>();
    private final ConcurrentLinkedDeque<HostLane> free = new ConcurrentLinkedDeque<>();
    private final Semaphore permits;
    private final Object lifecycle = new Object();
    private volatile Process process;
    private volatile int generation;
    private volatile boolean closed;

    private static final class HostLane {
        final Lane lane;
        long seq;

        HostLane(Lane lane) {
            this.lane = lane;
        }
    }

    private SoftTeeBackend(TeeBackendConfig config, Path laneDir) {
        this.config = config;
        this.laneDir = laneDir;
        this.permits = new Semaphore(config.threads(), true);
    }

    /** Creates the lanes and starts the TEE process. */
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
            for (int i = 0; i < config.threads(); i++) {
                HostLane l = new HostLane(Lane.create(dir.resolve(Lane.fileName(i)), 4 * MAX_MEMREF));
                b.lanes.add(l);
                b.free.push(l);
            }
            b.spawn();
        } catch (IOException | RuntimeException | BackendException e) {
            b.close();
            if (e instanceof BackendException be) {
                throw be;
            }
            throw new BackendException(Status.INTERNAL, "cannot start the software TEE: " + e);
        }
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

    /** The TEE process's pid (for tests and status), or -1. */
    public long pid() {
        Process p = process;
        return p == null ? -1 : p.pid();
    }

    private void spawn() throws BackendException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-XX:+UseSerialGC", "-Xmx256m", "-XX:TieredStopAtLevel=4",
                "-cp", classPath(), TeeMain.class.getName());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new BackendException(Status.INTERNAL, "cannot start the TEE process: " + e);
        }
        try {
            OutputStream stdin = p.getOutputStream();
            StringBuilder cfg = new StringBuilder();
            cfg.append("lanes=").append(laneDir).append('\n');
            cfg.append("laneCount=").append(lanes.size()).append('\n');
            cfg.append("taDir=").append(config.taDir().toAbsolutePath()).append('\n');
            cfg.append("storageDir=").append(config.storageDir().toAbsolutePath()).append('\n');
            for (byte[] k : config.trustedKeys()) {
                cfg.append("trustedKey=").append(Base64.getEncoder().encodeToString(k)).append('\n');
            }
            cfg.append("rootKey=").append(Base64.getEncoder().encodeToString(config.rootKey())).append('\n');
            cfg.append("end\n");
            stdin.write(cfg.toString().getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            p.destroyForcibly();
            throw new BackendException(Status.INTERNAL, "cannot configure the TEE process: " + e);
        }
        CountDownLatch ready = new CountDownLatch(1);
        Thread.ofPlatform().name("soft-tee-output").daemon(true).start(() -> pump(p, ready));
        try {
            if (!ready.await(START_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS) || !p.isAlive()) {
                p.destroyForcibly();
                throw new BackendException(Status.INTERNAL, "the TEE process did not become ready (exit "
                        + (p.isAlive() ? "none" : String.valueOf(p.exitValue())) + "); see the log above");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new BackendException(Status.INTERNAL, "interrupted while the TEE process started");
        }
        process = p;
        generation++;
        LOG.info("soft-tee: process " + p.pid() + " (generation " + generation + ") serving " + lanes.size()
                + " lanes from " + laneDir + ", TAs from " + config.taDir());
    }

    private static void pump(Process p, CountDownLatch ready) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.equals("READY")) {
                    ready.countDown();
                } else if (line.startsWith("SEVERE") || line.startsWith("WARNING")) {
                    LOG.warning("soft-tee[" + p.pid() + "]: " + line);
                } else {
                    LOG.info("soft-tee[" + p.pid() + "]: " + line);
                }
            }
        } catch (IOException e) {
            LOG.fine("soft-tee output closed: " + e.getMessage());
        } finally {
            // The process ended (or closed its output): do not keep a starting host waiting for READY.
            ready.countDown();
        }
    }

    /** Class path of the TEE process: this module and the protocol constants, wherever they were loaded from. */
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

    private boolean alive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    @Override
    public TeeReturn openSession(UUID ta, int login, UUID clientUuid, TeeParams params, TeeCancellation cancel) {
        synchronized (lifecycle) {
            if (closed) {
                return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
            }
            if (!alive()) {
                LOG.warning("soft-tee: the TEE process is gone; starting a new one");
                try {
                    spawn();
                } catch (BackendException e) {
                    LOG.warning("soft-tee: restart failed: " + e.getMessage());
                    return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
                }
            }
        }
        int gen = generation;
        TeeReturn r = call(OPEN, 0, 0, ta, login, clientUuid, params, cancel);
        if (r.ok()) {
            return new TeeReturn(r.code(), r.origin(), ((long) gen << 32) | (r.session() & 0xFFFF_FFFFL));
        }
        return r;
    }

    @Override
    public TeeReturn invoke(long session, int command, TeeParams params, TeeCancellation cancel) {
        if ((int) (session >>> 32) != generation || !alive()) {
            return TeeReturn.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        return call(INVOKE, command, session & 0xFFFF_FFFFL, null, 0, null, params, cancel);
    }

    @Override
    public void closeSession(long session) {
        if ((int) (session >>> 32) == generation && alive()) {
            TeeParams none = new TeeParams();
            call(CLOSE, 0, session & 0xFFFF_FFFFL, null, 0, null, none, TeeCancellation.NEVER);
        }
    }

    private TeeReturn call(int kind, int command, long session, UUID ta, int login, UUID client, TeeParams params,
                           TeeCancellation cancel) {
        HostLane hl = acquire();
        if (hl == null) {
            return TeeReturn.of(TeeWire.ERROR_BUSY, TeeWire.ORIGIN_COMMS);
        }
        try {
            return exchange(hl, kind, command, session, ta, login, client, params, cancel);
        } finally {
            free.push(hl);
            permits.release();
        }
    }

    private HostLane acquire() {
        try {
            if (!permits.tryAcquire() && !permits.tryAcquire(10, TimeUnit.SECONDS)) {
                return null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        return free.pop();
    }

    private TeeReturn exchange(HostLane hl, int kind, int command, long session, UUID ta, int login, UUID client,
                               TeeParams params, TeeCancellation cancel) {
        Lane lane = hl.lane;
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
                    // TA what an earlier call of another guest left there.
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
        long seq = ++hl.seq;
        lane.setRelease(Lane.REQUEST_SEQ, seq);
        if (!await(hl, seq, cancel)) {
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
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

    /** Waits for the reply to {@code seq}; false when the TEE process died meanwhile. */
    private boolean await(HostLane hl, long seq, TeeCancellation cancel) {
        Lane lane = hl.lane;
        Backoff idle = new Backoff(200_000);
        long nextCheck = System.nanoTime() + 1_000_000;
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
                if (!alive()) {
                    Process p = process;
                    LOG.warning("soft-tee: the TEE process " + (p == null ? "" : p.pid() + " ") + "died"
                            + (p == null || p.isAlive() ? "" : " with exit code " + p.exitValue())
                            + " during a call; its sessions answer TARGET_DEAD");
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Process p = process;
        if (p != null) {
            try {
                p.getOutputStream().close();
                if (!p.waitFor(2, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (IOException | InterruptedException e) {
                p.destroyForcibly();
            }
        }
        for (HostLane l : lanes) {
            l.lane.close();
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
