package io.ferry.host.compute;

import io.ferry.host.session.CallException;
import io.ferry.host.session.HandleTable;
import io.ferry.host.session.HandleTable.Entry;
import io.ferry.host.session.HandleTable.Kind;
import io.ferry.host.session.ServiceContext;
import io.ferry.protocol.InfoKind;
import io.ferry.protocol.Op;
import io.ferry.protocol.ProgramCalls;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.BuildOptions;
import io.ferry.spi.InfoValue;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The calls a native OpenCL ICD needs beyond the Java client's (opcodes 44–47): INFO, PROGRAM_CREATE_BINARY,
 * PROGRAM_COMPILE and PROGRAM_LINK. As {@link ComputeCalls}: every kind, count, length, handle and heap range is
 * checked here, from the private copy of the record (each blob is copied out once), before a backend sees it.
 */
final class ProgramInfoCalls {
    /** Longest include name of PROGRAM_COMPILE (bytes). */
    static final int MAX_INCLUDE_NAME = 1024;
    /**
     * What an include name may be: a relative path of plain components. The compiler writes each embedded header to
     * a file of that name in a directory of its own (PoCL does), so a name must never leave it.
     */
    private static final Pattern INCLUDE_NAME = Pattern.compile("[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*");

    private final ServiceContext session;
    private final HandleTable handles;
    private final Devices devices;
    private final long heapSize;
    private final ProgramCalls.Info info = new ProgramCalls.Info();
    private final ProgramCalls.ProgramCreateBinary createBinary = new ProgramCalls.ProgramCreateBinary();
    private final ProgramCalls.ProgramCompile compile = new ProgramCalls.ProgramCompile();
    private final ProgramCalls.ProgramLink link = new ProgramCalls.ProgramLink();

    ProgramInfoCalls(ServiceContext session, Devices devices) {
        this.session = session;
        this.handles = session.handles();
        this.devices = devices;
        this.heapSize = session.heap().byteSize();
    }

    void serve(Op op, MemorySegment rec, long[] results) throws CallException, BackendException {
        switch (op) {
            case INFO -> info(info.wrap(rec, 0), results);
            case PROGRAM_CREATE_BINARY -> createBinary(createBinary.wrap(rec, 0));
            case PROGRAM_COMPILE -> compile(compile.wrap(rec, 0));
            case PROGRAM_LINK -> link(link.wrap(rec, 0));
            default -> throw new IllegalStateException("not a program or info call: " + op);
        }
    }

    private void info(ProgramCalls.Info c, long[] results) throws CallException, BackendException {
        long code = c.kind();
        long handle = c.handle();
        long param = c.param();
        long index = c.index();
        long heapOffset = c.heapOffset();
        long size = c.heapSize();
        InfoKind kind = InfoKind.of(code);
        if (kind == null) {
            throw new CallException(Status.INVALID_ARGUMENT, "INFO of unknown kind " + code + " (1 device, 2 program, "
                    + "3 program build, 4 kernel, 5 kernel argument, 6 kernel work-group, 7 image formats)");
        }
        String refused = kind.refusal(param, index);
        if (refused != null) {
            throw new CallException(Status.INVALID_ARGUMENT, "INFO: " + refused);
        }
        if (size < 0) {
            throw new CallException(Status.HEAP_RANGE, "INFO: heap size " + size + " is negative");
        }
        if (size > 0) {
            checkHeap(heapOffset, size);
        }
        if (kind != InfoKind.KERNEL_ARG && kind != InfoKind.IMAGE_FORMATS && index != 0) {
            throw new CallException(Status.INVALID_ARGUMENT, "INFO of kind " + kind + " takes index 0, not " + index);
        }
        InfoValue v;
        if (kind == InfoKind.DEVICE) {
            Devices.Device d = devices.get(handle);
            if (d == null) {
                throw devices.missing(handle);
            }
            byte[] value = d.backend().deviceInfo(d.info().index(), (int) param);
            v = InfoValue.deliver(MemorySegment.ofArray(value), session.heap(), heapOffset, size,
                    "device param 0x" + Long.toHexString(param) + " of device " + handle);
        } else {
            Kind want = switch (kind) {
                case PROGRAM, PROGRAM_BUILD -> Kind.PROGRAM;
                case IMAGE_FORMATS -> Kind.CONTEXT;
                default -> Kind.KERNEL;
            };
            Entry e = handles.get(handle, want, want.name().toLowerCase(java.util.Locale.ROOT));
            if (kind == InfoKind.KERNEL_ARG && (index < 0 || index >= e.argCount)) {
                throw new CallException(Status.INVALID_ARGUMENT, "INFO: kernel argument " + index + " of kernel "
                        + handle + ", which has " + e.argCount + " arguments");
            }
            v = e.backend.info(kind, handle, (int) param, index, heapOffset, size);
            checkAnswer(v, size);
        }
        results[0] = v.size();
        results[1] = v.written() ? 1 : 0;
        if (v.bytes() != null) {
            session.replyBytes(v.bytes());
        }
    }

    /** A backend's answer must be what was asked: bytes only for the blob, and no more than it takes. */
    private static void checkAnswer(InfoValue v, long heapSize) throws CallException {
        boolean ok = v.size() >= 0 && (heapSize == 0
                ? v.bytes() != null && v.bytes().length == v.size() && !v.written()
                : v.bytes() == null && (!v.written() || v.size() <= heapSize));
        if (!ok) {
            throw new CallException(Status.INTERNAL, "INFO: the backend answered a value of " + v.size() + " bytes "
                    + "that does not match the request");
        }
    }

