/* teec.c: Ferry's libteec, the GlobalPlatform TEE Client API for guests (tee_client_api.h; docs/tee.md "libteec").
 * Contexts share one connection to the host per process (the transport of the OpenCL ICD, built from the same
 * sources), made at the first TEEC_InitializeContext and ended with the last TEEC_FinalizeContext; a connection
 * that broke is replaced for contexts initialized after it. Handles (sessions and shared memory) come from the
 * connection, so they are unique across contexts. The library keeps its own record of every context, session and
 * registration; the application's structs only name them (imp fields), so a stale or foreign struct is refused,
 * never followed. A session with a direct lane to its TA (teec_direct.c) invokes there. The Java twin is
 * ferry-client's io.ferry.client.tee. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "teec_internal.h"

const ferry_client_id ferry_client = {"ferry-libteec", "the TEE client library (libteec)"};

pthread_mutex_t teec_lock = PTHREAD_MUTEX_INITIALIZER;
static teec_conn *current;      /* the connection new contexts use */
static teec_conn *conns;        /* every connection with contexts */
static teec_ctx *contexts;
static int next_ctx_id = 1;

/* ---- records (teec_lock held) ---- */

teec_ctx *teec_find_ctx(int id) {
    for (teec_ctx *x = contexts; x != NULL; x = x->next) {
        if (x->id == id && id > 0) return x;
    }
    return NULL;
}

teec_shm *teec_find_shm(teec_ctx *ctx, uint32_t handle) {
    for (size_t i = 0; ctx != NULL && i < ctx->shm_count; i++) {
        if (ctx->shms[i].handle == handle) return &ctx->shms[i];
    }
    return NULL;
}

int teec_has_session(teec_ctx *ctx, uint32_t handle) {
    for (size_t i = 0; ctx != NULL && i < ctx->session_count; i++) {
        if (ctx->sessions[i] == handle) return 1;
    }
    return 0;
}

static int grow(void **list, size_t *cap, size_t need, size_t item) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 8;
    void *p = realloc(*list, n * item);
    if (p == NULL) return -1;
    *list = p;
    *cap = n;
    return 0;
}

static void remove_session(teec_ctx *ctx, uint32_t handle) {
    for (size_t i = 0; i < ctx->session_count; i++) {
        if (ctx->sessions[i] == handle) {
            ctx->sessions[i] = ctx->sessions[--ctx->session_count];
            return;
        }
    }
}

/* A fresh handle of the connection that fits the 32-bit id fields of the application's structs; 0 when spent. */
static uint32_t new_handle(ferry_conn *c) {
    uint64_t h = ferry_new_handle(c);
    return h > 0 && h <= INT32_MAX ? (uint32_t) h : 0;
}

/* ---- connections ---- */

void teec_conn_release(teec_conn *tc) {
    if (--tc->users > 0) return;
    for (teec_conn **p = &conns; *p != NULL; p = &(*p)->next) {
        if (*p == tc) {
            *p = tc->next;
            break;
        }
    }
    if (current == tc) current = NULL;
    ferry_heap_free(tc->conn, tc->cancel_page);
    ferry_disconnect(tc->conn);
    free(tc);
}

/* The connection for a new context: the current one while it lives, else a new one. */
static TEEC_Result conn_acquire(teec_conn **out) {
    if (current != NULL && ferry_broken(current->conn, NULL, 0) == 0) {
        current->users++;
        *out = current;
        return TEEC_SUCCESS;
    }
    char err[1024];
    ferry_conn *c = NULL;
    int st = ferry_connect(&c, err, sizeof err);
    if (st != 0) {
        /* printed always (as OP-TEE's libteec reports a missing TEE): the application sees only the code */
        fprintf(stderr, "%s: TEEC_InitializeContext: cannot connect to a Ferry host: %s\n", ferry_client.log_prefix,
                err);
        return TEEC_ERROR_COMMUNICATION;
    }
    teec_conn *tc = calloc(1, sizeof *tc);
    int64_t page = tc == NULL ? -1 : ferry_heap_alloc(c, 8 * CANCEL_SLOTS);
    if (page < 0) {
        fprintf(stderr, "%s: TEEC_InitializeContext: out of memory for the cancel words\n", ferry_client.log_prefix);
        free(tc);
        ferry_disconnect(c);
        return TEEC_ERROR_OUT_OF_MEMORY;
    }
    memset(ferry_heap_base(c) + page, 0, 8 * CANCEL_SLOTS);
    tc->conn = c;
    tc->users = 1;
    tc->cancel_page = page;
    tc->next = conns;
    conns = tc;
    current = tc;
    *out = tc;
    return TEEC_SUCCESS;
}

