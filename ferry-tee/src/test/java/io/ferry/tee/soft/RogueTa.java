package io.ferry.tee.soft;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;

/**
 * A test TA that misbehaves on request: 0 increments value inout 0 (to show it works), 1 spins forever, 2 calls
 * {@code System.exit}, 3 calls {@code Runtime.halt}.
 */
public final class RogueTa implements TrustedApp {
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
                System.exit(7);
                return TaCodes.SUCCESS;
            case 3:
                Runtime.getRuntime().halt(9);
                return TaCodes.SUCCESS;
            default:
                return TaCodes.ERROR_NOT_IMPLEMENTED;
        }
    }
}
