/* tee_client_api.h: the GlobalPlatform TEE Client API (v1.0) as Ferry's libteec provides it, binary-compatible with
 * OP-TEE's client library on Linux: the same names, values, struct layouts and function signatures, so a program
 * built against OP-TEE's header runs against Ferry's libteec.so.2 unchanged (and one built against this header runs
 * against OP-TEE's).
 *
 * Two layouts of the implementation-defined fields exist, both with the same public fields at the same offsets:
 *   libteec.so.2 (optee_client 4.2 and later, the default here): private fields inside an `imp` member;
 *                TEEC_SharedMemory is 56 bytes on LP64.
 *   libteec.so.1 (optee_client 4.1 and older): private fields at the top level; TEEC_SharedMemory is 48 bytes.
 *                Define TEEC_FERRY_ABI_V1 before including this header to build against that layout (and link
 *                libteec.so.1).
 * Written for Ferry from the GP specification's values and OP-TEE's ABI (docs/tee.md, "libteec"). What the private
 * fields hold in Ferry's library is its own business; programs must not touch them. */
#ifndef TEE_CLIENT_API_H
#define TEE_CLIENT_API_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of one operation. */
#define TEEC_CONFIG_PAYLOAD_REF_COUNT 4
/* No fixed limit on one shared-memory block here (the host has its own limits: docs/tee.md). */
#define TEEC_CONFIG_SHAREDMEM_MAX_SIZE ULONG_MAX

/* Parameter types, one 4-bit type per parameter in TEEC_Operation.paramTypes. */
#define TEEC_NONE 0x00000000
#define TEEC_VALUE_INPUT 0x00000001
#define TEEC_VALUE_OUTPUT 0x00000002
#define TEEC_VALUE_INOUT 0x00000003
#define TEEC_MEMREF_TEMP_INPUT 0x00000005
#define TEEC_MEMREF_TEMP_OUTPUT 0x00000006
#define TEEC_MEMREF_TEMP_INOUT 0x00000007
#define TEEC_MEMREF_WHOLE 0x0000000C
#define TEEC_MEMREF_PARTIAL_INPUT 0x0000000D
#define TEEC_MEMREF_PARTIAL_OUTPUT 0x0000000E
#define TEEC_MEMREF_PARTIAL_INOUT 0x0000000F

/* Shared-memory direction flags (TEEC_SharedMemory.flags). */
#define TEEC_MEM_INPUT 0x00000001
#define TEEC_MEM_OUTPUT 0x00000002

/* Return codes (TEEC_Result). */
#define TEEC_SUCCESS 0x00000000
#define TEEC_ERROR_STORAGE_NOT_AVAILABLE 0xF0100003
#define TEEC_ERROR_GENERIC 0xFFFF0000
#define TEEC_ERROR_ACCESS_DENIED 0xFFFF0001
#define TEEC_ERROR_CANCEL 0xFFFF0002
#define TEEC_ERROR_ACCESS_CONFLICT 0xFFFF0003
#define TEEC_ERROR_EXCESS_DATA 0xFFFF0004
#define TEEC_ERROR_BAD_FORMAT 0xFFFF0005
#define TEEC_ERROR_BAD_PARAMETERS 0xFFFF0006
#define TEEC_ERROR_BAD_STATE 0xFFFF0007
#define TEEC_ERROR_ITEM_NOT_FOUND 0xFFFF0008
#define TEEC_ERROR_NOT_IMPLEMENTED 0xFFFF0009
#define TEEC_ERROR_NOT_SUPPORTED 0xFFFF000A
#define TEEC_ERROR_NO_DATA 0xFFFF000B
#define TEEC_ERROR_OUT_OF_MEMORY 0xFFFF000C
#define TEEC_ERROR_BUSY 0xFFFF000D
#define TEEC_ERROR_COMMUNICATION 0xFFFF000E
#define TEEC_ERROR_SECURITY 0xFFFF000F
#define TEEC_ERROR_SHORT_BUFFER 0xFFFF0010
#define TEE_ERROR_EXTERNAL_CANCEL 0xFFFF0011
#define TEEC_ERROR_EXTERNAL_CANCEL 0xFFFF0011
#define TEE_ERROR_OVERFLOW 0xFFFF300F
#define TEE_ERROR_TARGET_DEAD 0xFFFF3024
#define TEEC_ERROR_TARGET_DEAD 0xFFFF3024
#define TEE_ERROR_STORAGE_NO_SPACE 0xFFFF3041
#define TEEC_ERROR_STORAGE_NO_SPACE 0xFFFF3041
#define TEE_ERROR_MAC_INVALID 0xFFFF3071
#define TEE_ERROR_SIGNATURE_INVALID 0xFFFF3072
#define TEE_ERROR_TIME_NOT_SET 0xFFFF5000
#define TEE_ERROR_TIME_NEEDS_RESET 0xFFFF5001

