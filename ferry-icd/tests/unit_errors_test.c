/* unit_errors_test.c: how the ICD turns a host's failed answer into an OpenCL error (icd_common.c), without a host:
 * the device's own code (docs/protocol.md §2.2, "native error") is used only when the word carries the tag and the
 * OpenCL API, the code is one OpenCL defines, the status is the reply's own and the reply is not a sticky report of
 * an earlier call; anything else falls back to the status mapping. Exits 0 when every check passes. */
#include <stdio.h>
#include <string.h>
#include "icd.h"
#include "unittest.h"

static uint64_t word(uint64_t api, int32_t code) {
    return FERRY_NATIVE_ERROR_TAG | api << 32 | (uint32_t) code;
}

static ferry_reply failed(int status, uint64_t native) {
    ferry_reply r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.results[FERRY_NATIVE_ERROR_RESULT] = native;
    return r;
}

int main(void) {
    ferry_reply r = failed(FERRY_STATUS_DEVICE_ERROR, word(FERRY_NATIVE_API_OPENCL, CL_INVALID_OPERATION));
    CHECK(ferry_cl_native(&r, r.status) == CL_INVALID_OPERATION, "the device's code");
    CHECK(ferry_cl_reply_error(r.status, CL_INVALID_CONTEXT, "t", &r) == CL_INVALID_OPERATION, "passed on");

    r = failed(FERRY_STATUS_INVALID_ARGUMENT, word(FERRY_NATIVE_API_OPENCL, CL_MISALIGNED_SUB_BUFFER_OFFSET));
    CHECK(ferry_cl_reply_error(r.status, CL_INVALID_MEM_OBJECT, "t", &r) == CL_MISALIGNED_SUB_BUFFER_OFFSET,
          "the device's code before the status mapping (CL_INVALID_VALUE)");
    CHECK(ferry_cl_reply_error(FERRY_STATUS_TIMEOUT, CL_INVALID_MEM_OBJECT, "t", &r) == CL_OUT_OF_RESOURCES,
          "a status that is not the reply's own does not take its code");

    r = failed(FERRY_STATUS_DEVICE_ERROR, 0);
    CHECK(ferry_cl_reply_error(r.status, CL_INVALID_CONTEXT, "t", &r) == CL_OUT_OF_RESOURCES, "no word: mapping");
    r = failed(FERRY_STATUS_DEVICE_ERROR, (uint64_t) CL_INVALID_OPERATION);
    CHECK(ferry_cl_native(&r, r.status) == 0, "a bare code without the tag is no code");
    r = failed(FERRY_STATUS_DEVICE_ERROR, word(FERRY_NATIVE_API_CUDA, 1));
    CHECK(ferry_cl_native(&r, r.status) == 0, "another API's code is not OpenCL's");
    int32_t bad[] = { 0, 1, -20, -25, -29, -73, -1001, INT32_MIN, INT32_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = failed(FERRY_STATUS_DEVICE_ERROR, word(FERRY_NATIVE_API_OPENCL, bad[i]));
        CHECK(ferry_cl_native(&r, r.status) == 0, "code %d is none OpenCL defines", bad[i]);
        CHECK(ferry_cl_reply_error(r.status, CL_INVALID_CONTEXT, "t", &r) == CL_OUT_OF_RESOURCES, "%d", bad[i]);
    }
    int32_t good[] = { CL_DEVICE_NOT_FOUND, CL_KERNEL_ARG_INFO_NOT_AVAILABLE, CL_INVALID_VALUE, -72 };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        r = failed(FERRY_STATUS_DEVICE_ERROR, word(FERRY_NATIVE_API_OPENCL, good[i]));
        CHECK(ferry_cl_native(&r, r.status) == good[i], "code %d", good[i]);
    }

    r = failed(FERRY_STATUS_DEVICE_ERROR, word(FERRY_NATIVE_API_OPENCL, CL_INVALID_KERNEL_ARGS));
    r.results[2] = 1; /* a sticky report: an earlier call's failure, not this call's */
    CHECK(ferry_cl_reply_error(r.status, CL_INVALID_COMMAND_QUEUE, "t", &r) == CL_OUT_OF_RESOURCES, "sticky");
    r.results[2] = 0;
    r.sticky = 1;
    CHECK(ferry_cl_native(&r, r.status) == 0, "a FINISH's sticky report");
    CHECK(ferry_cl_native(NULL, FERRY_STATUS_DEVICE_ERROR) == 0, "no reply");
    r = failed(FERRY_STATUS_OK, word(FERRY_NATIVE_API_OPENCL, CL_INVALID_VALUE));
    CHECK(ferry_cl_native(&r, r.status) == 0, "a success has no error");

    if (failures) {
        printf("unit_errors_test: %d failed\n", failures);
        return 1;
    }
    printf("unit_errors_test: passed\n");
    return 0;
}
