/* unit_teec_lane_test.c: libteec's direct TEE lane (teec/src/teec_direct.c) without a host: a forked process plays
 * the TA instance's lane thread on a shared mapping (docs/protocol.md "Direct TEE lanes"; it sleeps on the request
 * futex, so every call must wake it), and the library's call is driven through teec_lane_invoke as
 * TEEC_InvokeCommand makes it. Values and temporary memrefs (normalized types, 64-byte slots, input bytes in and
 * output-only slots zeroed, NULL memrefs), output sizes also on failure and data only on SUCCESS within the window,
 * calls that take the ring instead (too large, registered memory without a context), registered memrefs normalized
 * by their direction into the request (teec_lane_marshal on a context of the test's), the futex sleep after the
 * yield (a TA slower than the caller's yield), cancellation in flight, before the start and after the return, a
 * lane the host closed (TARGET_DEAD, with an answer, without one, and without calling) and a connection that ended
 * (COMMUNICATION, then the ring). Linked with libteec's objects (build/teec2) and the transport's. Exits 0 when
 * every check passes. */
#include <linux/futex.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "teec_internal.h"
#include "transport_internal.h"
#include "unittest.h"

enum { ECHO = 1, SHORT = 2, OVER = 3, EMPTY = 4, SLOW = 5, AWAIT_CANCEL = 6, CLOSE_ANSWERED = 7, CLOSE_SILENT = 8,
       HANG = 9, QUIT = 10 };

#define LANE FERRY_TEE_LANE_DIRECT_LANE_BYTES
#define PARAM(i, f) (FERRY_TEE_LANE_REQUEST_PARAMS + FERRY_TEE_LANE_PARAM_LENGTH * (i) + 8 * (f))
#define REPLY_PARAM(i, f) (FERRY_TEE_LANE_REPLY_PARAMS + FERRY_TEE_LANE_PARAM_LENGTH * (i) + 8 * (f))

static uint8_t *lane;
static pid_t ta;

static uint64_t *w64(int at) { return (uint64_t *) (void *) (lane + at); }
static uint32_t *w32(int at) { return (uint32_t *) (void *) (lane + at); }
static uint64_t ms_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000 + (uint64_t) t.tv_nsec / 1000000;
}
static void nap_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- the TA's side: TeeLane's publishReply / awaitRequest ---- */

