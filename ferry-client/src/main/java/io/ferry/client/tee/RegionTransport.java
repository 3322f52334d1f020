package io.ferry.client.tee;

import io.ferry.channel.Region;
import io.ferry.channel.RegionException;
import io.ferry.channel.RingCorruptedException;
import io.ferry.channel.SpscRing;
import io.ferry.client.FerryException;
import io.ferry.protocol.Op;
import io.ferry.protocol.Status;
import io.ferry.protocol.Wire;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * A standalone TEE-only connection to a guest region, for tools, benchmarks and tests that need no compute: it
 * speaks the wire protocol of {@code docs/protocol.md} itself and owns the whole region heap. Applications that
 * also compute use {@code Ferry}'s transport instead (one connection per region: connecting here ends any other
 * session of the region). Thread-safe; calls are serialized.
 */
public final class RegionTransport implements TeeTransport, AutoCloseable {
    private static final long TIMEOUT_NANOS = 3_000_000_000L;

    private final Region region;
    private final SpscRing commands;
    private final SpscRing completions;
    private final long nonce;
    private final Thread heartbeat;
    private final TreeMap<Long, Long> free = new TreeMap<>();
    private long seq;
    private volatile boolean closed;

    private RegionTransport(Region region) {
        this.region = region;
        this.commands = region.commandRing();
        this.completions = region.completionRing();
        this.nonce = new SecureRandom().nextLong() | 1;
        free.put(0L, region.heap().byteSize());
        this.heartbeat = Thread.ofPlatform().daemon(true).name("ferry-tee-heartbeat").unstarted(this::beat);
    }

