/* teec_direct.c: a session's direct TEE lane (docs/protocol.md "Direct TEE lanes", io.ferry.protocol.TeeLane): 64 KiB
 * of the region heap, laid out as the host's lane to a TA instance, which the TA instance's process serves, so an
 * invoke crosses two processes instead of three. This library plays the host's part of the lane: it writes the
 * request (memref data copied into 64-byte slots of the data area), publishes its number, waits for the reply's
 * (yielding, then sleeping on the futex of its low half), and reads the answer with the ring's rules (teec_call.c).
 * Opening, closing, registration, cancellation of a call not yet started and everything that does not fit stay on
 * the ring; the host gives lanes to process guests only (a VM or network guest keeps the ring). The Java twin is
 * ferry-client's TeeSession. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "teec_internal.h"

#define LANE_BYTES FERRY_TEE_LANE_DIRECT_LANE_BYTES
#define MAX_MEMREF (1024u * 1024u)          /* the most one memref may carry on a lane (the TA's process checks it) */
#define SLOT_ALIGNMENT 64u
#define PAGE 4096u
/* How long a waiting caller yields before it sleeps on the lane's futex: as long as a call through the ring yields
 * for the TEE's answer (transport.c's YIELD_NS; the Java twin's DirectLane.YIELD_NANOS). */
#define YIELD_NS 200000ull
#define SLEEP_NS 1000000ull                 /* one futex sleep at most: CLOSED and the connection are looked at */
#define CHECK_NS 1000000ull                 /* while yielding, the connection is looked at this often */
#define MIN_NAP_NS 50000ull                 /* naps where the futex does not work: 50 us growing to SLEEP_NS */

static inline uint32_t *word32(const teec_lane *l, int at) { return (uint32_t *) (void *) (l->base + at); }
static inline uint64_t *word64(const teec_lane *l, int at) { return (uint64_t *) (void *) (l->base + at); }
static inline void put32(const teec_lane *l, int at, uint32_t v) { memcpy(l->base + at, &v, 4); }
static inline void put64(const teec_lane *l, int at, uint64_t v) { memcpy(l->base + at, &v, 8); }
static inline uint32_t get32(const teec_lane *l, int at) { uint32_t v; memcpy(&v, l->base + at, 4); return v; }
static inline uint64_t get64(const teec_lane *l, int at) { uint64_t v; memcpy(&v, l->base + at, 8); return v; }

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

static void nap(uint64_t ns) {
    struct timespec t = {(time_t) (ns / 1000000000u), (long) (ns % 1000000000u)};
    nanosleep(&t, NULL);
}

/* FERRY_TEE_DIRECT=0: sessions keep the ring (to compare the two, or to rule the lane out). */
static int direct_enabled(void) {
    static int enabled = -1;
    int e = __atomic_load_n(&enabled, __ATOMIC_RELAXED);
    if (e < 0) {
        const char *v = getenv("FERRY_TEE_DIRECT");
        e = v == NULL || strcmp(v, "0") != 0;
        __atomic_store_n(&enabled, e, __ATOMIC_RELAXED);
    }
    return e;
}

static int lane_closed(const teec_lane *l) {
    return __atomic_load_n(word32(l, FERRY_TEE_LANE_CLOSED), __ATOMIC_ACQUIRE) != 0;
}

/* ---- attaching, detaching (teec_lock held but where said) ---- */

static int refused_before(const teec_conn *tc, const uint64_t key[4]) {
    unsigned n = tc->no_direct_count < NO_DIRECT_TAS ? tc->no_direct_count : NO_DIRECT_TAS;
    for (unsigned i = 0; i < n; i++) {
        if (memcmp(tc->no_direct[i], key, sizeof tc->no_direct[i]) == 0) return 1;
    }
    return tc->no_direct_at_all;
}

static void note_refused(teec_conn *tc, const uint64_t key[4]) {
    if (refused_before(tc, key)) return;
    memcpy(tc->no_direct[tc->no_direct_count++ % NO_DIRECT_TAS], key, sizeof tc->no_direct[0]);
}

static void lane_free(teec_lane *l) {
    ferry_heap_free(l->tc->conn, l->block);
    pthread_mutex_destroy(&l->lock);
    teec_conn_release(l->tc);
    free(l);
}

