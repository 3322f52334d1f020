package io.ferry.bench;

import io.ferry.spi.BackendSession;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The native transfer baseline: the same backend called in this process, {@code clEnqueueWriteBuffer} /
 * {@code ReadBuffer} of 64 MiB between an ordinary native allocation and a device buffer, then a finish.
 */
final class NativeTransfers implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final BackendSession s;
    private final MemorySegment mem;

    NativeTransfers(DeviceChoice.Native chosen) throws Exception {
        mem = arena.allocate(TransportBench.TRANSFER, 4096);
        mem.fill((byte) 1);
        s = chosen.backend().openSession("native-transfers", mem);
        s.createContext(1, chosen.device().index());
        s.createQueue(2, 1, false, 0);
        s.createBuffer(3, 1, TransportBench.TRANSFER, 0, -1);
        s.enqueueWrite(2, 3, 0, TransportBench.TRANSFER, 0, 0);
        s.finish(2);
    }

    /** One 64 MiB write and finish; GB/s. */
    double write() throws Exception {
        long t0 = System.nanoTime();
        writeBytes(TransportBench.TRANSFER);
        return TransportBench.TRANSFER / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }

    /** One write of the first {@code bytes} and finish; µs. */
    double writeMicros(long bytes) throws Exception {
        long t0 = System.nanoTime();
        writeBytes(bytes);
        return (System.nanoTime() - t0) / 1e3;
    }

    /** One write of the first {@code bytes} and finish. */
    void writeBytes(long bytes) throws Exception {
        s.enqueueWrite(2, 3, 0, bytes, 0, 0);
        s.finish(2);
    }

    /** The 64 MiB the native transfers copy from and to. */
    MemorySegment memory() {
        return mem;
    }

    /** One 64 MiB read and finish; GB/s. */
    double read() throws Exception {
        long t0 = System.nanoTime();
        s.enqueueRead(2, 3, 0, TransportBench.TRANSFER, 0, 0);
        s.finish(2);
        return TransportBench.TRANSFER / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }

    @Override
    public void close() {
        try {
            s.close();
        } finally {
            arena.close();
        }
    }
}
