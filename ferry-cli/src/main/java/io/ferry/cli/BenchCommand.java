package io.ferry.cli;

import io.ferry.bench.ChaosBench;
import io.ferry.bench.CudaBench;
import io.ferry.bench.IcdBench;
import io.ferry.bench.McbBench;
import io.ferry.bench.NetBench;
import io.ferry.bench.TeeBench;
import io.ferry.bench.TransportBench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./ferry bench SUITE}: measurements side by side with their native baselines. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks, each beside its native baseline in the same run. SUITE: transport | icd | cuda | mcb | chaos | tee | net | all")
final class BenchCommand implements Callable<Integer> {

    @Parameters(paramLabel = "SUITE", description = "transport | icd | cuda | mcb | chaos | tee | net | all")
    String suite;

    @Option(names = "--quick", description = "fewer samples; finishes in about a minute")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Option(names = "--plot", paramLabel = "DIR", description = "mcb: write PNG plots into DIR")
    Path plot;

    @Option(names = "--device", paramLabel = "TEXT", description = "transport: the device to measure (default: the "
            + "host's first), the first whose backend is TEXT or whose name, vendor or version contains TEXT (any "
            + "case); BACKEND:TEXT asks for both. Example: --device opencl:nvidia, NVIDIA's OpenCL device rather "
            + "than the same card under CUDA")
    String device;

    /** Every suite in turn; with --json FILE each writes FILE with its name inserted (out.json → out-mcb.json). */
    private int all() throws Exception {
        int worst = 0;
        worst = Math.max(worst, new TransportBench(quick, named("transport")).run());
        worst = Math.max(worst, new IcdBench(quick, named("icd")).run());
        worst = Math.max(worst, new ChaosBench(quick, named("chaos")).run());
        worst = Math.max(worst, new McbBench(quick, named("mcb"), plot).run());
        worst = Math.max(worst, new TeeBench(quick, named("tee")).run());
        worst = Math.max(worst, new NetBench(quick, named("net")).run());
        int cuda = new CudaBench(quick, named("cuda")).run();
        if (cuda != 2) { // 2: no CUDA device, already said so
            worst = Math.max(worst, cuda);
        }
        return worst;
    }

    /** ferry-bench.jar, beside the jar this class came from. */
    private static String benchJar() {
        try {
            Path self = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return self.resolveSibling("ferry-bench.jar").toString();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "ferry-bench.jar";
        }
    }

    private Path named(String suite) {
        if (json == null) {
            return null;
        }
        String name = json.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String file = dot > 0 ? name.substring(0, dot) + "-" + suite + name.substring(dot) : name + "-" + suite;
        return json.resolveSibling(file);
    }

    @Override
    public Integer call() throws Exception {
        if (BenchCommand.class.getClassLoader().getResource("io/ferry/bench/TransportBench.class") == null) {
            // ferry.jar, the daemon's, carries no benchmark and no test tooling: they are in ferry-bench.jar
            System.err.println("ferry bench: the benchmarks are not in this jar (ferry.jar carries none): run ./ferry "
                    + "bench " + suite + ", or java -jar " + benchJar() + " bench " + suite);
            return 2;
        }
        if (device != null && !suite.equals("transport")) {
            System.err.println("ferry bench: --device applies to the transport suite only");
            return 2;
        }
        return switch (suite) {
            case "transport" -> new TransportBench(quick, json, device).run();
            case "icd" -> new IcdBench(quick, json).run();
            case "cuda" -> new CudaBench(quick, json).run();
            case "mcb" -> new McbBench(quick, json, plot).run();
            case "chaos" -> new ChaosBench(quick, json).run();
            case "tee" -> new TeeBench(quick, json).run();
            case "net" -> new NetBench(quick, json).run();
            case "all" -> all();
            default -> {
                System.err.println("ferry bench: unknown suite '" + suite + "' (available: transport, icd, cuda, mcb, chaos, tee, net, all)");
                yield 2;
            }
        };
    }
}
