package io.ferry.testkit;

import io.ferry.host.sched.SchedClass;
import io.ferry.host.FerryHost;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.SpscRing;
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
        f.good.put(Op.CONTEXT_CREATE, false, null, g + 1, 0);
        f.good.put(Op.QUEUE_CREATE, false, null, g + 2, g + 1, 0, 0);
        for (int i = 0; i < 3; i++) {
            f.good.put(Op.BUFFER_CREATE, false, null, g + 3 + i, g + 1, 4L * N, 0, -1);
        }
        f.good.put(Op.PROGRAM_CREATE, false, Wire.utf8(VADD), g + 6, g + 1, SourceLanguage.OPENCL_C.code());
        f.expectOk(f.good.call(Op.PROGRAM_BUILD, new byte[0], SessionFuzzer.TIMEOUT, g + 6), "f.good: build vadd");
        f.expectOk(f.good.call(Op.KERNEL_CREATE, Wire.utf8("vadd"), SessionFuzzer.TIMEOUT, g + 7, g + 6), "f.good: kernel vadd");
        for (int i = 0; i < 3; i++) {
            f.good.put(Op.KERNEL_ARG_BUFFER, false, null, g + 7, i, g + 3 + i);
        }
        f.good.put(Op.KERNEL_ARG_VALUE, false, floatBytes(0.5f), g + 7, 3);
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
        f.good.put(Op.BUFFER_WRITE, false, null, g + 2, g + 3, 0, 4L * N, 0, 0);
        f.good.put(Op.BUFFER_WRITE, false, null, g + 2, g + 4, 0, 4L * N, 4L * N, 0);
        f.good.put(Op.LAUNCH, false, null, g + 2, g + 7, 1, 0, 0, 0, N, 1, 1, 64, 1, 1, 0);
        f.good.put(Op.BUFFER_READ, false, null, g + 2, g + 5, 0, 4L * N, 8L * N, 0);
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
