/* unit_stream_test.c: the stream transport's own rules (transport_stream.c), without a host:
 *   stream addresses (every form, and each refusal says what was wrong);
 *   which heap ranges a call record reads (the IN half of io.ferry.protocol.HeapTraffic) and the shared-memory table;
 *   frame header checks;
 *   the whole client (ferry_connect, calls, heap bytes both ways) against a scripted peer on a Unix socket
 *   (ferry+uds), which plays a host that misbehaves on purpose: a refusal in CLOSED, a malformed frame, a closed
 *   connection during a call. Each must give the call a clear error, never a crash or a hang.
 * The real host's proxy is tested end to end by IcdIT (ferry+tcp). Exits 0 when every check passes. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "transport_internal.h"

static int failures;

#define CHECK(cond, ...) do {                                                   \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* ---- addresses ---- */

static void test_urls(void) {
    ferry_url u;
    char err[1024];
    int st = ferry_url_parse("ferry+tls://gpu1.example:7070/alice", &u, err, sizeof err);
    CHECK(st == 0 && u.kind == FERRY_URL_TLS && strcmp(u.host, "gpu1.example") == 0 && u.port == 7070
          && strcmp(u.guest, "alice") == 0, "tls: %d %s", st, err);
    st = ferry_url_parse("  ferry+tls://[::1]:7443/bob  ", &u, err, sizeof err);
    CHECK(st == 0 && strcmp(u.host, "::1") == 0 && u.port == 7443 && strcmp(u.guest, "bob") == 0, "ipv6: %d %s",
          st, err);
    st = ferry_url_parse("ferry+tcp://127.0.0.1:7071/g-1.x", &u, err, sizeof err);
    CHECK(st == 0 && u.kind == FERRY_URL_TCP && u.port == 7071 && strcmp(u.guest, "g-1.x") == 0, "tcp: %d %s", st,
          err);
    st = ferry_url_parse("ferry+tcp://10.0.0.5:7071/g", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "ferry+tls://10.0.0.5") != NULL,
          "tcp off loopback is refused and the message says what to use: %d %s", st, err);
    st = ferry_url_parse("ferry+vsock://2:7072/vm1", &u, err, sizeof err);
    CHECK(st == 0 && u.kind == FERRY_URL_VSOCK && u.cid == 2 && u.port == 7072, "vsock: %d %s", st, err);
    st = ferry_url_parse("ferry+vsock://host:7072/vm1", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "CID") != NULL, "vsock cid: %d %s", st, err);
    st = ferry_url_parse("ferry+uds:///run/ferry/v.sock_7072/vm1", &u, err, sizeof err);
    CHECK(st == 0 && u.kind == FERRY_URL_UDS && strcmp(u.path, "/run/ferry/v.sock_7072") == 0
          && strcmp(u.guest, "vm1") == 0, "uds: %d %s", st, err);
    st = ferry_url_parse("ferry+uds://relative/vm1", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "three slashes") != NULL, "uds relative: %d %s", st,
          err);
    st = ferry_url_parse("ferry+tls://gpu1:7070/", &u, err, sizeof err);
    CHECK(st == 0 && u.guest[0] == 0 && u.port == 7070, "no guest (FERRY_GUEST's): %d %s", st, err);
    st = ferry_url_parse("ferry+tcp://localhost:7071", &u, err, sizeof err);
    CHECK(st == 0 && u.guest[0] == 0 && u.port == 7071 && strcmp(u.host, "localhost") == 0, "no path: %d %s", st,
          err);
    st = ferry_url_parse("ferry+uds:///run/ferry/v.sock_7072/", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "names no guest") != NULL, "uds without guest: %d %s",
          st, err);
    st = ferry_url_parse("ferry+tls://gpu1/alice", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "no port") != NULL, "no port: %d %s", st, err);
    st = ferry_url_parse("ferry+tls://gpu1:70x/alice", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "not a number") != NULL, "bad port: %d %s", st, err);
    st = ferry_url_parse("ferry+tls://gpu1:65536/alice", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT, "port too big: %d %s", st, err);
    st = ferry_url_parse("ferry+tls://gpu1:7070/a/b", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT, "a path after the port: %d %s", st, err);
    st = ferry_url_parse("ferry+tls://gpu1:7070/-bad", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "not a guest name") != NULL, "bad guest: %d %s", st,
          err);
    st = ferry_url_parse("ferry+quic://gpu1:7070/alice", &u, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "ferry+tls://HOST:PORT/GUEST") != NULL,
          "unknown scheme lists the forms: %d %s", st, err);
    CHECK(ferry_url_is_stream("ferry+tls://x:1/g") && ferry_url_is_stream(" FERRY+TCP://x") &&
          !ferry_url_is_stream("unix:/run/ferry/guest.sock") && !ferry_url_is_stream("/run/ferry/guest.sock"),
          "stream scheme detection");
}

