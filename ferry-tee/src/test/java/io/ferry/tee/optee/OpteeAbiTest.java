package io.ferry.tee.optee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The OP-TEE marshalling, byte for byte against the layouts of include/uapi/linux/tee.h (see reference/tee.md). */
class OpteeAbiTest {

    static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    @Test
    void ioctlNumbersMatchTheKernelsGenericEncoding() {
        assertEquals(0x800CA400, OpteeAbi.TEE_IOC_VERSION);
        assertEquals(0xC010A401, OpteeAbi.TEE_IOC_SHM_ALLOC);
        assertEquals(0x8010A402, OpteeAbi.TEE_IOC_OPEN_SESSION);
        assertEquals(0x8010A403, OpteeAbi.TEE_IOC_INVOKE);
        assertEquals(0x8008A404, OpteeAbi.TEE_IOC_CANCEL);
        assertEquals(0x8004A405, OpteeAbi.TEE_IOC_CLOSE_SESSION);
        assertEquals(0xC018A409, OpteeAbi.TEE_IOC_SHM_REGISTER);
    }

    @Test
    void argumentBlocksHaveTheKernelsLengthsAndStayUnderItsLimit() {
        assertEquals(56 + 4 * 32, OpteeAbi.openSessionLength(4));
        assertEquals(24 + 4 * 32, OpteeAbi.invokeLength(4));
        assertEquals(true, OpteeAbi.openSessionLength(4) <= OpteeAbi.MAX_ARG_LENGTH);
    }

    @Test
    void openSessionArgumentIsLaidOutAsTheKernelReadsIt() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(OpteeAbi.openSessionLength(1), 8);
            UUID ta = UUID.fromString("8aaaf200-2450-11e4-abe2-0002a5d5c51b");
            OpteeAbi.putOpenSession(s, ta, new UUID(0, 0), 1, 0x01020304, 1);
            OpteeAbi.putParam(s, OpteeAbi.OPEN_SESSION_LENGTH, 0, OpteeAbi.ATTR_VALUE_INPUT, 0x11, 0x22, 0);
            byte[] expected = hex(
                    "8aaaf200245011e4abe20002a5d5c51b" // uuid, big-endian
                    + "00000000000000000000000000000000" // clnt_uuid
                    + "01000000" + "04030201" // clnt_login, cancel_id
                    + "00000000" + "00000000" + "00000000" // session, ret, ret_origin (out)
                    + "01000000" // num_params
                    + "0100000000000000" + "1100000000000000" + "2200000000000000" + "0000000000000000");
            assertArrayEquals(expected, bytes(s));
        }
    }

    @Test
    void openSessionOutputsAreReadFromTheirOffsets() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(OpteeAbi.openSessionLength(0), 8);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 40, 7);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 44, 0xFFFF0008);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 48, 3);
            assertEquals(7, OpteeAbi.openSessionSession(s));
            assertEquals(0xFFFF0008, OpteeAbi.openSessionRet(s));
            assertEquals(3, OpteeAbi.openSessionOrigin(s));
        }
    }

    @Test
    void invokeArgumentWithAMemrefIsLaidOutAsTheKernelReadsIt() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(OpteeAbi.invokeLength(2), 8);
            OpteeAbi.putInvoke(s, 0x10, 0x20, 0x30, 2);
            OpteeAbi.putParam(s, OpteeAbi.INVOKE_LENGTH, 0, OpteeAbi.ATTR_MEMREF_INOUT, 0, 4096, 5);
            OpteeAbi.putParam(s, OpteeAbi.INVOKE_LENGTH, 1, OpteeAbi.ATTR_MEMREF_OUTPUT, 0, 16, OpteeAbi.MEMREF_NULL);
            byte[] expected = hex(
                    "10000000" + "20000000" + "30000000" + "00000000" + "00000000" + "02000000"
                    + "0700000000000000" + "0000000000000000" + "0010000000000000" + "0500000000000000"
                    + "0600000000000000" + "0000000000000000" + "1000000000000000" + "ffffffffffffffff");
            assertArrayEquals(expected, bytes(s));
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 12, 0xFFFF0010);
            s.set(ValueLayout.JAVA_INT_UNALIGNED, 16, 4);
            assertEquals(0xFFFF0010, OpteeAbi.invokeRet(s));
            assertEquals(4, OpteeAbi.invokeOrigin(s));
        }
    }

    @Test
    void smallStructsAreLaidOutAsTheKernelReadsThem() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(16, 8);
            OpteeAbi.putBufData(buf, 0x1122334455667788L, 184);
            assertArrayEquals(hex("8877665544332211" + "b800000000000000"), bytes(buf));
            MemorySegment cancel = a.allocate(8, 8);
            OpteeAbi.putCancel(cancel, 9, 3);
            assertArrayEquals(hex("09000000" + "03000000"), bytes(cancel));
            MemorySegment close = a.allocate(4, 4);
            OpteeAbi.putClose(close, 0x0A0B0C0D);
            assertArrayEquals(hex("0d0c0b0a"), bytes(close));
            MemorySegment reg = a.allocate(24, 8);
            OpteeAbi.putShmRegister(reg, 0x7f0000001000L, 8192);
            assertArrayEquals(hex("0010000000" + "7f0000" + "0020000000000000" + "00000000" + "00000000"), bytes(reg));
            reg.set(ValueLayout.JAVA_INT_UNALIGNED, 20, 42);
            assertEquals(42, OpteeAbi.shmRegisterId(reg));
            MemorySegment alloc = a.allocate(16, 8);
            OpteeAbi.putShmAlloc(alloc, 4096);
            assertArrayEquals(hex("0010000000000000" + "00000000" + "00000000"), bytes(alloc));
        }
    }

    @Test
    void versionDataIsThreeWords() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(12, 4);
            v.copyFrom(MemorySegment.ofArray(hex("01000000" + "01000000" + "0d000000")));
            assertArrayEquals(new int[] {1, 1, 0x0d}, OpteeAbi.version(v));
        }
    }
}
