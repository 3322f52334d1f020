package io.ferry.cuda;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.util.Arrays;

/**
 * OpenCL-style work sizes → CUDA grid and block dimensions. Pure Java.
 *
 * <ul>
 * <li>{@code global} counts work-items (threads) per dimension; {@code local} the threads of a block. The block is
 * {@code local}; the grid is {@code global / local}, and each global size is a multiple of its local size (as
 * in OpenCL; the host checked it, with positive sizes and 1..3 dimensions), so a kernel runs exactly {@code global}
 * threads.</li>
 * <li>No {@code local}: the block is {@code [d, 1, 1]} where {@code d} is the largest divisor of {@code global[0]}
 * that is at most {@link #DEFAULT_BLOCK} (and the kernel's and device's limit). Exactness is kept over speed: a
 * prime global size runs blocks of one thread; pass a local size (and a bounds check in the kernel) to do better.</li>
 * <li>Limits: the threads of a block at most the kernel's {@code CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK}, each
 * block and grid dimension at most the device's; otherwise {@link Status#INVALID_WORK_SIZE}.</li>
 * <li>Dimensions not given are 1.</li>
 * </ul>
 */
record LaunchGeometry(int[] grid, int[] block) {
    static final int DEFAULT_BLOCK = 256;

    /** Device limits: block dimensions, grid dimensions, threads per block. */
    record Limits(int[] maxBlock, int[] maxGrid, int maxThreadsPerBlock) {
    }

    static LaunchGeometry of(String kernel, int dims, long[] global, long[] local, Limits limits, int kernelMaxThreads)
            throws BackendException {
        int maxThreads = Math.min(limits.maxThreadsPerBlock(), kernelMaxThreads > 0 ? kernelMaxThreads : Integer.MAX_VALUE);
        int[] grid = {1, 1, 1};
        int[] block = {1, 1, 1};
        if (local == null) {
            long cap = Math.min(Math.min(DEFAULT_BLOCK, maxThreads), limits.maxBlock()[0]);
            block[0] = (int) largestDivisorAtMost(global[0], cap);
        } else {
            long threads = 1;
            for (int i = 0; i < dims; i++) {
                if (local[i] > limits.maxBlock()[i]) {
                    throw invalid("kernel '" + kernel + "': local size " + local[i] + " in dimension " + i
                            + " exceeds the device's block limit " + limits.maxBlock()[i]);
                }
                block[i] = (int) local[i];
                threads *= local[i];
            }
            if (threads > maxThreads) {
                throw invalid("kernel '" + kernel + "': local size " + Arrays.toString(Arrays.copyOf(local, dims)) + " is "
                        + threads + " threads per block; this kernel allows at most " + maxThreads);
            }
        }
        for (int i = 0; i < dims; i++) {
            long g = global[i] / block[i];
            if (g > limits.maxGrid()[i]) {
                throw invalid("kernel '" + kernel + "': global size " + global[i] + " in dimension " + i + " needs " + g
                        + " blocks of " + block[i] + "; the device allows " + limits.maxGrid()[i]);
            }
            grid[i] = (int) g;
        }
        return new LaunchGeometry(grid, block);
    }

    /** The largest divisor of {@code n} that is at most {@code cap} (at least 1). */
    static long largestDivisorAtMost(long n, long cap) {
        for (long d = Math.min(n, cap); d > 1; d--) {
            if (n % d == 0) {
                return d;
            }
        }
        return 1;
    }

    /**
     * A stream priority for a Ferry priority hint (0 normal, positive higher, negative lower), within the context's
     * range {@code [greatest, least]} from {@code cuCtxGetStreamPriorityRange} (numerically, greatest ≤ least; CUDA's
     * default priority is {@code least}). Normal and lower map to {@code least} (CUDA has nothing below the default);
     * higher hints step towards {@code greatest}, one level per unit, clamped.
     */
    static int streamPriority(int hint, int least, int greatest) {
        if (hint <= 0) {
            return least;
        }
        long p = (long) least - hint;
        return (int) Math.max(p, greatest);
    }

    private static BackendException invalid(String message) {
        return new BackendException(Status.INVALID_WORK_SIZE, message);
    }

    /**
     * The dynamic shared memory a launch needs the kernel to be allowed: {@code dynamic} when it is more than the
     * kernel's current {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES} ({@code allowed}; 48 KiB less its
     * static shared memory until a kernel opts in), else -1 (nothing to change). A block's static and dynamic shared
     * memory together may not exceed the device's opt-in limit {@code optIn}: {@link Status#INVALID_KERNEL_ARGS}.
     */
    static int sharedOptIn(String kernel, long staticBytes, long dynamic, long optIn, long allowed)
            throws BackendException {
        if (staticBytes + dynamic > optIn) {
            throw new BackendException(Status.INVALID_KERNEL_ARGS, "kernel '" + kernel + "': its local arguments need "
                    + dynamic + " bytes of shared memory" + (staticBytes > 0 ? " beside its own " + staticBytes : "")
                    + "; the device allows " + optIn + " per block" + (staticBytes > 0 ? " in all" : "")
                    + ": ask for at most " + Math.max(0, optIn - staticBytes) + " bytes");
        }
        return dynamic > allowed ? (int) dynamic : -1;
    }
}
