package io.ferry.client;

import java.util.Arrays;

/** Sizes of a launch in 1 to 3 dimensions. */
public record NDRange(long[] sizes) {
    public NDRange {
        if (sizes.length < 1 || sizes.length > 3) {
            throw new IllegalArgumentException("an NDRange has 1 to 3 dimensions, not " + sizes.length);
        }
        for (long s : sizes) {
            if (s <= 0) {
                throw new IllegalArgumentException("NDRange sizes must be positive: " + Arrays.toString(sizes));
            }
        }
        sizes = sizes.clone();
    }

    public static NDRange of(long x) {
        return new NDRange(new long[] {x});
    }

    public static NDRange of(long x, long y) {
        return new NDRange(new long[] {x, y});
    }

    public static NDRange of(long x, long y, long z) {
        return new NDRange(new long[] {x, y, z});
    }

    public int dimensions() {
        return sizes.length;
    }

    public long get(int i) {
        return i < sizes.length ? sizes[i] : 0;
    }

    @Override
    public String toString() {
        return Arrays.toString(sizes);
    }
}
