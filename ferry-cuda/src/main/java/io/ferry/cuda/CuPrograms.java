package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
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
        String opts = options == null ? "" : options.strip();
        if (p.language == SourceLanguage.CUDA_C) {
            Nvrtc nvrtc = Nvrtc.get();
            List<String> args = nvrtcOptions(p.dc.device, opts);
            Nvrtc.Result r = nvrtc.compile(p.source, "ferry_program.cu", args);
            ptx = r.ptx();
            if (!r.log().isBlank()) {
                log.append(r.log());
            }
        } else {
            ptx = p.source;
            if (!opts.isEmpty()) {
                log.append("note: build options are ignored for PTX: ").append(opts);
            }
        }
        s.bind(p.dc);
        p.module = loadModule(s, ptx, log);
        p.ptx = ptx;
        p.entries = Ptx.entries(ptx);
        return log.toString().strip();
    }

    /**
     * NVRTC options: the device's virtual architecture (unless the guest names one), then the guest's options, each
     * checked against {@link BuildOptions}' NVRTC allow-list (NVRTC runs in the daemon: no option may read a file).
     */
    static List<String> nvrtcOptions(CudaDevice device, String guestOptions) throws BackendException {
        List<String> args = new ArrayList<>();
        List<String> guestArgs = BuildOptions.check(guestOptions, BuildOptions.Dialect.NVRTC);
        boolean archGiven = guestArgs.stream().anyMatch(a -> a.startsWith("--gpu-architecture") || a.startsWith("-arch"));
        if (!archGiven) {
            args.add(device.archOption());
        }
        args.addAll(guestArgs);
        return args;
    }

    /** {@code cuModuleLoadDataEx} with the JIT's info and error logs; a failure throws with the error log. */
    private static long loadModule(CudaSession s, String ptx, StringBuilder log) throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocateFrom(ptx, StandardCharsets.UTF_8);
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
                String message = CudaErrors.message("cuModuleLoadDataEx", rc, "loading PTX");
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
        int maxThreads = CudaModules.funcGetAttribute(s.values, Cuda.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function) == 0
                ? s.values.get(JAVA_INT, 0) : 0;
        KernelParams args = new KernelParams(name, params, Arena.ofAuto());
        p.kernels++;
        return new CuObject.Kernel(p.dc, p, function, args, maxThreads);
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
