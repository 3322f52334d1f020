package io.ferry.testkit;

import io.ferry.host.sched.SchedClass;

import io.ferry.host.compute.Devices;
import io.ferry.host.compute.ComputeService;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.host.session.ProtocolViolation;
import io.ferry.host.session.Session;

import static io.ferry.testkit.FuzzTargets.CREDENTIAL;
import static io.ferry.testkit.FuzzTargets.GUEST;
import static io.ferry.testkit.FuzzTargets.HEAP;
import static io.ferry.testkit.FuzzTargets.REPLIES;
import static io.ferry.testkit.FuzzTargets.RING;
import static io.ferry.testkit.FuzzTargets.TA;
import io.ferry.testkit.FuzzTargets.Finding;

import io.ferry.channel.CompletionReader;
import io.ferry.channel.RegionDescriptor;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.SpscRing;
import io.ferry.host.tee.TeeLimits;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.protocol.CallRecord;
import io.ferry.protocol.Calls;
import io.ferry.protocol.CompletionRecord;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.TeeWire;
import io.ferry.protocol.Wire;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One guest's session as the endpoint holds it, with the rings and heap in private memory: the fuzzer is the
 * guest. Its device is a {@link FuzzBackend} (objects in Java memory, so calls create real objects and reach
 * every check, and the backend asserts the host validated what it passes on), and its TEE a backend that
 * answers every call from the parameters it is given (so the mediator's validation and write-back run in
 * full).
 */
final class FuzzHarness {
    /** Longest fuzzed blob of a call that takes one: room for a rectangle (104 bytes) after a wait list. */
    static final int MAX_BLOB = 192;
    final Devices devices;
    final MemorySegment commandSection;
    final MemorySegment completionSection;
    final MemorySegment heap;
    final SpscRing commandsGuest;
    final SpscRing commandsHost;
    final SpscRing completionsHost;
    final SpscRing completionsGuest;
    final HostConfig config;
    final HostConfig.GuestConfig guest;
    final TeeServiceFactory tee;
    final ComputeService compute;
    final CompletionCheck check = new CompletionCheck();
    private final CallRecord raw = new CallRecord();
    Session session;
    long seq;
    boolean ended;
    /** Whether the last {@link #put} wrote its record (it skips what the ring itself refuses to frame). */
    boolean written;
    long sessions;

    FuzzHarness(Devices devices) {
        this.devices = devices;
        Arena arena = Arena.ofAuto();
        commandSection = arena.allocate(RegionDescriptor.RING_DATA_OFFSET + RING, 64);
        completionSection = arena.allocate(RegionDescriptor.RING_DATA_OFFSET + RING, 64);
        heap = arena.allocate(HEAP, 4096);
        commandsGuest = new SpscRing("command", commandSection, RING);
        commandsHost = new SpscRing("command", commandSection, RING);
        completionsHost = new SpscRing("completion", completionSection, RING);
        completionsGuest = new SpscRing("completion", completionSection, RING);
        guest = new HostConfig.GuestConfig(GUEST, 1L << 20, null, SchedClass.BEST_EFFORT, 1,
                Set.of("compute", "tee"), new Quotas(1L << 20, 32, 16));
        config = new HostConfig(Path.of("/nonexistent/ferry-fuzz"), true, List.of(), List.of(guest));
        tee = new TeeServiceFactory(new FuzzEchoTa(), TeePolicy.of(List.of(
                new TeePolicy.Rule(GUEST, TA, 0b111, 0, 15, List.of(7L)))),
                new TeeLimits(4, 4, 4 * TeeLimits.PAGE, 8));
        compute = new ComputeService(config, guest, 0, Map.of(), Path.of("/nonexistent/ferry-fuzz/fuzz.region"),
                devices);
    }

    void open() {
        commandsGuest.reset();
        commandsHost.reset();
        completionsHost.reset();
        completionsGuest.reset();
        heap.fill((byte) 0);
        session = new Session(guest, ++sessions, CREDENTIAL, pid -> false, completionsHost, heap,
                compute.deviceCount(), compute::open, tee);
        seq = 0;
        ended = false;
    }

    boolean alive() {
        return !ended;
    }

    void close() {
        // what the endpoint does at the end of a session; must never throw
        session.close(ended ? Status.PROTOCOL_VIOLATION : Status.SESSION_CLOSED, "fuzz case over");
        drain();
    }

