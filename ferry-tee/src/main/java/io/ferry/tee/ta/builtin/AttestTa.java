package io.ferry.tee.ta.builtin;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaException;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;

/**
 * The {@code attest} TA: a measurement register with its log, and signed quotes.
 * EXTEND (memref in 0; value out 1: a = entries so far) sets {@code m = SHA-256(m | SHA-256(data))}.
 * READ (memref out 0: the 32-byte register). QUOTE (nonce in memref in 0; memref out 1: quote | signature) signs
 * {@code "FERRYQ01" | m (32) | SHA-256(nonce) (32) | entries (u32 big-endian)} with the TA's Ed25519 attestation
 * key, kept in its sealed storage. PUBLIC_KEY (X.509 in memref out 0).
 */
public final class AttestTa implements TrustedApp {
    static final int EXTEND = 0;
    static final int READ = 1;
    static final int QUOTE = 2;
    static final int PUBLIC_KEY = 3;
    static final int QUOTE_BODY = 8 + 32 + 32 + 4;
    private static final String PRIVATE = "attest.private";
    private static final String PUBLIC = "attest.public";

    private byte[] register = new byte[32];
    private int entries;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        try {
            switch (command) {
                case EXTEND: {
                    if (p.type(0) != TaCodes.MEMREF_INPUT || p.type(1) != TaCodes.VALUE_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    MessageDigest sha = MessageDigest.getInstance("SHA-256");
                    byte[] measurement = sha.digest(p.bytes(0));
                    sha.update(register);
                    register = sha.digest(measurement);
                    entries++;
                    p.setValue(1, entries, 0);
                    return TaCodes.SUCCESS;
                }
                case READ:
                    if (p.type(0) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    return p.output(0, register.clone()) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                case QUOTE: {
                    if (p.type(0) != TaCodes.MEMREF_INPUT || p.type(1) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    ByteBuffer body = ByteBuffer.allocate(QUOTE_BODY + 64);
                    body.put("FERRYQ01".getBytes(StandardCharsets.US_ASCII)).put(register)
                            .put(MessageDigest.getInstance("SHA-256").digest(p.bytes(0))).putInt(entries);
                    Signature s = Signature.getInstance("Ed25519");
                    s.initSign(KeyFactory.getInstance("Ed25519").generatePrivate(
                            new PKCS8EncodedKeySpec(key(session, PRIVATE))));
                    s.update(body.array(), 0, QUOTE_BODY);
                    body.put(s.sign());
                    return p.output(1, body.array()) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                }
                case PUBLIC_KEY:
                    if (p.type(0) != TaCodes.MEMREF_OUTPUT) {
                        return TaCodes.ERROR_BAD_PARAMETERS;
                    }
                    return p.output(0, key(session, PUBLIC)) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
                default:
                    return TaCodes.ERROR_NOT_IMPLEMENTED;
            }
        } catch (GeneralSecurityException e) {
            throw new TaException(TaCodes.ERROR_GENERIC, "crypto failed: " + e);
        }
    }

    private static byte[] key(TaSession session, String which) throws GeneralSecurityException {
        if (!session.storage().exists(PRIVATE)) {
            KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            session.storage().write(PRIVATE, kp.getPrivate().getEncoded());
            session.storage().write(PUBLIC, kp.getPublic().getEncoded());
        }
        return session.storage().read(which);
    }
}
