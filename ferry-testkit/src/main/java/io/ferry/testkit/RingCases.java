package io.ferry.testkit;

import io.ferry.host.sched.SchedClass;
import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
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
 * The ring level of the {@link SessionFuzzer}: hostile bytes in the guest's own rings and header (mutated records,
 * hand-written frames, connects without HELLO, wrong credentials). Every case may end the session; the host must
 * stay up, and the guest's figures read zero afterwards.
 */
final class RingCases {
    private final SessionFuzzer f;

    RingCases(SessionFuzzer f) {
        this.f = f;
    }

    void ringCase() {
        f.ringCases++;
        long before = f.ring.sessionId();
        boolean hello = f.rnd.nextInt(12) != 0;
        boolean deviceObjects = false;
        if (hello) {
            f.expectOk(f.ring.connect(SessionFuzzer.TIMEOUT), "fuzz-f.ring: HELLO");
            f.checkFresh("fuzz-f.ring", before, f.ring.sessionId());
            // Device objects now and then only: on a CPU device each session's first one starts a worker process.
            deviceObjects = f.rnd.nextInt(16) == 0;
            f.ring.put(new Calls.ContextCreate(), false, null).context(1).device(deviceObjects ? 0 : 99);
            f.ring.put(new Calls.BufferCreate(), false, null).buffer(2).context(1).size(4096).heapOffset(-1);
            f.ring.put(new Calls.QueueCreate(), false, null).queue(3).context(1);
            f.ring.publish();
        } else {
            connectWithoutHello();
        }
        SpscRing cmd = f.ring.commands;
        MemorySegment s = cmd.segment();
        int pattern = f.rnd.nextInt(14);
        switch (pattern) {
            case 0 -> { // a frame of random type and length, random body
                int frame = RegionDescriptor.FRAME_HEADER_LENGTH;
                int len = frame + f.rnd.nextInt(cmd.maxRecordLength() - frame);
                long at = cmd.tryClaim(f.rnd.nextInt(200), len);
                if (at >= 0) { // random bytes after the frame's length and type
                    fillRandom(s, at + frame, Math.min(len - frame, 512));
                }
            }
            case 1 -> mutatedRecord();
            case 2 -> { // TAIL: odd, backwards, beyond capacity, negative, random
                long tail = s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
                long bad = f.gen.pick(tail + 1 + 2L * f.rnd.nextInt(100), tail - 8, tail + cmd.capacity() + 8,
                        Long.MIN_VALUE, -8, f.rnd.nextLong());
                s.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET, bad);
            }
            case 3 -> rawFrame(f.gen.pickInt(0, 1, 4, 7, 9, 13), f.rnd.nextInt(20)); // short or odd lengths
            case 4 -> rawFrame(f.gen.pickInt(cmd.maxRecordLength() + 8, cmd.capacity(), Integer.MAX_VALUE, -1),
                    f.rnd.nextInt(20)); // huge lengths, crossing the end
            case 5 -> rawFrame(64, f.gen.pickInt(-2, -100, Integer.MIN_VALUE)); // negative types
            case 6 -> rawFrame(64, -1); // padding that does not reach the end of the data
            // cases 7 to 9 write malformed records on purpose: RawGuest.putRaw, at CallRecord's named offsets
            case 7 -> f.ring.putRaw(f.gen.pickInt(0, 5, 9, 37, 59, 66, 99, 127, 128, 0x7fff, Integer.MAX_VALUE), 0,
                    new long[] {1, 2, 3}, null, 0); // unknown opcodes
            case 8 -> f.ring.putRaw(Op.NOP.code(), f.gen.pickInt(2, 4, 0x80000000, -1), new long[] {1}, null, 0); // bad flags
            case 9 -> { // blob length field that does not match the record
                Op op = f.rnd.nextBoolean() ? Op.KERNEL_CREATE : Op.NOP;
                byte[] blob = f.gen.bytes(f.rnd.nextInt(16));
                f.ring.putRaw(op.code(), Wire.FLAG_REPLY, new long[op.argCount()], blob,
                        f.gen.pickInt(blob.length + 1, blob.length + 8, -1, Integer.MAX_VALUE, blob.length - 1));
            }
            case 10 -> f.ring.put(new Calls.Hello(), true, Wire.utf8("fuzz-f.ring")).magic(Wire.HELLO_MAGIC)
                    .version(Wire.PROTOCOL_VERSION); // a second HELLO
            case 11 -> { // never drain completions: the f.host's completion f.ring fills up
                for (int i = 0; i < 2000 && f.ring.put(Op.DEVICE_INFO, true, null, 99) >= 0; i++) {
                    if (i % 64 == 0) {
                        f.ring.publish();
                    }
                }
            }
            case 12 -> { // completion f.ring HEAD corrupted, then f.replies that need room
                MemorySegment c = f.ring.completions.segment();
                c.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_HEAD_OFFSET, f.gen.pick(-8, 7, 1L << 40, f.rnd.nextLong()));
                for (int i = 0; i < 2000 && f.ring.put(Op.DEVICE_INFO, true, null, 99) >= 0; i++) {
                    if (i % 64 == 0) {
                        f.ring.publish();
                    }
                }
            }
            default -> f.ring.put(Op.GOODBYE, true, null); // then more f.calls after it
        }
        if (pattern != 2) {
            f.ring.publish();
        }
        if (pattern == 13) {
            f.ring.put(Op.NOP, true, null, 1);
            f.ring.publish();
        }
        if (f.ring.awaitClosed(pattern == 1 || pattern == 0 ? 20_000_000L : deviceObjects ? 10_000_000_000L
                : 2_000_000_000L, pattern != 11 && pattern != 12)) {
            f.sessionsEnded++;
            checkEnded("fuzz-f.ring", f.ring.sessionId());
        } else if (pattern != 0 && pattern != 1 && pattern != 12) {
            // 12 depends on whether the f.host re-reads HEAD before the f.ring is full (it does, once full).
            f.fail("fuzz-f.ring pattern " + pattern + ": the f.host kept the session open after a protocol violation");
        }
    }

    /** After a session ended, the guest's figures read zero (or it already shows a newer session). */
    private void checkEnded(String guest, long session) {
        for (HostViews.GuestView v : f.host.guests()) {
            if (v.name().equals(guest) && v.sessionId() == session && (v.connected() || v.objects() != 0
                    || v.deviceMemoryBytes() != 0)) {
                f.fail(guest + ": session " + session + " ended but status shows connected=" + v.connected() + ", "
                        + v.objects() + " objects, " + v.deviceMemoryBytes() + " bytes");
            }
        }
    }

    private void connectWithoutHello() {
        // CONNECT_REQUEST/ACK only, then a call before HELLO: a protocol violation.
        Reply r = f.ring.connect(SessionFuzzer.TIMEOUT, new byte[32]);
        // A wrong credential is refused with BAD_CREDENTIAL and the session stays (not a violation); say HELLO-less
        // NOP by reconnecting at the f.ring level is not possible with RawGuest.connect, so follow up with a NOP.
        if (r != null && r.status() != Status.BAD_CREDENTIAL && r.status() != Status.OK) {
            f.fail("fuzz-f.ring: a wrong credential was answered " + f.describe(r) + ", expected BAD_CREDENTIAL");
        }
        if (r != null && r.ok()) {
            f.fail("fuzz-f.ring: a HELLO with a zero credential opened a session");
        }
        f.ring.put(Op.NOP, true, null, 1);
    }

    /** A record of a call's shape with an argument count off by a few, then a few header bytes flipped (raw). */
    private void mutatedRecord() {
        Op op = SessionFuzzer.CALL_OPS[f.rnd.nextInt(SessionFuzzer.CALL_OPS.length)];
        long[] args = new long[Math.max(0, op.argCount() + f.gen.pickInt(0, 0, -1, 1, -3))];
        byte[] blob = op.hasBlob() ? f.gen.bytes(f.rnd.nextInt(32)) : f.rnd.nextInt(4) == 0 ? f.gen.bytes(8) : null;
        long at0 = ringTailIndex();
        long sq = f.ring.putRaw(op.code(), f.rnd.nextBoolean() ? 1 : 0, args, blob, blob == null ? 0 : blob.length);
        if (sq < 0) {
            return;
        }
        MemorySegment s = f.ring.commands.segment();
        int length = CallRecord.length(args.length, blob == null ? 0 : blob.length);
        for (int i = 0, n = 1 + f.rnd.nextInt(3); i < n; i++) {
            int at = f.rnd.nextInt(Math.min(length, 32));
            s.set(ValueLayout.JAVA_BYTE, RegionDescriptor.RING_DATA_OFFSET + at0 + at, (byte) f.rnd.nextInt(256));
        }
    }

    private long ringTailIndex() {
        MemorySegment s = f.ring.commands.segment();
        long tail = s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
        return tail & (f.ring.commands.capacity() - 1);
    }

    /** A frame header written by hand at TAIL, then TAIL advanced past it by {@code advance} bytes (8-aligned). */
    private void rawFrame(int length, int type) {
        MemorySegment s = f.ring.commands.segment();
        f.ring.publish();
        long tail = s.get(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET);
        long index = tail & (f.ring.commands.capacity() - 1);
        if (index + 8 > f.ring.commands.capacity()) {
            return;
        }
        s.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_DATA_OFFSET + index,
                ((long) type << 32) | (length & 0xFFFF_FFFFL));
        long advance = Math.min(Math.max(8, (Math.max(length, 8) + 7L) & -8L), f.ring.commands.capacity());
        s.set(ValueLayout.JAVA_LONG, RegionDescriptor.RING_TAIL_OFFSET, tail + advance);
    }

    private void fillRandom(MemorySegment s, long at, int n) {
        for (int i = 0; i < n; i++) {
            s.set(ValueLayout.JAVA_BYTE, at + i, (byte) f.rnd.nextInt(256));
        }
    }
}