/* ---- heap ranges ---- */

static uint32_t make_record(uint8_t *rec, int op, int argc, const uint64_t *args, const void *blob, uint32_t blen) {
    uint32_t length = (uint32_t) FERRY_CALL_LENGTH(argc, blen);
    memset(rec, 0, length);
    ferry_put32(rec, length);
    ferry_put32(rec + FERRY_CALL_OP_OFFSET, (uint32_t) op);
    ferry_put64(rec + FERRY_CALL_SEQ_OFFSET, 1);
    ferry_put32(rec + FERRY_CALL_BLOB_LENGTH_OFFSET, blen);
    memcpy(rec + FERRY_CALL_ARGS_OFFSET, args, 8 * (size_t) argc);
    if (blen) memcpy(rec + FERRY_CALL_ARGS_OFFSET + 8 * argc, blob, blen);
    return length;
}

static void test_ranges(void) {
    uint8_t rec[1024];
    ferry_heap_range r[FERRY_MAX_IN_RANGES];
    ferry_shm_table shm = {0};
    uint64_t heap = 1 << 20;

    uint64_t w[FERRY_BUFFER_WRITE_ARGC] = {1, 2, 0, 100, 4096, 0, 0};
    uint32_t len = make_record(rec, FERRY_OP_BUFFER_WRITE, FERRY_BUFFER_WRITE_ARGC, w, NULL, 0);
    int k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 4096 && r[0].length == 100, "BUFFER_WRITE reads its heap range: %d", k);
    len = make_record(rec, FERRY_OP_BUFFER_READ, FERRY_BUFFER_READ_ARGC, w, NULL, 0);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "BUFFER_READ reads nothing from the heap");
    w[FERRY_ARG_BUFFER_WRITE_HEAP_OFFSET] = heap - 50;
    len = make_record(rec, FERRY_OP_BUFFER_WRITE, FERRY_BUFFER_WRITE_ARGC, w, NULL, 0);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "a range past the heap is not shipped");
    w[FERRY_ARG_BUFFER_WRITE_HEAP_OFFSET] = UINT64_MAX - 10;
    len = make_record(rec, FERRY_OP_BUFFER_WRITE, FERRY_BUFFER_WRITE_ARGC, w, NULL, 0);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "a wrapping range is not shipped");

    uint64_t rect[FERRY_BUFFER_WRITE_RECT_ARGC] = {1, 2, 8192, 300, 0, 0};
    len = make_record(rec, FERRY_OP_BUFFER_WRITE_RECT, FERRY_BUFFER_WRITE_RECT_ARGC, rect, NULL, 0);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 8192 && r[0].length == 300, "BUFFER_WRITE_RECT: %d", k);
    len = make_record(rec, FERRY_OP_IMAGE_WRITE, FERRY_IMAGE_WRITE_ARGC, rect, NULL, 0);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 8192 && r[0].length == 300, "IMAGE_WRITE: %d", k);
    len = make_record(rec, FERRY_OP_IMAGE_READ, FERRY_IMAGE_READ_ARGC, rect, NULL, 0);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "IMAGE_READ reads nothing");
    uint64_t bin[FERRY_PROGRAM_CREATE_BINARY_ARGC] = {1, 2, 64, 1000};
    len = make_record(rec, FERRY_OP_PROGRAM_CREATE_BINARY, FERRY_PROGRAM_CREATE_BINARY_ARGC, bin, NULL, 0);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 64 && r[0].length == 1000, "PROGRAM_CREATE_BINARY: %d", k);
    uint64_t info[FERRY_INFO_ARGC] = {1, 2, 3, 0, 128, 256};
    len = make_record(rec, FERRY_OP_INFO, FERRY_INFO_ARGC, info, NULL, 0);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "INFO only writes the heap");

    /* TEE: shared memory 7 registered at 65536 (1000 bytes, INPUT), 8 at 131072 (500 bytes, OUTPUT only) */
    uint64_t reg[FERRY_TEE_SHM_REGISTER_ARGC] = {7, 65536, 1000, 1};
    len = make_record(rec, FERRY_OP_TEE_SHM_REGISTER, FERRY_TEE_SHM_REGISTER_ARGC, reg, NULL, 0);
    CHECK(ferry_shm_note(&shm, rec, len) == 0 && shm.count == 1, "register 7");
    uint64_t reg8[FERRY_TEE_SHM_REGISTER_ARGC] = {8, 131072, 500, 2};
    len = make_record(rec, FERRY_OP_TEE_SHM_REGISTER, FERRY_TEE_SHM_REGISTER_ARGC, reg8, NULL, 0);
    CHECK(ferry_shm_note(&shm, rec, len) == 0 && shm.count == 2, "register 8");
    uint8_t block[136] = {0};
    /* p0 temp INPUT at 4096 (10 bytes), p1 PARTIAL_INOUT of 7 at +100 (50), p2 WHOLE 8 (OUTPUT only), p3 temp
     * OUTPUT at 512 */
    ferry_put32(block, 0x5u | 0xFu << 4 | 0xCu << 8 | 0x6u << 12);
    ferry_put64(block + 8 + 0, 4096); ferry_put64(block + 8 + 16, 10);
    ferry_put64(block + 40 + 0, 7); ferry_put64(block + 40 + 8, 100); ferry_put64(block + 40 + 16, 50);
    ferry_put64(block + 72 + 0, 8);
    ferry_put64(block + 104 + 0, 512); ferry_put64(block + 104 + 16, 20);
    uint64_t inv[FERRY_TEE_INVOKE_ARGC] = {5, 1, UINT64_MAX};
    len = make_record(rec, FERRY_OP_TEE_INVOKE, FERRY_TEE_INVOKE_ARGC, inv, block, sizeof block);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 2 && r[0].offset == 4096 && r[0].length == 10 && r[1].offset == 65636 && r[1].length == 50,
          "TEE_INVOKE: temp INPUT and PARTIAL_INOUT travel, WHOLE of OUTPUT memory and temp OUTPUT do not: %d", k);
    ferry_put32(block, 0xCu);
    ferry_put64(block + 8, 7);
    uint64_t open[FERRY_TEE_OPEN_SESSION_ARGC] = {5, 1, 2, 0, 0, UINT64_MAX};
    len = make_record(rec, FERRY_OP_TEE_OPEN_SESSION, FERRY_TEE_OPEN_SESSION_ARGC, open, block, sizeof block);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 65536 && r[0].length == 1000, "TEE_OPEN_SESSION: WHOLE of INPUT memory: %d", k);
    ferry_put32(block, 0xDu);
    ferry_put64(block + 8 + 8, 990);
    ferry_put64(block + 8 + 16, 20);
    len = make_record(rec, FERRY_OP_TEE_OPEN_SESSION, FERRY_TEE_OPEN_SESSION_ARGC, open, block, sizeof block);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "a partial memref past its memory is not shipped");
    uint64_t rel[FERRY_TEE_SHM_RELEASE_ARGC] = {7};
    len = make_record(rec, FERRY_OP_TEE_SHM_RELEASE, FERRY_TEE_SHM_RELEASE_ARGC, rel, NULL, 0);
    CHECK(ferry_shm_note(&shm, rec, len) == 0 && shm.count == 1, "release 7");
    ferry_put32(block, 0xCu);
    ferry_put64(block + 8 + 8, 0);
    len = make_record(rec, FERRY_OP_TEE_OPEN_SESSION, FERRY_TEE_OPEN_SESSION_ARGC, open, block, sizeof block);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 0, "released memory is unknown: nothing shipped");
    ferry_shm_free(&shm);
}

