package io.ferry.client;

/** Sizes as the heap's messages write them: {@code 64 MiB}, {@code 1.5 KiB}, {@code 100 bytes}. */
final class HeapFigures {
    private HeapFigures() {
    }

    static String bytes(long n) {
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        if (n < 1024) {
            return n + (n == 1 ? " byte" : " bytes");
        }
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v == Math.rint(v) ? String.valueOf((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v))
                + " " + units[u];
    }

    /** A region size (a power of two, in MiB) whose heap holds a block of {@code size} bytes, with room to spare. */
    static String suggestedRegion(long size) {
        long mib = Math.max(1, (size + (1 << 20) - 1) >> 20);
        long pow = Long.highestOneBit(mib);
        mib = Math.max(64, (pow < mib ? pow << 1 : pow) * 2);
        return mib % 1024 == 0 ? (mib / 1024) + "GiB" : mib + "MiB";
    }
}
