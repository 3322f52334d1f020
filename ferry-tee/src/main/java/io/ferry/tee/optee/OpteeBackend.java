package io.ferry.tee.optee;

import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeBackendConfig;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * OP-TEE through the Linux TEE driver ({@code /dev/tee0}): open session, invoke, cancel and close ioctls, with each
 * memref registered ({@code TEE_IOC_SHM_REGISTER}) for the call. Marshalling is in {@link OpteeAbi} and is unit
 * tested byte for byte against the kernel layouts; this backend has <b>not been run on OP-TEE hardware</b> here.
 *
 * <p>Logins: the kernel derives the client UUID of USER and GROUP logins from the calling process, which is the
 * host daemon for every guest, so only PUBLIC is forwarded; other logins answer NOT_SUPPORTED (origin COMMS).
 *
 * <p>Guests: an OP-TEE TA keeps one instance and one storage per TA, and all it would learn of a caller is the
 * PUBLIC login, the same for every guest. So this backend cannot keep TA state per guest, and instead binds each TA
 * to the first guest that opens it (for the life of the daemon): any other guest's OpenSession to that TA answers
 * ACCESS_DENIED (origin COMMS) with a log line that says why. The binding is not persisted; see docs/tee.md.
 */
public final class OpteeBackend implements TeeBackend {
    private static final Logger LOG = Logger.getLogger("ferry.tee");

    private final int fd;
    private final int threads;
    private final AtomicInteger cancelIds = new AtomicInteger();
    private final java.util.concurrent.ConcurrentHashMap<UUID, String> owners = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closed;

    private OpteeBackend(int fd, int threads) {
        this.fd = fd;
        this.threads = threads;
    }

    public static OpteeBackend open(TeeBackendConfig config) throws BackendException {
        int fd;
        try {
            fd = Libc.open(config.device().toString(), Libc.O_RDWR | Libc.O_CLOEXEC);
        } catch (Libc.NativeException e) {
            throw new BackendException(Status.UNSUPPORTED, e.getMessage());
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(OpteeAbi.VERSION_LENGTH, 8);
            Libc.ioctl(fd, OpteeAbi.TEE_IOC_VERSION, v);
            int[] ver = OpteeAbi.version(v);
            if (ver[0] != OpteeAbi.IMPL_ID_OPTEE || (ver[2] & OpteeAbi.GEN_CAP_GP) == 0
                    || (ver[2] & OpteeAbi.GEN_CAP_REG_MEM) == 0) {
                Libc.close(fd);
                throw new BackendException(Status.UNSUPPORTED, config.device() + " is not OP-TEE with GP and "
                        + "registered memory (impl_id " + ver[0] + ", gen_caps 0x" + Integer.toHexString(ver[2]) + ")");
            }
        } catch (Libc.NativeException e) {
            Libc.close(fd);
            throw new BackendException(Status.UNSUPPORTED, e.getMessage());
        }
        LOG.info("optee: " + config.device() + " opened");
        return new OpteeBackend(fd, config.threads());
    }

    @Override
    public String name() {
        return "optee";
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public TeeReturn openSession(String guest, UUID ta, int login, UUID clientUuid, TeeParams params,
                                 TeeCancellation cancel) {
        if (login != TeeWire.LOGIN_PUBLIC) {
            return TeeReturn.of(TeeWire.ERROR_NOT_SUPPORTED, TeeWire.ORIGIN_COMMS);
        }
        String owner = owners.putIfAbsent(ta, guest);
        if (owner != null && !owner.equals(guest)) {
            LOG.warning("optee: guest " + guest + " may not open TA " + ta + ": it is bound to guest " + owner
                    + " (OP-TEE keeps one TA instance and storage for all callers, so a TA serves one guest); "
                    + "grant each guest its own TA in the policy");
            return TeeReturn.of(TeeWire.ERROR_ACCESS_DENIED, TeeWire.ORIGIN_COMMS);
        }
        int cancelId = cancelIds.incrementAndGet();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment arg = a.allocate(OpteeAbi.openSessionLength(TeeParams.COUNT), 8);
            OpteeAbi.putOpenSession(arg, ta, clientUuid, login, cancelId, TeeParams.COUNT);
            int[] shmFds = marshal(arg, OpteeAbi.OPEN_SESSION_LENGTH, params, a);
            try {
                ioctl(OpteeAbi.TEE_IOC_OPEN_SESSION, arg, cancel, cancelId, 0);
            } finally {
                release(shmFds);
            }
            unmarshal(arg, OpteeAbi.OPEN_SESSION_LENGTH, params);
            int ret = OpteeAbi.openSessionRet(arg);
            return new TeeReturn(ret, OpteeAbi.openSessionOrigin(arg),
                    ret == TeeWire.SUCCESS ? OpteeAbi.openSessionSession(arg) & 0xFFFF_FFFFL : 0);
        } catch (Libc.NativeException e) {
            LOG.warning("optee: open session failed: " + e.getMessage());
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
    }

    @Override
    public TeeReturn invoke(long session, int command, TeeParams params, TeeCancellation cancel) {
        int cancelId = cancelIds.incrementAndGet();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment arg = a.allocate(OpteeAbi.invokeLength(TeeParams.COUNT), 8);
            OpteeAbi.putInvoke(arg, command, (int) session, cancelId, TeeParams.COUNT);
            int[] shmFds = marshal(arg, OpteeAbi.INVOKE_LENGTH, params, a);
            try {
                ioctl(OpteeAbi.TEE_IOC_INVOKE, arg, cancel, cancelId, (int) session);
            } finally {
                release(shmFds);
            }
            unmarshal(arg, OpteeAbi.INVOKE_LENGTH, params);
            return TeeReturn.of(OpteeAbi.invokeRet(arg), OpteeAbi.invokeOrigin(arg));
        } catch (Libc.NativeException e) {
            LOG.warning("optee: invoke failed: " + e.getMessage());
            return TeeReturn.of(TeeWire.ERROR_COMMUNICATION, TeeWire.ORIGIN_COMMS);
        }
    }

