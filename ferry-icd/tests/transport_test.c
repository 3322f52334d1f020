/* transport_test.c: the transport (transport.h) against a live Ferry host, linked against the objects directly.
 *   eval "$(ferry-icd/tests/dev-host.sh start DIR)"; ferry-icd/build/tests/transport_test
 * Connect and its error messages, HELLO's devices, DEVICE_INFO, NOP, a buffer written and read through the heap,
 * sticky failures, the heap allocator, 8 threads calling at once, a corrupt header and a corrupt completion ring
 * (the call fails, nothing crashes), and the shared ICD helpers. Exits 0 when every check passes. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "icd.h"
#include "transport_internal.h"
#include "unittest.h"

static ferry_conn *main_conn;

static char *saved(const char *name) {
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore(const char *name, char *value) {
    if (value) setenv(name, value, 1); else unsetenv(name);
}

/* ---- connect errors: each says what was wrong and what to do ---- */
static void test_connect_errors(void) {
    char *host = saved("FERRY_HOST"), *guest = saved("FERRY_GUEST"), *secret = saved("FERRY_SECRET"),
         *secret_file = saved("FERRY_SECRET_FILE");
    ferry_conn *c = NULL;
    char err[1024];
    int st;

    unsetenv("FERRY_GUEST");
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_NOT_CONFIGURED && strstr(err, "FERRY_GUEST") != NULL, "missing guest: %d %s", st, err);
    restore("FERRY_GUEST", guest);

    setenv("FERRY_SECRET", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1);   /* 32 zero bytes */
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_BAD_CREDENTIAL && strstr(err, "refused") != NULL, "wrong secret: %d %s", st, err);
    setenv("FERRY_SECRET", "not base64!", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "not base64") != NULL, "bad base64: %d %s", st, err);
    setenv("FERRY_SECRET", "AAAA", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "32 bytes") != NULL, "short secret: %d %s", st, err);
    unsetenv("FERRY_SECRET");

    char path[] = "/tmp/ferry-transport-test-secretXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        CHECK(write(fd, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 45) == 45, "write");
        close(fd);
        chmod(path, 0644);
        setenv("FERRY_SECRET_FILE", path, 1);
        st = ferry_connect(&c, err, sizeof err);
        CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "chmod 600") != NULL, "open secret file: %d %s", st,
              err);
        chmod(path, 0600);
        st = ferry_connect(&c, err, sizeof err);
        CHECK(st == FERRY_STATUS_BAD_CREDENTIAL, "wrong secret in a file: %d %s", st, err);
        unlink(path);
    }
    restore("FERRY_SECRET_FILE", secret_file);

    setenv("FERRY_HOST", "unix:/tmp/ferry-transport-test-no.sock", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_HOST_UNAVAILABLE && strstr(err, "is the host running") != NULL
          && strstr(err, "FERRY_HOST") != NULL, "no socket: %d %s", st, err);
    setenv("FERRY_HOST", "http://example", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "unix:PATH") != NULL, "bad scheme: %d %s", st, err);
    setenv("FERRY_HOST", "file:/tmp", 1);
    st = ferry_connect(&c, err, sizeof err);
    char region_file[300];      /* the guest's region file, named for whichever guest this test runs as */
    snprintf(region_file, sizeof region_file, "%s.region", guest != NULL ? guest : "");
    CHECK(st == FERRY_STATUS_NOT_CONFIGURED && strstr(err, region_file) != NULL, "no region file: %d %s", st, err);
    setenv("FERRY_HOST", "pci:", 1);
    setenv("FERRY_SYSFS_PCI", "/tmp/ferry-transport-test-no-sysfs", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_NOT_CONFIGURED && strstr(err, "ivshmem") != NULL, "no pci: %d %s", st, err);
    unsetenv("FERRY_SYSFS_PCI");
    restore("FERRY_HOST", host);
    free(host); free(guest); free(secret); free(secret_file);
}

