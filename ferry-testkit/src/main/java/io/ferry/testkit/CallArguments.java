package io.ferry.testkit;

import io.ferry.host.sched.SchedClass;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.SpscRing;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.protocol.WaitList;
import io.ferry.protocol.Wire;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import io.ferry.testkit.RawGuest.Reply;

/**
 * The arguments of the {@link SessionFuzzer}'s call-level cases: mostly valid handles, sizes and ranges (so calls
 * reach deep checks), sometimes foreign, zero, released or absurd ones; and the handle pool the hostile session
 * creates its objects from.
 */
final class CallArguments {
    private final SessionFuzzer f;

    CallArguments(SessionFuzzer f) {
        this.f = f;
    }

    long argument(Op op, int index, String name) {
        boolean creates = index == 0 && (op == Op.CONTEXT_CREATE || op == Op.QUEUE_CREATE || op == Op.BUFFER_CREATE
                || op == Op.PROGRAM_CREATE || op == Op.KERNEL_CREATE || op == Op.PROGRAM_CREATE_BINARY
                || op == Op.PROGRAM_LINK || op == Op.PROGRAM_CREATE_HEAP);
        if (creates) {
            return newHandle();
        }
        if (op == Op.INFO) {
            return infoArgument(name);
        }
        return switch (name) {
            case "context" -> handle(SessionFuzzer.CTX, Op.CONTEXT_CREATE);
            case "headers", "inputs" -> pick(0, 1, 1, 2, 64, 65, -1, Long.MAX_VALUE);
            case "queue" -> handle(SessionFuzzer.QUEUE, Op.QUEUE_CREATE);
            case "buffer", "source", "destination" -> handle(f.rnd.nextBoolean() ? SessionFuzzer.BUF : SessionFuzzer.HEAP_BUF, Op.BUFFER_CREATE);
            case "program" -> handle(SessionFuzzer.PROG, Op.PROGRAM_CREATE);
            case "kernel" -> handle(SessionFuzzer.KERNEL, Op.KERNEL_CREATE);
            case "handle" -> releaseTarget();
            case "shm", "session" -> f.rnd.nextInt(3) == 0 ? pooled() : handle(1 + f.rnd.nextInt(6));
            case "event" -> {
                if (op == Op.EVENT_WAIT && f.rnd.nextInt(4) != 0) {
                    long e = liveOf(Op.EVENT_WAIT);
                    if (e != 0) {
                        yield e;
                    }
                }
                yield switch (f.rnd.nextInt(6)) {
                    case 0, 1, 2 -> 0;
                    case 3 -> {
                        // an enqueue names a new event: assume it exists (RELEASE of one that does not is harmless)
                        long h = newHandle();
                        if (op != Op.EVENT_WAIT && h >= 100) {
                            f.live.put(h, Op.EVENT_WAIT);
                        }
                        yield h;
                    }
                    case 4 -> pooled();
                    default -> handle(SessionFuzzer.QUEUE);
                };
            }
            case "device" -> pick(0, 0, 0, 1, -1, f.devices.all().size(), Long.MAX_VALUE, f.rnd.nextLong());
            case "size", "bytes" -> size();
            case "offset", "source offset", "destination offset" -> offset(SessionFuzzer.BUF_SIZE);
            case "heap offset" -> f.rnd.nextInt(4) == 0 ? -1 : offset(SessionFuzzer.heapSize(f.calls));
            case "index" -> pick(0, 1, 2, 3, -1, 255, Integer.MAX_VALUE + 1L, f.rnd.nextLong());
            case "access" -> pick(0, 1, 2, 3, 4, -1);
            case "flags" -> pick(0, 0, 1, 2, -1);
            case "priority" -> pick(0, 1, -1, Integer.MAX_VALUE, Long.MIN_VALUE);
            case "language" -> pick(SourceLanguage.OPENCL_C.code(), 0, 1, 2, 3, 99, -1);
            case "value" -> f.rnd.nextLong();
            // a wait list's count: mostly none or what the blob may hold, sometimes past the blob or the limit
            case "waits" -> pick(0, 0, 0, 1, 2, 12, WaitList.MAX + 1, -1, Long.MIN_VALUE);
            case "execution status" -> pick(0, -1, 1, Integer.MIN_VALUE - 1L);
            default -> f.rnd.nextInt(4) == 0 ? f.rnd.nextLong() : f.rnd.nextInt(16);
        };
    }

