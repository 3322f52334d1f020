package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * OP-TEE's {@code base_sha}: COMPUTE_DIGEST (0) hashes memref input 0 with the algorithm in value input 2 (0 SHA-1,
 * 1 SHA-224, 2 SHA-256, 3 SHA-384, 4 SHA-512, 5–8 SHA3-224/256/384/512) into memref output 1, answering SHORT_BUFFER
 * with the digest's size when it does not fit. SHAKE128 and SHAKE256 (9, 10) answer NOT_SUPPORTED: the JDK, all a TA
 * sees, offers no SHAKE digest.
 */
public final class BaseShaTa implements TrustedApp {
    static final int COMPUTE_DIGEST = 0;
    private static final String[] ALGORITHMS = {"SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "SHA3-224",
            "SHA3-256", "SHA3-384", "SHA3-512"};
    private static final int SHAKE128 = 9;
    private static final int SHAKE256 = 10;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        if (command != COMPUTE_DIGEST) {
            return TaCodes.ERROR_BAD_PARAMETERS; // as the original answers an unknown command
        }
        if (p.types() != TaParams.types(TaCodes.MEMREF_INPUT, TaCodes.MEMREF_OUTPUT, TaCodes.VALUE_INPUT,
                TaCodes.NONE)) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        int algorithm = p.a(2);
        if (algorithm == SHAKE128 || algorithm == SHAKE256) {
            return TaCodes.ERROR_NOT_SUPPORTED;
        }
        if (algorithm < 0 || algorithm >= ALGORITHMS.length) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        try {
            byte[] digest = MessageDigest.getInstance(ALGORITHMS[algorithm]).digest(p.bytes(0));
            return p.output(1, digest) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
        } catch (NoSuchAlgorithmException e) {
            return TaCodes.ERROR_NOT_SUPPORTED;
        }
    }
}
