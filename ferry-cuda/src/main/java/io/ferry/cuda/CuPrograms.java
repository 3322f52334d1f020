package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import io.ferry.spi.BackendException;
import io.ferry.spi.BuildOptions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Programs and kernels of a {@link CudaSession}: compile (NVRTC), load modules with the JIT's logs, find kernels. */
final class CuPrograms {
    private static final int JIT_LOG_BYTES = 16 * 1024;

    private CuPrograms() {
    }

    /**
     * Compiles (CUDA C by NVRTC) and loads the program's module in its context; returns the build log. Rebuilding
     * unloads the old module, which only a program without kernels may do.
     */
    static String build(CudaSession s, CuObject.Program p, String options) throws BackendException {
        if (p.module != 0) {
            if (p.kernels > 0) {
                throw new BackendException(Status.INVALID_ARGUMENT, "the program is built and has kernels; release them "
                        + "before building it again");
            }
            s.bind(p.dc);
            CudaModules.moduleUnload(p.module);
            p.module = 0;
        }
        StringBuilder log = new StringBuilder();
        String ptx;
        byte[] image;
        boolean cubin = false;
        String opts = options == null ? "" : options.strip();
        if (p.language == SourceLanguage.CUDA_C) {
            Nvrtc nvrtc = Nvrtc.get();
            Target t = target(p.dc.device, opts, nvrtc.versionCode, Cuda.driverVersion(),
                    CudaModules.canEnumerateFunctions() && CudaModules.hasFuncGetParamInfo());
            if (t.cubin() && !(CudaModules.canEnumerateFunctions() && CudaModules.hasFuncGetParamInfo())) {
                throw new BackendException(Status.UNSUPPORTED, "a build for a real architecture (sm_NN) makes a cubin, "
                        + "whose kernels only a driver of CUDA 12.4 or newer can list; this one is CUDA "
                        + Cuda.versionText(Cuda.driverVersion()) + ": build for a virtual architecture (-arch=compute_NN)");
            }
            Nvrtc.Result r = nvrtc.compile(p.source, "ferry_program.cu", t.args(), t.cubin());
            ptx = r.ptx();
            cubin = t.cubin();
            image = cubin ? r.cubin() : nulTerminated(ptx);
            if (t.note() != null) {
                log.append("note: ").append(t.note());
            }
            if (!r.log().isBlank()) {
                log.append(log.isEmpty() ? "" : "\n").append(r.log());
            }
        } else {
            ptx = p.source;
            image = nulTerminated(ptx);
            if (!opts.isEmpty()) {
                log.append("note: build options are ignored for PTX: ").append(opts);
            }
        }
        s.bind(p.dc);
        long module = loadModule(s, image, log);
        try {
            p.entries = cubin ? driverEntries(s, module) : Ptx.entries(ptx);
        } catch (BackendException | RuntimeException e) {
            CudaModules.moduleUnload(module);
            throw e;
        }
        p.module = module;
        p.ptx = ptx;
        return log.toString().strip();
    }

    /** How NVRTC compiles a program: its options, and whether it makes a cubin (a real architecture) or PTX. */
    record Target(List<String> args, boolean cubin, String note) {
    }

    /**
     * The NVRTC options for {@code device}, each of the guest's checked against {@link BuildOptions}' NVRTC allow-list
     * (NVRTC runs in the daemon: no option may read a file), and what NVRTC will make:
     * <ul>
     * <li>the guest names an architecture: its options as given; a real one ({@code sm_NN}) makes a cubin, a
     * virtual one ({@code compute_NN}) PTX;</li>
     * <li>else, where NVRTC is newer than the driver ({@code nvrtcVersion > driverVersion}, both as
     * {@code major * 1000 + minor * 10}) and the driver can list a cubin's kernels ({@code driverListsKernels}, CUDA
     * ≥ 12.4): a cubin for the device's own architecture, because the driver cannot JIT a newer NVRTC's PTX
     * ({@code CUDA_ERROR_UNSUPPORTED_PTX_VERSION});</li>
     * <li>else PTX for the device's virtual architecture, which the driver compiles for the device on load.</li>
     * </ul>
     */
    static Target target(CudaDevice device, String guestOptions, int nvrtcVersion, int driverVersion,
            boolean driverListsKernels) throws BackendException {
        List<String> guestArgs = BuildOptions.check(guestOptions, BuildOptions.Dialect.NVRTC);
        for (String a : guestArgs) {
            String arch = a.startsWith("-arch=") ? a.substring(6)
                    : a.startsWith("--gpu-architecture=") ? a.substring(19) : null;
            if (arch != null) {
                return new Target(guestArgs, arch.startsWith("sm_"), null);
            }
        }
        boolean newer = nvrtcVersion > 0 && driverVersion > 0 && nvrtcVersion > driverVersion;
        boolean cubin = newer && driverListsKernels;
        String sm = "sm_" + device.ccMajor() + device.ccMinor();
        String newerNote = "NVRTC " + Cuda.versionText(nvrtcVersion) + " is newer than the driver's CUDA "
                + Cuda.versionText(driverVersion);
        List<String> args = new ArrayList<>();
        args.add(cubin ? "--gpu-architecture=" + sm : device.archOption());
        args.addAll(guestArgs);
        String note = !newer ? null : cubin ? newerNote + ", which cannot load its PTX: compiled to a cubin for " + sm
                : newerNote + "; if loading fails with CUDA_ERROR_UNSUPPORTED_PTX_VERSION, install the NVRTC of the "
                + "driver's CUDA version or a newer driver";
        return new Target(List.copyOf(args), cubin, note);
    }

