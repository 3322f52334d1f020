package io.ferry.host.session;

/** The figures of the part of a session its worker serves, read from shared memory: untrusted, status only. */
public interface RemoteFigures {
    long calls();

    long objects();

    long deviceMemoryBytes();

    long commandsInFlight();
}