/* Called without teec_lock: TEE_DIRECT is a call to the host. A NOT_SUPPORTED answer is remembered for the TA and
 * login on this connection (a VM guest, a backend without lanes, a policy that checks the TA's commands: asking again
 * is a call per session for nothing), a failure with a Ferry status for every TA (the host does not take the call);
 * any other refusal is not (a later session may get a lane). */
void teec_direct_attach(int ctx_id, uint32_t session, const uint64_t key[4]) {
    if (!direct_enabled()) return;
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(ctx_id);
    teec_conn *tc = x == NULL ? NULL : x->tc;
    ferry_conn *c = tc == NULL ? NULL : tc->conn;
    int ask = c != NULL && ferry_heap_shared(c) && (ferry_host_capabilities(c) & FERRY_CAP_TEE_DIRECT)
              && !refused_before(tc, key);
    pthread_mutex_unlock(&teec_lock);
    /* a lane takes at most a quarter of the heap still free: the application's memory comes first */
    if (!ask || ferry_heap_free_bytes(c) / 4 < LANE_BYTES) return;
    int64_t block = ferry_heap_alloc(c, LANE_BYTES);
    if (block < 0) return;
    teec_lane *l = calloc(1, sizeof *l);
    /* the transport aligns blocks of 64 KiB and more to 4 KiB of the heap, whose section is page-aligned in the
     * region: the host takes a lane only at a 4 KiB-aligned offset of the region */
    if (l == NULL || block % PAGE != 0 || (uintptr_t) (ferry_heap_base(c) + block) % PAGE != 0) {
        ferry_log("TEEC_OpenSession: no direct lane for session %u (%s)", session,
                  l == NULL ? "out of memory" : "the heap block is not 4 KiB-aligned");
        free(l);
        ferry_heap_free(c, block);
        return;
    }
    memset(ferry_heap_base(c) + block, 0, LANE_BYTES);
    uint64_t args[FERRY_TEE_DIRECT_ARGC];
    args[FERRY_ARG_TEE_DIRECT_SESSION] = session;
    args[FERRY_ARG_TEE_DIRECT_HEAP_OFFSET] = (uint64_t) block;
    args[FERRY_ARG_TEE_DIRECT_SIZE] = LANE_BYTES;
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_TEE_DIRECT, args, FERRY_TEE_DIRECT_ARGC, NULL, 0, &r);
    TEEC_Result answer = st == 0 ? (TEEC_Result) r.results[0] : TEEC_ERROR_COMMUNICATION;
    if (st != 0) {
        ferry_log("TEEC_OpenSession: no direct lane for session %u: %s", session, r.text ? r.text : "the call failed");
    }
    ferry_reply_free(&r);
    pthread_mutex_lock(&teec_lock);
    x = teec_find_ctx(ctx_id);
    int same = x != NULL && x->tc == tc;
    if (same && answer == TEEC_ERROR_NOT_SUPPORTED) {
        note_refused(tc, key);
    }
    if (same && st != 0 && st != FERRY_STATUS_SESSION_CLOSED && st != FERRY_STATUS_HOST_UNAVAILABLE) {
        tc->no_direct_at_all = 1;
    }
    if (same && answer == TEEC_SUCCESS && teec_has_session(x, session)) {
        l->session = session;
        l->tc = tc;
        l->block = block;
        l->base = ferry_heap_base(c) + block;
        l->size = LANE_BYTES;
        pthread_mutex_init(&l->lock, NULL);
        l->next = x->lanes;
        x->lanes = l;
        tc->users++;
        l = NULL;
    }
    pthread_mutex_unlock(&teec_lock);
    if (l != NULL) {
        /* refused, or the session closed meanwhile (its lane went with it on the host); a finalized context's
         * connection may be gone: its heap is not touched */
        if (same) ferry_heap_free(c, block);
        free(l);
    }
}

teec_lane *teec_direct_detach(teec_ctx *ctx, uint32_t session) {
    for (teec_lane **p = &ctx->lanes; *p != NULL; p = &(*p)->next) {
        if ((*p)->session == session) {
            teec_lane *l = *p;
            *p = l->next;
            l->next = NULL;
            return l;
        }
    }
    return NULL;
}

void teec_direct_release(teec_lane *l) {
    if (l == NULL) return;
    __atomic_store_n(&l->detached, 1, __ATOMIC_RELEASE);
    if (l->users == 0) lane_free(l);
}

