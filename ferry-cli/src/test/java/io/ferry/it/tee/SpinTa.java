package io.ferry.it.tee;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;

/** A test TA: 0 increments value inout 0, 1 spins forever, 2 calls System.exit. Signed by the test's key. */
public final class SpinTa implements TrustedApp {
    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        switch (command) {
            case 0:
                p.setValue(0, p.a(0) + 1, 0);
                return TaCodes.SUCCESS;
            case 1:
                while (true) {
                    Thread.onSpinWait();
                }
            case 2:
                System.exit(3);
                return TaCodes.SUCCESS;
            default:
                return TaCodes.ERROR_NOT_IMPLEMENTED;
        }
    }
}