/* ---- contexts ---- */

EXPORT TEEC_Result TEEC_InitializeContext(const char *name, TEEC_Context *context) {
    if (context == NULL) return TEEC_ERROR_BAD_PARAMETERS;
    /* "optee-tz" is the one name OP-TEE's library takes (asking for OP-TEE on TrustZone): a program written for
     * OP-TEE that passes it gets the host's TEE, as it gets it with NULL */
    if (name != NULL && strcmp(name, "ferry") != 0 && strcmp(name, "optee-tz") != 0) {
        ferry_log("TEEC_InitializeContext: no TEE named '%s' (NULL, \"ferry\" or \"optee-tz\": the host's TEE)",
                  name);
        return TEEC_ERROR_ITEM_NOT_FOUND;
    }
    teec_ctx *x = calloc(1, sizeof *x);
    if (x == NULL) return TEEC_ERROR_OUT_OF_MEMORY;
    pthread_mutex_lock(&teec_lock);
    TEEC_Result rc = conn_acquire(&x->tc);
    if (rc == TEEC_SUCCESS) {
        x->id = next_ctx_id++;
        if (next_ctx_id == INT32_MAX) next_ctx_id = 1;
        x->next = contexts;
        contexts = x;
        memset(context, 0, sizeof *context);
        CTX_ID(context) = x->id;
    } else {
        free(x);
    }
    pthread_mutex_unlock(&teec_lock);
    return rc;
}

static void release_record(teec_conn *tc, teec_shm *m) {
    ferry_send(tc->conn, FERRY_OP_TEE_SHM_RELEASE, (uint64_t[]) {m->handle}, FERRY_TEE_SHM_RELEASE_ARGC, NULL, 0, 0);
    if (m->block >= 0) ferry_heap_free(tc->conn, m->block);
    if (m->mapping != NULL) munmap(m->mapping, m->size);
}

/* GP asks the application to close its sessions and release its memory first; what it left open is closed here
 * (as ferry-client's TeeContext.close). */
