/* teec_call.c: one TEEC_OpenSession or TEEC_InvokeCommand on the wire (docs/tee.md "Wire", TeeWire): the
 * parameter block, memrefs as heap offsets (memory in the region heap by reference, other memory staged through a
 * heap block), the cancel word, and the answer: output values and every memref's output size (also on failure),
 * data copied back only on SUCCESS and never beyond the memref's window. The Java twin is ferry-client's
 * TeeContext.call. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "teec_internal.h"

#define NULL_MEMREF UINT64_MAX              /* TeeWire.NULL_MEMREF: a temporary memref with a NULL buffer */

static TEEC_Result api_verror(int log, uint32_t *origin, TEEC_Result code, const char *fmt, va_list ap) {
    if (log && ferry_log_enabled()) {
        char text[512];
        vsnprintf(text, sizeof text, fmt, ap);
        ferry_log("%s", text);
    }
    *origin = TEEC_ORIGIN_API;
    return code;
}

static TEEC_Result api_error(uint32_t *origin, TEEC_Result code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static TEEC_Result api_error(uint32_t *origin, TEEC_Result code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    TEEC_Result rc = api_verror(1, origin, code, fmt, ap);
    va_end(ap);
    return rc;
}

/* A registered memref's window refused: BAD_PARAMETERS, logged unless quiet. */
static TEEC_Result window_error(int quiet, uint32_t *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static TEEC_Result window_error(int quiet, uint32_t *origin, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    TEEC_Result rc = api_verror(!quiet, origin, TEEC_ERROR_BAD_PARAMETERS, fmt, ap);
    va_end(ap);
    return rc;
}

TEEC_Result teec_window_of(teec_ctx *ctx, const TEEC_Operation *o, int i, int type, teec_window *w, int quiet,
                           uint32_t *origin) {
    TEEC_SharedMemory *parent = o->params[i].memref.parent;
    teec_shm *shm = parent == NULL ? NULL : teec_find_shm(ctx, (uint32_t) SHM_ID(parent));
    if (shm == NULL || SHM_ID(parent) <= 0) {
        return window_error(quiet, origin, "memref %d names shared memory that is NULL, released or of another "
                            "context", i);
    }
    uint64_t offset = type == TEEC_MEMREF_WHOLE ? 0 : o->params[i].memref.offset;
    uint64_t size = type == TEEC_MEMREF_WHOLE ? shm->size : o->params[i].memref.size;
    if (offset > shm->size || size > shm->size - offset) {
        return window_error(quiet, origin, "memref %d [%llu, +%llu) exceeds its shared memory of %llu bytes", i,
                            (unsigned long long) offset, (unsigned long long) size, (unsigned long long) shm->size);
    }
    int in = type == TEEC_MEMREF_WHOLE ? (shm->flags & TEEC_MEM_INPUT) != 0 : (type & 0x3) != 0x2;
    int out = type == TEEC_MEMREF_WHOLE ? (shm->flags & TEEC_MEM_OUTPUT) != 0 : (type & 0x2) != 0;
    if ((in && !(shm->flags & TEEC_MEM_INPUT)) || (out && !(shm->flags & TEEC_MEM_OUTPUT))) {
        return window_error(quiet, origin, "memref %d: its direction does not match its shared memory's flags "
                            "(0x%x)", i, shm->flags);
    }
    *w = (teec_window) {shm, offset, size, in, out};
    return TEEC_SUCCESS;
}

/* Marshals the registered memref i (teec_lock held: the shared memory's record is read here). */
static TEEC_Result marshal_registered(teec_ctx *ctx, TEEC_Operation *o, int i, int type, uint64_t *block,
                                      teec_memref *m, uint32_t *origin) {
    teec_window w;
    TEEC_Result rc = teec_window_of(ctx, o, i, type, &w, 0, origin);
    if (rc != TEEC_SUCCESS) {
        return rc;
    }
    teec_shm *shm = w.shm;
    uint64_t offset = w.offset, size = w.size;
    m->shm = shm->handle;
    m->window = offset;
    m->user = shm->user == NULL ? NULL : shm->user + offset;
    m->heap = shm->shadow == NULL ? NULL : shm->shadow + offset;
    m->size = size;
    m->output = w.out;
    if (m->heap != NULL && w.in && size > 0) {
        memcpy(m->heap, m->user, size);
    }
    block[FIELD(i, 0)] = shm->handle;
    block[FIELD(i, 1)] = offset;
    block[FIELD(i, 2)] = size;
    return TEEC_SUCCESS;
}

static TEEC_Result marshal_temp(ferry_conn *c, TEEC_Operation *o, int i, int type, uint64_t *block,
                                teec_memref *m, uint32_t *origin) {
    uint8_t *buf = o->params[i].tmpref.buffer;
    uint64_t size = o->params[i].tmpref.size;
    m->size = size;
    m->output = (type & 0x2) != 0;
    block[FIELD(i, 2)] = size;
    if (buf == NULL) {
        block[FIELD(i, 0)] = NULL_MEMREF;
        return TEEC_SUCCESS;
    }
    m->user = buf;
    int64_t off = size == 0 ? 0 : ferry_heap_offset_of(c, buf, size);
    if (off < 0) {
        off = ferry_heap_alloc(c, size);
        if (off < 0) {
            return api_error(origin, TEEC_ERROR_OUT_OF_MEMORY, "cannot stage memref %d of %llu bytes in the region "
                             "heap (%llu bytes free)", i, (unsigned long long) size,
                             (unsigned long long) ferry_heap_free_bytes(c));
        }
        m->staged = off;
        m->heap = ferry_heap_base(c) + off;
        if (type != TEEC_MEMREF_TEMP_OUTPUT) {
            memcpy(m->heap, buf, size);
        }
    }
    block[FIELD(i, 0)] = (uint64_t) off;
    return TEEC_SUCCESS;
}

/* Before data flows back (teec_lock held): each registered memref's shared memory looked up again, since the
 * application may have released it (or finalized the context) while the call ran; gone, its data is not copied. */
void teec_refresh_registered(int ctx_id, teec_memref *m) {
    teec_ctx *ctx = teec_find_ctx(ctx_id);
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        if (!is_registered(m[i].type) || !m[i].output) {
            continue;
        }
        teec_shm *shm = ctx == NULL ? NULL : teec_find_shm(ctx, m[i].shm);
        m[i].user = shm == NULL || shm->user == NULL ? NULL : shm->user + m[i].window;
        if (!m[i].direct) {
            m[i].heap = shm == NULL || shm->shadow == NULL ? NULL : shm->shadow + m[i].window;
        }
    }
}

/* The answer into the operation: output values, output sizes; data only on SUCCESS, within each window. */
void teec_unmarshal(TEEC_Operation *o, const uint64_t *block, const teec_memref *m, TEEC_Result code) {
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        int type = (int) TEEC_PARAM_TYPE_GET(o->paramTypes, i);
        if (is_value(type)) {
            if (type & 0x2) {
                o->params[i].value.a = (uint32_t) block[FIELD(i, 0)];
                o->params[i].value.b = (uint32_t) block[FIELD(i, 1)];
            }
            continue;
        }
        if (!m[i].output) {
            continue;
        }
        uint64_t out = block[FIELD(i, 2)];
        if (is_temp(type)) {
            o->params[i].tmpref.size = (size_t) out;
        } else {
            o->params[i].memref.size = (size_t) out;
        }
        if (code == TEEC_SUCCESS && m[i].heap != NULL && m[i].user != NULL) {
            memcpy(m[i].user, m[i].heap, out < m[i].size ? out : m[i].size);
        }
    }
}

