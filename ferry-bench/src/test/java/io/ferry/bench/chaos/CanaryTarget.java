package io.ferry.bench.chaos;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

/** A fuzz target that fails on every input: proves FuzzProbes counts findings (see FuzzProbesTest). */
public final class CanaryTarget {
    private CanaryTarget() {
    }

    public static void fuzzerTestOneInput(FuzzedDataProvider d) {
        throw new IllegalStateException("canary finding on an input of " + d.remainingBytes() + " bytes");
    }
}
