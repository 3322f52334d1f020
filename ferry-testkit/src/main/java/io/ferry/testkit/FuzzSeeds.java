package io.ferry.testkit;

import io.ferry.channel.RegionDescriptor;
import io.ferry.testkit.FuzzTargets.Seeds;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.EventCalls;
import io.ferry.protocol.ImageFormats;
import io.ferry.protocol.MemoryCalls;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Op;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.TeeWire;
import io.ferry.protocol.WaitList;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The seed corpus of the fuzz targets in {@link FuzzTargets}, written with {@link Seeds} in the order each target
 * reads its input: a few valid frames per op (every compute op, every TEE op with each parameter kind, HELLO right
 * and wrong, ring records with padding and wrap-around) and a few broken ones. Committed under ferry-testkit's
 * {@code src/test/resources/io/ferry/testkit/GuestDecodersFuzzTestInputs/<target>/} (FuzzSeedsTest keeps the files equal
 * to this), and written by {@code FuzzProbes} into the corpus of a fuzzing run.
 */
public final class FuzzSeeds {
    private FuzzSeeds() {
    }

    /** Every target's seeds: target name (the @FuzzTest method) to file name to bytes. */
    public static Map<String, Map<String, byte[]>> all() {
        Map<String, Map<String, byte[]>> all = new LinkedHashMap<>();
        all.put("ring", ringSeeds());
        all.put("calls", callSeeds());
        all.put("tee", teeSeeds());
        all.put("hello", helloSeeds());
        all.put("header", headerSeeds());
        return all;
    }

    // ---- ring ----------------------------------------------------------------------------------------------