    /**
     * INFO's arguments: kinds known and not, a handle of the base objects (device 0, the context, program or
     * kernel) or another, params the host answers and ones it refuses (pointer-valued among them), heap ranges.
     */
    long infoArgument(String name) {
        return switch (name) {
            case "kind" -> pick(1, 2, 3, 4, 5, 6, 7, 0, 8, -1);
            case "handle" -> pick(0, SessionFuzzer.CTX, SessionFuzzer.PROG, SessionFuzzer.KERNEL, 1 + f.rnd.nextInt(6),
                    pooled(), f.rnd.nextLong());
            case "param" -> pick(0x102B, 0x1000, 0x1031, 0x1042, 0x2051, 0x1166, 0x1165, 0x1168, 0x1183, 0x1191,
                    0x119A, 0x11B0, 0x1, 0x4, -1, f.rnd.nextInt(0x12000));
            case "index" -> pick(0, 0, 1, 2, 0x10F1, 0x10F2, -1, Long.MAX_VALUE);
            case "heap size" -> pick(0, 0, 0, 1, 64, 4096, SessionFuzzer.heapSize(f.calls), -1, Long.MAX_VALUE);
            default -> offset(SessionFuzzer.heapSize(f.calls));
        };
    }

    /** Mostly the given own handle; sometimes another own, a pooled, a foreign, zero or a random one. */
    long handle(long own) {
        return switch (f.rnd.nextInt(12)) {
            case 0 -> 1 + f.rnd.nextInt(6);
            case 1 -> pooled();
            case 2 -> SessionFuzzer.GOOD_BASE + 1 + f.rnd.nextInt(7);
            case 3 -> f.rnd.nextInt(3) == 0 ? 0 : f.rnd.nextLong();
            default -> own;
        };
    }

    /**
     * A f.live object of the kind {@code creator} makes: mostly the base one, often one the fuzzed f.calls created (so
     * those are used too); 1 in 8 a handle of the wrong kind, released, another session's or random.
     */
    long handle(long own, Op creator) {
        int r = f.rnd.nextInt(16);
        if (r < 2) {
            return handle(own);
        }
        if (r < 5) {
            long h = liveOf(creator);
            return h != 0 ? h : own;
        }
        return own;
    }

    long liveOf(Op creator) {
        List<Long> of = new ArrayList<>();
        for (var e : f.live.entrySet()) {
            if (e.getValue() == creator && e.getKey() >= 100) {
                of.add(e.getKey());
            }
        }
        return of.isEmpty() ? 0 : of.get(f.rnd.nextInt(of.size()));
    }

    /**
     * What RELEASE names: mostly an object the fuzzed f.calls created (keeping the session under its object quota),
     * sometimes a pooled (perhaps released) or random handle, and 1 in 64 a base object, re-created after the batch.
     */
    long releaseTarget() {
        int r = f.rnd.nextInt(64);
        if (r == 0) {
            f.baseLost = true;
            long h = 1 + f.rnd.nextInt(6);
            f.live.remove(h);
            return h;
        }
        if (r < 4) {
            return r == 1 ? f.rnd.nextLong() : pooled();
        }
        List<Long> created = new ArrayList<>();
        for (long h : f.live.keySet()) {
            if (h >= 100) {
                created.add(h);
            }
        }
        if (created.isEmpty()) {
            return pooled();
        }
        long h = created.get(f.rnd.nextInt(created.size()));
        f.live.remove(h);
        return h;
    }

