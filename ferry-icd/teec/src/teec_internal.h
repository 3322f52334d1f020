/* teec_internal.h: what libteec's files share (teec.c: contexts, sessions, shared memory, cancellation;
 * teec_call.c: one OpenSession or InvokeCommand on the wire). The same sources build libteec.so.2 and, with
 * TEEC_FERRY_ABI_V1, libteec.so.1: only the accessors of the implementation-defined fields below differ. */
#ifndef FERRY_TEEC_INTERNAL_H
#define FERRY_TEEC_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include "tee_client_api.h"
#include "transport.h"

#define EXPORT __attribute__((visibility("default")))

#ifdef TEEC_FERRY_ABI_V1
#define CTX_ID(c) ((c)->fd)
#define SESSION_CTX(s) ((s)->ctx)
#define SESSION_ID(s) ((s)->session_id)
#define OP_SESSION(o) ((o)->session)
#define SHM_ID(m) ((m)->id)
#define SHM_ALLOCED(m) ((m)->alloced_size)
#define SHM_SHADOW(m) ((m)->shadow_buffer)
#define SHM_CTX(m) ((m)->registered_fd)
#define SHM_KIND(m) ((m)->internal.flags)
#else
#define CTX_ID(c) ((c)->imp.fd)
#define SESSION_CTX(s) ((s)->imp.ctx)
#define SESSION_ID(s) ((s)->imp.session_id)
#define OP_SESSION(o) ((o)->imp.session)
#define SHM_ID(m) ((m)->imp.id)
#define SHM_ALLOCED(m) ((m)->imp.alloced_size)
#define SHM_SHADOW(m) ((m)->imp.shadow_buffer)
#define SHM_CTX(m) ((m)->imp.registered_fd)
#define SHM_KIND(m) ((m)->imp.flags)
#endif

/* SHM_KIND bits (informational: the library's own records decide) */
#define KIND_ALLOCATED 1u
#define KIND_SHADOWED 2u
#define KIND_FD 4u

#define CANCEL_SLOTS 512
/* TEEC_Operation.started while a cancellation waits for the call about to start (set from 0 by
 * TEEC_RequestCancellation; the call sets 1). */
#define STARTED_CANCEL_PENDING 2u

/* One connection to the host, shared by the contexts initialized while it lived (handles are unique on it). */
typedef struct teec_conn {
    ferry_conn *conn;
    int users;                              /* contexts on it */
    int64_t cancel_page;                    /* heap offset of CANCEL_SLOTS words */
    TEEC_Operation *in_flight[CANCEL_SLOTS];/* the operation using each word; NULL: free */
    struct teec_conn *next;
} teec_conn;

/* A shared-memory registration as the library recorded it (the application's struct only names it by id). */
typedef struct teec_shm {
    uint32_t handle;
    uint32_t flags;
    uint8_t *user;          /* the application's buffer (for allocated memory: the heap block) */
    uint64_t size;
    uint8_t *shadow;        /* heap copy of memory outside the heap, or NULL */
    int64_t block;          /* heap block this library allocated (shadow or allocation), or -1 */
    void *mapping;          /* TEEC_RegisterSharedMemoryFileDescriptor: this library's mapping of the fd, or NULL */
} teec_shm;

typedef struct teec_ctx {
    int id;
    teec_conn *tc;
    uint32_t *sessions;
    size_t session_count, session_cap;
    teec_shm *shms;
    size_t shm_count, shm_cap;
    struct teec_ctx *next;
} teec_ctx;

/* The library's lock: contexts, their records, connections, cancel words. */
extern pthread_mutex_t teec_lock;

/* teec.c (teec_lock held) */
teec_ctx *teec_find_ctx(int id);
/* The record of shared memory `handle` in ctx, or NULL. */
teec_shm *teec_find_shm(teec_ctx *ctx, uint32_t handle);
int teec_has_session(teec_ctx *ctx, uint32_t handle);

/* A Ferry-level failure of a TEE call (status st, the host's text) as a GP result, as the Java API maps it: a guest
 * the host gives no tee service gets ACCESS_DENIED, a host without a TEE NOT_SUPPORTED, anything else (a lost or
 * closed connection) COMMUNICATION; origin COMMS. Logs why with FERRY_LOG=1. */
TEEC_Result teec_failure(const char *fn, int st, const char *text, uint32_t *origin);

/* teec_call.c: one OPEN_SESSION or INVOKE with its parameter block. args are the op's arguments but the cancel
 * word, which this fills in. operation may be NULL (no parameters). ctx is looked up again under the lock. */
TEEC_Result teec_call(int ctx_id, int op, uint64_t *args, int argc, TEEC_Operation *operation, uint32_t *origin);

#endif