static void test_headers(void) {
    CHECK(ferry_stream_check_header(8 + 56, FERRY_STREAM_COMPLETION, 0) == NULL, "a completion");
    CHECK(ferry_stream_check_header(7, FERRY_STREAM_WORDS, 0) != NULL, "short");
    CHECK(ferry_stream_check_header(8 + FERRY_STREAM_MAX_PAYLOAD + 1, FERRY_STREAM_HEAP, 0) != NULL, "long");
    CHECK(ferry_stream_check_header(16, FERRY_STREAM_HEAP, 1) != NULL, "flags");
    CHECK(ferry_stream_check_header(16, FERRY_STREAM_RECORD, 0) != NULL, "the host sends no RECORD");
    CHECK(ferry_stream_check_header(16, FERRY_STREAM_OPENED, 0) != NULL, "OPENED only once");
    CHECK(ferry_stream_check_header(16, 99, 0) != NULL, "unknown type");
}

/* ---- a scripted peer: a host that answers some calls and misbehaves on purpose ---- */

enum script { PLAY_WELL, REFUSE, MALFORMED_AT_FINISH, DROP_AT_FINISH };

typedef struct peer {
    int listen_fd, fd;
    enum script script;
    uint8_t page[4096];
    uint32_t lane;
    uint64_t heap_size;
    uint64_t beat;
    /* what it saw */
    char open_guest[64];
    int open_secret;                /* 1: OPEN carried a NUL and 32 bytes of 0x01 after the name */
    int heap_frames_before_write;   /* HEAP frames seen before the BUFFER_WRITE record */
    uint8_t written[64];            /* the last HEAP frame's first bytes, and where */
    uint64_t last_at;
    int heap_frames;
    int write_seen;
} peer;

