package io.ferry.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.BackendException;
import io.ferry.protocol.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

class KernelParamsTest {
    static final List<Ptx.Param> VADD = Ptx.entries("""
            .visible .entry vadd(
            	.param .u64 .ptr .align 1 vadd_param_0,
            	.param .u64 .ptr .align 1 vadd_param_1,
            	.param .u64 .ptr .align 1 vadd_param_2,
            	.param .u32 vadd_param_3
            ) { ret; }
            """).getFirst().params();

    @Test
    void laysOutSlotsSixteenByteAligned() {
        assertArrayEquals(new long[] {0, 16, 32, 48}, KernelParams.layout(new long[] {8, 8, 8, 4}));
        assertArrayEquals(new long[] {0, 32, 48}, KernelParams.layout(new long[] {24, 1, 8}));
        assertArrayEquals(new long[] {}, KernelParams.layout(new long[] {}));
    }

    @Test
    void packsKernelParamsAsPointersToValues() throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            KernelParams p = new KernelParams("vadd", VADD, arena);
            assertEquals(4, p.count);
            CuObject.Buffer a = new CuObject.Buffer(null, 0x7f00_0000_1000L, 1024, false);
            CuObject.Buffer b = new CuObject.Buffer(null, 0x7f00_0000_2000L, 1024, false);
            CuObject.Buffer c = new CuObject.Buffer(null, 0x7f00_0000_3000L, 1024, false);
            p.setBuffer(0, a);
            p.setBuffer(1, b);
            p.setBuffer(2, c);
            p.setValue(3, arena.allocateFrom(JAVA_INT, 256));
            assertEquals(0, p.prepareLaunch());
            // kernelParams[i] points at parameter i's bytes
            MemorySegment pointers = p.pointers.reinterpret(4 * 8);
            for (int i = 0; i < 4; i++) {
                assertEquals(p.storage.address() + p.offsets[i], pointers.getAtIndex(JAVA_LONG, i), "pointer " + i);
            }
            assertEquals(a.dptr, p.storage.get(JAVA_LONG, p.offsets[0]));
            assertEquals(b.dptr, p.storage.get(JAVA_LONG, p.offsets[1]));
            assertEquals(c.dptr, p.storage.get(JAVA_LONG, p.offsets[2]));
            assertEquals(256, p.storage.get(JAVA_INT, p.offsets[3]));
            // a by-value float goes in as its bits; setting again overwrites
            p.setValue(3, arena.allocateFrom(JAVA_FLOAT, 1.5f));
            assertEquals(Float.floatToRawIntBits(1.5f), p.storage.get(JAVA_INT, p.offsets[3]));
        }
    }

    @Test
    void refusesValuesOfTheWrongSizeNamingTheParameter() {
        try (Arena arena = Arena.ofConfined()) {
            KernelParams p = new KernelParams("vadd", VADD, arena);
            BackendException e = assertThrows(BackendException.class, () -> p.setValue(3, arena.allocateFrom(JAVA_LONG, 1L)));
            assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
            assertEquals("kernel 'vadd' parameter 3 'vadd_param_3' (.u32, 4 bytes) takes 4 bytes, but a value of 8 bytes "
                    + "was passed", e.getMessage());
            e = assertThrows(BackendException.class, () -> p.setBuffer(3, new CuObject.Buffer(null, 1, 4, false)));
            assertTrue(e.getMessage().contains("is not a pointer"), e.getMessage());
        }
    }

    @Test
    void refusesToLaunchWithUnsetOrReleasedArguments() throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            KernelParams p = new KernelParams("vadd", VADD, arena);
            p.setBuffer(0, new CuObject.Buffer(null, 16, 4, false));
            BackendException e = assertThrows(BackendException.class, p::prepareLaunch);
            assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
            assertEquals("kernel 'vadd': parameters not set: 1 'vadd_param_1' (.u64 pointer, 8 bytes), 2 'vadd_param_2' "
                    + "(.u64 pointer, 8 bytes), 3 'vadd_param_3' (.u32, 4 bytes)", e.getMessage());
            CuObject.Buffer gone = new CuObject.Buffer(null, 32, 4, false);
            p.setBuffer(1, gone);
            p.setBuffer(2, gone);
            p.setValue(3, arena.allocateFrom(JAVA_INT, 1));
            gone.markReleased();
            e = assertThrows(BackendException.class, p::prepareLaunch);
            assertTrue(e.getMessage().contains("released"), e.getMessage());
        }
    }

    @Test
    void mapsLocalArgumentsToDynamicSharedMemoryOffsets() throws BackendException {
        List<Ptx.Param> params = Ptx.entries("""
                .visible .entry group_sum(.param .u64 in, .param .u32 tmp_off, .param .u64 tmp2_off, .param .f32 factor)
                { ret; }
                """).getFirst().params();
        try (Arena arena = Arena.ofConfined()) {
            KernelParams p = new KernelParams("group_sum", params, arena);
            p.setBuffer(0, new CuObject.Buffer(null, 0x1000, 64, false));
            p.setLocal(1, 100);   // offset 0, 100 bytes
            p.setLocal(2, 40);    // offset 112 (16-aligned), 40 bytes
            p.setValue(3, arena.allocateFrom(JAVA_FLOAT, 2f));
            assertEquals(152, p.prepareLaunch());
            assertEquals(0, p.storage.get(JAVA_INT, p.offsets[1]));
            assertEquals(112L, p.storage.get(JAVA_LONG, p.offsets[2]));
            // replacing a local argument by a value drops it from the shared memory
            p.setValue(2, arena.allocateFrom(JAVA_LONG, 0L));
            assertEquals(100, p.prepareLaunch());
            BackendException e = assertThrows(BackendException.class, () -> p.setLocal(3, 16));
            assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
            assertTrue(e.getMessage().contains("must be a 4- or 8-byte integer"), e.getMessage());
        }
    }

    @Test
    void handlesKernelsWithoutParameters() throws BackendException {
        try (Arena arena = Arena.ofConfined()) {
            KernelParams p = new KernelParams("empty", List.of(), arena);
            assertEquals(0, p.count);
            assertEquals(MemorySegment.NULL, p.pointers);
            assertEquals(0, p.prepareLaunch());
        }
    }
}
