/* icd_objects.h: what icd_platform.c, icd_context.c and icd_program.c share among themselves (not part of the
 * shared helpers in icd.h): the INFO query of the host's real objects (kinds FERRY_INFO_x), device lookup, and
 * context reference counting. */
#ifndef FERRY_ICD_OBJECTS_H
#define FERRY_ICD_OBJECTS_H

#include "icd.h"

/* Asks the host for the raw clGet*Info answer of one of its objects. On CL_SUCCESS *out is malloc'd (size bytes,
 * plus a NUL after them; free it) and *size the answer's size. heap_offset/heap_size: a heap range the host writes
 * a large answer into (the bytes are then at the heap; CL_OUT_OF_RESOURCES if the range was too small); 0, 0
 * for the blob.
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

/* A registered callback (context destructors, program release callbacks): called last registered first. */
struct ferry_callback {
    struct ferry_callback *next;
    void (CL_CALLBACK *fn)(void *object, void *user_data);
    void *user_data;
};

/* Registers a callback at the head of list (under lock): CL_OUT_OF_HOST_MEMORY or CL_SUCCESS. */
cl_int ferry_callback_push(struct ferry_callback **list, pthread_mutex_t *lock,
                           void (CL_CALLBACK *fn)(void *, void *), void *user_data);
/* Calls each callback of list with object, last registered first, and frees them. */
void ferry_callbacks_run(struct ferry_callback *list, void *object);

/* Context reference counting for objects that hold their context. */
void ferry_context_retain(cl_context c);
void ferry_context_release(cl_context c);

/* Programs and kernels (icd_program.c, icd_kernel.c): the program's reference dropped (the host's program is
 * released with the last); a program's per-kernel-name argument info freed. */
void ferry_program_release(cl_program p);
void ferry_kernel_infos_free(struct ferry_kernel_info *infos);

/* icd_includes.c: source with the #includes that the build options' -I directories resolve in the guest replaced
 * by the files' text (malloc'd), or NULL when nothing was inlined. */
char *ferry_inline_includes(const char *source, size_t length, const char *options);

#endif
