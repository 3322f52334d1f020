package io.ferry.host.config;

import java.util.BitSet;

/** A CPU list as Linux writes it ({@code "0-3,6"}), to and from a {@link BitSet} of CPU numbers. */
public final class CpuList {
    /** CPUs a list may name: 0 to 1023 (glibc's cpu_set_t). */
    public static final int MAX_CPUS = 1024;

    private CpuList() {
    }

    /** @throws HostConfig.ConfigException naming {@code what} and the wrong part */
    public static BitSet parse(String text, String what) {
        BitSet cpus = new BitSet();
        for (String part : text.trim().split(",")) {
            String p = part.trim();
            String[] ends = p.split("-", -1);
            int lo;
            int hi;
            try {
                if (ends.length == 1) {
                    lo = hi = Integer.parseInt(ends[0].trim());
                } else if (ends.length == 2) {
                    lo = Integer.parseInt(ends[0].trim());
                    hi = Integer.parseInt(ends[1].trim());
                } else {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw new HostConfig.ConfigException(what + ": '" + p + "' is not a CPU or a range of CPUs; write a "
                        + "list such as 0-1,3");
            }
            if (lo < 0 || hi >= MAX_CPUS || lo > hi) {
                throw new HostConfig.ConfigException(what + ": '" + p + "' must name CPUs 0.." + (MAX_CPUS - 1)
                        + ", the lower first");
            }
            cpus.set(lo, hi + 1);
        }
        return cpus;
    }

    /** The list in Linux's form: ranges of consecutive CPUs joined by commas. */
    public static String format(BitSet cpus) {
        StringBuilder b = new StringBuilder();
        for (int lo = cpus.nextSetBit(0); lo >= 0; lo = cpus.nextSetBit(lo + 1)) {
            int hi = cpus.nextClearBit(lo) - 1;
            b.append(b.isEmpty() ? "" : ",").append(lo);
            if (hi > lo) {
                b.append('-').append(hi);
            }
            lo = hi;
        }
        return b.toString();
    }
}
