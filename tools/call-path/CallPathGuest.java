import io.ferry.client.CommandQueue;
import io.ferry.client.Context;
import io.ferry.client.DeviceBuffer;
import io.ferry.client.Ferry;
import io.ferry.client.HeapBlock;

/**
 * The guest of tools/call-path.sh: N one-way 4 KiB buffer writes from the heap on the default device, then one
 * finish, so that every Ferry method the writes run is run N times. Usage: CallPathGuest GUEST N
 */
public class CallPathGuest {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[1]);
        try (Ferry ferry = Ferry.connect(args[0]);
             Context ctx = ferry.createContext(ferry.defaultDevice());
             CommandQueue queue = ctx.createQueue();
             HeapBlock data = ferry.heap().allocate(4096);
             DeviceBuffer buffer = ctx.createBuffer(4096)) {
            queue.finish(); // the worker has the session and the lease before the first write
            for (int i = 0; i < n; i++) {
                queue.write(buffer, 0, data.segment());
            }
            queue.finish();
            Thread.sleep(2500); // the worker's recording cuts a chunk of what it did (1 s flushes)
            System.out.println("call-path guest: " + n + " writes");
        }
    }
}