    /** Connects to the host through the region file of a guest. */
    public static RegionTransport connect(Path regionFile) {
        Region region;
        try {
            region = Region.open(regionFile);
        } catch (RegionException e) {
            throw new FerryException(e.status(), e.getMessage());
        }
        RegionTransport t = new RegionTransport(region);
        try {
            t.handshake();
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private void handshake() {
        region.guestPid(ProcessHandle.current().pid());
        region.guestHeartbeat(1);
        region.connectRequest(nonce);
        long start = System.nanoTime();
        while (region.connectAck() != nonce) {
            if (System.nanoTime() - start > TIMEOUT_NANOS) {
                throw new FerryException(Status.HOST_UNAVAILABLE, "no host accepted the connection on " + region.path());
            }
            LockSupport.parkNanos(100_000);
        }
        commands.reset();
        completions.reset();
        heartbeat.start();
        ByteBuffer c = ByteBuffer.wrap(region.credential()).order(ByteOrder.LITTLE_ENDIAN);
        call(Op.HELLO, Wire.utf8(region.header().guestName()), Wire.HELLO_MAGIC, Wire.PROTOCOL_VERSION,
                Wire.CAPABILITIES, ProcessHandle.current().pid(), c.getLong(0), c.getLong(8), c.getLong(16),
                c.getLong(24));
    }

    private void beat() {
        long beat = 1;
        while (!closed) {
            region.guestHeartbeat(++beat);
            LockSupport.parkNanos(50_000_000);
        }
    }

    @Override
    public synchronized Reply call(Op op, byte[] blob, long... args) {
        long s = write(op, Wire.FLAG_REPLY, blob, args);
        return await(op, s);
    }

    @Override
    public synchronized void send(Op op, long... args) {
        write(op, 0, null, args);
    }

    private long write(Op op, int flags, byte[] blob, long[] args) {
        if (closed) {
            throw new FerryException(Status.SESSION_CLOSED, "the connection is closed");
        }
        int blobLength = blob == null ? 0 : blob.length;
        int length = Wire.callLength(op, blobLength);
        long at;
        long start = System.nanoTime();
        while ((at = commands.tryClaim(op.code(), length)) < 0) {
            if (System.nanoTime() - start > TIMEOUT_NANOS) {
                throw new FerryException(Status.TIMEOUT, "the command ring stayed full");
            }
            Thread.onSpinWait();
        }
        MemorySegment buf = commands.segment();
        long s = ++seq;
        Wire.putCallHeader(buf, at, s, flags, blobLength);
        for (int i = 0; i < args.length; i++) {
            Wire.putArg(buf, at, i, args[i]);
        }
        if (blobLength > 0) {
            MemorySegment.copy(blob, 0, buf, ValueLayout.JAVA_BYTE, at + op.fixedLength(), blobLength);
        }
        commands.publish();
        return s;
    }

    private Reply await(Op op, long want) {
        Reply[] found = new Reply[1];
        FerryException[] failure = new FerryException[1];
        int spins = 0;
        long beat = region.hostHeartbeat();
        long beatAt = System.nanoTime();
        while (true) {
            try {
                completions.poll((type, rec, length) -> {
                    int blob = Wire.blobLength(rec, 0);
                    if (length < Wire.COMPLETION_HEADER_LENGTH || blob < 0 || Wire.COMPLETION_HEADER_LENGTH + (long) blob > length) {
                        throw new RingCorruptedException("malformed completion");
                    }
                    byte[] bytes = rec.asSlice(Wire.COMPLETION_HEADER_LENGTH, blob).toArray(ValueLayout.JAVA_BYTE);
                    int status = Wire.status(rec, 0);
                    if (type == Wire.SESSION_CLOSED_TYPE) {
                        failure[0] = new FerryException(Status.of(status), "the host closed the session: "
                                + new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
                    } else if (Wire.seq(rec, 0) == want) {
                        if (status != Status.OK.code()) {
                            failure[0] = new FerryException(Status.of(status), op + ": "
                                    + new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
                        } else {
                            found[0] = new Reply(Wire.result(rec, 0, 0), Wire.result(rec, 0, 1), Wire.result(rec, 0, 2),
                                    Wire.result(rec, 0, 3), bytes);
                        }
                    }
                }, 16);
            } catch (RingCorruptedException e) {
                throw new FerryException(Status.PROTOCOL_VIOLATION, "completion ring corrupt: " + e.getMessage());
            }
            if (failure[0] != null) {
                throw failure[0];
            }
            if (found[0] != null) {
                return found[0];
            }
            spins++;
            if (spins < 200) {
                Thread.onSpinWait();
                continue;
            }
            if (spins < 50_000) {
                // Yield rather than spin: the host's endpoint and the TEE need cores too.
                Thread.yield();
                if ((spins & 1023) != 0) {
                    continue;
                }
            } else {
                LockSupport.parkNanos(20_000);
            }
            long now = System.nanoTime();
            long b = region.hostHeartbeat();
            if (b != beat) {
                beat = b;
                beatAt = now;
            } else if (now - beatAt > TIMEOUT_NANOS) {
                throw new FerryException(Status.HOST_UNAVAILABLE, "no heartbeat from the host of " + region.path());
            }
            if (region.connectAck() != nonce) {
                throw new FerryException(Status.SESSION_CLOSED, "the host ended this session");
            }
        }
    }

    @Override
    public HeapMemory allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("heap allocation of " + bytes + " bytes");
        }
        long align = bytes >= 64 * 1024 ? 4096 : 64;
        long size = (bytes + 63) & -64L;
        synchronized (free) {
            for (Map.Entry<Long, Long> e : free.entrySet()) {
                long start = e.getKey();
                long len = e.getValue();
                long aligned = (start + align - 1) & -align;
                if (aligned - start + size <= len) {
                    free.remove(start);
                    if (aligned > start) {
                        free.put(start, aligned - start);
                    }
                    if (start + len > aligned + size) {
                        free.put(aligned + size, start + len - aligned - size);
                    }
                    return new Block(aligned, size, region.heap().asSlice(aligned, bytes));
                }
            }
        }
        throw new FerryException(Status.QUOTA_EXCEEDED, "heap exhausted: " + bytes + " bytes requested");
    }

    private final class Block implements HeapMemory {
        private final long offset;
        private final long size;
        private final MemorySegment segment;
        private boolean freed;

        Block(long offset, long size, MemorySegment segment) {
            this.offset = offset;
            this.size = size;
            this.segment = segment;
        }

        @Override
        public long offset() {
            return offset;
        }

        @Override
        public MemorySegment segment() {
            return segment;
        }

        @Override
        public void close() {
            synchronized (free) {
                if (freed) {
                    return;
                }
                freed = true;
                long start = offset;
                long end = offset + size;
                Map.Entry<Long, Long> before = free.floorEntry(start);
                if (before != null && before.getKey() + before.getValue() == start) {
                    start = before.getKey();
                    free.remove(start);
                }
                Long after = free.remove(end);
                if (after != null) {
                    end += after;
                }
                free.put(start, end - start);
            }
        }
    }

    @Override
    public long heapOffset(MemorySegment segment) {
        MemorySegment heap = region.heap();
        if (segment.isNative()) {
            long off = segment.address() - heap.address();
            if (off >= 0 && segment.byteSize() <= heap.byteSize() - off) {
                return off;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            if (region.connectAck() == nonce) {
                call(Op.GOODBYE, null);
            }
        } catch (FerryException e) {
            // the host is gone already
        }
        closed = true;
        if (heartbeat.isAlive()) {
            LockSupport.unpark(heartbeat);
            try {
                heartbeat.join(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        region.close();
    }
}
