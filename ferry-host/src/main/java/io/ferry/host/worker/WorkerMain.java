package io.ferry.host.worker;

import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.channel.SpscRing;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * A guest's device worker: a process of its own that runs one guest's CPU-device work, so that guest code compiled
 * to machine code (a PoCL kernel) can only harm this process. It maps the guest's region (for the heap) and its
 * private control region with the host, and nothing of any other guest.
 *
 * <p>Usage: {@code WorkerMain CONTROL_REGION GUEST_REGION HEAP_OFFSET HEAP_SIZE BACKEND GUEST [CLASS]}; in its sandbox
 * ({@link WorkerSandbox}) the two regions are {@code /proc/self/fd/4} and {@code /proc/self/fd/3}, descriptors the
 * host opened. It maps only the guest's heap, where the host says it is: the region's header is the guest's to
 * rewrite, so the worker never reads it (the host read and validated it once). It serves requests until CLOSE, or
 * until the host dies (the kernel sends it SIGKILL then: see {@link Sandbox}).
 */
public final class WorkerMain implements RecordHandler {
    private final SpscRing requests;
    private final SpscRing replies;
    private final BackendSession session;
    private final long[] r = new long[Wire.RESULT_WORDS];
    private byte[] blob;
    private boolean closing;

    private WorkerMain(Region control, BackendSession session) {
        this.requests = control.commandRing();
        this.replies = control.completionRing();
        this.session = session;
    }

    public static void main(String[] args) throws Exception {
        Sandbox.enterWorker();
        if (args.length > 6) {
            // before the device starts its threads, so that they inherit the guest's CPU priority
            OsPriority.applyToCurrentThread(io.ferry.host.sched.SchedClass.valueOf(args[6]));
        }
        Region control = Region.open(Path.of(args[0]));
        MemorySegment heap = mapHeap(Path.of(args[1]), Long.parseLong(args[2]), Long.parseLong(args[3]));
        ComputeBackend backend = null;
        for (ComputeBackend b : ServiceLoader.load(ComputeBackend.class)) {
            if (b.name().equals(args[4])) {
                backend = b;
            }
        }
        if (backend == null) {
            System.err.println("ferry worker: no backend '" + args[4] + "' on the class path");
            System.exit(3);
        }
        backend.devices();
        BackendSession session = backend.openSession(args[5], heap);
        WorkerMain w = new WorkerMain(control, session);
        control.connectAck(control.connectRequest()); // ready
        IdleStrategy idle = RingIdleStrategy.forRequests(w.requests, 100_000_000);
        while (!w.closing) {
            idle.idle(w.requests.poll(w, 16));
        }
        session.close();
        System.exit(0);
    }

