package io.ferry.tee.ta;

import io.ferry.protocol.TeeWire;

/** Return codes a TA answers with (GlobalPlatform values; compile-time constants, so TAs need no other class). */
public final class TaCodes {
    private TaCodes() {
    }

    public static final int SUCCESS = TeeWire.SUCCESS;
    public static final int ERROR_GENERIC = TeeWire.ERROR_GENERIC;
    public static final int ERROR_ACCESS_DENIED = TeeWire.ERROR_ACCESS_DENIED;
    public static final int ERROR_CANCEL = TeeWire.ERROR_CANCEL;
    public static final int ERROR_ACCESS_CONFLICT = TeeWire.ERROR_ACCESS_CONFLICT;
    public static final int ERROR_BAD_FORMAT = TeeWire.ERROR_BAD_FORMAT;
    public static final int ERROR_BAD_PARAMETERS = TeeWire.ERROR_BAD_PARAMETERS;
    public static final int ERROR_BAD_STATE = TeeWire.ERROR_BAD_STATE;
    public static final int ERROR_ITEM_NOT_FOUND = TeeWire.ERROR_ITEM_NOT_FOUND;
    public static final int ERROR_NOT_IMPLEMENTED = TeeWire.ERROR_NOT_IMPLEMENTED;
    public static final int ERROR_NOT_SUPPORTED = TeeWire.ERROR_NOT_SUPPORTED;
    public static final int ERROR_OUT_OF_MEMORY = TeeWire.ERROR_OUT_OF_MEMORY;
    public static final int ERROR_SECURITY = TeeWire.ERROR_SECURITY;
    public static final int ERROR_SHORT_BUFFER = TeeWire.ERROR_SHORT_BUFFER;
    public static final int ERROR_STORAGE_NO_SPACE = TeeWire.ERROR_STORAGE_NO_SPACE;
    public static final int ERROR_MAC_INVALID = TeeWire.ERROR_MAC_INVALID;
    public static final int ERROR_SIGNATURE_INVALID = TeeWire.ERROR_SIGNATURE_INVALID;
    public static final int ERROR_CORRUPT_OBJECT = TeeWire.ERROR_CORRUPT_OBJECT;

    /** Parameter kinds a TA sees ({@link TaParams#type}). */
    public static final int NONE = 0;
    public static final int VALUE_INPUT = 1;
    public static final int VALUE_OUTPUT = 2;
    public static final int VALUE_INOUT = 3;
    public static final int MEMREF_INPUT = 5;
    public static final int MEMREF_OUTPUT = 6;
    public static final int MEMREF_INOUT = 7;
}
