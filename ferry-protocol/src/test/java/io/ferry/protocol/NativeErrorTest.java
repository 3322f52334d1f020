package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NativeErrorTest {

    @Test
    void aWordCarriesItsApiAndCodeBehindTheTag() {
        long w = NativeError.of(NativeError.OPENCL, -59);
        assertEquals(0x4E45_0001_FFFF_FFC5L, w);
        assertEquals(NativeError.OPENCL, NativeError.api(w));
        assertEquals(-59, NativeError.code(w));
        assertEquals(NativeError.CUDA, NativeError.api(NativeError.of(NativeError.CUDA, 700)));
        assertEquals(700, NativeError.code(NativeError.of(NativeError.CUDA, 700)));
    }

    @Test
    void aWordWithoutTheTagCarriesNoCode() {
        assertEquals(0, NativeError.api(NativeError.NONE));
        assertEquals(0, NativeError.api(-59L));
        assertEquals(0, NativeError.api(0x4E44_0001_0000_0001L));
    }

    @Test
    void everyCodeOfEveryApiRoundTrips() {
        SplittableRandom random = new SplittableRandom(20261204);
        for (int i = 0; i < 10_000; i++) {
            int api = random.nextInt(1, 0x10000);
            int code = random.nextInt();
            long w = NativeError.of(api, code);
            assertEquals(api, NativeError.api(w));
            assertEquals(code, NativeError.code(w));
        }
    }
}
