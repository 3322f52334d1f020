package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.IdentityHashMap;
import java.util.Map;
import javax.crypto.Cipher;

/**
 * OP-TEE's {@code acipher}: GEN_KEY (0) makes an RSA key pair of value input 0's {@code a} bits for the session;
 * ENCRYPT (1) encrypts memref input 0 into memref output 1 with RSAES-PKCS1-v1_5, answering SHORT_BUFFER with the
 * size needed when output 1 is too small (the example client asks that way first).
 */
public final class AcipherTa implements TrustedApp {
    static final int GEN_KEY = 0;
    static final int ENCRYPT = 1;
    static final int MIN_BITS = 512;
    static final int MAX_BITS = 4096;

    private final Map<TaSession, KeyPair> keys = new IdentityHashMap<>();

    @Override
    public void closeSession(TaSession session) {
        keys.remove(session);
    }

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        int none = TaCodes.NONE;
        switch (command) {
            case GEN_KEY: {
                int bits = p.a(0);
                if (p.types() != TaParams.types(TaCodes.VALUE_INPUT, none, none, none)) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                if (bits < MIN_BITS || bits > MAX_BITS || bits % 8 != 0) {
                    return TaCodes.ERROR_NOT_SUPPORTED;
                }
                try {
                    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                    g.initialize(bits);
                    keys.put(session, g.generateKeyPair());
                    return TaCodes.SUCCESS;
                } catch (GeneralSecurityException e) {
                    return TaCodes.ERROR_NOT_SUPPORTED;
                }
            }
            case ENCRYPT: {
                if (p.types() != TaParams.types(TaCodes.MEMREF_INPUT, TaCodes.MEMREF_OUTPUT, none, none)) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                KeyPair key = keys.get(session);
                if (key == null) {
                    return TaCodes.ERROR_BAD_STATE;
                }
                int modulus = (((RSAPublicKey) key.getPublic()).getModulus().bitLength() + 7) / 8;
                if (p.size(0) > modulus - 11) {
                    return TaCodes.ERROR_BAD_PARAMETERS; // PKCS#1 v1.5 takes at most k - 11 bytes
                }
                if (p.memref(1) == null || p.memref(1).byteSize() < modulus) {
                    p.setSize(1, modulus);
                    return TaCodes.ERROR_SHORT_BUFFER;
                }
                try {
                    Cipher c = Cipher.getInstance("RSA/ECB/PKCS1Padding");
                    c.init(Cipher.ENCRYPT_MODE, key.getPublic());
                    p.output(1, c.doFinal(p.bytes(0)));
                    return TaCodes.SUCCESS;
                } catch (GeneralSecurityException e) {
                    return TaCodes.ERROR_GENERIC;
                }
            }
            default:
                return TaCodes.ERROR_NOT_SUPPORTED;
        }
    }
}