static int read_full(int fd, void *p, size_t n) {
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r <= 0) return -1;
        b += r;
        n -= (size_t) r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        b += w;
        n -= (size_t) w;
    }
    return 0;
}

static int send_frame(int fd, int type, const void *payload, uint32_t n) {
    uint8_t h[8];
    ferry_put32(h, 8 + n);
    ferry_put32(h + 4, (uint32_t) type);
    return write_full(fd, h, 8) || (n && write_full(fd, payload, n)) ? -1 : 0;
}

static int send_words(peer *p, uint32_t off1, uint64_t v1, uint32_t off2, uint64_t v2) {
    uint8_t w[32] = {0};
    ferry_put32(w, off1);
    ferry_put64(w + 8, v1);
    ferry_put32(w + 16, off2);
    ferry_put64(w + 24, v2);
    return send_frame(p->fd, FERRY_STREAM_WORDS, w, off2 ? 32 : 16);
}

static int send_completion(peer *p, int op, uint64_t seq, int status, uint64_t r0, uint64_t r1, uint64_t r3) {
    uint8_t c[FERRY_COMPLETION_HEADER_LENGTH] = {0};
    ferry_put32(c, FERRY_COMPLETION_HEADER_LENGTH);
    ferry_put32(c + 4, (uint32_t) op);
    ferry_put64(c + FERRY_COMPLETION_SEQ_OFFSET, seq);
    ferry_put32(c + FERRY_COMPLETION_STATUS_OFFSET, (uint32_t) status);
    ferry_put64(c + FERRY_COMPLETION_RESULTS_OFFSET, r0);
    ferry_put64(c + FERRY_COMPLETION_RESULTS_OFFSET + 8, r1);
    ferry_put64(c + FERRY_COMPLETION_RESULTS_OFFSET + 24, r3);
    return send_frame(p->fd, FERRY_STREAM_COMPLETION, c, sizeof c);
}

