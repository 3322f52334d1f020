package io.ferry.host.tee;

import io.ferry.spi.BackendException;
import io.ferry.spi.TeeBackend;
import io.ferry.spi.TeeBackendConfig;
import io.ferry.protocol.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.logging.Logger;

/**
 * Finds TEE backends on the class path ({@link ServiceLoader} of {@link TeeBackend.Provider}) and starts one:
 * {@code "auto"} prefers OP-TEE where the host has its device, else the software TEE.
 */
public final class TeeBackends {
    private static final Logger LOG = Logger.getLogger("ferry.host");

    private TeeBackends() {
    }

    public static List<TeeBackend.Provider> providers() {
        List<TeeBackend.Provider> out = new ArrayList<>();
        ServiceLoader.load(TeeBackend.Provider.class).forEach(out::add);
        return out;
    }

    /** Prepared TEE settings, {@code backend} ({@code auto} or a provider's name), policy and limits: a service. */
    public static TeeServiceFactory start(TeeBackendConfig config, String backend, TeePolicy policy)
            throws BackendException {
        return new TeeServiceFactory(open(config, backend), policy, TeeLimits.DEFAULT);
    }

    /**
     * Starts backend {@code which}: a provider's name, or {@code auto} for the first available provider in order of
     * {@link TeeBackend.Provider#preference()} (a hardware TEE before the software one).
     */
    public static TeeBackend open(TeeBackendConfig config, String which) throws BackendException {
        List<TeeBackend.Provider> all = providers();
        all.sort(java.util.Comparator.comparingInt(TeeBackend.Provider::preference).reversed());
        List<String> reasons = new ArrayList<>();
        for (TeeBackend.Provider p : all) {
            if (!which.equals("auto") && !p.name().equals(which)) {
                continue;
            }
            String why = p.unavailableReason(config);
            if (why != null) {
                reasons.add(p.name() + ": " + why);
                continue;
            }
            TeeBackend b = p.open(config);
            LOG.info("TEE backend " + b.name() + " started (" + b.threads() + " threads)");
            return b;
        }
        throw new BackendException(Status.UNSUPPORTED, "no TEE backend '" + which + "' available"
                + (reasons.isEmpty() ? " (is ferry-tee on the class path?)" : ": " + String.join("; ", reasons)));
    }
}
