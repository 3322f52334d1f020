package io.ferry.host.net;

import io.ferry.channel.Region;

/**
 * The guests a host serves now, as the stream transport needs them: set up by the facade ({@code FerryHost}), so
 * this package reaches into no endpoint or session (it acts on a lane as a guest process would).
 */
public interface GuestDirectory {
    /**
     * A served guest: the host's own mapping of its region (lane 0's view; its header as the host wrote it) and the
     * credential its HELLO must carry (its secret).
     */
    record Guest(String name, Region region, byte[] credential) {
    }

    /** Guest {@code name} if this host serves it now, else null. */
    Guest find(String name);
}