static void *peer_main(void *arg) {
    peer *p = arg;
    p->fd = accept(p->listen_fd, NULL, NULL);
    if (p->fd < 0) return NULL;
    uint8_t h[8];
    static uint8_t buf[FERRY_STREAM_MAX_PAYLOAD];
    if (read_full(p->fd, h, 8) != 0) goto done;
    uint32_t n = ferry_get32(h) - 8;
    if (ferry_get32(h + 4) != FERRY_STREAM_OPEN || n > 100 || read_full(p->fd, buf, n) != 0) goto done;
    if (ferry_get64(buf) != FERRY_STREAM_OPEN_MAGIC || ferry_get32(buf + 8) != 1) goto done;
    memcpy(p->open_guest, buf + 16, n - 16 < 63 ? n - 16 : 63);
    size_t name_len = strnlen(p->open_guest, 63);
    p->open_secret = n == 16 + name_len + 33 && buf[16 + name_len] == 0 && buf[17 + name_len] == 1
                     && buf[16 + name_len + 32] == 1;
    if (p->script == REFUSE) {
        uint8_t c[128];
        ferry_put32(c, FERRY_STATUS_NOT_CONFIGURED);
        const char *why = "guest 'g1' has no certificate here\n(ferry guest add g1 --tls)";
        memcpy(c + 4, why, strlen(why));
        send_frame(p->fd, FERRY_STREAM_CLOSED, c, (uint32_t) (4 + strlen(why)));
        goto done;
    }
    uint8_t opened[16 + 4096];
    ferry_put32(opened, p->lane);
    ferry_put32(opened + 4, 0);
    ferry_put64(opened + 8, 4096);      /* a small chunk limit: larger ranges come in several HEAP frames */
    memcpy(opened + 16, p->page, 4096);
    if (send_frame(p->fd, FERRY_STREAM_OPENED, opened, sizeof opened) != 0) goto done;
    uint32_t lane_words = FERRY_LANE_WORDS_OFFSET(p->lane);
    for (;;) {
        if (read_full(p->fd, h, 8) != 0) break;
        n = ferry_get32(h) - 8;
        uint32_t type = ferry_get32(h + 4);
        if (n > sizeof buf || read_full(p->fd, buf, n) != 0) break;
        if (type == FERRY_STREAM_WORDS) {
            for (uint32_t i = 0; i < n; i += 16) {
                if (ferry_get32(buf + i) == lane_words + FERRY_LANE_CONNECT_REQUEST_OFFSET) {
                    send_words(p, lane_words + FERRY_LANE_SESSION_ID_OFFSET, 77,
                               lane_words + FERRY_LANE_CONNECT_ACK_OFFSET, ferry_get64(buf + i + 8));
                }
            }
            send_words(p, FERRY_HDR_HOST_HEARTBEAT_OFFSET, ++p->beat, 0, 0);
        } else if (type == FERRY_STREAM_HEAP) {
            uint64_t at = ferry_get64(buf);
            p->heap_frames++;
            p->last_at = at;
            memcpy(p->written, buf + 8, n - 8 < sizeof p->written ? n - 8 : sizeof p->written);
        } else if (type == FERRY_STREAM_RECORD) {
            int op = (int) ferry_get32(buf + 4);
            uint64_t seq = ferry_get64(buf + FERRY_CALL_SEQ_OFFSET);
            const uint8_t *args = buf + FERRY_CALL_ARGS_OFFSET;
            if (op == FERRY_OP_HELLO) {
                send_completion(p, op, seq, 0, 77, FERRY_PROTOCOL_VERSION, 1);
            } else if (op == FERRY_OP_BUFFER_WRITE) {
                p->write_seen = 1;
                p->heap_frames_before_write = p->heap_frames;
            } else if (op == FERRY_OP_INFO) {
                /* OUT bytes first (two chunks: 4096 + 4), then the completion that makes them certain */
                uint64_t at = ferry_get64(args + 8 * FERRY_ARG_INFO_HEAP_OFFSET);
                static uint8_t bytes[8 + 4100];
                ferry_put64(bytes, at);
                memset(bytes + 8, 'x', 4096);
                send_frame(p->fd, FERRY_STREAM_HEAP, bytes, 8 + 4096);
                ferry_put64(bytes, at + 4096);
                memcpy(bytes + 8, "tail", 4);
                send_frame(p->fd, FERRY_STREAM_HEAP, bytes, 8 + 4);
                send_completion(p, op, seq, 0, 4100, 1, 0);
            } else if (op == FERRY_OP_FINISH) {
                if (p->script == MALFORMED_AT_FINISH) {
                    uint8_t bad[16] = {0};
                    ferry_put64(bad, p->heap_size - 4);     /* a HEAP frame past the heap slice */
                    send_frame(p->fd, FERRY_STREAM_HEAP, bad, 16);
                } else if (p->script == DROP_AT_FINISH) {
                    break;
                } else {
                    send_completion(p, op, seq, 0, 0, 0, 0);
                }
            } else if (op == FERRY_OP_GOODBYE) {
                send_completion(p, op, seq, 0, 0, 0, 0);
            }
        }
    }
done:
    close(p->fd);
    return NULL;
}