EXPORT void TEEC_FinalizeContext(TEEC_Context *context) {
    if (context == NULL) return;
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(CTX_ID(context));
    if (x == NULL) {
        pthread_mutex_unlock(&teec_lock);
        return;
    }
    for (teec_ctx **p = &contexts; *p != NULL; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    for (size_t i = 0; i < x->session_count; i++) {
        teec_lane *lane = teec_direct_detach(x, x->sessions[i]);
        ferry_call(x->tc->conn, FERRY_OP_TEE_CLOSE_SESSION, (uint64_t[]) {x->sessions[i]},
                   FERRY_TEE_CLOSE_SESSION_ARGC, NULL, 0, NULL);
        teec_direct_release(lane);
    }
    for (size_t i = 0; i < x->shm_count; i++) {
        release_record(x->tc, &x->shms[i]);
    }
    teec_conn_release(x->tc);
    pthread_mutex_unlock(&teec_lock);
    free(x->sessions);
    free(x->shms);
    free(x);
    CTX_ID(context) = 0;
}

/* ---- sessions ---- */

EXPORT TEEC_Result TEEC_OpenSession(TEEC_Context *context, TEEC_Session *session, const TEEC_UUID *destination,
                                    uint32_t connectionMethod, const void *connectionData,
                                    TEEC_Operation *operation, uint32_t *returnOrigin) {
    uint32_t origin_local;
    uint32_t *origin = returnOrigin != NULL ? returnOrigin : &origin_local;
    *origin = TEEC_ORIGIN_API;
    if (context == NULL || session == NULL || destination == NULL) {
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    uint64_t group = 0;
    if (connectionMethod == TEEC_LOGIN_GROUP) {
        if (connectionData == NULL) {
            ferry_log("TEEC_OpenSession: a GROUP login needs connectionData (a uint32_t group id)");
            return TEEC_ERROR_BAD_PARAMETERS;
        }
        group = *(const uint32_t *) connectionData;
    }
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(CTX_ID(context));
    uint32_t handle = x == NULL ? 0 : new_handle(x->tc->conn);
    pthread_mutex_unlock(&teec_lock);
    if (x == NULL) {
        return TEEC_ERROR_BAD_STATE;
    }
    if (handle == 0) {
        return TEEC_ERROR_OUT_OF_MEMORY;
    }
    uint64_t hi = (uint64_t) destination->timeLow << 32 | (uint64_t) destination->timeMid << 16
                  | destination->timeHiAndVersion;
    uint64_t lo = 0;
    for (int i = 0; i < 8; i++) lo = lo << 8 | destination->clockSeqAndNode[i];
    uint64_t args[FERRY_TEE_OPEN_SESSION_ARGC];
    args[FERRY_ARG_TEE_OPEN_SESSION_SESSION] = handle;
    args[FERRY_ARG_TEE_OPEN_SESSION_UUID_HIGH] = hi;
    args[FERRY_ARG_TEE_OPEN_SESSION_UUID_LOW] = lo;
    args[FERRY_ARG_TEE_OPEN_SESSION_LOGIN] = connectionMethod;
    args[FERRY_ARG_TEE_OPEN_SESSION_CONNECTION_DATA] = group;
    int ctx_id = CTX_ID(context);
    TEEC_Result rc = teec_call(ctx_id, FERRY_OP_TEE_OPEN_SESSION, args, FERRY_TEE_OPEN_SESSION_ARGC, operation,
                               origin);
    if (rc != TEEC_SUCCESS) {
        return rc;
    }
    pthread_mutex_lock(&teec_lock);
    x = teec_find_ctx(ctx_id);
    if (x == NULL || grow((void **) &x->sessions, &x->session_cap, x->session_count + 1, sizeof *x->sessions)) {
        ferry_conn *c = x == NULL ? NULL : x->tc->conn;
        pthread_mutex_unlock(&teec_lock);
        if (c != NULL) { /* the host opened it: close it there rather than leave it holding a session */
            ferry_call(c, FERRY_OP_TEE_CLOSE_SESSION, (uint64_t[]) {handle}, FERRY_TEE_CLOSE_SESSION_ARGC, NULL, 0,
                       NULL);
        }
        *origin = TEEC_ORIGIN_API;
        return x == NULL ? TEEC_ERROR_BAD_STATE : TEEC_ERROR_OUT_OF_MEMORY;
    }
    x->sessions[x->session_count++] = handle;
    pthread_mutex_unlock(&teec_lock);
    teec_direct_attach(ctx_id, handle, (uint64_t[]) {hi, lo, connectionMethod, group});
    memset(session, 0, sizeof *session);
    SESSION_CTX(session) = context;
    SESSION_ID(session) = handle;
    if (operation != NULL) OP_SESSION(operation) = session;
    return TEEC_SUCCESS;
}

EXPORT void TEEC_CloseSession(TEEC_Session *session) {
    if (session == NULL || SESSION_CTX(session) == NULL) return;
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(CTX_ID(SESSION_CTX(session)));
    uint32_t handle = SESSION_ID(session);
    ferry_conn *c = NULL;
    teec_lane *lane = NULL;
    if (x != NULL && teec_has_session(x, handle)) {
        remove_session(x, handle);
        lane = teec_direct_detach(x, handle);
        c = x->tc->conn;
    }
    pthread_mutex_unlock(&teec_lock);
    if (c != NULL) {
        ferry_reply r;
        if (ferry_call(c, FERRY_OP_TEE_CLOSE_SESSION, (uint64_t[]) {handle}, FERRY_TEE_CLOSE_SESSION_ARGC, NULL, 0,
                       &r) != 0) {
            ferry_log("TEEC_CloseSession: %s", r.text ? r.text : "the call failed");
        }
        ferry_reply_free(&r);
    }
    if (lane != NULL) {     /* the host closed the session: the TA's process reads its lane no more */
        pthread_mutex_lock(&teec_lock);
        teec_direct_release(lane);
        pthread_mutex_unlock(&teec_lock);
    }
    SESSION_ID(session) = 0;       /* never a handle: a later call answers BAD_STATE, as the Java API */
}

EXPORT TEEC_Result TEEC_InvokeCommand(TEEC_Session *session, uint32_t commandID, TEEC_Operation *operation,
                                      uint32_t *returnOrigin) {
    uint32_t origin_local;
    uint32_t *origin = returnOrigin != NULL ? returnOrigin : &origin_local;
    *origin = TEEC_ORIGIN_API;
    if (session == NULL || SESSION_CTX(session) == NULL) {
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    int ctx_id = CTX_ID(SESSION_CTX(session));
    uint32_t handle = SESSION_ID(session);
    pthread_mutex_lock(&teec_lock);
    int open = teec_has_session(teec_find_ctx(ctx_id), handle);
    pthread_mutex_unlock(&teec_lock);
    if (!open) {
        ferry_log("TEEC_InvokeCommand: session %u is not open in its context", handle);
        return TEEC_ERROR_BAD_STATE;
    }
    if (operation != NULL) OP_SESSION(operation) = session;
    TEEC_Result rc;
    if (teec_direct_invoke(ctx_id, handle, commandID, operation, &rc, origin)) {
        return rc;
    }
    uint64_t args[FERRY_TEE_INVOKE_ARGC];
    args[FERRY_ARG_TEE_INVOKE_SESSION] = handle;
    args[FERRY_ARG_TEE_INVOKE_COMMAND] = commandID;
    return teec_call(ctx_id, FERRY_OP_TEE_INVOKE, args, FERRY_TEE_INVOKE_ARGC, operation, origin);
}

/* ---- shared memory ---- */

/* Allocates (allocate), or registers the application's buffer, or registers this library's mapping of a file
 * descriptor (mapping: then the record owns it, its flags and size are the ones it was mapped with, not read from
 * the application's struct again, and the struct shows no buffer, as OP-TEE's). */
static TEEC_Result share(TEEC_Context *context, TEEC_SharedMemory *shm, int allocate, void *mapping,
                         uint32_t mapped_flags, uint64_t mapped_size) {
    const char *fn = allocate ? "TEEC_AllocateSharedMemory"
                     : mapping != NULL ? "TEEC_RegisterSharedMemoryFileDescriptor" : "TEEC_RegisterSharedMemory";
    if (context == NULL || shm == NULL) return TEEC_ERROR_BAD_PARAMETERS;
    uint32_t flags = mapping != NULL ? mapped_flags : shm->flags;
    uint64_t size = mapping != NULL ? mapped_size : shm->size;
    if (flags == 0 || (flags & ~(uint32_t) (TEEC_MEM_INPUT | TEEC_MEM_OUTPUT)) != 0) {
        ferry_log("%s: flags 0x%x must be TEEC_MEM_INPUT, TEEC_MEM_OUTPUT or both", fn, flags);
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    if (!allocate && mapping == NULL && shm->buffer == NULL && size > 0) {
        ferry_log("%s: a NULL buffer of %llu bytes", fn, (unsigned long long) size);
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(CTX_ID(context));
    ferry_conn *c = x == NULL ? NULL : x->tc->conn;
    uint32_t handle = c == NULL ? 0 : new_handle(c);
    int ctx_id = CTX_ID(context);
    pthread_mutex_unlock(&teec_lock);
    if (c == NULL) return TEEC_ERROR_BAD_STATE;
    if (handle == 0) return TEEC_ERROR_OUT_OF_MEMORY;
    teec_shm m = {.handle = handle, .flags = flags, .user = mapping != NULL ? mapping : shm->buffer, .size = size,
                  .shadow = NULL, .block = -1, .mapping = mapping};
    int64_t offset = 0;
    if (allocate) {
        m.block = ferry_heap_alloc(c, size > 0 ? size : 1);
        m.user = m.block < 0 ? NULL : ferry_heap_base(c) + m.block;
        offset = m.block;
    } else if (size > 0 && (offset = ferry_heap_offset_of(c, m.user, size)) < 0) {
        m.block = ferry_heap_alloc(c, size);
        m.shadow = m.block < 0 ? NULL : ferry_heap_base(c) + m.block;
        offset = m.block;
    }
    if (offset < 0) {
        ferry_log("%s: cannot %s %llu bytes in the region heap (%llu bytes free)", fn,
                  allocate ? "allocate" : "shadow", (unsigned long long) size,
                  (unsigned long long) ferry_heap_free_bytes(c));
        return TEEC_ERROR_OUT_OF_MEMORY;
    }
    uint64_t args[FERRY_TEE_SHM_REGISTER_ARGC];
    args[FERRY_ARG_TEE_SHM_REGISTER_SHM] = handle;
    args[FERRY_ARG_TEE_SHM_REGISTER_HEAP_OFFSET] = (uint64_t) offset;
    args[FERRY_ARG_TEE_SHM_REGISTER_SIZE] = size;
    args[FERRY_ARG_TEE_SHM_REGISTER_FLAGS] = flags;
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_TEE_SHM_REGISTER, args, FERRY_TEE_SHM_REGISTER_ARGC, NULL, 0, &r);
    uint32_t origin;
    TEEC_Result rc = st != 0 ? teec_failure(fn, st, r.text, &origin) : (TEEC_Result) r.results[0];
    if (st == 0 && rc != TEEC_SUCCESS) {
        ferry_log("%s: the host refused to register %llu bytes (0x%08x): see the host's log", fn,
                  (unsigned long long) size, rc);
    }
    ferry_reply_free(&r);
    if (rc == TEEC_SUCCESS) {
        pthread_mutex_lock(&teec_lock);
        x = teec_find_ctx(ctx_id);
        if (x == NULL || grow((void **) &x->shms, &x->shm_cap, x->shm_count + 1, sizeof *x->shms)) {
            rc = x == NULL ? TEEC_ERROR_BAD_STATE : TEEC_ERROR_OUT_OF_MEMORY;
        } else {
            x->shms[x->shm_count++] = m;
        }
        pthread_mutex_unlock(&teec_lock);
        if (rc != TEEC_SUCCESS) {
            ferry_send(c, FERRY_OP_TEE_SHM_RELEASE, (uint64_t[]) {handle}, FERRY_TEE_SHM_RELEASE_ARGC, NULL, 0, 0);
        }
    }
    if (rc != TEEC_SUCCESS) {
        if (m.block >= 0) ferry_heap_free(c, m.block);
        return rc;
    }
    if (allocate) shm->buffer = m.user;
    if (mapping != NULL) shm->buffer = NULL;
    SHM_ID(shm) = (int) handle;
    SHM_ALLOCED(shm) = m.block >= 0 ? (size_t) size : 0;
    SHM_SHADOW(shm) = m.shadow;
    SHM_CTX(shm) = ctx_id;
    SHM_KIND(shm) = (allocate ? KIND_ALLOCATED : 0) | (m.shadow != NULL ? KIND_SHADOWED : 0)
                    | (mapping != NULL ? KIND_FD : 0);
    return TEEC_SUCCESS;
}

EXPORT TEEC_Result TEEC_RegisterSharedMemory(TEEC_Context *context, TEEC_SharedMemory *sharedMem) {
    return share(context, sharedMem, 0, NULL, 0, 0);
}

EXPORT TEEC_Result TEEC_AllocateSharedMemory(TEEC_Context *context, TEEC_SharedMemory *sharedMem) {
    return share(context, sharedMem, 1, NULL, 0, 0);
}

/* OP-TEE's extension (tee_client_api_extensions.h): memory given as a file descriptor (a memfd, a dma-buf, a file),
 * sharedMem->size bytes from its start. This library maps it and registers the mapping as memory outside the heap:
 * it is copied to the TEE and back around each call, as registered memory outside the heap always is; OP-TEE's
 * TA would share the pages themselves. The application's struct shows no buffer, as OP-TEE's does. */
EXPORT TEEC_Result TEEC_RegisterSharedMemoryFileDescriptor(TEEC_Context *context, TEEC_SharedMemory *sharedMem,
                                                           int fd) {
    const char *fn = "TEEC_RegisterSharedMemoryFileDescriptor";
    if (context == NULL || sharedMem == NULL) return TEEC_ERROR_BAD_PARAMETERS;
    size_t size = sharedMem->size;
    uint32_t flags = sharedMem->flags; /* both read once: the mapping is made for these */
    if (fd < 0 || size == 0) {
        ferry_log("%s: fd %d, size %zu: a descriptor and a size above 0 are needed", fn, fd, size);
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    /* mapped bytes past the end of the file would fault (SIGBUS) when this library copies them. Sized by seeking
     * (what a dma-buf answers), and the application's file offset put back: the descriptor is the caller's. */
    off_t at = lseek(fd, 0, SEEK_CUR);
    off_t end = lseek(fd, 0, SEEK_END);
    if (at >= 0) lseek(fd, at, SEEK_SET);
    if (end < 0 || (uint64_t) end < size) {
        ferry_log("%s: fd %d holds %lld bytes, fewer than the %zu asked (or cannot be sized)", fn, fd,
                  (long long) end, size);
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    int prot = PROT_READ | ((flags & TEEC_MEM_OUTPUT) ? PROT_WRITE : 0);
    void *mapping = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
    if (mapping == MAP_FAILED) {
        ferry_log("%s: cannot map fd %d (%zu bytes%s)", fn, fd, size,
                  (prot & PROT_WRITE) ? ", writable for TEEC_MEM_OUTPUT" : "");
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    TEEC_Result rc = share(context, sharedMem, 0, mapping, flags, size);
    if (rc != TEEC_SUCCESS) munmap(mapping, size);
    return rc;
}

EXPORT void TEEC_ReleaseSharedMemory(TEEC_SharedMemory *shm) {
    if (shm == NULL || SHM_ID(shm) <= 0) return;
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(SHM_CTX(shm));
    teec_shm *m = teec_find_shm(x, (uint32_t) SHM_ID(shm));
    int allocated = 0;
    if (m != NULL) {
        allocated = m->shadow == NULL && m->block >= 0;
        release_record(x->tc, m);
        *m = x->shms[--x->shm_count];
    }
    pthread_mutex_unlock(&teec_lock);
    if (allocated) {
        shm->buffer = NULL;
        shm->size = 0;
    }
    SHM_ID(shm) = -1;
    SHM_ALLOCED(shm) = 0;
    SHM_SHADOW(shm) = NULL;
    SHM_CTX(shm) = 0;
    SHM_KIND(shm) = 0;
}

/* ---- cancellation ---- */

/* A call in flight with this operation gets its cancel word set (the host reads it before the call and while it
 * waits for the TEE), or on a direct lane its CANCEL_SEQ; an operation not started (started == 0) is marked so that
 * its next call is cancelled; one whose call returned (started == 1) is left alone: a late cancellation never
 * reaches a later call. */
EXPORT void TEEC_RequestCancellation(TEEC_Operation *operation) {
    if (operation == NULL) return;
    pthread_mutex_lock(&teec_lock);
    int found = 0;
    for (teec_conn *tc = conns; tc != NULL && !found; tc = tc->next) {
        for (int s = 0; s < CANCEL_SLOTS; s++) {
            if (tc->in_flight[s] == operation) {
                uint64_t *word = (uint64_t *) (void *) (ferry_heap_base(tc->conn) + tc->cancel_page + 8 * s);
                __atomic_store_n(word, 1u, __ATOMIC_RELEASE);
                found = 1;
                break;
            }
        }
    }
    for (teec_ctx *x = contexts; x != NULL && !found; x = x->next) {
        found = teec_direct_cancel(x, operation);
    }
    if (!found) {
        uint32_t zero = 0;
        __atomic_compare_exchange_n(&operation->started, &zero, STARTED_CANCEL_PENDING, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
    pthread_mutex_unlock(&teec_lock);
}
