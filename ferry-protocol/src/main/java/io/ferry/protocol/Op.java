package io.ferry.protocol;

import java.util.List;

/**
 * The message catalogue: every call a guest can make. This enum is the one description of a call's wire shape:
 * its opcode, whether the guest waits for a completion, the names of its fixed 64-bit arguments (in wire order),
 * what its trailing blob carries, and what its completion returns. Encoders, the host's validation and
 * {@code docs/protocol.md} (checked by a test) all follow it.
 *
 * <p>Opcodes are stable; never renumber. Handles are chosen by the guest (nonzero, unique within a session).
 */
public enum Op {
    // session
    HELLO(1, Kind.SYNC, List.of("magic", "version", "capabilities", "pid",
            "credential0", "credential1", "credential2", "credential3"),
            "guest name (UTF-8)", List.of("session id", "host protocol version", "host capabilities", "device count")),
    GOODBYE(2, Kind.SYNC, List.of(), "", List.of()),
    NOP(3, Kind.ONE_WAY, List.of("value"), "", List.of("value echoed")),
    DEVICE_INFO(4, Kind.SYNC, List.of("device"), "",
            List.of("type | languages << 8", "global memory bytes", "local memory bytes",
                    "compute units | max work-group size << 32")),

    // object creation (no round trip: the guest names the handle)
    CONTEXT_CREATE(10, Kind.ONE_WAY, List.of("context", "device"), "", List.of()),
    QUEUE_CREATE(11, Kind.ONE_WAY, List.of("queue", "context", "flags", "priority"), "", List.of()),
    BUFFER_CREATE(12, Kind.ONE_WAY, List.of("buffer", "context", "size", "access", "heap offset"), "", List.of()),
    PROGRAM_CREATE(13, Kind.ONE_WAY, List.of("program", "context", "language"), "source (UTF-8)", List.of()),
    PROGRAM_BUILD(14, Kind.SYNC, List.of("program"), "build options (UTF-8)", List.of()),
    KERNEL_CREATE(15, Kind.SYNC, List.of("kernel", "program"), "kernel name (UTF-8)", List.of("argument count")),
    RELEASE(16, Kind.ONE_WAY, List.of("handle"), "", List.of()),

    // kernel arguments
    KERNEL_ARG_BUFFER(20, Kind.ONE_WAY, List.of("kernel", "index", "buffer"), "", List.of()),
    KERNEL_ARG_VALUE(21, Kind.ONE_WAY, List.of("kernel", "index"), "value bytes", List.of()),
    KERNEL_ARG_LOCAL(22, Kind.ONE_WAY, List.of("kernel", "index", "bytes"), "", List.of()),

    // queue work
    BUFFER_WRITE(30, Kind.ONE_WAY, List.of("queue", "buffer", "offset", "size", "heap offset", "event", "waits"),
            WaitList.BLOB, List.of()),
    BUFFER_READ(31, Kind.ONE_WAY, List.of("queue", "buffer", "offset", "size", "heap offset", "event", "waits"),
            WaitList.BLOB, List.of()),
    BUFFER_COPY(32, Kind.ONE_WAY, List.of("queue", "source", "destination", "source offset", "destination offset",
            "size", "event", "waits"), WaitList.BLOB, List.of()),
    BUFFER_FILL(33, Kind.ONE_WAY, List.of("queue", "buffer", "offset", "size", "event", "waits"),
            WaitList.BLOB + ", then the pattern bytes", List.of()),
    LAUNCH(34, Kind.ONE_WAY, List.of("queue", "kernel", "dimensions",
            "offset0", "offset1", "offset2", "global0", "global1", "global2", "local0", "local1", "local2", "event",
            "waits"), WaitList.BLOB, List.of()),
    FINISH(35, Kind.SYNC, List.of("queue"), "", List.of()),
    EVENT_WAIT(36, Kind.SYNC, List.of("event"), "", List.of("start ns", "end ns", "queued ns", "submit ns")),
    QUEUE_HINT(37, Kind.ONE_WAY, List.of("queue", "priority", "deadline ns", "scope"), "", List.of()),

    // events and queues (38-43)
    MARKER(38, Kind.ONE_WAY, List.of("queue", "event", "waits"), WaitList.BLOB, List.of()),
    BARRIER(39, Kind.ONE_WAY, List.of("queue", "event", "waits"), WaitList.BLOB, List.of()),
    USER_EVENT_CREATE(40, Kind.ONE_WAY, List.of("event", "context"), "", List.of()),
    USER_EVENT_SET(41, Kind.SYNC, List.of("event", "execution status"), "", List.of()),
    EVENT_STATUS(42, Kind.SYNC, List.of("event"), "", List.of("execution status")),
    KERNEL_WORK_GROUP_INFO(43, Kind.SYNC, List.of("kernel"), "", List.of("work-group size",
            "preferred work-group size multiple", "local memory bytes", "private memory bytes")),
    // what a native OpenCL ICD asks beyond the above (views in ProgramCalls, INFO's kinds in InfoKind)
    INFO(44, Kind.SYNC, List.of("kind", "handle", "param", "index", "heap offset", "heap size"), "",
            List.of("value bytes", "written to the heap")),
    PROGRAM_CREATE_BINARY(45, Kind.ONE_WAY, List.of("program", "context", "heap offset", "size"), "", List.of()),
    PROGRAM_COMPILE(46, Kind.SYNC, List.of("program", "headers"), "headers x u64 program handles, then headers "
            + "NUL-terminated include names, then compile options (UTF-8)", List.of()),
    PROGRAM_LINK(47, Kind.SYNC, List.of("program", "context", "inputs"), "inputs x u64 program handles, then link "
            + "options (UTF-8)", List.of()),

