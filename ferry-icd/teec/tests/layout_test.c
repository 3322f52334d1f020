/* layout_test: the libteec.so.2 layout of OP-TEE's optee_client 4.2 and later on LP64, field by field (the header
 * asserts the sizes; this the offsets an application compiled against OP-TEE's header reads). Compile-time only;
 * running it just says so. */
#include <stddef.h>
#include "teectest.h"

#ifdef __LP64__
_Static_assert(sizeof(TEEC_SharedMemory) == 56, "TEEC_SharedMemory");
_Static_assert(offsetof(TEEC_SharedMemory, buffer) == 0, "buffer");
_Static_assert(offsetof(TEEC_SharedMemory, size) == 8, "size");
_Static_assert(offsetof(TEEC_SharedMemory, flags) == 16, "flags");
_Static_assert(offsetof(TEEC_SharedMemory, imp) == 24, "imp");
_Static_assert(offsetof(TEEC_SharedMemory, imp.alloced_size) == 32, "imp.alloced_size");
_Static_assert(offsetof(TEEC_SharedMemory, imp.shadow_buffer) == 40, "imp.shadow_buffer");
_Static_assert(offsetof(TEEC_SharedMemory, imp.registered_fd) == 48, "imp.registered_fd");
_Static_assert(offsetof(TEEC_SharedMemory, imp.flags) == 52, "imp.flags");
_Static_assert(sizeof(TEEC_Context) == 8 && offsetof(TEEC_Context, imp.fd) == 0, "TEEC_Context");
_Static_assert(sizeof(TEEC_Session) == 16 && offsetof(TEEC_Session, imp.session_id) == 8, "TEEC_Session");
_Static_assert(sizeof(TEEC_Operation) == 112, "TEEC_Operation");
_Static_assert(offsetof(TEEC_Operation, paramTypes) == 4, "paramTypes");
_Static_assert(offsetof(TEEC_Operation, params) == 8, "params");
_Static_assert(offsetof(TEEC_Operation, imp.session) == 104, "imp.session");
_Static_assert(sizeof(TEEC_Parameter) == 24, "TEEC_Parameter");
_Static_assert(offsetof(TEEC_RegisteredMemoryReference, size) == 8, "memref.size");
_Static_assert(offsetof(TEEC_RegisteredMemoryReference, offset) == 16, "memref.offset");
_Static_assert(offsetof(TEEC_TempMemoryReference, size) == 8, "tmpref.size");
_Static_assert(sizeof(TEEC_Value) == 8 && offsetof(TEEC_Value, b) == 4, "TEEC_Value");
_Static_assert(sizeof(TEEC_UUID) == 16 && offsetof(TEEC_UUID, clockSeqAndNode) == 8, "TEEC_UUID");
#endif
_Static_assert(TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_MEMREF_WHOLE, TEEC_NONE, TEEC_MEMREF_PARTIAL_INOUT) == 0xF0C3,
               "TEEC_PARAM_TYPES");
_Static_assert(TEEC_PARAM_TYPE_GET(0xF0C3, 1) == TEEC_MEMREF_WHOLE, "TEEC_PARAM_TYPE_GET");
_Static_assert(TEEC_ERROR_SHORT_BUFFER == 0xFFFF0010 && TEEC_ERROR_TARGET_DEAD == 0xFFFF3024, "codes");

int main(void) {
    return finish("layout_test");
}