static void ta_reply(uint64_t s, uint32_t ret, uint32_t origin) {
    *w32(FERRY_TEE_LANE_RET) = ret;
    *w32(FERRY_TEE_LANE_ORIGIN) = origin;
    __atomic_store_n(w64(FERRY_TEE_LANE_REPLY_SEQ), s, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(w32(FERRY_TEE_LANE_REPLY_WAITING), __ATOMIC_SEQ_CST) != 0) {
        syscall(SYS_futex, w64(FERRY_TEE_LANE_REPLY_SEQ), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

static uint64_t ta_await(uint64_t last) {
    uint64_t s;
    while ((s = __atomic_load_n(w64(FERRY_TEE_LANE_REQUEST_SEQ), __ATOMIC_ACQUIRE)) == last) {
        __atomic_store_n(w32(FERRY_TEE_LANE_REQUEST_WAITING), 1u, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(w64(FERRY_TEE_LANE_REQUEST_SEQ), __ATOMIC_SEQ_CST) == last) {
            struct timespec ts = {5, 0};    /* a publish that does not wake us shows as a 5 s call */
            syscall(SYS_futex, w64(FERRY_TEE_LANE_REQUEST_SEQ), FUTEX_WAIT, (uint32_t) last, &ts, NULL, 0);
        }
        __atomic_store_n(w32(FERRY_TEE_LANE_REQUEST_WAITING), 0u, __ATOMIC_RELEASE);
    }
    return s;
}

static uint8_t *data(uint64_t offset) { return lane + FERRY_TEE_LANE_DATA_OFFSET + offset; }

/* ECHO: value 0 INOUT (a+1, b+2), memref 1 INOUT reversed, memref 2 INPUT copied after "out:" into memref 3 OUTPUT
 * (whose slot must be zeroed); checks the layout, answers BAD_PARAMETERS if wrong. */
static uint32_t ta_echo(void) {
    uint64_t a1 = *w64(PARAM(1, 0)), c1 = *w64(PARAM(1, 2)), a2 = *w64(PARAM(2, 0)), c2 = *w64(PARAM(2, 2));
    uint64_t a3 = *w64(PARAM(3, 0)), c3 = *w64(PARAM(3, 2));
    if (*w32(FERRY_TEE_LANE_TYPES) != 0x6573 || *w64(FERRY_TEE_LANE_SESSION) != 0 || a1 != 0
        || a2 != ((c1 + 63) & ~63ull) || a3 != a2 + ((c2 + 63) & ~63ull) || c3 < c2 + 4 || data(a3)[0] != 0
        || data(a3)[c3 - 1] != 0 || memcmp(data(a1), "abcdef", 6) != 0 || memcmp(data(a2), "hello", 5) != 0) {
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    *w64(REPLY_PARAM(0, 0)) = *w64(PARAM(0, 0)) + 1;
    *w64(REPLY_PARAM(0, 1)) = *w64(PARAM(0, 1)) + 2;
    for (uint64_t i = 0; i < c1 / 2; i++) {
        uint8_t t = data(a1)[i];
        data(a1)[i] = data(a1)[c1 - 1 - i];
        data(a1)[c1 - 1 - i] = t;
    }
    *w64(REPLY_PARAM(1, 2)) = c1;
    memcpy(data(a3), "out:", 4);
    memcpy(data(a3) + 4, data(a2), c2);
    *w64(REPLY_PARAM(3, 2)) = c2 + 4;
    return TEEC_SUCCESS;
}

static void ta_main(void) {
    for (uint64_t s = 0;;) {
        s = ta_await(s);
        uint32_t cmd = *w32(FERRY_TEE_LANE_COMMAND), ret = TEEC_SUCCESS, origin = TEEC_ORIGIN_TRUSTED_APP;
        memset(lane + FERRY_TEE_LANE_REPLY, 0, FERRY_TEE_LANE_REPLY_LENGTH);
        if (*w32(FERRY_TEE_LANE_KIND) != FERRY_TEE_LANE_INVOKE) {
            ta_reply(s, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_COMMS);
            continue;
        }
        switch (cmd) {
        case ECHO:
            ret = ta_echo();
            break;
        case SHORT:     /* writes its slot but answers SHORT_BUFFER asking for 100 */
            memset(data(*w64(PARAM(0, 0))), 'Z', 8);
            *w64(REPLY_PARAM(0, 2)) = 100;
            ret = TEEC_ERROR_SHORT_BUFFER;
            break;
        case OVER:      /* SUCCESS reporting more than it was given */
            memset(data(*w64(PARAM(0, 0))), 'Y', 16);
            *w64(REPLY_PARAM(0, 2)) = *w64(PARAM(0, 2)) + 8;
            break;
        case EMPTY:     /* a NULL buffer asks for the size */
            if (*w32(FERRY_TEE_LANE_TYPES) != 0x6 || *w64(PARAM(0, 0)) != UINT64_MAX || *w64(PARAM(0, 2)) != 0) {
                ret = TEEC_ERROR_BAD_PARAMETERS;
                break;
            }
            *w64(REPLY_PARAM(0, 2)) = 32;
            ret = TEEC_ERROR_SHORT_BUFFER;
            break;
        case SLOW:      /* past the caller's yield: it sleeps on the futex (b says whether it did) */
            nap_ms(150);
            *w64(REPLY_PARAM(0, 0)) = 42;
            *w64(REPLY_PARAM(0, 1)) = __atomic_load_n(w32(FERRY_TEE_LANE_REPLY_WAITING), __ATOMIC_SEQ_CST);
            break;
        case AWAIT_CANCEL:
            for (int i = 0; i < 2000 && __atomic_load_n(w64(FERRY_TEE_LANE_CANCEL_SEQ), __ATOMIC_ACQUIRE) != s; i++) {
                nap_ms(1);
            }
            ret = __atomic_load_n(w64(FERRY_TEE_LANE_CANCEL_SEQ), __ATOMIC_ACQUIRE) == s ? TEEC_ERROR_CANCEL
                                                                                           : TEEC_ERROR_GENERIC;
            break;
        case CLOSE_ANSWERED:    /* as the host when the instance dies: CLOSED, TARGET_DEAD, the number, a wake */
            *w64(REPLY_PARAM(0, 0)) = 99;   /* not an answer: the caller reads no parameter of it */
            __atomic_store_n(w32(FERRY_TEE_LANE_CLOSED), 1u, __ATOMIC_SEQ_CST);
            ta_reply(s, TEEC_ERROR_TARGET_DEAD, TEEC_ORIGIN_TEE);
            _exit(0);
        case CLOSE_SILENT:      /* CLOSED, no answer */
            nap_ms(20);
            __atomic_store_n(w32(FERRY_TEE_LANE_CLOSED), 1u, __ATOMIC_SEQ_CST);
            _exit(0);
        case HANG:
            pause();
            _exit(0);
        case QUIT:
            ta_reply(s, TEEC_SUCCESS, TEEC_ORIGIN_TRUSTED_APP);
            _exit(0);
        default:
            ret = TEEC_ERROR_NOT_IMPLEMENTED;
        }
        ta_reply(s, ret, origin);
    }
}

/* ---- the guest's side ---- */

static teec_conn tc;
static teec_lane l;

/* A fresh lane and a TA serving it; the connection as a live one looks (epoch 0, CONNECT_ACK = nonce = 0). */
static void start(void) {
    memset(lane, 0, LANE);
    memset(&l, 0, sizeof l);
    l.tc = &tc;
    l.base = lane;
    l.size = LANE;
    l.block = 0;
    pthread_mutex_init(&l.lock, NULL);
    ta = fork();
    if (ta == 0) {
        ta_main();
    }
}

static void stop(void) {
    kill(ta, SIGKILL);
    waitpid(ta, NULL, 0);
    pthread_mutex_destroy(&l.lock);
}

static int invoke(uint32_t cmd, TEEC_Operation *op, TEEC_Result *rc, uint32_t *origin) {
    pthread_mutex_lock(&l.lock);
    uint64_t t = ms_now();
    int done = teec_lane_invoke(0, &l, cmd, op, rc, origin);
    t = ms_now() - t;
    pthread_mutex_unlock(&l.lock);
    CHECK(cmd == SLOW || cmd == AWAIT_CANCEL || cmd == HANG || t < 2000, "command %u took %llu ms (a lost wake?)",
          cmd, (unsigned long long) t);
    return done;
}

static uint64_t published(void) { return __atomic_load_n(w64(FERRY_TEE_LANE_REQUEST_SEQ), __ATOMIC_ACQUIRE); }

static TEEC_Operation op;
static teec_ctx cancel_ctx;

static void *canceller(void *arg) {
    nap_ms(30);
    pthread_mutex_lock(&teec_lock);
    *(int *) arg = teec_direct_cancel(&cancel_ctx, &op);
    pthread_mutex_unlock(&teec_lock);
    return NULL;
}

static void *breaker(void *arg) {
    nap_ms(30);
    ferry_conn *c = arg;
    pthread_mutex_lock(&c->state_lock);
    snprintf(c->broken_why, sizeof c->broken_why, "the test ended the connection");
    atomic_store(&c->broken, FERRY_STATUS_HOST_UNAVAILABLE);
    pthread_mutex_unlock(&c->state_lock);
    return NULL;
}

static void test_calls(void) {
    TEEC_Result rc;
    uint32_t origin;
    char inout[] = "abcdef", in[] = "hello", out[16];
    memset(out, 'x', sizeof out);
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_MEMREF_TEMP_INOUT, TEEC_MEMREF_TEMP_INPUT,
                                     TEEC_MEMREF_TEMP_OUTPUT);
    op.params[0].value.a = 7;
    op.params[0].value.b = 9;
    op.params[1].tmpref = (TEEC_TempMemoryReference) {inout, 6};
    op.params[2].tmpref = (TEEC_TempMemoryReference) {in, 5};
    op.params[3].tmpref = (TEEC_TempMemoryReference) {out, sizeof out};
    CHECK(invoke(ECHO, &op, &rc, &origin) == 1, "echo on the lane");
    CHECK(rc == TEEC_SUCCESS && origin == TEEC_ORIGIN_TRUSTED_APP, "echo: 0x%x origin %u", rc, origin);
    CHECK(op.params[0].value.a == 8 && op.params[0].value.b == 11, "values %u %u", op.params[0].value.a,
          op.params[0].value.b);
    CHECK(memcmp(inout, "fedcba", 6) == 0, "inout: %.6s", inout);
    CHECK(op.params[3].tmpref.size == 9 && memcmp(out, "out:hello", 9) == 0 && out[9] == 'x', "out: %zu %.16s",
          op.params[3].tmpref.size, out);
    CHECK(op.started == 1 && published() == 1, "started %u, seq %llu", op.started, (unsigned long long) published());

    char small[16];
    memset(small, 's', sizeof small);
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref = (TEEC_TempMemoryReference) {small, 8};
    CHECK(invoke(SHORT, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_SHORT_BUFFER, "short: 0x%x", rc);
    CHECK(op.params[0].tmpref.size == 100 && small[0] == 's', "short: size %zu, data copied: %c",
          op.params[0].tmpref.size, small[0]);

    op.params[0].tmpref = (TEEC_TempMemoryReference) {small, 8};
    CHECK(invoke(OVER, &op, &rc, &origin) == 1 && rc == TEEC_SUCCESS, "over: 0x%x", rc);
    CHECK(op.params[0].tmpref.size == 16 && memcmp(small, "YYYYYYYY", 8) == 0 && small[8] == 's',
          "over-reported: size %zu, %.16s (nothing past the window)", op.params[0].tmpref.size, small);

    op.params[0].tmpref = (TEEC_TempMemoryReference) {NULL, 0};
    CHECK(invoke(EMPTY, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_SHORT_BUFFER, "null memref: 0x%x", rc);
    CHECK(op.params[0].tmpref.size == 32, "null memref: size %zu", op.params[0].tmpref.size);

    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    CHECK(invoke(SLOW, &op, &rc, &origin) == 1 && rc == TEEC_SUCCESS, "slow: 0x%x", rc);
    CHECK(op.params[0].value.a == 42 && op.params[0].value.b == 1, "slow: %u, slept on the futex: %u",
          op.params[0].value.a, op.params[0].value.b);
    CHECK(*w32(FERRY_TEE_LANE_REPLY_WAITING) == 0, "REPLY_WAITING left raised");

    /* calls that are the ring's: nothing is published */
    uint64_t before = published();
    static char big[FERRY_TEE_LANE_DIRECT_LANE_BYTES];
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref = (TEEC_TempMemoryReference) {big, sizeof big};
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0, "64 KiB does not fit the data area");
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_INPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref = (TEEC_TempMemoryReference) {big, 30000};
    op.params[1].tmpref = (TEEC_TempMemoryReference) {big, 31500};
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0, "two memrefs whose slots overrun the data area");
    TEEC_SharedMemory shm = {.buffer = big, .size = 8, .flags = TEEC_MEM_INPUT};
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].memref.parent = &shm;
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0, "unknown shared memory: the ring's checks say why");
    op.paramTypes = TEEC_PARAM_TYPES(0x4, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0, "a bad type: the ring's checks say why");
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref = (TEEC_TempMemoryReference) {NULL, (2u << 20)};
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0, "a NULL memref over 1 MiB");
    op.paramTypes = 0x10000;
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0, "bits beyond the four types");
    CHECK(published() == before, "published %llu, was %llu", (unsigned long long) published(),
          (unsigned long long) before);
}

