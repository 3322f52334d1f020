package io.ferry.tee.soft;

import io.ferry.protocol.TeeWire;
import io.ferry.tee.image.TaImage;
import io.ferry.tee.storage.SecureStorage;
import io.ferry.tee.ta.TaException;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TaStorage;
import io.ferry.tee.ta.TrustedApp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The heart of the software TEE: loads trusted applications from signed images, keeps their sessions, and runs
 * their calls with failure containment.
 *
 * <p>Why it is shaped this way. A TA is loaded only from an image whose Ed25519 signature verifies against the
 * configured keys (the check runs before any byte is parsed), into a class loader that shows it the JDK and the TA
 * API only. Instances are per guest: one instance serves all sessions of one guest to a TA and runs one call at a
 * time (its lock), with that guest's own sealed storage; no object of it is reachable from another guest's
 * instance. Any throwable other than {@link TaException} is a panic: the instance is marked dead, its sessions
 * answer TARGET_DEAD (origin TEE) from then on, and the next OpenSession loads a fresh instance with a fresh class
 * loader. Other TAs and other guests never notice. What Java cannot contain in a process (a TA that calls
 * {@code System.exit}, spins forever or exhausts the heap) is why {@link SoftTeeBackend} runs each (guest, TA)
 * instance in a process of its own under a per-call watchdog; see docs/tee.md.
 *
 * <p>Thread-safe: each lane thread of the TEE process calls it.
 */
public final class TaRuntime {
    private static final Logger LOG = Logger.getLogger("ferry.tee");

    /** A call's answer: GP code and origin, and the new session id for OpenSession. */
    public record Result(int code, int origin, long session) {
        static Result of(int code, int origin) {
            return new Result(code, origin, 0);
        }
    }

    /** The sealed storage of one (guest, TA) pair. */
    @FunctionalInterface
    public interface Storages {
        TaStorage forTa(String guest, UUID ta);
    }

    private record Key(String guest, UUID ta) {
    }

    private final Path taDir;
    private final List<PublicKey> trusted;
    private final Storages storage;
    private final Map<Key, Instance> instances = new ConcurrentHashMap<>();
    private final Map<Long, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicLong sessionIds = new AtomicLong();

    public TaRuntime(Path taDir, List<PublicKey> trusted, SecureStorage storage) {
        this(taDir, trusted, storage::forTa);
    }

    public TaRuntime(Path taDir, List<PublicKey> trusted, Storages storage) {
        this.taDir = taDir;
        this.trusted = List.copyOf(trusted);
        this.storage = storage;
    }

    private static final class Instance {
        final Key key;
        final TaImage image;
        final TrustedApp app;
        final ReentrantLock lock = new ReentrantLock();
        volatile boolean dead;

        Instance(Key key, TaImage image, TrustedApp app) {
            this.key = key;
            this.image = image;
            this.app = app;
        }
    }

    private static final class Session implements TaSession {
        final long id;
        final Instance instance;
        final int login;
        final UUID client;
        final TaStorage storage;
        volatile BooleanSupplier cancelled = () -> false;

        Session(long id, Instance instance, int login, UUID client, TaStorage storage) {
            this.id = id;
            this.instance = instance;
            this.login = login;
            this.client = client;
            this.storage = storage;
        }

        @Override
        public int login() {
            return login;
        }

        @Override
        public UUID clientUuid() {
            return client;
        }

        @Override
        public TaStorage storage() {
            return storage;
        }

        @Override
        public boolean isCancelled() {
            return cancelled.getAsBoolean();
        }
    }

    /**
     * Opens a session of {@code guest} to {@code ta}, loading (and verifying) the TA if that guest has no live
     * instance of it. {@code guest} is the host's word for the caller, never the guest's own.
     */
    public Result open(String guest, UUID ta, int login, UUID client, TaParams params, BooleanSupplier cancelled) {
        Instance inst;
        TaStorage store;
        try {
            inst = instance(new Key(guest, ta));
            store = storage.forTa(guest, ta);
        } catch (Refused r) {
            return Result.of(r.code, TeeWire.ORIGIN_TEE);
        } catch (RuntimeException e) {
            LOG.warning("no storage for guest " + guest + " and TA " + ta + ": " + e.getMessage());
            return Result.of(TeeWire.ERROR_STORAGE_NOT_AVAILABLE, TeeWire.ORIGIN_TEE);
        }
        long id = sessionIds.incrementAndGet();
        Session s = new Session(id, inst, login, client, store);
        s.cancelled = cancelled;
        int code = run(s, inst, () -> inst.app.openSession(s, params));
        if (code == TeeWire.ERROR_TARGET_DEAD && inst.dead) {
            return Result.of(code, TeeWire.ORIGIN_TEE);
        }
        if (code != TeeWire.SUCCESS) {
            return Result.of(code, TeeWire.ORIGIN_TRUSTED_APP);
        }
        sessions.put(id, s);
        return new Result(TeeWire.SUCCESS, TeeWire.ORIGIN_TRUSTED_APP, id);
    }

