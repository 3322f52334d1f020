package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.CommandQueue;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each per-guest quota refuses the call that would go over it, naming the quota and the figures. */
class QuotaIT {
    static Hosts hosts;

    @BeforeAll
    static void start() throws Exception {
        hosts = Hosts.start(List.of(
                // one lane: the session has the guest's whole quota
                Hosts.guest("memory", null, new Quotas(1L << 20, 4096, 4096)).withLanes(1),
                Hosts.guest("objects", null, new Quotas(1L << 30, 4, 4096)).withLanes(1),
                Hosts.guest("inflight", null, new Quotas(1L << 30, 4096, 3)).withLanes(1),
                // two lanes: each lane's session has half of it
                Hosts.guest("halves", null, new Quotas(1L << 20, 4096, 4096)).withLanes(2)),
                // FIFO: commands pile up on a queue until finish (Ferry's scheduler runs each to completion)
                HostConfig.Policy.FIFO);
    }

    @AfterAll
    static void stop() throws Exception {
        hosts.close();
    }

    @Test
    void deviceMemoryQuotaRefusesTheBufferThatGoesOverAndNamesTheFigures() {
        try (Ferry ferry = hosts.connect("memory");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(512 << 10)) {
            ctx.createBuffer(768 << 10); // refused: never an object of the session, so nothing to release
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertEquals(Op.BUFFER_CREATE, e.failedCall().op());
            assertTrue(e.getMessage().contains("device memory quota"), e.getMessage());
            assertTrue(e.getMessage().contains("524288 bytes in use"), e.getMessage());
            assertTrue(e.getMessage().contains("786432 requested"), e.getMessage());
            assertTrue(e.getMessage().contains("limit 1048576"), e.getMessage());
            assertEquals(512 << 10, hosts.view("memory").deviceMemoryBytes());
            try (DeviceBuffer c = ctx.createBuffer(256 << 10)) {
                q.finish(); // within the quota again
                assertEquals(768 << 10, hosts.view("memory").deviceMemoryBytes());
            }
        }
    }

    @Test
    void theDeviceAGuestSeesHasTheMemoryItsQuotaGrantsNotTheHosts() {
        // PyOpenCL's tests (and applications) size their buffers by the device's memory: a guest that saw the host
        // device's 20 GiB allocated 2 GiB and was refused by a quota it could not see
        try (Ferry whole = hosts.connect("memory"); Ferry half = hosts.connect("halves")) {
            assertEquals(1L << 20, whole.defaultDevice().globalMemoryBytes(), "the guest's quota, one lane");
            assertEquals(512L << 10, half.defaultDevice().globalMemoryBytes(), "this lane's half of the quota");
        }
    }

    @Test
    void aGuestsLanesShareItsQuotaEachLaneHoldingItsShare() {
        try (Ferry one = hosts.connect("halves"); Ferry two = hosts.connect("halves");
             Context c1 = one.createContext(one.defaultDevice()); Context c2 = two.createContext(two.defaultDevice());
             CommandQueue q1 = c1.createQueue(); CommandQueue q2 = c2.createQueue();
             DeviceBuffer a = c1.createBuffer(512 << 10); DeviceBuffer b = c2.createBuffer(512 << 10)) {
            q1.finish();
            q2.finish();
            assertEquals(1 << 20, hosts.view("halves").deviceMemoryBytes(), "both lanes hold their half");
            c1.createBuffer(4096); // over lane 1's half of the guest's 1 MiB
            FerryException e = assertThrows(FerryException.class, q1::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertTrue(e.getMessage().contains("limit 524288"), e.getMessage());
        }
    }

    @Test
    void objectQuotaRefusesTheObjectOverTheLimit() {
        try (Ferry ferry = hosts.connect("objects");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64);
             DeviceBuffer b = ctx.createBuffer(64)) {
            ctx.createBuffer(64); // the fifth object: refused
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertTrue(e.getMessage().contains("object quota"), e.getMessage());
            assertTrue(e.getMessage().contains("holds 4 objects, the limit is 4 (2 buffers, 1 context, 1 queue)"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("events included"), e.getMessage());
            assertEquals(4, hosts.view("objects").objects());
        }
    }

    @Test
    void commandsInFlightQuotaRefusesTheCommandOverTheLimitUntilFinish() {
        try (Ferry ferry = hosts.connect("inflight");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer a = ctx.createBuffer(64);
             HeapBlock h = ferry.heap().allocate(64)) {
            for (int i = 0; i < 4; i++) {
                q.write(a, 0, h.segment());
            }
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.QUOTA_EXCEEDED, e.status());
            assertEquals(Op.BUFFER_WRITE, e.failedCall().op());
            assertTrue(e.getMessage().contains("commands-in-flight quota"), e.getMessage());
            assertTrue(e.getMessage().contains("the limit is 3"), e.getMessage());
            for (int i = 0; i < 3; i++) {
                q.write(a, 0, h.segment());
            }
            q.finish(); // the count starts again after a finish
        }
    }
}