/* ---- a header the host might write: every check refuses its own kind of damage ---- */
static void put_lane(uint8_t *b, int lane, uint64_t cmd, uint64_t cmd_cap, uint64_t cpl, uint64_t cpl_cap,
                     uint64_t heap, uint64_t heap_size) {
    uint8_t *s = b + FERRY_LANE_SECTIONS_OFFSET(lane);
    ferry_put64(s + 0, cmd); ferry_put64(s + 8, cmd_cap); ferry_put64(s + 16, cpl);
    ferry_put64(s + 24, cpl_cap); ferry_put64(s + 32, heap); ferry_put64(s + 40, heap_size);
}

static int check_header(uint8_t *b, size_t size, char *err, size_t n) {
    ferry_region r;
    memset(&r, 0, sizeof r);
    r.base = b;
    r.mapped = size;
    snprintf(r.where, sizeof r.where, "test region");
    return ferry_region_check(&r, err, n);
}

static void test_header_checks(void) {
    size_t size = 4096 + 2 * 8192 + 65536;
    uint8_t *b = aligned_alloc(4096, size);
    char err[1024];
    memset(b, 0, size);
    ferry_put64(b + FERRY_HDR_MAGIC_OFFSET, FERRY_REGION_MAGIC);
    ferry_put32(b + FERRY_HDR_LAYOUT_VERSION_OFFSET, FERRY_REGION_LAYOUT_VERSION);
    ferry_put32(b + FERRY_HDR_HEADER_SIZE_OFFSET, FERRY_REGION_HEADER_SIZE);
    ferry_put64(b + FERRY_HDR_REGION_SIZE_OFFSET, size);
    ferry_put32(b + FERRY_HDR_LANE_COUNT_OFFSET, 1);
    memcpy(b + FERRY_HDR_GUEST_NAME_OFFSET, "g1", 2);
    put_lane(b, 0, 4096, 4096, 4096 + 8192, 4096, 4096 + 2 * 8192, 65536);
    CHECK(check_header(b, size, err, sizeof err) == 0, "a good header: %s", err);

    put_lane(b, 0, 4096, 4096, 4096, 4096, 4096 + 2 * 8192, 65536);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "overlap"),
          "overlap: %s", err);
    put_lane(b, 0, 4096, 4000, 4096 + 8192, 4096, 4096 + 2 * 8192, 65536);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "power of two"),
          "capacity: %s", err);
    put_lane(b, 0, 4096, 4096, 4096 + 8192, 4096, 4096 + 2 * 8192, 65536 * 2);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "outside"),
          "outside: %s", err);
    put_lane(b, 0, UINT64_MAX - 4095, 4096, 4096 + 8192, 4096, 4096 + 2 * 8192, 65536);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION, "wrapping offset: %s", err);
    put_lane(b, 0, 4096, 4096, 4096 + 8192, 4096, 4096 + 2 * 8192, 65536);
    ferry_put32(b + FERRY_HDR_LANE_COUNT_OFFSET, 17);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "lane count"),
          "lanes: %s", err);
    ferry_put32(b + FERRY_HDR_LANE_COUNT_OFFSET, 2);    /* lane 1 all zero: capacity 0 */
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION, "lane 1 zero: %s", err);
    ferry_put32(b + FERRY_HDR_LANE_COUNT_OFFSET, 1);
    ferry_put64(b + FERRY_HDR_REGION_SIZE_OFFSET, size * 2);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "mapped"),
          "size: %s", err);
    ferry_put64(b + FERRY_HDR_REGION_SIZE_OFFSET, size);
    memset(b + FERRY_HDR_GUEST_NAME_OFFSET, 'a', FERRY_HDR_GUEST_NAME_LENGTH);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "NUL"),
          "name: %s", err);
    memset(b + FERRY_HDR_GUEST_NAME_OFFSET, 0, FERRY_HDR_GUEST_NAME_LENGTH);
    memcpy(b + FERRY_HDR_GUEST_NAME_OFFSET, "g1", 2);
    ferry_put32(b + FERRY_HDR_LAYOUT_VERSION_OFFSET, 1);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_VERSION_MISMATCH, "version: %s", err);
    ferry_put32(b + FERRY_HDR_LAYOUT_VERSION_OFFSET, FERRY_REGION_LAYOUT_VERSION);
    ferry_put64(b + FERRY_HDR_MAGIC_OFFSET, 1);
    CHECK(check_header(b, size, err, sizeof err) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(err, "magic"),
          "magic: %s", err);
    free(b);
}

