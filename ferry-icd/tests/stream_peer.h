/* stream_peer.h: a scripted Ferry host for the stream transport's unit tests (unit_stream*_test.c): one
 * connection on a Unix socket (ferry+uds) or over TLS on loopback TCP, answering HELLO, INFO (with heap bytes) and
 * FINISH, and misbehaving on purpose where the script says. Not a host: the real one is tested by IcdStreamIT. */
#ifndef FERRY_STREAM_PEER_H
#define FERRY_STREAM_PEER_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include "transport_internal.h"

/* ---- a scripted peer: a host that answers some calls and misbehaves on purpose ---- */

enum script { PLAY_WELL, REFUSE, MALFORMED_AT_FINISH, DROP_AT_FINISH };

typedef struct peer {
    int listen_fd, fd;
    SSL_CTX *tls;                   /* non-NULL: TLS on accepted connections (a TCP listener) */
    SSL *ssl;
    int tls_accepted;               /* the handshake (with the client's certificate) succeeded */
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
    int unaligned_records;          /* RECORD payloads not a multiple of 8 (the host refuses them) */
} peer;

static int read_full(peer *p, void *buf, size_t n) {
    uint8_t *b = buf;
    while (n > 0) {
        ssize_t r = p->ssl ? SSL_read(p->ssl, b, (int) n) : read(p->fd, b, n);
        if (r <= 0) return -1;
        b += r;
        n -= (size_t) r;
    }
    return 0;
}

