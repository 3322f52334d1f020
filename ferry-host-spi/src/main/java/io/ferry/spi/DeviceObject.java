package io.ferry.spi;

import java.util.Locale;

/**
 * A native object that a {@link ComputeSession} holds under a guest's handle. It knows only whether it has been
 * released, so that a kernel still bound to a released buffer refuses to launch instead of handing the device a
 * dangling pointer.
 */
public abstract class DeviceObject {
    private boolean released;

    protected DeviceObject() {
    }

    /** Whether the guest released this object (or its session closed). */
    public final boolean isReleased() {
        return released;
    }

    /** Marks this object released; {@link ComputeSession} does so when the guest releases it or the session closes. */
    public final void markReleased() {
        released = true;
    }

    /** The kind for messages, e.g. {@code "buffer"}. */
    public String kindName() {
        return getClass().getSimpleName().toLowerCase(Locale.ROOT);
    }
}