/* ---- calls ---- */
static void test_info_and_nop(ferry_conn *c) {
    CHECK(ferry_device_count(c) >= 1, "HELLO's device count %u", ferry_device_count(c));
    CHECK(strcmp(ferry_guest_name(c), getenv("FERRY_GUEST")) == 0, "guest %s", ferry_guest_name(c));
    ferry_reply r;
    uint64_t dev = 0;
    int st = ferry_call(c, FERRY_OP_DEVICE_INFO, &dev, 1, NULL, 0, &r);
    CHECK(st == 0 && r.text != NULL && r.length > 0 && strchr(r.text, '\n') != NULL, "DEVICE_INFO: %d %s", st,
          r.text ? r.text : "");
    CHECK((r.results[0] & 0xff) >= 1 && r.results[1] > 0, "DEVICE_INFO results %llx %llu",
          (unsigned long long) r.results[0], (unsigned long long) r.results[1]);
    ferry_reply_free(&r);
    dev = 999;
    st = ferry_call(c, FERRY_OP_DEVICE_INFO, &dev, 1, NULL, 0, &r);
    CHECK(st == FERRY_STATUS_NO_DEVICE && r.text != NULL && !r.sticky, "device 999: %d", st);
    ferry_reply_free(&r);
    for (uint64_t v = 1; v < 50; v++) {
        uint64_t x = v * 0x1234567ull;
        st = ferry_call(c, FERRY_OP_NOP, &x, 1, NULL, 0, &r);
        CHECK(st == 0 && r.results[0] == x, "NOP echo %llu: %d %llu", (unsigned long long) x, st,
              (unsigned long long) r.results[0]);
        ferry_reply_free(&r);
    }
    /* one-way NOPs, some deferred, then one with a reply */
    for (uint64_t v = 0; v < 5000; v++) {
        CHECK(ferry_send(c, FERRY_OP_NOP, &v, 1, NULL, 0, (int) (v & 1)) == 0, "one-way NOP %llu",
              (unsigned long long) v);
    }
    ferry_flush(c);
    uint64_t x = 7;
    CHECK(ferry_call(c, FERRY_OP_NOP, &x, 1, NULL, 0, NULL) == 0, "NOP after 5000 one-way");
    /* argument count checked before anything is sent */
    CHECK(ferry_send(c, FERRY_OP_NOP, NULL, 0, NULL, 0, 0) == FERRY_STATUS_INVALID_ARGUMENT, "argc");
    CHECK(ferry_send(c, FERRY_OP_FINISH, &x, 1, NULL, 0, 0) == FERRY_STATUS_INVALID_ARGUMENT, "sync op one-way");
    static uint8_t big[1 << 20];
    ferry_iov iov = {big, sizeof big};
    uint64_t ka[2] = {1, 0};
    CHECK(ferry_send(c, FERRY_OP_KERNEL_ARG_VALUE, ka, 2, &iov, 1, 0) == FERRY_STATUS_INVALID_ARGUMENT,
          "record over half the ring");
    CHECK(ferry_call(c, FERRY_OP_NOP, &x, 1, NULL, 0, NULL) == 0, "the session lives on");
    CHECK(ferry_take_async(c, NULL, 0) == 0, "no async failure yet");
}

typedef struct objects { uint64_t context, queue, buffer; } objects;

