package io.ferry.opencl;

import io.ferry.spi.DeviceInfo;

/**
 * One discovered OpenCL device: its native ids, the OpenCL version the queue API depends on, and what is reported.
 *
 * @param platform       the {@code cl_platform_id}
 * @param id             the {@code cl_device_id}
 * @param clMajor        the lower of the platform's and device's OpenCL major versions
 * @param priorityHints  whether the device has {@code cl_khr_priority_hints}
 * @param info           what the host is told
 */
record ClDevice(long platform, long id, int clMajor, boolean priorityHints, DeviceInfo info) {

    /** The major version in an OpenCL version string {@code "OpenCL <major>.<minor> <vendor info>"}, or 1. */
    static int majorVersion(String version) {
        if (version == null || !version.startsWith("OpenCL ")) {
            return 1;
        }
        int start = 7;
        int end = start;
        while (end < version.length() && Character.isDigit(version.charAt(end))) {
            end++;
        }
        return end == start ? 1 : Integer.parseInt(version.substring(start, end));
    }
}
