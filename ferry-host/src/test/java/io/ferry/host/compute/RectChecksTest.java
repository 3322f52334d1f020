package io.ferry.host.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.host.session.CallException;
import io.ferry.protocol.RectLayout;
import io.ferry.protocol.Status;
import io.ferry.spi.Rect;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link RectChecks} against a model in exact arithmetic ({@link BigInteger}): seeded random rectangles, many of them
 * hostile (figures near 2^63, negative ones), are accepted exactly when OpenCL's pitch rules hold and every byte
 * they touch lies inside both sides.
 */
class RectChecksTest {
    static final long SIZE_A = 1 << 20, SIZE_B = 1 << 16;

    private static long figure(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> 0;
            case 1 -> r.nextInt(8);
            case 2 -> r.nextInt(300);
            case 3 -> Long.MAX_VALUE - r.nextInt(16);
            case 4 -> -r.nextInt(4) - 1;
            default -> 1L << (20 + r.nextInt(43));
        };
    }

    /** null when the model accepts the rectangle, else the status it expects. */
    private static Status model(long[] region, long[][] sides, long[] sizes) {
        for (long v : region) {
            if (v < 1) {
                return Status.INVALID_ARGUMENT;
            }
        }
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 3; i++) {
                if (sides[s][i] < 0) {
                    return s == 0 ? Status.OUT_OF_RANGE : Status.HEAP_RANGE;
                }
            }
        }
        BigInteger[] row = new BigInteger[2];
        BigInteger[] slice = new BigInteger[2];
        for (int s = 0; s < 2; s++) {
            long rp = sides[s][3];
            long sp = sides[s][4];
            if (rp != 0 && rp < region[0]) {
                return Status.INVALID_ARGUMENT;
            }
            row[s] = BigInteger.valueOf(rp == 0 ? region[0] : rp);
            BigInteger least = BigInteger.valueOf(region[1]).multiply(row[s]);
            if (least.bitLength() > 63) {
                return s == 0 ? Status.OUT_OF_RANGE : Status.HEAP_RANGE;
            }
            if (sp != 0 && (BigInteger.valueOf(sp).compareTo(least) < 0 || sp % row[s].longValue() != 0)) {
                return Status.INVALID_ARGUMENT;
            }
            slice[s] = sp == 0 ? least : BigInteger.valueOf(sp);
        }
        for (int s = 0; s < 2; s++) {
            BigInteger end = BigInteger.valueOf(sides[s][2]).add(BigInteger.valueOf(region[2] - 1)).multiply(slice[s])
                    .add(BigInteger.valueOf(sides[s][1]).add(BigInteger.valueOf(region[1] - 1)).multiply(row[s]))
                    .add(BigInteger.valueOf(sides[s][0])).add(BigInteger.valueOf(region[0]));
            if (end.compareTo(BigInteger.valueOf(sizes[s])) > 0) {
                return s == 0 ? Status.OUT_OF_RANGE : Status.HEAP_RANGE;
            }
        }
        return null;
    }

    @Test
    void acceptsExactlyTheRectanglesThatFitUnderOpenClsRules() {
        Random r = new Random(13);
        RectLayout l = new RectLayout().wrap(MemorySegment.ofArray(new byte[RectLayout.LENGTH]), 0);
        int accepted = 0;
        for (int n = 0; n < 200_000; n++) {
            long[] region = new long[3];
            long[][] sides = new long[2][5];
            for (int i = 0; i < 3; i++) {
                region[i] = r.nextBoolean() ? 1 + r.nextInt(64) : figure(r);
                l.region(i, region[i]);
            }
            for (int s = 0; s < 2; s++) {
                for (int i = 0; i < 5; i++) {
                    sides[s][i] = r.nextBoolean() ? (i < 3 ? r.nextInt(16) : 0) : figure(r);
                }
                for (int i = 0; i < 3; i++) {
                    l.origin(s, i, sides[s][i]);
                }
                l.rowPitch(s, sides[s][3]).slicePitch(s, sides[s][4]);
            }
            Status want = model(region, sides, new long[] {SIZE_A, SIZE_B});
            Status got = null;
            Rect rect = null;
            try {
                rect = RectChecks.read(l, "TEST", new RectChecks.Side("buffer", SIZE_A, Status.OUT_OF_RANGE),
                        new RectChecks.Side("heap range", SIZE_B, Status.HEAP_RANGE));
            } catch (CallException e) {
                got = e.status();
            }
            // both sides can be wrong at once: the checker names one of them, the model the first it finds
            if (want == null || got == null) {
                assertEquals(want, got, "case " + n);
            }
            if (rect != null) {
                accepted++;
                assertTrue(rect.endA() <= SIZE_A && rect.endB() <= SIZE_B, "case " + n);
            }
        }
        assertTrue(accepted > 1000, "only " + accepted + " accepted: the generator should make many that fit");
    }

    @Test
    void zeroPitchesTakeOpenClsDefaults() throws CallException {
        RectLayout l = new RectLayout().wrap(MemorySegment.ofArray(new byte[RectLayout.LENGTH]), 0);
        l.region(0, 12).region(1, 3).region(2, 2);
        Rect rect = RectChecks.read(l, "TEST", new RectChecks.Side("a", 1000, Status.OUT_OF_RANGE),
                new RectChecks.Side("b", 1000, Status.HEAP_RANGE));
        assertEquals(12, rect.rowPitchA());
        assertEquals(36, rect.slicePitchA());
        assertEquals(72, rect.endB());
    }
}