/* Takes a cancel word for o and marks the call started (teec_lock held). Returns the slot, or -1 when all are in
 * use. The word starts at 1 when a cancellation was requested before the call (started == pending). */
static int take_slot(teec_conn *tc, TEEC_Operation *o, ferry_conn *c) {
    for (int s = 0; s < CANCEL_SLOTS; s++) {
        if (tc->in_flight[s] == NULL) {
            uint32_t was = __atomic_exchange_n(&o->started, 1u, __ATOMIC_ACQ_REL);
            tc->in_flight[s] = o;
            uint64_t *word = (uint64_t *) (void *) (ferry_heap_base(c) + tc->cancel_page + 8 * s);
            __atomic_store_n(word, was == STARTED_CANCEL_PENDING ? 1u : 0u, __ATOMIC_RELEASE);
            return s;
        }
    }
    return -1;
}

TEEC_Result teec_failure(const char *fn, int st, const char *text, uint32_t *origin) {
    *origin = TEEC_ORIGIN_COMMS;
    if (st == FERRY_STATUS_NOT_GRANTED || st == FERRY_STATUS_UNSUPPORTED) {
        if (st == FERRY_STATUS_NOT_GRANTED) {
            ferry_log("%s: this guest has no tee service on the host (%s); the operator grants it by adding tee to "
                      "the guest's services in the host's ferry.yaml and reloading the host", fn,
                      text ? text : "no reason given");
            return TEEC_ERROR_ACCESS_DENIED;
        }
        ferry_log("%s: the host runs no TEE (%s); the operator enables it with a tee: section in the host's "
                  "ferry.yaml", fn, text ? text : "no reason given");
        return TEEC_ERROR_NOT_SUPPORTED;
    }
    ferry_log("%s: %s", fn, text ? text : "the call failed");
    return TEEC_ERROR_COMMUNICATION;
}

