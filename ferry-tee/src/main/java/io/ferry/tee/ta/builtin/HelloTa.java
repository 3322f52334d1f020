package io.ferry.tee.ta.builtin;

import io.ferry.tee.ta.TaCodes;
import io.ferry.tee.ta.TaParams;
import io.ferry.tee.ta.TaSession;
import io.ferry.tee.ta.TrustedApp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.UUID;

/**
 * The {@code hello} TA: increments a value, and offers the commands the conformance tests and the benchmark need
 * (panic, wait for cancellation, echo the client's identity, echo and checksum memrefs). Command numbers are in
 * {@code io.ferry.tee.BuiltinTas}.
 */
public final class HelloTa implements TrustedApp {
    static final int INCREMENT = 0;
    static final int PANIC = 1;
    static final int WAIT_FOR_CANCEL = 2;
    static final int IDENTITY = 3;
    static final int ECHO = 4;
    static final int CHECKSUM = 5;
    static final int FILL = 6;

    @Override
    public int invoke(TaSession session, int command, TaParams p) {
        switch (command) {
            case INCREMENT:
                if (p.types() != TaParams.types(TaCodes.VALUE_INOUT, 0, 0, 0)) {
                    return TaCodes.ERROR_BAD_PARAMETERS;
                }
                p.setValue(0, p.a(0) + 1, p.b(0));
                return TaCodes.SUCCESS;
            case PANIC:
                session.panic(0xDEAD);
                return TaCodes.ERROR_GENERIC;
            case WAIT_FOR_CANCEL:
                return waitForCancel(session, p);
            case IDENTITY:
                return identity(session, p);
            case ECHO:
                return echo(p);
            case CHECKSUM:
                return checksum(p);
            case FILL:
                return fill(p);
            default:
                return TaCodes.ERROR_NOT_IMPLEMENTED;
        }
    }

    private static int waitForCancel(TaSession session, TaParams p) {
        if (p.type(0) != TaCodes.VALUE_INPUT) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        long deadline = System.nanoTime() + Math.max(0, p.a(0)) * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (session.isCancelled()) {
                return TaCodes.ERROR_CANCEL;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        return TaCodes.SUCCESS;
    }

    private static int identity(TaSession session, TaParams p) {
        if (p.type(0) != TaCodes.MEMREF_OUTPUT) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        byte[] out = new byte[20];
        int login = session.login();
        out[0] = (byte) login;
        out[1] = (byte) (login >>> 8);
        out[2] = (byte) (login >>> 16);
        out[3] = (byte) (login >>> 24);
        UUID u = session.clientUuid();
        long hi = u.getMostSignificantBits();
        long lo = u.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            out[4 + i] = (byte) (hi >>> (56 - 8 * i));
            out[12 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return p.output(0, out) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
    }

    private static int echo(TaParams p) {
        if (p.type(0) != TaCodes.MEMREF_INPUT || p.type(1) != TaCodes.MEMREF_OUTPUT) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        return p.output(1, p.bytes(0)) ? TaCodes.SUCCESS : TaCodes.ERROR_SHORT_BUFFER;
    }

    private static int checksum(TaParams p) {
        if ((p.type(0) != TaCodes.MEMREF_INPUT && p.type(0) != TaCodes.MEMREF_INOUT) || p.type(1) != TaCodes.VALUE_OUTPUT) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        MemorySegment m = p.memref(0);
        long sum = 0;
        if (m != null) {
            long n = m.byteSize();
            long i = 0;
            for (; i + 8 <= n; i += 8) {
                sum += m.get(ValueLayout.JAVA_LONG_UNALIGNED, i);
            }
            for (; i < n; i++) {
                sum += m.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            }
        }
        p.setValue(1, (int) (sum ^ (sum >>> 32)), (int) p.size(0));
        return TaCodes.SUCCESS;
    }

    private static int fill(TaParams p) {
        if (p.type(0) != TaCodes.VALUE_INPUT || p.type(1) != TaCodes.MEMREF_OUTPUT) {
            return TaCodes.ERROR_BAD_PARAMETERS;
        }
        if (p.memref(1) != null) {
            p.memref(1).fill((byte) p.a(0));
        }
        return TaCodes.SUCCESS;
    }
}
