/* handoff.h: the waits of the floor harnesses (handoff_floor.c, launch_floor.c) and the line each prints (report):
 * a mailbox word on a cache line of its own, and one way to wait for a value per letter: y = sched_yield in a loop
 * (what Ferry's waiters do where cores are few), s = spin, b = spin for 20 us, then yield (the host's wait for a TA's
 * reply; a device worker's wait for its guest's next command), f = sleep on a futex (the poster wakes it). */
#ifndef FERRY_HANDOFF_H
#define FERRY_HANDOFF_H

#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Mode b: spin this long, then yield (as the host waits for a TA's reply: Backoff.REPLY_SPIN_NANOS; a device worker for
 * its guest's next command: RingIdleStrategy.forRequests). Another bound: cc -DBOUNDED_SPIN_NS=50000u. */
#ifndef BOUNDED_SPIN_NS
#define BOUNDED_SPIN_NS 20000u
#endif
/* The letters a mode may be. */
#define HANDOFF_MODES "ysbf"

/* One mailbox: the word a party waits on, and its "sleeping" flag, on a cache line of their own. */
typedef struct { _Alignas(64) uint32_t word; uint32_t sleeping; } box;

static inline uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

static inline void wait_for(box *b, uint32_t v, char mode) {
    uint64_t spin_until = mode == 'b' ? now_ns() + BOUNDED_SPIN_NS : 0;
    while (__atomic_load_n(&b->word, __ATOMIC_ACQUIRE) != v) {
        if (mode == 'b' && now_ns() < spin_until) {
            __builtin_ia32_pause();
        } else if (mode == 'y' || mode == 'b') {
            sched_yield();
        } else if (mode == 's') {
            __builtin_ia32_pause();
        } else {
            __atomic_store_n(&b->sleeping, 1, __ATOMIC_SEQ_CST);
            uint32_t cur = __atomic_load_n(&b->word, __ATOMIC_SEQ_CST);
            if (cur != v) {
                syscall(SYS_futex, &b->word, FUTEX_WAIT, cur, NULL, NULL, 0);
            }
            __atomic_store_n(&b->sleeping, 0, __ATOMIC_SEQ_CST);
        }
    }
}

static inline void post(box *b, uint32_t v) {
    __atomic_store_n(&b->word, v, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&b->sleeping, __ATOMIC_SEQ_CST)) {
        syscall(SYS_futex, &b->word, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}

static int handoff_by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Sorts the n samples (ns) and prints "LABEL: p50_us=... p90_us=...", the line ./ferry bench reads. */
static inline void report(const char *label, uint64_t *ns, size_t n) {
    qsort(ns, n, sizeof ns[0], handoff_by_value);
    printf("%s: p50_us=%.2f p90_us=%.2f\n", label, ns[n / 2] / 1e3, ns[n * 9 / 10] / 1e3);
}

#endif