static int write_full(peer *p, const void *buf, size_t n) {
    const uint8_t *b = buf;
    while (n > 0) {
        ssize_t w = p->ssl ? SSL_write(p->ssl, b, (int) n) : send(p->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        b += w;
        n -= (size_t) w;
    }
    return 0;
}

static int send_frame(peer *p, int type, const void *payload, uint32_t n) {
    uint8_t h[8];
    ferry_put32(h, 8 + n);
    ferry_put32(h + 4, (uint32_t) type);
    return write_full(p, h, 8) || (n && write_full(p, payload, n)) ? -1 : 0;
}

static int send_words(peer *p, uint32_t off1, uint64_t v1, uint32_t off2, uint64_t v2) {
    uint8_t w[32] = {0};
    ferry_put32(w, off1);
    ferry_put64(w + 8, v1);
    ferry_put32(w + 16, off2);
    ferry_put64(w + 24, v2);
    return send_frame(p, FERRY_STREAM_WORDS, w, off2 ? 32 : 16);
}

/* A completion with a blob of blen bytes, sent padded to 8 as the host sends it (length field unpadded). */
static int send_completion_blob(peer *p, int op, uint64_t seq, int status, uint64_t r0, uint64_t r1, uint64_t r3,
                                const char *blob, uint32_t blen) {
    uint8_t c[FERRY_COMPLETION_HEADER_LENGTH + 64] = {0};
    uint32_t length = FERRY_COMPLETION_HEADER_LENGTH + blen;
    ferry_put32(c, length);
    ferry_put32(c + 4, (uint32_t) op);
    ferry_put64(c + FERRY_COMPLETION_SEQ_OFFSET, seq);
    ferry_put32(c + FERRY_COMPLETION_STATUS_OFFSET, (uint32_t) status);
    ferry_put32(c + FERRY_COMPLETION_BLOB_LENGTH_OFFSET, blen);
    ferry_put64(c + FERRY_COMPLETION_RESULTS_OFFSET, r0);
    ferry_put64(c + FERRY_COMPLETION_RESULTS_OFFSET + 8, r1);
    ferry_put64(c + FERRY_COMPLETION_RESULTS_OFFSET + 24, r3);
    memcpy(c + FERRY_COMPLETION_HEADER_LENGTH, blob, blen);
    return send_frame(p, FERRY_STREAM_COMPLETION, c, (length + 7) & ~7u);
}

static int send_completion(peer *p, int op, uint64_t seq, int status, uint64_t r0, uint64_t r1, uint64_t r3) {
    return send_completion_blob(p, op, seq, status, r0, r1, r3, "", 0);
}

static void *peer_main(void *arg) {
    peer *p = arg;
    sigset_t pipe;      /* the peer's own writes to a client that left: not the ICD's, so not its test */
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    p->fd = accept(p->listen_fd, NULL, NULL);
    if (p->fd < 0) return NULL;
    uint8_t h[8];
    if (p->tls != NULL) {
        p->ssl = SSL_new(p->tls);
        SSL_set_fd(p->ssl, p->fd);
        if (SSL_accept(p->ssl) != 1) goto done;     /* OpenSSL sends the client its alert */
        p->tls_accepted = 1;
    }
    static uint8_t buf[FERRY_STREAM_MAX_PAYLOAD];
    if (read_full(p, h, 8) != 0) goto done;
    uint32_t n = ferry_get32(h) - 8;
    if (ferry_get32(h + 4) != FERRY_STREAM_OPEN || n > 100 || read_full(p, buf, n) != 0) goto done;
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
        send_frame(p, FERRY_STREAM_CLOSED, c, (uint32_t) (4 + strlen(why)));
        goto done;
    }
    uint8_t opened[16 + 4096];
    ferry_put32(opened, p->lane);
    ferry_put32(opened + 4, 0);
    ferry_put64(opened + 8, 4096);      /* a small chunk limit: larger ranges come in several HEAP frames */
    memcpy(opened + 16, p->page, 4096);
    if (send_frame(p, FERRY_STREAM_OPENED, opened, sizeof opened) != 0) goto done;
    uint32_t lane_words = FERRY_LANE_WORDS_OFFSET(p->lane);
    for (;;) {
        if (read_full(p, h, 8) != 0) break;
        n = ferry_get32(h) - 8;
        uint32_t type = ferry_get32(h + 4);
        if (n > sizeof buf || read_full(p, buf, n) != 0) break;
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
            p->unaligned_records += n % 8 != 0 || ferry_get32(buf) > n || ferry_get32(buf) + 7 < n;
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
                send_frame(p, FERRY_STREAM_HEAP, bytes, 8 + 4096);
                ferry_put64(bytes, at + 4096);
                memcpy(bytes + 8, "tail", 4);
                send_frame(p, FERRY_STREAM_HEAP, bytes, 8 + 4);
                send_completion(p, op, seq, 0, 4100, 1, 0);
            } else if (op == FERRY_OP_FINISH) {
                if (p->script == MALFORMED_AT_FINISH) {
                    uint8_t bad[16] = {0};
                    ferry_put64(bad, p->heap_size - 4);     /* a HEAP frame past the heap slice */
                    send_frame(p, FERRY_STREAM_HEAP, bad, 16);
                } else if (p->script == DROP_AT_FINISH) {
                    break;
                } else {
                    send_completion_blob(p, op, seq, 0, 0, 0, 0, "done", 4);     /* padded 60 -> 64 */
                }
            } else if (op == FERRY_OP_GOODBYE) {
                send_completion(p, op, seq, 0, 0, 0, 0);
            }
        }
    }
done:
    if (p->ssl != NULL) {
        SSL_shutdown(p->ssl);
        SSL_free(p->ssl);
        p->ssl = NULL;
    }
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

/* A peer over TLS on 127.0.0.1: *port receives the port it listens on. */
__attribute__((unused)) static int start_tls_peer(peer *p, pthread_t *t, enum script script, SSL_CTX *tls, int *port) {
    memset(p, 0, sizeof *p);
    p->script = script;
    p->lane = 1;
    p->tls = tls;
    make_page(p->page, &p->heap_size);
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(p->listen_fd, (struct sockaddr *) &sa, sizeof sa) != 0 || listen(p->listen_fd, 1) != 0
        || getsockname(p->listen_fd, (struct sockaddr *) &sa, &sl) != 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1: %s\n", strerror(errno));
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return pthread_create(t, NULL, peer_main, p);
}

__attribute__((unused)) static int start_peer(peer *p, pthread_t *t, enum script script) {
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
    if (p->tls == NULL) unlink(sock_path);
}


#endif
