package io.ferry.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ferry} command. The launcher script handles {@code test} and {@code install}; everything else lands here
 * (through {@link Launcher}, the jar's Main-Class, which first checks the Java version).
 */
@Command(name = "ferry", mixinStandardHelpOptions = true, version = "ferry 0.1.0",
        description = "Share accelerators with guests by API remoting over shared memory.",
        subcommands = {DemoCommand.class, HostCommand.class, StatusCommand.class, ExampleCommand.class, GuestCommand.class,
                BenchCommand.class, VmDemoCommand.class, NativeDemoCommand.class, TaCommand.class, InstallServiceCommand.class,
                OpsDemoCommand.class, OpsGuestCommand.class, DeviceCommand.class, VmArgsCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "  ./ferry test [--gpu]   run every test (handled by the launcher)",
                "  ./ferry install        install the guest library io.ferry:ferry-client in",
                "                         ~/.m2 and print its Maven dependency (the launcher)"})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.setProperty("java.util.logging.manager", Logs.Manager.class.getName());
        Logs.configure();
        int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    // Errors a user can act on get one line that says what to do; anything else is a bug.
                    if (e instanceof io.ferry.client.FerryException || e instanceof java.io.IOException
                            || e instanceof io.ferry.host.config.HostConfig.ConfigException
                            || e instanceof io.ferry.channel.RegionException
                            || e instanceof io.ferry.spi.BackendException) {
                        cmd.getErr().println("ferry " + cmd.getCommandName() + ": " + e.getMessage());
                        return 2;
                    }
                    throw e;
                })
                .execute(args);
        System.exit(code);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
