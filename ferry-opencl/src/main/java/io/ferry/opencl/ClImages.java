package io.ferry.opencl;

import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;

/** What the OpenCL session's image calls share: the device's image support, access flags, descriptions. */
final class ClImages {
    private ClImages() {
    }

    /** Throws UNSUPPORTED naming the device when it (or the library) has no images. */
    static void checkSupport(ClDevice device, String what) throws BackendException {
        if (!ClMemory.imagesAvailable()) {
            throw new BackendException(Status.UNSUPPORTED, "this OpenCL library lacks clCreateImage or "
                    + "clCreateSampler (OpenCL 1.2): no " + what + "; use buffers");
        }
        if (OpenCL.infoNumber(OpenCL.Info.DEVICE, device.id(), ClMemory.CL_DEVICE_IMAGE_SUPPORT, 4, 0) == 0) {
            throw new BackendException(Status.UNSUPPORTED, "device '" + device.info().name()
                    + "' has no image support (CL_DEVICE_IMAGE_SUPPORT is false): no " + what
                    + "; use buffers, or a device that has images");
        }
    }

    static long flags(int accessFlags) {
        return switch (accessFlags) {
            case 1 -> OpenCL.CL_MEM_READ_ONLY;
            case 2 -> OpenCL.CL_MEM_WRITE_ONLY;
            default -> OpenCL.CL_MEM_READ_WRITE;
        };
    }

    static String describe(long width, long height, long depth, int order, int type) {
        return width + " x " + height + (depth == 0 ? "" : " x " + depth) + " pixels, channel order 0x"
                + Integer.toHexString(order) + ", channel type 0x" + Integer.toHexString(type)
                + " (the device may not support this format: see clGetSupportedImageFormats)";
    }
}
