package io.ferry.spi;

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
 * @param callLimitMillis the per-call watchdog of the software TEE: a TA call (open, invoke, close) that runs longer
 *                    is stopped with its TA instance, whose sessions then answer TARGET_DEAD
 * @param maxInstances how many TA instances (one process each, per guest and TA) the software TEE keeps at once;
 *                    idle ones are stopped first to make room
 * @param sandboxed   whether the software TEE runs each TA instance's process in a sandbox (bubblewrap, seccomp,
 *                    rlimits: its own image, lane and storage directory only); true but in tests that say
 *                    {@code isolation: none}. Without a working bubblewrap a sandboxed software TEE refuses to start
 */
public record TeeBackendConfig(Path workDir, Path taDir, Path storageDir, List<byte[]> trustedKeys, byte[] rootKey,
                               int threads, Path device, long callLimitMillis, int maxInstances, boolean sandboxed) {
    /** Default per-call watchdog: 10 s. */
    public static final long DEFAULT_CALL_LIMIT_MILLIS = 10_000;
    /** Default cap on TA instances (processes) of the software TEE. */
    public static final int DEFAULT_MAX_INSTANCES = 32;

    /** With the default call limit and instance cap, sandboxed. */
    public TeeBackendConfig(Path workDir, Path taDir, Path storageDir, List<byte[]> trustedKeys, byte[] rootKey,
                            int threads, Path device) {
        this(workDir, taDir, storageDir, trustedKeys, rootKey, threads, device, DEFAULT_CALL_LIMIT_MILLIS,
                DEFAULT_MAX_INSTANCES);
    }

    /** Sandboxed. */
    public TeeBackendConfig(Path workDir, Path taDir, Path storageDir, List<byte[]> trustedKeys, byte[] rootKey,
                            int threads, Path device, long callLimitMillis, int maxInstances) {
        this(workDir, taDir, storageDir, trustedKeys, rootKey, threads, device, callLimitMillis, maxInstances, true);
    }

    public TeeBackendConfig {
        if (callLimitMillis < 1 || callLimitMillis > 3_600_000) {
            throw new IllegalArgumentException("TEE call limit " + callLimitMillis + " ms must be between 1 ms and 1 h");
        }
        if (maxInstances < 1 || maxInstances > 4096) {
            throw new IllegalArgumentException("TEE maxInstances " + maxInstances + " must be between 1 and 4096");
        }
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
                + ", trustedKeys=" + trustedKeys.size() + ", threads=" + threads + ", device=" + device
                + ", callLimitMillis=" + callLimitMillis + ", maxInstances=" + maxInstances + ", sandboxed=" + sandboxed
                + "]";
    }

    /** This configuration with another per-call watchdog limit. */
    public TeeBackendConfig withCallLimitMillis(long millis) {
        return new TeeBackendConfig(workDir, taDir, storageDir, trustedKeys, rootKey, threads, device, millis,
                maxInstances, sandboxed);
    }

    /** This configuration with TA instances sandboxed or not ({@code isolation: none}, for tests only). */
    public TeeBackendConfig withSandboxed(boolean sandbox) {
        return new TeeBackendConfig(workDir, taDir, storageDir, trustedKeys, rootKey, threads, device, callLimitMillis,
                maxInstances, sandbox);
    }
}
