package io.ferry.host.spi;

import java.nio.file.Path;
import java.util.List;

/**
 * What a TEE backend is started with.
 *
 * @param workDir     a private directory (mode 0700) the backend may use for channels and scratch files
 * @param taDir       where signed TA images lie ({@code UUID.ta}); the software TEE loads only verified ones
 * @param storageDir  where the software TEE keeps sealed storage
 * @param trustedKeys X.509-encoded Ed25519 public keys that may sign TAs
 * @param rootKey     the host root key (32 bytes) from which storage keys are derived; never logged
 * @param threads     how many calls the TEE runs at once
 * @param device      the OP-TEE device ({@code /dev/tee0})
 */
public record TeeBackendConfig(Path workDir, Path taDir, Path storageDir, List<byte[]> trustedKeys, byte[] rootKey,
                               int threads, Path device) {
    public TeeBackendConfig {
        trustedKeys = List.copyOf(trustedKeys);
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("TEE threads " + threads + " must be between 1 and 64");
        }
        if (rootKey != null && rootKey.length != 32) {
            throw new IllegalArgumentException("the TEE root key must be 32 bytes, got " + rootKey.length);
        }
    }

    @Override
    public String toString() {
        return "TeeBackendConfig[workDir=" + workDir + ", taDir=" + taDir + ", storageDir=" + storageDir
                + ", trustedKeys=" + trustedKeys.size() + ", threads=" + threads + ", device=" + device + "]";
    }
}
