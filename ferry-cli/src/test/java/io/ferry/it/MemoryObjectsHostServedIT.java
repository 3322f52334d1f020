package io.ferry.it;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link MemoryObjectsIT} where the session stays in the host and each device command goes to the guest's worker
 * one by one (as on a GPU host or for an ivshmem guest): the memory-object calls cross the worker hop
 * ({@code WorkerMemoryObjects}) and must come out the same.
 */
class MemoryObjectsHostServedIT extends MemoryObjectsIT {

    /** After the superclass's {@code start()} (JUnit runs it too): its host is stopped first, then this one made. */
    @BeforeAll
    static void startThroughWorker() throws Exception {
        stop();
        // read once, when the host makes the guest's endpoint
        System.setProperty("ferry.workerServesSession", "false");
        try {
            host = TestHost.start("mem");
        } finally {
            System.clearProperty("ferry.workerServesSession");
        }
    }
}
