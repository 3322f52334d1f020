package io.ferry.cli;

import io.ferry.host.FerryHost;
import io.ferry.host.HostViews;
import io.ferry.host.compute.Devices;
import io.ferry.host.config.HostConfig;
import io.ferry.host.tee.TeeBackends;
import io.ferry.host.tee.TeePolicy;
import io.ferry.host.tee.TeeServiceFactory;
import io.ferry.tee.BuiltinTas;
import io.ferry.tee.DevTee;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The TEE part of {@code ./ferry native-demo}: a plain GP TEE client in C ({@code ferry-icd/build/tee_demo}, from
 * {@code ferry-icd/teec/demo/tee_demo.c}) through Ferry's native {@code libteec.so.2}, in two guests of a host with
 * the software TEE. Four runs, one line each: alice stores a secret in the storage TA (and increments in the hello
 * TA), bob finds no such object in his storage, bob stores his own, and alice still reads hers. The host's policy
 * lets each guest open the hello and storage TAs (PUBLIC login), nothing else.
 */
final class NativeTeeDemo {
    static final List<String> GUESTS = List.of("alice", "bob");
    private static final Pattern PART = Pattern.compile("(?m)^(\\S+)\\s+(verified|FAILED)\\b");

    private final NativeDemoCommand demo;

    NativeTeeDemo(NativeDemoCommand demo) {
        this.demo = demo;
    }

    /** One run of tee_demo: as which guest, with which arguments, what it shows. */
    record Step(String guest, List<String> args, String shows) {
    }

    List<NativeDemoCommand.Outcome> run(PrintStream out, Path home, Path dir) throws Exception {
        Path exe = home.resolve("ferry-icd/build/tee_demo");
        if (!Files.isExecutable(exe) || !Files.isRegularFile(home.resolve("ferry-icd/build/libteec.so.2"))) {
            return List.of(new NativeDemoCommand.Outcome("TEE", false, exe + " or libteec.so.2 is missing: build them"
                    + " with  make -C " + home.resolve("ferry-icd"), ""));
        }
        Path teeDir = Files.createDirectory(dir.resolve("tee-host"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        List<TeePolicy.Rule> rules = new ArrayList<>();
        List<HostConfig.GuestConfig> guests = new ArrayList<>();
        for (String g : GUESTS) {
            rules.add(TeePolicy.allow(g, BuiltinTas.HELLO));
            rules.add(TeePolicy.allow(g, BuiltinTas.STORAGE));
            guests.add(new HostConfig.GuestConfig(g, 16L << 20).withLanes(2));
        }
        HostConfig cfg = new HostConfig(teeDir.resolve("regions"), true, List.of(), guests);
        String secret = "alice's secret " + Long.toHexString(System.nanoTime());
        List<Step> steps = List.of(
                new Step("alice", List.of("store", secret), "alice's session to hello, her secret stored in storage"),
                new Step("bob", List.of("absent"), "bob's storage does not hold alice's object"),
                new Step("bob", List.of("store", "bob's own value"), "bob stores an object of the same name"),
                new Step("alice", List.of("check", secret), "alice's object is unchanged by bob's"));
        List<NativeDemoCommand.Outcome> outcomes = new ArrayList<>();
        try (TeeServiceFactory tee = TeeBackends.start(DevTee.prepare(teeDir.resolve("tee"), 2).config(), "soft-tee",
                TeePolicy.of(rules));
             FerryHost host = FerryHost.start(cfg, Devices.of(List.of(), List.of()), tee)) {
            out.println("tee host: software TEE, guests " + String.join(" and ", GUESTS) + " on "
                    + host.guestSocket() + "; the C client links libteec.so.2");
            for (Step step : steps) {
                Path secretFile = teeDir.resolve(step.guest() + ".secret");
                if (!Files.exists(secretFile)) {
                    Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
                    Files.write(secretFile, host.secret(step.guest()));
                }
                Map<String, String> env = Map.of("FERRY_HOST", "unix:" + host.guestSocket(), "FERRY_GUEST",
                        step.guest(), "FERRY_SECRET_FILE", secretFile.toString(), "FERRY_LOG", "1");
                long before = sessions(host, step.guest());
                List<String> cmd = new ArrayList<>(List.of(exe.toString()));
                cmd.addAll(step.args());
                NativeDemoCommand.Outcome o = verdict(step, demo.run(cmd, env, dir));
                if (o.verified() && sessions(host, step.guest()) <= before) {
                    o = new NativeDemoCommand.Outcome(o.name(), false, "the host served guest " + step.guest()
                            + " no session: the program did not run through Ferry", o.output());
                }
                outcomes.add(o);
                demo.report(out, o);
            }
        }
        return outcomes;
    }

    /** Exit 0 and both parts (hello, then storage or isolation) verified, none failed. */
    static NativeDemoCommand.Outcome verdict(Step step, NativeDemoCommand.Run r) {
        String name = "TEE";
        String what = step.guest() + " " + String.join(" ", step.args().subList(0, 1)) + ": ";
        if (r.timedOut()) {
            return new NativeDemoCommand.Outcome(name, false, what + "timed out", r.output());
        }
        List<String> ok = new ArrayList<>();
        List<String> bad = new ArrayList<>();
        Matcher m = PART.matcher(r.stdout());
        while (m.find()) {
            (m.group(2).equals("verified") ? ok : bad).add(m.group(1));
        }
        if (r.exit() == 0 && bad.isEmpty() && ok.size() == 2) {
            return new NativeDemoCommand.Outcome(name, true, what + step.shows() + " (" + String.join(", ", ok)
                    + ")", r.output());
        }
        return new NativeDemoCommand.Outcome(name, false, what + (r.exit() != 0 ? "exit " + r.exit() + "; " : "")
                + ok.size() + " of 2 parts verified" + (bad.isEmpty() ? "" : "; failed: " + String.join(", ", bad)),
                r.output());
    }

    private static long sessions(FerryHost host, String guest) {
        return host.guests().stream().filter(g -> g.name().equals(guest)).mapToLong(HostViews.GuestView::sessions)
                .sum();
    }
}
