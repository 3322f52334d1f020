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

    /**
     * OpenCL's image types ({@code cl_mem_object_type}). IMAGE_CREATE carries one in bits 32-47 of its depth word
     * (bits 0-31: the depth of a 3D image, the layers of a 2D array); 0 there means the older form, a 2D image at
     * depth 0 and a 3D one at depth 2 or more. A 1D image travels as a 2D image of height 1, a 1D array as a 2D image
     * whose rows are its layers, a 2D array as a 3D image whose slices are its layers: the transfers' origins and
     * regions then mean what OpenCL's do.
     */
    public static final int CL_MEM_OBJECT_IMAGE2D = 0x10F1, CL_MEM_OBJECT_IMAGE3D = 0x10F2,
            CL_MEM_OBJECT_IMAGE2D_ARRAY = 0x10F3, CL_MEM_OBJECT_IMAGE1D = 0x10F4, CL_MEM_OBJECT_IMAGE1D_ARRAY = 0x10F5;
    /** Where the image type starts in IMAGE_CREATE's depth word. */
    public static final int TYPE_SHIFT = 32;

    private ImageFormats() {
    }

    /** IMAGE_CREATE's depth word for an image of {@code type} with {@code depth} (slices or layers, else 0). */
    public static long depthWord(long depth, int type) {
        return (depth & 0xffff_ffffL) | (long) (type & 0xffff) << TYPE_SHIFT;
    }

    /** The image type a depth word names: bits 32-47, or for 0 there (and nothing above), 2D or 3D by depth. */
    public static long imageType(long depthWord) {
        long type = depthWord >>> TYPE_SHIFT;
        if (type != 0) {
            return type; // bits 48-63 stay in: the host refuses such a type
        }
        return (depthWord & 0xffff_ffffL) == 0 ? CL_MEM_OBJECT_IMAGE2D : CL_MEM_OBJECT_IMAGE3D;
    }

    /** The depth or layers a depth word carries (bits 0-31). */
    public static long depth(long depthWord) {
        return depthWord & 0xffff_ffffL;
    }

    /** OpenCL's name of an image type, for messages. */
    public static String typeName(long type) {
        return type == CL_MEM_OBJECT_IMAGE2D ? "2D" : type == CL_MEM_OBJECT_IMAGE3D ? "3D"
                : type == CL_MEM_OBJECT_IMAGE2D_ARRAY ? "2D array" : type == CL_MEM_OBJECT_IMAGE1D ? "1D"
                : type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? "1D array" : "type 0x" + Long.toHexString(type);
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
