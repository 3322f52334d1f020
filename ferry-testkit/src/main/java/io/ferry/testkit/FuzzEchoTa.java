package io.ferry.testkit;

import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeCancellation;
import io.ferry.spi.TeeParams;
import io.ferry.spi.TeeReturn;
import io.ferry.protocol.TeeWire;
import java.lang.foreign.MemorySegment;
import java.util.UUID;

/**
 * A trusted application that answers from its parameters: output values get a + 1, output memrefs are filled
 * and their size set (sometimes larger than given: SHORT_BUFFER), the return code is picked by the command.
 */
final class FuzzEchoTa implements TeeBackend {
    private long sessions;

    @Override
    public String name() {
        return "fuzz-echo";
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public TeeReturn openSession(String guest, UUID ta, int login, UUID clientUuid, TeeParams params, TeeCancellation cancel) {
        answer(params, 0);
        return new TeeReturn(TeeWire.SUCCESS, TeeWire.ORIGIN_TRUSTED_APP, ++sessions);
    }

    @Override
    public TeeReturn invoke(long session, int command, TeeParams params, TeeCancellation cancel) {
        answer(params, command);
        int code = switch (command % 4) {
            case 1 -> TeeWire.ERROR_SHORT_BUFFER;
            case 2 -> TeeWire.ERROR_GENERIC;
            default -> TeeWire.SUCCESS;
        };
        return TeeReturn.of(code, TeeWire.ORIGIN_TRUSTED_APP);
    }

    private static void answer(TeeParams p, int command) {
        for (int i = 0; i < TeeParams.COUNT; i++) {
            int t = p.type(i);
            if (t == TeeParams.VALUE_OUTPUT || t == TeeParams.VALUE_INOUT) {
                p.setValue(i, p.a(i) + 1, p.b(i) + 1);
            } else if (TeeParams.isMemref(t) && p.buffer(i) != null) {
                MemorySegment b = p.buffer(i);
                if (t != TeeParams.MEMREF_INPUT) {
                    b.fill((byte) command);
                }
                p.setSize(i, command % 4 == 1 ? p.size(i) + 1 + command : p.size(i));
            }
        }
    }

    @Override
    public void closeSession(long session) {
    }

    @Override
    public void close() {
    }
}
