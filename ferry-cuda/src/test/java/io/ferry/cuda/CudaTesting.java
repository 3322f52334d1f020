package io.ferry.cuda;

import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;

/** What the CUDA tests look at inside a session or assume of a device; none of it is needed in production. */
final class CudaTesting {
    /** The limits of current NVIDIA GPUs (compute capability ≥ 3.0). */
    static final LaunchGeometry.Limits TYPICAL_LIMITS = new LaunchGeometry.Limits(new int[] {1024, 1024, 64},
            new int[] {Integer.MAX_VALUE, 65535, 65535}, 1024);

    private CudaTesting() {
    }

    /** The device address of a buffer of {@code session} (isolation checks hand it to another guest's kernel). */
    static long devicePointer(CudaSession session, long buffer) throws BackendException {
        return session.object(buffer, CuObject.Buffer.class).dptr;
    }

    /** Whether the guest's heap is registered in the device context behind context handle {@code context}. */
    static boolean heapRegistered(CudaSession session, long context) throws BackendException {
        return session.object(context, CuObject.Context.class).dc.heapRegistered;
    }

    /**
     * Pops the calling thread's current CUDA context: {@code CUDA_SUCCESS} (0) when the thread's context stack held
     * one, {@code CUDA_ERROR_INVALID_CONTEXT} (201) when it was empty.
     */
    static int popCurrentContext() {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            return Cuda.ctxPopCurrent(a.allocate(8));
        }
    }

    /** Whether a fault ended the session's device work: every call then answers {@link Status#DEVICE_LOST}. */
    static boolean isLost(CudaSession session) {
        try {
            session.release(Long.MIN_VALUE + 12345); // a handle no test uses: fails either way, saying why
            return false;
        } catch (BackendException e) {
            return e.status() == Status.DEVICE_LOST;
        }
    }
}