    /** Says HELLO: the valid one when {@code d} is null, else one with fuzzed fields. Returns whether OK. */
    boolean hello(FuzzInput d) {
        // every word is fuzzed by index below, so they are kept in an array indexed by the view's names
        long[] args = new long[Op.HELLO.argCount()];
        args[Calls.Hello.MAGIC] = Wire.HELLO_MAGIC;
        args[Calls.Hello.VERSION] = Wire.PROTOCOL_VERSION;
        args[Calls.Hello.CAPABILITIES] = Wire.CAPABILITIES;
        args[Calls.Hello.PID] = 4242;
        System.arraycopy(CREDENTIAL, 0, args, Calls.Hello.CREDENTIAL0, CREDENTIAL.length);
        byte[] name = Wire.utf8(GUEST);
        if (d != null) {
            for (int i = 0; i < args.length; i++) {
                switch (d.consumeInt(0, 5)) {
                    case 0 -> args[i] = d.consumeLong();
                    case 1 -> args[i] ^= 1L << d.consumeInt(0, 63);
                    default -> {
                    }
                }
            }
            if (d.consumeInt(0, 3) == 0) {
                name = d.consumeBytes(d.consumeInt(0, 40));
            }
        }
        Reply r = put(Op.HELLO.code(), Wire.FLAG_REPLY, args, name, name.length);
        if (r != null && r.status == Status.OK) {
            boolean credentialOk = java.util.Arrays.equals(args, Calls.Hello.CREDENTIAL0,
                    Calls.Hello.CREDENTIAL3 + 1, CREDENTIAL, 0, CREDENTIAL.length);
            if (!credentialOk || !GUEST.equals(new String(name, java.nio.charset.StandardCharsets.UTF_8))
                    || args[Calls.Hello.MAGIC] != Wire.HELLO_MAGIC) {
                throw new Finding("HELLO accepted with magic " + Long.toHexString(args[Calls.Hello.MAGIC]) + ", credential ok "
                        + credentialOk + ", name '" + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                        + "'");
            }
            return true;
        }
        return false;
    }

    /** One call of {@code type} with arguments, flags, blob and framing drawn from {@code d}. */
    void call(FuzzInput d, int type) {
        Op op = Op.of(type);
        int argCount = op == null ? d.consumeInt(0, 4) : op.argCount();
        int flags = switch (d.consumeInt(0, 15)) {
            case 0 -> d.consumeInt();
            case 1, 2, 3, 4, 5 -> Wire.FLAG_REPLY;
            default -> 0;
        };
        if (d.consumeInt(0, 31) == 0) {
            argCount = Math.max(0, argCount + d.consumeInt(-2, 2));
        }
        long[] args = new long[argCount];
        for (int i = 0; i < argCount; i++) {
            args[i] = argument(d, op, i);
        }
        byte[] blob = op == Op.TEE_OPEN_SESSION || op == Op.TEE_INVOKE ? teeBlock(d)
                : d.consumeBytes(d.consumeInt(0, op != null && op.hasBlob() ? MAX_BLOB : 2));
        int blobField = d.consumeInt(0, 31) == 0 ? d.consumeInt() : blob.length;
        put(type, flags, args, blob, blobField);
    }

    /** An argument: mostly a value of the kind the op's argument names, sometimes anything. */
    private long argument(FuzzInput d, Op op, int index) {
        String name = op == null || index >= op.argCount() ? "" : op.argNames().get(index);
        int kind = d.consumeInt(0, 7);
        if (kind == 0) {
            return d.consumeLong();
        }
        return switch (name) {
            case "heap offset" -> kind == 1 ? HEAP - d.consumeInt(0, 64) : d.consumeInt(-1, HEAP);
            case "size", "bytes" -> kind == 1 ? HEAP + d.consumeInt(-8, 8) : d.consumeInt(0, 4096);
            case "uuid high" -> TA.getMostSignificantBits();
            case "uuid low" -> TA.getLeastSignificantBits();
            case "login" -> d.consumeInt(0, 7);
            case "connection data" -> d.consumeInt(0, 8);
            case "cancel word" -> kind == 1 ? TeeWire.NO_CANCEL_WORD : 8L * d.consumeInt(-1, HEAP / 8);
            case "flags" -> d.consumeInt(0, 3);
            case "command" -> d.consumeInt(0, 17);
            default -> d.consumeInt(0, 8);
        };
    }