/* Registered memrefs as the request carries them: WHOLE by its memory's flags, PARTIAL_* by their own direction, the
 * window's bytes in 64-byte slots (output ones too); a window past its memory or unknown memory: the ring's. */
static void test_registered(void) {
    static uint8_t a[100], b[40], cbuf[5];
    for (int i = 0; i < 100; i++) a[i] = (uint8_t) i;
    for (int i = 0; i < 40; i++) b[i] = (uint8_t) (200 + i);
    memcpy(cbuf, "const", 5);
    teec_shm recs[3] = {{.handle = 11, .flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT, .user = a, .size = 100, .block = -1},
                        {.handle = 12, .flags = TEEC_MEM_INPUT | TEEC_MEM_OUTPUT, .user = b, .size = 40, .block = -1},
                        {.handle = 13, .flags = TEEC_MEM_INPUT, .user = cbuf, .size = 5, .block = -1}};
    teec_ctx ctx = {.id = 99, .shms = recs, .shm_count = 3, .shm_cap = 3};
    TEEC_SharedMemory sa, sb, sc;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    memset(&sc, 0, sizeof sc);
    SHM_ID(&sa) = 11;
    SHM_ID(&sb) = 12;
    SHM_ID(&sc) = 13;
    TEEC_Operation o;
    memset(&o, 0, sizeof o);
    o.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_WHOLE, TEEC_MEMREF_PARTIAL_INPUT, TEEC_MEMREF_PARTIAL_OUTPUT,
                                    TEEC_MEMREF_WHOLE);
    o.params[0].memref.parent = &sa;
    o.params[1].memref = (TEEC_RegisteredMemoryReference) {&sb, 20, 10};
    o.params[2].memref = (TEEC_RegisteredMemoryReference) {&sb, 8, 0};
    o.params[3].memref.parent = &sc;
    teec_memref m[4];
    memset(m, 0, sizeof m);
    memset(lane, 0xEE, LANE);
    teec_lane x = {.base = lane, .size = LANE};
    CHECK(teec_lane_marshal(&ctx, &x, 77, &o, m) == 0, "registered memrefs fit");
    CHECK(*w32(FERRY_TEE_LANE_KIND) == FERRY_TEE_LANE_INVOKE && *w32(FERRY_TEE_LANE_COMMAND) == 77, "kind, command");
    CHECK(*w32(FERRY_TEE_LANE_TYPES) == 0x5657, "types 0x%x, expected 0x5657 (7, 5, 6, 5)",
          *w32(FERRY_TEE_LANE_TYPES));
    uint64_t want[4][2] = {{0, 100}, {128, 20}, {192, 8}, {256, 5}};
    for (int i = 0; i < 4; i++) {
        CHECK(*w64(PARAM(i, 0)) == want[i][0] && *w64(PARAM(i, 2)) == want[i][1], "memref %d at %llu +%llu", i,
              (unsigned long long) *w64(PARAM(i, 0)), (unsigned long long) *w64(PARAM(i, 2)));
        CHECK(m[i].direct && m[i].heap == data(want[i][0]), "memref %d's slot", i);
    }
    static const uint8_t zeros[8];
    CHECK(memcmp(data(0), a, 100) == 0 && memcmp(data(128), b + 10, 20) == 0 && memcmp(data(192), zeros, 8) == 0
          && memcmp(data(256), "const", 5) == 0, "input windows' bytes in their slots, the output-only one zeroed");
    CHECK(m[0].output && !m[1].output && m[2].output && !m[3].output, "directions out");
    CHECK(m[0].input && m[1].input && !m[2].input && m[3].input, "directions in");
    CHECK(m[1].shm == 12 && m[1].window == 10 && m[1].user == b + 10, "memref 1's record");

    *w32(FERRY_TEE_LANE_KIND) = 0;
    o.params[1].memref = (TEEC_RegisteredMemoryReference) {&sb, 31, 10};
    CHECK(teec_lane_marshal(&ctx, &x, 77, &o, m) == -1, "a window past its memory");
    o.params[1].memref = (TEEC_RegisteredMemoryReference) {&sb, 20, 10};
    o.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_PARTIAL_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    o.params[0].memref = (TEEC_RegisteredMemoryReference) {&sc, 5, 0};
    CHECK(teec_lane_marshal(&ctx, &x, 77, &o, m) == -1, "OUTPUT into INPUT-only memory");
    o.params[0].memref.parent = NULL;
    CHECK(teec_lane_marshal(&ctx, &x, 77, &o, m) == -1, "no shared memory");
    CHECK(*w32(FERRY_TEE_LANE_KIND) == 0, "a refused request wrote the lane");
}

