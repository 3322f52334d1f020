/* transport_internal.h: what the transport's own files share (transport.c: the session, rings and calls;
 * transport_connect.c: finding and mapping the region; transport_heap.c: the heap allocator). Not for the OpenCL
 * files: they use transport.h. */
#ifndef FERRY_TRANSPORT_INTERNAL_H
#define FERRY_TRANSPORT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "transport.h"
#include "transport_stream.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Ferry's wire is little-endian; this transport reads it natively"
#endif

/* One ring section as validated at connect: control block at sec, data at sec + FERRY_RING_DATA_OFFSET. */
typedef struct ferry_ring {
    uint8_t *sec;
    uint64_t capacity;          /* power of two */
    uint64_t max_record;        /* capacity / 2 */
} ferry_ring;

typedef struct ferry_heap_block {
    uint64_t offset, size;
} ferry_heap_block;

/* A mapped, validated region with the lane this process claimed (transport_connect.c fills it in). */
typedef struct ferry_region {
    uint8_t *base;
    size_t mapped;              /* bytes mapped at base (munmap) */
    uint64_t size;              /* REGION_SIZE, <= mapped */
    uint32_t lanes;
    int lane;                   /* claimed lane, -1 before */
    uint8_t *words;             /* the lane's connect words */
    ferry_ring cmd, cpl;
    uint8_t *heap;
    uint64_t heap_size;
    char guest[FERRY_HDR_GUEST_NAME_LENGTH];
    uint8_t credential[FERRY_HDR_CREDENTIAL_LENGTH];
    char where[320];            /* names the region in messages: "unix:/run/ferry/guest.sock", a file, a PCI BAR */
    /* inside a VM (pci:): the BAR0 registers (ivshmem DOORBELL at 12) or NULL; waits are naps */
    volatile uint32_t *bar0;
    size_t bar0_mapped;
    int naps;                   /* 1: no futexes reach the host (a VM): sleep with timed naps */
    /* a stream address (ferry+tls:, ferry+tcp:, ...): base is a local mirror of the host's region, whose lane this
     * stream replays (transport_stream.c); NULL for shared memory */
    struct ferry_stream *stream;
} ferry_region;

struct ferry_conn {
    ferry_region r;
    pid_t pid;
    uint64_t nonce;
    uint64_t epoch;             /* the host's epoch when our session was accepted (docs/protocol.md, epochs) */
    int restart_noted;          /* state_lock: the restart error replaced whatever ended the session */
    uint64_t session_id;
    uint32_t devices;
    uint64_t host_caps;          /* the host's capabilities from HELLO (FERRY_CAP_*) */

    pthread_mutex_t send_lock;  /* the command ring (producer side), seq */
    pthread_mutex_t sync_lock;  /* one synchronous call outstanding; the completion ring (consumer side) */
    pthread_mutex_t state_lock; /* broken text, async failure */
    pthread_mutex_t heap_lock;

    /* producer (send_lock) */
    uint64_t seq;
    uint64_t cmd_published, cmd_pending, cmd_cached_head;
    int unpublished;
    /* consumer (sync_lock) */
    uint64_t cpl_head;
    uint8_t *scratch;           /* a private copy of one completion */

    atomic_uint_fast64_t handles;

    /* the end of the session: status nonzero once broken (state_lock for the text) */
    atomic_int broken;
    char broken_why[1024];

    /* the earliest one-way failure a sticky report named, not taken yet (state_lock) */
    int async_status;
    uint64_t async_seq;
    int async_op;
    char async_text[1024];

    /* heartbeat thread */
    pthread_t beat_thread;
    int beat_running;
    int beat_stop;
    pthread_mutex_t beat_lock;
    pthread_cond_t beat_cond;
    uint64_t seen_host_beat;
    uint64_t seen_host_beat_at;

