package io.ferry.it;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.FerryException;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import io.ferry.protocol.Status;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Base64;

/**
 * A guest that lives through host restarts: {@code RestartGuestMain socket SOCKET GUEST SECRET_BASE64} or
 * {@code RestartGuestMain file REGIONFILE} connects, verifies a vector add and prints {@code VERIFIED <session>};
 * then for each line {@code AGAIN} on stdin it makes one call and prints {@code ERROR <status> <message>} (or
 * {@code NO-ERROR}), reconnects on the same mapping ({@link Ferry#reconnect()}, retried while no host serves)
 * and verifies again; {@code END} (or the end of stdin) closes it. Any other failure prints {@code FAIL <why>}.
 */
public final class RestartGuestMain {
    private RestartGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        Ferry ferry = args[0].equals("socket")
                ? Ferry.connect(Path.of(args[1]), args[2], Base64.getDecoder().decode(args[3]))
                : Ferry.connect(Path.of(args[1]));
        try {
            verify(ferry, 1);
            for (int round = 2; ; round++) {
                String line = in.readLine();
                if (line == null || line.equals("END")) {
                    break;
                }
                try {
                    ferry.nop(7);
                    System.out.println("NO-ERROR");
                } catch (FerryException e) {
                    System.out.println("ERROR " + e.status() + " " + e.getMessage().replace('\n', ' '));
                }
                ferry = reconnect(ferry);
                verify(ferry, round);
            }
        } catch (RuntimeException e) {
            System.out.println("FAIL " + e.toString().replace('\n', ' '));
        } finally {
            ferry.close();
        }
    }

    private static Ferry reconnect(Ferry old) throws InterruptedException {
        for (int i = 0; ; i++) {
            try {
                return old.reconnect();
            } catch (FerryException e) {
                if (e.status() != Status.HOST_UNAVAILABLE || i > 60) {
                    throw e;
                }
                Thread.sleep(500); // no host serves the region yet
            }
        }
    }

    /** A vector add on the device, every element checked. */
    private static void verify(Ferry ferry, int round) {
        int n = 4096;
        try (Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(CoreTest.VADD);
             Kernel k = p.kernel("vadd");
             HeapBlock ha = ferry.heap().allocate(4L * n);
             HeapBlock hb = ferry.heap().allocate(4L * n);
             HeapBlock hc = ferry.heap().allocate(4L * n);
             DeviceBuffer a = ctx.createBuffer(4L * n);
             DeviceBuffer b = ctx.createBuffer(4L * n);
             DeviceBuffer c = ctx.createBuffer(4L * n)) {
            for (int i = 0; i < n; i++) {
                ha.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
                hb.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, round);
            }
            q.write(a, 0, ha.segment()).write(b, 0, hb.segment());
            k.arg(0, a).arg(1, b).arg(2, c).arg(3, 2f);
            q.launch(k, NDRange.of(n), NDRange.of(64));
            q.read(c, 0, hc.segment());
            q.finish();
            for (int i = 0; i < n; i++) {
                float got = hc.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (got != i + 2f * round) {
                    throw new IllegalStateException("round " + round + " element " + i + ": " + got);
                }
            }
        }
        System.out.println("VERIFIED " + round + " " + ferry.guest() + " lane " + ferry.lane() + " session "
                + ferry.sessionId());
        System.out.flush();
    }
}