/* A region header of two lanes; the peer gives lane 1. */
static uint64_t make_page(uint8_t *b, uint64_t *heap_size) {
    uint64_t cap = 8192, ring = 4096 + 8192, heap = 1 << 20;
    uint64_t lane_bytes = 2 * ring + heap, size = 4096 + 2 * lane_bytes;
    memset(b, 0, 4096);
    ferry_put64(b + FERRY_HDR_MAGIC_OFFSET, FERRY_REGION_MAGIC);
    ferry_put32(b + FERRY_HDR_LAYOUT_VERSION_OFFSET, FERRY_REGION_LAYOUT_VERSION);
    ferry_put32(b + FERRY_HDR_HEADER_SIZE_OFFSET, FERRY_REGION_HEADER_SIZE);
    ferry_put64(b + FERRY_HDR_REGION_SIZE_OFFSET, size);
    ferry_put32(b + FERRY_HDR_LANE_COUNT_OFFSET, 2);
    ferry_put64(b + FERRY_HDR_HOST_EPOCH_OFFSET, 5);
    memcpy(b + FERRY_HDR_GUEST_NAME_OFFSET, "g1", 2);
    for (int l = 0; l < 2; l++) {
        uint64_t at = 4096 + (uint64_t) l * lane_bytes;
        uint8_t *s = b + FERRY_LANE_SECTIONS_OFFSET(l);
        ferry_put64(s + 0, at); ferry_put64(s + 8, cap); ferry_put64(s + 16, at + ring);
        ferry_put64(s + 24, cap); ferry_put64(s + 32, at + 2 * ring); ferry_put64(s + 40, heap);
    }
    *heap_size = heap;
    return size;
}

static char sock_path[108];

