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
#include "stream_peer.h"
#include "unittest.h"

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
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 8192 && r[0].length == 300, "IMAGE_READ's range goes up too (the host writes "
          "only the rows, and sends the range back whole): %d", k);
    len = make_record(rec, FERRY_OP_BUFFER_READ_RECT, FERRY_BUFFER_READ_RECT_ARGC, rect, NULL, 0);
    CHECK(ferry_stream_in_ranges(rec, len, &shm, heap, r) == 1, "BUFFER_READ_RECT's range goes up too");
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
    uint64_t inv[FERRY_TEE_INVOKE_ARGC] = {5, 1, 640};          /* the cancel word at 640 */
    len = make_record(rec, FERRY_OP_TEE_INVOKE, FERRY_TEE_INVOKE_ARGC, inv, block, sizeof block);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 5 && r[0].offset == 4096 && r[0].length == 10 && r[1].offset == 65636 && r[1].length == 50
          && r[2].offset == 131072 && r[2].length == 500 && r[3].offset == 512 && r[3].length == 20
          && r[4].offset == 640 && r[4].length == 8,
          "TEE_INVOKE: every memref travels before the call, OUTPUT ones too (the host's copy must hold the "
          "guest's bytes where the TA writes nothing), and the cancel word: %d", k);
    ferry_put32(block, 0xCu);
    ferry_put64(block + 8, 7);
    uint64_t open[FERRY_TEE_OPEN_SESSION_ARGC] = {5, 1, 2, 0, 0, UINT64_MAX};
    len = make_record(rec, FERRY_OP_TEE_OPEN_SESSION, FERRY_TEE_OPEN_SESSION_ARGC, open, block, sizeof block);
    k = ferry_stream_in_ranges(rec, len, &shm, heap, r);
    CHECK(k == 1 && r[0].offset == 65536 && r[0].length == 1000, "TEE_OPEN_SESSION: WHOLE: %d", k);
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
        CHECK(st == 0 && r.length == 4 && memcmp(r.text, "done", 4) == 0, "FINISH (a padded completion): %d %s", st,
              r.text ? r.text : "");
        ferry_reply_free(&r);
        ferry_disconnect(c);
    }
    stop_peer(&p, t);
    CHECK(p.write_seen && p.heap_frames_before_write == 1 && p.last_at == write_at
          && memcmp(p.written, "written through the stream", 27) == 0,
          "the BUFFER_WRITE's heap bytes came before its record (%d frames)", p.heap_frames_before_write);
    CHECK(p.unaligned_records == 0, "RECORD payloads are the record padded to 8: %d were not",
          p.unaligned_records);

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
