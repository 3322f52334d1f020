package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.channel.RegionDescriptor;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.CommandQueue;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;
import io.ferry.protocol.Status;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Who a guest is: the provisioned secret, handles that mean something only in their own session, fresh sessions. */
class GuestIdentityIT {
    static final byte[] SECRET = HostConfig.newSecret();
    static Hosts hosts;

    @BeforeAll
    static void start() throws Exception {
        hosts = Hosts.start(List.of(Hosts.guest("alice", SECRET, Quotas.DEFAULT),
                Hosts.guest("bob", null, Quotas.DEFAULT), Hosts.guest("carol", null, Quotas.DEFAULT).withLanes(2)));
    }

    @AfterAll
    static void stop() throws Exception {
        hosts.close();
    }

    private static void writeCredential(byte[] credential) throws Exception {
        try (FileChannel ch = FileChannel.open(hosts.region("alice"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(credential), RegionDescriptor.CREDENTIAL_OFFSET);
        }
    }

    @Test
    void aTamperedCredentialIsRefusedAndTheProvisionedSecretConnects() throws Exception {
        byte[] wrong = SECRET.clone();
        wrong[5] ^= 0x40;
        writeCredential(wrong);
        try {
            FerryException e = assertThrows(FerryException.class, () -> hosts.connect("alice"));
            assertEquals(Status.BAD_CREDENTIAL, e.status());
            assertTrue(e.getMessage().contains("stale or belongs to another guest"), e.getMessage());
        } finally {
            writeCredential(SECRET);
        }
        try (Ferry ferry = hosts.connect("alice")) {
            assertEquals(5, ferry.nop(5));
        }
    }

    @Test
    void aHandleOfAnotherGuestsSessionIsUnknownThereAndHarmless() {
        try (Ferry a = hosts.connect("bob");
             Ferry b = hosts.connect("carol");
             Context ca = a.createContext(a.defaultDevice());
             CommandQueue qa = ca.createQueue();
             Context cb = b.createContext(b.defaultDevice());
             CommandQueue qb = cb.createQueue();
             HeapBlock hb = b.heap().allocate(64);
             HeapBlock ha = a.heap().allocate(64)) {
            DeviceBuffer[] mine = new DeviceBuffer[6];
            for (int i = 0; i < mine.length; i++) {
                mine[i] = ca.createBuffer(64);
            }
            DeviceBuffer foreign = mine[5]; // a handle number that exists only in bob's session
            qb.write(foreign, 0, hb.segment());
            FerryException e = assertThrows(FerryException.class, qb::finish);
            assertEquals(Status.UNKNOWN_HANDLE, e.status());
            assertTrue(e.getMessage().contains("buffer handle " + foreign.handle()), e.getMessage());
            // bob is unaffected: his buffer still holds what he wrote
            ha.segment().fill((byte) 7);
            qa.write(foreign, 0, ha.segment());
            qa.finish();
            try (HeapBlock back = a.heap().allocate(64)) {
                qa.read(foreign, 0, back.segment());
                qa.finish();
                assertArrayEquals(ha.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        back.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
            for (DeviceBuffer m : mine) {
                m.close();
            }
        }
    }

    @Test
    void aSecondProcessOfTheGuestGetsAFreshSessionOnItsOwnLaneAndTheFirstKeepsItsObjectsUntilItEnds()
            throws Exception {
        Ferry old = hosts.connect("carol");
        Context ctx = old.createContext(old.defaultDevice());
        ctx.createBuffer(1 << 20);
        ctx.createQueue().finish();
        assertTrue(hosts.view("carol").objects() >= 3);
        assertEquals(1 << 20, hosts.view("carol").deviceMemoryBytes());
        // A second connect of the same guest (a restarted or another process) no longer ends the first session.
        try (Ferry fresh = hosts.connect("carol")) {
            assertNotEquals(old.sessionId(), fresh.sessionId());
            assertNotEquals(old.lane(), fresh.lane());
            var v = hosts.view("carol");
            assertEquals(2, v.lanesBusy());
            assertEquals(1 << 20, v.deviceMemoryBytes(), "the guest's figures count both lanes");
            assertEquals(3, fresh.nop(3));
            assertEquals(4, old.nop(4));
            old.close();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while ((hosts.view("carol").lanesBusy() != 1 || hosts.view("carol").deviceMemoryBytes() != 0)
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            v = hosts.view("carol");
            assertEquals(1, v.lanesBusy());
            assertEquals(0, v.deviceMemoryBytes(), "the first session's objects are released when it ends");
            assertEquals(fresh.sessionId(), v.sessionId());
            assertEquals(5, fresh.nop(5));
        }
    }
}