static objects make_objects(ferry_conn *c, uint64_t size) {
    objects o = {ferry_new_handle(c), ferry_new_handle(c), ferry_new_handle(c)};
    ferry_reply r;
    uint64_t ctx[2] = {o.context, 0};
    int st = ferry_call(c, FERRY_OP_CONTEXT_CREATE, ctx, 2, NULL, 0, &r);
    CHECK(st == 0, "CONTEXT_CREATE: %d %s", st, r.text ? r.text : "");
    ferry_reply_free(&r);
    uint64_t q[4] = {o.queue, o.context, 0, 0};
    st = ferry_send(c, FERRY_OP_QUEUE_CREATE, q, 4, NULL, 0, 1);
    CHECK(st == 0, "QUEUE_CREATE: %d", st);
    uint64_t b[5] = {o.buffer, o.context, size, 0, UINT64_MAX};
    st = ferry_call(c, FERRY_OP_BUFFER_CREATE, b, 5, NULL, 0, &r);
    CHECK(st == 0, "BUFFER_CREATE: %d %s", st, r.text ? r.text : "");
    ferry_reply_free(&r);
    return o;
}

static void test_buffer_round_trip(ferry_conn *c) {
    uint64_t size = 1 << 20;
    objects o = make_objects(c, size);
    int64_t in = ferry_heap_alloc(c, size), out = ferry_heap_alloc(c, size);
    CHECK(in >= 0 && out >= 0 && in != out, "heap blocks %lld %lld", (long long) in, (long long) out);
    if (in < 0 || out < 0) return;
    uint8_t *heap = ferry_heap_base(c);
    for (uint64_t i = 0; i < size; i++) heap[in + (int64_t) i] = (uint8_t) (i * 31 + 7);
    memset(heap + out, 0, size);
    uint64_t w[7] = {o.queue, o.buffer, 0, size, (uint64_t) in, 0, 0};
    CHECK(ferry_send(c, FERRY_OP_BUFFER_WRITE, w, 7, NULL, 0, 0) == 0, "BUFFER_WRITE");
    uint64_t rd[7] = {o.queue, o.buffer, 0, size, (uint64_t) out, 0, 0};
    CHECK(ferry_send(c, FERRY_OP_BUFFER_READ, rd, 7, NULL, 0, 0) == 0, "BUFFER_READ");
    ferry_reply r;
    int st = ferry_call(c, FERRY_OP_FINISH, &o.queue, 1, NULL, 0, &r);
    CHECK(st == 0 && !r.sticky, "FINISH: %d %s", st, r.text ? r.text : "");
    ferry_reply_free(&r);
    CHECK(memcmp(heap + in, heap + out, size) == 0, "the bytes read back differ from those written");
    CHECK(ferry_heap_offset_of(c, heap + in, size) == in, "offset_of");
    CHECK(ferry_heap_offset_of(c, heap + in, ferry_heap_size(c) - (uint64_t) in + 1) == -1, "offset_of past the end");
    int x;
    CHECK(ferry_heap_offset_of(c, &x, sizeof x) == -1, "offset_of outside");

    /* sticky: a write out of the buffer's range, then FINISH reports it as its status */
    uint64_t bad[7] = {o.queue, o.buffer, size - 16, 64, (uint64_t) in, 0, 0};
    CHECK(ferry_send(c, FERRY_OP_BUFFER_WRITE, bad, 7, NULL, 0, 0) == 0, "bad BUFFER_WRITE sent");
    st = ferry_call(c, FERRY_OP_FINISH, &o.queue, 1, NULL, 0, &r);
    CHECK(st == FERRY_STATUS_OUT_OF_RANGE && r.sticky && r.failed_op == FERRY_OP_BUFFER_WRITE && r.failed_seq > 0
          && r.text && strstr(r.text, "BUFFER_WRITE"), "FINISH after a bad write: %d sticky=%d op=%d %s", st,
          r.sticky, r.failed_op, r.text ? r.text : "");
    ferry_reply_free(&r);
    st = ferry_call(c, FERRY_OP_FINISH, &o.queue, 1, NULL, 0, &r);
    CHECK(st == 0 && !r.sticky, "a second FINISH is clean: %d", st);
    ferry_reply_free(&r);
    CHECK(ferry_take_async(c, NULL, 0) == 0, "FINISH's sticky report is not filed");

    /* sticky at another sync call: it answers for itself, the earlier failure goes to ferry_take_async */
    uint64_t unknown = 0xdead0000beefull;
    uint64_t arg[3] = {unknown, 0, 16};     /* a kernel argument of an unknown kernel: filed on the session */
    CHECK(ferry_send(c, FERRY_OP_KERNEL_ARG_LOCAL, arg, 3, NULL, 0, 0) == 0, "KERNEL_ARG_LOCAL sent");
    uint64_t k[2] = {ferry_new_handle(c), 0xdead0001ull};
    ferry_iov name = {"k", 1};
    st = ferry_call(c, FERRY_OP_KERNEL_CREATE, k, 2, &name, 1, &r);
    CHECK(st == FERRY_STATUS_UNKNOWN_HANDLE && !r.sticky, "KERNEL_CREATE answers for itself: %d sticky=%d %s", st,
          r.sticky, r.text ? r.text : "");
    ferry_reply_free(&r);
    char msg[1024];
    st = ferry_take_async(c, msg, sizeof msg);
    CHECK(st == FERRY_STATUS_UNKNOWN_HANDLE && strstr(msg, "KERNEL_ARG_LOCAL") != NULL, "async: %d %s", st, msg);
    CHECK(ferry_take_async(c, NULL, 0) == 0, "taken once");
    CHECK(ferry_send(c, FERRY_OP_KERNEL_ARG_LOCAL, arg, 3, NULL, 0, 1) == 0, "KERNEL_ARG_LOCAL again, deferred");
    uint64_t b2[5] = {ferry_new_handle(c), o.context, 4096, 0, UINT64_MAX};
    st = ferry_call(c, FERRY_OP_BUFFER_CREATE, b2, 5, NULL, 0, &r);
    CHECK(st == 0 && !r.sticky, "BUFFER_CREATE with reply after a failed KERNEL_ARG_LOCAL: %d %s", st, r.text ? r.text : "");
    ferry_reply_free(&r);
    CHECK(ferry_take_async(c, msg, sizeof msg) == FERRY_STATUS_UNKNOWN_HANDLE, "async after BUFFER_CREATE: %s", msg);
    ferry_heap_free(c, in);
    ferry_heap_free(c, out);
    uint64_t rel[3] = {o.buffer, o.queue, o.context};
    for (int i = 0; i < 3; i++) ferry_send(c, FERRY_OP_RELEASE, &rel[i], 1, NULL, 0, 0);
    CHECK(ferry_call(c, FERRY_OP_NOP, &unknown, 1, NULL, 0, NULL) == 0, "releases ok");
    CHECK(ferry_take_async(c, msg, sizeof msg) == 0, "no failure from the releases: %s", msg);
}

