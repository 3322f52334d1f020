package io.ferry.protocol;

/**
 * The image formats and sampler settings the wire carries, as OpenCL's own {@code CL_*} values (so a C guest uses
 * cl.h's constants): the common channel orders and types, and their pixel sizes. Anything else is refused.
 */
public final class ImageFormats {
    public static final int CL_R = 0x10B0, CL_RG = 0x10B2, CL_RGBA = 0x10B5, CL_BGRA = 0x10B6;
    public static final int CL_SNORM_INT8 = 0x10D0, CL_SNORM_INT16 = 0x10D1, CL_UNORM_INT8 = 0x10D2,
            CL_UNORM_INT16 = 0x10D3, CL_SIGNED_INT8 = 0x10D7, CL_SIGNED_INT16 = 0x10D8, CL_SIGNED_INT32 = 0x10D9,
            CL_UNSIGNED_INT8 = 0x10DA, CL_UNSIGNED_INT16 = 0x10DB, CL_UNSIGNED_INT32 = 0x10DC, CL_HALF_FLOAT = 0x10DD,
            CL_FLOAT = 0x10DE;
    public static final int CL_ADDRESS_NONE = 0x1130, CL_ADDRESS_CLAMP_TO_EDGE = 0x1131, CL_ADDRESS_CLAMP = 0x1132,
            CL_ADDRESS_REPEAT = 0x1133, CL_ADDRESS_MIRRORED_REPEAT = 0x1134;
    public static final int CL_FILTER_NEAREST = 0x1140, CL_FILTER_LINEAR = 0x1141;

    private ImageFormats() {
    }

    /** Channels of a known channel order, or 0. */
    public static int channels(long order) {
        return order == CL_R ? 1 : order == CL_RG ? 2 : order == CL_RGBA || order == CL_BGRA ? 4 : 0;
    }

    /** Bytes of one channel of a known channel type, or 0. */
    public static int channelBytes(long type) {
        if (type == CL_SNORM_INT8 || type == CL_UNORM_INT8 || type == CL_SIGNED_INT8 || type == CL_UNSIGNED_INT8) {
            return 1;
        }
        if (type == CL_SNORM_INT16 || type == CL_UNORM_INT16 || type == CL_SIGNED_INT16 || type == CL_UNSIGNED_INT16
                || type == CL_HALF_FLOAT) {
            return 2;
        }
        return type == CL_SIGNED_INT32 || type == CL_UNSIGNED_INT32 || type == CL_FLOAT ? 4 : 0;
    }

    /** Bytes of one pixel, or 0 when the order or type is not one of these (BGRA takes 8-bit types only). */
    public static int pixelBytes(long order, long type) {
        if (order == CL_BGRA && channelBytes(type) != 1) {
            return 0;
        }
        return channels(order) * channelBytes(type);
    }

    public static boolean knownAddressing(long mode) {
        return mode >= CL_ADDRESS_NONE && mode <= CL_ADDRESS_MIRRORED_REPEAT;
    }

    public static boolean knownFilter(long mode) {
        return mode == CL_FILTER_NEAREST || mode == CL_FILTER_LINEAR;
    }
}