    /* heap (heap_lock): free ranges sorted by offset, used blocks unsorted */
    ferry_heap_block *free_list, *used_list;
    size_t free_count, free_cap, used_count, used_cap;
    uint64_t heap_used;

    struct ferry_conn *next_live; /* the registry of live connections (atexit, fork) */
};

/* ---- live words: acquire loads and release stores on 8-aligned words of the mapping ---- */
static inline uint64_t ferry_load64(const uint8_t *p) {
    return __atomic_load_n((const uint64_t *) (const void *) p, __ATOMIC_ACQUIRE);
}
static inline void ferry_store64(uint8_t *p, uint64_t v) {
    __atomic_store_n((uint64_t *) (void *) p, v, __ATOMIC_RELEASE);
}
static inline uint32_t ferry_load32(const uint8_t *p) {
    return __atomic_load_n((const uint32_t *) (const void *) p, __ATOMIC_ACQUIRE);
}
static inline uint64_t ferry_get64(const uint8_t *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
static inline uint32_t ferry_get32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
static inline void ferry_put64(uint8_t *p, uint64_t v) { __builtin_memcpy(p, &v, 8); }
static inline void ferry_put32(uint8_t *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

uint64_t ferry_now_ns(void);
void ferry_nap_ns(uint64_t ns);

/* transport_connect.c: maps the region the environment names, validates its header and claims a lane. On failure
 * returns a status and writes the reason to err (the region is then unmapped). */
int ferry_region_open(ferry_region *r, pid_t pid, char *err, size_t err_length);
void ferry_region_close(ferry_region *r);
/* Validates a mapped header (exposed for tests of corrupt headers): fills r's geometry. */
int ferry_region_check(ferry_region *r, char *err, size_t err_length);
/* Rings the command ring's doorbell as a producer after TAIL (or a connect request): fence, then wake a sleeper. */
void ferry_wake_host(ferry_region *r);

/* The guest's 32-byte secret from FERRY_SECRET or FERRY_SECRET_FILE (which must be mode 0600 or 0400); 0, or a
 * status (NOT_CONFIGURED when neither is set) with the reason in err. */
int ferry_secret_from_environment(const char *guest, uint8_t secret[32], char *err, size_t n);

/* transport_connect.c: writes the formatted message into err (when err is given and n > 0) and returns status. */
int ferry_fail(char *err, size_t n, int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Points r at lane i's sections (checked again against the mapping). */
int ferry_region_use_lane(ferry_region *r, uint32_t i, char *err, size_t n);

/* transport_stream.c: connects to the stream address url (from origin, for messages), sends OPEN for guest, makes
 * the local mirror from OPENED's header page (r->base), checks it (ferry_region_check), takes the lane the host
 * named and starts the sender and receiver threads. On failure returns a status, err says why, nothing is left. */
int ferry_stream_open(ferry_region *r, const char *url, const char *origin, const char *guest, pid_t pid, char *err,
                      size_t n);
/* Stops the threads, closes the connection (a forked child only closes its copy of the socket). */
void ferry_stream_close(struct ferry_stream *s);
/* A caller that published records sends them itself when the sender thread is not at it (no wake-up hop): 1 when
 * everything published went out, 0 when the caller must ring the ring's doorbell as usual. */
int ferry_stream_kick(struct ferry_stream *s);
/* A caller waiting for a completion whose ring is empty (its consumer HEAD cpl_head) reads the stream itself, so
 * the answer wakes it rather than the receiver thread and then it: 1 when it read a frame, waited 100 ms for one in
 * vain, or found the ring no longer empty (poll it again now); 0 when another thread reads (wait as usual). */
int ferry_stream_receive(struct ferry_stream *s, uint64_t cpl_head);
/* Nonzero (a status) once the connection is gone: why says what happened. */
int ferry_stream_lost(struct ferry_stream *s, char *why, size_t n);

/* transport_heap.c */
int ferry_heap_init(ferry_conn *c);
void ferry_heap_destroy(ferry_conn *c);

#endif
