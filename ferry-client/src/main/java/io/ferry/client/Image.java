package io.ferry.client;

import io.ferry.protocol.ImageFormats;

/**
 * A 2D or 3D image on the device ({@code clCreateImage}), from {@link Context#createImage}. Kernels read it through
 * a {@link Sampler} ({@code read_imagef}) or write it ({@code write_imagef}); {@link CommandQueue#writeImage} and
 * {@link CommandQueue#readImage} move its pixels. Only devices with image support have images (PoCL's CPU device
 * does); elsewhere creating one fails with {@code UNSUPPORTED}, naming the device.
 */
public final class Image extends Remote {
    /** OpenCL's channel orders that Ferry carries. */
    public enum ChannelOrder {
        R(ImageFormats.CL_R), RG(ImageFormats.CL_RG), RGBA(ImageFormats.CL_RGBA), BGRA(ImageFormats.CL_BGRA);

        final int code;

        ChannelOrder(int code) {
            this.code = code;
        }
    }

    /** OpenCL's channel types that Ferry carries (BGRA takes the 8-bit ones only). */
    public enum ChannelType {
        SNORM_INT8(ImageFormats.CL_SNORM_INT8), SNORM_INT16(ImageFormats.CL_SNORM_INT16),
        UNORM_INT8(ImageFormats.CL_UNORM_INT8), UNORM_INT16(ImageFormats.CL_UNORM_INT16),
        SIGNED_INT8(ImageFormats.CL_SIGNED_INT8), SIGNED_INT16(ImageFormats.CL_SIGNED_INT16),
        SIGNED_INT32(ImageFormats.CL_SIGNED_INT32), UNSIGNED_INT8(ImageFormats.CL_UNSIGNED_INT8),
        UNSIGNED_INT16(ImageFormats.CL_UNSIGNED_INT16), UNSIGNED_INT32(ImageFormats.CL_UNSIGNED_INT32),
        HALF_FLOAT(ImageFormats.CL_HALF_FLOAT), FLOAT(ImageFormats.CL_FLOAT);

        final int code;

        ChannelType(int code) {
            this.code = code;
        }
    }

    /** A pixel format ({@code cl_image_format}). */
    public record Format(ChannelOrder order, ChannelType type) {
        /** Bytes of one pixel; 0 when the pair is not one Ferry carries. */
        public int pixelBytes() {
            return ImageFormats.pixelBytes(order.code, type.code);
        }
    }

    private final Format format;
    private final long width;
    private final long height;
    private final long depth;

    Image(Ferry ferry, long handle, Format format, long width, long height, long depth) {
        super(ferry, handle);
        this.format = format;
        this.width = width;
        this.height = height;
        this.depth = depth;
    }

    /** The pixel format. */
    public Format format() {
        return format;
    }

    /** Width in pixels. */
    public long width() {
        return width;
    }

    /** Height in pixels. */
    public long height() {
        return height;
    }

    /** Slices of a 3D image; 0 for a 2D one. */
    public long depth() {
        return depth;
    }
}