/* Where a result came from (the returnOrigin of TEEC_OpenSession and TEEC_InvokeCommand). */
#define TEEC_ORIGIN_API 0x00000001          /* this library's own checks */
#define TEEC_ORIGIN_COMMS 0x00000002        /* the path to the TEE (for Ferry: the connection and the host) */
#define TEEC_ORIGIN_TEE 0x00000003          /* the TEE itself */
#define TEEC_ORIGIN_TRUSTED_APP 0x00000004  /* the trusted application */

/* Login methods (TEEC_OpenSession's connectionMethod). */
#define TEEC_LOGIN_PUBLIC 0x00000000
#define TEEC_LOGIN_USER 0x00000001
#define TEEC_LOGIN_GROUP 0x00000002
#define TEEC_LOGIN_APPLICATION 0x00000004
#define TEEC_LOGIN_USER_APPLICATION 0x00000005
#define TEEC_LOGIN_GROUP_APPLICATION 0x00000006

/* Packs four parameter types into paramTypes, and takes one back out. */
#define TEEC_PARAM_TYPES(p0, p1, p2, p3) ((p0) | ((p1) << 4) | ((p2) << 8) | ((p3) << 12))
#define TEEC_PARAM_TYPE_GET(p, i) (((p) >> ((i) * 4)) & 0xF)

typedef uint32_t TEEC_Result;

/* A connection to a TEE. Private: imp.fd names the context in this library (a positive id, not a descriptor). */
#ifdef TEEC_FERRY_ABI_V1
typedef struct {
    int fd;
    bool reg_mem;
    bool memref_null;
} TEEC_Context;
#else
typedef struct {
    struct {
        int fd;
        bool reg_mem;
        bool memref_null;
    } imp;
} TEEC_Context;
#endif

/* A trusted application's identity (RFC 4122 fields). */
typedef struct {
    uint32_t timeLow;
    uint16_t timeMid;
    uint16_t timeHiAndVersion;
    uint8_t clockSeqAndNode[8];
} TEEC_UUID;

/* Memory shared with the TEE: buffer, size and flags are the application's; the rest is the library's. */
#ifdef TEEC_FERRY_ABI_V1
typedef struct {
    void *buffer;
    size_t size;
    uint32_t flags;
    int id;
    size_t alloced_size;
    void *shadow_buffer;
    int registered_fd;
    union {
        bool dummy;
        uint8_t flags;
    } internal;
} TEEC_SharedMemory;
#else
typedef struct {
    void *buffer;
    size_t size;
    uint32_t flags;
    struct {
        int id;
        size_t alloced_size;
        void *shadow_buffer;
        int registered_fd;
        uint32_t flags;
    } imp;
} TEEC_SharedMemory;
#endif

/* A buffer shared for the duration of one operation. */
typedef struct {
    void *buffer;
    size_t size;
} TEEC_TempMemoryReference;

/* A window [offset, offset + size) of registered or allocated shared memory (parent must not be NULL). */
typedef struct {
    TEEC_SharedMemory *parent;
    size_t size;
    size_t offset;
} TEEC_RegisteredMemoryReference;