static void test_heap(ferry_conn *c) {
    uint64_t total = ferry_heap_size(c);
    CHECK(total >= 65536 && ferry_heap_free_bytes(c) == total, "heap %llu free %llu", (unsigned long long) total,
          (unsigned long long) ferry_heap_free_bytes(c));
    int64_t a = ferry_heap_alloc(c, 1), b = ferry_heap_alloc(c, 100), big = ferry_heap_alloc(c, 65536),
            d = ferry_heap_alloc(c, 70000);
    CHECK(a >= 0 && a % 64 == 0 && b % 64 == 0 && big % 4096 == 0 && d % 4096 == 0, "alignment %lld %lld %lld %lld",
          (long long) a, (long long) b, (long long) big, (long long) d);
    CHECK(b >= a + 64 && big >= b + 128, "no overlap");
    CHECK(ferry_heap_alloc(c, total + 1) == -1 && ferry_heap_alloc(c, 0) == -1, "too large / zero");
    ferry_heap_free(c, b);
    int64_t b2 = ferry_heap_alloc(c, 64);
    CHECK(b2 == b, "first fit reuses the hole: %lld %lld", (long long) b2, (long long) b);
    ferry_heap_free(c, a);
    ferry_heap_free(c, big);
    ferry_heap_free(c, b2);
    ferry_heap_free(c, d);
    ferry_heap_free(c, 12345);      /* not allocated: ignored */
    CHECK(ferry_heap_free_bytes(c) == total, "all free again: %llu", (unsigned long long) ferry_heap_free_bytes(c));
    int64_t whole = ferry_heap_alloc(c, total);
    CHECK(whole == 0, "after coalescing the whole heap fits: %lld", (long long) whole);
    CHECK(ferry_heap_alloc(c, 64) == -1, "full");
    ferry_heap_free(c, whole);
    /* many small blocks, freed in an interleaved order */
    enum { N = 500 };
    static int64_t blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = ferry_heap_alloc(c, (uint64_t) (i % 7 + 1) * 100);
        CHECK(blocks[i] >= 0, "small block %d", i);
    }
    for (int i = 0; i < N; i += 2) ferry_heap_free(c, blocks[i]);
    for (int i = 1; i < N; i += 2) ferry_heap_free(c, blocks[i]);
    CHECK(ferry_heap_free_bytes(c) == total && ferry_heap_alloc(c, total) == 0, "coalesced after many blocks");
    ferry_heap_free(c, 0);
}

