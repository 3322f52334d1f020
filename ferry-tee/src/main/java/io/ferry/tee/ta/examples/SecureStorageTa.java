package io.ferry.tee.ta.examples;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaException;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TaStorage;
import io.ferry.tee.ta.TrustedApp;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * OP-TEE's {@code secure_storage}: raw persistent objects named by memref input 0. READ_RAW (0) answers in memref
 * output 1, or SHORT_BUFFER with the object's size; WRITE_RAW (1) creates or replaces the object with memref input 1;
 * DELETE (2). A missing object is ITEM_NOT_FOUND. Objects live in this guest's sealed storage of this TA.
 *
 * <p>Object ids: OP-TEE takes any bytes (up to 64); this port takes ids that are UTF-8 text of up to 64 bytes, as the
 * software TEE's storage names objects by text, and answers BAD_PARAMETERS for others.
 */
public final class SecureStorageTa implements TrustedApp {
    static final int READ_RAW = 0;
    static final int WRITE_RAW = 1;
    static final int DELETE = 2;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        int none = TaCodes.NONE;
        return switch (command) {
            // a missing object: read throws ITEM_NOT_FOUND (TaStorage), which answers the call
            case READ_RAW -> p.types() != TaParams.types(TaCodes.MEMREF_INPUT, TaCodes.MEMREF_OUTPUT, none, none)
                    ? TaCodes.ERROR_BAD_PARAMETERS
                    : p.output(1, session.storage().read(id(p))) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
            case WRITE_RAW -> {
                if (p.types() != TaParams.types(TaCodes.MEMREF_INPUT, TaCodes.MEMREF_INPUT, none, none)) {
                    yield TaCodes.ERROR_BAD_PARAMETERS;
                }
                session.storage().write(id(p), p.bytes(1));
                yield TaCodes.SUCCESS;
            }
            case DELETE -> p.types() != TaParams.types(TaCodes.MEMREF_INPUT, none, none, none)
                    ? TaCodes.ERROR_BAD_PARAMETERS
                    : session.storage().delete(id(p)) ? TaCodes.SUCCESS : TaCodes.ERROR_ITEM_NOT_FOUND;
            default -> TaCodes.ERROR_NOT_SUPPORTED;
        };
    }

    private static String id(TaParams p) {
        byte[] raw = p.bytes(0);
        if (raw.length == 0 || raw.length > TaStorage.MAX_ID) {
            throw new TaException(TaCodes.ERROR_BAD_PARAMETERS, "object id must be 1.." + TaStorage.MAX_ID + " bytes");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new TaException(TaCodes.ERROR_BAD_PARAMETERS, "object id is not UTF-8 text (this port's limit)");
        }
    }
}