    /** NVRTC options as {@link #target} gives them for a driver as new as NVRTC. */
    static List<String> nvrtcOptions(CudaDevice device, String guestOptions) throws BackendException {
        return target(device, guestOptions, 0, 0, false).args();
    }

    private static byte[] nulTerminated(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(b, b.length + 1);
    }

    /**
     * The kernels of a module loaded from a cubin (no PTX to read them from), as the driver lists them (CUDA ≥ 12.4):
     * each name ({@code cuFuncGetName}) and its parameters' sizes ({@code cuFuncGetParamInfo}).
     */
    private static List<Ptx.Entry> driverEntries(CudaSession s, long module) throws BackendException {
        if (!CudaModules.canEnumerateFunctions() || !CudaModules.hasFuncGetParamInfo()) {
            throw new BackendException(Status.UNSUPPORTED, "a cubin's kernels can only be listed by a driver of CUDA "
                    + "12.4 or newer; build for a virtual architecture (-arch=compute_NN) or without -arch");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int rc = CudaModules.moduleGetFunctionCount(count, module);
            if (rc != 0) {
                throw s.exception("cuModuleGetFunctionCount", rc, null);
            }
            int n = count.get(JAVA_INT, 0);
            MemorySegment functions = arena.allocate(JAVA_LONG, Math.max(1, n));
            rc = CudaModules.moduleEnumerateFunctions(functions, n, module);
            if (rc != 0) {
                throw s.exception("cuModuleEnumerateFunctions", rc, null);
            }
            List<Ptx.Entry> out = new ArrayList<>();
            MemorySegment name = arena.allocate(ADDRESS);
            for (int i = 0; i < n; i++) {
                long f = functions.getAtIndex(JAVA_LONG, i);
                rc = CudaModules.funcGetName(name, f);
                if (rc != 0) {
                    throw s.exception("cuFuncGetName", rc, null);
                }
                String kernel = name.get(ADDRESS, 0).reinterpret(4096).getString(0, StandardCharsets.UTF_8);
                List<Ptx.Param> params = new ArrayList<>();
                for (int j = 0; j < 4096 && CudaModules.funcGetParamInfo(f, j, s.slot, s.slot2) == 0; j++) {
                    long size = s.slot2.get(JAVA_LONG, 0);
                    params.add(new Ptx.Param(kernel + "_param_" + j, "b8", size, Math.min(size, 8), false));
                }
                out.add(new Ptx.Entry(kernel, List.copyOf(params)));
            }
            return out;
        }
    }