typedef struct worker { ferry_conn *c; int id; int bad; } worker;

static void *hammer(void *arg) {
    worker *w = arg;
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t v = (uint64_t) w->id << 32 | i;
        ferry_reply r;
        int st = ferry_call(w->c, FERRY_OP_NOP, &v, 1, NULL, 0, &r);
        if (st != 0 || r.results[0] != v) w->bad++;
        ferry_reply_free(&r);
        if (i % 3 == 0) {
            if (ferry_send(w->c, FERRY_OP_NOP, &v, 1, NULL, 0, (int) (i & 4)) != 0) w->bad++;
        }
        int64_t h = ferry_heap_alloc(w->c, 1000 + i);
        if (h < 0) w->bad++; else ferry_heap_free(w->c, h);
    }
    return NULL;
}

static void test_threads(ferry_conn *c) {
    pthread_t t[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker) {c, i + 1, 0};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].bad == 0, "thread %d: %d bad answers", i, w[i].bad);
    }
    CHECK(ferry_heap_free_bytes(c) == ferry_heap_size(c), "heap after threads");
}

/* ---- a corrupt completion ring: the call fails, every later call fails, nothing crashes ---- */
static volatile int stop_garbage;

static void *garbage(void *arg) {
    ferry_conn *c = arg;
    while (!stop_garbage) {
        ferry_store64(c->r.cpl.sec + FERRY_RING_TAIL_OFFSET, 0x123456789abcdef3ull);
    }
    return NULL;
}

static void test_corrupt_ring(void) {
    ferry_conn *c;
    char err[1024];
    int st = ferry_connect(&c, err, sizeof err);
    CHECK(st == 0, "second connection: %s", err);
    if (st != 0) return;
    pthread_t t;
    pthread_create(&t, NULL, garbage, c);
    ferry_reply r;
    uint64_t v = 1;
    /* The garbage thread races the host's own TAIL stores: on a loaded machine it may not run for a while, so
     * call until the ring is seen corrupt (or 20 s pass), not a fixed number of times. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        st = ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, &r);
        if (st != 0) {
            break;
        }
        ferry_reply_free(&r);
        memset(&r, 0, sizeof r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20) {
            break;
        }
    }
    stop_garbage = 1;
    pthread_join(t, NULL);
    CHECK(st == FERRY_STATUS_PROTOCOL_VIOLATION && r.text && strstr(r.text, "corrupt"), "corrupt TAIL: %d %s", st,
          r.text ? r.text : "");
    ferry_reply_free(&r);
    char why[1024];
    CHECK(ferry_broken(c, why, sizeof why) == FERRY_STATUS_PROTOCOL_VIOLATION && strstr(why, "TAIL"), "broken: %s",
          why);
    CHECK(ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, NULL) == FERRY_STATUS_PROTOCOL_VIOLATION, "later calls fail");
    CHECK(ferry_send(c, FERRY_OP_NOP, &v, 1, NULL, 0, 0) == FERRY_STATUS_PROTOCOL_VIOLATION, "later sends fail");
    ferry_disconnect(c);

    /* a frame whose length overruns what is published */
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == 0, "third connection: %s", err);
    if (st != 0) return;
    CHECK(ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, NULL) == 0, "a first call");
    /* The host answers the call at the same place, and it may do so before this side's first look: then its answer
     * replaces the bad frame and the call succeeds. Again until this side looks first (within 20 s). */
    uint8_t *data = c->r.cpl.sec + FERRY_RING_DATA_OFFSET;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        memset(&r, 0, sizeof r);
        uint64_t tail = ferry_load64(c->r.cpl.sec + FERRY_RING_TAIL_OFFSET);
        uint64_t at = tail & (c->r.cpl.capacity - 1);
        ferry_put64(data + at, (uint64_t) FERRY_OP_NOP << 32 | 4096);   /* 4096 bytes, 8 published */
        ferry_store64(c->r.cpl.sec + FERRY_RING_TAIL_OFFSET, tail + 8);
        st = ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, &r);
        if (st == 0) {
            ferry_reply_free(&r);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (st == 0 && t1.tv_sec - t0.tv_sec <= 20);
    CHECK(st == FERRY_STATUS_PROTOCOL_VIOLATION && r.text && strstr(r.text, "published"), "overrun: %d %s", st,
          r.text ? r.text : "");
    ferry_reply_free(&r);
    ferry_disconnect(c);
}

