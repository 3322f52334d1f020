package io.ferry.client;

import io.ferry.protocol.ImageFormats;

/** How a kernel reads an {@link Image} ({@code clCreateSampler}), from {@link Context#createSampler}. */
public final class Sampler extends Remote {
    /** What a coordinate outside the image reads ({@code CL_ADDRESS_*}). */
    public enum Addressing {
        NONE(ImageFormats.CL_ADDRESS_NONE), CLAMP_TO_EDGE(ImageFormats.CL_ADDRESS_CLAMP_TO_EDGE),
        CLAMP(ImageFormats.CL_ADDRESS_CLAMP), REPEAT(ImageFormats.CL_ADDRESS_REPEAT),
        MIRRORED_REPEAT(ImageFormats.CL_ADDRESS_MIRRORED_REPEAT);

        final int code;

        Addressing(int code) {
            this.code = code;
        }
    }

    /** How pixels are combined ({@code CL_FILTER_*}). */
    public enum Filter {
        NEAREST(ImageFormats.CL_FILTER_NEAREST), LINEAR(ImageFormats.CL_FILTER_LINEAR);

        final int code;

        Filter(int code) {
            this.code = code;
        }
    }

    Sampler(Ferry ferry, long handle) {
        super(ferry, handle);
    }
}
