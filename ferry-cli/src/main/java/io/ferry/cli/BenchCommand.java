package io.ferry.cli;

import io.ferry.bench.ChaosBench;
import io.ferry.bench.CudaBench;
import io.ferry.bench.McbBench;
import io.ferry.bench.TeeBench;
import io.ferry.bench.TransportBench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./ferry bench SUITE}: measurements side by side with their native baselines. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks, each beside its native baseline in the same run. SUITE: transport | cuda | mcb | chaos | tee")
final class BenchCommand implements Callable<Integer> {

    @Parameters(paramLabel = "SUITE", description = "transport | cuda | mcb | chaos | tee")
    String suite;

    @Option(names = "--quick", description = "fewer samples; finishes in about a minute")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Option(names = "--plot", paramLabel = "DIR", description = "mcb: write PNG plots into DIR")
    Path plot;

    @Override
    public Integer call() throws Exception {
        return switch (suite) {
            case "transport" -> new TransportBench(quick, json).run();
            case "cuda" -> new CudaBench(quick, json).run();
            case "mcb" -> new McbBench(quick, json, plot).run();
            case "chaos" -> new ChaosBench(quick, json).run();
            case "tee" -> new TeeBench(quick, json).run();
            default -> {
                System.err.println("ferry bench: unknown suite '" + suite + "' (available: transport, cuda, mcb, chaos, tee)");
                yield 2;
            }
        };
    }
}