    /** Handles this session created (or tried to); the f.pool stays small so the object quota is met and released. */
    long newHandle() {
        long h = f.rnd.nextInt(16) == 0 ? pick(0, SessionFuzzer.CTX, SessionFuzzer.KERNEL, SessionFuzzer.GOOD_BASE + 1) : f.nextHandle++;
        if (h >= 100) {
            f.pool.add(h);
            if (f.pool.size() > 200) {
                f.pool.subList(0, 100).clear();
            }
        }
        return h;
    }

    long pooled() {
        return f.pool.isEmpty() ? 99 : f.pool.get(f.rnd.nextInt(f.pool.size()));
    }

    long size() {
        return switch (f.rnd.nextInt(10)) {
            case 0 -> pick(0, -1, Long.MIN_VALUE, Long.MAX_VALUE);
            case 1 -> pick(SessionFuzzer.HOSTILE_QUOTAS.deviceMemoryBytes(), SessionFuzzer.HOSTILE_QUOTAS.deviceMemoryBytes() + 1, 1L << 40);
            case 2 -> pick(SessionFuzzer.BUF_SIZE, SessionFuzzer.BUF_SIZE + 1, SessionFuzzer.heapSize(f.calls), SessionFuzzer.heapSize(f.calls) + 8);
            default -> 1 + f.rnd.nextInt(f.rnd.nextBoolean() ? 64 : 4096);
        };
    }

    long offset(long limit) {
        return switch (f.rnd.nextInt(8)) {
            case 0 -> pick(-1, Long.MIN_VALUE, Long.MAX_VALUE, -4096);
            case 1 -> pick(limit, limit - 1, limit - 8, limit + 1);
            case 2 -> limit - f.rnd.nextInt(64);
            default -> f.rnd.nextInt((int) Math.min(limit, 1 << 20));
        };
    }

    long pick(long... values) {
        return values[f.rnd.nextInt(values.length)];
    }

    /**
     * The arguments of the call being drawn: a record of arguments only (its blob is kept apart), in private memory,
     * copied into the ring once drawn ({@link RawGuest#send}). Drawn by index in catalogue order, named by
     * {@link Op#argNames()}; the views below name the fields that get special values.
     */
    private final MemorySegment scratch = MemorySegment.ofArray(new byte[CallRecord.length(16, 0)]);
    private final Calls.Launch launch = new Calls.Launch();
    private final Calls.BufferWrite write = new Calls.BufferWrite();
    private final Calls.BufferRead read = new Calls.BufferRead();
    private final Calls.BufferCopy copy = new Calls.BufferCopy();
    private final Calls.BufferFill fill = new Calls.BufferFill();
    private final Calls.KernelArgBuffer argBuffer = new Calls.KernelArgBuffer();
    private final Calls.KernelArgValue argValue = new Calls.KernelArgValue();

    /** Draws every argument of a call of {@code op} (LAUNCH with fuzzed geometry); the record is valid until the next. */
    CallRecord arguments(Op op) {
        scratch.fill((byte) 0);
        CallRecord call = CallRecord.of(op).wrap(scratch, 0);
        for (int a = 0; a < op.argCount(); a++) {
            call.arg(a, argument(op, a, op.argNames().get(a)));
        }
        if (op == Op.LAUNCH) {
            geometry(launch.wrap(scratch, 0));
        }
        return call;
    }

    /** Launch geometry: invalid shapes of every kind, valid ones of at most 16 work-items per dimension. */
    void geometry(Calls.Launch l) {
        l.dimensions(pick(1, 1, 2, 3, 0, 4, -1));
        for (int i = 0; i < Calls.Launch.MAX_DIMENSIONS; i++) {
            l.offset(i, pick(0, 0, 0, 1, -1, Long.MAX_VALUE));
            l.global(i, f.rnd.nextInt(8) == 0 ? pick(0, -1, Long.MIN_VALUE) : 1 + f.rnd.nextInt(16));
            l.local(i, f.rnd.nextInt(3) == 0 ? 0 : pick(1, 2, 4, 3, 7, 16, -1, 1024));
        }
    }

