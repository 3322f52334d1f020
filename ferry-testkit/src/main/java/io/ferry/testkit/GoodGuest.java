package io.ferry.testkit;

import io.ferry.host.sched.SchedClass;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.SpscRing;
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
 * The well-behaved guest of a {@link SessionFuzzer} run: it sets up a vadd kernel once and checks, between the
 * hostile cases, that its NOP round trip and its kernel's results stay right while the other guests misbehave.
 */
final class GoodGuest {
    private static final String VADD = """
            __kernel void vadd(__global const float* a, __global const float* b, __global float* c, float k) {
                size_t i = get_global_id(0);
                c[i] = a[i] + k * b[i];
            }
            """;
    private final SessionFuzzer f;

    GoodGuest(SessionFuzzer f) {
        this.f = f;
    }

    static final int N = 256;

    void setup() {
        f.expectOk(f.good.connect(SessionFuzzer.TIMEOUT), "f.good: HELLO");
        if (!f.openclC) {
            return;
        }
        long g = SessionFuzzer.GOOD_BASE;
        RawGuest guest = f.good;
        guest.put(new Calls.ContextCreate(), false, null).context(g + 1).device(0);
        guest.put(new Calls.QueueCreate(), false, null).queue(g + 2).context(g + 1);
        for (int i = 0; i < 3; i++) {
            guest.put(new Calls.BufferCreate(), false, null).buffer(g + 3 + i).context(g + 1).size(4L * N)
                    .heapOffset(-1);
        }
        guest.put(new Calls.ProgramCreate(), false, Wire.utf8(VADD)).program(g + 6).context(g + 1)
                .language(SourceLanguage.OPENCL_C.code());
        f.expectOk(guest.await(guest.put(new Calls.ProgramBuild(), true, null).program(g + 6), SessionFuzzer.TIMEOUT),
                "f.good: build vadd");
        f.expectOk(guest.await(guest.put(new Calls.KernelCreate(), true, Wire.utf8("vadd")).kernel(g + 7)
                .program(g + 6), SessionFuzzer.TIMEOUT), "f.good: kernel vadd");
        for (int i = 0; i < 3; i++) {
            guest.put(new Calls.KernelArgBuffer(), false, null).kernel(g + 7).index(i).buffer(g + 3 + i);
        }
        guest.put(new Calls.KernelArgValue(), false, floatBytes(0.5f)).kernel(g + 7).index(3);
        f.expectOk(f.good.call(Op.FINISH, null, SessionFuzzer.TIMEOUT, g + 2), "f.good: set-up finish");
    }

    void check() {
        f.goodChecks++;
        f.good.beat();
        long v = f.rnd.nextLong();
        Reply r = f.good.call(Op.NOP, null, SessionFuzzer.TIMEOUT, v);
        if (r == null || !r.ok() || r.r0() != v) {
            f.fail("good guest: NOP round trip answered " + SessionFuzzer.describe(r) + ", expected OK echoing " + v);
            reconnect();
            return;
        }
        if (!f.openclC) {
            return;
        }
        long g = SessionFuzzer.GOOD_BASE;
        MemorySegment heap = f.good.region.heap();
        float[] a = new float[N];
        float[] b = new float[N];
        for (int i = 0; i < N; i++) {
            a[i] = f.rnd.nextInt(1000);
            b[i] = f.rnd.nextInt(1000);
            heap.setAtIndex(ValueLayout.JAVA_FLOAT, i, a[i]);
            heap.setAtIndex(ValueLayout.JAVA_FLOAT, N + i, b[i]);
            heap.setAtIndex(ValueLayout.JAVA_FLOAT, 2 * N + i, -1f);
        }
        f.good.put(new Calls.BufferWrite(), false, null).queue(g + 2).buffer(g + 3).size(4L * N).heapOffset(0);
        f.good.put(new Calls.BufferWrite(), false, null).queue(g + 2).buffer(g + 4).size(4L * N).heapOffset(4L * N);
        f.good.put(new Calls.Launch(), false, null).queue(g + 2).kernel(g + 7)
                .range(1, null, new long[] {N}, new long[] {64});
        f.good.put(new Calls.BufferRead(), false, null).queue(g + 2).buffer(g + 5).size(4L * N).heapOffset(8L * N);
        Reply fin = f.good.call(Op.FINISH, null, SessionFuzzer.TIMEOUT, g + 2);
        if (fin == null || !fin.ok()) {
            f.fail("good guest: vadd finish answered " + SessionFuzzer.describe(fin));
            reconnect();
            return;
        }
        for (int i = 0; i < N; i++) {
            float c = heap.getAtIndex(ValueLayout.JAVA_FLOAT, 2 * N + i);
            if (c != a[i] + 0.5f * b[i]) {
                f.fail("good guest: vadd result " + i + " is " + c + ", expected " + (a[i] + 0.5f * b[i]));
                return;
            }
        }
    }

    private void reconnect() {
        setup();
    }

    private static byte[] floatBytes(float f) {
        int bits = Float.floatToRawIntBits(f);
        return new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)};
    }
}
