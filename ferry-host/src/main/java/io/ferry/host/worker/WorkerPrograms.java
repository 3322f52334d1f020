package io.ferry.host.worker;

import io.ferry.protocol.InfoKind;
import io.ferry.protocol.Op;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.BackendSession;
import io.ferry.spi.InfoValue;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The INFO and program requests a device worker serves ({@link WorkerMain}): opcodes 44–47, in their own records.
 * The host validated them; counts, blob lengths and the param are checked again (a corrupt request fails loudly).
 */
final class WorkerPrograms {
    private WorkerPrograms() {
    }

    /** What a request answers beside its results: the completion's blob, or null. */
    static byte[] serve(BackendSession session, Op op, MemorySegment rec, long[] r) throws BackendException {
        switch (op) {
            case INFO -> {
                var c = new ProgramCalls.Info().wrap(rec, 0);
                InfoKind kind = InfoKind.of(c.kind());
                long param = c.param();
                if (kind == null || kind == InfoKind.DEVICE || kind.refusal(param, c.index()) != null) {
                    throw bad("INFO of kind " + c.kind() + ", param 0x" + Long.toHexString(param));
                }
                InfoValue v = session.info(kind, c.handle(), (int) param, c.index(), c.heapOffset(), c.heapSize());
                r[0] = v.size();
                r[1] = v.written() ? 1 : 0;
                return v.bytes();
            }
            case PROGRAM_CREATE_HEAP -> {
                var c = new ProgramCalls.ProgramCreateHeap().wrap(rec, 0);
                SourceLanguage language = SourceLanguage.of((int) c.language());
                if (language == null) {
                    throw bad("PROGRAM_CREATE_HEAP of language " + c.language());
                }
                session.createProgramInHeap(c.program(), c.context(), language, c.heapOffset(), c.size());
                return null;
            }
            case PROGRAM_CREATE_BINARY -> {
                var c = new ProgramCalls.ProgramCreateBinary().wrap(rec, 0);
                session.createProgramWithBinary(c.program(), c.context(), c.heapOffset(), c.size());
                return null;
            }
            case PROGRAM_COMPILE -> {
                var c = new ProgramCalls.ProgramCompile().wrap(rec, 0);
                long count = c.headers();
                byte[] blob = c.blob().toArray(ValueLayout.JAVA_BYTE);
                if (count < 0 || count > ProgramCalls.ProgramCompile.MAX_HEADERS || 8 * count > blob.length) {
                    throw bad("PROGRAM_COMPILE of " + count + " headers in a blob of " + blob.length + " bytes");
                }
                int n = (int) count;
                long[] headers = handles(blob, n);
                String[] names = new String[n];
                int at = 8 * n;
                for (int i = 0; i < n; i++) {
                    int end = at;
                    while (end < blob.length && blob[end] != 0) {
                        end++;
                    }
                    if (end >= blob.length) {
                        throw bad("PROGRAM_COMPILE: include name " + i + " has no end");
                    }
                    names[i] = new String(blob, at, end - at, StandardCharsets.UTF_8);
                    at = end + 1;
                }
                return utf8(session.compileProgram(c.program(), headers, names,
                        new String(blob, at, blob.length - at, StandardCharsets.UTF_8)));
            }
            case PROGRAM_LINK -> {
                var c = new ProgramCalls.ProgramLink().wrap(rec, 0);
                long count = c.inputs();
                byte[] blob = c.blob().toArray(ValueLayout.JAVA_BYTE);
                if (count < 1 || count > ProgramCalls.ProgramLink.MAX_INPUTS || 8 * count > blob.length) {
                    throw bad("PROGRAM_LINK of " + count + " programs in a blob of " + blob.length + " bytes");
                }
                int n = (int) count;
                return utf8(session.linkProgram(c.program(), c.context(), handles(blob, n),
                        new String(blob, 8 * n, blob.length - 8 * n, StandardCharsets.UTF_8)));
            }
            default -> throw bad(op + " is no program request");
        }
    }

    private static long[] handles(byte[] blob, int n) {
        MemorySegment s = MemorySegment.ofArray(blob);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = s.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i);
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static BackendException bad(String what) {
        return new BackendException(Status.PROTOCOL_VIOLATION, "bad worker request: " + what);
    }
}
