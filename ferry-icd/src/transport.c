/* transport.c: one Ferry session in C (transport.h): the connect handshake and HELLO, the command ring (producer:
 * claim, padding frames, one release store of TAIL per batch, doorbell when the host sleeps), the completion ring
 * (consumer: every frame checked once and copied before use; spin, yield, then futex sleeps), sticky reports,
 * liveness (the host's heartbeat, CONNECT_ACK) and our own GUEST_HEARTBEAT thread, GOODBYE at disconnect and at
 * exit. The Java twins: ferry-client's Channel, Ferry and Heartbeat, ferry-channel's SpscRing and Handshake;
 * docs/protocol.md §1.2-§4. The mapping is read and written only inside validated sections. */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "transport_internal.h"

#define HOST_TIMEOUT_NS 1000000000ull       /* a host heartbeat standing still this long: the host is gone */
#define CONNECT_TIMEOUT_NS 3000000000ull    /* CONNECT_ACK must come within this while the host's heartbeat stands */
#define CONNECT_LIVE_TIMEOUT_NS 20000000000ull /* ... and within this once it moved: a loaded host is slow, not gone */
#define BEAT_PERIOD_NS 100000000ull         /* our GUEST_HEARTBEAT; the host gives up after 3 s of silence */
#define SPIN_NS 20000ull
#define YIELD_NS 200000ull
#define MIN_SLEEP_NS 50000ull
#define MAX_SLEEP_NS 1000000ull
#define LANE_FREE_WAIT_NS 500000000ull
#define MAX_DEVICES 1024u
#define STICKY_RETRIES 16

/* ---- the catalogue, from ferry_wire.h ---- */
#define FERRY_OPS(X) X(HELLO) X(GOODBYE) X(NOP) X(DEVICE_INFO) X(CONTEXT_CREATE) X(QUEUE_CREATE) X(BUFFER_CREATE) \
    X(PROGRAM_CREATE) X(PROGRAM_BUILD) X(KERNEL_CREATE) X(RELEASE) X(KERNEL_ARG_BUFFER) X(KERNEL_ARG_VALUE)         \
    X(KERNEL_ARG_LOCAL) X(BUFFER_WRITE) X(BUFFER_READ) X(BUFFER_COPY) X(BUFFER_FILL) X(LAUNCH) X(FINISH)            \
    X(EVENT_WAIT) X(QUEUE_HINT) X(MARKER) X(BARRIER) X(USER_EVENT_CREATE) X(USER_EVENT_SET) X(EVENT_STATUS)         \
    X(KERNEL_WORK_GROUP_INFO) X(INFO) X(PROGRAM_CREATE_BINARY) X(PROGRAM_COMPILE) X(PROGRAM_LINK)                    \
    X(SUB_BUFFER_CREATE) X(BUFFER_WRITE_RECT) X(BUFFER_READ_RECT) X(BUFFER_COPY_RECT)                                \
    X(IMAGE_CREATE) X(IMAGE_WRITE) X(IMAGE_READ) X(SAMPLER_CREATE) X(KERNEL_ARG_SAMPLER) X(QUEUE_RELEASE)           \
    X(PROGRAM_CREATE_HEAP)                                                                                           \
    X(TEE_OPEN_SESSION) X(TEE_INVOKE) X(TEE_CLOSE_SESSION) X(TEE_SHM_REGISTER) X(TEE_SHM_RELEASE) X(TEE_DIRECT)

static const char *op_name(int op) {
#define NAME(x) case FERRY_OP_##x: return #x;
    switch (op) { FERRY_OPS(NAME) default: return "an unknown op"; }
#undef NAME
}

/* The op's argument count and whether it is SYNC; -1 for an unknown op. */
static int op_argc(int op, int *sync) {
#define ARGC(x) case FERRY_OP_##x: *sync = FERRY_##x##_SYNC; return FERRY_##x##_ARGC;
    switch (op) { FERRY_OPS(ARGC) default: return -1; }
#undef ARGC
}

/* How long a caller spins before it yields: SPIN_NS for calls the host answers itself (as ferry-client's
 * RingIdleStrategy.forAnswers). Calls whose answer waits for a device or a TEE process yield at once (as
 * RingIdleStrategy.forDeviceWork): the worker's device threads, or the host's endpoint and the TA's process, need
 * the cores (TEE_DIRECT too: the TA's process takes the lane before the host answers). Measured on the 2-core
 * development VM (docs/benchmarks.md, "icd" and "tee"): with Ferry alone in the process, launch + finish took
 * 78-82 us when the caller yielded at once, 98-112 us after 20 us of spinning and 168-274 us after 200 us; a
 * spinning libteec client made the hello TA's round trip slower too. */
static uint64_t spin_ns(int op) {
    if (op == FERRY_OP_TEE_OPEN_SESSION || op == FERRY_OP_TEE_INVOKE || op == FERRY_OP_TEE_DIRECT
        || op == FERRY_OP_FINISH || op == FERRY_OP_EVENT_WAIT || op == FERRY_OP_PROGRAM_BUILD
        || op == FERRY_OP_PROGRAM_COMPILE || op == FERRY_OP_PROGRAM_LINK) {
        return 0;
    }
    return SPIN_NS;
}

/* ---- logging ---- */

int ferry_log_enabled(void) {
    static int enabled = -1;
    int e = __atomic_load_n(&enabled, __ATOMIC_RELAXED);
    if (e < 0) {
        const char *v = getenv("FERRY_LOG");
        e = v != NULL && *v != 0 && strcmp(v, "0") != 0;
        __atomic_store_n(&enabled, e, __ATOMIC_RELAXED);
    }
    return e;
}