/* ---- every lane held: the connect says who holds them and what to do ---- */
static void test_lanes_busy(void) {
    ferry_conn *more[16];
    int n = 0, st = 0;
    char err[1024];
    while (n < 16 && (st = ferry_connect(&more[n], err, sizeof err)) == 0) {
        n++;
    }
    CHECK(n >= 1 && st == FERRY_STATUS_QUOTA_EXCEEDED && strstr(err, "busy") && strstr(err, "lanes:"),
          "after %d more connections: %d %s", n, st, err);
    while (n > 0) {
        ferry_disconnect(more[--n]);
    }
    st = ferry_connect(&more[0], err, sizeof err);
    CHECK(st == 0, "a lane is free again: %s", err);
    if (st == 0) ferry_disconnect(more[0]);
}

/* ---- a forked child must not touch its parent's session ---- */
static void test_fork(void) {
    ferry_conn *c = main_conn;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t v = 1;
        ferry_reply r;
        int st = ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, &r);
        int ok = st == FERRY_STATUS_SESSION_CLOSED && r.text && strstr(r.text, "fork");
        ferry_reply_free(&r);
        ok = ok && ferry_send(c, FERRY_OP_NOP, &v, 1, NULL, 0, 0) == FERRY_STATUS_SESSION_CLOSED;
        exit(ok ? 0 : 1);      /* atexit: no GOODBYE on the parent's session */
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child saw its parent's session usable");
    uint64_t v = 9;
    ferry_reply r;
    CHECK(ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, &r) == 0 && r.results[0] == 9, "the parent's session lives");
    ferry_reply_free(&r);
}