    /** A TEE parameter block: four parameters of fuzzed types, memrefs mostly inside the heap. */
    private byte[] teeBlock(FuzzInput d) {
        if (d.consumeInt(0, 15) == 0) {
            return d.consumeBytes(d.consumeInt(0, TeeWire.BLOCK_LENGTH + 8));
        }
        MemorySegment b = MemorySegment.ofArray(new byte[TeeWire.BLOCK_LENGTH]);
        int[] t = new int[TeeWire.PARAMS];
        for (int i = 0; i < t.length; i++) {
            t[i] = d.consumeInt(0, 15);
            boolean memref = TeeWire.isTempMemref(t[i]) || TeeWire.isRegisteredMemref(t[i]);
            for (int f = 0; f < 3; f++) {
                long v;
                int k = d.consumeInt(0, 7);
                if (k == 0) {
                    v = d.consumeLong();
                } else if (!memref) {
                    v = d.consumeInt(0, 255);
                } else if (f == 0) { // memref: A = offset in the heap or registered block (or NULL)
                    v = k == 1 ? TeeWire.NULL_MEMREF : d.consumeInt(0, HEAP + 64);
                } else if (f == 1) { // B = size
                    v = k == 1 ? 1L << d.consumeInt(12, 62) : d.consumeInt(0, 8192);
                } else { // C = shared-memory handle
                    v = d.consumeInt(0, 8);
                }
                TeeWire.field(b, i, f == 0 ? TeeWire.A : f == 1 ? TeeWire.B : TeeWire.C, v);
            }
        }
        TeeWire.blockTypes(b, TeeWire.types(t[0], t[1], t[2], t[3]));
        return b.toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Writes one record into the command ring (as the guest), serves it (as the endpoint) and reads the
     * completions (as the guest). Returns the reply to this call, or null (one-way, or the session ended).
     */
    Reply put(int type, int flags, long[] args, byte[] blob, int blobField) {
        int length = CallRecord.length(args.length, blob.length);
        if (type < 0 || length > commandsGuest.maxRecordLength()) {
            return null;
        }
        long at = commandsGuest.tryClaim(type, length);
        if (at < 0) {
            throw new Finding("command ring full although the host serves every call at once");
        }
        written = true;
        long s = ++seq;
        // Possibly malformed on purpose (argument count, blob length field): a plain CallRecord writes the header
        // and the arguments by index, and the blob goes by hand after the arguments written, at the named offsets.
        raw.wrap(commandSection, at).header(s, flags, blobField);
        for (int i = 0; i < args.length; i++) {
            raw.arg(i, args[i]);
        }
        MemorySegment.copy(blob, 0, commandSection, ValueLayout.JAVA_BYTE,
                at + CallRecord.HEADER_LENGTH + 8L * args.length, blob.length);
        commandsGuest.publish();
        try {
            commandsHost.poll(session, 64);
        } catch (ProtocolViolation | RingCorruptedException e) {
            ended = true; // documented: the endpoint ends the session with PROTOCOL_VIOLATION
        }
        if (session.goodbye()) {
            ended = true;
        }
        check.want = s;
        check.found = null;
        drain();
        return check.found;
    }

    private void drain() {
        try {
            while (completionsGuest.poll(check, 256) > 0) {
                // read everything
            }
        } catch (RingCorruptedException e) {
            throw new Finding("the host wrote a completion ring the guest cannot read: " + e.getMessage());
        }
    }

    /**
     * Parses completions as a guest library does (framing through {@link CompletionReader}: a bad one is a
     * {@link RingCorruptedException}, which {@link #drain} reports); tallies statuses.
     */
    final class CompletionCheck extends CompletionReader {
        long want;
        Reply found;

        @Override
        protected void onCompletion(int type, CompletionRecord c) {
            int blob = c.blobLength();
            if (blob > Wire.MAX_COMPLETION_BLOB) {
                throw new Finding("completion blob of " + blob + " bytes is longer than the protocol's "
                        + Wire.MAX_COMPLETION_BLOB);
            }
            int code = c.status();
            Status status = Status.of(code);
            if (status == Status.INTERNAL) {
                throw new Finding("the host answered INTERNAL (code " + code + ") to op " + type + ": " + c.text());
            }
            if (type != Wire.SESSION_CLOSED_TYPE) {
                REPLIES.merge(status, 1L, Long::sum);
            }
            if (c.seq() == want && type != Wire.SESSION_CLOSED_TYPE) {
                found = new Reply(status, c.result(0));
            }
        }
    }

    /** A completion as the harness read it. */
    record Reply(Status status, long r0) {
    }
}
