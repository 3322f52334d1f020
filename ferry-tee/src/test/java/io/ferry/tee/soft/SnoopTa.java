package io.ferry.tee.soft;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;

/** A test TA that tries to reach the TEE's internals by name: its class loader must refuse. */
public final class SnoopTa implements TrustedApp {
    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        try {
            Class.forName("io.ferry.tee.storage.SecureStorage");
            return TaCodes.SUCCESS;
        } catch (ClassNotFoundException e) {
            return TaCodes.ERROR_ITEM_NOT_FOUND;
        }
    }
}
