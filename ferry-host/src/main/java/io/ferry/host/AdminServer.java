package io.ferry.host;

import java.io.IOException;
import java.nio.file.Path;

/** The admin socket that {@code ./ferry status} talks to (mode 0600). Placeholder: filled in by the status work. */
final class AdminServer implements AutoCloseable {

    static AdminServer start(Path socket, FerryHost host) throws IOException {
        return new AdminServer();
    }

    @Override
    public void close() {
    }
}