/* Two 32-bit values. */
typedef struct {
    uint32_t a;
    uint32_t b;
} TEEC_Value;

/* One parameter: what it is, paramTypes says. */
typedef union {
    TEEC_TempMemoryReference tmpref;
    TEEC_RegisteredMemoryReference memref;
    TEEC_Value value;
} TEEC_Parameter;

/* A session with a trusted application. */
#ifdef TEEC_FERRY_ABI_V1
typedef struct {
    TEEC_Context *ctx;
    uint32_t session_id;
} TEEC_Session;
#else
typedef struct {
    struct {
        TEEC_Context *ctx;
        uint32_t session_id;
    } imp;
} TEEC_Session;
#endif

/* The parameters of an OpenSession or InvokeCommand. Set started to 0 before a call that may be cancelled: a
 * cancellation requested while it is 0 cancels the call about to start; the library sets it to 1 when the call
 * starts, after which a cancellation reaches only that call while it runs. */
#ifdef TEEC_FERRY_ABI_V1
typedef struct {
    uint32_t started;
    uint32_t paramTypes;
    TEEC_Parameter params[TEEC_CONFIG_PAYLOAD_REF_COUNT];
    TEEC_Session *session;
} TEEC_Operation;
#else
typedef struct {
    uint32_t started;
    uint32_t paramTypes;
    TEEC_Parameter params[TEEC_CONFIG_PAYLOAD_REF_COUNT];
    struct {
        TEEC_Session *session;
    } imp;
} TEEC_Operation;
#endif

#if defined(__LP64__) && !defined(__cplusplus)
/* The layouts OP-TEE's libteec has on 64-bit Linux: a mismatch here would break binary compatibility. */
_Static_assert(sizeof(TEEC_UUID) == 16, "TEEC_UUID is 16 bytes");
_Static_assert(sizeof(TEEC_Context) == 8, "TEEC_Context is 8 bytes");
_Static_assert(sizeof(TEEC_Session) == 16, "TEEC_Session is 16 bytes");
_Static_assert(sizeof(TEEC_Parameter) == 24, "TEEC_Parameter is 24 bytes");
_Static_assert(sizeof(TEEC_Operation) == 112, "TEEC_Operation is 112 bytes");
_Static_assert(offsetof(TEEC_Operation, params) == 8, "params follow started and paramTypes");
_Static_assert(offsetof(TEEC_SharedMemory, flags) == 16, "flags follow buffer and size");
#ifdef TEEC_FERRY_ABI_V1
_Static_assert(sizeof(TEEC_SharedMemory) == 48, "TEEC_SharedMemory is 48 bytes in libteec.so.1");
#else
_Static_assert(sizeof(TEEC_SharedMemory) == 56, "TEEC_SharedMemory is 56 bytes in libteec.so.2");
#endif
#endif

TEEC_Result TEEC_InitializeContext(const char *name, TEEC_Context *context);
void TEEC_FinalizeContext(TEEC_Context *context);
TEEC_Result TEEC_OpenSession(TEEC_Context *context, TEEC_Session *session, const TEEC_UUID *destination,
                             uint32_t connectionMethod, const void *connectionData, TEEC_Operation *operation,
                             uint32_t *returnOrigin);
void TEEC_CloseSession(TEEC_Session *session);
TEEC_Result TEEC_InvokeCommand(TEEC_Session *session, uint32_t commandID, TEEC_Operation *operation,
                               uint32_t *returnOrigin);
TEEC_Result TEEC_RegisterSharedMemory(TEEC_Context *context, TEEC_SharedMemory *sharedMem);
TEEC_Result TEEC_AllocateSharedMemory(TEEC_Context *context, TEEC_SharedMemory *sharedMem);
void TEEC_ReleaseSharedMemory(TEEC_SharedMemory *sharedMemory);
void TEEC_RequestCancellation(TEEC_Operation *operation);

#ifdef __cplusplus
}
#endif

#endif