static void test_cancel(void) {
    TEEC_Result rc;
    uint32_t origin;
    cancel_ctx.lanes = &l;
    memset(&op, 0, sizeof op);
    int found = -1;
    pthread_t t;
    pthread_create(&t, NULL, canceller, &found);
    CHECK(invoke(AWAIT_CANCEL, &op, &rc, &origin) == 1, "await cancel");
    pthread_join(t, NULL);
    CHECK(found == 1 && rc == TEEC_ERROR_CANCEL && origin == TEEC_ORIGIN_TRUSTED_APP, "cancel in flight: found %d, "
          "0x%x origin %u", found, rc, origin);
    pthread_mutex_lock(&teec_lock);
    CHECK(teec_direct_cancel(&cancel_ctx, &op) == 0, "a cancellation after the return finds no call");
    pthread_mutex_unlock(&teec_lock);

    uint64_t before = published();
    memset(&op, 0, sizeof op);
    op.started = STARTED_CANCEL_PENDING;
    CHECK(invoke(ECHO, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_CANCEL && origin == TEEC_ORIGIN_COMMS,
          "cancelled before the start: 0x%x origin %u", rc, origin);
    CHECK(published() == before && op.started == 1, "a call cancelled before its start is not made");
    cancel_ctx.lanes = NULL;
}

static void test_closed(ferry_conn *c) {
    TEEC_Result rc;
    uint32_t origin;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 5;
    CHECK(invoke(CLOSE_ANSWERED, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_TARGET_DEAD
          && origin == TEEC_ORIGIN_TEE, "closed with an answer: 0x%x origin %u", rc, origin);
    CHECK(op.params[0].value.a == 5, "a dead instance's answer carried value %u", op.params[0].value.a);
    uint64_t before = published();
    CHECK(invoke(ECHO, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_TARGET_DEAD && origin == TEEC_ORIGIN_TEE,
          "a closed lane: 0x%x origin %u", rc, origin);
    CHECK(published() == before, "a call on a closed lane was published");
    stop();

    start();
    CHECK(invoke(CLOSE_SILENT, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_TARGET_DEAD
          && origin == TEEC_ORIGIN_TEE, "closed without an answer: 0x%x origin %u", rc, origin);
    stop();

    start();
    pthread_t t;
    pthread_create(&t, NULL, breaker, c);
    CHECK(invoke(HANG, &op, &rc, &origin) == 1 && rc == TEEC_ERROR_COMMUNICATION && origin == TEEC_ORIGIN_COMMS,
          "the connection ended during the call: 0x%x origin %u", rc, origin);
    pthread_join(t, NULL);
    before = published();
    CHECK(invoke(ECHO, &op, &rc, &origin) == 0 && published() == before, "then the ring answers");
    stop();
}

int main(void) {
    lane = mmap(NULL, LANE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ferry_conn *c = calloc(1, sizeof *c);
    uint64_t *header = calloc(1, FERRY_REGION_HEADER_SIZE), *words = calloc(1, 4096);
    if (lane == MAP_FAILED || c == NULL || header == NULL || words == NULL) {
        fprintf(stderr, "unit_teec_lane_test: out of memory\n");
        return 2;
    }
    c->r.base = (uint8_t *) header;
    c->r.words = (uint8_t *) words;
    pthread_mutex_init(&c->state_lock, NULL);
    pthread_mutex_init(&c->sync_lock, NULL);
    tc.conn = c;

    test_registered();
    start();
    test_calls();
    test_cancel();
    test_closed(c);

    if (failures == 0) {
        printf("unit_teec_lane_test: all checks passed\n");
    }
    return failures == 0 ? 0 : 1;
}