static int start_peer(peer *p, pthread_t *t, enum script script) {
    memset(p, 0, sizeof *p);
    p->script = script;
    p->lane = 1;
    make_page(p->page, &p->heap_size);
    unlink(sock_path);
    p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    if (bind(p->listen_fd, (struct sockaddr *) &sa, sizeof sa) != 0 || listen(p->listen_fd, 1) != 0) {
        fprintf(stderr, "cannot listen on %s: %s\n", sock_path, strerror(errno));
        return -1;
    }
    return pthread_create(t, NULL, peer_main, p);
}

static void stop_peer(peer *p, pthread_t t) {
    pthread_join(t, NULL);
    close(p->listen_fd);
    unlink(sock_path);
}

static void test_against_peer(void) {
    char url[256], err[1024];
    snprintf(url, sizeof url, "ferry+uds://%s/g1", sock_path);
    setenv("FERRY_HOST", url, 1);
    unsetenv("FERRY_URL");
    unsetenv("FERRY_GUEST");
    unsetenv("FERRY_SECRET_FILE");
    setenv("FERRY_SECRET", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", 1);     /* 32 bytes of 0x01 */
    peer p;
    pthread_t t;
    uint64_t write_at = UINT64_MAX;

    /* a host that refuses: the connect fails with its status and reason */
    if (start_peer(&p, &t, REFUSE) != 0) { failures++; return; }
    ferry_conn *c = NULL;
    int st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_NOT_CONFIGURED && c == NULL && strstr(err, "has no certificate here") != NULL
          && strstr(err, "refused guest 'g1'") != NULL && strchr(err, '\n') == NULL, "refused: %d %s", st, err);
    stop_peer(&p, t);
    CHECK(strcmp(p.open_guest, "g1") == 0 && p.open_secret, "OPEN named the guest and carried its secret: '%s' %d",
          p.open_guest, p.open_secret);

    /* FERRY_GUEST must agree with the address; an address without /GUEST takes FERRY_GUEST's */
    setenv("FERRY_GUEST", "other", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_INVALID_ARGUMENT && strstr(err, "differ") != NULL, "guest mismatch: %d %s", st, err);
    unsetenv("FERRY_GUEST");
    setenv("FERRY_HOST", "ferry+tcp://127.0.0.1:1", 1);
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_NOT_CONFIGURED && strstr(err, "names no guest") != NULL, "no guest at all: %d %s", st,
          err);
    setenv("FERRY_HOST", url, 1);

    /* a host that plays well: HELLO, heap bytes in before the record, heap bytes out before the completion */
    if (start_peer(&p, &t, PLAY_WELL) != 0) { failures++; return; }
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == 0 && c != NULL, "connect over the stream: %d %s", st, err);
    if (st == 0) {
        CHECK(ferry_device_count(c) == 1 && c->r.lane == 1 && !ferry_heap_shared(c), "devices %u lane %d",
              ferry_device_count(c), c->r.lane);
        int64_t a = ferry_heap_alloc(c, 8192);
        CHECK(a >= 0, "heap alloc");
        write_at = (uint64_t) a;
        uint8_t *hb = ferry_heap_base(c);
        memcpy(hb + a, "written through the stream", 27);
        uint64_t w[FERRY_BUFFER_WRITE_ARGC] = {1, 2, 0, 27, (uint64_t) a, 0, 0};
        CHECK(ferry_send(c, FERRY_OP_BUFFER_WRITE, w, FERRY_BUFFER_WRITE_ARGC, NULL, 0, 0) == 0, "send");
        int64_t o = ferry_heap_alloc(c, 8192);
        uint64_t info[FERRY_INFO_ARGC] = {1, 2, 3, 0, (uint64_t) o, 8192};
        ferry_reply r;
        st = ferry_call(c, FERRY_OP_INFO, info, FERRY_INFO_ARGC, NULL, 0, &r);
        CHECK(st == 0 && r.results[0] == 4100, "INFO: %d %s", st, r.text ? r.text : "");
        CHECK(hb[o] == 'x' && hb[o + 4095] == 'x' && memcmp(hb + o + 4096, "tail", 4) == 0,
              "the host's heap bytes arrived before its completion");
        ferry_reply_free(&r);
        uint64_t q[FERRY_FINISH_ARGC] = {1};
        st = ferry_call(c, FERRY_OP_FINISH, q, FERRY_FINISH_ARGC, NULL, 0, &r);
        CHECK(st == 0, "FINISH: %d %s", st, r.text ? r.text : "");
        ferry_reply_free(&r);
        ferry_disconnect(c);
    }
    stop_peer(&p, t);
    CHECK(p.write_seen && p.heap_frames_before_write == 1 && p.last_at == write_at
          && memcmp(p.written, "written through the stream", 27) == 0,
          "the BUFFER_WRITE's heap bytes came before its record (%d frames)", p.heap_frames_before_write);

    /* a host that sends a malformed frame: the call fails with PROTOCOL_VIOLATION, the next calls too */
    if (start_peer(&p, &t, MALFORMED_AT_FINISH) != 0) { failures++; return; }
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == 0, "connect: %d %s", st, err);
    if (st == 0) {
        ferry_reply r;
        uint64_t q[FERRY_FINISH_ARGC] = {1};
        st = ferry_call(c, FERRY_OP_FINISH, q, FERRY_FINISH_ARGC, NULL, 0, &r);
        CHECK(st == FERRY_STATUS_PROTOCOL_VIOLATION && r.text && strstr(r.text, "malformed frame") != NULL
              && strstr(r.text, "HEAP") != NULL, "malformed: %d %s", st, r.text ? r.text : "");
        ferry_reply_free(&r);
        st = ferry_call(c, FERRY_OP_FINISH, q, FERRY_FINISH_ARGC, NULL, 0, &r);
        CHECK(st == FERRY_STATUS_PROTOCOL_VIOLATION, "and after: %d", st);
        ferry_reply_free(&r);
        uint64_t nop[FERRY_NOP_ARGC] = {1};
        CHECK(ferry_send(c, FERRY_OP_NOP, nop, FERRY_NOP_ARGC, NULL, 0, 0) == FERRY_STATUS_PROTOCOL_VIOLATION,
              "one-way calls fail too");
        ferry_disconnect(c);
    }
    stop_peer(&p, t);

    /* a connection that drops during a call: HOST_UNAVAILABLE, no hang */
    if (start_peer(&p, &t, DROP_AT_FINISH) != 0) { failures++; return; }
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == 0, "connect: %d %s", st, err);
    if (st == 0) {
        ferry_reply r;
        uint64_t q[FERRY_FINISH_ARGC] = {1};
        st = ferry_call(c, FERRY_OP_FINISH, q, FERRY_FINISH_ARGC, NULL, 0, &r);
        CHECK(st == FERRY_STATUS_HOST_UNAVAILABLE && r.text && strstr(r.text, "closed the connection") != NULL,
              "dropped: %d %s", st, r.text ? r.text : "");
        ferry_reply_free(&r);
        ferry_disconnect(c);
    }
    stop_peer(&p, t);

    /* nobody listening: a clear error */
    st = ferry_connect(&c, err, sizeof err);
    CHECK(st == FERRY_STATUS_HOST_UNAVAILABLE && strstr(err, sock_path) != NULL, "no host: %d %s", st, err);
}

int main(void) {
    alarm(120);     /* a hang is a failure, not a stuck build */
    test_urls();
    test_ranges();
    test_headers();
    snprintf(sock_path, sizeof sock_path, "/tmp/ferry-stream-test-%d.sock", (int) getpid());
    test_against_peer();
    if (failures) {
        fprintf(stderr, "unit_stream_test: %d failure(s)\n", failures);
        return 1;
    }
    printf("unit_stream_test: ok\n");
    return 0;
}
