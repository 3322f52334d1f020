package io.ferry.protocol;

/** Languages a program source may be written in; each device lists those it accepts. Wire values are stable. */
public enum SourceLanguage {
    OPENCL_C(1), CUDA_C(2), PTX(3);

    private final int code;

    SourceLanguage(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The language for a wire value, or null when unknown. */
    public static SourceLanguage of(int code) {
        for (SourceLanguage l : values()) {
            if (l.code == code) {
                return l;
            }
        }
        return null;
    }
}
