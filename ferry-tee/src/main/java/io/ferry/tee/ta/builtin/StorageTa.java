package io.ferry.tee.ta.builtin;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.nio.charset.StandardCharsets;

/**
 * The {@code storage} TA: named objects in its sealed storage. Every command takes the object id as memref input
 * 0. CREATE and WRITE take the data as memref input 1 (CREATE fails with ACCESS_CONFLICT when the object exists);
 * READ answers in memref output 1 (SHORT_BUFFER with the needed size when it does not fit); DELETE answers
 * ITEM_NOT_FOUND for a missing object.
 */
public final class StorageTa implements TrustedApp {
    static final int CREATE = 0;
    static final int READ = 1;
    static final int WRITE = 2;
    static final int DELETE = 3;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        if (p.type(0) != TaCodes.MEMREF_INPUT || p.memref(0) == null) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        String id = new String(p.bytes(0), StandardCharsets.UTF_8);
        switch (command) {
            case CREATE:
                if (p.type(1) != TaCodes.MEMREF_INPUT) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                if (session.storage().exists(id)) {
                    return TaCodes.ERROR_ACCESS_CONFLICT;
                }
                session.storage().write(id, p.bytes(1));
                return TaCodes.SUCCESS;
            case WRITE:
                if (p.type(1) != TaCodes.MEMREF_INPUT) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                session.storage().write(id, p.bytes(1));
                return TaCodes.SUCCESS;
            case READ:
                if (p.type(1) != TaCodes.MEMREF_OUTPUT) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                return p.output(1, session.storage().read(id)) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
            case DELETE:
                return session.storage().delete(id) ? TaCodes.SUCCESS : TaCodes.ERROR_ITEM_NOT_FOUND;
            default:
                return TaCodes.ERROR_NOT_IMPLEMENTED;
        }
    }
}