int teec_direct_cancel(teec_ctx *ctx, TEEC_Operation *o) {
    for (teec_lane *l = ctx->lanes; l != NULL; l = l->next) {
        if (l->op == o) {
            __atomic_store_n(word64(l, FERRY_TEE_LANE_CANCEL_SEQ), l->op_seq, __ATOMIC_RELEASE);
            return 1;
        }
    }
    return 0;
}

/* ---- one call ---- */

int teec_lane_marshal(teec_ctx *ctx, teec_lane *l, uint32_t command, const TEEC_Operation *o, teec_memref *m) {
    uint32_t types = o->paramTypes;
    if (types > 0xFFFF) return -1;
    uint64_t room = l->size - FERRY_TEE_LANE_DATA_OFFSET, used = 0;
    uint64_t p[TEEC_CONFIG_PAYLOAD_REF_COUNT][3];
    uint32_t lane_types = 0;
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        int type = (int) TEEC_PARAM_TYPE_GET(types, i);
        m[i].type = type;
        p[i][0] = p[i][1] = p[i][2] = 0;
        if (type == TEEC_NONE) {
            continue;
        }
        if (is_value(type)) {
            p[i][0] = o->params[i].value.a;
            p[i][1] = o->params[i].value.b;
            lane_types |= (uint32_t) type << 4 * i;
            continue;
        }
        int in, out;
        if (is_temp(type)) {
            m[i].user = o->params[i].tmpref.buffer;
            m[i].size = o->params[i].tmpref.size;
            in = (type & 0x1) != 0;
            out = (type & 0x2) != 0;
        } else if (is_registered(type)) {
            teec_window w;
            uint32_t ignored;
            if (ctx == NULL || teec_window_of(ctx, o, i, type, &w, 1, &ignored) != TEEC_SUCCESS) {
                return -1;  /* the ring's checks say why */
            }
            m[i].user = w.shm->user == NULL ? NULL : w.shm->user + w.offset;
            m[i].size = w.size;
            m[i].shm = w.shm->handle;
            m[i].window = w.offset;
            in = w.in;
            out = w.out;
        } else {
            return -1;
        }
        /* registered memrefs by their direction, as the host normalizes them: 5 input, 6 output, 7 both */
        lane_types |= (uint32_t) (TEEC_MEMREF_TEMP_INPUT - 1 + in + 2 * out) << 4 * i;
        m[i].output = out;
        m[i].input = in;
        p[i][2] = m[i].size;
        if (is_temp(type) && m[i].user == NULL) {
            if (m[i].size > MAX_MEMREF) return -1;  /* the host's answer to it is the ring's to give */
            p[i][0] = (uint64_t) (int64_t) FERRY_TEE_LANE_NULL_MEMREF;
            continue;
        }
        if (m[i].size > MAX_MEMREF || used > room || m[i].size > room - used) {
            return -1;      /* through the ring, by reference or staged */
        }
        p[i][0] = used;
        m[i].heap = l->base + FERRY_TEE_LANE_DATA_OFFSET + used;
        m[i].direct = 1;
        used += (m[i].size + SLOT_ALIGNMENT - 1) & ~(uint64_t) (SLOT_ALIGNMENT - 1);
    }
    /* it fits: input bytes in, output-only slots zeroed (the TA sees no byte an earlier call left there) */
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        if (m[i].heap != NULL && m[i].size > 0) {
            if (m[i].input && m[i].user != NULL) {
                memcpy(m[i].heap, m[i].user, m[i].size);
            } else {
                memset(m[i].heap, 0, m[i].size);
            }
        }
        for (int f = 0; f < 3; f++) {
            put64(l, FERRY_TEE_LANE_REQUEST_PARAMS + FERRY_TEE_LANE_PARAM_LENGTH * i + 8 * f, p[i][f]);
        }
    }
    put32(l, FERRY_TEE_LANE_KIND, FERRY_TEE_LANE_INVOKE);
    put32(l, FERRY_TEE_LANE_COMMAND, command);
    put64(l, FERRY_TEE_LANE_SESSION, 0);
    put32(l, FERRY_TEE_LANE_TYPES, lane_types);
    return 0;
}

