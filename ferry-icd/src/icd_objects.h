/* icd_objects.h: what icd_platform.c, icd_context.c and icd_program.c share among themselves (not part of the
 * shared helpers in icd.h): the INFO query of the host's real objects, device lookup, and the wire ops that the
 * catalogue adds for the ICD (with fallbacks until ferry_wire.h carries them). */
#ifndef FERRY_ICD_OBJECTS_H
#define FERRY_ICD_OBJECTS_H

#include "icd.h"

/* Until the regenerated ferry_wire.h carries the ICD's ops (branch icd-host). */
#ifndef FERRY_OP_INFO
#define FERRY_OP_INFO 44
#define FERRY_INFO_ARGC 6
#define FERRY_OP_PROGRAM_CREATE_BINARY 45
#define FERRY_PROGRAM_CREATE_BINARY_ARGC 4
#define FERRY_OP_PROGRAM_COMPILE 46
#define FERRY_PROGRAM_COMPILE_ARGC 2
#define FERRY_OP_PROGRAM_LINK 47
#define FERRY_PROGRAM_LINK_ARGC 3
#endif

/* INFO kinds (docs/protocol.md, INFO). */
enum ferry_info_kind {
    FERRY_INFO_DEVICE = 1, FERRY_INFO_PROGRAM = 2, FERRY_INFO_PROGRAM_BUILD = 3, FERRY_INFO_KERNEL = 4,
    FERRY_INFO_KERNEL_ARG = 5, FERRY_INFO_KERNEL_WORK_GROUP = 6, FERRY_INFO_IMAGE_FORMATS = 7
};

/* Asks the host for the raw clGet*Info answer of one of its objects. On CL_SUCCESS *out is malloc'd (size bytes,
 * plus a NUL after them; free it) and *size the answer's size. heap_offset/heap_size: a heap range the host writes
 * a large answer into (the bytes are then at the heap, *out holds nothing useful); 0, 0 for the blob.
 * Returns CL_SUCCESS; CL_INVALID_VALUE when the host's object does not answer param; CL_INVALID_OPERATION when the
 * host's backend has no INFO (*unsupported set to 1 if unsupported is not NULL); else the mapped error. */
cl_int ferry_query(int kind, uint64_t handle, uint64_t param, uint64_t index, int64_t heap_offset,
                   uint64_t heap_size, void **out, size_t *size, int *unsupported, const char *call);

/* The process's devices (made at the first call that needs them; 0 when the host cannot be reached). */
cl_uint ferry_device_count_icd(void);
cl_device_id ferry_device_at(cl_uint i);
int ferry_valid_device(cl_device_id d);

/* A device's address width in bytes (CL_DEVICE_ADDRESS_BITS / 8; 8 when unknown). */
size_t ferry_device_pointer_size(cl_device_id d);

/* Context reference counting for objects that hold their context. */
void ferry_context_retain(cl_context c);
void ferry_context_release(cl_context c);

#endif
