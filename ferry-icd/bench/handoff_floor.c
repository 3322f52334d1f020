/* handoff_floor.c: the floor under Ferry's per-call figures on a given machine, with no Ferry in it. N parties
 * (2 to 6) pass a token along a chain and back: 0 -> 1 -> ... -> N-1 -> ... -> 1 -> 0, as a call and its answer
 * cross the processes of Ferry's path, and do no work at all. The chains that matter:
 *
 *   2 parties: a guest and the process that serves it (a null call; a device call's guest and worker);
 *   3 parties: a TEE call from a guest process: guest -> host -> TA instance -> host -> guest;
 *   4 parties: the same call from a guest whose device worker serves its session: guest -> worker -> host -> TA.
 *
 * Each party waits as its letter in MODES says: y = sched_yield in a loop (what Ferry's waiters do where cores are
 * few), s = spin, b = spin for 20 µs, then yield (the host's wait for a TA's reply), f = sleep on a futex (the
 * poster wakes it). Parties are processes (as a guest, the host and a TA
 * are) or, with "threads", threads of one process. Prints the median and p90 of ROUNDS round trips as
 * "p50_us=... p90_us=..." after the chain's name; `./ferry bench tee` runs it beside its own figures.
 *
 *   make -C ferry-icd build/handoff_floor
 *   ferry-icd/build/handoff_floor procs yyy [ROUNDS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "handoff.h"

#define MAX_PARTIES 6

/* Party i reads down[i] (the call coming from party i-1) and up[i] (the answer coming back from party i+1). */
static box *down, *up;
static char modes[MAX_PARTIES + 1];
static int parties;
static uint32_t rounds = 20000;

/* Party i > 0: takes the call from i-1, passes it on (the last party answers at once), passes the answer back. */
static void *relay(void *arg) {
    int i = (int) (intptr_t) arg;
    for (uint32_t r = 1; r <= rounds; r++) {
        wait_for(&down[i], r, modes[i]);
        if (i + 1 < parties) {
            post(&down[i + 1], r);
            wait_for(&up[i], r, modes[i]);
        }
        post(&up[i - 1], r);
    }
    return NULL;
}

int main(int argc, char **argv) {
    size_t n = argc >= 3 ? strlen(argv[2]) : 0;
    if (argc < 3 || argc > 4 || (strcmp(argv[1], "procs") != 0 && strcmp(argv[1], "threads") != 0) || n < 2
        || n > MAX_PARTIES || strspn(argv[2], HANDOFF_MODES) != n
        || (argc == 4 && (atol(argv[3]) < 100 || atol(argv[3]) > 10000000))) {
        fprintf(stderr, "usage: handoff_floor procs|threads MODES [ROUNDS]\n"
                        "  MODES: one letter per party, 2 to %d (y sched_yield, s spin, b spin 20 us then yield, f "
                        "futex sleep),\n         the caller first;\n"
                        "  ROUNDS: round trips timed (100 to 10000000; default 20000)\n", MAX_PARTIES);
        return 2;
    }
    parties = (int) n;
    memcpy(modes, argv[2], n);
    if (argc == 4) {
        rounds = (uint32_t) atol(argv[3]);
    }
    int procs = strcmp(argv[1], "procs") == 0;
    box *boxes = mmap(NULL, 2 * MAX_PARTIES * sizeof(box), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t *rtt = malloc(rounds * sizeof(uint64_t));
    if (boxes == MAP_FAILED || rtt == NULL) {
        perror("handoff_floor: memory");
        return 1;
    }
    down = boxes;
    up = boxes + MAX_PARTIES;
    pthread_t threads[MAX_PARTIES];
    for (int i = 1; i < parties; i++) {
        if (procs) {
            pid_t caller = getpid();
            pid_t pid = fork();
            if (pid < 0) {
                perror("handoff_floor: fork");
                return 1;
            }
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the caller (a spinning party would stay) */
                if (getppid() != caller) _exit(1);
                relay((void *) (intptr_t) i);
                _exit(0);
            }
        } else if (pthread_create(&threads[i], NULL, relay, (void *) (intptr_t) i) != 0) {
            fprintf(stderr, "handoff_floor: pthread_create failed\n");
            return 1;
        }
    }
    for (uint32_t r = 1; r <= rounds; r++) {
        uint64_t t0 = now_ns();
        post(&down[1], r);
        wait_for(&up[0], r, modes[0]);
        rtt[r - 1] = now_ns() - t0;
    }
    for (int i = 1; i < parties; i++) {
        if (procs) {
            wait(NULL);
        } else {
            pthread_join(threads[i], NULL);
        }
    }
    char label[32];
    snprintf(label, sizeof label, "%s %s", argv[1], argv[2]);
    report(label, rtt, rounds);
    free(rtt);
    return 0;
}
