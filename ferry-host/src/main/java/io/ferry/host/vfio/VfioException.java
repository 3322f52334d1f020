package io.ferry.host.vfio;

import java.io.IOException;

/** A refused or failed assignment or release; the message says what was wrong and what to do. */
public final class VfioException extends IOException {
    public VfioException(String message) {
        super(message);
    }
}
