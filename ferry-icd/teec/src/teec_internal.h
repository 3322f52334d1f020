/* teec_internal.h: what libteec's files share (teec.c: contexts, sessions, shared memory, cancellation;
 * teec_call.c: one OpenSession or InvokeCommand on the wire; teec_direct.c: a session's direct TEE lane). The same
 * sources build libteec.so.2 and, with TEEC_FERRY_ABI_V1, libteec.so.1: only the accessors of the
 * implementation-defined fields below differ. */
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

/* (TA, login) pairs whose sessions the host gave no direct lane, remembered per connection (the newest replace the
 * oldest) */
#define NO_DIRECT_TAS 16

/* One connection to the host, shared by the contexts initialized while it lived (handles are unique on it). */
typedef struct teec_conn {
    ferry_conn *conn;
    int users;                              /* contexts on it, and direct lanes not yet freed */
    int64_t cancel_page;                    /* heap offset of CANCEL_SLOTS words */
    TEEC_Operation *in_flight[CANCEL_SLOTS];/* the operation using each word; NULL: free */
    uint64_t no_direct[NO_DIRECT_TAS][4];   /* TA UUID (high, low), login, group: TEE_DIRECT answered NOT_SUPPORTED */
    unsigned no_direct_count;
    int no_direct_at_all;                   /* TEE_DIRECT failed with a Ferry status: not asked again here */
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

/* A session's direct lane (docs/protocol.md, "Direct TEE lanes"; teec_direct.c): a heap block laid out as a
 * TeeLane, which the TA instance's process serves. Kept in its context's list until its session closes; freed when
 * its session is closed on the host and no call holds it. */
typedef struct teec_lane {
    uint32_t session;
    teec_conn *tc;          /* the lane holds one of its users until it is freed */
    int64_t block;          /* its heap block */
    uint8_t *base;          /* the block in this process */
    uint64_t size;
    pthread_mutex_t lock;   /* one call at a time; the fields to `dead` */
    uint64_t seq;           /* the last request published */
    int dead;               /* a call was left unanswered (the connection ended): calls take the ring */
    TEEC_Operation *op;     /* teec_lock: the operation in flight, for TEEC_RequestCancellation */
    uint64_t op_seq;        /* teec_lock: its request's number */
    int users;              /* teec_lock: calls holding the lane */
    int detached;           /* teec_lock (read atomically while waiting): its session is closed, the lane unlisted */
    struct teec_lane *next;
} teec_lane;

typedef struct teec_ctx {
    int id;
    teec_conn *tc;
    uint32_t *sessions;
    size_t session_count, session_cap;
    teec_lane *lanes;       /* the direct lanes of its sessions */
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
/* Drops a user of tc; the last one disconnects it. */
void teec_conn_release(teec_conn *tc);

/* A Ferry-level failure of a TEE call (status st, the host's text) as a GP result, as the Java API maps it: a guest
 * the host gives no tee service gets ACCESS_DENIED, a host without a TEE NOT_SUPPORTED, anything else (a lost or
 * closed connection) COMMUNICATION; origin COMMS. Logs why with FERRY_LOG=1. */
TEEC_Result teec_failure(const char *fn, int st, const char *text, uint32_t *origin);

/* teec_call.c: one OPEN_SESSION or INVOKE with its parameter block. args are the op's arguments but the cancel
 * word, which this fills in. operation may be NULL (no parameters). ctx is looked up again under the lock. */
TEEC_Result teec_call(int ctx_id, int op, uint64_t *args, int argc, TEEC_Operation *operation, uint32_t *origin);

/* The parameter block (io.ferry.protocol.TeeWire): types u32 and a reserved u32, then 4 parameters of (a, b, c,
 * reserved) u64, little-endian (the transport is little-endian only). */
#define BLOCK_LENGTH 136
#define BLOCK_WORDS (BLOCK_LENGTH / 8)
#define FIELD(i, f) (1 + 4 * (i) + (f))     /* u64 index of field f (0 a, 1 b, 2 c) of parameter i */

static inline int is_value(int t) { return t >= TEEC_VALUE_INPUT && t <= TEEC_VALUE_INOUT; }
static inline int is_temp(int t) { return t >= TEEC_MEMREF_TEMP_INPUT && t <= TEEC_MEMREF_TEMP_INOUT; }
static inline int is_registered(int t) { return t == TEEC_MEMREF_WHOLE || t >= TEEC_MEMREF_PARTIAL_INPUT; }

/* One memref as marshalled: where its bytes are, so the answer can be copied back. */
typedef struct teec_memref {
    int type;
    uint8_t *user;          /* the application's bytes of the window (temp: the buffer; registered: user + offset) */
    uint8_t *heap;          /* the copy the TEE sees (a heap block; a direct lane's slot), when it is not the user's
                             * memory itself; else NULL */
    uint64_t size;          /* the window */
    int64_t staged;         /* a heap block this call allocated, or -1 */
    int input;              /* direct lanes: the TEE reads it (its bytes are copied in; else its slot is zeroed) */
    int output;             /* data flows back */
    int direct;             /* heap is a slot of a direct lane (kept when the shared memory is looked up again) */
    uint32_t shm;           /* registered: the shared memory's handle, looked up again before data flows back */
    uint64_t window;        /* registered: the window's offset in it */
} teec_memref;

/* A registered memref's window: its shared memory, the range and the directions its type and flags give. */
typedef struct teec_window {
    teec_shm *shm;
    uint64_t offset, size;
    int in, out;
} teec_window;

/* The window of registered memref i of type `type` (teec_lock held), checked: the shared memory is this context's
 * and live, the range lies inside it, the directions are its flags'. Else BAD_PARAMETERS, origin API, with the
 * reason logged unless quiet. */
TEEC_Result teec_window_of(teec_ctx *ctx, const TEEC_Operation *o, int i, int type, teec_window *w, int quiet,
                           uint32_t *origin);
/* Before data flows back (teec_lock held): each registered output memref's shared memory looked up again. */
void teec_refresh_registered(int ctx_id, teec_memref *m);
/* The answer (block in the parameter block's layout) into the operation: output values, output sizes; data only on
 * SUCCESS, within each window. */
void teec_unmarshal(TEEC_Operation *o, const uint64_t *block, const teec_memref *m, TEEC_Result code);

/* teec_direct.c: direct lanes. After TEEC_OpenSession: offers the session a lane (TEE_DIRECT) where the connection
 * shares its heap and FERRY_TEE_DIRECT is not 0; silent when the host says no (the session keeps the ring). key:
 * the session's TA UUID (high, low), login and group, for remembering a refusal. */
void teec_direct_attach(int ctx_id, uint32_t session, const uint64_t key[4]);
/* TEEC_InvokeCommand on the session's lane: 1 when answered there (*rc, *origin), 0 when the call is to take the
 * ring (no lane, memrefs that do not fit, anything the ring's checks report; nothing was sent). */
int teec_direct_invoke(int ctx_id, uint32_t session, uint32_t command, TEEC_Operation *operation, TEEC_Result *rc,
                       uint32_t *origin);
/* teec_lock held. Unlists the session's lane before its session is closed on the host (NULL: it has none). */
teec_lane *teec_direct_detach(teec_ctx *ctx, uint32_t session);
/* teec_lock held. After the host closed its session (the TA's process reads the lane no more): frees the lane, or
 * leaves that to the last call still holding it. NULL: nothing. */
void teec_direct_release(teec_lane *l);
/* teec_lock held. Cancels o where it is in flight on one of ctx's lanes; 1 when it was. */
int teec_direct_cancel(teec_ctx *ctx, TEEC_Operation *o);

/* teec_direct.c, for TEEC_InvokeCommand and the unit test (which drives them on a lane of its own). One call on l
 * (l->lock held; o not NULL): 1 when answered on the lane (*rc, *origin), 0 when it is to take the ring (nothing was
 * sent). */
int teec_lane_invoke(int ctx_id, teec_lane *l, uint32_t command, TEEC_Operation *o, TEEC_Result *rc,
                     uint32_t *origin);
/* Its request (teec_lock held; ctx NULL: registered memrefs take the ring): kind, command, types (registered memrefs
 * normalized by direction to 5-7), parameters, memref data in 64-byte slots of the data area; m receives each
 * memref's slot. 0, or -1 when the call cannot take the lane (nothing is written then). */
int teec_lane_marshal(teec_ctx *ctx, teec_lane *l, uint32_t command, const TEEC_Operation *o, teec_memref *m);

#endif
