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
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A guest that keeps working, for live-change tests: {@code LiveGuestMain SOCKET GUEST SECRET_BASE64} connects over
 * the guest socket, builds a vector add, prints {@code READY <session id>}, then runs vector adds on data of its own,
 * checks every element and prints {@code VERIFIED <round>} after each, until killed. A failed check prints
 * {@code FAIL <why>}; a FerryException (its session ended) prints {@code ENDED <status> <message>} (any other exception: its class for the status); both exit 3.
 */
public final class LiveGuestMain {
    private LiveGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        int n = 4096;
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
            q.finish();
            System.out.println("READY " + ferry.sessionId());
            System.out.flush();
            for (int r = 0; ; r++) {
                float scale = r % 1000;
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
                        System.exit(3);
                    }
                }
                System.out.println("VERIFIED " + r);
                System.out.flush();
                Thread.sleep(20);
            }
        } catch (FerryException e) {
            System.out.println("ENDED " + e.status() + " " + e.getMessage().replace('\n', ' '));
            System.out.flush();
            System.exit(3);
        } catch (RuntimeException e) { // a region refused at connect, say
            System.out.println("ENDED " + e.getClass().getSimpleName() + " " + e.getMessage().replace('\n', ' '));
            System.out.flush();
            System.exit(3);
        }
    }
}
