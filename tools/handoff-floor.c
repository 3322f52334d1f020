/* handoff-floor.c: the floor under Ferry's per-call figures on a given machine. Three parties pass a token
 * client -> host -> TA -> host -> client (the hops of a TEE call from a guest process), with no work at all; the
 * median and p90 of 20,000 round trips are printed. Each party waits as its mode says: y = sched_yield in a loop
 * (what Ferry's waiters do on small machines), s = spin, f = futex sleep. Parties are processes (as a guest, the
 * host and a TA are) or, with "threads", threads of one process.
 *
 *   gcc -O2 -pthread -o /tmp/handoff-floor tools/handoff-floor.c
 *   /tmp/handoff-floor procs yyy      # client, host, TA all yield
 *   /tmp/handoff-floor threads yyy
 *
 * docs/benchmarks.md ("tee", "Calls after a pause") quotes its figures for the 2-core development VM. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20000
enum { CLIENT, HOST, TA };

/* One cache line per mailbox: the word a party waits on, and its "sleeping" flag. */
typedef struct { _Alignas(64) uint32_t word; uint32_t sleeping; } box;
static box *boxes;          /* 0: client's, 1: host's (from the client), 2: TA's, 3: host's (from the TA) */
static char modes[3];

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

static void wait_for(box *b, uint32_t v, char mode) {
    while (__atomic_load_n(&b->word, __ATOMIC_ACQUIRE) != v) {
        if (mode == 'y') {
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

static void post(box *b, uint32_t v) {
    __atomic_store_n(&b->word, v, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&b->sleeping, __ATOMIC_SEQ_CST)) {
        syscall(SYS_futex, &b->word, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}

static void *host(void *unused) {
    (void) unused;
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        wait_for(&boxes[1], r, modes[HOST]);
        post(&boxes[2], r);
        wait_for(&boxes[3], r, modes[HOST]);
        post(&boxes[0], r);
    }
    return NULL;
}

static void *ta(void *unused) {
    (void) unused;
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        wait_for(&boxes[2], r, modes[TA]);
        post(&boxes[3], r);
    }
    return NULL;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "procs") != 0 && strcmp(argv[1], "threads") != 0) || strlen(argv[2]) != 3
        || strspn(argv[2], "ysf") != 3) {
        fprintf(stderr, "usage: handoff-floor procs|threads MODES (3 of y, s, f: client, host, TA)\n");
        return 2;
    }
    memcpy(modes, argv[2], 3);
    int procs = strcmp(argv[1], "procs") == 0;
    boxes = mmap(NULL, 4 * sizeof(box), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (boxes == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pthread_t threads[2];
    if (procs) {
        if (fork() == 0) { host(NULL); _exit(0); }
        if (fork() == 0) { ta(NULL); _exit(0); }
    } else {
        pthread_create(&threads[0], NULL, host, NULL);
        pthread_create(&threads[1], NULL, ta, NULL);
    }
    static uint64_t rtt[ROUNDS];
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        uint64_t t0 = now_ns();
        post(&boxes[1], r);
        wait_for(&boxes[0], r, modes[CLIENT]);
        rtt[r - 1] = now_ns() - t0;
    }
    if (procs) {
        while (wait(NULL) > 0) {
        }
    } else {
        pthread_join(threads[0], NULL);
        pthread_join(threads[1], NULL);
    }
    qsort(rtt, ROUNDS, sizeof rtt[0], by_value);
    printf("%s %s: round trip p50 %.2f us, p90 %.2f us\n", argv[1], argv[2], rtt[ROUNDS / 2] / 1e3,
           rtt[ROUNDS * 9 / 10] / 1e3);
    return 0;
}
