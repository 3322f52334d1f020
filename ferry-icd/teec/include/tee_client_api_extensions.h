/* tee_client_api_extensions.h: the one extension of OP-TEE's client library that Ferry's libteec provides, under
 * the same header name and signature, so that programs written for OP-TEE build and link unchanged
 * (docs/tee.md, "libteec"). */
#ifndef TEE_CLIENT_API_EXTENSIONS_H
#define TEE_CLIENT_API_EXTENSIONS_H

#include "tee_client_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers sharedMem->size bytes from the start of the memory behind fd (a memfd, a dma-buf, a file) as shared
 * memory of the context, with sharedMem->flags; sharedMem->buffer is left NULL. In Ferry the bytes are copied to the
 * TEE and back around each call that names them. Release it with TEEC_ReleaseSharedMemory; the caller keeps fd. */
TEEC_Result TEEC_RegisterSharedMemoryFileDescriptor(TEEC_Context *context, TEEC_SharedMemory *sharedMem, int fd);

#ifdef __cplusplus
}
#endif

#endif
