package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.Test;

class CudaErrorsTest {

    @Test
    void namesTheHeaderCodes() {
        assertEquals("CUDA_SUCCESS", CudaErrors.name(0));
        assertEquals("CUDA_ERROR_INVALID_VALUE", CudaErrors.name(1));
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", CudaErrors.name(2));
        assertEquals("CUDA_ERROR_STUB_LIBRARY", CudaErrors.name(34));
        assertEquals("CUDA_ERROR_NO_DEVICE", CudaErrors.name(100));
        assertEquals("CUDA_ERROR_INVALID_PTX", CudaErrors.name(218));
        assertEquals("CUDA_ERROR_NOT_FOUND", CudaErrors.name(500));
        assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", CudaErrors.name(700));
        assertEquals("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", CudaErrors.name(701));
        assertEquals("CUDA_ERROR_LAUNCH_FAILED", CudaErrors.name(719));
        assertEquals("CUDA_ERROR_UNKNOWN", CudaErrors.name(999));
        assertEquals("CUDA_ERROR_UNKNOWN_CODE", CudaErrors.name(12345));
        assertEquals("CUDA_ERROR_UNKNOWN_CODE", CudaErrors.name(-1));
    }

    @Test
    void namesNvrtcResults() {
        assertEquals("NVRTC_SUCCESS", CudaErrors.nvrtcName(0));
        assertEquals("NVRTC_ERROR_INVALID_OPTION", CudaErrors.nvrtcName(5));
        assertEquals("NVRTC_ERROR_COMPILATION", CudaErrors.nvrtcName(6));
        assertEquals("NVRTC_ERROR_UNKNOWN_CODE", CudaErrors.nvrtcName(99));
    }

    @Test
    void faultsThatKillTheContextAreSticky() {
        for (int code : new int[] {700, 702, 710, 714, 715, 716, 717, 718, 719, 214, 226, 810, 911}) {
            assertTrue(CudaErrors.isSticky(code), CudaErrors.name(code));
            assertEquals(Status.DEVICE_LOST, CudaErrors.status(code), CudaErrors.name(code));
        }
        for (int code : new int[] {0, 1, 2, 100, 200, 218, 500, 701, 999}) {
            assertFalse(CudaErrors.isSticky(code), CudaErrors.name(code));
            assertNotEquals(Status.DEVICE_LOST, CudaErrors.status(code), CudaErrors.name(code));
        }
    }

    @Test
    void mapsCodesToStatuses() {
        assertEquals(Status.OK, CudaErrors.status(0));
        assertEquals(Status.OUT_OF_DEVICE_MEMORY, CudaErrors.status(2));
        assertEquals(Status.INVALID_WORK_SIZE, CudaErrors.status(701));
        assertEquals(Status.INVALID_WORK_SIZE, CudaErrors.status(720));
        assertEquals(Status.BUILD_FAILED, CudaErrors.status(218));
        assertEquals(Status.BUILD_FAILED, CudaErrors.status(209));
        assertEquals(Status.BUILD_FAILED, CudaErrors.status(222));
        assertEquals(Status.KERNEL_NOT_FOUND, CudaErrors.status(500));
        assertEquals(Status.INVALID_ARGUMENT, CudaErrors.status(1));
        assertEquals(Status.INVALID_ARGUMENT, CudaErrors.status(400));
        assertEquals(Status.INVALID_ARGUMENT, CudaErrors.status(712));
        assertEquals(Status.NO_DEVICE, CudaErrors.status(100));
        assertEquals(Status.NO_DEVICE, CudaErrors.status(34));
        assertEquals(Status.NO_DEVICE, CudaErrors.status(803));
        assertEquals(Status.UNSUPPORTED, CudaErrors.status(801));
        assertEquals(Status.UNSUPPORTED, CudaErrors.status(221));
        assertEquals(Status.DEVICE_ERROR, CudaErrors.status(999));
        assertEquals(Status.DEVICE_ERROR, CudaErrors.status(600));
        assertEquals(Status.DEVICE_ERROR, CudaErrors.status(4242));
    }

    @Test
    void formatsMessages() {
        assertEquals("cuLaunchKernel: CUDA_ERROR_ILLEGAL_ADDRESS (700)", CudaErrors.message("cuLaunchKernel", 700, null));
        BackendException e = CudaErrors.exception("cuMemAlloc_v2", 2, "1024 bytes");
        assertEquals(Status.OUT_OF_DEVICE_MEMORY, e.status());
        assertEquals("cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2); 1024 bytes", e.getMessage());
        assertEquals("nvrtcCompileProgram: NVRTC_ERROR_COMPILATION (6); options []",
                CudaErrors.nvrtcMessage("nvrtcCompileProgram", 6, "options []"));
    }

    @Test
    void nvrtcFailuresAreFailedBuildsSayingWhatToDo() {
        io.ferry.spi.BackendException oom = CudaErrors.nvrtcException("nvrtcCompileProgram", 1, "options []", "");
        assertEquals(Status.BUILD_FAILED, oom.status(), "host memory, not device memory: releasing buffers would not help");
        assertTrue(oom.getMessage().contains("NVRTC_ERROR_OUT_OF_MEMORY (1)") && oom.getMessage().contains("host memory"),
                oom.getMessage());
        io.ferry.spi.BackendException compile = CudaErrors.nvrtcException("nvrtcCompileProgram", 6, null, "x.cu(1): error");
        assertEquals(Status.BUILD_FAILED, compile.status());
        assertTrue(compile.getMessage().endsWith("build log:\nx.cu(1): error"), compile.getMessage());
        assertTrue(CudaErrors.nvrtcException("nvrtcCompileProgram", 7, null, null).getMessage().contains("builtins"));
        assertEquals(Status.INTERNAL, CudaErrors.nvrtcException("nvrtcCreateProgram", 3, null, null).status());
    }
}