    /** Maps {@code size} bytes at {@code offset} of the guest's region: its heap, and nothing else of it. */
    private static MemorySegment mapHeap(Path region, long offset, long size) throws java.io.IOException {
        try (FileChannel ch = FileChannel.open(region, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long fileSize = ch.size();
            if (offset < 0 || size <= 0 || offset > fileSize - size) {
                throw new IllegalStateException("the guest's region has " + fileSize + " bytes, no heap of " + size
                        + " bytes at " + offset);
            }
            return ch.map(FileChannel.MapMode.READ_WRITE, offset, size, Arena.global());
        }
    }

    @Override
    public void onRecord(int type, MemorySegment rec, int length) {
        WorkerOp op = WorkerOp.of(type);
        // the header once, into locals, before serving
        long seq = Wire.seq(rec, 0);
        boolean wantsReply = (Wire.flags(rec, 0) & Wire.FLAG_REPLY) != 0;
        java.util.Arrays.fill(r, 0);
        blob = null;
        Status status = Status.OK;
        try {
            if (op == null || length < Wire.CALL_HEADER_LENGTH + 8 * op.args) {
                throw new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request " + type);
            }
            serve(op, rec, length);
        } catch (BackendException e) {
            status = e.status();
            blob = Wire.utf8(e.getMessage() == null ? status.message() : e.getMessage());
        } catch (RuntimeException e) {
            status = Status.INTERNAL;
            blob = Wire.utf8("device worker: " + e);
        }
        if (status == Status.OK && !wantsReply) {
            return; // one-way request that went well: no answer
        }
        int n = blob == null ? 0 : Math.min(blob.length, Wire.MAX_COMPLETION_BLOB);
        int room = replies.maxRecordLength() - Wire.completionLength(0);
        if (n > room) {
            // a text longer than an answer can hold (a huge build log) is cut to fit, never a reason to stop
            blob = cut(blob, room);
            n = blob.length;
        }
        long at;
        while ((at = replies.tryClaim(type, Wire.completionLength(n))) < 0) {
            Thread.onSpinWait();
        }
        Wire.putCompletion(replies.segment(), at, seq, status.code(), r[0], r[1], r[2], r[3], blob, n);
        replies.publish();
    }

    private void serve(WorkerOp op, MemorySegment rec, int length) throws BackendException {
        int blobLength = Wire.blobLength(rec, 0);
        long blobAt = Wire.CALL_HEADER_LENGTH + 8L * op.args;
        if (blobLength < 0 || blobAt + blobLength > length) {
            throw new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request blob");
        }
        switch (op) {
            case CREATE_CONTEXT -> session.createContext(a(rec, 0), (int) a(rec, 1));
            case CREATE_QUEUE -> session.createQueue(a(rec, 0), a(rec, 1), a(rec, 2) != 0, (int) a(rec, 3));
            case CREATE_BUFFER -> session.createBuffer(a(rec, 0), a(rec, 1), a(rec, 2), (int) a(rec, 3), a(rec, 4));
            case CREATE_PROGRAM -> session.createProgram(a(rec, 0), a(rec, 1), SourceLanguage.of((int) a(rec, 2)),
                    Wire.string(rec, blobAt, blobLength));
            case BUILD_PROGRAM -> blob = Wire.utf8(session.buildProgram(a(rec, 0), Wire.string(rec, blobAt, blobLength)));
            case CREATE_KERNEL -> r[0] = session.createKernel(a(rec, 0), a(rec, 1), Wire.string(rec, blobAt, blobLength));
            case ARG_BUFFER -> session.setKernelArgBuffer(a(rec, 0), (int) a(rec, 1), a(rec, 2));
            case ARG_VALUE -> session.setKernelArgValue(a(rec, 0), (int) a(rec, 1), rec.asSlice(blobAt, blobLength));
            case ARG_LOCAL -> session.setKernelArgLocal(a(rec, 0), (int) a(rec, 1), a(rec, 2));
            case WRITE -> session.enqueueWrite(a(rec, 0), a(rec, 1), a(rec, 2), a(rec, 3), a(rec, 4), a(rec, 5));
            case READ -> session.enqueueRead(a(rec, 0), a(rec, 1), a(rec, 2), a(rec, 3), a(rec, 4), a(rec, 5));
            case COPY -> session.enqueueCopy(a(rec, 0), a(rec, 1), a(rec, 2), a(rec, 3), a(rec, 4), a(rec, 5),
                    a(rec, 6));
            case FILL -> session.enqueueFill(a(rec, 0), a(rec, 1), rec.asSlice(blobAt, blobLength), a(rec, 2),
                    a(rec, 3), a(rec, 4));
            case LAUNCH -> {
                int dims = (int) a(rec, 2);
                long flags = a(rec, 13);
                long[] offset = (flags & 1) != 0 ? new long[dims] : null;
                long[] global = new long[dims];
                long[] local = (flags & 2) != 0 ? new long[dims] : null;
                for (int i = 0; i < dims && i < 3; i++) {
                    if (offset != null) {
                        offset[i] = a(rec, 3 + i);
                    }
                    global[i] = a(rec, 6 + i);
                    if (local != null) {
                        local[i] = a(rec, 9 + i);
                    }
                }
                session.enqueueLaunch(a(rec, 0), a(rec, 1), dims, offset, global, local, a(rec, 12));
            }
            case FINISH -> session.finish(a(rec, 0));
            case WAIT_EVENT -> {
                long[] t = session.waitEvent(a(rec, 0));
                r[0] = t[0];
                r[1] = t[1];
            }
            case RELEASE -> session.release(a(rec, 0));
            case CLOSE -> closing = true;
            case PING -> {
                // a barrier: answering it says every earlier request has been served
            }
        }
        r[3] = session.deviceMemoryBytes();
    }

    /** {@code text} cut to at most {@code max} bytes, saying so at its end. */
    static byte[] cut(byte[] text, int max) {
        byte[] note = Wire.utf8("\n… (cut at " + max + " bytes of " + text.length + ")");
        byte[] out = java.util.Arrays.copyOf(text, Math.max(0, max - note.length));
        byte[] all = java.util.Arrays.copyOf(out, out.length + note.length);
        System.arraycopy(note, 0, all, out.length, note.length);
        return all;
    }

    private static long a(MemorySegment rec, int i) {
        return Wire.arg(rec, 0, i);
    }
}
