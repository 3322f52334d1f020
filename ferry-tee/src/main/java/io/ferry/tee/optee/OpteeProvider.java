package io.ferry.tee.optee;

import io.ferry.host.spi.BackendException;
import io.ferry.host.spi.TeeBackend;
import io.ferry.host.spi.TeeBackendConfig;
import java.nio.file.Files;

/** Finds OP-TEE: available where the configured device ({@code /dev/tee0}) exists. */
public final class OpteeProvider implements TeeBackend.Provider {
    @Override
    public String name() {
        return "optee";
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
