package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.ComputeBackend;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@code ./ferry bench transport --device TEXT}: which device TEXT selects. */
class DeviceChoiceTest {
    // as the two backends describe one card on a GPU host, and PoCL's CPU device
    private static final String[] NVIDIA_CL = {"opencl", "NVIDIA H200", "NVIDIA Corporation", "OpenCL 3.0 CUDA"};
    private static final String[] NVIDIA_CUDA = {"cuda", "NVIDIA H200", "NVIDIA", "9.0"};
    private static final String[] POCL = {"opencl", "cpu-haswell-AMD EPYC 7B13", "AuthenticAMD",
        "OpenCL 3.0 PoCL HSTR: cpu-x86_64-pc-linux-gnu-haswell"};

    private static boolean matches(String text, String[] d) {
        return DeviceChoice.matches(text, d[0], d[1], d[2], d[3]);
    }

    @Test
    void aBackendPrefixNarrowsToThatBackend() {
        assertTrue(matches("opencl:nvidia", NVIDIA_CL));
        assertFalse(matches("opencl:nvidia", NVIDIA_CUDA));
        assertFalse(matches("opencl:nvidia", POCL));
        assertTrue(matches("cuda:H200", NVIDIA_CUDA));
        assertFalse(matches("cuda:H200", NVIDIA_CL));
        assertTrue(matches(" OpenCL : PoCL ", POCL), "case and blanks do not matter; the version counts");
        assertTrue(matches("opencl:", POCL), "an empty part takes the backend's first device");
        assertFalse(matches("cuda:", POCL));
    }

    @Test
    void plainTextIsABackendOrPartOfNameVendorOrVersion() {
        assertTrue(matches("h200", NVIDIA_CL));
        assertTrue(matches("h200", NVIDIA_CUDA));
        assertFalse(matches("h200", POCL));
        assertTrue(matches("authenticamd", POCL), "the vendor");
        assertTrue(matches("CUDA", NVIDIA_CUDA), "the backend");
        assertTrue(matches("cuda", NVIDIA_CL), "NVIDIA's OpenCL version names CUDA: the first in the host's order wins");
        assertTrue(matches("opencl", POCL));
        assertFalse(matches("open", NVIDIA_CUDA));
        assertFalse(matches("", POCL), "nothing selects nothing");
        assertFalse(matches("  ", POCL));
    }

    @Test
    void noMatchNamesTheDevicesThereAre() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceChoice.inProcess("no-such-device-xyz"));
        assertTrue(e.getMessage().startsWith("no device matches --device 'no-such-device-xyz'"), e.getMessage());
        boolean any = false;
        for (ComputeBackend b : ServiceLoader.load(ComputeBackend.class)) {
            for (var d : b.devices()) {
                any = true;
                assertTrue(e.getMessage().contains(DeviceChoice.describe(b.name(), d.name(), d.vendor(), d.version())),
                        e.getMessage());
            }
        }
        Assumptions.assumeTrue(any, "no compute device here");
        DeviceChoice.Native first = DeviceChoice.inProcess(null);
        DeviceChoice.Native same = DeviceChoice.inProcess(first.backend().name() + ":" + first.device().name());
        assertEquals(first.device(), same.device());
    }
}
