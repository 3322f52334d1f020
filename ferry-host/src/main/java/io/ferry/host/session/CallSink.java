package io.ferry.host.session;

import io.ferry.protocol.Op;
import io.ferry.protocol.Status;

/**
 * Where a {@link Session} counts what it served, for {@code /metrics}: {@link CallCounts} in the host, the worker's
 * table in its control region ({@code io.ferry.host.worker.WorkerCallTable}) in a device worker. Called on the
 * session's thread for every call: implementations only add to counters, allocate nothing and take no lock.
 */
public interface CallSink {
    /** Counts nothing (a session no one reads figures of). */
    CallSink NONE = new CallSink() {
        @Override
        public void call(Op op, Status status) {
        }

        @Override
        public void refusal(Quota quota) {
        }

        @Override
        public void teeDenial(boolean open) {
        }
    };

    /** The quota a {@link Status#QUOTA_EXCEEDED} refusal went over (label {@code quota} of /metrics). */
    enum Quota {
        DEVICE_MEMORY("device_memory"), OBJECTS("objects"), COMMANDS_IN_FLIGHT("commands_in_flight"),
        ONE_WAY_OUTSTANDING("one_way_outstanding"), OTHER("other");

        private final String label;

        Quota(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        /** The quota a refusal's message names ({@link QuotaChecks}'s wording); null: one-way, as before. */
        static Quota of(String message) {
            if (message == null || message.startsWith("one-way")) {
                return ONE_WAY_OUTSTANDING;
            }
            return message.startsWith("device memory") ? DEVICE_MEMORY : message.startsWith("object quota") ? OBJECTS
                    : message.startsWith("commands-in-flight") ? COMMANDS_IN_FLIGHT : OTHER;
        }
    }

    /** A call was answered (or, one-way, served or failed) with {@code status}. */
    void call(Op op, Status status);

    /** A call was refused for going over {@code quota}. */
    void refusal(Quota quota);

    /** The TEE policy denied opening a TA session ({@code open}) or invoking a command. */
    void teeDenial(boolean open);
}
