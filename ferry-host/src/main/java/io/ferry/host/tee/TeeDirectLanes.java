package io.ferry.host.tee;

import io.ferry.protocol.Calls;
import io.ferry.protocol.TeeLane;
import io.ferry.protocol.TeeWire;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeReturn;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * TEE_DIRECT for one guest session: checks the heap block a process guest offers as a direct lane to one of its TEE
 * sessions (docs/protocol.md, "Direct TEE lanes") and has the backend's TA instance serve it. Answers NOT_SUPPORTED
 * where the guest's region is not a sealed memfd it maps (a VM, a network client: {@code region} null), where the
 * session's policy limits its commands (every invoke must then pass the host's check and audit), and where the
 * backend has no direct lanes; the guest then keeps the ring. Endpoint thread only.
 */
final class TeeDirectLanes {
    private static final Logger LOG = Logger.getLogger("ferry.host");
    private static final long PAGE = 4096;

    private final Path region;
    private final long heapOffset;
    private final MemorySegment heap;
    private final TeeBackend backend;
    private final String guest;
    private final long sessionId;
    /** The guest's session handles with a lane attached. */
    private final Set<Long> attached = new HashSet<>();

    /** {@code region} null: this session's guest maps no region of its own here (no direct lanes). */
    TeeDirectLanes(Path region, long heapOffset, MemorySegment heap, TeeBackend backend, String guest, long sessionId) {
        this.region = region;
        this.heapOffset = heapOffset;
        this.heap = heap;
        this.backend = backend;
        this.guest = guest;
        this.sessionId = sessionId;
    }

    /**
     * The backend's answer to attaching {@code c}'s block to the session {@code handle} names, open as
     * {@code backendSession} with {@code granted} rules; a refusal of the host's own is NOT_SUPPORTED or
     * BAD_PARAMETERS with origin COMMS.
     */
    TeeReturn attach(Calls.TeeDirect c, long backendSession, List<TeePolicy.Rule> granted) {
        long handle = c.session();
        long offset = c.heapOffset();
        long size = c.size();
        if (region == null) {
            return refuse(TeeWire.ERROR_NOT_SUPPORTED, "the guest maps no sealed region here (a VM or network guest)");
        }
        if (size < TeeLane.MIN_DIRECT_LANE_BYTES || size > TeeLane.MAX_DIRECT_LANE_BYTES || size % PAGE != 0) {
            return refuse(TeeWire.ERROR_BAD_PARAMETERS, "a direct lane of " + size + " bytes is not a multiple of 4 KiB"
                    + " between " + TeeLane.MIN_DIRECT_LANE_BYTES + " and " + TeeLane.MAX_DIRECT_LANE_BYTES);
        }
        if (offset < 0 || offset > heap.byteSize() - size || (heapOffset + offset) % PAGE != 0) {
            return refuse(TeeWire.ERROR_BAD_PARAMETERS, "a direct lane at heap offset " + offset + " (+" + size
                    + ") is not a 4 KiB-aligned block of the heap of " + heap.byteSize() + " bytes");
        }
        if (attached.contains(handle)) {
            return refuse(TeeWire.ERROR_BAD_STATE, "TEE session " + handle + " has a direct lane already");
        }
        if (!TeePolicy.allowsEveryCommand(granted)) {
            return refuse(TeeWire.ERROR_NOT_SUPPORTED, "the policy limits TEE session " + handle + "'s commands, so "
                    + "each invoke goes through the host's check");
        }
        TeeReturn r = backend.attachDirect(guest, backendSession,
                new TeeBackend.DirectLane(region, heapOffset + offset, size, heap.asSlice(offset, size)));
        if (r.ok()) {
            attached.add(handle);
            LOG.fine(() -> "guest " + guest + " session " + sessionId + ": TEE session " + handle
                    + " has a direct lane at heap offset " + offset + " (" + size + " bytes)");
        }
        return r;
    }

    /** The session {@code handle} closed: its lane is the backend's no more (it closed it with the session). */
    void closed(long handle) {
        attached.remove(handle);
    }

    private TeeReturn refuse(int code, String why) {
        LOG.fine(() -> "guest " + guest + " session " + sessionId + ": no direct TEE lane: " + why);
        return TeeReturn.of(code, TeeWire.ORIGIN_COMMS);
    }
}
