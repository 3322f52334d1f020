package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.security.GeneralSecurityException;
import java.util.IdentityHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * OP-TEE's {@code hotp}: HMAC-based one-time passwords (RFC 4226, 6 digits). REGISTER_SHARED_KEY (0) takes the key as
 * memref input 0 (at most 64 bytes); GET_HOTP (1) answers the next password in value output 0's {@code a} and steps
 * the counter. Key and counter belong to the session, as in the original.
 */
public final class HotpTa implements TrustedApp {
    static final int REGISTER_SHARED_KEY = 0;
    static final int GET_HOTP = 1;
    static final int MAX_KEY = 64;
    static final int MIN_KEY = 10;

    /** Per session: the key, and the 8-byte big-endian counter. */
    private record State(byte[] key, byte[] counter) {
    }

    private final Map<TaSession, State> sessions = new IdentityHashMap<>();

    @Override
    public int openSession(TaSession session, TaParams p) {
        if (p.types() != 0) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        sessions.put(session, new State(new byte[0], new byte[8]));
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
        switch (command) {
            case REGISTER_SHARED_KEY: {
                if (p.types() != TaParams.types(TaCodes.MEMREF_INPUT, none, none, none) || p.size(0) > MAX_KEY) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                sessions.put(session, new State(p.bytes(0), s.counter()));
                return TaCodes.SUCCESS;
            }
            case GET_HOTP: {
                if (p.types() != TaParams.types(TaCodes.VALUE_OUTPUT, none, none, none)) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                if (s.key().length < MIN_KEY) {
                    return TaCodes.ERROR_BAD_PARAMETERS; // no key registered, or one shorter than HMAC-SHA1's 80 bits
                }
                byte[] mac;
                try {
                    Mac hmac = Mac.getInstance("HmacSHA1");
                    hmac.init(new SecretKeySpec(s.key(), "HmacSHA1"));
                    mac = hmac.doFinal(s.counter());
                } catch (GeneralSecurityException e) {
                    return TaCodes.ERROR_GENERIC;
                }
                byte[] c = s.counter();
                for (int i = c.length - 1; i >= 0; i--) {
                    if (++c[i] != 0) {
                        break; // no carry into the next byte
                    }
                }
                int off = mac[19] & 0xf;
                int bin = (mac[off] & 0x7f) << 24 | (mac[off + 1] & 0xff) << 16 | (mac[off + 2] & 0xff) << 8
                        | (mac[off + 3] & 0xff);
                p.setValue(0, bin % 1_000_000, 0);
                return TaCodes.SUCCESS;
            }
            default:
                return TaCodes.ERROR_BAD_PARAMETERS; // as the original answers an unknown command
        }
    }
}
