package io.ferry.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.FunctionDescriptor;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The header parser of {@link CudaHeaderTest} on small snippets shaped like {@code cuda.h} and {@code nvrtc.h}. */
class CHeaderTest {
    private static final String CUDA_LIKE = """
            /* licence */
            #ifndef __cuda_cuda_h__
            #define __cuda_cuda_h__
            #if defined(__CUDA_API_VERSION_INTERNAL) || defined(CUDA_API_PER_THREAD_DEFAULT_STREAM)
                #define __CUDA_API_PER_THREAD_DEFAULT_STREAM
                #define __CUDA_API_PTDS(api) api ## _ptds
                #define __CUDA_API_PTSZ(api) api ## _ptsz
            #else
                #define __CUDA_API_PTDS(api) api
                #define __CUDA_API_PTSZ(api) api
            #endif
            #if defined(__CUDA_API_VERSION_INTERNAL) || defined(CUDA_ENABLE_DEPRECATED)
            #define __CUDA_DEPRECATED
            #elif defined(__GNUC__)
            #define __CUDA_DEPRECATED __attribute__((deprecated))
            #endif
            #define cuCtxCreate                         cuCtxCreate_v4
            #define cuMemAlloc                          cuMemAlloc_v2
            #define cuMemcpyHtoD                        __CUDA_API_PTDS(cuMemcpyHtoD_v2)
            #define cuMemcpyHtoDAsync                   __CUDA_API_PTSZ(cuMemcpyHtoDAsync_v2)
            #if defined(__CUDA_API_PER_THREAD_DEFAULT_STREAM)
                #define cuMemsetD8Async                 __CUDA_API_PTSZ(cuMemsetD8Async)
                #define cuLaunchKernel                  __CUDA_API_PTSZ(cuLaunchKernel)
            #endif
            #define CUDA_VERSION 13000
            #define CU_FLAG_BASE 0x10 // a flag
            #define CU_FLAG_ALIAS CU_B
            #if defined(_WIN64) || defined(__LP64__)
            typedef unsigned long long CUdeviceptr_v2;
            #else
            typedef unsigned int CUdeviceptr_v2;
            #endif
            typedef CUdeviceptr_v2 CUdeviceptr;  /**< device pointer */
            typedef int CUdevice_v1;
            typedef CUdevice_v1 CUdevice;
            typedef struct CUstream_st *CUstream;
            typedef struct CUctx_st *CUcontext;
            typedef struct CUuuid_st { char bytes[16]; } CUuuid;
            #ifdef _WIN32
            #define CUDAAPI __stdcall
            #else
            #define CUDAAPI
            #endif
            typedef void (CUDAAPI *CUhostFn)(void *userData);
            typedef enum cudaError_enum { CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE } CUresult;
            typedef enum CUflags_enum {
                CU_A = 0x01,     /**< one */
                CU_B,
                CU_C = 1u << 4,
                CU_D = CU_C | CU_A,
                CU_E = CU_FLAG_BASE + 2,
            #if defined(__CUDA_API_VERSION_INTERNAL) && !defined(__CUDA_API_VERSION_INTERNAL_ODR)
                CU_MAX
            #endif
            } CUflags;
            CUresult CUDAAPI cuCtxCreate(CUcontext *pctx, void *ctxCreateParams, unsigned int flags, CUdevice dev);
            CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize);
            CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
            CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dstDevice,
                                               const void *srcHost, /* where from */
                                               size_t ByteCount, CUstream hStream);
            __CUDA_DEPRECATED CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream);
            CUresult CUDAAPI cuEventElapsedTime_v2(float *pMilliseconds, CUstream a, CUstream b);
            CUresult CUDAAPI cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData);
            CUresult CUDAAPI cuDeviceGetUuid(CUuuid uuid, CUdevice dev);
            CUresult CUDAAPI cuCtxSynchronize(void);
            float scale(float x, double y, unsigned short s, signed char c, long n);
            #if defined(__CUDA_API_VERSION_INTERNAL)
                #undef cuMemAlloc
                typedef unsigned int CUdeviceptr_v1;
                CUresult CUDAAPI cuMemAlloc(CUdeviceptr_v1 *dptr, unsigned int bytesize);
                CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);
            #elif defined(__CUDA_API_PER_THREAD_DEFAULT_STREAM)
                CUresult CUDAAPI cuNotInANormalBuild(void);
            #endif
            #endif /* __cuda_cuda_h__ */
            """;

    private static final CHeader H = CHeader.parse(CUDA_LIKE);

    private static List<Integer> widths(String symbol, int index) {
        return H.paramTypes(H.prototypes(symbol).get(index)).stream().map(CHeader.CType::size).toList();
    }

