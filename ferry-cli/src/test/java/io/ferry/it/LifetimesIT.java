package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Event;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.host.config.Quotas;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Objects that are not closed cannot go wrong silently: the cleaner releases them (so a loop that forgets to close
 * events does not run into the object quota) and says so once per kind; a closed heap block's memory cannot be
 * used.
 */
class LifetimesIT {
    static final String NOP = "__kernel void nop(void) { }";
    static Hosts hosts;
    /** Held: the logging framework keeps loggers weakly, and the handler must stay attached. */
    static final Logger CLIENT_LOG = Logger.getLogger("io.ferry.client");
    final List<String> warnings = new ArrayList<>();
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (warnings) {
                warnings.add(r.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeAll
    static void start() throws Exception {
        hosts = Hosts.start(List.of(Hosts.guest("events", null, Quotas.DEFAULT),
                Hosts.guest("closed", null, Quotas.DEFAULT), Hosts.guest("buffers", null, Quotas.DEFAULT),
                Hosts.guest("blocks", null, Quotas.DEFAULT)));
    }

    @AfterAll
    static void stop() throws Exception {
        hosts.close();
    }

    @BeforeEach
    void listen() {
        CLIENT_LOG.addHandler(capture);
    }

    @AfterEach
    void stopListening() {
        CLIENT_LOG.removeHandler(capture);
    }

    private List<String> warningsAbout(String start) {
        synchronized (warnings) {
            return warnings.stream().filter(w -> w.startsWith(start)).toList();
        }
    }

    @Test
    void tenThousandEventsNeverClosedStayUnderTheObjectQuotaOfFourThousandAndWarnOnce() throws Exception {
        assertEquals(4096, Quotas.DEFAULT.objects());
        try (Ferry ferry = hosts.connect("events");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(NOP);
             Kernel k = p.kernel("nop")) {
            for (int i = 1; i <= 10_000; i++) {
                q.launchWithEvent(k, NDRange.of(1), null); // the event is dropped, never closed
                if (i % 500 == 0) {
                    WeakReference<Event> probe = new WeakReference<>(q.launchWithEvent(k, NDRange.of(1), null));
                    q.finish(); // also keeps the commands in flight under their own quota
                    // A bound, not a timing: the collector finds this batch unreachable within a few cycles.
                    for (int tries = 0; tries < 500 && probe.get() != null; tries++) {
                        System.gc();
                        Thread.sleep(10);
                    }
                    assertNull(probe.get(), "the collector never found a dropped event unreachable");
                }
            }
            q.finish(); // no QUOTA_EXCEEDED from any launch
            ferry.nop(0); // sends the releases the cleaner queued last
            assertTrue(hosts.view("events").objects() < 4096, "objects held: " + hosts.view("events").objects());
            // This connection's warnings: events of earlier tests' connections may be collected meanwhile too.
            String mine = "session " + ferry.sessionId() + ")";
            List<String> w = warningsAbout("an Event").stream().filter(m -> m.contains(mine)).toList();
            assertEquals(1, w.size(), w.toString());
            assertTrue(w.getFirst().contains("was not closed; Ferry released it when it became unreachable"), w.getFirst());
            assertTrue(w.getFirst().contains("try-with-resources"), w.getFirst());
            assertTrue(w.getFirst().contains("docs/client.md#lifetimes"), w.getFirst());
        }
    }

    @Test
    void closedEventsAreReleasedAtOnceAndWarnNothing() throws Exception {
        try (Ferry ferry = hosts.connect("closed");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(NOP);
             Kernel k = p.kernel("nop")) {
            for (int i = 0; i < 100; i++) {
                try (Event e = q.launchWithEvent(k, NDRange.of(1), null)) {
                    e.await();
                }
            }
            q.finish();
            assertEquals(4, hosts.view("closed").objects()); // context, queue, program, kernel
            System.gc();
            ferry.nop(0);
            assertEquals(List.of(), warningsAbout("an Event"));
        }
    }

    @Test
    void aBufferDroppedUnclosedGivesItsDeviceMemoryBack() throws Exception {
        try (Ferry ferry = hosts.connect("buffers");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue()) {
            ctx.createBuffer(1 << 20); // dropped
            q.finish();
            assertEquals(1 << 20, hosts.view("buffers").deviceMemoryBytes());
            for (int tries = 0; tries < 500 && hosts.view("buffers").deviceMemoryBytes() != 0; tries++) {
                System.gc();
                Thread.sleep(10);
                q.finish(); // a call: sends the release the cleaner queued
            }
            assertEquals(0, hosts.view("buffers").deviceMemoryBytes());
            assertEquals(1, warningsAbout("a DeviceBuffer").size(), warnings.toString());
        }
    }

    @Test
    void theMemoryOfAClosedHeapBlockCannotBeUsedNorPassedToAQueue() {
        try (Ferry ferry = hosts.connect("blocks");
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             DeviceBuffer buffer = ctx.createBuffer(4096)) {
            HeapBlock block = ferry.heap().allocate(4096);
            MemorySegment data = block.segment();
            data.set(ValueLayout.JAVA_INT, 0, 42);
            q.write(buffer, 0, data).finish();
            block.close();
            assertThrows(IllegalStateException.class, () -> data.get(ValueLayout.JAVA_INT, 0));
            assertThrows(IllegalStateException.class, () -> q.write(buffer, 0, data));
            assertThrows(IllegalStateException.class, () -> q.read(buffer, 0, data.asSlice(0, 16)));
            assertThrows(IllegalStateException.class, () -> ctx.createBuffer(block, DeviceBuffer.Access.READ_WRITE));
            q.finish();
            assertEquals(0, ferry.heap().usedBytes());
        }
    }
}
