package io.ferry.it.tee;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.lang.foreign.MemorySegment;

/**
 * A test TA that breaks the GP output rule on request (signed by the test's key):
 * <ul>
 *   <li>0 FILL_OVER_REPORT: fills output memref 1 with the byte value 0's {@code a}, then reports its size plus
 *       value 0's {@code b} bytes and answers SUCCESS (a well-behaved TA would answer SHORT_BUFFER);</li>
 *   <li>1 COUNT: value output 0's {@code a} is how many FILL_OVER_REPORT calls this instance has run.</li>
 * </ul>
 */
public final class OverReportTa implements TrustedApp {
    static final int FILL_OVER_REPORT = 0;
    static final int COUNT = 1;

    private int fills;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        switch (command) {
            case FILL_OVER_REPORT:
                fills++;
                MemorySegment buf = p.memref(1);
                if (buf != null) {
                    buf.fill((byte) p.a(0));
                }
                p.setSize(1, p.size(1) + (p.b(0) & 0xFFFF_FFFFL));
                return TaCodes.SUCCESS;
            case COUNT:
                p.setValue(0, fills, 0);
                return TaCodes.SUCCESS;
            default:
                return TaCodes.ERROR_NOT_IMPLEMENTED;
        }
    }
}