/* Publishes: the number after the request (seq-cst), then a wake for the TA's lane thread if it sleeps (its flag
 * is read after the store, and it reads the number after raising the flag: neither side can miss the other). */
static void publish(teec_lane *l, uint64_t s) {
    uint64_t *seq = word64(l, FERRY_TEE_LANE_REQUEST_SEQ);
    __atomic_store_n(seq, s, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(word32(l, FERRY_TEE_LANE_REQUEST_WAITING), __ATOMIC_SEQ_CST) != 0) {
        /* shared (not FUTEX_PRIVATE_FLAG): the TA's process waits on the same memory */
        syscall(SYS_futex, seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

/* Sleeps while REPLY_SEQ is still seen, at most SLEEP_NS, on the futex of its low half (little-endian: the word's
 * address), with REPLY_WAITING raised so the TA's process wakes us. */
static void sleep_on_reply(teec_lane *l, uint64_t seen, int *futex_ok, uint64_t *nap_ns) {
    uint32_t *flag = word32(l, FERRY_TEE_LANE_REPLY_WAITING);
    uint64_t *seq = word64(l, FERRY_TEE_LANE_REPLY_SEQ);
    __atomic_store_n(flag, 1u, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(seq, __ATOMIC_SEQ_CST) == seen) {
        struct timespec ts = {(time_t) (SLEEP_NS / 1000000000u), (long) (SLEEP_NS % 1000000000u)};
        if (*futex_ok && syscall(SYS_futex, seq, FUTEX_WAIT, (uint32_t) seen, &ts, NULL, 0) != 0
            && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
            *futex_ok = 0;  /* futexes do not work on this memory: nap from now on */
        }
        if (!*futex_ok) {
            nap(*nap_ns);
            *nap_ns = *nap_ns * 2 > SLEEP_NS ? SLEEP_NS : *nap_ns * 2;
        }
    }
    __atomic_store_n(flag, 0u, __ATOMIC_RELEASE);
}

/* No answer from a closed lane: TARGET_DEAD from the TEE, or COMMUNICATION when the connection is what ended (as the
 * ring answers once the host is gone). */
static int no_answer(ferry_conn *c, TEEC_Result *rc, uint32_t *origin) {
    char why[1024];
    int st = ferry_check(c, why, sizeof why);
    if (st != 0) {
        *rc = teec_failure("TEEC_InvokeCommand", st, why, origin);
    } else {
        *rc = TEEC_ERROR_TARGET_DEAD;
        *origin = TEEC_ORIGIN_TEE;
    }
    return 0;
}

/* Publishes request s and waits for its reply. 1: the TA's answer is in the lane (*rc, *origin its code and
 * origin); 0: no answer to read (*rc, *origin: TARGET_DEAD from the TEE for a closed lane, COMMUNICATION from COMMS
 * for a connection that ended). */
static int exchange(teec_lane *l, ferry_conn *c, uint64_t s, TEEC_Result *rc, uint32_t *origin) {
    if (lane_closed(l)) {
        return no_answer(c, rc, origin);
    }
    /* the last reply's words must not pass for this call's (the host's TARGET_DEAD writes ret and origin only) */
    memset(l->base + FERRY_TEE_LANE_REPLY, 0, FERRY_TEE_LANE_REPLY_LENGTH);
    publish(l, s);
    l->seq = s;
    uint64_t start = now_ns(), check = start + CHECK_NS;
    uint64_t nap_ns = MIN_NAP_NS;
    int futex_ok = 1;
    for (;;) {
        uint64_t seen = __atomic_load_n(word64(l, FERRY_TEE_LANE_REPLY_SEQ), __ATOMIC_ACQUIRE);
        if (seen == s) break;
        uint64_t t = now_ns();
        if (t - start < YIELD_NS) {
            sched_yield();
            if (t < check) continue;
        } else {
            sleep_on_reply(l, seen, &futex_ok, &nap_ns);
        }
        check = t + CHECK_NS;
        if (__atomic_load_n(word64(l, FERRY_TEE_LANE_REPLY_SEQ), __ATOMIC_ACQUIRE) == s) break;
        /* the instance died, or the session was closed under the call: the host sets CLOSED and answers; a lane
         * closed without an answer, a session closed on the host, or a connection that ended are answered here */
        if (lane_closed(l) || __atomic_load_n(&l->detached, __ATOMIC_ACQUIRE)) {
            return no_answer(c, rc, origin);    /* later calls stop at CLOSED, or find no lane */
        }
        char why[1024];
        int st = ferry_check(c, why, sizeof why);
        if (st != 0) {
            l->dead = 1;
            *rc = teec_failure("TEEC_InvokeCommand", st, why, origin);
            return 0;
        }
    }
    *rc = (TEEC_Result) get32(l, FERRY_TEE_LANE_RET);
    *origin = get32(l, FERRY_TEE_LANE_ORIGIN);
    if (*rc == TEEC_ERROR_TARGET_DEAD && lane_closed(l)) {
        return no_answer(c, rc, origin);    /* the host's answer for a dead instance: no parameters came back */
    }
    return 1;
}

/* The reply's parameters into o (teec_lock held, after teec_refresh_registered), as through the ring. */
static void unmarshal(const teec_lane *l, TEEC_Operation *o, const teec_memref *m, TEEC_Result code) {
    uint64_t block[BLOCK_WORDS];
    memset(block, 0, sizeof block);
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) {
        for (int f = 0; f < 3; f++) {
            block[FIELD(i, f)] = get64(l, FERRY_TEE_LANE_REPLY_PARAMS + FERRY_TEE_LANE_PARAM_LENGTH * i + 8 * f);
        }
    }
    teec_unmarshal(o, block, m, code);
}

int teec_lane_invoke(int ctx_id, teec_lane *l, uint32_t command, TEEC_Operation *o, TEEC_Result *rc,
                     uint32_t *origin) {
    ferry_conn *c = l->tc->conn;
    if (l->dead || ferry_check(c, NULL, 0) != 0) {
        return 0;           /* the ring says what happened */
    }
    teec_memref m[TEEC_CONFIG_PAYLOAD_REF_COUNT];
    memset(m, 0, sizeof m);
    for (int i = 0; i < TEEC_CONFIG_PAYLOAD_REF_COUNT; i++) m[i].staged = -1;
    uint64_t s = l->seq + 1;
    pthread_mutex_lock(&teec_lock);
    if (teec_lane_marshal(teec_find_ctx(ctx_id), l, command, o, m) != 0) {
        pthread_mutex_unlock(&teec_lock);
        return 0;
    }
    /* started as the ring's take_slot: a cancellation requested before the call cancels it without calling; one
     * from now on finds the call here (teec_direct_cancel) */
    uint32_t was = __atomic_exchange_n(&o->started, 1u, __ATOMIC_ACQ_REL);
    if (was != STARTED_CANCEL_PENDING) {
        l->op = o;
        l->op_seq = s;
    }
    pthread_mutex_unlock(&teec_lock);
    if (was == STARTED_CANCEL_PENDING) {
        *rc = TEEC_ERROR_CANCEL;
        *origin = TEEC_ORIGIN_COMMS;
        return 1;
    }
    int answered = exchange(l, c, s, rc, origin);
    pthread_mutex_lock(&teec_lock);
    l->op = NULL;
    if (answered) {
        teec_refresh_registered(ctx_id, m);
        unmarshal(l, o, m, *rc);
    }
    pthread_mutex_unlock(&teec_lock);
    return 1;
}

int teec_direct_invoke(int ctx_id, uint32_t session, uint32_t command, TEEC_Operation *operation, TEEC_Result *rc,
                       uint32_t *origin) {
    pthread_mutex_lock(&teec_lock);
    teec_ctx *x = teec_find_ctx(ctx_id);
    teec_lane *l = x == NULL ? NULL : x->lanes;
    while (l != NULL && l->session != session) l = l->next;
    if (l != NULL) l->users++;
    pthread_mutex_unlock(&teec_lock);
    if (l == NULL) {
        return 0;
    }
    TEEC_Operation none;
    memset(&none, 0, sizeof none);
    pthread_mutex_lock(&l->lock);
    int done = teec_lane_invoke(ctx_id, l, command, operation != NULL ? operation : &none, rc, origin);
    pthread_mutex_unlock(&l->lock);
    pthread_mutex_lock(&teec_lock);
    if (--l->users == 0 && l->detached) lane_free(l);
    pthread_mutex_unlock(&teec_lock);
    return done;
}
