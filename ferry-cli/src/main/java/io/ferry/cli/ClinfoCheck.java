package io.ferry.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rule {@code ./ferry native-demo} holds Debian's {@code clinfo} output to (docs/opencl-icd.md, "clinfo"):
 * <ul>
 *   <li>clinfo exits 0 (it exits non-zero when a call it cannot do without fails, e.g. clGetPlatformIDs);</li>
 *   <li>it lists a platform whose name starts with {@code Ferry}, with at least one device, each with a name;</li>
 *   <li>every query clinfo reports as failed ({@code <function:line: get CL_X : error N>}) fails the check, except
 *       a {@code CL_INVALID_VALUE} (-30) answer to a parameter outside OpenCL 1.2's core platform, device and
 *       context queries (an extension's or a later version's): the specification lets a 1.2 implementation reject
 *       those, and clinfo asks some of them of any platform. A failed core 1.2 query, any other error code, and a
 *       "size mismatch" (the ICD answered a different size than the parameter has) all fail it.</li>
 * </ul>
 * Error lines are counted over the whole output (with one platform there is no other to blame).
 */
final class ClinfoCheck {
    private ClinfoCheck() {
    }

    /** The verdict and a one-line summary (tolerated and failing queries named). */
    record Verdict(boolean ok, String detail) {
    }

    /** OpenCL 1.2's core platform, device and context query names (CL/cl.h with CL_TARGET_OPENCL_VERSION 120). */
    static final Set<String> CORE_12 = Set.of("CL_PLATFORM_PROFILE", "CL_PLATFORM_VERSION", "CL_PLATFORM_NAME",
            "CL_PLATFORM_VENDOR", "CL_PLATFORM_EXTENSIONS", "CL_DEVICE_TYPE", "CL_DEVICE_VENDOR_ID",
            "CL_DEVICE_MAX_COMPUTE_UNITS", "CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS", "CL_DEVICE_MAX_WORK_GROUP_SIZE",
            "CL_DEVICE_MAX_WORK_ITEM_SIZES", "CL_DEVICE_PREFERRED_VECTOR_WIDTH_CHAR",
            "CL_DEVICE_PREFERRED_VECTOR_WIDTH_SHORT", "CL_DEVICE_PREFERRED_VECTOR_WIDTH_INT",
            "CL_DEVICE_PREFERRED_VECTOR_WIDTH_LONG", "CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT",
            "CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE", "CL_DEVICE_PREFERRED_VECTOR_WIDTH_HALF",
            "CL_DEVICE_MAX_CLOCK_FREQUENCY", "CL_DEVICE_ADDRESS_BITS", "CL_DEVICE_MAX_READ_IMAGE_ARGS",
            "CL_DEVICE_MAX_WRITE_IMAGE_ARGS", "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "CL_DEVICE_IMAGE2D_MAX_WIDTH",
            "CL_DEVICE_IMAGE2D_MAX_HEIGHT", "CL_DEVICE_IMAGE3D_MAX_WIDTH", "CL_DEVICE_IMAGE3D_MAX_HEIGHT",
            "CL_DEVICE_IMAGE3D_MAX_DEPTH", "CL_DEVICE_IMAGE_SUPPORT", "CL_DEVICE_MAX_PARAMETER_SIZE",
            "CL_DEVICE_MAX_SAMPLERS", "CL_DEVICE_MEM_BASE_ADDR_ALIGN", "CL_DEVICE_MIN_DATA_TYPE_ALIGN_SIZE",
            "CL_DEVICE_SINGLE_FP_CONFIG", "CL_DEVICE_GLOBAL_MEM_CACHE_TYPE", "CL_DEVICE_GLOBAL_MEM_CACHELINE_SIZE",
            "CL_DEVICE_GLOBAL_MEM_CACHE_SIZE", "CL_DEVICE_GLOBAL_MEM_SIZE", "CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE",
            "CL_DEVICE_MAX_CONSTANT_ARGS", "CL_DEVICE_LOCAL_MEM_TYPE", "CL_DEVICE_LOCAL_MEM_SIZE",
            "CL_DEVICE_ERROR_CORRECTION_SUPPORT", "CL_DEVICE_PROFILING_TIMER_RESOLUTION", "CL_DEVICE_ENDIAN_LITTLE",
            "CL_DEVICE_AVAILABLE", "CL_DEVICE_COMPILER_AVAILABLE", "CL_DEVICE_EXECUTION_CAPABILITIES",
            "CL_DEVICE_QUEUE_PROPERTIES", "CL_DEVICE_NAME", "CL_DEVICE_VENDOR", "CL_DRIVER_VERSION",
            "CL_DEVICE_PROFILE", "CL_DEVICE_VERSION", "CL_DEVICE_EXTENSIONS", "CL_DEVICE_PLATFORM",
            "CL_DEVICE_DOUBLE_FP_CONFIG", "CL_DEVICE_HOST_UNIFIED_MEMORY", "CL_DEVICE_NATIVE_VECTOR_WIDTH_CHAR",
            "CL_DEVICE_NATIVE_VECTOR_WIDTH_SHORT", "CL_DEVICE_NATIVE_VECTOR_WIDTH_INT",
            "CL_DEVICE_NATIVE_VECTOR_WIDTH_LONG", "CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT",
            "CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE", "CL_DEVICE_NATIVE_VECTOR_WIDTH_HALF",
            "CL_DEVICE_OPENCL_C_VERSION", "CL_DEVICE_LINKER_AVAILABLE", "CL_DEVICE_BUILT_IN_KERNELS",
            "CL_DEVICE_IMAGE_MAX_BUFFER_SIZE", "CL_DEVICE_IMAGE_MAX_ARRAY_SIZE", "CL_DEVICE_PARENT_DEVICE",
            "CL_DEVICE_PARTITION_MAX_SUB_DEVICES", "CL_DEVICE_PARTITION_PROPERTIES",
            "CL_DEVICE_PARTITION_AFFINITY_DOMAIN", "CL_DEVICE_PARTITION_TYPE", "CL_DEVICE_REFERENCE_COUNT",
            "CL_DEVICE_PREFERRED_INTEROP_USER_SYNC", "CL_DEVICE_PRINTF_BUFFER_SIZE", "CL_CONTEXT_REFERENCE_COUNT",
            "CL_CONTEXT_DEVICES", "CL_CONTEXT_PROPERTIES", "CL_CONTEXT_NUM_DEVICES", "CL_CONTEXT_PLATFORM",
            "CL_CONTEXT_INTEROP_USER_SYNC");

