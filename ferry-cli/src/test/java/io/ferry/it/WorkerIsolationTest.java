package io.ferry.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.client.DeviceBuffer;
import io.ferry.client.Context;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.client.CommandQueue;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** CPU-device work runs in a worker process per guest: a wild kernel ends only its own guest's device work. */
class WorkerIsolationTest {
    static final String WILD = """
            __kernel void wild(__global int* a) {
                __global int* p = (__global int*) 0x10;   // not mapped in any process
                p[get_global_id(0) * 4096] = 42;
            }
            """;

    static TestHost host;

    @BeforeAll
    static void start() throws Exception {
        host = TestHost.start("victim", "bystander");
    }

    @AfterAll
    static void stop() throws Exception {
        host.close();
    }

    @Test
    void aWildKernelEndsOnlyItsOwnGuestsDeviceWork() {
        try (Ferry bad = host.connect("victim"); Ferry good = host.connect("bystander")) {
            Context gctx = good.createContext(good.defaultDevice());
            CommandQueue gq = gctx.createQueue();
            DeviceBuffer gb = gctx.createBuffer(4096);
            gq.finish();

            Context ctx = bad.createContext(bad.defaultDevice());
            CommandQueue q = ctx.createQueue();
            Program p = ctx.buildProgram(WILD);
            Kernel k = p.kernel("wild");
            DeviceBuffer b = ctx.createBuffer(64);
            k.arg(0, b);
            q.launch(k, NDRange.of(64));
            FerryException e = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.DEVICE_LOST, e.status());
            assertTrue(e.getMessage().contains("device worker"), e.getMessage());
            // Later calls of that guest say the same, clearly (a one-way call reports at the next finish).
            ctx.createBuffer(64);
            FerryException later = assertThrows(FerryException.class, q::finish);
            assertEquals(Status.DEVICE_LOST, later.status());
            assertTrue(later.getMessage().contains("reconnect"), later.getMessage());

            // The other guest's device work goes on.
            try (var block = good.heap().allocate(4096)) {
                gq.write(gb, 0, block.segment()).read(gb, 0, block.segment()).finish();
            }
            assertEquals(5, good.nop(5));
        }
    }
}