    /** Invokes a command in an open session. */
    public Result invoke(long session, int command, TaParams params, BooleanSupplier cancelled) {
        Session s = sessions.get(session);
        if (s == null) {
            return Result.of(TeeWire.ERROR_ITEM_NOT_FOUND, TeeWire.ORIGIN_TEE);
        }
        if (s.instance.dead) {
            return Result.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        s.cancelled = cancelled;
        int code = run(s, s.instance, () -> s.instance.app.invoke(s, command, params));
        if (s.instance.dead) {
            return Result.of(TeeWire.ERROR_TARGET_DEAD, TeeWire.ORIGIN_TEE);
        }
        return Result.of(code, TeeWire.ORIGIN_TRUSTED_APP);
    }

    /** Closes a session; the TA hears of it unless it is dead. */
    public void close(long session) {
        Session s = sessions.remove(session);
        if (s != null && !s.instance.dead) {
            run(s, s.instance, () -> {
                s.instance.app.closeSession(s);
                return TeeWire.SUCCESS;
            });
        }
    }

    /** Sessions open now (for tests and status). */
    public int sessionCount() {
        return sessions.size();
    }

    private interface TaCall {
        int call();
    }

    private int run(Session s, Instance inst, TaCall call) {
        inst.lock.lock();
        try {
            if (inst.dead) {
                return TeeWire.ERROR_TARGET_DEAD;
            }
            return call.call();
        } catch (TaException e) {
            return e.code();
        } catch (Throwable t) {
            // A panic: contain it to this TA instance (see the class comment).
            inst.dead = true;
            instances.remove(inst.key, inst);
            LOG.log(Level.WARNING, "TA " + inst.image.name() + " (" + inst.image.uuid() + ") of guest "
                    + inst.key.guest() + " panicked in session "
                    + s.id + ": " + t + "; its sessions now answer TARGET_DEAD", t instanceof Error ? null : t);
            return TeeWire.ERROR_TARGET_DEAD;
        } finally {
            inst.lock.unlock();
        }
    }

    private static final class Refused extends Exception {
        final int code;

        Refused(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    private synchronized Instance instance(Key key) throws Refused {
        UUID ta = key.ta();
        Instance live = instances.get(key);
        if (live != null && !live.dead) {
            return live;
        }
        Path file = taDir.resolve(ta + TaImage.SUFFIX);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Refused(TeeWire.ERROR_ITEM_NOT_FOUND, "no TA " + ta);
        } catch (IOException e) {
            LOG.warning("cannot read TA image " + file + ": " + e);
            throw new Refused(TeeWire.ERROR_ITEM_NOT_FOUND, "cannot read TA " + ta);
        }
        TaImage image;
        try {
            image = TaImage.verify(bytes, trusted);
        } catch (TaImage.RefusedException e) {
            LOG.warning("TA image " + file + " refused: " + e.getMessage());
            throw new Refused(TeeWire.ERROR_SECURITY, e.getMessage());
        }
        if (!image.uuid().equals(ta)) {
            LOG.warning("TA image " + file + " is signed for " + image.uuid() + ", not " + ta + ": refused");
            throw new Refused(TeeWire.ERROR_SECURITY, "image UUID mismatch");
        }
        TrustedApp app;
        try {
            Class<?> c = new TaClassLoader(image.name(), image.classes()).loadClass(image.className());
            if (!TrustedApp.class.isAssignableFrom(c)) {
                throw new Refused(TeeWire.ERROR_BAD_FORMAT, image.className() + " does not implement TrustedApp");
            }
            app = (TrustedApp) c.getDeclaredConstructor().newInstance();
        } catch (Refused r) {
            throw r;
        } catch (Throwable t) {
            LOG.warning("TA " + image.name() + " (" + ta + ") failed to load: " + t);
            throw new Refused(TeeWire.ERROR_TARGET_DEAD, "TA failed to load");
        }
        Instance inst = new Instance(key, image, app);
        instances.put(key, inst);
        LOG.info("TA " + image.name() + " (" + ta + ") version " + image.version() + " loaded for guest "
                + key.guest() + ", sha256 "
                + HexFormat.of().formatHex(image.sha256(), 0, 8));
        return inst;
    }
}
