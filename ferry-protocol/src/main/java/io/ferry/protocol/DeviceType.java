package io.ferry.protocol;

/** Kinds of compute device; wire values are stable. */
public enum DeviceType {
    CPU(1), GPU(2), ACCELERATOR(3), OTHER(4);

    private final int code;

    DeviceType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static DeviceType of(int code) {
        for (DeviceType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return OTHER;
    }
}
