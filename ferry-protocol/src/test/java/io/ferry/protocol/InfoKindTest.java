package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** INFO's allow-list: listed plain-valued params pass, pointer-valued and unknown ones are refused by name. */
class InfoKindTest {

    @Test
    void kindsRoundTripTheirCodes() {
        for (InfoKind k : InfoKind.values()) {
            assertEquals(k, InfoKind.of(k.code()));
        }
        assertNull(InfoKind.of(0));
        assertNull(InfoKind.of(8));
    }

    @Test
    void deviceParamsOfTheCoreRangeAndKhrPassButPointersDoNot() {
        assertNull(InfoKind.DEVICE.refusal(0x102B, 0));
        assertNull(InfoKind.DEVICE.refusal(0x410F, 0));
        assertTrue(InfoKind.DEVICE.refusal(0x1031, 0).contains("CL_DEVICE_PLATFORM"));
        assertTrue(InfoKind.DEVICE.refusal(0x1042, 0).contains("CL_DEVICE_PARENT_DEVICE"));
        assertNotNull(InfoKind.DEVICE.refusal(0x2051, 0), "CL_DEVICE_HANDLE_LIST_KHR lists device pointers");
        assertNotNull(InfoKind.DEVICE.refusal(0x1100, 0));
        assertNotNull(InfoKind.DEVICE.refusal(-1, 0));
    }

    @Test
    void objectParamsAreListedOnes() {
        assertNull(InfoKind.PROGRAM.refusal(InfoKind.CL_PROGRAM_BINARIES, 0));
        assertNotNull(InfoKind.PROGRAM.refusal(0x1164, 0), "CL_PROGRAM_SOURCE is the ICD's own");
        assertNull(InfoKind.KERNEL_ARG.refusal(0x119A, 3));
        assertNotNull(InfoKind.KERNEL.refusal(0x1192, 0), "CL_KERNEL_REFERENCE_COUNT");
        assertNull(InfoKind.IMAGE_FORMATS.refusal(0x4, 0x10F1));
        assertNotNull(InfoKind.IMAGE_FORMATS.refusal(0x4, 0x10F0));
        assertNotNull(InfoKind.IMAGE_FORMATS.refusal(1L << 40, 0x10F1));
    }
}
