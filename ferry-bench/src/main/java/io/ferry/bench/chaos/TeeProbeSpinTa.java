package io.ferry.bench.chaos;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;

/** The chaos probe's hostile TA ({@link TeeProbes}): 0 increments value inout 0, 1 spins forever. */
public final class TeeProbeSpinTa implements TrustedApp {
    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        if (command == 0) {
            p.setValue(0, p.a(0) + 1, 0);
            return TaCodes.SUCCESS;
        }
        if (command == 1) {
            while (true) {
                Thread.onSpinWait();
            }
        }
        return TaCodes.ERROR_NOT_IMPLEMENTED;
    }
}
