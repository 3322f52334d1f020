package io.ferry.opencl;

import io.ferry.spi.DeviceObject;

/** A native OpenCL object held by a session under a client handle. */
abstract sealed class ClObject extends DeviceObject {
    final long ptr;

    ClObject(long ptr) {
        this.ptr = ptr;
    }

    abstract OpenCL.Release kind();

    /** Order of release when a session closes: lower first. */
    abstract int closeOrder();

    static final class Context extends ClObject {
        final ClDevice device;

        Context(long ptr, ClDevice device) {
            super(ptr);
            this.device = device;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.CONTEXT;
        }

        @Override
        int closeOrder() {
            return 5;
        }
    }

    static final class Queue extends ClObject {
        final Context context;
        final boolean profiling;

        Queue(long ptr, Context context, boolean profiling) {
            super(ptr);
            this.context = context;
            this.profiling = profiling;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.QUEUE;
        }

        @Override
        int closeOrder() {
            return 4;
        }
    }

    static final class Buffer extends ClObject {
        final Context context;
        final long size;
        final boolean heapBacked;
        /** A sub-buffer's parent; null for a buffer of its own memory. */
        final Buffer parent;
        /** Live sub-buffers of this buffer: its memory is counted until the last is released (OpenCL keeps it). */
        int subBuffers;

        Buffer(long ptr, Context context, long size, boolean heapBacked) {
            this(ptr, context, size, heapBacked, null);
        }

        Buffer(long ptr, Context context, long size, boolean heapBacked, Buffer parent) {
            super(ptr);
            this.context = context;
            this.size = size;
            this.heapBacked = heapBacked;
            this.parent = parent;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.MEM;
        }

        @Override
        int closeOrder() {
            return 3;
        }
    }

    static final class Image extends ClObject {
        final Context context;
        final long bytes;
        final int pixel;
        /** OpenCL's image type (ImageFormats.CL_MEM_OBJECT_IMAGE*). */
        final int type;

        Image(long ptr, Context context, long bytes, int pixel, int type) {
            super(ptr);
            this.context = context;
            this.bytes = bytes;
            this.pixel = pixel;
            this.type = type;
        }

        /**
         * The slice pitch OpenCL's transfers take, given the host's resolved pitches: 0 for a 1D or 2D image (the
         * specification requires it), the layer stride for a 1D array (whose layers the host addresses as rows).
         */
        long slicePitch(long rowPitch, long slicePitch) {
            return switch (type) {
                case io.ferry.protocol.ImageFormats.CL_MEM_OBJECT_IMAGE1D_ARRAY -> rowPitch;
                case io.ferry.protocol.ImageFormats.CL_MEM_OBJECT_IMAGE3D,
                     io.ferry.protocol.ImageFormats.CL_MEM_OBJECT_IMAGE2D_ARRAY -> slicePitch;
                default -> 0;
            };
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.MEM;
        }

        @Override
        int closeOrder() {
            return 3;
        }
    }

    static final class Sampler extends ClObject {
        final Context context;

        Sampler(long ptr, Context context) {
            super(ptr);
            this.context = context;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.SAMPLER;
        }

        @Override
        int closeOrder() {
            return 3;
        }
    }

    static final class Program extends ClObject {
        final Context context;

        Program(long ptr, Context context) {
            super(ptr);
            this.context = context;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.PROGRAM;
        }

        @Override
        int closeOrder() {
            return 2;
        }
    }

    static final class Kernel extends ClObject {
        final Context context;
        final KernelArgs args;

        Kernel(long ptr, Context context, KernelArgs args) {
            super(ptr);
            this.context = context;
            this.args = args;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.KERNEL;
        }

        @Override
        int closeOrder() {
            return 1;
        }
    }

    static final class Event extends ClObject {
        final boolean profiling;
        /** A user event (clCreateUserEvent), and whether its status was set (it is set once). */
        final boolean user;
        boolean userSet;

        Event(long ptr, boolean profiling) {
            this(ptr, profiling, false);
        }

        Event(long ptr, boolean profiling, boolean user) {
            super(ptr);
            this.profiling = profiling;
            this.user = user;
        }

        @Override
        OpenCL.Release kind() {
            return OpenCL.Release.EVENT;
        }

        @Override
        int closeOrder() {
            return 0;
        }
    }
}