    static final int CL_INVALID_VALUE = -30;
    private static final Pattern QUERY_ERROR = Pattern.compile("<([^<>]*): error (-?\\d+)>");
    private static final Pattern SIZE_MISMATCH = Pattern.compile("<[^<>]*size mismatch[^<>]*>");
    private static final Pattern PARAM = Pattern.compile("\\bCL_[A-Z0-9_]+\\b");
    private static final Pattern PLATFORMS = Pattern.compile("(?m)^Number of platforms\\s+(\\d+)\\s*$");
    private static final Pattern DEVICES = Pattern.compile("(?m)^Number of devices\\s+(\\d+)\\s*$");
    private static final Pattern DEVICE_NAME = Pattern.compile("(?m)^\\s+Device Name\\s+(\\S.*)$");

    static Verdict check(int exit, String stdout, String platform) {
        List<String> problems = new ArrayList<>();
        if (exit != 0) {
            problems.add("clinfo exited with " + exit);
        }
        Matcher pm = PLATFORMS.matcher(stdout);
        int platforms = pm.find() ? Integer.parseInt(pm.group(1)) : 0;
        boolean named = Pattern.compile("(?m)^\\s+Platform Name\\s+" + Pattern.quote(platform) + "\\b").matcher(stdout)
                .find();
        if (!named) {
            problems.add("no platform named " + platform + " (" + platforms + " platform(s) listed)");
        }
        Matcher dm = DEVICES.matcher(stdout);
        int devices = dm.find() ? Integer.parseInt(dm.group(1)) : 0;
        List<String> names = new ArrayList<>();
        Matcher nm = DEVICE_NAME.matcher(stdout);
        while (nm.find()) {
            // clinfo prints each device's name once in its list, and again under "NULL platform behavior"
            String n = nm.group(1).strip();
            if (!names.contains(n)) {
                names.add(n);
            }
        }
        if (devices < 1) {
            problems.add("no device listed");
        } else if (names.isEmpty()) {
            problems.add("no device name listed");
        }
        List<String> tolerated = new ArrayList<>();
        Matcher em = QUERY_ERROR.matcher(stdout);
        while (em.find()) {
            int code = Integer.parseInt(em.group(2));
            Matcher p = PARAM.matcher(em.group(1));
            String param = p.find() ? p.group() : null;
            if (code == CL_INVALID_VALUE && param != null && !CORE_12.contains(param)) {
                tolerated.add(param);
            } else {
                problems.add((param != null ? param : em.group(1).strip()) + ": error " + code);
            }
        }
        Matcher sm = SIZE_MISMATCH.matcher(stdout);
        while (sm.find()) {
            problems.add(sm.group());
        }
        String tail = tolerated.isEmpty() ? "no failed query"
                : tolerated.size() + " optional non-1.2 quer" + (tolerated.size() == 1 ? "y" : "ies")
                        + " answered CL_INVALID_VALUE (" + String.join(", ", tolerated) + ")";
        if (problems.isEmpty()) {
            return new Verdict(true, "platform " + platform + ", " + devices + " device(s): "
                    + String.join(", ", names) + "; " + tail);
        }
        return new Verdict(false, String.join("; ", problems.subList(0, Math.min(6, problems.size())))
                + (problems.size() > 6 ? "; and " + (problems.size() - 6) + " more" : ""));
    }
}