    // memory objects (48-59): sub-buffers and rectangular transfers; views in MemoryCalls, the rectangle in RectLayout
    SUB_BUFFER_CREATE(48, Kind.ONE_WAY, List.of("buffer", "parent", "offset", "size", "access"), "", List.of()),
    BUFFER_WRITE_RECT(49, Kind.ONE_WAY, List.of("queue", "buffer", "heap offset", "heap size", "event", "waits"),
            WaitList.BLOB + ", then the rectangle (RectLayout: region, buffer side, heap side)", List.of()),
    BUFFER_READ_RECT(50, Kind.ONE_WAY, List.of("queue", "buffer", "heap offset", "heap size", "event", "waits"),
            WaitList.BLOB + ", then the rectangle (RectLayout: region, buffer side, heap side)", List.of()),
    BUFFER_COPY_RECT(51, Kind.ONE_WAY, List.of("queue", "source", "destination", "event", "waits"),
            WaitList.BLOB + ", then the rectangle (RectLayout: region, source side, destination side)",
            List.of()),
    IMAGE_CREATE(52, Kind.ONE_WAY, List.of("image", "context", "width", "height", "depth", "channel order",
            "channel type", "access"), "", List.of()),
    IMAGE_WRITE(53, Kind.ONE_WAY, List.of("queue", "image", "heap offset", "heap size", "event", "waits"),
            WaitList.BLOB + ", then the rectangle (RectLayout: region in pixels, image side, heap side)",
            List.of()),
    IMAGE_READ(54, Kind.ONE_WAY, List.of("queue", "image", "heap offset", "heap size", "event", "waits"),
            WaitList.BLOB + ", then the rectangle (RectLayout: region in pixels, image side, heap side)",
            List.of()),
    SAMPLER_CREATE(55, Kind.ONE_WAY, List.of("sampler", "context", "normalized", "addressing", "filter"), "",
            List.of()),
    KERNEL_ARG_SAMPLER(56, Kind.ONE_WAY, List.of("kernel", "index", "sampler"), "", List.of()),
    QUEUE_RELEASE(57, Kind.SYNC, List.of("queue", "period ns", "offset ns", "budget ns"), "", List.of()),
    PROGRAM_CREATE_HEAP(58, Kind.ONE_WAY, List.of("program", "context", "language", "heap offset", "size"), "",
            List.of()),

    // trusted services (GlobalPlatform TEE Client API); parameter block layout in TeeWire
    TEE_OPEN_SESSION(60, Kind.SYNC, List.of("session", "uuid high", "uuid low", "login", "connection data",
            "cancel word"), "parameter block (TeeWire)", List.of("return code", "return origin")),
    TEE_INVOKE(61, Kind.SYNC, List.of("session", "command", "cancel word"), "parameter block (TeeWire)",
            List.of("return code", "return origin")),
    TEE_CLOSE_SESSION(62, Kind.SYNC, List.of("session"), "", List.of()),
    TEE_SHM_REGISTER(63, Kind.SYNC, List.of("shm", "heap offset", "size", "flags"), "",
            List.of("return code", "return origin")),
    TEE_SHM_RELEASE(64, Kind.ONE_WAY, List.of("shm"), "", List.of()),
    TEE_DIRECT(65, Kind.SYNC, List.of("session", "heap offset", "size"), "",
            List.of("return code", "return origin"));

    /** Whether the guest waits for a completion. One-way calls may still ask for one with {@link Wire#FLAG_REPLY}. */
    public enum Kind { SYNC, ONE_WAY }

    /** The host service that serves a call, by opcode range: 1–9 session, 10–59 compute, 60–99 TEE. */
    public enum Service { SESSION, COMPUTE, TEE }

    private static final Op[] BY_CODE = new Op[128];

    static {
        for (Op op : values()) {
            BY_CODE[op.code] = op;
        }
    }

    private final int code;
    private final Kind kind;
    private final List<String> args;
    private final String blob;
    private final List<String> results;

    Op(int code, Kind kind, List<String> args, String blob, List<String> results) {
        this.code = code;
        this.kind = kind;
        this.args = args;
        this.blob = blob;
        this.results = results;
        if (results.size() > Wire.RESULT_WORDS) {
            throw new IllegalStateException(name() + " has more results than a completion carries");
        }
    }

    public int code() {
        return code;
    }

    public Kind kind() {
        return kind;
    }

    public Service service() {
        return code < 10 ? Service.SESSION : code < 60 ? Service.COMPUTE : Service.TEE;
    }

    /** Number of fixed 64-bit argument words. */
    public int argCount() {
        return args.size();
    }

    public List<String> argNames() {
        return args;
    }

    /** What the blob carries; empty when the call takes no blob. */
    public String blob() {
        return blob;
    }

    public boolean hasBlob() {
        return !blob.isEmpty();
    }

    public List<String> resultNames() {
        return results;
    }

    /** Bytes of a call record before its blob. */
    public int fixedLength() {
        return Wire.CALL_HEADER_LENGTH + 8 * args.size();
    }

    /** The op for a wire code, or null when the code is unknown. */
    public static Op of(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