    /** Writes the params, registering each memref buffer; returns the shared-memory fds to close after the call. */
    int[] marshal(MemorySegment arg, long paramsAt, TeeParams params, Arena a) throws Libc.NativeException {
        int[] fds = new int[TeeParams.COUNT];
        java.util.Arrays.fill(fds, -1);
        try {
            for (int i = 0; i < TeeParams.COUNT; i++) {
                int t = params.type(i);
                if (TeeParams.isValue(t)) {
                    OpteeAbi.putParam(arg, paramsAt, i, t, params.a(i), params.b(i), 0);
                } else if (TeeParams.isMemref(t)) {
                    MemorySegment buf = params.buffer(i);
                    if (buf == null || buf.byteSize() == 0) {
                        OpteeAbi.putParam(arg, paramsAt, i, t, 0, params.size(i), OpteeAbi.MEMREF_NULL);
                    } else {
                        MemorySegment reg = a.allocate(OpteeAbi.SHM_REGISTER_LENGTH, 8);
                        OpteeAbi.putShmRegister(reg, buf.address(), buf.byteSize());
                        fds[i] = Libc.ioctl(fd, OpteeAbi.TEE_IOC_SHM_REGISTER, reg);
                        OpteeAbi.putParam(arg, paramsAt, i, t, 0, buf.byteSize(), OpteeAbi.shmRegisterId(reg));
                    }
                } else {
                    OpteeAbi.putParam(arg, paramsAt, i, OpteeAbi.ATTR_NONE, 0, 0, 0);
                }
            }
        } catch (Libc.NativeException e) {
            release(fds);
            throw e;
        }
        return fds;
    }

    static void unmarshal(MemorySegment arg, long paramsAt, TeeParams params) {
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = params.type(i);
            if (TeeParams.isValue(t) && (t & 2) != 0) {
                params.setValue(i, OpteeAbi.param(arg, paramsAt, i, 1), OpteeAbi.param(arg, paramsAt, i, 2));
            } else if (TeeParams.isMemref(t) && (t & 2) != 0) {
                params.setSize(i, OpteeAbi.param(arg, paramsAt, i, 2));
            }
        }
    }

    private static void release(int[] fds) {
        for (int f : fds) {
            if (f >= 0) {
                Libc.close(f);
            }
        }
    }

    /** The blocking ioctl, with a watcher that turns a guest's cancel request into TEE_IOC_CANCEL. */
    private void ioctl(int request, MemorySegment arg, TeeCancellation cancel, int cancelId, int session)
            throws Libc.NativeException {
        Thread watcher = null;
        if (cancel != TeeCancellation.NEVER) {
            watcher = Thread.ofVirtual().start(() -> {
                try {
                    while (!cancel.requested()) {
                        Thread.sleep(1);
                    }
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment c = a.allocate(OpteeAbi.CANCEL_LENGTH, 8);
                        OpteeAbi.putCancel(c, cancelId, session);
                        Libc.ioctl(fd, OpteeAbi.TEE_IOC_CANCEL, c);
                    } catch (Libc.NativeException e) {
                        LOG.fine("optee: cancel failed: " + e.getMessage());
                    }
                } catch (InterruptedException e) {
                    // the call finished first
                }
            });
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(OpteeAbi.BUF_DATA_LENGTH, 8);
            OpteeAbi.putBufData(buf, arg.address(), arg.byteSize());
            Libc.ioctl(fd, request, buf);
        } finally {
            if (watcher != null) {
                watcher.interrupt();
            }
        }
    }

    @Override
    public void closeSession(long session) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(OpteeAbi.CLOSE_LENGTH, 4);
            OpteeAbi.putClose(c, (int) session);
            Libc.ioctl(fd, OpteeAbi.TEE_IOC_CLOSE_SESSION, c);
        } catch (Libc.NativeException e) {
            LOG.fine("optee: close session " + session + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}
