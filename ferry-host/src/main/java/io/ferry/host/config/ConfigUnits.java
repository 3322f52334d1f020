package io.ferry.host.config;

/** The config's units as text: durations ("16.667ms", "2s") and sizes ("64MiB"), read and written as the file has them. */
public final class ConfigUnits {
    private ConfigUnits() {
    }

    /** "16.667ms", "500us", "2s", "1500000ns" → nanoseconds. */
    public static long parseDuration(String text, String what) {
        return ConfigYaml.parseDuration(text, what);
    }

    /** A limit: a duration as {@link #parseDuration}, or 0 for "off", "0" or "0s" (no limit). */
    public static long parseLimit(String text, String what) {
        return ConfigYaml.durationOrOff(text, what);
    }

    /** Nanoseconds as the shortest exact duration text ("2s", "16.667ms", "1500ns"). */
    public static String formatDuration(long nanos) {
        return ConfigYaml.formatDuration(nanos);
    }

    /** "64MiB", "1GiB", "65536", "4k" → bytes. */
    public static long parseSize(String text, String what) {
        return ConfigYaml.parseSize(text, what);
    }

    /** Bytes as the shortest exact size text ("64MiB", "4KiB", "1000"). */
    public static String formatSize(long bytes) {
        return ConfigYaml.formatSize(bytes);
    }
}
