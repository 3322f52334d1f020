package io.ferry.tee.optee;

import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeBackendConfig;
import java.nio.file.Files;

/** Finds OP-TEE: available where the configured device ({@code /dev/tee0}) exists. */
public final class OpteeProvider implements TeeBackend.Provider {
    @Override
    public String name() {
        return "optee";
    }

    @Override
    public int preference() {
        return 100; // a hardware TEE first, where the machine has one
    }

    @Override
    public String unavailableReason(TeeBackendConfig config) {
        if (config.device() == null || !Files.exists(config.device())) {
            return "no TEE device " + (config.device() == null ? "/dev/tee0" : config.device());
        }
        return null;
    }

    @Override
    public TeeBackend open(TeeBackendConfig config) throws BackendException {
        return OpteeBackend.open(config);
    }
}
