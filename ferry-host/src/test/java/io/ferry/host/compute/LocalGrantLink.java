package io.ferry.host.compute;

import io.ferry.host.sched.Hint;
import io.ferry.host.session.CallException;
import io.ferry.host.worker.Grant;
import io.ferry.host.worker.GrantLink;
import io.ferry.host.worker.LeaseWords;
import io.ferry.spi.BackendException;
import java.util.concurrent.atomic.AtomicInteger;

/** A {@link GrantLink} straight into a {@link DeviceDispatch}, as the control ring will carry it; counts the calls. */
final class LocalGrantLink implements GrantLink {
    final DeviceDispatch dispatch;
    final long tenant;
    final LeaseWords words;
    final Runnable cancel;
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger dones = new AtomicInteger();

    LocalGrantLink(DeviceDispatch dispatch, long tenant, LeaseWords words, Runnable cancel) {
        this.dispatch = dispatch;
        this.tenant = tenant;
        this.words = words;
        this.cancel = cancel;
    }

    @Override
    public Grant request(Hint hint) throws BackendException {
        requests.incrementAndGet();
        try {
            return dispatch.grantRemote(tenant, hint, words, cancel);
        } catch (CallException e) {
            throw new BackendException(e.status(), e.getMessage());
        }
    }

    @Override
    public void done(long deviceNanos) {
        dones.incrementAndGet();
        dispatch.remoteDone(tenant, deviceNanos);
    }
}
