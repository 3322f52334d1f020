package io.ferry.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import org.junit.jupiter.api.Test;

class ClErrorsTest {

    @Test
    void namesEveryStandardCode() {
        assertEquals("CL_SUCCESS", ClErrors.name(0));
        assertEquals("CL_DEVICE_NOT_FOUND", ClErrors.name(-1));
        assertEquals("CL_KERNEL_ARG_INFO_NOT_AVAILABLE", ClErrors.name(-19));
        assertEquals("CL_INVALID_VALUE", ClErrors.name(-30));
        assertEquals("CL_INVALID_WORK_GROUP_SIZE", ClErrors.name(-54));
        assertEquals("CL_MAX_SIZE_RESTRICTION_EXCEEDED", ClErrors.name(-72));
        assertEquals("CL_PLATFORM_NOT_FOUND_KHR", ClErrors.name(-1001));
        for (int code = -1; code >= -72; code--) {
            boolean gap = code <= -20 && code >= -29;
            assertEquals(gap, ClErrors.name(code).equals("CL_UNKNOWN_ERROR"), "code " + code);
        }
        assertEquals("CL_UNKNOWN_ERROR", ClErrors.name(-73));
        assertEquals("CL_UNKNOWN_ERROR", ClErrors.name(5));
    }

    @Test
    void mapsCodesToStatuses() {
        assertEquals(Status.OUT_OF_DEVICE_MEMORY, ClErrors.status(-4));
        assertEquals(Status.OUT_OF_DEVICE_MEMORY, ClErrors.status(-6));
        assertEquals(Status.DEVICE_ERROR, ClErrors.status(-5));
        assertEquals(Status.INVALID_WORK_SIZE, ClErrors.status(-54));
        assertEquals(Status.INVALID_WORK_SIZE, ClErrors.status(-55));
        assertEquals(Status.INVALID_WORK_SIZE, ClErrors.status(-63));
        assertEquals(Status.INVALID_KERNEL_ARGS, ClErrors.status(-49));
        assertEquals(Status.INVALID_KERNEL_ARGS, ClErrors.status(-50));
        assertEquals(Status.INVALID_KERNEL_ARGS, ClErrors.status(-51));
        assertEquals(Status.INVALID_KERNEL_ARGS, ClErrors.status(-52));
        assertEquals(Status.BUILD_FAILED, ClErrors.status(-11));
        assertEquals(Status.KERNEL_NOT_FOUND, ClErrors.status(-46));
        assertEquals(Status.INVALID_ARGUMENT, ClErrors.status(-30));
        assertEquals(Status.NO_DEVICE, ClErrors.status(-1001));
        assertEquals(Status.DEVICE_ERROR, ClErrors.status(-36));
        assertEquals(Status.DEVICE_ERROR, ClErrors.status(-9999));
    }

    @Test
    void formatsMessages() {
        assertEquals("clEnqueueNDRangeKernel: CL_INVALID_WORK_GROUP_SIZE (-54)",
                ClErrors.message("clEnqueueNDRangeKernel", -54, null));
        BackendException e = ClErrors.exception("clSetKernelArg", -51, "kernel 'vadd' argument 3 'n' (int)");
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertEquals("clSetKernelArg: CL_INVALID_ARG_SIZE (-51); kernel 'vadd' argument 3 'n' (int)", e.getMessage());
    }
}
