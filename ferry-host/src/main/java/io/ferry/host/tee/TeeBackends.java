package io.ferry.host.tee;

import io.ferry.host.spi.BackendException;
import io.ferry.host.spi.TeeBackend;
import io.ferry.host.spi.TeeBackendConfig;
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

    /** Starts backend {@code which} ({@code auto}, {@code optee} or {@code soft-tee}). */
    public static TeeBackend open(TeeBackendConfig config, String which) throws BackendException {
        List<TeeBackend.Provider> all = providers();
        List<String> reasons = new ArrayList<>();
        for (String name : which.equals("auto") ? List.of("optee", "soft-tee") : List.of(which)) {
            for (TeeBackend.Provider p : all) {
                if (!p.name().equals(name)) {
                    continue;
                }
                String why = p.unavailableReason(config);
                if (why != null) {
                    reasons.add(name + ": " + why);
                    continue;
                }
                TeeBackend b = p.open(config);
                LOG.info("TEE backend " + b.name() + " started (" + b.threads() + " threads)");
                return b;
            }
        }
        throw new BackendException(Status.UNSUPPORTED, "no TEE backend '" + which + "' available"
                + (reasons.isEmpty() ? " (is ferry-tee on the class path?)" : ": " + String.join("; ", reasons)));
    }
}