void ferry_log(const char *fmt, ...) {
    if (!ferry_log_enabled()) {
        return;
    }
    char line[2048];
    snprintf(line, sizeof line, "%s: ", ferry_client.log_prefix);
    size_t at = strlen(line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + at, sizeof line - at - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    /* one write: lines of several threads do not interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void) w;
}

/* ---- the end of a session ---- */

static int broken_status(const ferry_conn *c) {
    return atomic_load_explicit(&((ferry_conn *) c)->broken, memory_order_acquire);
}

/* Marks the session over (the first reason wins); returns the status it ended with. */
static int set_broken(ferry_conn *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_broken(ferry_conn *c, int status, const char *fmt, ...) {
    pthread_mutex_lock(&c->state_lock);
    int now = atomic_load(&c->broken);
    if (now == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->broken_why, sizeof c->broken_why, fmt, ap);
        va_end(ap);
        atomic_store_explicit(&c->broken, status, memory_order_release);
        now = status;
        if (status != FERRY_STATUS_SESSION_CLOSED || strstr(c->broken_why, "was closed") == NULL) {
            ferry_log("the session of guest '%s' is over: %s", c->r.guest, c->broken_why);
        }
    }
    pthread_mutex_unlock(&c->state_lock);
    return now;
}

int ferry_broken(const ferry_conn *c, char *why, size_t why_length) {
    if (c == NULL) {
        if (why != NULL && why_length > 0) snprintf(why, why_length, "no connection");
        return FERRY_STATUS_SESSION_CLOSED;
    }
    ferry_conn *m = (ferry_conn *) c;
    pthread_mutex_lock(&m->state_lock);
    int st = atomic_load(&m->broken);
    if (why != NULL && why_length > 0) {
        snprintf(why, why_length, "%s", st ? m->broken_why : "");
    }
    pthread_mutex_unlock(&m->state_lock);
    return st;
}

static char *dup_text(const char *s, uint32_t *length) {
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (t != NULL) {
        memcpy(t, s, n + 1);
    }
    if (length != NULL) *length = t ? (uint32_t) n : 0;
    return t;
}

/* Fills reply with the session's end (status and reason). */
static int broken_reply(ferry_conn *c, ferry_reply *reply) {
    char why[1024];
    int st = ferry_broken(c, why, sizeof why);
    if (reply != NULL) {
        reply->status = st;
        reply->text = dup_text(why, &reply->length);
    }
    return st;
}

/* Over a stream: the connection's end (a dropped connection, the host's CLOSED, a malformed frame) ends the
 * session at once, with the stream's reason. Returns the session's status (0: alive). */
static int stream_check(ferry_conn *c) {
    if (c->r.stream == NULL) {
        return 0;
    }
    char why[1024];
    int st = ferry_stream_lost(c->r.stream, why, sizeof why);
    return st != 0 ? set_broken(c, st, "%s", why) : 0;
}

static int frame_check_fail(ferry_conn *c, const char *detail) {
    return set_broken(c, FERRY_STATUS_PROTOCOL_VIOLATION, "completion ring corrupt: %s; the host broke the ring "
                      "protocol, so this session is over (restart the application; report it with the host's log)",
                      detail);
}

/* ---- the completion ring (consumer; sync_lock) ---- */

/* Takes completions up to and including the one answering seq want (of op want_op). Returns 1 (reply filled),
 * 0 (not yet) or a negative status (the session is over: a closing notice or a corrupt ring). */
static int cpl_poll(ferry_conn *c, uint64_t want, int want_op, ferry_reply *reply) {
    ferry_ring *ring = &c->r.cpl;
    uint8_t *data = ring->sec + FERRY_RING_DATA_OFFSET;
    uint64_t cap = ring->capacity;
    uint64_t tail = ferry_load64(ring->sec + FERRY_RING_TAIL_OFFSET);
    uint64_t head = c->cpl_head;
    char detail[256];
    if (tail < head || tail - head > cap || (tail & 7) != 0) {
        snprintf(detail, sizeof detail, "TAIL %llu with HEAD %llu and capacity %llu (need HEAD <= TAIL <= HEAD + "
                 "capacity, 8-aligned)", (unsigned long long) tail, (unsigned long long) head,
                 (unsigned long long) cap);
        return -frame_check_fail(c, detail);
    }
    uint64_t pos = head;
    int result = 0;
    while (pos < tail && result == 0) {
        uint64_t index = pos & (cap - 1);
        /* one read of the frame header: length and type are fetched once */
        uint64_t word = __atomic_load_n((uint64_t *) (void *) (data + index), __ATOMIC_RELAXED);
        uint32_t length = (uint32_t) word;
        int32_t type = (int32_t) (word >> 32);
        uint64_t aligned = ((uint64_t) length + 7) & ~(uint64_t) 7;
        if (length < FERRY_FRAME_HEADER_LENGTH || aligned > tail - pos || index + aligned > cap) {
            snprintf(detail, sizeof detail, "frame of length %u type %d at position %llu (index %llu of %llu, %llu "
                     "bytes published)", length, type, (unsigned long long) pos, (unsigned long long) index,
                     (unsigned long long) cap, (unsigned long long) (tail - pos));
            result = -frame_check_fail(c, detail);
            break;
        }
        if (type < 0) {
            if (type != FERRY_PADDING_TYPE || index + length != cap) {
                snprintf(detail, sizeof detail, "frame type %d length %u at index %llu (padding is type -1 and "
                         "ends exactly at the end, %llu)", type, length, (unsigned long long) index,
                         (unsigned long long) cap);
                result = -frame_check_fail(c, detail);
                break;
            }
            pos += length;
            continue;
        }
        if (length > ring->max_record || length < FERRY_COMPLETION_HEADER_LENGTH) {
            snprintf(detail, sizeof detail, "completion of %u bytes (a completion is %d to %llu bytes)", length,
                     FERRY_COMPLETION_HEADER_LENGTH, (unsigned long long) ring->max_record);
            result = -frame_check_fail(c, detail);
            break;
        }
        uint8_t *copy = c->scratch;
        memcpy(copy, data + index, FERRY_COMPLETION_HEADER_LENGTH);
        ferry_put64(copy, word);
        uint32_t blob = ferry_get32(copy + FERRY_COMPLETION_BLOB_LENGTH_OFFSET);
        if (blob > FERRY_MAX_COMPLETION_BLOB || FERRY_COMPLETION_HEADER_LENGTH + (uint64_t) blob > length) {
            snprintf(detail, sizeof detail, "completion blob of %u bytes in a record of %u (at most %d, within the "
                     "record)", blob, length, FERRY_MAX_COMPLETION_BLOB);
            result = -frame_check_fail(c, detail);
            break;
        }
        memcpy(copy + FERRY_COMPLETION_HEADER_LENGTH, data + index + FERRY_COMPLETION_HEADER_LENGTH, blob);
        copy[FERRY_COMPLETION_HEADER_LENGTH + blob] = 0;
        pos += aligned;
        uint64_t seq = ferry_get64(copy + FERRY_COMPLETION_SEQ_OFFSET);
        int32_t status = (int32_t) ferry_get32(copy + FERRY_COMPLETION_STATUS_OFFSET);
        const char *text = (const char *) copy + FERRY_COMPLETION_HEADER_LENGTH;
        if (type == FERRY_SESSION_CLOSED_TYPE) {
            int st = status > 0 && status <= FERRY_LAST_STATUS ? status : FERRY_STATUS_SESSION_CLOSED;
            result = -set_broken(c, st, "the host closed the session: %.900s", text);
            break;
        }
        if (seq != want || want == 0) {
            continue;       /* a reply to a call whose waiter gave up: not ours */
        }
        if (type != want_op) {
            snprintf(detail, sizeof detail, "completion of call #%llu answers op %d, the call was %s (%d)",
                     (unsigned long long) seq, type, op_name(want_op), want_op);
            result = -frame_check_fail(c, detail);
            break;
        }
        if (reply != NULL) {
            reply->status = status;
            for (int i = 0; i < FERRY_COMPLETION_RESULT_WORDS; i++) {
                reply->results[i] = ferry_get64(copy + FERRY_COMPLETION_RESULTS_OFFSET + 8 * i);
            }
            reply->text = NULL;
            reply->length = 0;
            if (blob > 0) {
                reply->text = malloc(blob + 1);
                if (reply->text != NULL) {
                    memcpy(reply->text, text, blob + 1);
                    reply->length = blob;
                }
            }
        }
        result = 1;
    }
    if (pos != head) {
        c->cpl_head = pos;
        /* release: our copies of the consumed records happen before the host overwrites them */
        ferry_store64(ring->sec + FERRY_RING_HEAD_OFFSET, pos);
    }
    return result;
}

/* A new host instance serves the region (or the guest's region was reset): another nonzero epoch than the one our
 * session was accepted under. The session and every object of it are gone: the restart error replaces whatever
 * ended the session before (the host's heartbeat standing still while it was down, its closing notice), so the
 * next call says what happened. Returns SESSION_CLOSED when so, else 0. */
static int note_restart(ferry_conn *c) {
    uint64_t e = ferry_load64(c->r.base + FERRY_HDR_HOST_EPOCH_OFFSET);
    if (e == c->epoch || e == 0) {
        return 0;
    }
    pthread_mutex_lock(&c->state_lock);
    if (!c->restart_noted) {
        c->restart_noted = 1;
        snprintf(c->broken_why, sizeof c->broken_why, "the host restarted (epoch %llx, was %llx; or the guest's "
                 "region was reset): this session's objects are lost; connect again (restart the application: "
                 "%s connects once per process)", (unsigned long long) e,
                 (unsigned long long) c->epoch, ferry_client.library);
        atomic_store_explicit(&c->broken, FERRY_STATUS_SESSION_CLOSED, memory_order_release);
        ferry_log("the session of guest '%s' is over: %s", c->r.guest, c->broken_why);
    }
    pthread_mutex_unlock(&c->state_lock);
    return FERRY_STATUS_SESSION_CLOSED;
}

/* The host ended our session (CONNECT_ACK is no longer our nonce): read its closing notice if we may consume the
 * completion ring now (have_sync: the caller holds sync_lock), else say so plainly. */
static int session_ended(ferry_conn *c, int have_sync) {
    if (have_sync || pthread_mutex_trylock(&c->sync_lock) == 0) {
        int r;
        do {
            r = cpl_poll(c, 0, 0, NULL);
        } while (r == 0 && c->cpl_head != ferry_load64(c->r.cpl.sec + FERRY_RING_TAIL_OFFSET));
        if (!have_sync) pthread_mutex_unlock(&c->sync_lock);
    }
    return set_broken(c, FERRY_STATUS_SESSION_CLOSED, "the host ended this session (another process of the guest "
                      "reconnected on this lane, or the host closed it); connect again");
}

int ferry_check(ferry_conn *c, char *why, size_t why_length) {
    if (c == NULL) {
        return ferry_broken(c, why, why_length);
    }
    stream_check(c);
    note_restart(c);
    if (broken_status(c) == 0 && ferry_load64(c->r.words + FERRY_LANE_CONNECT_ACK_OFFSET) != c->nonce) {
        session_ended(c, 0);
    }
    return ferry_broken(c, why, why_length);
}

/* Tracks the host's heartbeat and our session while a call waits. */
typedef struct liveness {
    uint64_t beat, changed_at, checked_at;
} liveness;

static void live_init(ferry_conn *c, liveness *l) {
    l->beat = ferry_load64(c->r.base + FERRY_HDR_HOST_HEARTBEAT_OFFSET);
    l->changed_at = l->checked_at = ferry_now_ns();
}

static int live_check(ferry_conn *c, liveness *l, int have_sync) {
    int st = stream_check(c);
    if (st != 0) {
        return st;
    }
    st = note_restart(c);
    if (st != 0) {
        return st;
    }
    st = broken_status(c);
    if (st != 0) {
        return st;
    }
    uint64_t t = ferry_now_ns();
    if (t - l->checked_at < 1000000) {
        return 0;
    }
    l->checked_at = t;
    if (ferry_load64(c->r.words + FERRY_LANE_CONNECT_ACK_OFFSET) != c->nonce) {
        return session_ended(c, have_sync);
    }
    uint64_t beat = ferry_load64(c->r.base + FERRY_HDR_HOST_HEARTBEAT_OFFSET);
    if (beat != l->beat) {
        l->beat = beat;
        l->changed_at = t;
    } else if (t - l->changed_at > HOST_TIMEOUT_NS) {
        return set_broken(c, FERRY_STATUS_HOST_UNAVAILABLE, "no heartbeat from the host of %s for %llu ms: the host "
                          "stopped or hangs; restart it (./ferry host), then the application", c->r.where,
                          (unsigned long long) ((t - l->changed_at) / 1000000));
    }
    return 0;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Consumer sleep on the completion ring's doorbell (§1.2), at most ns; a nap inside a VM. */
static void cpl_sleep(ferry_conn *c, uint64_t ns, int *futex_ok) {
    if (c->r.naps || !*futex_ok) {
        ferry_nap_ns(ns);
        return;
    }
    uint8_t *sec = c->r.cpl.sec;
    uint32_t *bell = (uint32_t *) (void *) (sec + FERRY_RING_DOORBELL_OFFSET);
    uint32_t *waiting = (uint32_t *) (void *) (sec + FERRY_RING_CONSUMER_WAITING_OFFSET);
    uint32_t rung = __atomic_load_n(bell, __ATOMIC_ACQUIRE);
    __atomic_store_n(waiting, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (ferry_load64(sec + FERRY_RING_TAIL_OFFSET) == c->cpl_head) {
        struct timespec ts = {(time_t) (ns / 1000000000u), (long) (ns % 1000000000u)};
        long r = syscall(SYS_futex, bell, FUTEX_WAIT, rung, &ts, NULL, 0);
        if (r != 0 && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
            *futex_ok = 0;      /* futexes do not work on this mapping: nap from now on */
            ferry_nap_ns(ns);
        }
    }
    __atomic_store_n(waiting, 0, __ATOMIC_RELEASE);
}

/* Waits for the completion of call s (sync_lock held). Returns its status, or the session's end. */
static int await_completion(ferry_conn *c, uint64_t s, int op, ferry_reply *reply) {
    uint64_t spin = spin_ns(op);
    uint64_t start = 0, sleep_ns = MIN_SLEEP_NS;
    int futex_ok = 1;
    liveness live;
    live_init(c, &live);
    for (unsigned idles = 0;; idles++) {
        int r = cpl_poll(c, s, op, reply);
        if (r > 0) {
            return reply->status;
        }
        if (r < 0) {
            return broken_reply(c, reply);
        }
        uint64_t t = ferry_now_ns();
        if (start == 0) start = t;
        if ((idles & 15) == 0 || t - start >= spin) {
            if (live_check(c, &live, 1) != 0) {
                return broken_reply(c, reply);
            }
        }
        if (c->r.stream != NULL && ferry_stream_receive(c->r.stream, c->cpl_head)) {
            continue;   /* over a stream: this thread read a frame itself (or waited for one) */
        }
        if (t - start < spin) {
            cpu_relax();
        } else if (t - start < spin + YIELD_NS) {
            sched_yield();
        } else {
            cpl_sleep(c, sleep_ns, &futex_ok);
            sleep_ns = sleep_ns * 2 > MAX_SLEEP_NS ? MAX_SLEEP_NS : sleep_ns * 2;
        }
    }
}

/* ---- the command ring (producer; send_lock) ---- */

static void cmd_publish(ferry_conn *c) {
    if (c->cmd_pending != c->cmd_published) {
        c->cmd_published = c->cmd_pending;
        /* release: the records written before are visible no later than TAIL */
        ferry_store64(c->r.cmd.sec + FERRY_RING_TAIL_OFFSET, c->cmd_pending);
        if (c->r.stream == NULL || !ferry_stream_kick(c->r.stream)) {
            ferry_wake_host(&c->r);     /* over a stream: when this thread did not send them itself */
        }
    }
    c->unpublished = 0;
}

/* Reserves length bytes (padding first where the record would cross the end) and writes the frame header.
 * Returns 0 and the record's index in data, 1 when the ring is full now, or a negative status (corrupt HEAD). */
static int cmd_claim(ferry_conn *c, int op, uint32_t length, uint64_t *at) {
    ferry_ring *ring = &c->r.cmd;
    uint8_t *data = ring->sec + FERRY_RING_DATA_OFFSET;
    uint64_t cap = ring->capacity;
    uint64_t aligned = ((uint64_t) length + 7) & ~(uint64_t) 7;
    uint64_t pending = c->cmd_pending;
    uint64_t index = pending & (cap - 1);
    uint64_t padding = aligned > cap - index ? cap - index : 0;
    uint64_t end = pending + padding + aligned;
    if (end - c->cmd_cached_head > cap) {
        uint64_t head = ferry_load64(ring->sec + FERRY_RING_HEAD_OFFSET);
        uint64_t tail = c->cmd_published;
        if (head > tail || tail - head > cap || head < c->cmd_cached_head || (head & 7) != 0) {
            return -set_broken(c, FERRY_STATUS_PROTOCOL_VIOLATION, "command ring corrupt: the host's HEAD %llu "
                               "with our TAIL %llu (was %llu, capacity %llu); the host broke the ring protocol, "
                               "so this session is over (restart the application)", (unsigned long long) head,
                               (unsigned long long) tail, (unsigned long long) c->cmd_cached_head,
                               (unsigned long long) cap);
        }
        c->cmd_cached_head = head;
        if (end - head > cap) {
            return 1;
        }
    }
    if (padding != 0) {
        ferry_put64(data + index, (uint64_t) (uint32_t) FERRY_PADDING_TYPE << 32 | padding);
        index = 0;
    }
    ferry_put64(data + index, (uint64_t) (uint32_t) op << 32 | length);
    c->cmd_pending = end;
    *at = index;
    return 0;
}

/* Writes one call record; publish: make it (and every deferred one) visible. Returns 0 and its seq, or a status. */
static int send_record(ferry_conn *c, int op, uint32_t flags, const uint64_t *args, int argc, const ferry_iov *blob,
                       int blob_parts, int publish, uint64_t *seq_out, char *why, size_t why_length) {
    int sync = 0;
    int expected = op_argc(op, &sync);
    if (expected < 0 || argc != expected || (argc > 0 && args == NULL) || blob_parts < 0
        || (blob_parts > 0 && blob == NULL)) {
        snprintf(why, why_length, "%s (op %d) takes %d arguments, not %d (a bug of %s; nothing was sent)",
                 op_name(op), op, expected, argc, ferry_client.library);
        return FERRY_STATUS_INVALID_ARGUMENT;
    }
    if (flags == 0 && sync) {
        snprintf(why, why_length, "%s is a synchronous call: use ferry_call (a bug of %s)", op_name(op),
                 ferry_client.library);
        return FERRY_STATUS_INVALID_ARGUMENT;
    }
    uint64_t blob_length = 0;
    for (int i = 0; i < blob_parts; i++) {
        if (blob[i].length > 0 && blob[i].data == NULL) {
            snprintf(why, why_length, "%s: a blob part of %zu bytes without data", op_name(op), blob[i].length);
            return FERRY_STATUS_INVALID_ARGUMENT;
        }
        blob_length += blob[i].length;
        if (blob_length > UINT32_MAX) break;
    }
    uint64_t length = FERRY_CALL_HEADER_LENGTH + 8 * (uint64_t) argc + blob_length;
    if (blob_length > UINT32_MAX || length > c->r.cmd.max_record) {
        snprintf(why, why_length, "%s of %llu bytes exceeds the largest record the command ring carries (%llu "
                 "bytes); pass large data through heap memory", op_name(op), (unsigned long long) length,
                 (unsigned long long) c->r.cmd.max_record);
        return FERRY_STATUS_INVALID_ARGUMENT;
    }
    note_restart(c);
    stream_check(c);
    int st = broken_status(c);
    if (st == 0 && ferry_load64(c->r.words + FERRY_LANE_CONNECT_ACK_OFFSET) != c->nonce) {
        st = session_ended(c, 0);   /* a newer session owns the rings now: writing would corrupt it */
    }
    if (st != 0) {
        ferry_broken(c, why, why_length);
        return st;
    }
    pthread_mutex_lock(&c->send_lock);
    uint64_t at = 0;
    int r = cmd_claim(c, op, (uint32_t) length, &at);
    if (r == 1) {
        cmd_publish(c);     /* the host may be waiting for what we hold back */
        liveness live;
        live_init(c, &live);
        uint64_t nap = MIN_SLEEP_NS;
        for (int spins = 0; (r = cmd_claim(c, op, (uint32_t) length, &at)) == 1; spins++) {
            int ls = live_check(c, &live, 0);
            if (ls != 0) {
                r = -ls;
                break;
            }
            if (spins < 64) {
                sched_yield();
            } else {
                ferry_nap_ns(nap);
                nap = nap * 2 > MAX_SLEEP_NS ? MAX_SLEEP_NS : nap * 2;
            }
        }
    }
    if (r < 0) {
        pthread_mutex_unlock(&c->send_lock);
        ferry_broken(c, why, why_length);
        return -r;
    }
    uint8_t *rec = c->r.cmd.sec + FERRY_RING_DATA_OFFSET + at;
    uint64_t s = ++c->seq;
    ferry_put64(rec + FERRY_CALL_SEQ_OFFSET, s);
    ferry_put32(rec + FERRY_CALL_FLAGS_OFFSET, flags);
    ferry_put32(rec + FERRY_CALL_BLOB_LENGTH_OFFSET, (uint32_t) blob_length);
    if (argc > 0) {
        memcpy(rec + FERRY_CALL_ARGS_OFFSET, args, 8 * (size_t) argc);
    }
    uint8_t *b = rec + FERRY_CALL_ARGS_OFFSET + 8 * (size_t) argc;
    for (int i = 0; i < blob_parts; i++) {
        if (blob[i].length > 0) {
            memcpy(b, blob[i].data, blob[i].length);
            b += blob[i].length;
        }
    }
    if (publish) {
        cmd_publish(c);
    } else {
        c->unpublished++;
    }
    pthread_mutex_unlock(&c->send_lock);
    *seq_out = s;
    return 0;
}

int ferry_send(ferry_conn *c, int op, const uint64_t *args, int argc, const ferry_iov *blob, int blob_parts,
               int defer) {
    if (c == NULL) {
        return FERRY_STATUS_SESSION_CLOSED;
    }
    uint64_t s;
    char why[1024];
    int st = send_record(c, op, 0, args, argc, blob, blob_parts, !defer, &s, why, sizeof why);
    if (st != 0 && st == FERRY_STATUS_INVALID_ARGUMENT) {
        ferry_log("%s", why);
    }
    return st;
}

void ferry_flush(ferry_conn *c) {
    if (c == NULL || broken_status(c) != 0) {
        return;
    }
    pthread_mutex_lock(&c->send_lock);
    if (c->unpublished > 0) {
        cmd_publish(c);
    }
    pthread_mutex_unlock(&c->send_lock);
}

/* ---- synchronous calls ---- */

static void file_async(ferry_conn *c, const ferry_reply *r) {
    pthread_mutex_lock(&c->state_lock);
    if (c->async_status == 0 || r->results[0] < c->async_seq) {
        c->async_status = r->status;
        c->async_seq = r->results[0];
        c->async_op = (int) r->results[1];
        snprintf(c->async_text, sizeof c->async_text, "%s", r->text ? r->text : "");
    }
    pthread_mutex_unlock(&c->state_lock);
    ferry_log("%s", r->text ? r->text : "an earlier call failed");
}

static int call_locked(ferry_conn *c, int op, const uint64_t *args, int argc, const ferry_iov *blob, int blob_parts,
                       ferry_reply *reply) {
    for (int attempt = 0;; attempt++) {
        memset(reply, 0, sizeof *reply);
        uint64_t s = 0;
        char why[1024];
        int st = send_record(c, op, (uint32_t) FERRY_FLAG_REPLY, args, argc, blob, blob_parts, 1, &s, why,
                             sizeof why);
        if (st != 0) {
            reply->status = st;
            reply->text = dup_text(why, &reply->length);
            return st;
        }
        st = await_completion(c, s, op, reply);
        int sticky = st != 0 && reply->results[2] == 1;
        if (!sticky) {
            return st;
        }
        if (op == FERRY_OP_FINISH || attempt >= STICKY_RETRIES) {
            /* FINISH reports an earlier failure as its own status (its queue was drained) */
            reply->sticky = 1;
            reply->failed_seq = reply->results[0];
            reply->failed_op = (int) reply->results[1];
            return st;
        }
        /* The call was not carried out: keep the earlier failure for ferry_take_async and send it again. */
        file_async(c, reply);
        ferry_reply_free(reply);
    }
}

int ferry_call(ferry_conn *c, int op, const uint64_t *args, int argc, const ferry_iov *blob, int blob_parts,
               ferry_reply *reply) {
    ferry_reply local;
    ferry_reply *r = reply != NULL ? reply : &local;
    memset(r, 0, sizeof *r);
    if (c == NULL) {
        r->status = FERRY_STATUS_SESSION_CLOSED;
        r->text = dup_text("no connection to a Ferry host", &r->length);
    } else if (broken_status(c) != 0) {
        broken_reply(c, r);
    } else {
        pthread_mutex_lock(&c->sync_lock);
        call_locked(c, op, args, argc, blob, blob_parts, r);
        pthread_mutex_unlock(&c->sync_lock);
    }
    int st = r->status;
    if (reply == NULL) {
        ferry_reply_free(&local);
    }
    return st;
}

void ferry_reply_free(ferry_reply *r) {
    if (r != NULL) {
        free(r->text);
        r->text = NULL;
        r->length = 0;
    }
}

int ferry_take_async(ferry_conn *c, char *message, size_t message_length) {
    if (c == NULL) {
        return 0;
    }
    pthread_mutex_lock(&c->state_lock);
    int st = c->async_status;
    if (message != NULL && message_length > 0) {
        snprintf(message, message_length, "%s", st ? c->async_text : "");
    }
    c->async_status = 0;
    c->async_seq = 0;
    c->async_op = 0;
    c->async_text[0] = 0;
    pthread_mutex_unlock(&c->state_lock);
    return st;
}

/* ---- small accessors ---- */

int ferry_heap_shared(const ferry_conn *c) {
    return c != NULL && c->r.stream == NULL;
}

uint64_t ferry_host_capabilities(const ferry_conn *c) {
    return c ? c->host_caps : 0;
}

uint32_t ferry_device_count(const ferry_conn *c) {
    return c ? c->devices : 0;
}

const char *ferry_guest_name(const ferry_conn *c) {
    return c ? c->r.guest : "";
}

uint64_t ferry_new_handle(ferry_conn *c) {
    return c ? atomic_fetch_add(&c->handles, 1) + 1 : 0;
}

/* ---- the heartbeat thread: our GUEST_HEARTBEAT, the host's heartbeat, our session ---- */

static void *beat_main(void *arg) {
    ferry_conn *c = arg;
    uint64_t beat = 1;
    pthread_mutex_lock(&c->beat_lock);
    while (!c->beat_stop) {
        if (broken_status(c) == 0 && stream_check(c) == 0) {
            ferry_store64(c->r.words + FERRY_LANE_GUEST_HEARTBEAT_OFFSET, ++beat);
            pthread_mutex_unlock(&c->beat_lock);
            int restarted = note_restart(c);
            pthread_mutex_lock(&c->beat_lock);
            if (restarted != 0) {
                continue;   /* the session is over (broken is set): the next turn only waits */
            }
            uint64_t now = ferry_now_ns();
            uint64_t host = ferry_load64(c->r.base + FERRY_HDR_HOST_HEARTBEAT_OFFSET);
            if (host != c->seen_host_beat) {
                c->seen_host_beat = host;
                c->seen_host_beat_at = now;
            } else if (now - c->seen_host_beat_at > HOST_TIMEOUT_NS) {
                pthread_mutex_unlock(&c->beat_lock);
                set_broken(c, FERRY_STATUS_HOST_UNAVAILABLE, "no heartbeat from the host of %s for %llu ms: the "
                           "host stopped or hangs; restart it (./ferry host), then the application", c->r.where,
                           (unsigned long long) ((now - c->seen_host_beat_at) / 1000000));
                pthread_mutex_lock(&c->beat_lock);
            } else if (ferry_load64(c->r.words + FERRY_LANE_CONNECT_ACK_OFFSET) != c->nonce) {
                pthread_mutex_unlock(&c->beat_lock);
                session_ended(c, 0);
                pthread_mutex_lock(&c->beat_lock);
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long) BEAT_PERIOD_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!c->beat_stop && pthread_cond_timedwait(&c->beat_cond, &c->beat_lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&c->beat_lock);
    return NULL;
}

static int beat_start(ferry_conn *c) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->beat_cond, &ca);
    pthread_condattr_destroy(&ca);
    c->seen_host_beat = ferry_load64(c->r.base + FERRY_HDR_HOST_HEARTBEAT_OFFSET);
    c->seen_host_beat_at = ferry_now_ns();
    /* the thread takes no signals: the application's handlers run on its own threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&c->beat_thread, NULL, beat_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    c->beat_running = e == 0;
    return e;
}

static void beat_stop(ferry_conn *c) {
    if (!c->beat_running) {
        return;
    }
    pthread_mutex_lock(&c->beat_lock);
    c->beat_stop = 1;
    pthread_cond_broadcast(&c->beat_cond);
    pthread_mutex_unlock(&c->beat_lock);
    pthread_join(c->beat_thread, NULL);
    c->beat_running = 0;
}

/* ---- live connections: GOODBYE at exit, nothing in a forked child ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ferry_conn *live_list;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* GOODBYE if the session lives; waits for the sync lock at most 1 s (a thread may be stuck in a call). */
static void say_goodbye(ferry_conn *c) {
    if (broken_status(c) != 0) {
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (pthread_mutex_timedlock(&c->sync_lock, &until) != 0) {
        return;
    }
    if (broken_status(c) == 0) {
        ferry_reply r;
        call_locked(c, FERRY_OP_GOODBYE, NULL, 0, NULL, 0, &r);
        ferry_reply_free(&r);
        set_broken(c, FERRY_STATUS_SESSION_CLOSED, "the connection was closed");
    }
    pthread_mutex_unlock(&c->sync_lock);
}

static void at_exit(void) {
    pthread_mutex_lock(&registry_lock);
    for (ferry_conn *c = live_list; c != NULL; c = c->next_live) {
        say_goodbye(c);
        beat_stop(c);       /* before this library's code may be unloaded */
    }
    pthread_mutex_unlock(&registry_lock);
}

/* A forked child shares the parent's mapping: it must never touch the parent's session. */
static void in_child(void) {
    pthread_mutex_init(&registry_lock, NULL);
    for (ferry_conn *c = live_list; c != NULL; c = c->next_live) {
        pthread_mutex_init(&c->send_lock, NULL);
        pthread_mutex_init(&c->sync_lock, NULL);
        pthread_mutex_init(&c->state_lock, NULL);
        pthread_mutex_init(&c->heap_lock, NULL);
        pthread_mutex_init(&c->beat_lock, NULL);
        c->beat_running = 0;    /* the thread did not come along */
        if (atomic_load(&c->broken) == 0) {
            snprintf(c->broken_why, sizeof c->broken_why, "this connection belongs to process %d; a child made by "
                     "fork() cannot use it (nor objects of its parent made through %s): use it in the child only "
                     "after exec, or before fork in the parent only", (int) c->pid, ferry_client.library);
            atomic_store(&c->broken, FERRY_STATUS_SESSION_CLOSED);
        }
    }
}

static void install_hooks(void) {
    atexit(at_exit);
    pthread_atfork(NULL, NULL, in_child);
}

static void registry_add(ferry_conn *c) {
    pthread_once(&hooks_once, install_hooks);
    pthread_mutex_lock(&registry_lock);
    c->next_live = live_list;
    live_list = c;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(ferry_conn *c) {
    pthread_mutex_lock(&registry_lock);
    for (ferry_conn **p = &live_list; *p != NULL; p = &(*p)->next_live) {
        if (*p == c) {
            *p = c->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

/* ---- connect and disconnect ---- */

static void release_lane(ferry_conn *c) {
    if (c->r.base != NULL && c->r.lane >= 0) {
        uint64_t mine = (uint64_t) c->pid;
        __atomic_compare_exchange_n((uint64_t *) (void *) (c->r.words + FERRY_LANE_CLAIM_WORD_OFFSET), &mine, 0, 0,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

static void conn_free(ferry_conn *c) {
    ferry_region_close(&c->r);
    ferry_heap_destroy(c);
    free(c->scratch);
    pthread_mutex_destroy(&c->send_lock);
    pthread_mutex_destroy(&c->sync_lock);
    pthread_mutex_destroy(&c->state_lock);
    pthread_mutex_destroy(&c->heap_lock);
    pthread_mutex_destroy(&c->beat_lock);
    free(c);
}

static uint64_t fresh_nonce(void) {
    uint64_t n = 0;
    if (getrandom(&n, sizeof n, 0) != (ssize_t) sizeof n) {
        n = ferry_now_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t) getpid() << 32;
    }
    return n | 1;
}

/* The handshake of §3: request, wait for the ack (3 s, or 20 s once the host's heartbeat moved), reset our ring
 * positions. */
static int handshake(ferry_conn *c, char *err, size_t n) {
    ferry_region *r = &c->r;
    c->nonce = fresh_nonce();
    ferry_store64(r->words + FERRY_LANE_GUEST_PID_OFFSET, (uint64_t) c->pid);
    ferry_store64(r->words + FERRY_LANE_GUEST_HEARTBEAT_OFFSET, 1);
    ferry_store64(r->words + FERRY_LANE_CONNECT_REQUEST_OFFSET, c->nonce);
    ferry_wake_host(r);     /* between sessions the host sleeps on the command ring's doorbell */
    uint64_t beat = ferry_load64(r->base + FERRY_HDR_HOST_HEARTBEAT_OFFSET);
    int beating = 0;
    uint64_t start = ferry_now_ns(), nap = 20000;
    while (ferry_load64(r->words + FERRY_LANE_CONNECT_ACK_OFFSET) != c->nonce) {
        int lost = ferry_stream_lost(r->stream, err, n);
        if (lost != 0) {
            return lost;    /* over a stream: the connection ended (the host's reason, if it gave one) */
        }
        beating |= ferry_load64(r->base + FERRY_HDR_HOST_HEARTBEAT_OFFSET) != beat;
        uint64_t limit = beating ? CONNECT_LIVE_TIMEOUT_NS : CONNECT_TIMEOUT_NS;
        if (ferry_now_ns() - start > limit) {
            snprintf(err, n, "%.320s: %s within %llu ms; is the host running (./ferry host) and serving guest "
                     "'%s'? (FERRY_HOST takes unix:SOCKET, file:REGION or pci:ADDRESS)", r->where,
                     beating ? "the host serving it is running but did not accept the connection" :
                               "no host is serving it (its heartbeat is not moving)",
                     (unsigned long long) (limit / 1000000), r->guest);
            return FERRY_STATUS_HOST_UNAVAILABLE;
        }
        ferry_nap_ns(nap);
        nap = nap * 2 > MAX_SLEEP_NS ? MAX_SLEEP_NS : nap * 2;
    }
    /* the host reset both rings before the ack: start from 0 on our side too */
    c->cmd_published = c->cmd_pending = c->cmd_cached_head = 0;
    c->cpl_head = 0;
    c->unpublished = 0;
    c->seq = 0;
    c->session_id = ferry_load64(r->words + FERRY_LANE_SESSION_ID_OFFSET);
    c->epoch = ferry_load64(r->base + FERRY_HDR_HOST_EPOCH_OFFSET);
    return 0;
}

int ferry_connect(ferry_conn **out, char *err, size_t err_length) {
    char scratch_err[1024];
    if (err == NULL || err_length == 0) {
        err = scratch_err;
        err_length = sizeof scratch_err;
    }
    err[0] = 0;
    *out = NULL;
    ferry_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, err_length, "out of memory");
        return FERRY_STATUS_INTERNAL;
    }
    pthread_mutex_init(&c->send_lock, NULL);
    pthread_mutex_init(&c->sync_lock, NULL);
    pthread_mutex_init(&c->state_lock, NULL);
    pthread_mutex_init(&c->heap_lock, NULL);
    pthread_mutex_init(&c->beat_lock, NULL);
    atomic_init(&c->handles, 0);
    atomic_init(&c->broken, 0);
    c->pid = getpid();
    int st = ferry_region_open(&c->r, c->pid, err, err_length);
    if (st != 0) {
        ferry_log("cannot connect: %s", err);
        conn_free(c);
        return st;
    }
    c->scratch = malloc(FERRY_COMPLETION_HEADER_LENGTH + FERRY_MAX_COMPLETION_BLOB + 1);
    if (c->scratch == NULL || ferry_heap_init(c) != 0) {
        snprintf(err, err_length, "out of memory");
        release_lane(c);
        conn_free(c);
        return FERRY_STATUS_INTERNAL;
    }
    st = handshake(c, err, err_length);
    if (st == 0 && beat_start(c) != 0) {
        snprintf(err, err_length, "cannot start the heartbeat thread: %s", strerror(errno));
        st = FERRY_STATUS_INTERNAL;
    }
    if (st == 0) {
        uint64_t cred[4];
        memcpy(cred, c->r.credential, sizeof cred);
        uint64_t args[FERRY_HELLO_ARGC] = {0};
        args[FERRY_ARG_HELLO_MAGIC] = FERRY_HELLO_MAGIC;
        args[FERRY_ARG_HELLO_VERSION] = FERRY_PROTOCOL_VERSION;
        args[FERRY_ARG_HELLO_CAPABILITIES] = FERRY_CAPABILITIES;
        args[FERRY_ARG_HELLO_PID] = (uint64_t) c->pid;
        args[FERRY_ARG_HELLO_CREDENTIAL0] = cred[0];
        args[FERRY_ARG_HELLO_CREDENTIAL1] = cred[1];
        args[FERRY_ARG_HELLO_CREDENTIAL2] = cred[2];
        args[FERRY_ARG_HELLO_CREDENTIAL3] = cred[3];
        ferry_iov name = {c->r.guest, strlen(c->r.guest)};
        ferry_reply hello;
        st = ferry_call(c, FERRY_OP_HELLO, args, FERRY_HELLO_ARGC, &name, 1, &hello);
        if (st != 0) {
            snprintf(err, err_length, "the host of %s refused guest '%s' (HELLO): %s", c->r.where, c->r.guest,
                     hello.text ? hello.text : "no reason given");
        } else if (hello.results[3] > MAX_DEVICES) {
            snprintf(err, err_length, "the host of %s answered HELLO with %llu devices (at most %u); a host of "
                     "another version? use matching versions", c->r.where, (unsigned long long) hello.results[3],
                     MAX_DEVICES);
            st = FERRY_STATUS_PROTOCOL_VIOLATION;
        } else {
            c->session_id = hello.results[0];
            c->host_caps = hello.results[2];
            c->devices = (uint32_t) hello.results[3];
        }
        ferry_reply_free(&hello);
    }
    if (st != 0) {
        ferry_log("cannot connect: %s", err);
        set_broken(c, st, "%s", err);
        beat_stop(c);
        release_lane(c);
        conn_free(c);
        return st;
    }
    registry_add(c);
    *out = c;
    return 0;
}

void ferry_disconnect(ferry_conn *c) {
    if (c == NULL) {
        return;
    }
    registry_remove(c);
    say_goodbye(c);
    set_broken(c, FERRY_STATUS_SESSION_CLOSED, "the connection was closed");
    beat_stop(c);
    /* the host frees the lane when it ends the session: wait a little so a next connect finds it free (over a
     * stream the host's proxy frees it when the connection closes: nothing to wait for here) */
    uint64_t start = ferry_now_ns();
    uint8_t *claim = c->r.words + FERRY_LANE_CLAIM_WORD_OFFSET;
    while (c->r.stream == NULL && ferry_load64(claim) == (uint64_t) c->pid
           && ferry_now_ns() - start < LANE_FREE_WAIT_NS) {
        ferry_nap_ns(1000000);
    }
    release_lane(c);
    conn_free(c);
}