    static Map<String, byte[]> ringSeeds() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        int cap = 256;
        // two records (40 and 24 bytes), then padding to the end is never reached: TAIL = 64
        byte[] data = new byte[cap];
        frame(data, 0, 7, 40);
        frame(data, 40, 3, 24);
        m.put("consumer-two-records", new Seeds().i(4, 10, 8).bool(true).i(0, 3, 2).i(0, 2 * cap / 8, 0)
                .i(0, 3, 2).i(0, 2 * cap / 8, 8).i(1, 6, 2).bytes(data)
                .i(1, 64, 64).i(0, 3, 2).i(0, 2 * cap / 8, 8)
                .i(1, 64, 64).i(0, 3, 3).i(0, 2 * cap / 8, 8).toBytes());
        // HEAD = TAIL = 224: a 16-byte record, then padding at 240, then a record at 0 (TAIL 288)
        byte[] wrap = new byte[cap];
        frame(wrap, 224, 5, 16);
        frame(wrap, 240, -1, 16);
        frame(wrap, 0, 9, 32);
        m.put("consumer-padding-wrap", new Seeds().i(4, 10, 8).bool(true).i(0, 3, 2).i(0, 2 * cap / 8, 28)
                .i(0, 3, 2).i(0, 2 * cap / 8, 36).i(1, 6, 1).bytes(wrap).i(1, 64, 64).i(0, 3, 2)
                .i(0, 2 * cap / 8, 36).toBytes());
        m.put("consumer-bad-length", new Seeds().i(4, 10, 8).bool(true).i(0, 3, 2).i(0, 2 * cap / 8, 0)
                .i(0, 3, 2).i(0, 2 * cap / 8, 2).i(1, 6, 1).bytes(frameBytes(cap, 0, 3, 4)).i(1, 64, 8)
                .i(0, 3, 0).l(Long.MIN_VALUE).toBytes());
        m.put("producer-claims", new Seeds().i(4, 10, 8).bool(false).i(0, 3, 2).i(0, 2 * cap / 8, 0)
                .i(0, 3, 2).i(0, 2 * cap / 8, 0).i(1, 6, 3).bytes(new byte[cap])
                .i(8, 128, 72).i(0, Integer.MAX_VALUE, 3).i(0, 3, 2).i(0, 64, 9)
                .i(8, 128, 128).i(0, Integer.MAX_VALUE, 3).i(0, 3, 2).i(0, 64, 16)
                .i(8, 128, 56).i(0, Integer.MAX_VALUE, 0x7fff).i(0, 3, 2).i(0, 64, 3)
                .toBytes());
        return m;
    }

    private static void frame(byte[] data, int at, int type, int length) {
        long w = ((long) type << 32) | (length & 0xFFFF_FFFFL);
        for (int k = 0; k < 8; k++) {
            data[at + k] = (byte) (w >>> (8 * k));
        }
    }

    private static byte[] frameBytes(int cap, int at, int type, int length) {
        byte[] b = new byte[cap];
        frame(b, at, type, length);
        return b;
    }

    // ---- calls, tee, hello ---------------------------------------------------------------------------------

    /** One call as {@link FuzzHarness#call} reads it: every argument exact, the blob as given. */
    static Seeds call(Seeds s, Op op, boolean reply, byte[] blob, long... args) {
        s.i(0, 15, reply ? 1 : 6).i(0, 31, 1);
        for (long a : args) {
            s.i(0, 7, 0).l(a);
        }
        if (op == Op.TEE_OPEN_SESSION || op == Op.TEE_INVOKE) {
            throw new IllegalArgumentException("use teeCall");
        }
        s.i(0, op.hasBlob() ? FuzzHarness.MAX_BLOB : 2, blob.length).bytes(blob);
        return s.i(0, 31, 1);
    }

    /** One call built through its {@link Calls} view (see {@link #args}): its arguments in catalogue order. */
    static Seeds call(Seeds s, boolean reply, byte[] blob, CallRecord built) {
        long[] args = new long[built.spec().argCount()];
        for (int i = 0; i < args.length; i++) {
            args[i] = built.arg(i);
        }
        return call(s, built.spec(), reply, blob, args);
    }

    /** {@code view} over private memory that holds its arguments only (zero), to be filled and passed to call. */
    static <V extends CallRecord> V args(V view) {
        view.wrap(MemorySegment.ofArray(new byte[CallRecord.length(view.spec(), 0)]), 0);
        return view;
    }

    /** A TEE call whose parameter block is four (type, a, b, c) rows. */
    static Seeds teeCall(Seeds s, boolean reply, long[][] params, long... args) {
        s.i(0, 15, reply ? 1 : 6).i(0, 31, 1);
        for (long a : args) {
            s.i(0, 7, 0).l(a);
        }
        s.i(0, 15, 1);
        for (int i = 0; i < TeeWire.PARAMS; i++) {
            long[] p = i < params.length ? params[i] : new long[4];
            s.i(0, 15, (int) p[0]);
            for (int f = 1; f < 4; f++) {
                s.i(0, 7, 0).l(p[f]);
            }
        }
        return s.i(0, 31, 1);
    }

    private static Seeds op(Seeds s, Op op) {
        return s.i(0, Op.values().length, op.ordinal());
    }

    static Map<String, byte[]> callSeeds() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        Seeds s = new Seeds().i(0, 15, 1);
        call(op(s, Op.NOP), Op.NOP, true, new byte[0], 77);
        call(op(s, Op.DEVICE_INFO), Op.DEVICE_INFO, true, new byte[0], 0);
        call(op(s, Op.GOODBYE), Op.GOODBYE, true, new byte[0]);
        m.put("session-nop-info-goodbye", s.toBytes());

        s = new Seeds().i(0, 15, 1);
        // every compute op, valid for FuzzBackend's kernel k(uchar* a, const uchar* b, uchar s), each asking for
        // its reply; then one the device refuses (k has no local argument)
        byte[] none = new byte[0];
        call(op(s, Op.CONTEXT_CREATE), true, none, args(new Calls.ContextCreate()).context(1).device(0));
        call(op(s, Op.QUEUE_CREATE), true, none, args(new Calls.QueueCreate()).queue(2).context(1));
        call(op(s, Op.BUFFER_CREATE), true, none, args(new Calls.BufferCreate()).buffer(3).context(1).size(4096)
                .heapOffset(-1));
        call(op(s, Op.BUFFER_CREATE), true, none, args(new Calls.BufferCreate()).buffer(4).context(1).size(4096)
                .heapOffset(8192));
        call(op(s, Op.PROGRAM_CREATE), true,
                Wire.utf8("__kernel void k(__global uchar* a, __global const uchar* b, uchar s){a[0]=b[0]+s;}"),
                args(new Calls.ProgramCreate()).program(5).context(1).language(SourceLanguage.OPENCL_C.code()));
        call(op(s, Op.PROGRAM_BUILD), true, Wire.utf8("-cl-fast-relaxed-math"),
                args(new Calls.ProgramBuild()).program(5));
        call(op(s, Op.KERNEL_CREATE), true, Wire.utf8("k"), args(new Calls.KernelCreate()).kernel(6).program(5));
        call(op(s, Op.KERNEL_ARG_BUFFER), true, none, args(new Calls.KernelArgBuffer()).kernel(6).index(0).buffer(3));
        call(op(s, Op.KERNEL_ARG_BUFFER), true, none, args(new Calls.KernelArgBuffer()).kernel(6).index(1).buffer(4));
        call(op(s, Op.KERNEL_ARG_VALUE), true, new byte[] {7}, args(new Calls.KernelArgValue()).kernel(6).index(2));
        call(op(s, Op.BUFFER_WRITE), true, none, args(new Calls.BufferWrite()).queue(2).buffer(3).size(4096));
        call(op(s, Op.LAUNCH), true, none, args(new Calls.Launch()).queue(2).kernel(6)
                .range(1, null, new long[] {64}, new long[] {16}).event(7));
        call(op(s, Op.BUFFER_COPY), true, none, args(new Calls.BufferCopy()).queue(2).source(3).destination(4)
                .size(4096));
        call(op(s, Op.BUFFER_FILL), true, new byte[] {9, 9, 9, 9}, args(new Calls.BufferFill()).queue(2).buffer(4)
                .size(4096));
        call(op(s, Op.BUFFER_READ), true, none, args(new Calls.BufferRead()).queue(2).buffer(4).size(4096)
                .heapOffset(4096));
        call(op(s, Op.QUEUE_HINT), true, none, args(new Calls.QueueHint()).queue(2).priority(1)
                .deadlineNs(1_000_000));
        call(op(s, Op.FINISH), true, none, args(new Calls.Finish()).queue(2));
        call(op(s, Op.EVENT_WAIT), true, none, args(new Calls.EventWait()).event(7));
        call(op(s, Op.RELEASE), true, none, args(new Calls.Release()).handle(7));
        call(op(s, Op.KERNEL_ARG_LOCAL), true, none, args(new Calls.KernelArgLocal()).kernel(6).index(2).bytes(256));
        m.put("compute-every-op", s.toBytes());

        s = new Seeds().i(0, 15, 1);
        // the memory-object calls: a sub-buffer, rectangles (one with a wait list), then ones the host refuses (an
        // unaligned origin, an extent that overflows 64 bits)
        call(op(s, Op.CONTEXT_CREATE), true, none, args(new Calls.ContextCreate()).context(1).device(0));
        call(op(s, Op.QUEUE_CREATE), true, none, args(new Calls.QueueCreate()).queue(2).context(1));
        call(op(s, Op.BUFFER_CREATE), true, none, args(new Calls.BufferCreate()).buffer(3).context(1).size(8192)
                .heapOffset(-1));
        call(op(s, Op.SUB_BUFFER_CREATE), true, none, args(new MemoryCalls.SubBufferCreate()).buffer(4).parent(3)
                .offset(4096).size(4096));
        call(op(s, Op.BUFFER_WRITE_RECT), true, rect(new long[0], 1L << 9), args(new MemoryCalls.BufferWriteRect())
                .queue(2).buffer(3).heapSize(4096).event(5));
        call(op(s, Op.BUFFER_COPY_RECT), true, rect(new long[] {5}, 1L << 9), args(new MemoryCalls.BufferCopyRect())
                .queue(2).source(3).destination(4).waits(1));
        call(op(s, Op.BUFFER_READ_RECT), true, rect(new long[0], 1L << 62), args(new MemoryCalls.BufferReadRect())
                .queue(2).buffer(4).heapSize(4096));
        call(op(s, Op.SUB_BUFFER_CREATE), true, none, args(new MemoryCalls.SubBufferCreate()).buffer(6).parent(3)
                .offset(4).size(64));
        call(op(s, Op.IMAGE_CREATE), true, none, args(new MemoryCalls.ImageCreate()).image(7).context(1).width(8)
                .height(8).channelOrder(ImageFormats.CL_RGBA).channelType(ImageFormats.CL_FLOAT));
        call(op(s, Op.SAMPLER_CREATE), true, none, args(new MemoryCalls.SamplerCreate()).sampler(8).context(1)
                .addressing(ImageFormats.CL_ADDRESS_CLAMP).filter(ImageFormats.CL_FILTER_NEAREST));
        m.put("memory-objects", s.toBytes());

        s = new Seeds().i(0, 15, 1);
        // hostile wait lists, each refused by the host: a buffer handle in the list, a count past the blob, an
        // unknown handle, a count over the limit; then a user event, a marker waiting for it and its status
        call(op(s, Op.CONTEXT_CREATE), true, none, args(new Calls.ContextCreate()).context(1).device(0));
        call(op(s, Op.QUEUE_CREATE), true, none, args(new Calls.QueueCreate()).queue(2).context(1));
        call(op(s, Op.BUFFER_CREATE), true, none, args(new Calls.BufferCreate()).buffer(3).context(1).size(4096)
                .heapOffset(-1));
        call(op(s, Op.BUFFER_WRITE), true, none, args(new Calls.BufferWrite()).queue(2).buffer(3).size(64).event(7));
        call(op(s, Op.BUFFER_WRITE), true, WaitList.encode(new long[] {3}, null), args(new Calls.BufferWrite())
                .queue(2).buffer(3).size(64).waits(1));
        call(op(s, Op.BUFFER_COPY), true, WaitList.encode(new long[] {7}, null), args(new Calls.BufferCopy())
                .queue(2).source(3).destination(3).destinationOffset(128).size(64).waits(3));
        call(op(s, Op.LAUNCH), true, WaitList.encode(new long[] {7, 999}, null), args(new Calls.Launch()).queue(2)
                .kernel(3).range(1, null, new long[] {64}, null).waits(2));
        call(op(s, Op.BARRIER), true, new byte[8], args(new EventCalls.Barrier()).queue(2).waits(WaitList.MAX + 1));
        call(op(s, Op.USER_EVENT_CREATE), true, none, args(new EventCalls.UserEventCreate()).event(8).context(1));
        call(op(s, Op.MARKER), true, WaitList.encode(new long[] {8, 7}, null), args(new EventCalls.Marker()).queue(2)
                .event(9).waits(2));
        call(op(s, Op.EVENT_STATUS), true, none, args(new EventCalls.EventStatus()).event(9));
        call(op(s, Op.USER_EVENT_SET), true, none, args(new EventCalls.UserEventSet()).event(8));
        call(op(s, Op.USER_EVENT_SET), true, none, args(new EventCalls.UserEventSet()).event(8));
        m.put("compute-wait-lists", s.toBytes());

        s = new Seeds().i(0, 15, 1);
        call(op(s, Op.TEE_SHM_REGISTER), Op.TEE_SHM_REGISTER, true, new byte[0], 1, 4096, 4096, 3);
        op(s, Op.TEE_OPEN_SESSION);
        teeCall(s, true, new long[][] {{TeeWire.VALUE_INPUT, 5, 6, 0}}, 2, FuzzTargets.TA.getMostSignificantBits(),
                FuzzTargets.TA.getLeastSignificantBits(), TeeWire.LOGIN_PUBLIC, 0, TeeWire.NO_CANCEL_WORD);
        op(s, Op.TEE_INVOKE);
        teeCall(s, true, new long[][] {{TeeWire.VALUE_INOUT, 1, 2, 0}, {TeeWire.MEMREF_TEMP_INOUT, 0, 64, 0},
                {TeeWire.MEMREF_PARTIAL_OUTPUT, 128, 32, 1}, {TeeWire.MEMREF_WHOLE, 0, 0, 1}}, 2, 0,
                TeeWire.NO_CANCEL_WORD);
        call(op(s, Op.TEE_CLOSE_SESSION), Op.TEE_CLOSE_SESSION, true, new byte[0], 2);
        call(op(s, Op.TEE_SHM_RELEASE), Op.TEE_SHM_RELEASE, true, new byte[0], 1);
        m.put("tee-every-op", s.toBytes());
        return m;
    }

    /** A wait list, then a 64 x 4 x 2 rectangle whose sides have row pitch 64 and slice pitch {@code slicePitch}. */
    private static byte[] rect(long[] waits, long slicePitch) {
        MemorySegment blob = MemorySegment.ofArray(new byte[8 * waits.length + RectLayout.LENGTH]);
        for (int i = 0; i < waits.length; i++) {
            blob.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, waits[i]);
        }
        RectLayout r = new RectLayout().wrap(blob, 8L * waits.length).region(0, 64).region(1, 4).region(2, 2);
        for (int side : new int[] {RectLayout.A, RectLayout.B}) {
            r.rowPitch(side, 64).slicePitch(side, slicePitch);
        }
        return blob.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    private static Seeds teeOp(Seeds s, Op op) {
        return s.i(0, 6, switch (op) {
            case TEE_OPEN_SESSION -> 0;
            case TEE_INVOKE -> 1;
            case TEE_SHM_REGISTER -> 4;
            case TEE_SHM_RELEASE -> 5;
            default -> 6;
        });
    }

    static Map<String, byte[]> teeSeeds() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        long hi = FuzzTargets.TA.getMostSignificantBits();
        long lo = FuzzTargets.TA.getLeastSignificantBits();
        Seeds s = new Seeds();
        teeCall(teeOp(s, Op.TEE_OPEN_SESSION), true, new long[][] {{TeeWire.VALUE_INPUT, 1, 2, 0}}, 1, hi, lo,
                TeeWire.LOGIN_PUBLIC, 0, TeeWire.NO_CANCEL_WORD);
        teeCall(teeOp(s, Op.TEE_INVOKE), true, new long[][] {{TeeWire.VALUE_OUTPUT, 0, 0, 0},
                {TeeWire.MEMREF_TEMP_INPUT, 0, 100, 0}, {TeeWire.MEMREF_TEMP_OUTPUT, 4096, 100, 0},
                {TeeWire.MEMREF_TEMP_INOUT, TeeWire.NULL_MEMREF, 0, 0}}, 1, 0, TeeWire.NO_CANCEL_WORD);
        teeCall(teeOp(s, Op.TEE_INVOKE), true, new long[][] {{TeeWire.MEMREF_TEMP_OUTPUT, 0, 16, 0}}, 1, 1, 8);
        call(teeOp(s, Op.TEE_CLOSE_SESSION), Op.TEE_CLOSE_SESSION, true, new byte[0], 1);
        m.put("open-invoke-temp-memrefs", s.toBytes());

        s = new Seeds();
        call(teeOp(s, Op.TEE_SHM_REGISTER), Op.TEE_SHM_REGISTER, true, new byte[0], 3, 8192, 8192,
                TeeWire.MEM_INPUT | TeeWire.MEM_OUTPUT);
        teeCall(teeOp(s, Op.TEE_OPEN_SESSION), true, new long[0][], 4, hi, lo, TeeWire.LOGIN_USER, 0,
                TeeWire.NO_CANCEL_WORD);
        teeCall(teeOp(s, Op.TEE_INVOKE), true, new long[][] {{TeeWire.MEMREF_WHOLE, 0, 0, 3},
                {TeeWire.MEMREF_PARTIAL_INPUT, 16, 32, 3}, {TeeWire.MEMREF_PARTIAL_OUTPUT, 64, 64, 3},
                {TeeWire.MEMREF_PARTIAL_INOUT, 8000, 192, 3}}, 4, 4, TeeWire.NO_CANCEL_WORD);
        teeCall(teeOp(s, Op.TEE_INVOKE), true, new long[][] {{TeeWire.MEMREF_PARTIAL_OUTPUT, 0, 4, 3}}, 4, 5,
                TeeWire.NO_CANCEL_WORD);
        call(teeOp(s, Op.TEE_SHM_RELEASE), Op.TEE_SHM_RELEASE, false, new byte[0], 3);
        call(teeOp(s, Op.TEE_CLOSE_SESSION), Op.TEE_CLOSE_SESSION, true, new byte[0], 4);
        m.put("registered-memrefs", s.toBytes());

        s = new Seeds();
        teeCall(teeOp(s, Op.TEE_OPEN_SESSION), true, new long[0][], 1, hi, lo, TeeWire.LOGIN_GROUP, 7,
                TeeWire.NO_CANCEL_WORD);
        teeCall(teeOp(s, Op.TEE_OPEN_SESSION), true, new long[0][], 1, hi, lo, TeeWire.LOGIN_PUBLIC, 0,
                TeeWire.NO_CANCEL_WORD);
        teeCall(teeOp(s, Op.TEE_INVOKE), true, new long[][] {{TeeWire.MEMREF_TEMP_INPUT, 65000, 4096, 0}}, 1, 0,
                TeeWire.NO_CANCEL_WORD);
        m.put("group-login-reuse-out-of-heap", s.toBytes());
        return m;
    }

    /** A HELLO as {@link FuzzHarness#hello} reads fuzzed fields: kinds per argument, then the name. */
    static Map<String, byte[]> helloSeeds() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        Seeds s = new Seeds();
        for (int i = 0; i < 8; i++) {
            s.i(0, 5, 2);
        }
        s.i(0, 3, 1);
        call(op(s, Op.NOP), Op.NOP, true, new byte[0], 5);
        m.put("valid-then-nop", s.toBytes());

        s = new Seeds();
        for (int i = 0; i < 8; i++) {
            if (i == 6) {
                s.i(0, 5, 1).i(0, 63, 17);
            } else {
                s.i(0, 5, 2);
            }
        }
        s.i(0, 3, 1);
        for (int i = 0; i < 8; i++) { // then the right one
            s.i(0, 5, 2);
        }
        s.i(0, 3, 1);
        call(op(s, Op.DEVICE_INFO), Op.DEVICE_INFO, true, new byte[0], 0);
        m.put("wrong-credential-then-right", s.toBytes());

        s = new Seeds();
        for (int i = 0; i < 8; i++) {
            s.i(0, 5, 2);
        }
        s.i(0, 3, 0).i(0, 40, 5).bytes(Wire.utf8("other"));
        call(op(s, Op.NOP), Op.NOP, true, new byte[0], 5);
        m.put("wrong-name-then-nop", s.toBytes());

        s = new Seeds();
        s.i(0, 5, 0).l(0x1234).i(0, 5, 1).i(0, 63, 0);
        for (int i = 2; i < 8; i++) {
            s.i(0, 5, 2);
        }
        s.i(0, 3, 1);
        m.put("bad-magic-bad-version", s.toBytes());
        return m;
    }

    /** Region headers: valid, a ring capacity that is not a power of two, a heap past the end, a short file. */
    static Map<String, byte[]> headerSeeds() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("valid", new Seeds().i(0, 8, 0).i(0, 7, 2).toBytes());
        m.put("ring-capacity-not-power-of-two", new Seeds().i(0, 8, 1).i(0, 3, 0)
                .i(0, 511, RegionDescriptor.COMMAND_RING_CAPACITY_OFFSET / 8).l(3000).i(0, 7, 2).toBytes());
        m.put("section-moved-past-the-end", new Seeds().i(0, 8, 1).i(0, 3, 2)
                .i(0, 15, RegionDescriptor.COMPLETION_RING_OFFSET_OFFSET / 8)
                .i(0, 15, RegionDescriptor.COMPLETION_RING_OFFSET_OFFSET / 8).i(-8, 8, 8).i(0, 7, 2).toBytes());
        m.put("file-shorter-than-the-region", new Seeds().i(0, 8, 0).i(0, 7, 1).i(-64, 64, -16).toBytes());
        return m;
    }
}