    @Test
    void mapsApiNamesThroughDefinesAndThePerThreadMacros() {
        assertEquals("cuMemAlloc_v2", H.symbolFor("cuMemAlloc"));
        assertEquals("cuMemcpyHtoD_v2", H.symbolFor("cuMemcpyHtoD"));
        assertEquals("cuMemcpyHtoDAsync_v2", H.symbolFor("cuMemcpyHtoDAsync"));
        assertEquals("cuMemAlloc", H.apiFor("cuMemAlloc_v2").orElseThrow());
        assertEquals("cuCtxCreate_v2", H.symbolFor("cuCtxCreate_v2"));
        assertTrue(H.declares("cuMemcpyHtoD_v2") && H.declares("cuMemcpyHtoDAsync_v2"));
        assertFalse(H.declares("cuMemcpyHtoD") || H.declares("cuMemcpyHtoDAsync"));
    }

    @Test
    void ignoresThePerThreadBlockAndReadsDeprecatedPrototypes() {
        assertEquals("cuMemsetD8Async", H.symbolFor("cuMemsetD8Async"));
        assertEquals("cuLaunchKernel", H.symbolFor("cuLaunchKernel"));
        assertTrue(H.declares("cuMemsetD8Async"));
        assertFalse(H.declares("cuMemsetD8Async_ptsz"));
        assertEquals(List.of(8, 1, 8, 8), widths("cuMemsetD8Async", 0));
        assertFalse(H.declares("cuNotInANormalBuild"), "the #elif after the internal section is not read");
    }

    @Test
    void readsMultiLinePrototypesWithComments() {
        CHeader.Prototype p = H.prototypes("cuMemcpyHtoDAsync_v2").get(0);
        assertEquals(List.of(8, 8, 8, 8), widths("cuMemcpyHtoDAsync_v2", 0));
        assertEquals(4, H.returnType(p).size());
        assertFalse(p.internal());
        assertTrue(p.text().startsWith("CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dstDevice, const void *srcHost"),
                p.text());
        assertEquals(List.of(), H.paramTypes(H.prototypes("cuCtxSynchronize").get(0)), "(void) is no parameter");
    }

    @Test
    void readsTheInternalSectionByLiteralNamesAfterItsUndefs() {
        assertEquals("cuMemAlloc_v2", H.symbolFor("cuMemAlloc"), "the #undef there does not change the mapping");
        CHeader.Prototype old = H.prototypes("cuMemAlloc").get(0);
        assertTrue(old.internal());
        assertEquals(List.of(8, 4), widths("cuMemAlloc", 0));
        assertEquals(List.of(8, 8), widths("cuMemAlloc_v2", 0));
        assertTrue(H.declares("cuCtxCreate_v2"));
        assertTrue(H.prototypes("cuCtxCreate_v2").get(0).internal());
        assertEquals(1, H.prototypes("cuMemAlloc_v2").size());
    }

    @Test
    void resolvesTypedefChainsToWidthsAndClasses() {
        CHeader.CType ptr = H.type(List.of("CUdeviceptr", "dptr"));
        assertEquals(8, ptr.size());
        assertEquals("CUdeviceptr = CUdeviceptr_v2 = unsigned long long", ptr.spelling());
        assertEquals(4, H.type(List.of("CUdevice")).size());
        assertEquals(8, H.type(List.of("CUstream", "s")).size());
        assertEquals(8, H.type(List.of("CUhostFn")).size());
        assertEquals(4, H.type(List.of("CUflags")).size());
        assertEquals(4, H.type(List.of("CUresult")).size());
        assertEquals(8, H.type(List.of("const", "char", "*", "const", "*", "names")).size());
        CHeader.Prototype scale = H.prototypes("scale").get(0);
        List<CHeader.CType> t = H.paramTypes(scale);
        assertEquals(List.of(4, 8, 2, 1, 8), t.stream().map(CHeader.CType::size).toList());
        assertEquals(List.of(true, true, false, false, false), t.stream().map(CHeader.CType::floating).toList());
        assertTrue(H.returnType(scale).floating());
        assertFalse(H.paramTypes(H.prototypes("cuEventElapsedTime_v2").get(0)).get(0).floating(), "float * is a pointer");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> H.paramTypes(H.prototypes("cuDeviceGetUuid").get(0)));
        assertTrue(e.getMessage().contains("CUuuid") && e.getMessage().contains("by value"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> H.type(List.of("CUnknown", "x")));
    }

    @Test
    void evaluatesEnumeratorsAndDefines() {
        assertEquals(OptionalLong.of(1), H.constant("CU_A"));
        assertEquals(OptionalLong.of(2), H.constant("CU_B"));
        assertEquals(OptionalLong.of(16), H.constant("CU_C"));
        assertEquals(OptionalLong.of(17), H.constant("CU_D"));
        assertEquals(OptionalLong.of(18), H.constant("CU_E"));
        assertEquals(OptionalLong.of(1), H.constant("CUDA_ERROR_INVALID_VALUE"));
        assertEquals(OptionalLong.empty(), H.constant("CU_MAX"), "internal-only enumerators are not in a user's build");
        assertEquals(OptionalLong.of(16), H.constant("CU_FLAG_BASE"));
        assertEquals(OptionalLong.of(2), H.constant("CU_FLAG_ALIAS"));
        assertEquals(OptionalLong.of(13000), H.constant("CUDA_VERSION"));
    }