    private void createBinary(ProgramCalls.ProgramCreateBinary c) throws CallException, BackendException {
        long prog = c.program();
        handles.checkNew(prog, "program");
        Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
        long offset = c.heapOffset();
        long size = c.size();
        if (size <= 0 || size > ProgramCalls.ProgramCreateBinary.MAX_SIZE) {
            throw new CallException(Status.INVALID_ARGUMENT, "program binary of " + size + " bytes: a binary is 1 to "
                    + ProgramCalls.ProgramCreateBinary.MAX_SIZE + " bytes");
        }
        checkHeap(offset, size);
        ctx.backend.createProgramWithBinary(prog, ctx.handle, offset, size);
        handles.put(prog, Kind.PROGRAM, ctx.backend, 0, 0).device = ctx.device;
    }

    private void compile(ProgramCalls.ProgramCompile c) throws CallException, BackendException {
        Entry prog = handles.get(c.program(), Kind.PROGRAM, "program");
        long count = c.headers();
        if (count < 0 || count > ProgramCalls.ProgramCompile.MAX_HEADERS) {
            throw new CallException(Status.INVALID_ARGUMENT, "PROGRAM_COMPILE of " + count + " headers: a compile "
                    + "takes 0 to " + ProgramCalls.ProgramCompile.MAX_HEADERS);
        }
        int n = (int) count;
        byte[] blob = c.blob().toArray(ValueLayout.JAVA_BYTE);
        long[] headers = programs(blob, n, prog, "header");
        String[] names = new String[n];
        int at = 8 * n;
        for (int i = 0; i < n; i++) {
            int end = at;
            while (end < blob.length && blob[end] != 0) {
                end++;
            }
            if (end >= blob.length) {
                throw new CallException(Status.INVALID_ARGUMENT, "PROGRAM_COMPILE: the blob ends before include name "
                        + i + " of " + n + " and its NUL");
            }
            if (end == at || end - at > MAX_INCLUDE_NAME) {
                throw new CallException(Status.INVALID_ARGUMENT, "PROGRAM_COMPILE: include name " + i + " of "
                        + (end - at) + " bytes: a name is 1 to " + MAX_INCLUDE_NAME + " bytes");
            }
            String name = new String(blob, at, end - at, StandardCharsets.UTF_8);
            if (!INCLUDE_NAME.matcher(name).matches() || ("/" + name + "/").contains("/../")
                    || ("/" + name + "/").contains("/./")) {
                throw new CallException(Status.INVALID_ARGUMENT, "PROGRAM_COMPILE: include name '" + name + "' is "
                        + "not a relative path of plain components (A-Z a-z 0-9 _ . + -, no '.' or '..')");
            }
            names[i] = name;
            at = end + 1;
        }
        String options = BuildOptions.checked(new String(blob, at, blob.length - at, StandardCharsets.UTF_8));
        session.replyText(prog.backend.compileProgram(prog.handle, headers, names, options));
    }

    private void link(ProgramCalls.ProgramLink c) throws CallException, BackendException {
        long prog = c.program();
        handles.checkNew(prog, "program");
        Entry ctx = handles.get(c.context(), Kind.CONTEXT, "context");
        long count = c.inputs();
        if (count < 1 || count > ProgramCalls.ProgramLink.MAX_INPUTS) {
            throw new CallException(Status.INVALID_ARGUMENT, "PROGRAM_LINK of " + count + " programs: a link takes 1 "
                    + "to " + ProgramCalls.ProgramLink.MAX_INPUTS);
        }
        int n = (int) count;
        byte[] blob = c.blob().toArray(ValueLayout.JAVA_BYTE);
        long[] inputs = programs(blob, n, ctx, "input");
        int at = 8 * n;
        String options = BuildOptions.checked(new String(blob, at, blob.length - at, StandardCharsets.UTF_8));
        String log = ctx.backend.linkProgram(prog, ctx.handle, inputs, options);
        handles.put(prog, Kind.PROGRAM, ctx.backend, 0, 0).device = ctx.device;
        session.replyText(log);
    }

    /** The {@code n} program handles at the blob's start, each a program of {@code with}'s backend. */
    private long[] programs(byte[] blob, int n, Entry with, String role) throws CallException {
        if (8L * n > blob.length) {
            throw new CallException(Status.INVALID_ARGUMENT, role + " programs: " + n + " handles need " + 8 * n
                    + " bytes of blob, the call carries " + blob.length);
        }
        MemorySegment s = MemorySegment.ofArray(blob);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            Entry p = handles.get(s.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i), Kind.PROGRAM, role + " program");
            ComputeCalls.sameBackend(with, p);
            out[i] = p.handle;
        }
        return out;
    }

    private void checkHeap(long heapOffset, long size) throws CallException {
        if (heapOffset < 0 || size <= 0 || size > heapSize - heapOffset) {
            throw new CallException(Status.HEAP_RANGE, "heap range [offset " + heapOffset + ", size " + size
                    + ") is outside the guest heap of " + heapSize + " bytes");
        }
    }
}
