package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.security.GeneralSecurityException;
import java.util.IdentityHashMap;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * OP-TEE's {@code aes}: one AES operation per session. PREPARE (0) takes the algorithm (value input 0: 0 ECB, 1 CBC,
 * 2 CTR, all without padding), the key size in bytes (value input 1: 16 or 32) and the direction (value input 2: 1
 * encrypt, 0 decrypt); SET_KEY (1) the key (memref input 0, of that size); SET_IV (2) the IV (memref input 0), which
 * starts the operation; CIPHER (3) ciphers memref input 0 into memref output 1 (at least as large), continuing the
 * operation from call to call.
 */
public final class AesTa implements TrustedApp {
    static final int PREPARE = 0;
    static final int SET_KEY = 1;
    static final int SET_IV = 2;
    static final int CIPHER = 3;

    /** Per session: what PREPARE chose, the key SET_KEY loaded, and the running operation SET_IV started. */
    private static final class State {
        String transformation;
        int mode;
        int keySize;
        byte[] key;
        Cipher cipher;
    }

    private final Map<TaSession, State> sessions = new IdentityHashMap<>();

    @Override
    public int openSession(TaSession session, TaParams p) {
        sessions.put(session, new State());
        return TaCodes.SUCCESS;
    }

    @Override
    public void closeSession(TaSession session) {
        sessions.remove(session);
    }

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        State s = sessions.get(session);
        int none = TaCodes.NONE;
        int in = TaCodes.MEMREF_INPUT;
        switch (command) {
            case PREPARE: {
                int v = TaCodes.VALUE_INPUT;
                if (p.types() != TaParams.types(v, v, v, none)) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                String t = switch (p.a(0)) {
                    case 0 -> "AES/ECB/NoPadding";
                    case 1 -> "AES/CBC/NoPadding";
                    case 2 -> "AES/CTR/NoPadding";
                    default -> null;
                };
                int size = p.a(1);
                int mode = p.a(2) == 1 ? Cipher.ENCRYPT_MODE : p.a(2) == 0 ? Cipher.DECRYPT_MODE : -1;
                if (t == null || (size != 16 && size != 32) || mode < 0) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                s.transformation = t;
                s.keySize = size;
                s.mode = mode;
                s.key = new byte[size]; // the original loads a zero key until SET_KEY
                s.cipher = null;
                return TaCodes.SUCCESS;
            }
            case SET_KEY:
                if (p.types() != TaParams.types(in, none, none, none) || s.transformation == null
                        || p.size(0) != s.keySize) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                s.key = p.bytes(0);
                s.cipher = null; // the operation starts again at the next SET_IV
                return TaCodes.SUCCESS;
            case SET_IV:
                if (p.types() != TaParams.types(in, none, none, none) || s.transformation == null) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                try {
                    Cipher c = Cipher.getInstance(s.transformation);
                    SecretKeySpec key = new SecretKeySpec(s.key, "AES");
                    if (s.transformation.contains("ECB")) {
                        c.init(s.mode, key);
                    } else {
                        c.init(s.mode, key, new IvParameterSpec(p.bytes(0)));
                    }
                    s.cipher = c;
                    return TaCodes.SUCCESS;
                } catch (GeneralSecurityException e) {
                    return TaCodes.ERROR_BAD_PARAMETERS; // an IV of the wrong length
                }
            case CIPHER: {
                if (p.types() != TaParams.types(in, TaCodes.MEMREF_OUTPUT, none, none) || p.size(1) < p.size(0)) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                if (s.cipher == null) {
                    return TaCodes.ERROR_BAD_STATE;
                }
                byte[] out = s.cipher.update(p.bytes(0));
                out = out == null ? new byte[0] : out;
                if (p.memref(1) == null || out.length > p.memref(1).byteSize()) {
                    p.setSize(1, out.length);
                    return TaCodes.ERROR_SHORT_BUFFER;
                }
                p.output(1, out);
                return TaCodes.SUCCESS;
            }
            default:
                return TaCodes.ERROR_NOT_SUPPORTED;
        }
    }
}
