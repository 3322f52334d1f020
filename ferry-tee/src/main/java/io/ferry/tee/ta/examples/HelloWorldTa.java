package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;

/** OP-TEE's {@code hello_world}: command 0 increments value inout 0's {@code a}, command 1 decrements it. */
public final class HelloWorldTa implements TrustedApp {
    static final int INC_VALUE = 0;
    static final int DEC_VALUE = 1;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        if (command != INC_VALUE && command != DEC_VALUE) {
            return TaCodes.ERROR_BAD_PARAMETERS; // as the original answers an unknown command
        }
        if (p.types() != TaParams.types(TaCodes.VALUE_INOUT, TaCodes.NONE, TaCodes.NONE, TaCodes.NONE)) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        p.setValue(0, command == INC_VALUE ? p.a(0) + 1 : p.a(0) - 1, p.b(0));
        return TaCodes.SUCCESS;
    }
}
