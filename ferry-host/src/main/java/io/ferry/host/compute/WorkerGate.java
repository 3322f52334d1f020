package io.ferry.host.compute;

/**
 * Spaces out the start of a guest's device workers: a guest that reconnects in a loop and touches the CPU device
 * each time would otherwise make the host start a process per session without bound. Only that guest waits.
 * Endpoint thread only.
 */
final class WorkerGate {
    static final long MIN_INTERVAL_NANOS = 200_000_000L;
    private long last = Long.MIN_VALUE;

    void await() {
        long now = System.nanoTime();
        if (last != Long.MIN_VALUE && now - last < MIN_INTERVAL_NANOS) {
            try {
                Thread.sleep((MIN_INTERVAL_NANOS - (now - last)) / 1_000_000 + 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        last = System.nanoTime();
    }
}
