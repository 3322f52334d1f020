package io.ferry.host.session;

import io.ferry.host.config.Quotas;
import io.ferry.protocol.Status;

/**
 * The checks of a guest's {@link Quotas}: going over answers {@link Status#QUOTA_EXCEEDED} with a message that
 * names the quota, the figures and the fix. Kept here, not on the record, so the configuration depends on nothing.
 */
public final class QuotaChecks {
    private QuotaChecks() {
    }

    public static void checkDeviceMemory(Quotas quotas, long inUse, long more) throws CallException {
        if (more > quotas.deviceMemoryBytes() - inUse) {
            throw new CallException(Status.QUOTA_EXCEEDED, "device memory quota: " + inUse + " bytes in use + "
                    + more + " requested > limit " + quotas.deviceMemoryBytes() + " bytes");
        }
    }

    /** @param held what the session holds by kind ({@code 4090 events, 6 buffers}) */
    static void checkObjects(Quotas quotas, int inUse, String held) throws CallException {
        if (inUse >= quotas.objects()) {
            throw new CallException(Status.QUOTA_EXCEEDED, "object quota: the session holds " + inUse
                    + " objects, the limit is " + quotas.objects() + " (" + held + "); close objects you no longer "
                    + "need, events included (each holds a host object until closed: use try-with-resources), or "
                    + "raise the guest's quotas.objects in the host config (--objects of ./ferry guest add)");
        }
    }

    /**
     * @param inFlight device commands the session holds now, over all its queues
     * @param onQueue  of which on {@code queue}
     */
    public static void checkCommandsInFlight(Quotas quotas, int inFlight, int onQueue, long queue) throws CallException {
        if (inFlight >= quotas.commandsInFlight()) {
            throw new CallException(Status.QUOTA_EXCEEDED, "commands-in-flight quota: the session holds " + inFlight
                    + " device commands enqueued since their queues' last finish (" + onQueue + " on queue " + queue
                    + "), the limit is " + quotas.commandsInFlight() + " per session; call finish() more often, or raise "
                    + "quotas.commandsInFlight");
        }
    }

    /** The refusal of the one-way call that went over {@link Quotas#oneWayOutstanding}. */
    static CallException oneWayExceeded(Quotas quotas, long sent) {
        return new CallException(Status.QUOTA_EXCEEDED, "one-way calls outstanding: " + sent
                + " since the last synchronous call, over the session quota of " + quotas.oneWayOutstanding()
                + "; this call and every later one-way call were refused until the next synchronous call; make a "
                + "synchronous call (finish) to drain them, or raise quotas.oneWayOutstanding");
    }
}
