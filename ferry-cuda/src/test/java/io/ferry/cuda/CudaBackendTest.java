package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.ferry.spi.BackendException;
import io.ferry.spi.ComputeBackend;
import io.ferry.spi.DeviceInfo;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Runs everywhere: with a GPU it checks discovery, without one that the backend says why it has no device. */
class CudaBackendTest {

    @Test
    void isFoundByServiceLoader() {
        boolean found = ServiceLoader.load(ComputeBackend.class).stream().anyMatch(p -> p.type() == CudaBackend.class);
        assertTrue(found);
    }

    @Test
    void reportsDevicesOrWhyThereAreNone() {
        try (CudaBackend backend = new CudaBackend()) {
            assertEquals("cuda", backend.name());
            List<DeviceInfo> devices = backend.devices();
            if (devices.isEmpty()) {
                assertNotNull(backend.unavailableReason());
                if (!Cuda.AVAILABLE) {
                    assertEquals(CudaBackend.NO_DRIVER, backend.unavailableReason());
                }
                try (Arena arena = Arena.ofConfined()) {
                    BackendException e = assertThrows(BackendException.class,
                            () -> backend.openSession("g", arena.allocate(4096)));
                    assertEquals(Status.NO_DEVICE, e.status());
                    assertTrue(e.getMessage().contains(backend.unavailableReason()), e.getMessage());
                }
                return;
            }
            for (int i = 0; i < devices.size(); i++) {
                DeviceInfo d = devices.get(i);
                assertEquals(i, d.index());
                assertEquals(DeviceType.GPU, d.type());
                assertEquals(List.of(SourceLanguage.CUDA_C, SourceLanguage.PTX), d.languages());
                assertTrue(d.globalMemoryBytes() > 0 && d.computeUnits() > 0 && d.maxWorkGroupSize() > 0, d.toString());
                assertTrue(d.version().startsWith("CUDA "), d.version());
            }
        }
    }

    @Test
    void targetsTheDevicesArchitectureUnlessTheGuestNamesOne() throws Exception {
        DeviceInfo info = new DeviceInfo(0, "H100", "NVIDIA Corporation", "CUDA 13.0", DeviceType.GPU, 1L << 36,
                48 << 10, 132, 1024, List.of(SourceLanguage.CUDA_C, SourceLanguage.PTX));
        CudaDevice d = new CudaDevice(0, info, 9, 0, CudaTesting.TYPICAL_LIMITS, 48 << 10, false, true);
        assertEquals(List.of("--gpu-architecture=compute_90"), CuPrograms.nvrtcOptions(d, ""));
        assertEquals(List.of("--gpu-architecture=compute_90", "-lineinfo", "--use_fast_math"),
                CuPrograms.nvrtcOptions(d, " -lineinfo  --use_fast_math "));
        assertEquals(List.of("--gpu-architecture=sm_90"), CuPrograms.nvrtcOptions(d, "--gpu-architecture=sm_90"));
        assertEquals(List.of("-arch=compute_80"), CuPrograms.nvrtcOptions(d, "-arch=compute_80"));
        io.ferry.spi.BackendException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.ferry.spi.BackendException.class, () -> CuPrograms.nvrtcOptions(d, "-I/etc"));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("'-I/etc'"), e.getMessage());
    }

    @Test
    void aRealArchitectureOrANewerNvrtcMakesACubin() throws Exception {
        DeviceInfo info = new DeviceInfo(0, "H200", "NVIDIA Corporation", "CUDA 13.0", DeviceType.GPU, 1L << 37,
                227 << 10, 132, 1024, List.of(SourceLanguage.CUDA_C, SourceLanguage.PTX));
        CudaDevice d = new CudaDevice(0, info, 9, 0, CudaTesting.TYPICAL_LIMITS, 227 << 10, false, true);
        // the guest names the architecture: a real one makes a cubin (no PTX to fetch), a virtual one PTX
        CuPrograms.Target sm = CuPrograms.target(d, "-arch=sm_90", 13000, 13000, true);
        assertTrue(sm.cubin());
        assertEquals(List.of("-arch=sm_90"), sm.args());
        assertFalse(CuPrograms.target(d, "--gpu-architecture=compute_90", 13000, 13000, true).cubin());
        // NVRTC as new as the driver, or older: PTX for the virtual architecture, the driver compiles it on load
        for (int nvrtc : new int[] {13000, 12080}) {
            CuPrograms.Target t = CuPrograms.target(d, "", nvrtc, 13000, true);
            assertFalse(t.cubin());
            assertEquals(List.of("--gpu-architecture=compute_90"), t.args());
            assertNull(t.note());
        }
        // NVRTC newer than the driver (its PTX would not load: CUDA_ERROR_UNSUPPORTED_PTX_VERSION): a cubin
        CuPrograms.Target newer = CuPrograms.target(d, "-lineinfo", 12090, 12040, true);
        assertTrue(newer.cubin());
        assertEquals(List.of("--gpu-architecture=sm_90", "-lineinfo"), newer.args());
        assertTrue(newer.note().contains("NVRTC 12.9 is newer than the driver's CUDA 12.4"), newer.note());
        // ... unless the driver cannot list a cubin's kernels (before 12.4): PTX, with a note saying what to do
        CuPrograms.Target old = CuPrograms.target(d, "", 12090, 12020, false);
        assertFalse(old.cubin());
        assertTrue(old.note().contains("UNSUPPORTED_PTX_VERSION"), old.note());
    }

    @Test
    void everyRequiredDriverFunctionIsCheckedAtStart() {
        assumeFalse(Cuda.AVAILABLE, "this machine has libcuda.so.1");
        List<String> missing = Cuda.missingSymbols();
        for (String s : List.of("cuMemsetD16Async", "cuMemsetD8Async", "cuCtxPopCurrent_v2", "cuFuncSetAttribute",
                "cuLaunchKernel", "cuEventElapsedTime_v2/cuEventElapsedTime", "cuCtxCreate_v4/cuCtxCreate_v2")) {
            assertTrue(missing.contains(s), s + " in " + missing);
        }
        for (Cuda.Binding b : Cuda.bindings()) {
            assertEquals(b.required(), missing.contains(String.join("/", b.names())), b.names().toString());
        }
        assertTrue(missing.stream().noneMatch(s -> s.startsWith("cuFuncGetParamInfo") || s.startsWith("cuGetError")),
                "optional functions are not required: " + missing);
    }

    @Test
    void withoutADriverSaysSoPlainly() {
        assumeFalse(Cuda.AVAILABLE, "this machine has libcuda.so.1");
        try (CudaBackend backend = new CudaBackend()) {
            assertTrue(backend.devices().isEmpty());
            assertEquals("no NVIDIA driver (libcuda.so.1) found", backend.unavailableReason());
            assertNotNull(Cuda.LOAD_ERROR);
        }
    }
}
