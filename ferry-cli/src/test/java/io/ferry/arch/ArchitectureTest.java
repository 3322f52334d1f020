package io.ferry.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module table of docs/architecture.md, and the host's packages as its data path, checked on the main classes
 * of every module (all are on ferry-cli's test class path), so that a wrong import fails the build.
 *
 * <p>Modules: protocol ← channel ← client (the guest side); protocol ← spi ← backends (opencl, cuda, tee); the
 * host uses protocol, channel and spi, never the guest library nor a backend by name; testkit drives the host;
 * bench and cli sit on top.
 *
 * <p>Inside the host, along the data path: endpoint (reading, framing) → session (routing, completions, sticky
 * errors) → compute / tee (the services) → sched; the worker is compute's hop to a device worker process. config is
 * usable by all; admin reads all; vfio (VFIO assignment) uses no other Ferry package; the facade {@code io.ferry.host.FerryHost} wires all. The session defines the
 * service seams ({@code SessionService}, {@code ServiceContext}) and knows no service: compute and tee implement
 * the seams, so they depend on session and never the other way round.
 */
class ArchitectureTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // ferry-host's test jar (the VFIO fixture sysfs, for the CLI's tests) is test code too
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("io.ferry");
        // an empty import would pass every rule: make sure every module's classes are there
        for (String c : new String[] {"io.ferry.protocol.Wire", "io.ferry.channel.SpscRing", "io.ferry.spi.ComputeBackend",
                "io.ferry.host.FerryHost", "io.ferry.host.session.Session", "io.ferry.testkit.SessionFuzzer"}) {
            if (!classes.contain(c)) {
                throw new AssertionError(c + " is not on the test class path: the rules would check nothing");
            }
        }
    }

    /** Ferry classes outside {@code allowed} (package patterns such as {@code io.ferry.protocol..}). */
    private static DescribedPredicate<JavaClass> ferryOutside(String... allowed) {
        return DescribedPredicate.describe("Ferry classes outside " + Arrays.toString(allowed),
                c -> c.getPackageName().startsWith("io.ferry.")
                        && Arrays.stream(allowed).noneMatch(p -> matches(c.getPackageName(), p)));
    }

    private static boolean matches(String pkg, String pattern) {
        if (pattern.endsWith("..")) {
            String base = pattern.substring(0, pattern.length() - 2);
            return pkg.equals(base) || pkg.startsWith(base + ".");
        }
        return pkg.equals(pattern);
    }

    /** Classes of {@code module} use no Ferry class outside {@code module} and {@code allowed}. */
    private static void onlyOn(String module, String... allowed) {
        String[] all = Arrays.copyOf(allowed, allowed.length + 1);
        all[allowed.length] = module;
        ArchRule rule = noClasses().that().resideInAPackage(module)
                .should().dependOnClassesThat(ferryOutside(all));
        rule.check(classes);
    }

    private static void never(String from, String... to) {
        noClasses().that().resideInAPackage(from).should().dependOnClassesThat().resideInAnyPackage(to)
                .check(classes);
    }

    @Test
    void protocolDependsOnNoOtherModule() {
        onlyOn("io.ferry.protocol..");
    }

    @Test
    void channelDependsOnlyOnProtocol() {
        onlyOn("io.ferry.channel..", "io.ferry.protocol..");
    }

    @Test
    void clientDependsOnlyOnProtocolAndChannel() {
        onlyOn("io.ferry.client..", "io.ferry.protocol..", "io.ferry.channel..");
    }

    @Test
    void spiDependsOnlyOnProtocol() {
        onlyOn("io.ferry.spi..", "io.ferry.protocol..");
    }

    @Test
    void backendsDependOnlyOnSpiAndProtocol() {
        for (String backend : new String[] {"io.ferry.opencl..", "io.ferry.cuda..", "io.ferry.tee.."}) {
            onlyOn(backend, "io.ferry.spi..", "io.ferry.protocol..");
        }
    }

    @Test
    void hostUsesNoGuestLibraryNoBackendAndNoToolOnTop() {
        never("io.ferry.host..", "io.ferry.client..", "io.ferry.opencl..", "io.ferry.cuda..", "io.ferry.tee..",
                "io.ferry.testkit..", "io.ferry.bench..", "io.ferry.cli..");
    }

    @Test
    void testkitUsesNoGuestLibraryAndNoToolOnTop() {
        never("io.ferry.testkit..", "io.ferry.client..", "io.ferry.bench..", "io.ferry.cli..");
    }

    @Test
    void configIsUsableByAllAndUsesOnlyTheSchedulersClasses() {
        // config names a guest's scheduling class with the scheduler's own enum (SchedClass): one definition
        onlyOn("io.ferry.host.config..", "io.ferry.host.sched..");
    }

    @Test
    void vfioStandsAlone() {
        // VFIO assignment reads sysfs and its state file; compute reads its assignments, the CLI drives it
        onlyOn("io.ferry.host.vfio..");
    }

    @Test
    void tlsUsesOnlyConfig() {
        // the CA and the certificate checks: the network server wires them in, the CLI issues and revokes
        onlyOn("io.ferry.host.net.tls..", "io.ferry.host.config..", "io.ferry.protocol..");
    }

    @Test
    void schedIsTheBottomOfTheHost() {
        onlyOn("io.ferry.host.sched..", "io.ferry.host.config..", "io.ferry.protocol..", "io.ferry.spi..");
    }

    @Test
    void sessionKnowsNoServiceAndNothingAboveIt() {
        never("io.ferry.host.session..", "io.ferry.host", "io.ferry.host.endpoint..", "io.ferry.host.admin..",
                "io.ferry.host.compute..", "io.ferry.host.tee..", "io.ferry.host.worker..", "io.ferry.host.sched..");
    }

    @Test
    void servicesDoNotReachBackIntoEndpointOrAdmin() {
        for (String service : new String[] {"io.ferry.host.compute..", "io.ferry.host.tee..",
                "io.ferry.host.worker.."}) {
            never(service, "io.ferry.host", "io.ferry.host.endpoint..", "io.ferry.host.admin..");
        }
        never("io.ferry.host.tee..", "io.ferry.host.compute..", "io.ferry.host.worker..");
    }

    @Test
    void schedAndWorkerKnowNoSession() {
        never("io.ferry.host.sched..", "io.ferry.host.session..", "io.ferry.host.compute..", "io.ferry.host.tee..",
                "io.ferry.host.worker..", "io.ferry.host.endpoint..", "io.ferry.host.admin..", "io.ferry.host");
    }

    @Test
    void theStreamTransportActsOnALaneAsAGuestDoes() {
        // net (docs/network.md) claims a lane and produces records like a guest process: it reaches no endpoint,
        // session or service, only the region (channel), the wire (protocol) and its config
        onlyOn("io.ferry.host.net..", "io.ferry.host.config..", "io.ferry.protocol..", "io.ferry.channel..");
    }

    @Test
    void endpointDoesNotReachAdminOrTheFacade() {
        never("io.ferry.host.endpoint..", "io.ferry.host", "io.ferry.host.admin..");
    }

    @Test
    void hostPackagesAreFreeOfCycles() {
        slices().matching("io.ferry.host.(*)..").should().beFreeOfCycles().check(classes);
    }
}
