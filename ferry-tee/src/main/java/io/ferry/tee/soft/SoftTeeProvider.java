package io.ferry.tee.soft;

import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeBackendConfig;
import java.nio.file.Files;

/** Finds the software TEE ({@code soft-tee}): available wherever TA images, trusted keys and a root key are set. */
public final class SoftTeeProvider implements TeeBackend.Provider {
    @Override
    public String name() {
        return "soft-tee";
    }

    @Override
    public String unavailableReason(TeeBackendConfig config) {
        if (config.taDir() == null || !Files.isDirectory(config.taDir())) {
            return "no TA directory " + config.taDir();
        }
        if (config.trustedKeys().isEmpty()) {
            return "no trusted TA signing keys configured";
        }
        if (config.rootKey() == null) {
            return "no storage root key configured";
        }
        if (config.storageDir() == null || config.workDir() == null) {
            return "no storage or work directory configured";
        }
        return null;
    }

    @Override
    public TeeBackend open(TeeBackendConfig config) throws BackendException {
        return SoftTeeBackend.start(config);
    }
}
