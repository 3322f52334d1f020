package io.ferry.cli.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the guest said on its serial console, as far as {@code ./ferry vm-demo} cares: the {@code vm-init:} lines of
 * {@code tools/vm/init} and the {@code vm-guest:} lines of {@link VmGuest}. Lines arrive with the firmware's and
 * the kernel's terminal escapes mixed in, so a marker is looked for anywhere in a line, after escapes are removed.
 * Not thread-safe: one reader feeds it.
 */
final class SerialLog {
    static final String INIT = "vm-init: ";

    private static final Pattern ESCAPES = Pattern.compile("\u001b(\\[[0-9;?]*[A-Za-z]|[@-Z\\\\-_]|c)|\r");
    private static final Pattern UP = Pattern.compile("vm-init: up ([0-9.]+) s");
    private static final Pattern RESULT = Pattern.compile("vm-guest: result (\\S+) (verified|FAILED)\\b.*");
    private static final Pattern EXITED = Pattern.compile("vm-init: guest exited with status (-?[0-9]+)");

    private final List<String> guestLines = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    private double upAtSeconds = Double.NaN;
    private double guestUptimeAtInit = Double.NaN;
    private double doneAtSeconds = Double.NaN;
    private int verified;
    private int failed;
    private boolean done;
    private int guestExit = Integer.MIN_VALUE;

    /**
     * Takes one line of serial output seen {@code atSeconds} after QEMU started; returns the Ferry line in it
     * ({@code vm-init: ...} or {@code vm-guest: ...}, escapes removed) or null when it holds none.
     */
    String accept(String raw, double atSeconds) {
        String line = clean(raw);
        int at = markerIndex(line);
        if (at < 0) {
            return null;
        }
        String msg = line.substring(at).strip();
        guestLines.add(msg);
        Matcher m;
        if ((m = UP.matcher(msg)).lookingAt() && Double.isNaN(upAtSeconds)) {
            upAtSeconds = atSeconds;
            guestUptimeAtInit = Double.parseDouble(m.group(1));
        } else if ((m = RESULT.matcher(msg)).matches()) {
            if (m.group(2).equals("verified")) {
                verified++;
            } else {
                failed++;
                failures.add(msg);
            }
        } else if (msg.startsWith(VmGuest.PREFIX + "done ")) {
            done = true;
            doneAtSeconds = atSeconds;
        } else if ((m = EXITED.matcher(msg)).lookingAt()) {
            guestExit = Integer.parseInt(m.group(1));
            if (Double.isNaN(doneAtSeconds)) {
                doneAtSeconds = atSeconds;
            }
        } else if (msg.startsWith(VmGuest.PREFIX + "error:")) {
            failures.add(msg);
        }
        return msg;
    }

    static String clean(String raw) {
        return ESCAPES.matcher(raw).replaceAll("");
    }

    private static int markerIndex(String line) {
        int a = line.indexOf(INIT);
        int b = line.indexOf(VmGuest.PREFIX);
        if (a < 0) {
            return b;
        }
        return b < 0 ? a : Math.min(a, b);
    }

    /** Whether init reached user space (its first line). */
    boolean booted() {
        return !Double.isNaN(upAtSeconds);
    }

    /** Seconds from QEMU's start to init's first line (host clock); NaN before. */
    double bootSeconds() {
        return upAtSeconds;
    }

    /** The guest kernel's uptime when init printed its first line; NaN before. */
    double guestUptimeAtInit() {
        return guestUptimeAtInit;
    }

    /** Seconds from init's first line to the guest program's end (host clock); NaN before. */
    double runSeconds() {
        return doneAtSeconds - upAtSeconds;
    }

    int verified() {
        return verified;
    }

    int failed() {
        return failed;
    }

    /** Whether the guest program printed its final line. */
    boolean done() {
        return done;
    }

    /** The guest program's exit status as init reported it, or {@link Integer#MIN_VALUE} before. */
    int guestExit() {
        return guestExit;
    }

    /** Every Ferry line seen, in order. */
    List<String> guestLines() {
        return List.copyOf(guestLines);
    }

    /** The FAILED and error lines seen. */
    List<String> failures() {
        return List.copyOf(failures);
    }
}
