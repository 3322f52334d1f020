package io.ferry.protocol;

/**
 * Status codes carried in completions and in exceptions on both sides. Each code has a stable wire value, a
 * short human message and a hint that says what to do about it. Values are part of the protocol: never renumber.
 */
public enum Status {
    OK(0, "success", ""),
    INVALID_ARGUMENT(1, "invalid argument", "check the arguments of the call against the API documentation"),
    UNKNOWN_HANDLE(2, "unknown handle", "the object was never created in this session or was already released"),
    WRONG_HANDLE_KIND(3, "handle names an object of another kind", "pass an object of the kind the call expects"),
    HANDLE_IN_USE(4, "handle already in use", "client handles must be unique within a session"),
    OUT_OF_RANGE(5, "range outside the object", "keep offset + size within the buffer's size"),
    HEAP_RANGE(6, "range outside the guest heap", "pass memory allocated from the connection's heap"),
    BUILD_FAILED(7, "program build failed", "read the build log in the message and fix the source"),
    KERNEL_NOT_FOUND(8, "kernel not found in program", "check the kernel name against the program source"),
    INVALID_KERNEL_ARGS(9, "invalid kernel arguments", "set every kernel argument with the kind the kernel declares"),
    INVALID_WORK_SIZE(10, "invalid work size", "keep each work-group within the maximum the message names and each "
            + "global size a multiple of its local size"),
    OUT_OF_DEVICE_MEMORY(11, "out of device memory", "release buffers or ask for less"),
    DEVICE_ERROR(12, "device error", "the backend reported an error; the message names the native call"),
    NO_DEVICE(13, "no such device", "list the host's devices with ./ferry status or Ferry.devices()"),
    UNSUPPORTED(14, "not supported by this device", "choose a device that supports the feature"),
    QUOTA_EXCEEDED(15, "quota exceeded", "release objects or ask the operator to raise the guest's quota"),
    PROTOCOL_VIOLATION(16, "protocol violation", "the session was closed; the guest library or region is corrupt"),
    VERSION_MISMATCH(17, "protocol or layout version mismatch", "use a guest library of the host's version"),
    NOT_CONFIGURED(18, "guest not configured", "add the guest with ./ferry guest add NAME, or check the name"),
    HOST_UNAVAILABLE(19, "host unavailable", "start the host (./ferry host) and reconnect"),
    SESSION_CLOSED(20, "session closed", "the host closed this session; reconnect"),
    BAD_CREDENTIAL(21, "region credential refused", "the region is stale or not this guest's; re-provision it"),
    DEVICE_LOST(22, "device work of this guest ended", "the guest's device context died; reconnect to start anew"),
    TIMEOUT(23, "timed out", "the host did not answer in time"),
    INTERNAL(24, "internal host error", "report this; the host log has the details"),
    NOT_GRANTED(25, "service not granted to this guest", "the operator grants it: add the service to the guest's "
            + "services in the host's ferry.yaml, then reload the host");

    private static final Status[] BY_CODE;

    static {
        Status[] values = values();
        BY_CODE = new Status[values.length];
        for (Status s : values) {
            BY_CODE[s.code] = s;
        }
    }

    private final int code;
    private final String message;
    private final String hint;

    Status(int code, String message, String hint) {
        this.code = code;
        this.message = message;
        this.hint = hint;
    }

    /** The wire value. */
    public int code() {
        return code;
    }

    /** A short human description. */
    public String message() {
        return message;
    }

    /** What to do about it. */
    public String hint() {
        return hint;
    }

    /** The status for a wire value; unknown values map to {@link #INTERNAL} rather than failing. */
    public static Status of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : INTERNAL;
    }
}
