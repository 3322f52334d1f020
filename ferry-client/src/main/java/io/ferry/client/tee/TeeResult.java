package io.ferry.client.tee;

import io.ferry.protocol.TeeWire;

/**
 * GlobalPlatform TEE Client API return codes and return origins, with their names.
 *
 * @param code   the TEEC return code
 * @param origin where it came from: {@link #ORIGIN_API}, {@link #ORIGIN_COMMS}, {@link #ORIGIN_TEE},
 *               {@link #ORIGIN_TRUSTED_APP}
 */
public record TeeResult(int code, int origin) {
    public static final int SUCCESS = TeeWire.SUCCESS;
    public static final int ERROR_GENERIC = TeeWire.ERROR_GENERIC;
    public static final int ERROR_ACCESS_DENIED = TeeWire.ERROR_ACCESS_DENIED;
    public static final int ERROR_CANCEL = TeeWire.ERROR_CANCEL;
    public static final int ERROR_ACCESS_CONFLICT = TeeWire.ERROR_ACCESS_CONFLICT;
    public static final int ERROR_EXCESS_DATA = TeeWire.ERROR_EXCESS_DATA;
    public static final int ERROR_BAD_FORMAT = TeeWire.ERROR_BAD_FORMAT;
    public static final int ERROR_BAD_PARAMETERS = TeeWire.ERROR_BAD_PARAMETERS;
    public static final int ERROR_BAD_STATE = TeeWire.ERROR_BAD_STATE;
    public static final int ERROR_ITEM_NOT_FOUND = TeeWire.ERROR_ITEM_NOT_FOUND;
    public static final int ERROR_NOT_IMPLEMENTED = TeeWire.ERROR_NOT_IMPLEMENTED;
    public static final int ERROR_NOT_SUPPORTED = TeeWire.ERROR_NOT_SUPPORTED;
    public static final int ERROR_NO_DATA = TeeWire.ERROR_NO_DATA;
    public static final int ERROR_OUT_OF_MEMORY = TeeWire.ERROR_OUT_OF_MEMORY;
    public static final int ERROR_BUSY = TeeWire.ERROR_BUSY;
    public static final int ERROR_COMMUNICATION = TeeWire.ERROR_COMMUNICATION;
    public static final int ERROR_SECURITY = TeeWire.ERROR_SECURITY;
    public static final int ERROR_SHORT_BUFFER = TeeWire.ERROR_SHORT_BUFFER;
    public static final int ERROR_EXTERNAL_CANCEL = TeeWire.ERROR_EXTERNAL_CANCEL;
    public static final int ERROR_TARGET_DEAD = TeeWire.ERROR_TARGET_DEAD;
    public static final int ERROR_STORAGE_NOT_AVAILABLE = TeeWire.ERROR_STORAGE_NOT_AVAILABLE;
    public static final int ERROR_STORAGE_NO_SPACE = TeeWire.ERROR_STORAGE_NO_SPACE;
    public static final int ERROR_MAC_INVALID = TeeWire.ERROR_MAC_INVALID;
    public static final int ERROR_SIGNATURE_INVALID = TeeWire.ERROR_SIGNATURE_INVALID;
    /** A sealed object was rolled back (GP Internal Core API TEE_ERROR_CORRUPT_OBJECT, passed through by a TA). */
    public static final int ERROR_CORRUPT_OBJECT = TeeWire.ERROR_CORRUPT_OBJECT;

    public static final int ORIGIN_API = TeeWire.ORIGIN_API;
    public static final int ORIGIN_COMMS = TeeWire.ORIGIN_COMMS;
    public static final int ORIGIN_TEE = TeeWire.ORIGIN_TEE;
    public static final int ORIGIN_TRUSTED_APP = TeeWire.ORIGIN_TRUSTED_APP;

    public boolean ok() {
        return code == SUCCESS;
    }

    /** The GP name of a return code, e.g. {@code TEEC_ERROR_SHORT_BUFFER}, or its hex value. */
    public static String codeName(int code) {
        return switch (code) {
            case SUCCESS -> "TEEC_SUCCESS";
            case ERROR_GENERIC -> "TEEC_ERROR_GENERIC";
            case ERROR_ACCESS_DENIED -> "TEEC_ERROR_ACCESS_DENIED";
            case ERROR_CANCEL -> "TEEC_ERROR_CANCEL";
            case ERROR_ACCESS_CONFLICT -> "TEEC_ERROR_ACCESS_CONFLICT";
            case ERROR_EXCESS_DATA -> "TEEC_ERROR_EXCESS_DATA";
            case ERROR_BAD_FORMAT -> "TEEC_ERROR_BAD_FORMAT";
            case ERROR_BAD_PARAMETERS -> "TEEC_ERROR_BAD_PARAMETERS";
            case ERROR_BAD_STATE -> "TEEC_ERROR_BAD_STATE";
            case ERROR_ITEM_NOT_FOUND -> "TEEC_ERROR_ITEM_NOT_FOUND";
            case ERROR_NOT_IMPLEMENTED -> "TEEC_ERROR_NOT_IMPLEMENTED";
            case ERROR_NOT_SUPPORTED -> "TEEC_ERROR_NOT_SUPPORTED";
            case ERROR_NO_DATA -> "TEEC_ERROR_NO_DATA";
            case ERROR_OUT_OF_MEMORY -> "TEEC_ERROR_OUT_OF_MEMORY";
            case ERROR_BUSY -> "TEEC_ERROR_BUSY";
            case ERROR_COMMUNICATION -> "TEEC_ERROR_COMMUNICATION";
            case ERROR_SECURITY -> "TEEC_ERROR_SECURITY";
            case ERROR_SHORT_BUFFER -> "TEEC_ERROR_SHORT_BUFFER";
            case ERROR_EXTERNAL_CANCEL -> "TEEC_ERROR_EXTERNAL_CANCEL";
            case ERROR_TARGET_DEAD -> "TEEC_ERROR_TARGET_DEAD";
            case ERROR_STORAGE_NOT_AVAILABLE -> "TEEC_ERROR_STORAGE_NOT_AVAILABLE";
            case ERROR_STORAGE_NO_SPACE -> "TEEC_ERROR_STORAGE_NO_SPACE";
            case ERROR_MAC_INVALID -> "TEEC_ERROR_MAC_INVALID";
            case ERROR_SIGNATURE_INVALID -> "TEEC_ERROR_SIGNATURE_INVALID";
            case ERROR_CORRUPT_OBJECT -> "TEE_ERROR_CORRUPT_OBJECT";
            default -> "0x" + Integer.toHexString(code);
        };
    }

    public static String originName(int origin) {
        return switch (origin) {
            case ORIGIN_API -> "TEEC_ORIGIN_API";
            case ORIGIN_COMMS -> "TEEC_ORIGIN_COMMS";
            case ORIGIN_TEE -> "TEEC_ORIGIN_TEE";
            case ORIGIN_TRUSTED_APP -> "TEEC_ORIGIN_TRUSTED_APP";
            default -> "origin " + origin;
        };
    }

    @Override
    public String toString() {
        return codeName(code) + " (" + originName(origin) + ")";
    }
}
