package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.security.SecureRandom;

/** OP-TEE's {@code random}: command 0 fills memref output 0 with random bytes (the TEE's {@code TEE_GenerateRandom}). */
public final class RandomTa implements TrustedApp {
    static final int GENERATE = 0;
    /** Largest answer: the original allocates the buffer inside the TA; a guest asking for more is refused. */
    static final long MAX_BYTES = 1 << 20;

    private final SecureRandom random = new SecureRandom();

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        if (command != GENERATE) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        if (p.types() != TaParams.types(TaCodes.MEMREF_OUTPUT, TaCodes.NONE, TaCodes.NONE, TaCodes.NONE)) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        long n = p.memref(0) == null ? 0 : p.memref(0).byteSize();
        if (n > MAX_BYTES) {
            return TaCodes.ERROR_OUT_OF_MEMORY;
        }
        byte[] bytes = new byte[(int) n];
        random.nextBytes(bytes);
        p.output(0, bytes);
        return TaCodes.SUCCESS;
    }
}
