package io.ferry.protocol;

/**
 * The device API's own error code of a failed call (an OpenCL {@code cl_int}, a CUDA {@code CUresult}), carried in
 * result word {@link #RESULT_WORD} of the call's failed completion, or of the sticky report that surfaces it
 * (docs/protocol.md §2.2). A guest library for that API hands the code to its application unchanged, so a program
 * sees {@code CL_IMAGE_FORMAT_NOT_SUPPORTED} or {@code CL_MEM_COPY_OVERLAP} where the device said so, not the nearest
 * Ferry status. The status stays the portable answer; the word is only a refinement.
 *
 * <p>Layout: bits 63–48 the tag {@code 0x4E45} ("NE": a word without it carries no code), bits 47–32 the API, bits
 * 31–0 the code as a two's-complement {@code int32}. A guest checks the tag, the API and that the code is one its API
 * defines before it uses it.
 */
public final class NativeError {
    /** The result word of a failed completion that holds the code. */
    public static final int RESULT_WORD = 3;
    public static final long TAG = 0x4E45L << 48;
    public static final long TAG_MASK = 0xFFFFL << 48;
    /** No native code: the failure is Ferry's own (validation, quota, transport). */
    public static final long NONE = 0;
    public static final int OPENCL = 1;
    public static final int CUDA = 2;
    public static final int NVRTC = 3;

    private NativeError() {
    }

    /** The word for {@code code} of {@code api}. */
    public static long of(int api, int code) {
        return TAG | (long) (api & 0xFFFF) << 32 | (code & 0xFFFF_FFFFL);
    }

    /** The API of a word, or 0 when the word carries no code. */
    public static int api(long word) {
        return (word & TAG_MASK) == TAG ? (int) (word >>> 32) & 0xFFFF : 0;
    }

    /** The code of a word whose {@link #api} is not 0. */
    public static int code(long word) {
        return (int) word;
    }
}
