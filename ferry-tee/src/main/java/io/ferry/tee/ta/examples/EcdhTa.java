package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import javax.crypto.KeyAgreement;

/**
 * OP-TEE's {@code ecdh}: DERIVE_SELFTEST (0) makes two EC key pairs on the curve in value input 0 (0 P-192, 1 P-224,
 * 2 P-256, 3 P-384), derives the ECDH secret from each side, checks that both agree, and answers the secret in memref
 * output 3 (SHORT_BUFFER with its size when it does not fit). The JDK's provider, all a TA sees, has P-256 and
 * P-384 only: P-192 and P-224 answer NOT_SUPPORTED.
 */
public final class EcdhTa implements TrustedApp {
    static final int DERIVE_SELFTEST = 0;
    private static final String[] CURVES = {"secp192r1", "secp224r1", "secp256r1", "secp384r1"};

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        if (command != DERIVE_SELFTEST) {
            return TaCodes.ERROR_NOT_SUPPORTED;
        }
        if (p.types() != TaParams.types(TaCodes.VALUE_INPUT, TaCodes.NONE, TaCodes.NONE, TaCodes.MEMREF_OUTPUT)) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        int curve = p.a(0);
        if (curve < 0 || curve >= CURVES.length) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec(CURVES[curve]));
            KeyPair a = g.generateKeyPair();
            KeyPair b = g.generateKeyPair();
            byte[] ab = secret(a, b);
            if (!Arrays.equals(ab, secret(b, a))) {
                return TaCodes.ERROR_GENERIC; // the self-test failed
            }
            return p.output(3, ab) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
        } catch (InvalidAlgorithmParameterException e) {
            return TaCodes.ERROR_NOT_SUPPORTED; // a curve this JDK does not offer
        } catch (GeneralSecurityException e) {
            return TaCodes.ERROR_GENERIC;
        }
    }

    private static byte[] secret(KeyPair own, KeyPair peer) throws GeneralSecurityException {
        KeyAgreement k = KeyAgreement.getInstance("ECDH");
        k.init(own.getPrivate());
        k.doPhase(peer.getPublic(), true);
        return k.generateSecret();
    }
}
