package io.ferry.tee.ta.builtin;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaException;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TaStorage;
import io.ferry.tee.ta.TrustedApp;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code keys} TA: an Ed25519 key pair whose private key never leaves the TEE (kept in sealed storage), and an
 * AES-256-GCM sealing key likewise. GENERATE makes a new pair; SIGN (memref in 0 → signature in memref out 1) and
 * PUBLIC_KEY (X.509 in memref out 0) create one on first use. SEAL (plaintext in 0 → nonce | ciphertext | tag in
 * 1) and UNSEAL (the reverse; MAC_INVALID when the sealed bytes were altered).
 */
public final class KeysTa implements TrustedApp {
    static final int GENERATE = 0;
    static final int SIGN = 1;
    static final int PUBLIC_KEY = 2;
    static final int SEAL = 3;
    static final int UNSEAL = 4;
    private static final String PRIVATE = "ed25519.private";
    private static final String PUBLIC = "ed25519.public";
    private static final String AES = "aes256.key";

    private final SecureRandom random = new SecureRandom();

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        try {
            switch (command) {
                case GENERATE:
                    generate(session.storage());
                    return TaCodes.SUCCESS;
                case SIGN: {
                    if (p.type(0) != TaCodes.MEMREF_INPUT || p.type(1) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    Signature s = Signature.getInstance("Ed25519");
                    s.initSign(privateKey(session.storage()));
                    s.update(p.bytes(0));
                    return p.output(1, s.sign()) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                }
                case PUBLIC_KEY: {
                    if (p.type(0) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    privateKey(session.storage());
                    return p.output(0, session.storage().read(PUBLIC)) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                }
                case SEAL: {
                    if (p.type(0) != TaCodes.MEMREF_INPUT || p.type(1) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    byte[] nonce = new byte[12];
                    random.nextBytes(nonce);
                    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                    c.init(Cipher.ENCRYPT_MODE, aesKey(session.storage()), new GCMParameterSpec(128, nonce));
                    byte[] ct = c.doFinal(p.bytes(0));
                    byte[] out = Arrays.copyOf(nonce, 12 + ct.length);
                    System.arraycopy(ct, 0, out, 12, ct.length);
                    return p.output(1, out) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                }
                case UNSEAL: {
                    if (p.type(0) != TaCodes.MEMREF_INPUT || p.type(1) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    byte[] in = p.bytes(0);
                    if (in.length < 12 + 16) {
                        return TaCodes.ERROR_BAD_FORMAT;
                    }
                    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                    c.init(Cipher.DECRYPT_MODE, aesKey(session.storage()), new GCMParameterSpec(128, in, 0, 12));
                    byte[] plain;
                    try {
                        plain = c.doFinal(in, 12, in.length - 12);
                    } catch (AEADBadTagException e) {
                        return TaCodes.ERROR_MAC_INVALID;
                    }
                    return p.output(1, plain) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                }
                default:
                    return TaCodes.ERROR_NOT_IMPLEMENTED;
            }
        } catch (GeneralSecurityException e) {
            throw new TaException(TaCodes.ERROR_GENERIC, "crypto failed: " + e);
        }
    }

    private static void generate(TaStorage storage) throws GeneralSecurityException {
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        storage.write(PRIVATE, kp.getPrivate().getEncoded());
        storage.write(PUBLIC, kp.getPublic().getEncoded());
    }

    private static PrivateKey privateKey(TaStorage storage) throws GeneralSecurityException {
        if (!storage.exists(PRIVATE)) {
            generate(storage);
        }
        return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(storage.read(PRIVATE)));
    }

    private SecretKeySpec aesKey(TaStorage storage) {
        if (!storage.exists(AES)) {
            byte[] k = new byte[32];
            random.nextBytes(k);
            storage.write(AES, k);
        }
        return new SecretKeySpec(storage.read(AES), "AES");
    }
}
