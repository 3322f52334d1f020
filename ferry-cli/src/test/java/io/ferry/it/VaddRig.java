package io.ferry.it;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;

/**
 * The vector add the guest processes of the ITs run ({@link LiveGuestMain}, {@link LaneGuestMain},
 * {@link RestartGuestMain}): a context, queue, program and kernel, three heap blocks and three device buffers of
 * {@code n} floats, made once; each {@link #round} writes, launches, reads back and checks every element.
 */
final class VaddRig implements AutoCloseable {
    private final ArrayDeque<AutoCloseable> opened = new ArrayDeque<>();
    private final int n;
    private final CommandQueue q;
    private final Kernel k;
    private final HeapBlock ha, hb, hc;
    private final DeviceBuffer a, b, c;

    VaddRig(Ferry ferry, int n) {
        this.n = n;
        try {
            Context ctx = keep(ferry.createContext(ferry.defaultDevice()));
            q = keep(ctx.createQueue());
            Program p = keep(ctx.buildProgram(CoreTest.VADD));
            k = keep(p.kernel("vadd"));
            ha = keep(ferry.heap().allocate(4L * n));
            hb = keep(ferry.heap().allocate(4L * n));
            hc = keep(ferry.heap().allocate(4L * n));
            a = keep(ctx.createBuffer(4L * n));
            b = keep(ctx.createBuffer(4L * n));
            c = keep(ctx.createBuffer(4L * n));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T keep(T t) {
        opened.push(t);
        return t;
    }

    void finish() {
        q.finish();
    }

    /**
     * One vector add, {@code c = a + 2 b} with {@code a[i] = i % modulo} and {@code b[i] = scale}, every element
     * checked: null when all are right, else the first wrong one ("element I: GOT, expected WANT").
     */
    String round(float scale, int modulo) {
        for (int i = 0; i < n; i++) {
            ha.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i % modulo);
            hb.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, scale);
        }
        q.write(a, 0, ha.segment()).write(b, 0, hb.segment());
        k.arg(0, a).arg(1, b).arg(2, c).arg(3, 2f);
        q.launch(k, NDRange.of(n), NDRange.of(64));
        q.read(c, 0, hc.segment());
        q.finish();
        for (int i = 0; i < n; i++) {
            float want = (i % modulo) + 2f * scale;
            float got = hc.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (got != want) {
                return "element " + i + ": " + got + ", expected " + want;
            }
        }
        return null;
    }

    /** Closes what was made, last first. */
    @Override
    public void close() {
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
