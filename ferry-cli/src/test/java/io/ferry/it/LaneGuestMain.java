package io.ferry.it;

import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;
import io.ferry.client.Kernel;
import io.ferry.client.NDRange;
import io.ferry.client.Program;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * One process of a guest with lanes: {@code LaneGuestMain SOCKET GUEST SECRET_BASE64 ROUNDS} connects over the guest
 * socket, builds a vector add, prints {@code READY <lane> <session id>}, waits for a line {@code GO} on stdin, then
 * runs ROUNDS vector adds on data of its own (seeded by its pid), checks every element, and prints
 * {@code OK <lane> <session id> <rounds>} (or {@code FAIL <why>}), then waits for stdin to close.
 */
public final class LaneGuestMain {
    private LaneGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        int n = 16384;
        int rounds = Integer.parseInt(args[3]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (Ferry ferry = Ferry.connect(Path.of(args[0]), args[1], java.util.Base64.getDecoder().decode(args[2]));
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue q = ctx.createQueue();
             Program p = ctx.buildProgram(CoreTest.VADD);
             Kernel k = p.kernel("vadd");
             HeapBlock ha = ferry.heap().allocate(4L * n);
             HeapBlock hb = ferry.heap().allocate(4L * n);
             HeapBlock hc = ferry.heap().allocate(4L * n);
             DeviceBuffer a = ctx.createBuffer(4L * n);
             DeviceBuffer b = ctx.createBuffer(4L * n);
             DeviceBuffer c = ctx.createBuffer(4L * n)) {
            System.out.println("READY " + ferry.lane() + " " + ferry.sessionId());
            System.out.flush();
            if (!"GO".equals(in.readLine())) {
                return;
            }
            float seed = ProcessHandle.current().pid() % 1000;
            for (int r = 0; r < rounds; r++) {
                float scale = seed + r;
                for (int i = 0; i < n; i++) {
                    ha.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i % 1024);
                    hb.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, scale);
                }
                q.write(a, 0, ha.segment()).write(b, 0, hb.segment());
                k.arg(0, a).arg(1, b).arg(2, c).arg(3, 2f);
                q.launch(k, NDRange.of(n), NDRange.of(64));
                q.read(c, 0, hc.segment());
                q.finish();
                for (int i = 0; i < n; i++) {
                    float want = (i % 1024) + 2f * scale;
                    float got = hc.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    if (got != want) {
                        System.out.println("FAIL round " + r + " element " + i + ": " + got + ", expected " + want);
                        return;
                    }
                }
            }
            System.out.println("OK " + ferry.lane() + " " + ferry.sessionId() + " " + rounds);
            System.out.flush();
            in.readLine();
        } catch (RuntimeException e) {
            System.out.println("FAIL " + e);
        }
    }
}
