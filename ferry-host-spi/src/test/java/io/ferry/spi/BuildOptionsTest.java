package io.ferry.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.BuildOptions.Dialect;
import io.ferry.protocol.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuildOptionsTest {

    private static String refused(String options, Dialect d) {
        BackendException e = assertThrows(BackendException.class, () -> BuildOptions.check(options, d));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        return e.getMessage();
    }

    @Test
    void openClSpecOptionsMacrosAndWarningsAreAllowed() throws Exception {
        assertEquals(List.of("-cl-fast-relaxed-math", "-cl-std=CL1.2", "-D", "N=4", "-DWIDTH=1.5e+3", "-w", "-Werror"),
                BuildOptions.check("  -cl-fast-relaxed-math -cl-std=CL1.2 -D N=4\t-DWIDTH=1.5e+3 -w -Werror ",
                        Dialect.OPENCL));
        assertEquals(List.of(), BuildOptions.check("", Dialect.OPENCL));
        assertEquals(List.of(), BuildOptions.check(null, Dialect.ANY));
    }

    @Test
    void nvrtcOptionsAreAllowedForCudaOnly() throws Exception {
        assertEquals(List.of("-arch=compute_90", "-std=c++17", "--use_fast_math", "-lineinfo", "--fmad=false",
                "--define-macro=K=2"), BuildOptions.check("-arch=compute_90 -std=c++17 --use_fast_math -lineinfo "
                + "--fmad=false --define-macro=K=2", Dialect.NVRTC));
        assertTrue(refused("-arch=compute_90", Dialect.OPENCL).contains("'-arch=compute_90'"));
        assertTrue(refused("-cl-mad-enable", Dialect.NVRTC).contains("'-cl-mad-enable'"));
        BuildOptions.check("-arch=compute_90 -cl-mad-enable", Dialect.ANY);
    }

    @Test
    void optionsThatReadFilesAreRefusedByName() {
        for (String bad : List.of("-I/etc", "-I", "-include", "@/etc/ferry.yaml", "-x", "--include-path=/etc",
                "--pre-include=/etc/hostname", "-I/root/.ssh")) {
            for (Dialect d : Dialect.values()) {
                String m = refused("-w " + bad + " -Werror", d);
                assertTrue(m.contains("'" + bad + "'"), m);
            }
        }
        assertTrue(refused("-I/etc", Dialect.OPENCL).contains("never allowed"));
    }

    @Test
    void unknownOptionsAndMalformedStdAreRefused() {
        for (String bad : List.of("-cl-std=CL9.9", "-cl-something", "-O3", "-fplugin=/tmp/x.so", "-std=c++99",
                "-arch=compute_9x", "--fmad=yes", "-Xclang", "-mllvm")) {
            assertTrue(refused(bad, Dialect.ANY).contains("'" + bad + "'"), bad);
        }
    }

    @Test
    void macroValuesAreAnyPrintableTextAsRealProgramsPassThem() throws Exception {
        // OpenCV's filters, string and expression macros, a function-like macro: each only the body of a #define
        List<String> real = List.of("-DCOEFF=DIG(9)DIG(29)DIG(55)DIG(70)DIG(55)DIG(29)DIG(9)",
                "-DCOEFF=DIG(-1.000000000f)DIG(0.000000000f)DIG(1.000000000f)", "-DN=\"x\"", "-DN=a/b",
                "-DV=(1+2)*3", "-DT=__global*", "-DF(a,b)=((a)<(b)?(a):(b))", "-DPROCESS_ELEMS="
                        + "PROCESS(0,0)".repeat(300), "-DN=0x1p-3f", "-DN=$(x)", "-DN=<x>", "-DN=#x");
        for (String m : real) {
            assertEquals(List.of(m), BuildOptions.check(m, Dialect.OPENCL), m);
            assertEquals(List.of("-D", m.substring(2)), BuildOptions.check("-D " + m.substring(2), Dialect.ANY), m);
        }
    }

    @Test
    void macroNamesMustBeIdentifiers() {
        for (String bad : List.of("-D", "-D 1N", "-D=5", "-D N(x=1)", "-D N(x", "-D -I/etc", "-D " + "N".repeat(129))) {
            String m = refused(bad, Dialect.OPENCL);
            assertTrue(m.contains("-D"), m);
        }
    }

    @Test
    void controlCharactersAndOverlongOptionsAreRefused() {
        assertTrue(refused("-w\n-I/etc", Dialect.OPENCL).contains("U+000A"));
        assertTrue(refused("-w\0", Dialect.OPENCL).contains("U+0000"));
        assertTrue(refused("-w " + "-w ".repeat(6000), Dialect.OPENCL).contains("over the limit of 16384"));
    }
}
