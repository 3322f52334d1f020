package io.ferry.host.worker;

import io.ferry.channel.RingIdleStrategy;
import io.ferry.channel.IdleStrategy;
import io.ferry.channel.Handshake;
import io.ferry.channel.RecordHandler;
import io.ferry.channel.Region;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.SpscRing;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.ComputeBackend;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
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
 * rewrite, so the worker never reads it (the host read and validated it once). It serves requests until
 * {@link Wire#WORKER_CLOSE}, or until the host dies (the kernel sends it SIGKILL then: see {@link Sandbox}).
 *
 * <p>Requests are the guest protocol's own call records ({@link Calls}), answered with its completion records: a
 * request without the REPLY flag is answered only when it fails; requests are served in order.
 */
public final class WorkerMain implements RecordHandler {
    private final SpscRing requests;
    private final SpscRing replies;
    private final BackendSession session;
    private final long[] r = new long[CompletionRecord.RESULT_WORDS];
    private final CompletionRecord answer = new CompletionRecord();
    private final CallRecord any = new CallRecord();
    private final Calls.ContextCreate contextCreate = new Calls.ContextCreate();
    private final Calls.QueueCreate queueCreate = new Calls.QueueCreate();
    private final Calls.BufferCreate bufferCreate = new Calls.BufferCreate();
    private final Calls.ProgramCreate programCreate = new Calls.ProgramCreate();
    private final Calls.ProgramBuild programBuild = new Calls.ProgramBuild();
    private final Calls.KernelCreate kernelCreate = new Calls.KernelCreate();
    private final Calls.KernelArgBuffer argBuffer = new Calls.KernelArgBuffer();
    private final Calls.KernelArgValue argValue = new Calls.KernelArgValue();
    private final Calls.KernelArgLocal argLocal = new Calls.KernelArgLocal();
    private final Calls.BufferWrite write = new Calls.BufferWrite();
    private final Calls.BufferRead read = new Calls.BufferRead();
    private final Calls.BufferCopy copy = new Calls.BufferCopy();
    private final Calls.BufferFill fill = new Calls.BufferFill();
    private final Calls.Launch launch = new Calls.Launch();
    private final Calls.Finish finish = new Calls.Finish();
    private final Calls.EventWait eventWait = new Calls.EventWait();
    private final Calls.Release release = new Calls.Release();
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
            OsPriority.applyToWorkerThread(io.ferry.host.sched.SchedClass.valueOf(args[6]),
                    RealTime.Settings.decode(args.length > 7 ? args[7] : null));
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
        io.ferry.spi.sandbox.FaultHandlers.warnIfTaken(java.util.logging.Logger.getLogger("ferry.worker"),
                "the device worker of guest " + args[5]);
        WorkerMain w = new WorkerMain(control, session);
        Handshake.accept(control, ProcessHandle.current().pid()); // ready
        IdleStrategy idle = RingIdleStrategy.forRequests(w.requests, w.replies, 100_000_000);
        try {
            while (!w.closing) {
                idle.idle(w.requests.poll(w, 16));
            }
        } catch (RingCorruptedException e) {
            // the host's ring is trusted, so this is a bug or memory corruption: say so (the host logs our stderr)
            System.err.println("ferry worker: the request ring is corrupt, stopping: " + e.getMessage());
            System.exit(4);
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
        CallRecord call = any.wrap(rec, 0);
        // the header once, into locals, before serving
        long seq = call.seq();
        boolean wantsReply = call.wantsReply();
        java.util.Arrays.fill(r, 0);
        blob = null;
        Status status = Status.OK;
        try {
            serve(type, rec, length);
        } catch (BackendException e) {
            status = e.status();
            blob = Wire.utf8(e.getMessage() == null ? status.message() : e.getMessage());
            java.util.Arrays.fill(r, 0);
            r[io.ferry.protocol.NativeError.RESULT_WORD] = e.nativeError();
        } catch (RuntimeException e) {
            java.util.Arrays.fill(r, 0);
            status = Status.INTERNAL;
            blob = Wire.utf8("device worker: " + e);
        }
        if (status == Status.OK && !wantsReply) {
            return; // one-way request that went well: no answer
        }
        int n = blob == null ? 0 : Math.min(blob.length, Wire.MAX_COMPLETION_BLOB);
        int room = replies.maxRecordLength() - CompletionRecord.length(0);
        if (n > room) {
            // a text longer than an answer can hold (a huge build log) is cut to fit, never a reason to stop
            blob = cut(blob, room);
            n = blob.length;
        }
        long at;
        while ((at = replies.tryClaim(type, CompletionRecord.length(n))) < 0) {
            Thread.onSpinWait();
        }
        answer.wrap(replies.segment(), at).put(seq, status.code(), r[0], r[1], r[2], r[3], blob, n);
        replies.publish();
    }

    /**
     * Serves one request: a guest call of the {@link Op} catalogue, in the guest protocol's own record (the host
     * validated it; it is checked again here, since a corrupt record must fail loudly, not be served), or one of
     * the hop's own requests ({@link Wire#WORKER_PING}, {@link Wire#WORKER_CLOSE}).
     */
    private void serve(int type, MemorySegment rec, int length) throws BackendException {
        if (type == Wire.WORKER_CLOSE || type == Wire.WORKER_PING) {
            // PING is a barrier: answering it says every earlier request has been served
            closing |= type == Wire.WORKER_CLOSE;
            r[3] = session.deviceMemoryBytes();
            return;
        }
        Op op = Op.of(type);
        String problem = op == null ? "unknown opcode " + type : any.problem(length);
        if (problem != null) {
            throw new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request: " + problem);
        }
        switch (op) {
            case CONTEXT_CREATE -> {
                var c = contextCreate.wrap(rec, 0);
                session.createContext(c.context(), (int) c.device());
            }
            case QUEUE_CREATE -> {
                var c = queueCreate.wrap(rec, 0);
                session.createQueue(c.queue(), c.context(), (c.queueFlags() & Wire.QUEUE_PROFILING) != 0,
                        (int) c.priority(), (c.queueFlags() & Wire.QUEUE_OUT_OF_ORDER) != 0);
            }
            case BUFFER_CREATE -> {
                var c = bufferCreate.wrap(rec, 0);
                session.createBuffer(c.buffer(), c.context(), c.size(), (int) c.access(), c.heapOffset());
            }
            case PROGRAM_CREATE -> {
                var c = programCreate.wrap(rec, 0);
                session.createProgram(c.program(), c.context(), SourceLanguage.of((int) c.language()), c.blobText());
            }
            case PROGRAM_BUILD -> {
                var c = programBuild.wrap(rec, 0);
                blob = Wire.utf8(session.buildProgram(c.program(), c.blobText()));
            }
            case KERNEL_CREATE -> {
                var c = kernelCreate.wrap(rec, 0);
                r[0] = session.createKernel(c.kernel(), c.program(), c.blobText());
            }
            case KERNEL_ARG_BUFFER -> {
                var c = argBuffer.wrap(rec, 0);
                session.setKernelArgBuffer(c.kernel(), (int) c.index(), c.buffer());
            }
            case KERNEL_ARG_VALUE -> {
                var c = argValue.wrap(rec, 0);
                session.setKernelArgValue(c.kernel(), (int) c.index(), c.blob());
            }
            case KERNEL_ARG_LOCAL -> {
                var c = argLocal.wrap(rec, 0);
                session.setKernelArgLocal(c.kernel(), (int) c.index(), c.bytes());
            }
            case BUFFER_WRITE -> {
                var c = write.wrap(rec, 0);
                session.enqueueWrite(c.queue(), c.buffer(), c.offset(), c.size(), c.heapOffset(), c.event(),
                        waits(c, c.waits()));
            }
            case BUFFER_READ -> {
                var c = read.wrap(rec, 0);
                session.enqueueRead(c.queue(), c.buffer(), c.offset(), c.size(), c.heapOffset(), c.event(),
                        waits(c, c.waits()));
            }
            case BUFFER_COPY -> {
                var c = copy.wrap(rec, 0);
                session.enqueueCopy(c.queue(), c.source(), c.destination(), c.sourceOffset(), c.destinationOffset(),
                        c.size(), c.event(), waits(c, c.waits()));
            }
            case BUFFER_FILL -> {
                var c = fill.wrap(rec, 0);
                long[] waits = waits(c, c.waits());
                session.enqueueFill(c.queue(), c.buffer(), WaitList.payload(c, waits.length), c.offset(), c.size(),
                        c.event(), waits);
            }
            case LAUNCH -> {
                var c = launch.wrap(rec, 0);
                long d = c.dimensions();
                if (d < 1 || d > Calls.Launch.MAX_DIMENSIONS) {
                    throw new BackendException(Status.INVALID_WORK_SIZE, "launch of " + d + " dimensions");
                }
                int dims = (int) d;
                session.enqueueLaunch(c.queue(), c.kernel(), dims, c.offsets(dims), c.globals(dims), c.locals(dims),
                        c.event(), waits(c, c.waits()));
            }
            case FINISH -> session.finish(finish.wrap(rec, 0).queue());
            case MARKER, BARRIER, USER_EVENT_CREATE, USER_EVENT_SET, EVENT_STATUS, KERNEL_WORK_GROUP_INFO ->
                    WorkerEvents.serve(session, op, rec, r);
            case EVENT_WAIT -> {
                long[] t = session.waitEvent(eventWait.wrap(rec, 0).event());
                System.arraycopy(t, 0, r, 0, Math.min(t.length, 4));
            }
            case RELEASE -> session.release(release.wrap(rec, 0).handle());
            case INFO, PROGRAM_CREATE_BINARY, PROGRAM_COMPILE, PROGRAM_LINK, PROGRAM_CREATE_HEAP ->
                    blob = WorkerPrograms.serve(session, op, rec, r);
            case SUB_BUFFER_CREATE, BUFFER_WRITE_RECT, BUFFER_READ_RECT, BUFFER_COPY_RECT, IMAGE_CREATE, IMAGE_WRITE,
                 IMAGE_READ, SAMPLER_CREATE, KERNEL_ARG_SAMPLER ->
                    WorkerMemoryObjects.serve(op, rec, session);
            default -> throw new BackendException(Status.PROTOCOL_VIOLATION, op + " is no request for a device worker");
        }
        // r[3] is the call's own fourth result (EVENT_WAIT's submit time, KERNEL_WORK_GROUP_INFO's private memory):
        // the device-memory figure goes only with the hop's own PING and CLOSE answers
    }

    /** The wait list of a request (the host validated it; checked again, as every request here). */
    private static long[] waits(CallRecord c, long count) throws BackendException {
        String problem = WaitList.problem(c.spec().name(), count, c.blobLength());
        if (problem != null) {
            throw new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request: " + problem);
        }
        return WaitList.handles(c, count);
    }

    /** {@code text} cut to at most {@code max} bytes, saying so at its end. */
    static byte[] cut(byte[] text, int max) {
        byte[] note = Wire.utf8("\n… (cut at " + max + " bytes of " + text.length + ")");
        byte[] out = java.util.Arrays.copyOf(text, Math.max(0, max - note.length));
        byte[] all = java.util.Arrays.copyOf(out, out.length + note.length);
        System.arraycopy(note, 0, all, out.length, note.length);
        return all;
    }
}