    private static String check(FunctionDescriptor d, String... names) {
        return String.join("\n", CudaHeaderTest.check(H, List.of(names), d, new HashSet<>()));
    }

    @Test
    void theBindingCheckCatchesWrongSymbolsCountsWidthsAndClasses() {
        FunctionDescriptor alloc = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
        assertEquals("", check(alloc, "cuMemAlloc_v2"));
        String old = check(alloc, "cuMemAlloc");
        assertTrue(old.contains("maps cuMemAlloc to cuMemAlloc_v2, not cuMemAlloc"), old);
        assertTrue(old.contains("parameter 2 (unsigned int bytesize)") && old.contains("__CUDA_API_VERSION_INTERNAL"), old);
        String narrow = check(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuMemAlloc_v2");
        assertTrue(narrow.contains("parameter 2 (size_t bytesize) is size_t (8-byte integer)"), narrow);
        assertTrue(narrow.contains("cuMemAlloc(CUdeviceptr *dptr, size_t bytesize)") && narrow.contains("(a8i4)i4"), narrow);
        assertTrue(check(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cuMemAlloc_v2").contains("2 parameters, the descriptor 1"));
        String integer = check(FunctionDescriptor.of(JAVA_FLOAT, JAVA_INT, JAVA_DOUBLE, JAVA_SHORT, JAVA_BYTE, JAVA_LONG), "scale");
        assertTrue(integer.contains("parameter 1 (float x) is float (4-byte floating)") && !integer.contains("parameter 2"), integer);
        assertTrue(check(FunctionDescriptor.ofVoid(), "cuCtxSynchronize").contains("the result is CUresult"));
        assertTrue(check(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT), "cuDeviceGetUuid").contains("by value"));
        String fallback = check(alloc, "cuMemAlloc_v2", "cuMemAlloc_v1", "cuMemFree");
        assertTrue(fallback.contains("cuMemAlloc_v1: the header declares no such symbol (fallback of cuMemAlloc_v2)"), fallback);
        assertTrue(fallback.contains("cuMemFree: a fallback of cuMemAlloc_v2 that is not an older version"), fallback);
        Set<String> older = new HashSet<>();
        FunctionDescriptor v2 = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        assertEquals(List.of(), CudaHeaderTest.check(H, List.of("cuCtxCreate_v2"), v2, older), "on the allow-list");
        assertEquals(Set.of("cuCtxCreate_v2"), older);
        assertEquals("cuCtxCreate", CudaHeaderTest.apiName(H, "cuCtxCreate_v2"));
        assertEquals("", check(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT), "cuCtxCreate_v4"));
    }

    @Test
    void readsNvrtcStyleDeprecationsAndSkipsCxxOnlyCode() {
        CHeader h = CHeader.parse("""
                #ifdef __cplusplus
                extern "C" {
                #endif
                typedef enum { NVRTC_SUCCESS = 0, NVRTC_ERROR_OUT_OF_MEMORY = 1 } nvrtcResult;
                typedef struct _nvrtcProgram *nvrtcProgram;
                const char *nvrtcGetErrorString(nvrtcResult result);
                #if defined(_WIN32)
                # define __DEPRECATED__(msg) __declspec(deprecated(msg))
                #elif (defined(__GNUC__) && (__GNUC__ < 4 || (__GNUC__ == 4 && __GNUC_MINOR__ < 5 && !defined(__clang__))))
                # define __DEPRECATED__(msg) __attribute__((deprecated))
                #else
                # define __DEPRECATED__(msg) __attribute__((deprecated(msg)))
                #endif
                __DEPRECATED__("use nvrtcGetLTOIRSize; it's (newer)")
                nvrtcResult nvrtcGetNVVMSize(nvrtcProgram prog, size_t *nvvmSizeRet);
                #undef __DEPRECATED__
                nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name,
                                               int numHeaders, const char * const *headers,
                                               const char * const *includeNames);
                #ifdef __cplusplus
                }
                #endif
                #if NVRTC_GET_TYPE_NAME || __DOXYGEN_ONLY__
                template <typename T> struct helper_t { };
                inline nvrtcResult nvrtcGetTypeName(const std::type_info &tinfo, std::string *result) { return 0; }
                #endif
                """);
        assertEquals(List.of(8, 8), h.paramTypes(h.prototypes("nvrtcGetNVVMSize").get(0)).stream()
                .map(CHeader.CType::size).toList());
        assertEquals(List.of(8, 8, 8, 4, 8, 8), h.paramTypes(h.prototypes("nvrtcCreateProgram").get(0)).stream()
                .map(CHeader.CType::size).toList());
        assertEquals(4, h.returnType(h.prototypes("nvrtcCreateProgram").get(0)).size());
        assertEquals(8, h.returnType(h.prototypes("nvrtcGetErrorString").get(0)).size());
        assertFalse(h.declares("nvrtcGetTypeName"));
    }
}
