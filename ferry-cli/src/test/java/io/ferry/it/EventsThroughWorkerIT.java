package io.ferry.it;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link EventsIT} with every session kept in the host ({@code ferry.workerServesSession=false}): device calls,
 * wait lists and the event calls go to the guest's device worker one by one (WorkerClient → WorkerMain).
 */
class EventsThroughWorkerIT extends EventsIT {

    /** After the superclass's {@code start()} (JUnit runs it too): its host is stopped first, then this one made. */
    @BeforeAll
    static void startThroughWorker() throws Exception {
        stop();
        String before = System.getProperty("ferry.workerServesSession");
        System.setProperty("ferry.workerServesSession", "false");
        try {
            host = TestHost.start("alice");
        } finally {
            if (before == null) {
                System.clearProperty("ferry.workerServesSession");
            } else {
                System.setProperty("ferry.workerServesSession", before);
            }
        }
    }
}