    byte[] blob(Op op) {
        return switch (op) {
            case PROGRAM_CREATE -> f.rnd.nextInt(3) == 0 ? Wire.utf8(SessionFuzzer.SAFE_KERNEL) : bytes(f.rnd.nextInt(64));
            case PROGRAM_BUILD -> f.rnd.nextBoolean() ? new byte[0] : bytes(f.rnd.nextInt(16));
            // program handles (the base program, mostly), then include names or options, or noise
            case PROGRAM_COMPILE, PROGRAM_LINK -> f.rnd.nextBoolean() ? programList() : bytes(f.rnd.nextInt(40));
            case KERNEL_CREATE -> f.rnd.nextBoolean() ? Wire.utf8("k") : bytes(f.rnd.nextInt(12));
            case KERNEL_ARG_VALUE -> bytes(pickInt(1, 1, 2, 4, 8, 0, 1025, 16));
            case BUFFER_FILL -> bytes(pickInt(1, 2, 4, 8, 16, 128, 3, 0, 256));
            default -> bytes(f.rnd.nextInt(4) == 0 ? 0 : f.rnd.nextInt(96));
        };
    }

    /** One to three u64 program handles, then perhaps an include name and its NUL. */
    private byte[] programList() {
        int n = 1 + f.rnd.nextInt(3);
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            long h = handle(SessionFuzzer.PROG, Op.PROGRAM_CREATE);
            for (int k = 0; k < 8; k++) {
                b.write((int) (h >>> (8 * k)));
            }
        }
        if (f.rnd.nextBoolean()) {
            b.writeBytes(Wire.utf8(f.rnd.nextBoolean() ? "a.h" : "../a.h"));
            b.write(0);
        }
        return b.toByteArray();
    }

    int pickInt(int... values) {
        return values[f.rnd.nextInt(values.length)];
    }

    byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) f.rnd.nextInt(256);
        }
        return b;
    }

    /**
     * Half the buffer transfers get ranges that fit (offset and size inside the buffer, 8-aligned, a heap range
     * inside the heap, a fill size that is a multiple of its pattern) and half the kernel arguments the index and
     * size the kernel declares, so they reach the device rather than the range checks only.
     */
    byte[] validRange(Op op, byte[] blob) {
        long size = 8L * (1 + f.rnd.nextInt(64));
        long offset = 8L * f.rnd.nextInt((int) ((SessionFuzzer.BUF_SIZE - size) / 8) + 1);
        long heapOffset = 8L * f.rnd.nextInt((int) ((SessionFuzzer.heapSize(f.calls) - SessionFuzzer.BUF_SIZE - size) / 8));
        switch (op) {
            case BUFFER_WRITE -> write.wrap(scratch, 0).offset(offset).size(size).heapOffset(heapOffset);
            case BUFFER_READ -> read.wrap(scratch, 0).offset(offset).size(size).heapOffset(heapOffset);
            case BUFFER_COPY -> copy.wrap(scratch, 0).sourceOffset(offset)
                    .destinationOffset(8L * f.rnd.nextInt((int) ((SessionFuzzer.BUF_SIZE - size) / 8) + 1))
                    .size(size);
            case BUFFER_FILL -> {
                fill.wrap(scratch, 0).offset(offset).size(size);
                return bytes(pickInt(1, 2, 4, 8));
            }
            case KERNEL_ARG_BUFFER -> argBuffer.wrap(scratch, 0).index(f.rnd.nextInt(2));
            case KERNEL_ARG_VALUE -> {
                argValue.wrap(scratch, 0).index(2);
                return bytes(1);
            }
            default -> {
            }
        }
        return blob;
    }
}