TEEC_Result teec_call(int ctx_id, int op, uint64_t *args, int argc, TEEC_Operation *operation, uint32_t *origin) {
    TEEC_Operation none;
    memset(&none, 0, sizeof none);
    TEEC_Operation *o = operation != NULL ? operation : &none;
    uint64_t block[BLOCK_WORDS];
    memset(block, 0, sizeof block);
    teec_memref m[TEEC_CONFIG_PAYLOAD_REF_COUNT];
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].staged = -1;
    }
    TEEC_Result rc = TEEC_SUCCESS;
    int slot = -1;
    pthread_mutex_lock(&teec_lock);
    teec_ctx *ctx = teec_find_ctx(ctx_id);
    teec_conn *tc = ctx == NULL ? NULL : ctx->tc;
    ferry_conn *c = tc == NULL ? NULL : tc->conn;
    if (c == NULL) {
        pthread_mutex_unlock(&teec_lock);
        return api_error(origin, TEEC_ERROR_BAD_STATE, "the context is not initialized (or finalized)");
    }
    uint32_t types = o->paramTypes;
    if (types > 0xFFFF) {
        rc = api_error(origin, TEEC_ERROR_BAD_PARAMETERS, "paramTypes 0x%x has bits beyond its four types", types);
    }
    block[0] = types;
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT && rc == TEEC_SUCCESS; i++) {
        int type = (int) TEEC_PARAM_TYPE_GET(types, i);
        m[i].type = type;
        if (type == TEEC_NONE) {
            continue;
        } else if (is_value(type)) {
            block[FIELD(i, 0)] = o->params[i].value.a;
            block[FIELD(i, 1)] = o->params[i].value.b;
        } else if (is_temp(type)) {
            rc = marshal_temp(c, o, i, type, block, &m[i], origin);
        } else if (is_registered(type)) {
            rc = marshal_registered(ctx, o, i, type, block, &m[i], origin);
        } else {
            rc = api_error(origin, TEEC_ERROR_BAD_PARAMETERS, "parameter %d has type 0x%x, not a GP type", i, type);
        }
    }
    if (rc == TEEC_SUCCESS) {
        slot = take_slot(tc, o, c);
        if (slot < 0) {
            rc = api_error(origin, TEEC_ERROR_BUSY, "%d calls are in flight on this connection", CANCEL_SLOTS);
        }
    }
    pthread_mutex_unlock(&teec_lock);
    if (rc == TEEC_SUCCESS) {
        args[argc - 1] = (uint64_t) tc->cancel_page + 8 * (uint64_t) slot;
        ferry_iov blob = {block, sizeof block};
        ferry_reply r;
        int st = ferry_call(c, op, args, argc, &blob, 1, &r);
        pthread_mutex_lock(&teec_lock);
        tc->in_flight[slot] = NULL;
        pthread_mutex_unlock(&teec_lock);
        if (st != 0) {
            rc = teec_failure(op == FERRY_OP_TEE_OPEN_SESSION ? "TEEC_OpenSession" : "TEEC_InvokeCommand", st, r.text,
                              origin);
        } else {
            rc = (TEEC_Result) r.results[0];
            *origin = (uint32_t) r.results[1];
            if (r.text != NULL && r.length == sizeof block) {
                memcpy(block, r.text, sizeof block);
                pthread_mutex_lock(&teec_lock);
                teec_refresh_registered(ctx_id, m);
                teec_unmarshal(o, block, m, rc);
                pthread_mutex_unlock(&teec_lock);
            }
        }
        ferry_reply_free(&r);
    }
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        if (m[i].staged >= 0) {
            ferry_heap_free(c, m[i].staged);
        }
    }
    return rc;
}
