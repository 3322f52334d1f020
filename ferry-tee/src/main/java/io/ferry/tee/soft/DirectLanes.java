package io.ferry.tee.soft;

import io.ferry.protocol.TeeLane;
import io.ferry.protocol.TeeWire;
import io.ferry.tee.ta.TaParams;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The TA instance's side of its guest's direct lanes (docs/protocol.md, "Direct TEE lanes"): on the host's ATTACH it
 * maps the lane, a window of the guest's region (inherited as a descriptor when the process started), and serves the
 * session's invokes from it on a thread of their own; on the session's CLOSE it stops and unmaps.
 *
 * <p>The guest can rewrite its lane at any moment, so each request is read once into this process's memory: the
 * fields into locals, memref data into a private buffer (output-only memrefs zeroed), all checked before the TA runs;
 * the reply and output data are written back after. A malformed request answers BAD_PARAMETERS (origin COMMS) and
 * is logged, a few times per lane. A direct call that runs past the call limit ends the process ({@link #watch}): the
 * host sees it go and answers the lane's caller TARGET_DEAD, as for a call through the host.
 */
final class DirectLanes {
    private static final Logger LOG = Logger.getLogger("ferry.tee");
    /** Lanes one instance serves at most (each is a thread). */
    static final int MAX_LANES = 64;
    private static final int LOGGED_REFUSALS = 3;

    private final Path region;
    private final TeeLane hostLane;
    private final TaRuntime runtime;
    private final long callLimitNanos;
    private final Map<Long, Server> lanes = new ConcurrentHashMap<>();
    private volatile boolean watching;

    /**
     * {@code region}: the guest's region as this process opens it, or null where the host gave none;
     * {@code hostLane}: the host's lane, where the invokes served here are counted for the host's figures.
     */
    DirectLanes(Path region, TeeLane hostLane, TaRuntime runtime, long callLimitNanos) {
        this.region = region;
        this.hostLane = hostLane;
        this.runtime = runtime;
        this.callLimitNanos = callLimitNanos;
    }

    /** Serves {@code session}'s lane at {@code offset} of the region, {@code size} bytes; the answer's GP code. */
    int attach(long session, long offset, long size) {
        if (region == null) {
            return TeeWire.ERROR_NOT_SUPPORTED;
        }
        if (lanes.containsKey(session) || lanes.size() >= MAX_LANES || offset < 0 || offset % 4096 != 0
                || size < TeeLane.MIN_DIRECT_LANE_BYTES || size > TeeLane.MAX_DIRECT_LANE_BYTES || size % 4096 != 0) {
            return TeeWire.ERROR_BAD_PARAMETERS;
        }
        Arena arena = Arena.ofShared();
        MemorySegment window;
        try (FileChannel ch = FileChannel.open(region, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (offset > ch.size() - size) {
                arena.close();
                return TeeWire.ERROR_BAD_PARAMETERS; // past the region's end: a mapping there would fault
            }
            window = ch.map(FileChannel.MapMode.READ_WRITE, offset, size, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            LOG.warning("cannot map the direct lane of session " + session + " at " + offset + ": " + e);
            return TeeWire.ERROR_COMMUNICATION;
        }
        Server s = new Server(session, new TeeLane(window), arena);
        lanes.put(session, s);
        s.thread = Thread.ofPlatform().name("tee-direct-" + session).daemon(true).start(s);
        watch();
        return TeeWire.SUCCESS;
    }

    /**
     * Stops serving {@code session}'s lane, waits for a call in progress there, unmaps it. The lane stays listed (and
     * watched) until its thread has ended: a call that outlives the wait still meets the watchdog. The host's lane
     * thread alone attaches and detaches, so nothing attaches the session meanwhile.
     */
    void detach(long session) {
        Server s = lanes.get(session);
        if (s == null) {
            return;
        }
        s.running = false;
        s.wire.wakeServer();
        try {
            s.thread.join(TimeUnit.NANOSECONDS.toMillis(callLimitNanos) + 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!s.thread.isAlive()) {
            lanes.remove(session);
            s.arena.close(); // else the watchdog ends the process
        }
    }

    /** Starts the watchdog once: a direct call past the call limit ends the process. */
    private void watch() {
        if (watching) {
            return;
        }
        watching = true;
        Thread.ofPlatform().name("tee-direct-watchdog").daemon(true).start(() -> {
            while (true) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                long now = System.nanoTime();
                for (Server s : lanes.values()) {
                    long since = s.busySince;
                    if (since != 0 && now - since > callLimitNanos) {
                        System.err.println("SEVERE a direct call of session " + s.session + " ran past the call limit"
                                + " of " + TimeUnit.NANOSECONDS.toMillis(callLimitNanos) + " ms: the instance ends");
                        System.err.flush();
                        Runtime.getRuntime().halt(70);
                    }
                }
            }
        });
    }

    /** One lane's thread. */
    private final class Server implements Runnable {
        final long session;
        final TeeLane wire;
        final Arena arena;
        /** This process's copy of the memrefs of the call in progress, at the same offsets as in the lane. */
        final MemorySegment own;
        /** The request sequence when the lane was attached, read before the host hears of it: none slips past. */
        final long first;
        final TaParams params = new TaParams();
        final long[] at = new long[4];
        final long[] size = new long[4];
        volatile boolean running = true;
        volatile long busySince;
        Thread thread;
        int refusals;

        Server(long session, TeeLane wire, Arena arena) {
            this.session = session;
            this.wire = wire;
            this.arena = arena;
            this.own = arena.allocate(wire.dataSize(), 64);
            this.first = wire.requestSeq();
        }

        @Override
        public void run() {
            LaneLoop.serve(wire, first, () -> running, this::answer);
        }

        /** Answers request {@code seq}: the TA's reply, or a refusal that ran nothing; never throws. */
        private void answer(long seq) {
            hostLane.countDirectCall();
            String refused;
            try {
                refused = serve(seq);
            } catch (RuntimeException e) {
                // the runtime failed, or the guest unmapped nothing of ours: the call answers, the lane goes on
                LOG.log(Level.SEVERE, "direct lane of session " + session + ": request " + seq + " failed", e);
                wire.clearReply();
                wire.reply(TeeWire.ERROR_GENERIC, TeeWire.ORIGIN_TEE, 0);
                return;
            }
            if (refused != null) {
                wire.clearReply();
                wire.reply(TeeWire.ERROR_BAD_PARAMETERS, TeeWire.ORIGIN_COMMS, 0);
                if (++refusals <= LOGGED_REFUSALS) {
                    System.err.println("WARNING direct lane of session " + session + ": request " + seq
                            + " refused: " + refused + (refusals == LOGGED_REFUSALS ? " (further refusals on this "
                            + "lane are not logged)" : ""));
                }
            }
        }

        /** Serves request {@code seq}; null when it ran, else why it was refused (nothing ran). */
        private String serve(long seq) {
            int kind = wire.kind();
            int command = wire.command();
            int types = wire.types();
            if (kind != TeeLane.INVOKE) {
                return "kind " + kind + " is not INVOKE (" + TeeLane.INVOKE + ")";
            }
            if ((types & ~0xFFFF) != 0) {
                return "types 0x" + Integer.toHexString(types) + " has bits above the four parameters";
            }
            for (int i = 0; i < 4; i++) {
                int t = (types >>> (4 * i)) & 0xF;
                long a = wire.paramA(i);
                long b = wire.paramB(i);
                long c = wire.paramC(i);
                at[i] = -1;
                size[i] = 0;
                if (t == 0) {
                    params.set(i, 0, 0, 0, null, 0);
                } else if (t <= 3) {
                    if ((a >>> 32) != 0 || (b >>> 32) != 0) {
                        return "value parameter " + i + " is wider than 32 bits";
                    }
                    params.set(i, t, (int) a, (int) b, null, 0);
                } else if (t >= 5 && t <= 7) {
                    if (c < 0 || c > LaneClient.MAX_MEMREF) {
                        return "memref " + i + " of " + c + " bytes (at most " + LaneClient.MAX_MEMREF + ")";
                    }
                    if (a == TeeLane.NULL_MEMREF) {
                        params.set(i, t, 0, 0, null, c);
                        continue;
                    }
                    if (a < 0 || a > wire.dataSize() - c) {
                        return "memref " + i + " [" + a + ", +" + c + ") is outside the data area of "
                                + wire.dataSize() + " bytes";
                    }
                    MemorySegment mine = own.asSlice(a, c);
                    if (t == 6) {
                        mine.fill((byte) 0); // output only: the TA never sees what the guest left there
                    } else {
                        MemorySegment.copy(wire.data(a, c), 0, mine, 0, c);
                    }
                    at[i] = a;
                    size[i] = c;
                    params.set(i, t, 0, 0, mine, c);
                } else {
                    return "parameter " + i + " has type " + t;
                }
            }
            busySince = System.nanoTime() | 1;
            TaRuntime.Result r;
            try {
                r = runtime.invoke(session, command, params, () -> wire.cancelSeq() == seq);
            } finally {
                busySince = 0;
            }
            wire.reply(r.code(), r.origin(), 0);
            for (int i = 0; i < 4; i++) {
                wire.replyParam(i, params.a(i) & 0xFFFF_FFFFL, params.b(i) & 0xFFFF_FFFFL, params.size(i));
                int t = params.type(i);
                if (at[i] >= 0 && (t == 6 || t == 7)) {
                    long n = Math.min(Math.max(params.size(i), 0), size[i]);
                    MemorySegment.copy(own, at[i], wire.data(at[i], n), 0, n);
                }
            }
            return null;
        }
    }
}
