package io.ferry.client;

import io.ferry.protocol.Calls;
import java.lang.ref.Cleaner;

/**
 * An object that lives on the host, named by a handle of this connection. It holds host resources (a slot of the
 * session's object quota, and device memory or a native object) until {@link #close()} releases it there: close it
 * when done, best with try-with-resources. An object that becomes unreachable unclosed is released by Ferry's
 * cleaner, possibly long after its last use, and the first one of each kind is logged as a warning (see
 * docs/client.md#lifetimes).
 */
abstract sealed class Remote implements AutoCloseable permits Context, ScheduledQueue, DeviceBuffer, Program, Kernel, Event,
        Image, Sampler {
    final Ferry ferry;
    /**
     * A call that carries this handle (or another object's) must keep the object reachable until its record is
     * written, or the cleaner may queue its RELEASE ahead of that record. Reading the field inside the arguments
     * lambda ({@code c -> c.queue(handle)}) does that, since the lambda holds the object; a handle copied out earlier
     * (an event wait list encoded into a blob) needs {@code Reference.reachabilityFence(objects)} after the send.
     */
    final long handle;
    /** The cleaner's state: never references this object (see {@link Lifetimes}). */
    final Lifetimes.Lifetime lifetime;
    private final Cleaner.Cleanable cleanable;

    Remote(Ferry ferry, long handle) {
        this.ferry = ferry;
        this.handle = handle;
        this.lifetime = ferry.lifetimes().track(handle, getClass().getSimpleName());
        this.cleanable = Lifetimes.CLEANER.register(this, lifetime);
    }

    Channel channel() {
        return ferry.channel();
    }

    /** The handle naming this object in the session (as it appears in host logs and errors). */
    public long handle() {
        return handle;
    }

    /** Releases the object on the host. Closing it again does nothing. */
    @Override
    public void close() {
        if (!lifetime.close()) {
            return;
        }
        cleanable.clean(); // unregisters: the cleaner will not release it again
        try {
            channel().oneWay(new Calls.Release(), true, c -> c.handle(handle));
        } catch (FerryException e) {
            // The session is gone: the host released everything already.
        }
    }
}