/* ---- icd_common ---- */
static void test_icd_common(void) {
    CHECK(ferry_cl_error(FERRY_STATUS_OK, CL_INVALID_MEM_OBJECT, "t", "") == CL_SUCCESS, "ok");
    CHECK(ferry_cl_error(FERRY_STATUS_UNKNOWN_HANDLE, CL_INVALID_MEM_OBJECT, "t", "") == CL_INVALID_MEM_OBJECT, "h");
    CHECK(ferry_cl_error(FERRY_STATUS_BUILD_FAILED, 0, "t", "") == CL_BUILD_PROGRAM_FAILURE, "build");
    CHECK(ferry_cl_error(FERRY_STATUS_OUT_OF_RANGE, 0, "t", "") == CL_INVALID_VALUE, "range");
    CHECK(ferry_cl_error(FERRY_STATUS_HOST_UNAVAILABLE, 0, "t", "") == CL_OUT_OF_RESOURCES, "host");
    cl_uint v = 5, got = 0;
    size_t ret = 0;
    CHECK(ferry_info(&v, sizeof v, sizeof got, &got, &ret) == CL_SUCCESS && got == 5 && ret == sizeof v, "info");
    CHECK(ferry_info(&v, sizeof v, 2, &got, &ret) == CL_INVALID_VALUE, "info too small");
    CHECK(ferry_info(&v, sizeof v, 0, NULL, &ret) == CL_SUCCESS && ret == sizeof v, "info size only");
    char s[8];
    CHECK(ferry_info_string("abc", sizeof s, s, &ret) == CL_SUCCESS && ret == 4 && strcmp(s, "abc") == 0, "string");
    CHECK(ferry_info_string("abcdefghij", sizeof s, s, &ret) == CL_INVALID_VALUE, "string too long");
    struct _cl_context ctx, other;
    memset(&ctx, 0, sizeof ctx);
    memset(&other, 0, sizeof other);
    ferry_object_init(&ctx.o, FERRY_MAGIC_CONTEXT, 9);
    struct _cl_event e1;
    memset(&e1, 0, sizeof e1);
    ferry_object_init(&e1.o, FERRY_MAGIC_EVENT, 77);
    e1.context = &ctx;
    CHECK(ferry_valid(&ctx, FERRY_MAGIC_CONTEXT) && !ferry_valid(&ctx, FERRY_MAGIC_EVENT) && !ferry_valid(NULL, 1),
          "valid");
    cl_event list[2] = {&e1, &e1};
    uint64_t out[2] = {0, 0};
    CHECK(ferry_wait_list(&ctx, 2, list, out) == CL_SUCCESS && out[0] == 77 && out[1] == 77, "wait list");
    CHECK(ferry_wait_list(&ctx, 1, NULL, out) == CL_INVALID_EVENT_WAIT_LIST, "n without list");
    CHECK(ferry_wait_list(&ctx, 0, list, out) == CL_INVALID_EVENT_WAIT_LIST, "list without n");
    CHECK(ferry_wait_list(&other, 1, list, out) == CL_INVALID_CONTEXT, "other context");
    cl_event bogus[1] = {(cl_event) &ctx};
    CHECK(ferry_wait_list(&ctx, 1, bogus, out) == CL_INVALID_EVENT_WAIT_LIST, "not an event");
}

static void timed(const char *name, void (*f)(void)) {
    uint64_t t = ferry_now_ns();
    f();
    printf("  %-22s %6.0f ms\n", name, (double) (ferry_now_ns() - t) / 1e6);
}

static void info_and_nop(void) { test_info_and_nop(main_conn); }
static void heap(void) { test_heap(main_conn); }
static void buffer_round_trip(void) { test_buffer_round_trip(main_conn); }
static void threads(void) { test_threads(main_conn); }

int main(void) {
    if (getenv("FERRY_GUEST") == NULL) {
        fprintf(stderr, "transport_test needs a live host: eval \"$(ferry-icd/tests/dev-host.sh start DIR)\"\n");
        return 2;
    }
    timed("icd_common", test_icd_common);
    timed("header checks", test_header_checks);
    timed("connect errors", test_connect_errors);
    ferry_conn *c;
    char err[1024];
    int st = ferry_connect(&c, err, sizeof err);
    if (st != 0) {
        fprintf(stderr, "FAIL connect: %d %s\n", st, err);
        return 1;
    }
    main_conn = c;
    timed("info and nop", info_and_nop);
    timed("heap", heap);
    timed("buffer and sticky", buffer_round_trip);
    timed("8 threads", threads);
    timed("fork", test_fork);
    timed("lanes busy", test_lanes_busy);
    timed("corrupt ring", test_corrupt_ring);
    uint64_t v = 3;
    CHECK(ferry_call(c, FERRY_OP_NOP, &v, 1, NULL, 0, NULL) == 0, "the first connection still works");
    ferry_disconnect(c);
    if (failures) {
        fprintf(stderr, "transport_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("transport_test: all checks passed\n");
    return 0;
}
