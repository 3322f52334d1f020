package io.ferry.cli.workload;

import io.ferry.client.Device;
import io.ferry.client.Ferry;

/**
 * An example compute job a guest runs through a Ferry host: it builds its kernels on a device, moves seeded input
 * data through the region heap, launches, reads the result back and checks it against a plain-Java reference.
 */
public interface Workload {

    /** Short name used on the command line: {@code vadd}, {@code matmul}, {@code reduce} or {@code filter}. */
    String name();

    /** The problem size for humans, e.g. {@code "1M floats"} or {@code "256×256×256"}. */
    String size();

    /**
     * Runs the workload once on {@code device}: creates its own context, queue, program, buffers and heap blocks and
     * releases all of them before returning. A {@link io.ferry.client.FerryException} becomes a failed result with
     * the exception's message as detail; any other exception is a bug and propagates.
     */
    WorkloadResult run(Ferry ferry, Device device);
}