    /** {@code cuModuleLoadDataEx} with the JIT's info and error logs; a failure throws with the error log. */
    private static long loadModule(CudaSession s, byte[] bytes, StringBuilder log) throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocateFrom(JAVA_BYTE, bytes);
            MemorySegment info = arena.allocate(JIT_LOG_BYTES);
            MemorySegment error = arena.allocate(JIT_LOG_BYTES);
            MemorySegment options = arena.allocate(JAVA_INT, 4);
            MemorySegment optionValues = arena.allocate(ADDRESS, 4);
            options.setAtIndex(JAVA_INT, 0, Cuda.CU_JIT_INFO_LOG_BUFFER);
            optionValues.setAtIndex(ADDRESS, 0, info);
            options.setAtIndex(JAVA_INT, 1, Cuda.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES);
            optionValues.setAtIndex(JAVA_LONG, 1, JIT_LOG_BYTES);
            options.setAtIndex(JAVA_INT, 2, Cuda.CU_JIT_ERROR_LOG_BUFFER);
            optionValues.setAtIndex(ADDRESS, 2, error);
            options.setAtIndex(JAVA_INT, 3, Cuda.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            optionValues.setAtIndex(JAVA_LONG, 3, JIT_LOG_BYTES);
            MemorySegment module = arena.allocate(JAVA_LONG);
            int rc = CudaModules.moduleLoadDataEx(module, image, 4, options, optionValues);
            String infoLog = info.getString(0, StandardCharsets.UTF_8).strip();
            String errorLog = error.getString(0, StandardCharsets.UTF_8).strip();
            if (!infoLog.isEmpty()) {
                log.append(log.isEmpty() ? "" : "\n").append(infoLog);
            }
            if (rc != 0) {
                String message = CudaErrors.message("cuModuleLoadDataEx", rc, "loading the module");
                if (CudaErrors.isSticky(rc)) {
                    throw s.lose(message);
                }
                Status status = CudaErrors.status(rc);
                if (status == Status.DEVICE_ERROR || status == Status.INVALID_ARGUMENT) {
                    status = Status.BUILD_FAILED;
                }
                throw new BackendException(status, errorLog.isEmpty() ? message : message + "\nbuild log:\n" + errorLog);
            }
            return module.get(JAVA_LONG, 0);
        }
    }

    /**
     * The kernel {@code name} of a built program, found among the PTX entries (by its plain or mangled name), with
     * its parameters checked against the driver's where it can tell them.
     */
    static CuObject.Kernel createKernel(CudaSession s, CuObject.Program p, String name) throws BackendException {
        if (p.module == 0) {
            throw new BackendException(Status.INVALID_ARGUMENT, "kernel '" + name + "': the program is not built; build "
                    + "it successfully first");
        }
        Ptx.Entry entry;
        try {
            entry = Ptx.find(p.entries, name);
        } catch (Ptx.AmbiguousNameException e) {
            throw new BackendException(Status.KERNEL_NOT_FOUND, "kernel '" + name + "' names several overloads "
                    + e.names + "; declare the kernel extern \"C\" or pass its mangled name");
        }
        if (entry == null) {
            List<String> names = p.entries.stream().map(Ptx.Entry::name).toList();
            throw new BackendException(Status.KERNEL_NOT_FOUND, "no kernel '" + name + "' in the program; its kernels: "
                    + (names.isEmpty() ? "none" : String.join(", ", names))
                    + (p.language == SourceLanguage.CUDA_C ? " (a __global__ function at global scope is found by its "
                    + "plain name; others need extern \"C\")" : ""));
        }
        s.bind(p.dc);
        long function;
        try (Arena arena = Arena.ofConfined()) {
            int rc = CudaModules.moduleGetFunction(s.slot, p.module, arena.allocateFrom(entry.name(), StandardCharsets.UTF_8));
            if (rc != 0) {
                throw s.exception("cuModuleGetFunction", rc, "kernel '" + entry.name() + "'");
            }
            function = s.slot.get(JAVA_LONG, 0);
        }
        List<Ptx.Param> params = crossCheck(s, function, entry);
        int maxThreads = attribute(s, Cuda.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function, 0);
        int staticShared = attribute(s, Cuda.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, function, 0);
        int maxDynamic = attribute(s, Cuda.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, function,
                Math.max(0, 48 * 1024 - staticShared));
        KernelParams args = new KernelParams(name, params, Arena.ofAuto());
        p.kernels++;
        return new CuObject.Kernel(p.dc, p, function, args, maxThreads, staticShared, maxDynamic);
    }

    private static int attribute(CudaSession s, int attribute, long function, int fallback) {
        return CudaModules.funcGetAttribute(s.values, attribute, function) == 0 ? s.values.get(JAVA_INT, 0) : fallback;
    }

    /**
     * The parameters from the PTX, checked against {@code cuFuncGetParamInfo} where the driver has it (CUDA ≥ 12.4):
     * the driver's sizes win, and parameters the PTX parse missed are added as byte arrays of the driver's size.
     */
    private static List<Ptx.Param> crossCheck(CudaSession s, long function, Ptx.Entry entry) {
        List<Ptx.Param> parsed = entry.params();
        if (!CudaModules.hasFuncGetParamInfo()) {
            return parsed;
        }
        List<Ptx.Param> out = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            int rc = CudaModules.funcGetParamInfo(function, i, s.slot, s.slot2);
            if (rc != 0) {
                break;
            }
            long size = s.slot2.get(JAVA_LONG, 0);
            Ptx.Param p = i < parsed.size() ? parsed.get(i) : null;
            if (p != null && p.size() == size) {
                out.add(p);
            } else {
                out.add(new Ptx.Param(p != null ? p.name() : entry.name() + "_param_" + i, "b8", size, 1,
                        p != null && p.pointer()));
            }
        }
        return out.isEmpty() && !parsed.isEmpty() ? parsed : out;
    }
}
