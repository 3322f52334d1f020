package io.ferry.client;

import io.ferry.protocol.Calls;

/** An object that lives on the host, named by a handle of this connection. Closing it releases it there. */
abstract sealed class Remote implements AutoCloseable permits Context, CommandQueue, DeviceBuffer, Program, Kernel, Event,
        Image, Sampler {
    final Ferry ferry;
    final long handle;
    private boolean released;

    Remote(Ferry ferry, long handle) {
        this.ferry = ferry;
        this.handle = handle;
    }

    Channel channel() {
        return ferry.channel();
    }

    /** The handle naming this object in the session (as it appears in host logs and errors). */
    public long handle() {
        return handle;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
        }
        try {
            channel().oneWay(new Calls.Release(), true, c -> c.handle(handle));
        } catch (FerryException e) {
            // The session is gone: the host released everything already.
        }
    }
}
