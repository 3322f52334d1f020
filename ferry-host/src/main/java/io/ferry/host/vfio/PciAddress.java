package io.ferry.host.vfio;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PCI function's address (BDF) in the kernel's canonical form {@code DDDD:BB:SS.F} (lower-case hex): the name of its
 * directory under {@code /sys/bus/pci/devices}. {@link #parse} also takes the short form {@code BB:SS.F} (domain 0)
 * and the 8-digit domains CUDA and nvidia-smi print ({@code 00000000:01:00.0}).
 */
public final class PciAddress {
    private static final Pattern BDF = Pattern.compile(
            "(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\\.([0-7])");

    private PciAddress() {
    }

    /** The canonical form of {@code text}; an {@link IllegalArgumentException} that says the form when it is none. */
    public static String parse(String text) {
        String t = text == null ? "" : text.strip();
        Matcher m = BDF.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + t + "' is not a PCI address: give DOMAIN:BUS:SLOT.FUNCTION in hex, "
                    + "e.g. 0000:01:00.0 (as lspci -D prints it)");
        }
        long domain = m.group(1) == null ? 0 : Long.parseLong(m.group(1), 16);
        int bus = Integer.parseInt(m.group(2), 16);
        int slot = Integer.parseInt(m.group(3), 16);
        int function = Integer.parseInt(m.group(4));
        if (domain > 0xffff || slot > 0x1f) {
            throw new IllegalArgumentException("'" + t + "' is not a PCI address: the domain is at most ffff and the "
                    + "slot at most 1f");
        }
        return of((int) domain, bus, slot, function);
    }

    /** The canonical address of these numbers. */
    public static String of(int domain, int bus, int slot, int function) {
        return String.format(Locale.ROOT, "%04x:%02x:%02x.%x", domain, bus, slot, function);
    }

    /** {@code text} in canonical form, or null when it is not an address (for what a driver reports). */
    public static String orNull(String text) {
        try {
            return text == null ? null : parse(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The numbers of a canonical address: domain, bus, slot, function. */
    static int[] numbers(String bdf) {
        String c = parse(bdf);
        return new int[] {Integer.parseInt(c.substring(0, 4), 16), Integer.parseInt(c.substring(5, 7), 16),
                Integer.parseInt(c.substring(8, 10), 16), Integer.parseInt(c.substring(11), 16)};
    }
}
