/* transport_stream.c: the guest's side of a Ferry connection over a byte stream (TLS 1.3 with mutual
 * authentication, plain TCP on loopback, vsock, or the host side of Firecracker's vsock: a Unix socket).
 *
 * The host's proxy claims a lane of the guest's region and acts on it as a local guest process would; here a local
 * mirror region (a sparse memfd of the region's size, whose header page comes in OPENED) holds the same offsets,
 * and the rest of the transport (transport.c) runs on lane L of it unchanged. Two threads replay the lane:
 *   the sender is the consumer of the local command ring (it sleeps on its doorbell as the host's endpoint does):
 *     for each record it first sends HEAP frames for the heap ranges the call reads, then the RECORD; and it sends
 *     our words (CONNECT_REQUEST, GUEST_PID, GUEST_HEARTBEAT) in WORDS frames when they change;
 *   the receiver reads frames, checks every one before use (the host is not trusted to be bug-free), and writes
 *     heap bytes, completions (producing into the local completion ring, ringing its doorbell) and the host's words.
 * A connection that ends (or a malformed frame) marks the stream lost and wakes every waiter; transport.c turns
 * that into HOST_UNAVAILABLE (or the host's CLOSED status) at once. The Java twin: ferry-client's net package. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "transport_internal.h"

#define CONNECT_TIMEOUT_MS 5000
#define OPENED_TIMEOUT_MS 10000
#define SENDER_WAIT_NS 50000000ull      /* our words go out at least every 50 ms (the heartbeat moves each 100) */
#define OUT_FLUSH_BYTES (256u * 1024u)
#define COPY_CHUNK_MAX 16384u           /* HEAP chunks up to this size are copied into the out buffer */
#define READ_BUFFER 65536u
#define DIRECT_READ_MIN 16384u
#define MAX_REGION_SIZE (UINT64_C(1) << 40)
#define MAX_SHM_ENTRIES 65536u

/* ---- addresses ---- */

static const struct { const char *scheme; int kind; } SCHEMES[] = {
    {"ferry+tls", FERRY_URL_TLS}, {"ferry+tcp", FERRY_URL_TCP}, {"ferry+vsock", FERRY_URL_VSOCK},
    {"ferry+uds", FERRY_URL_UDS},
};

#define URL_FORMS "ferry+tls://HOST:PORT/GUEST, ferry+tcp://127.0.0.1:PORT/GUEST (a host with --insecure-loopback), " \
                  "ferry+vsock://CID:PORT/GUEST (inside a VM) or ferry+uds:///PATH/GUEST (a Firecracker vsock's " \
                  "Unix socket uds_path_PORT)"

int ferry_url_is_stream(const char *text) {
    while (isspace((unsigned char) *text)) text++;
    return strncasecmp(text, "ferry+", 6) == 0;
}

static int valid_guest(const char *s) {
    size_t len = strlen(s);
    if (len == 0 || len > 63 || !isalnum((unsigned char) s[0])) return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char ch = (unsigned char) s[i];
        if (!(isalnum(ch) || ch == '_' || ch == '.' || ch == '-')) return 0;
    }
    return 1;
}

/* "NUMBER" (decimal, at most max) into *out; 0 on success */
static int parse_number(const char *s, size_t len, uint64_t max, uint64_t *out) {
    if (len == 0 || len > 10) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char) s[i])) return -1;
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

int ferry_url_parse(const char *text, ferry_url *u, char *err, size_t n) {
    memset(u, 0, sizeof *u);
    while (isspace((unsigned char) *text)) text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char) text[len - 1])) len--;
    char t[1024];
    if (len + 1 >= sizeof t) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%.60s...' is not a Ferry host address (longer than %zu "
                    "bytes)", text, sizeof t - 1);
    }
    memcpy(t, text, len);
    t[len] = 0;
    const char *sep = strstr(t, "://");
    if (sep == NULL) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s' is not a Ferry host address (no '://'): give %s", t,
                    URL_FORMS);
    }
    for (size_t i = 0; i < sizeof SCHEMES / sizeof SCHEMES[0]; i++) {
        if ((size_t) (sep - t) == strlen(SCHEMES[i].scheme) && strncasecmp(t, SCHEMES[i].scheme, sep - t) == 0) {
            u->kind = SCHEMES[i].kind;
        }
    }
    if (u->kind == 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s' is not a Ferry host address ('%.*s' is not one of its "
                    "schemes): give %s", t, (int) (sep - t), t, URL_FORMS);
    }
    const char *rest = sep + 3;
    const char *slash = strrchr(rest, '/');
    if (u->kind == FERRY_URL_UDS && (slash == NULL || slash[1] == 0)) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s' names no guest: ferry+uds:///SOCKET/GUEST ends in "
                    "the guest's name", t);
    }
    if (slash == NULL) {        /* HOST:PORT alone: the guest is FERRY_GUEST's (ferry_stream_open) */
        t[len] = '/';
        t[len + 1] = 0;
        slash = t + len;
    }
    if (slash[1] != 0) {
        if (strchr(slash + 1, '?') != NULL || strchr(slash + 1, '#') != NULL || !valid_guest(slash + 1)) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': '%s' is not a guest name (1 to 63 letters, "
                        "digits, '_', '.' or '-', starting with a letter or digit)", t, slash + 1);
        }
        snprintf(u->guest, sizeof u->guest, "%s", slash + 1);
    }
    if (u->kind == FERRY_URL_UDS) {
        size_t plen = (size_t) (slash - rest);
        if (rest[0] != '/' || plen < 2) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s' names no socket: write ferry+uds:///PATH/GUEST "
                        "(three slashes: an absolute path, then the guest)", t);
        }
        if (plen >= sizeof u->path) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': the socket path is longer than %zu bytes, the "
                        "most a Unix socket address holds; use a shorter path", t, sizeof u->path - 1);
        }
        memcpy(u->path, rest, plen);
        u->path[plen] = 0;
        return 0;
    }
    /* AUTHORITY = HOST:PORT, [IPV6]:PORT or CID:PORT, then exactly one '/' and the guest */
    const char *auth_end = strchr(rest, '/');
    if (auth_end != slash) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': after HOST:PORT comes /GUEST and nothing else (%s)",
                    t, URL_FORMS);
    }
    const char *host = rest, *host_end, *colon;
    if (*host == '[') {
        host_end = memchr(host, ']', (size_t) (auth_end - host));
        if (host_end == NULL || host_end[1] != ':') {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': an IPv6 address is written [ADDRESS]:PORT", t);
        }
        colon = host_end + 1;
        host++;
    } else {
        colon = NULL;
        for (const char *q = host; q < auth_end; q++) {
            if (*q == ':') colon = q;
        }
        host_end = colon;
    }
    if (colon == NULL || colon + 1 >= auth_end) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s' names no port: write %s", t,
                    u->kind == FERRY_URL_VSOCK ? "ferry+vsock://CID:PORT/GUEST" : "HOST:PORT (e.g. :7070)");
    }
    uint64_t port;
    if (parse_number(colon + 1, (size_t) (auth_end - colon - 1), u->kind == FERRY_URL_VSOCK ? UINT32_MAX : 65535,
                     &port) != 0 || port == 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': port '%.*s' is not a number from 1 to %s", t,
                    (int) (auth_end - colon - 1), colon + 1, u->kind == FERRY_URL_VSOCK ? "4294967295" : "65535");
    }
    u->port = (uint32_t) port;
    size_t hlen = (size_t) (host_end - host);
    if (hlen == 0 || hlen >= sizeof u->host) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s' names no host", t);
    }
    memcpy(u->host, host, hlen);
    u->host[hlen] = 0;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char) u->host[i];
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '_')) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': '%s' is not a host name or address", t, u->host);
        }
    }
    if (u->kind == FERRY_URL_VSOCK) {
        uint64_t cid;
        if (parse_number(u->host, hlen, UINT32_MAX, &cid) != 0) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': the vsock CID '%s' is not a number (the host is "
                        "CID 2)", t, u->host);
        }
        u->cid = (uint32_t) cid;
    }
    if (u->kind == FERRY_URL_TCP) {
        struct in_addr a4;
        struct in6_addr a6;
        int loop = (inet_pton(AF_INET, u->host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
                   || (inet_pton(AF_INET6, u->host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6))
                   || strcasecmp(u->host, "localhost") == 0;
        if (!loop) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "'%s': plain ferry+tcp is for a host on this machine "
                        "only (127.0.0.1, ::1 or localhost; the host's --insecure-loopback): it has no encryption and "
                        "no authentication; over a network use ferry+tls://%s:PORT/%s", t, u->host, u->guest);
        }
    }
    return 0;
}

/* ---- heap ranges a record reads ---- */

static int add_range(ferry_heap_range *out, int count, uint64_t offset, uint64_t length, uint64_t heap_size) {
    if (count >= FERRY_MAX_IN_RANGES || length == 0 || offset >= heap_size || length > heap_size - offset) {
        return count;
    }
    out[count].offset = offset;
    out[count].length = length;
    return count + 1;
}

static const ferry_shm_entry *shm_find(const ferry_shm_table *t, uint64_t handle) {
    for (size_t i = 0; t != NULL && i < t->count; i++) {
        if (t->e[i].handle == handle) return &t->e[i];
    }
    return NULL;
}

/* TEE parameter block (io.ferry.protocol.TeeWire): u32 types (4 bits per parameter), u32 0, then 4 x {a, b, c, 0} */
#define TEE_BLOCK_LENGTH 136
#define TEE_PARAMS_OFFSET 8
#define TEE_PARAM_LENGTH 32

/* Every memref's bytes go to the host before the call, OUTPUT ones too (not only INPUT and INOUT, HeapTraffic's IN
 * ranges): the host sends OUTPUT ranges back whole, so its copy must hold the guest's bytes where the TA writes
 * nothing (a SHORT_BUFFER answer, an output shorter than the buffer), as shared memory would. */
static int tee_in_ranges(const uint8_t *block, uint32_t blob, const ferry_shm_table *shm, uint64_t heap_size,
                         ferry_heap_range *out) {
    if (blob < TEE_BLOCK_LENGTH) return 0;
    uint32_t types = ferry_get32(block);
    int count = 0;
    for (int i = 0; i < 4; i++) {
        unsigned type = (types >> (4 * i)) & 0xF;
        const uint8_t *p = block + TEE_PARAMS_OFFSET + TEE_PARAM_LENGTH * i;
        uint64_t a = ferry_get64(p), b = ferry_get64(p + 8), c = ferry_get64(p + 16);
        if (type >= 0x5 && type <= 0x7) {               /* temporary memref: a = heap offset, c = size */
            if (a != UINT64_MAX) count = add_range(out, count, a, c, heap_size);
        } else if (type >= 0xC) {                       /* WHOLE, PARTIAL_*: a = shared memory, b = offset in it */
            const ferry_shm_entry *e = shm_find(shm, a);
            if (e == NULL) continue;
            if (type == 0xC) {
                count = add_range(out, count, e->offset, e->size, heap_size);
            } else if (b <= e->size && c <= e->size - b) {
                count = add_range(out, count, e->offset + b, c, heap_size);
            }
        }
    }
    return count;
}

int ferry_stream_in_ranges(const uint8_t *rec, uint32_t length, const ferry_shm_table *shm, uint64_t heap_size,
                           ferry_heap_range *out) {
    if (length < FERRY_CALL_HEADER_LENGTH) return 0;
    int op = (int) ferry_get32(rec + FERRY_CALL_OP_OFFSET);
    const uint8_t *args = rec + FERRY_CALL_ARGS_OFFSET;
#define ARG(i) ferry_get64(args + 8 * (i))
#define HAS(argc) ((uint64_t) length >= (uint64_t) FERRY_CALL_LENGTH(argc, 0))
    switch (op) {
    /* the catalogue's argument ranges that the call reads (IN = 1); of its OUT ranges (the host's to send back)
     * the rectangle reads', which the host writes only row by row */
#define RANGE(o, off, len, in)                                                                              \
    case o:                                                                                                 \
        return ((in) || (o) == FERRY_OP_BUFFER_READ_RECT || (o) == FERRY_OP_IMAGE_READ)                     \
               && HAS(((off) > (len) ? (off) : (len)) + 1) ? add_range(out, 0, ARG(off), ARG(len), heap_size) : 0;
    FERRY_HEAP_RANGES(RANGE)
#undef RANGE
    case FERRY_OP_TEE_OPEN_SESSION:
    case FERRY_OP_TEE_INVOKE: {
        int argc = op == FERRY_OP_TEE_INVOKE ? FERRY_TEE_INVOKE_ARGC : FERRY_TEE_OPEN_SESSION_ARGC;
        if (!HAS(argc)) return 0;
        uint32_t blob = ferry_get32(rec + FERRY_CALL_BLOB_LENGTH_OFFSET);
        if ((uint64_t) FERRY_CALL_LENGTH(argc, 0) + blob > length) return 0;
        int n = tee_in_ranges(rec + FERRY_CALL_LENGTH(argc, 0), blob, shm, heap_size, out);
        /* the cancel word as the application left it (0 unless it asked to cancel): the host reads its own copy,
         * which may hold what an earlier session wrote there */
        uint64_t cancel = ARG(op == FERRY_OP_TEE_INVOKE ? FERRY_ARG_TEE_INVOKE_CANCEL_WORD
                                                        : FERRY_ARG_TEE_OPEN_SESSION_CANCEL_WORD);
        return cancel != UINT64_MAX ? add_range(out, n, cancel, 8, heap_size) : n;
    }
    default:
        return 0;
    }
#undef ARG
#undef HAS
}

int ferry_shm_note(ferry_shm_table *t, const uint8_t *rec, uint32_t length) {
    int op = (int) ferry_get32(rec + FERRY_CALL_OP_OFFSET);
    const uint8_t *args = rec + FERRY_CALL_ARGS_OFFSET;
    uint64_t have = length;
    if (op == FERRY_OP_TEE_SHM_REGISTER && have >= (uint64_t) FERRY_CALL_LENGTH(FERRY_TEE_SHM_REGISTER_ARGC, 0)) {
        ferry_shm_entry e = {ferry_get64(args + 8 * FERRY_ARG_TEE_SHM_REGISTER_SHM),
                             ferry_get64(args + 8 * FERRY_ARG_TEE_SHM_REGISTER_HEAP_OFFSET),
                             ferry_get64(args + 8 * FERRY_ARG_TEE_SHM_REGISTER_SIZE),
                             ferry_get64(args + 8 * FERRY_ARG_TEE_SHM_REGISTER_FLAGS)};
        for (size_t i = 0; i < t->count; i++) {
            if (t->e[i].handle == e.handle) {
                t->e[i] = e;
                return 0;
            }
        }
        if (t->count == t->cap) {
            if (t->cap >= MAX_SHM_ENTRIES) return -1;
            size_t cap = t->cap ? t->cap * 2 : 16;
            ferry_shm_entry *g = realloc(t->e, cap * sizeof *g);
            if (g == NULL) return -1;
            t->e = g;
            t->cap = cap;
        }
        t->e[t->count++] = e;
    } else if (op == FERRY_OP_TEE_SHM_RELEASE && have >= (uint64_t) FERRY_CALL_LENGTH(FERRY_TEE_SHM_RELEASE_ARGC, 0)) {
        uint64_t h = ferry_get64(args + 8 * FERRY_ARG_TEE_SHM_RELEASE_SHM);
        for (size_t i = 0; i < t->count; i++) {
            if (t->e[i].handle == h) {
                t->e[i] = t->e[--t->count];
                break;
            }
        }
    }
    return 0;
}

void ferry_shm_free(ferry_shm_table *t) {
    free(t->e);
    memset(t, 0, sizeof *t);
}

const char *ferry_stream_check_header(uint32_t length, uint32_t type, uint32_t flags) {
    if (length < FERRY_STREAM_HEADER_LENGTH || length > FERRY_STREAM_HEADER_LENGTH + FERRY_STREAM_MAX_PAYLOAD) {
        return "a frame length outside 8 .. 8 + 1 MiB + 64";
    }
    if (flags != 0) {
        return "a frame with nonzero flags";
    }
    if (type != FERRY_STREAM_CLOSED && type != FERRY_STREAM_COMPLETION && type != FERRY_STREAM_HEAP
        && type != FERRY_STREAM_WORDS && type != FERRY_STREAM_FIGURES) {
        return "a frame of a type the host does not send (or OPENED twice)";
    }
    return NULL;
}

/* ---- the connection ---- */

typedef struct ferry_stream {
    ferry_region *r;
    ferry_url url;
    char name[320];             /* the address, for messages */
    pid_t pid;                  /* the process that owns the threads (a forked child only closes its fd) */
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    pthread_mutex_t ssl_lock;   /* OpenSSL: one SSL object is used by one thread at a time (non-blocking fd) */
    uint64_t chunk;             /* the host's HEAP chunk limit */
    uint64_t deadline_ns;       /* while connecting: reads give up at this time (0: none) */
    char bundle[4096];          /* ferry+tls: the guest's bundle directory */
    uint8_t secret[32];         /* plain forms: sent in OPEN after the name */
    int has_secret;

    atomic_int stop;
    atomic_int lost;
    pthread_mutex_t lost_lock;
    char lost_why[1024];

    pthread_t sender, receiver;
    int sender_running, receiver_running;
    pthread_mutex_t drain_lock; /* the sender's state below and writing frames: the sender thread, or a caller that
                                 * publishes records (ferry_stream_kick), or the receiver's CLOSED */

    /* sender */
    uint8_t *out;
    size_t out_len, out_cap;
    uint64_t cmd_head;
    uint64_t sent_words[3];
    ferry_shm_table shm;

    /* receiver: whoever holds read_lock (the receiver thread, or a caller waiting for a completion) reads frames
     * and is the completion ring's producer */
    pthread_mutex_t read_lock;
    atomic_uint_fast64_t caller_at; /* when a caller last wanted to read (ferry_now_ns) */
    uint8_t *rbuf;
    size_t rpos, rlen;
    uint8_t *payload;           /* one frame's payload (MAX_PAYLOAD) */
    uint64_t cpl_tail;
} ferry_stream;

static void wake_all(uint8_t *sec) {
    uint32_t *bell = (uint32_t *) (void *) (sec + FERRY_RING_DOORBELL_OFFSET);
    __atomic_fetch_add(bell, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Marks the connection gone (the first reason wins), shuts the socket down (both threads return) and wakes
 * everyone waiting on the mirror's rings, so a waiting call sees it at once. */
static void lose(ferry_stream *s, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lose(ferry_stream *s, int status, const char *fmt, ...) {
    pthread_mutex_lock(&s->lost_lock);
    if (atomic_load(&s->lost) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->lost_why, sizeof s->lost_why, fmt, ap);
        va_end(ap);
        atomic_store(&s->lost, status);     /* transport.c logs it when it ends the session */
    }
    pthread_mutex_unlock(&s->lost_lock);
    shutdown(s->fd, SHUT_RDWR);
    if (s->r != NULL && s->r->cpl.sec != NULL) {
        wake_all(s->r->cpl.sec);
        wake_all(s->r->cmd.sec);
    }
}

int ferry_stream_lost(ferry_stream *s, char *why, size_t n) {
    if (s == NULL || atomic_load(&s->lost) == 0) return 0;
    pthread_mutex_lock(&s->lost_lock);
    int st = atomic_load(&s->lost);
    if (why != NULL && n > 0) snprintf(why, n, "%s", s->lost_why);
    pthread_mutex_unlock(&s->lost_lock);
    return st;
}

static void ssl_errors(char *buf, size_t n) {
    buf[0] = 0;
    unsigned long e;
    size_t at = 0;
    while ((e = ERR_get_error()) != 0 && at + 2 < n) {
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        at += (size_t) snprintf(buf + at, n - at, "%s%s", at ? "; " : "", one);
    }
    if (buf[0] == 0) snprintf(buf, n, "no detail from OpenSSL");
}

/* A TLS failure: an alert from the host means it refused our certificate. */
static void tls_lost(ferry_stream *s, const char *what, const char *detail) {
    int alert = strstr(detail, "alert") != NULL;
    lose(s, alert ? FERRY_STATUS_BAD_CREDENTIAL : FERRY_STATUS_HOST_UNAVAILABLE, "the TLS connection to the Ferry host "
         "at %s failed (%s: %s)%s", s->name, what, detail, alert ? ": the host refused this guest's TLS certificate "
         "(is it the bundle ferry guest add --tls wrote for this guest, and not expired or revoked?)"
         : "; the session is over: check the network and the host, then restart the application");
}

/* Waits until fd is ready for events (or ms passes); 0 ready/timeout, -1 stop. */
static int wait_fd(ferry_stream *s, short events, int ms) {
    struct pollfd p = {s->fd, events, 0};
    int r = poll(&p, 1, ms);
    (void) r;
    return atomic_load(&s->stop) ? -1 : 0;
}

/* Writes iov fully. 0, or -1 with the connection marked lost. */
static int io_write(ferry_stream *s, struct iovec *iov, int count) {
    if (s->ssl == NULL) {
        while (count > 0) {
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t) count};
            ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                lose(s, FERRY_STATUS_HOST_UNAVAILABLE, "the connection to the Ferry host at %s broke (send: %s); "
                     "the session is over: check the network and the host, then restart the application",
                     s->name, strerror(errno));
                return -1;
            }
            size_t done = (size_t) w;
            while (count > 0 && done >= iov->iov_len) {
                done -= iov->iov_len;
                iov++;
                count--;
            }
            if (count > 0) {
                iov->iov_base = (uint8_t *) iov->iov_base + done;
                iov->iov_len -= done;
            }
        }
        return 0;
    }
    for (int i = 0; i < count; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0) {
            pthread_mutex_lock(&s->ssl_lock);
            ERR_clear_error();
            int w = SSL_write(s->ssl, p, left > INT_MAX ? INT_MAX : (int) left);
            int e = w > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, w);
            char detail[512] = "";
            if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ssl_errors(detail, sizeof detail);
                if (strstr(detail, "alert") == NULL) {
                    /* the host may have closed after an alert (it refused our certificate): read it for the reason */
                    char b;
                    ERR_clear_error();
                    if (SSL_read(s->ssl, &b, 1) <= 0) {
                        char alert[512];
                        ssl_errors(alert, sizeof alert);
                        if (strstr(alert, "alert") != NULL) snprintf(detail, sizeof detail, "%s", alert);
                    }
                }
            }
            pthread_mutex_unlock(&s->ssl_lock);
            if (w > 0) {
                p += w;
                left -= (size_t) w;
            } else if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                if (wait_fd(s, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 100) != 0) return -1;
            } else {
                tls_lost(s, "send", detail);
                return -1;
            }
        }
    }
    return 0;
}

/* While connecting: waits for input until the deadline. 0 when readable, -1 (lost set) when it passed. */
static int before_deadline(ferry_stream *s) {
    for (;;) {
        uint64_t now = ferry_now_ns();
        if (now >= s->deadline_ns) {
            lose(s, FERRY_STATUS_HOST_UNAVAILABLE, "no answer from %s within %d s: is a Ferry host listening there "
                 "(and not something else)?", s->name, OPENED_TIMEOUT_MS / 1000);
            return -1;
        }
        struct pollfd p = {s->fd, POLLIN, 0};
        int r = poll(&p, 1, (int) ((s->deadline_ns - now) / 1000000u) + 1);
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) return 0;     /* the read says what is wrong */
    }
}

/* Reads up to cap bytes (at least 1). >0, or 0 at the end of the stream, -1 on an error (lost set). */
static ssize_t io_read_some(ferry_stream *s, uint8_t *buf, size_t cap) {
    if (s->ssl == NULL) {
        if (s->deadline_ns != 0 && before_deadline(s) != 0) return -1;
        for (;;) {
            ssize_t r = recv(s->fd, buf, cap, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                lose(s, FERRY_STATUS_HOST_UNAVAILABLE, "the connection to the Ferry host at %s broke (receive: %s); "
                     "the session is over: check the network and the host, then restart the application",
                     s->name, strerror(errno));
                return -1;
            }
            return r;
        }
    }
    for (;;) {
        pthread_mutex_lock(&s->ssl_lock);
        ERR_clear_error();
        int r = SSL_read(s->ssl, buf, cap > INT_MAX ? INT_MAX : (int) cap);
        int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, r);
        char detail[512] = "";
        if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL) {
            ssl_errors(detail, sizeof detail);
        }
        pthread_mutex_unlock(&s->ssl_lock);
        if (r > 0) return r;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (s->deadline_ns != 0 && e == SSL_ERROR_WANT_READ) {
                if (before_deadline(s) != 0) return -1;
            } else if (wait_fd(s, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 100) != 0) {
                return 0;
            }
            continue;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            return 0;
        }
        tls_lost(s, "receive", detail);
        return -1;
    }
}

/* Reads exactly n bytes into dst through the read buffer. 0, or -1 (lost set; at the end of the stream too). */
static int io_read(ferry_stream *s, uint8_t *dst, size_t n) {
    while (n > 0) {
        if (s->rpos < s->rlen) {
            size_t k = s->rlen - s->rpos < n ? s->rlen - s->rpos : n;
            memcpy(dst, s->rbuf + s->rpos, k);
            s->rpos += k;
            dst += k;
            n -= k;
            continue;
        }
        ssize_t r;
        if (n >= DIRECT_READ_MIN) {
            r = io_read_some(s, dst, n);
            if (r > 0) {
                dst += r;
                n -= (size_t) r;
                continue;
            }
        } else {
            r = io_read_some(s, s->rbuf, READ_BUFFER);
            if (r > 0) {
                s->rpos = 0;
                s->rlen = (size_t) r;
                continue;
            }
        }
        if (r == 0) {
            lose(s, FERRY_STATUS_HOST_UNAVAILABLE, "the Ferry host at %s closed the connection%s; the session is "
                 "over: check the host (restarted? stopped?), then restart the application", s->name,
                 atomic_load(&s->stop) ? " (closing)" : " without a reason");
        }
        return -1;
    }
    return 0;
}

static void put_header(uint8_t *p, uint32_t length, uint16_t type) {
    ferry_put32(p, length);
    p[4] = (uint8_t) type;
    p[5] = (uint8_t) (type >> 8);
    p[6] = p[7] = 0;
}

/* Sends CLOSED (status, reason) best-effort: the connection is closed after it. */
static void send_closed(ferry_stream *s, int status, const char *reason) {
    uint8_t head[12];
    size_t rl = strlen(reason) > 1024 ? 1024 : strlen(reason);
    put_header(head, (uint32_t) (12 + rl), FERRY_STREAM_CLOSED);
    ferry_put32(head + 8, (uint32_t) status);
    struct iovec iov[2] = {{head, sizeof head}, {(void *) reason, rl}};
    /* not inside another frame: wait for the sender a little (it may be stuck on a peer that does not read) */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (pthread_mutex_timedlock(&s->drain_lock, &until) == 0) {
        io_write(s, iov, 2);
        pthread_mutex_unlock(&s->drain_lock);
    }
}

/* OpenSSL writes with write(): a peer that closed raises SIGPIPE, which would end the application. The pump's
 * threads block every signal; on an application's thread (OPEN, the close) SIGPIPE is blocked around the write and
 * one it raised is taken before the mask comes back. */
typedef struct quiet_pipe {
    sigset_t old;
    int was_pending;
} quiet_pipe;

static void quiet_pipe_begin(quiet_pipe *q) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    q->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &q->old);
}

static void quiet_pipe_end(quiet_pipe *q) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (!q->was_pending && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &q->old, NULL);
}

/* ---- the sender: the local command ring's consumer ---- */

static int out_reserve(ferry_stream *s, size_t more) {
    if (s->out_len + more <= s->out_cap) return 0;
    size_t cap = s->out_cap ? s->out_cap : 65536;
    while (cap < s->out_len + more) cap *= 2;
    uint8_t *g = realloc(s->out, cap);
    if (g == NULL) return -1;
    s->out = g;
    s->out_cap = cap;
    return 0;
}

static int out_flush(ferry_stream *s) {
    if (s->out_len == 0) return 0;
    struct iovec iov = {s->out, s->out_len};
    s->out_len = 0;
    return io_write(s, &iov, 1);
}

static const uint32_t OUR_WORDS[3] = {FERRY_LANE_CONNECT_REQUEST_OFFSET, FERRY_LANE_GUEST_PID_OFFSET,
                                      FERRY_LANE_GUEST_HEARTBEAT_OFFSET};

static int send_words(ferry_stream *s) {
    uint8_t frame[8 + 3 * 16];
    int n = 0;
    uint32_t base = (uint32_t) (s->r->words - s->r->base);
    for (int i = 0; i < 3; i++) {
        uint64_t v = ferry_load64(s->r->words + OUR_WORDS[i]);
        if (v != s->sent_words[i]) {
            s->sent_words[i] = v;
            uint8_t *w = frame + 8 + 16 * n++;
            ferry_put32(w, base + OUR_WORDS[i]);
            ferry_put32(w + 4, 0);
            ferry_put64(w + 8, v);
        }
    }
    if (n == 0) return 0;
    put_header(frame, (uint32_t) (8 + 16 * n), FERRY_STREAM_WORDS);
    if (out_reserve(s, (size_t) (8 + 16 * n)) != 0) return -1;
    memcpy(s->out + s->out_len, frame, (size_t) (8 + 16 * n));
    s->out_len += (size_t) (8 + 16 * n);
    return 0;
}

/* HEAP frames for [offset, offset + length) of the heap slice, in chunks the host takes. */
static int send_heap(ferry_stream *s, uint64_t offset, uint64_t length) {
    while (length > 0) {
        uint64_t k = length < s->chunk ? length : s->chunk;
        uint8_t head[16];
        put_header(head, (uint32_t) (16 + k), FERRY_STREAM_HEAP);
        ferry_put64(head + 8, offset);
        if (k <= COPY_CHUNK_MAX) {
            if (out_reserve(s, 16 + k) != 0) return -1;
            memcpy(s->out + s->out_len, head, 16);
            memcpy(s->out + s->out_len + 16, s->r->heap + offset, k);
            s->out_len += 16 + k;
        } else {
            if (out_flush(s) != 0) return -1;
            struct iovec iov[2] = {{head, 16}, {s->r->heap + offset, k}};
            if (io_write(s, iov, 2) != 0) return -1;
        }
        offset += k;
        length -= k;
    }
    return 0;
}

/* Sends every published record from HEAD on; returns the number sent, or -1 (lost). */
static int drain(ferry_stream *s) {
    ferry_ring *ring = &s->r->cmd;
    uint8_t *data = ring->sec + FERRY_RING_DATA_OFFSET;
    uint64_t cap = ring->capacity;
    uint64_t tail = ferry_load64(ring->sec + FERRY_RING_TAIL_OFFSET);
    uint64_t head = s->cmd_head;
    int sent = 0;
    if (tail < head || tail - head > cap || (tail & 7) != 0) {
        lose(s, FERRY_STATUS_PROTOCOL_VIOLATION, "the command ring of the local mirror is corrupt (TAIL %llu, HEAD "
             "%llu): a bug of %s", (unsigned long long) tail, (unsigned long long) head, ferry_client.library);
        return -1;
    }
    while (head < tail) {
        uint64_t index = head & (cap - 1);
        uint64_t word = ferry_get64(data + index);
        uint32_t length = (uint32_t) word;
        int32_t type = (int32_t) (word >> 32);
        uint64_t aligned = ((uint64_t) length + 7) & ~(uint64_t) 7;
        if (type < 0 && length >= 8 && index + length == cap && length <= tail - head) {
            head += length;         /* padding to the end */
            continue;
        }
        if (type < 0 || length < FERRY_CALL_HEADER_LENGTH || aligned > tail - head || index + aligned > cap) {
            lose(s, FERRY_STATUS_PROTOCOL_VIOLATION, "a record of the local command ring is malformed (length %u, "
                 "type %d at %llu): a bug of %s", length, type, (unsigned long long) head, ferry_client.library);
            return -1;
        }
        if (aligned > FERRY_STREAM_MAX_PAYLOAD) {
            lose(s, FERRY_STATUS_INVALID_ARGUMENT, "a call record of %u bytes (op %d) is larger than a stream frame "
                 "carries (%d bytes): pass large data through heap memory; the session is over", length, type,
                 FERRY_STREAM_MAX_PAYLOAD);
            return -1;
        }
        const uint8_t *rec = data + index;
        if (ferry_shm_note(&s->shm, rec, length) != 0) {
            lose(s, FERRY_STATUS_INTERNAL, "out of memory for registered shared memory (at most %u at once)",
                 MAX_SHM_ENTRIES);
            return -1;
        }
        ferry_heap_range in[FERRY_MAX_IN_RANGES];
        int k = ferry_stream_in_ranges(rec, length, &s->shm, s->r->heap_size, in);
        for (int i = 0; i < k; i++) {
            if (send_heap(s, in[i].offset, in[i].length) != 0) return -1;
        }
        /* the record as in the ring, padded to 8 (its LENGTH field keeps the record's own length) */
        if (out_reserve(s, 8 + (size_t) aligned) != 0) {
            lose(s, FERRY_STATUS_INTERNAL, "out of memory sending a record of %u bytes", length);
            return -1;
        }
        put_header(s->out + s->out_len, (uint32_t) (8 + aligned), FERRY_STREAM_RECORD);
        memcpy(s->out + s->out_len + 8, rec, length);
        memset(s->out + s->out_len + 8 + length, 0, (size_t) (aligned - length));
        s->out_len += 8 + (size_t) aligned;
        head += aligned;
        sent++;
        if (s->out_len >= OUT_FLUSH_BYTES) {
            s->cmd_head = head;
            ferry_store64(ring->sec + FERRY_RING_HEAD_OFFSET, head);
            if (out_flush(s) != 0) return -1;
        }
    }
    if (head != s->cmd_head) {
        s->cmd_head = head;
        /* our copies are in the out buffer: the producer may reuse the space */
        ferry_store64(ring->sec + FERRY_RING_HEAD_OFFSET, head);
    }
    return sent;
}

/* Sends our changed words and every published record; 1 when all went out, 0 when the connection is lost. */
static int pump_once(ferry_stream *s, int *sent) {
    if (send_words(s) != 0) {
        lose(s, FERRY_STATUS_INTERNAL, "out of memory in the stream sender");
        return 0;
    }
    *sent = drain(s);
    return *sent >= 0 && out_flush(s) == 0;
}

int ferry_stream_kick(ferry_stream *s) {
    if (s == NULL || atomic_load(&s->lost) || atomic_load(&s->stop) || pthread_mutex_trylock(&s->drain_lock) != 0) {
        return 0;       /* the sender thread is at it (or will be: the caller rings its doorbell) */
    }
    quiet_pipe q;
    if (s->ssl != NULL) quiet_pipe_begin(&q);
    int sent = 0;
    int ok = pump_once(s, &sent);
    if (s->ssl != NULL) quiet_pipe_end(&q);
    pthread_mutex_unlock(&s->drain_lock);
    return ok;
}

/* The local command ring's consumer when no caller sends for itself: it sleeps on the ring's doorbell as the host's
 * endpoint does, and sends our words at least every SENDER_WAIT_NS. */
static void *sender_main(void *arg) {
    ferry_stream *s = arg;
    ferry_ring *ring = &s->r->cmd;
    uint32_t *bell = (uint32_t *) (void *) (ring->sec + FERRY_RING_DOORBELL_OFFSET);
    uint32_t *waiting = (uint32_t *) (void *) (ring->sec + FERRY_RING_CONSUMER_WAITING_OFFSET);
    while (!atomic_load(&s->stop) && !atomic_load(&s->lost)) {
        pthread_mutex_lock(&s->drain_lock);
        int sent = 0;
        int ok = pump_once(s, &sent);
        pthread_mutex_unlock(&s->drain_lock);
        if (!ok) break;
        if (sent > 0) continue;
        /* a short spin: a call's next record often follows at once */
        int more = 0;
        for (int i = 0; i < 200 && !more; i++) {
            more = ferry_load64(ring->sec + FERRY_RING_TAIL_OFFSET) != ferry_load64(ring->sec + FERRY_RING_HEAD_OFFSET);
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (more) continue;
        uint32_t rung = __atomic_load_n(bell, __ATOMIC_ACQUIRE);
        __atomic_store_n(waiting, 1, __ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (ferry_load64(ring->sec + FERRY_RING_TAIL_OFFSET) == ferry_load64(ring->sec + FERRY_RING_HEAD_OFFSET)
            && !atomic_load(&s->stop)) {
            struct timespec ts = {0, (long) SENDER_WAIT_NS};
            syscall(SYS_futex, bell, FUTEX_WAIT, rung, &ts, NULL, 0);
        }
        __atomic_store_n(waiting, 0, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* ---- the receiver ---- */

static void violation(ferry_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(ferry_stream *s, const char *fmt, ...) {
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char reason[800];
    snprintf(reason, sizeof reason, "the guest's library refused a frame: %s", what);
    send_closed(s, FERRY_STATUS_PROTOCOL_VIOLATION, reason);
    lose(s, FERRY_STATUS_PROTOCOL_VIOLATION, "the Ferry host at %s sent a malformed frame (%s): the connection is "
         "closed and the session is over (report it with the host's log; restart the application)", s->name, what);
}

/* Produces one completion into the local completion ring (waiting for room), then rings its doorbell. */
static int put_completion(ferry_stream *s, const uint8_t *p, uint32_t length) {
    ferry_ring *ring = &s->r->cpl;
    uint8_t *data = ring->sec + FERRY_RING_DATA_OFFSET;
    uint64_t cap = ring->capacity;
    uint64_t aligned = ((uint64_t) length + 7) & ~(uint64_t) 7;
    uint64_t tail = s->cpl_tail;
    uint64_t index = tail & (cap - 1);
    uint64_t padding = aligned > cap - index ? cap - index : 0;
    uint64_t nap = 20000;
    for (;;) {
        uint64_t head = ferry_load64(ring->sec + FERRY_RING_HEAD_OFFSET);
        if (head > tail || tail - head > cap) {
            lose(s, FERRY_STATUS_PROTOCOL_VIOLATION, "the completion ring of the local mirror is corrupt (HEAD %llu, "
                 "TAIL %llu): a bug of %s", (unsigned long long) head, (unsigned long long) tail,
                 ferry_client.library);
            return -1;
        }
        if (tail + padding + aligned - head <= cap) break;
        if (atomic_load(&s->stop)) return -1;
        ferry_nap_ns(nap);
        nap = nap * 2 > 1000000 ? 1000000 : nap * 2;
    }
    if (padding != 0) {
        ferry_put64(data + index, (uint64_t) (uint32_t) FERRY_PADDING_TYPE << 32 | padding);
        tail += padding;
        index = 0;
    }
    memcpy(data + index, p, length);
    tail += aligned;
    s->cpl_tail = tail;
    ferry_store64(ring->sec + FERRY_RING_TAIL_OFFSET, tail);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (ferry_load32(ring->sec + FERRY_RING_CONSUMER_WAITING_OFFSET) != 0) {
        wake_all(ring->sec);
    }
    return 0;
}

/* The host's words: HOST_EPOCH, HOST_HEARTBEAT, our lane's CONNECT_ACK and SESSION_ID. */
static int host_word(const ferry_stream *s, uint32_t offset) {
    uint32_t lane = (uint32_t) (s->r->words - s->r->base);
    return offset == FERRY_HDR_HOST_EPOCH_OFFSET || offset == FERRY_HDR_HOST_HEARTBEAT_OFFSET
           || offset == lane + FERRY_LANE_CONNECT_ACK_OFFSET || offset == lane + FERRY_LANE_SESSION_ID_OFFSET;
}

static void closed_text(const uint8_t *p, uint32_t n, char *out, size_t cap) {
    size_t k = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = p[i];
        out[i] = (char) (ch < 0x20 || ch == 0x7f ? ' ' : ch);
    }
    out[k] = 0;
}

static void on_closed(ferry_stream *s, const uint8_t *p, uint32_t n) {
    uint32_t status = n >= 4 ? ferry_get32(p) : 0;
    char reason[900];
    closed_text(p + (n >= 4 ? 4 : 0), n >= 4 ? n - 4 : 0, reason, sizeof reason);
    int st = status >= 1 && status <= FERRY_LAST_STATUS ? (int) status : FERRY_STATUS_HOST_UNAVAILABLE;
    lose(s, st, "the Ferry host at %s closed the connection: %s", s->name, reason[0] ? reason : "no reason given");
}

/* Reads and handles one frame (read_lock held). 0, or -1 when the stream is over (lost set). */
static int read_frame(ferry_stream *s) {
    uint8_t head[8];
    if (io_read(s, head, 8) != 0) return -1;
    uint32_t length = ferry_get32(head);
    uint32_t type = (uint32_t) head[4] | (uint32_t) head[5] << 8;
    uint32_t flags = (uint32_t) head[6] | (uint32_t) head[7] << 8;
    const char *bad = ferry_stream_check_header(length, type, flags);
    if (bad != NULL) {
        violation(s, "%s: length %u, type %u, flags %u", bad, length, type, flags);
        return -1;
    }
    uint32_t n = length - 8;
    if (type == FERRY_STREAM_HEAP) {
        uint8_t off[8];
        if (n < 9) {
            violation(s, "a HEAP frame of %u payload bytes (an offset and 1 .. %llu bytes)", n,
                      (unsigned long long) s->chunk);
            return -1;
        }
        if (io_read(s, off, 8) != 0) return -1;
        uint64_t at = ferry_get64(off), k = n - 8;
        if (k > s->chunk || at > s->r->heap_size || k > s->r->heap_size - at) {
            violation(s, "a HEAP frame of %llu bytes at %llu (the heap slice holds %llu bytes, a chunk at most "
                      "%llu)", (unsigned long long) k, (unsigned long long) at,
                      (unsigned long long) s->r->heap_size, (unsigned long long) s->chunk);
            return -1;
        }
        if (io_read(s, s->r->heap + at, (size_t) k) != 0) return -1;
        return 0;
    }
    if (io_read(s, s->payload, n) != 0) return -1;
    const uint8_t *p = s->payload;
    if (type == FERRY_STREAM_CLOSED) {
        on_closed(s, p, n);
        return -1;
    }
    if (type == FERRY_STREAM_COMPLETION) {
        uint32_t rl = n >= 4 ? ferry_get32(p) : 0;
        uint32_t blob = n >= FERRY_COMPLETION_HEADER_LENGTH ? ferry_get32(p + FERRY_COMPLETION_BLOB_LENGTH_OFFSET)
                                                            : 0;
        /* the completion as in the ring: its length field is the payload's, or the payload is it padded to 8 */
        int fits = rl == n || (n % 8 == 0 && rl <= n && rl + 7 >= n);
        if (n < FERRY_COMPLETION_HEADER_LENGTH || rl < FERRY_COMPLETION_HEADER_LENGTH || !fits
            || n > s->r->cpl.max_record
            || blob > FERRY_MAX_COMPLETION_BLOB || FERRY_COMPLETION_HEADER_LENGTH + (uint64_t) blob > rl) {
            violation(s, "a COMPLETION of %u bytes (length field %u, blob %u; a completion is %d to %llu bytes, "
                      "its blob within)", n, rl, blob, FERRY_COMPLETION_HEADER_LENGTH,
                      (unsigned long long) s->r->cpl.max_record);
            return -1;
        }
        if (put_completion(s, p, rl) != 0) return -1;
    } else if (type == FERRY_STREAM_WORDS) {
        if (n == 0 || n % 16 != 0) {
            violation(s, "a WORDS frame of %u bytes (n x 16)", n);
            return -1;
        }
        int ok = 1;
        for (uint32_t i = 0; i < n && ok; i += 16) {
            uint32_t off = ferry_get32(p + i);
            ok = ferry_get32(p + i + 4) == 0 && host_word(s, off);
            if (!ok) violation(s, "a WORDS frame writing offset %u, not one of the host's words", off);
        }
        if (!ok) return -1;
        for (uint32_t i = 0; i < n; i += 16) {
            ferry_store64(s->r->base + ferry_get32(p + i), ferry_get64(p + i + 8));
        }
    } else if (type == FERRY_STREAM_FIGURES) {
        if (n != FERRY_HDR_HOST_FIGURES_LENGTH) {
            violation(s, "a FIGURES frame of %u bytes (%d)", n, FERRY_HDR_HOST_FIGURES_LENGTH);
            return -1;
        }
        for (uint32_t i = 0; i < n; i += 8) {
            ferry_store64(s->r->base + FERRY_HDR_HOST_FIGURES_OFFSET + i, ferry_get64(p + i));
        }
    }
    return 0;
}

/* After a caller read the stream, the receiver thread keeps off it this long (docs/network.md). */
#define CALLERS_READ_NS 2000000ull

/* The receiver thread: reads the stream whenever no caller has wanted to for CALLERS_READ_NS. */
static void *receiver_main(void *arg) {
    ferry_stream *s = arg;
    while (!atomic_load(&s->stop) && !atomic_load(&s->lost)) {
        uint64_t since = ferry_now_ns() - atomic_load(&s->caller_at);
        if (since < CALLERS_READ_NS) {
            ferry_nap_ns(CALLERS_READ_NS - since);
            continue;
        }
        if (pthread_mutex_trylock(&s->read_lock) != 0) {
            ferry_nap_ns(CALLERS_READ_NS);
            continue;
        }
        int r = ferry_now_ns() - atomic_load(&s->caller_at) >= CALLERS_READ_NS ? read_frame(s) : 0;
        pthread_mutex_unlock(&s->read_lock);
        if (r != 0) break;
    }
    return NULL;
}

int ferry_stream_receive(ferry_stream *s, uint64_t cpl_head) {
    atomic_store(&s->caller_at, ferry_now_ns());
    if (atomic_load(&s->stop) || atomic_load(&s->lost) || pthread_mutex_trylock(&s->read_lock) != 0) return 0;
    ferry_ring *ring = &s->r->cpl;
    int r = ferry_load64(ring->sec + FERRY_RING_TAIL_OFFSET) != cpl_head; /* came meanwhile: poll it now */
    if (!r && s->cpl_tail - ferry_load64(ring->sec + FERRY_RING_HEAD_OFFSET) + 2 * ring->max_record <= ring->capacity) {
        r = 1;
        int buffered = s->rpos < s->rlen;
        if (!buffered && s->ssl != NULL) {
            pthread_mutex_lock(&s->ssl_lock);
            buffered = SSL_pending(s->ssl) > 0;
            pthread_mutex_unlock(&s->ssl_lock);
        }
        struct pollfd p = {s->fd, POLLIN, 0};
        /* nothing for 100 ms (the host's words come more often): back to the caller, which checks the heartbeat */
        if (buffered || poll(&p, 1, 100) != 0) {
            read_frame(s);
        }
    }
    atomic_store(&s->caller_at, ferry_now_ns());
    pthread_mutex_unlock(&s->read_lock);
    return r;
}

/* ---- connecting ---- */

static int set_nonblocking(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -1;
    return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* connect() with a timeout; 0, or errno */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int ms) {
    if (set_nonblocking(fd, 1) != 0) return errno;
    int e = 0;
    if (connect(fd, sa, len) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int r;
            do {
                r = poll(&p, 1, ms);
            } while (r < 0 && errno == EINTR);
            if (r == 0) {
                e = ETIMEDOUT;
            } else {
                socklen_t el = sizeof e;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
            }
        }
    }
    if (e == 0 && set_nonblocking(fd, 0) != 0) e = errno;
    return e;
}

static void tune_tcp(int fd) {
    int one = 1, idle = 5, intvl = 1, cnt = 3;
    unsigned user_timeout = 10000;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static int dial(ferry_stream *s, char *err, size_t n) {
    const ferry_url *u = &s->url;
    if (u->kind == FERRY_URL_UDS) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot make a Unix socket: %s", strerror(errno));
        int e = connect_timeout(fd, (struct sockaddr *) &sa, sizeof sa, CONNECT_TIMEOUT_MS);
        if (e != 0) {
            close(fd);
            return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "cannot connect to the Ferry host's vsock socket %s: "
                        "%s; is the host running with vsock: { uds: ..., port: ... } (it listens on UDS_PORT)?",
                        u->path, strerror(e));
        }
        s->fd = fd;
        return 0;
    }
    if (u->kind == FERRY_URL_VSOCK) {
        /* AF_VSOCK: inside a VM only (a guest's CID 2 is its host); never used by the tests */
        struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = u->cid, .svm_port = u->port};
        int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "cannot make a vsock socket: %s (ferry+vsock works inside "
                        "a VM with a vsock device; docs/vm.md)", strerror(errno));
        }
        int e = connect_timeout(fd, (struct sockaddr *) &sa, sizeof sa, CONNECT_TIMEOUT_MS);
        if (e != 0) {
            close(fd);
            return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "cannot connect to vsock CID %u port %u: %s; is the "
                        "host listening on vsock (vsock: in its config)?", u->cid, u->port, strerror(e));
        }
        s->fd = fd;
        return 0;
    }
    char port[16];
    snprintf(port, sizeof port, "%u", u->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
    struct addrinfo *list = NULL;
    int g = getaddrinfo(u->host, port, &hints, &list);
    if (g != 0) {
        return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "cannot resolve the Ferry host '%s': %s", u->host,
                    gai_strerror(g));
    }
    int last = 0;
    for (struct addrinfo *a = list; a != NULL; a = a->ai_next) {
        if (u->kind == FERRY_URL_TCP) {
            int loop = (a->ai_family == AF_INET
                        && (ntohl(((struct sockaddr_in *) (void *) a->ai_addr)->sin_addr.s_addr) >> 24) == 127)
                       || (a->ai_family == AF_INET6
                           && IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *) (void *) a->ai_addr)->sin6_addr));
            if (!loop) continue;        /* plain TCP never leaves this machine */
        }
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int e = connect_timeout(fd, a->ai_addr, a->ai_addrlen, CONNECT_TIMEOUT_MS);
        if (e == 0) {
            tune_tcp(fd);
            s->fd = fd;
            freeaddrinfo(list);
            return 0;
        }
        last = e;
        close(fd);
    }
    freeaddrinfo(list);
    return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "cannot connect to the Ferry host at %s:%u: %s; is the host "
                "running with %s?", u->host, u->port, last ? strerror(last) : "no loopback address",
                u->kind == FERRY_URL_TLS ? "listen: [ \"ADDRESS:PORT\" ] in its config" : "insecure-loopback: PORT");
}

/* The TLS bundle: FERRY_TLS_BUNDLE, else ~/.config/ferry/tls/GUEST/ (ca.pem, guest.pem, guest.key), read into a
 * TLS 1.3 client context before anything is dialled. */
static int tls_context(ferry_stream *s, char *err, size_t n) {
    char *dir = s->bundle;
    const char *env = getenv("FERRY_TLS_BUNDLE");
    const char *home = getenv("HOME");
    if (env != NULL && *env) {
        snprintf(dir, sizeof s->bundle, "%s", env);
    } else if (home != NULL && *home) {
        snprintf(dir, sizeof s->bundle, "%.3900s/.config/ferry/tls/%s", home, s->url.guest);
    } else {
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "no TLS bundle for guest '%s': set FERRY_TLS_BUNDLE to the "
                    "directory ferry guest add %s --tls wrote (ca.pem, guest.pem, guest.key)", s->url.guest,
                    s->url.guest);
    }
    char ca[4200], cert[4200], key[4200];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/guest.pem", dir);
    snprintf(key, sizeof key, "%s/guest.key", dir);
    const char *files[3] = {ca, cert, key};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0) {
            return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "the TLS bundle of guest '%s' lacks %s (%s): install "
                        "the directory ferry guest add %s --tls wrote as %s, or set FERRY_TLS_BUNDLE to it",
                        s->url.guest, files[i], strerror(errno), s->url.guest, dir);
        }
        if (i == 2 && (st.st_mode & 077) != 0) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "the guest's TLS key %s is readable by other users "
                        "(mode %03o): it proves the identity of guest '%s'; run chmod 600 %s", key,
                        (unsigned) (st.st_mode & 0777), s->url.guest, key);
        }
    }
    char detail[512];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ssl_errors(detail, sizeof detail);
        return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "OpenSSL: cannot make a TLS context: %s", detail);
    }
    s->ctx = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);     /* a closed socket is the end of the stream */
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_errors(detail, sizeof detail);
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "cannot read the host's CA certificate %s: %s", ca, detail);
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_errors(detail, sizeof detail);
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "cannot read the guest's certificate %s: %s", cert, detail);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_errors(detail, sizeof detail);
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "cannot use the guest's key %s with %s: %s", key, cert,
                    detail);
    }
    return 0;
}

/* The TLS handshake on the connected socket: the host's certificate must chain to ca.pem and name the host. */
static int tls_handshake(ferry_stream *s, char *err, size_t n) {
    char detail[512];
    char ca[4200];
    snprintf(ca, sizeof ca, "%s/ca.pem", s->bundle);
    SSL *ssl = SSL_new(s->ctx);
    if (ssl == NULL) {
        ssl_errors(detail, sizeof detail);
        return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "OpenSSL: cannot make a TLS connection: %s", detail);
    }
    s->ssl = ssl;
    struct in_addr a4;
    struct in6_addr a6;
    int literal = inet_pton(AF_INET, s->url.host, &a4) == 1 || inet_pton(AF_INET6, s->url.host, &a6) == 1;
    if (literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->url.host);
    } else {
        SSL_set_tlsext_host_name(ssl, s->url.host);
        SSL_set1_host(ssl, s->url.host);
    }
    SSL_set_fd(ssl, s->fd);
    if (set_nonblocking(s->fd, 1) != 0) {
        return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot make the socket non-blocking: %s", strerror(errno));
    }
    uint64_t until = ferry_now_ns() + (uint64_t) CONNECT_TIMEOUT_MS * 1000000u;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
        if (r == 1) break;
        int e = SSL_get_error(ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && ferry_now_ns() < until) {
            struct pollfd p = {s->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
            poll(&p, 1, 100);
            continue;
        }
        long v = SSL_get_verify_result(ssl);
        ssl_errors(detail, sizeof detail);
        if (v != X509_V_OK) {
            return ferry_fail(err, n, FERRY_STATUS_BAD_CREDENTIAL, "the Ferry host at %s:%u failed TLS verification: %s "
                        "(the host's certificate must be signed by %s and name '%s'); connect to the name or address "
                        "its certificate holds, with the CA of that host", s->url.host, s->url.port,
                        X509_verify_cert_error_string(v), ca, s->url.host);
        }
        return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "the TLS handshake with the Ferry host at %s:%u failed: "
                    "%s%s",
                    s->url.host, s->url.port, e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
                    ? "timed out" : detail, strstr(detail, "alert") != NULL ? " (the host refused this guest's "
                    "certificate: is it the bundle ferry guest add --tls wrote, not expired or revoked?)" : "");
    }
    return 0;
}

/* OPEN: magic, version, 0, the guest's name; on plain forms a NUL and the 32-byte secret after it */
static int send_open(ferry_stream *s) {
    size_t gl = strlen(s->url.guest);
    size_t length = 24 + gl + (s->has_secret ? 1 + sizeof s->secret : 0);
    uint8_t f[8 + 16 + 64 + 1 + 32];
    put_header(f, (uint32_t) length, FERRY_STREAM_OPEN);
    ferry_put64(f + 8, FERRY_STREAM_OPEN_MAGIC);
    ferry_put32(f + 16, FERRY_STREAM_VERSION);
    ferry_put32(f + 20, 0);
    memcpy(f + 24, s->url.guest, gl);
    if (s->has_secret) {
        f[24 + gl] = 0;
        memcpy(f + 25 + gl, s->secret, sizeof s->secret);
    }
    struct iovec iov = {f, length};
    quiet_pipe q;
    quiet_pipe_begin(&q);
    int r = io_write(s, &iov, 1);
    quiet_pipe_end(&q);
    memset(f, 0, sizeof f);
    memset(s->secret, 0, sizeof s->secret);
    return r;
}

/* Reads OPENED (or CLOSED) with a timeout; fills the lane and the header page. */
static int read_opened(ferry_stream *s, uint32_t *lane, uint8_t *page, char *err, size_t n) {
    s->deadline_ns = ferry_now_ns() + (uint64_t) OPENED_TIMEOUT_MS * 1000000u;
    uint8_t head[8];
    int ok = io_read(s, head, 8) == 0;
    uint32_t length = ok ? ferry_get32(head) : 0;
    uint32_t type = ok ? ((uint32_t) head[4] | (uint32_t) head[5] << 8) : 0;
    uint32_t flags = ok ? ((uint32_t) head[6] | (uint32_t) head[7] << 8) : 0;
    char why[1024];
    if (!ok) {
        int st = ferry_stream_lost(s, why, sizeof why);
        return ferry_fail(err, n, st ? st : FERRY_STATUS_HOST_UNAVAILABLE, "no answer to OPEN from %s: %s", s->name, why);
    }
    if (flags != 0 || length < 8 || length > 8 + FERRY_STREAM_MAX_PAYLOAD
        || (type != FERRY_STREAM_OPENED && type != FERRY_STREAM_CLOSED)) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s did not answer as a Ferry host (frame length %u, type "
                    "%u, flags %u where OPENED or CLOSED belongs): check the address and port", s->name, length, type,
                    flags);
    }
    uint32_t pl = length - 8;
    if (io_read(s, s->payload, pl) != 0) {
        ferry_stream_lost(s, why, sizeof why);
        return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "no complete answer to OPEN from %s: %s", s->name, why);
    }
    if (type == FERRY_STREAM_CLOSED) {
        uint32_t st = pl >= 4 ? ferry_get32(s->payload) : 0;
        char reason[900];
        closed_text(s->payload + (pl >= 4 ? 4 : 0), pl >= 4 ? pl - 4 : 0, reason, sizeof reason);
        return ferry_fail(err, n, st >= 1 && st <= FERRY_LAST_STATUS ? (int) st : FERRY_STATUS_PROTOCOL_VIOLATION,
                    "the Ferry host at %s refused guest '%s': %s", s->name, s->url.guest,
                    reason[0] ? reason : "no reason given");
    }
    if (pl != 16 + FERRY_STREAM_HEADER_PAGE) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the Ferry host at %s sent an OPENED of %u bytes (%d "
                    "expected); a host of another version? use matching versions", s->name, pl,
                    16 + FERRY_STREAM_HEADER_PAGE);
    }
    *lane = ferry_get32(s->payload);
    uint64_t chunk = ferry_get64(s->payload + 8);
    if (ferry_get32(s->payload + 4) != 0 || chunk == 0 || chunk > FERRY_STREAM_MAX_PAYLOAD - 8) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the Ferry host at %s sent an OPENED with chunk limit "
                    "%llu (1 .. %d)", s->name, (unsigned long long) chunk, FERRY_STREAM_MAX_PAYLOAD - 8);
    }
    s->chunk = chunk;
    memcpy(page, s->payload + 16, FERRY_STREAM_HEADER_PAGE);
    s->deadline_ns = 0;
    return 0;
}

static void stream_free(ferry_stream *s) {
    if (s->ssl != NULL) SSL_free(s->ssl);
    if (s->ctx != NULL) SSL_CTX_free(s->ctx);
    if (s->fd >= 0) close(s->fd);
    ferry_shm_free(&s->shm);
    free(s->out);
    free(s->rbuf);
    free(s->payload);
    pthread_mutex_destroy(&s->ssl_lock);
    pthread_mutex_destroy(&s->lost_lock);
    pthread_mutex_destroy(&s->drain_lock);
    pthread_mutex_destroy(&s->read_lock);
    free(s);
}

static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* the application's signals go to its own threads */
    int e = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

int ferry_stream_open(ferry_region *r, const char *text, const char *origin, const char *guest, pid_t pid, char *err,
                      size_t n) {
    ferry_stream *s = calloc(1, sizeof *s);
    if (s == NULL) return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "out of memory");
    s->fd = -1;
    s->pid = pid;
    pthread_mutex_init(&s->ssl_lock, NULL);
    pthread_mutex_init(&s->lost_lock, NULL);
    pthread_mutex_init(&s->drain_lock, NULL);
    pthread_mutex_init(&s->read_lock, NULL);
    atomic_init(&s->stop, 0);
    atomic_init(&s->lost, 0);
    int st = ferry_url_parse(text, &s->url, err, n);
    if (st != 0) {
        size_t l = strlen(err);
        snprintf(err + l, n - l, " [%s]", origin);
        stream_free(s);
        return st;
    }
    if (s->url.guest[0] == 0) {
        if (guest == NULL || !valid_guest(guest)) {
            st = ferry_fail(err, n, guest == NULL ? FERRY_STATUS_NOT_CONFIGURED : FERRY_STATUS_INVALID_ARGUMENT, "%s (from "
                      "%s) names no guest, and FERRY_GUEST %s%s%s: end the address in /GUEST, or set FERRY_GUEST to "
                      "the guest's name", text, origin, guest ? "'" : "is not set", guest ? guest : "",
                      guest ? "' is not a guest name" : "");
            stream_free(s);
            return st;
        }
        snprintf(s->url.guest, sizeof s->url.guest, "%s", guest);
    } else if (guest != NULL && strcmp(guest, s->url.guest) != 0) {
        st = ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "FERRY_GUEST '%s' and the guest of %s ('%s', from %s) "
                  "differ: unset FERRY_GUEST, or make them agree", guest, text, s->url.guest, origin);
        stream_free(s);
        return st;
    }
    /* plain forms (loopback TCP, vsock): the guest's secret follows the name in OPEN, when the environment has
     * one (else the host refuses, or binds the socket to the guest by its config); TLS: the certificate */
    if (s->url.kind != FERRY_URL_TLS && (getenv("FERRY_SECRET") != NULL || getenv("FERRY_SECRET_FILE") != NULL)) {
        st = ferry_secret_from_environment(s->url.guest, s->secret, err, n);
        if (st != 0 && st != FERRY_STATUS_NOT_CONFIGURED) {
            stream_free(s);
            return st;
        }
        s->has_secret = st == 0;
        st = 0;
    }
    snprintf(s->name, sizeof s->name, "%.300s", text + strspn(text, " \t\n"));
    s->rbuf = malloc(READ_BUFFER);
    s->payload = malloc(FERRY_STREAM_MAX_PAYLOAD);
    uint8_t *page = malloc(FERRY_STREAM_HEADER_PAGE);
    uint32_t lane = 0;
    if (s->rbuf == NULL || s->payload == NULL || page == NULL) {
        st = ferry_fail(err, n, FERRY_STATUS_INTERNAL, "out of memory");
    }
    if (st == 0 && s->url.kind == FERRY_URL_TLS) st = tls_context(s, err, n);
    if (st == 0) st = dial(s, err, n);
    if (st == 0 && s->url.kind == FERRY_URL_TLS) st = tls_handshake(s, err, n);
    if (st == 0 && send_open(s) != 0) {
        char why[1024];
        int lost = ferry_stream_lost(s, why, sizeof why);
        st = ferry_fail(err, n, lost ? lost : FERRY_STATUS_HOST_UNAVAILABLE, "cannot send OPEN to %s: %s", s->name, why);
    }
    if (st == 0) st = read_opened(s, &lane, page, err, n);
    if (st == 0) {
        /* the mirror: a sparse shared mapping of the region's size; its header page is the host's */
        uint64_t size = ferry_get64(page + FERRY_HDR_REGION_SIZE_OFFSET);
        if (size < FERRY_REGION_HEADER_SIZE || size > MAX_REGION_SIZE || size % FERRY_REGION_SECTION_ALIGNMENT) {
            st = ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the Ferry host at %s sent a header page with region "
                      "size %llu (4096 .. 1 TiB, a multiple of 4096)", s->name, (unsigned long long) size);
        } else {
            int fd = (int) syscall(SYS_memfd_create, "ferry-mirror", 1u /* MFD_CLOEXEC */);
            void *m = MAP_FAILED;
            if (fd >= 0 && ftruncate(fd, (off_t) size) == 0) {
                m = mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
            }
            int e = errno;
            if (fd >= 0) close(fd);
            if (m == MAP_FAILED) {
                st = ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot make a local mirror of %llu bytes for %s: %s",
                          (unsigned long long) size, s->name, strerror(e));
            } else {
                r->base = m;
                r->mapped = (size_t) size;
                memcpy(r->base, page, FERRY_STREAM_HEADER_PAGE);
            }
        }
    }
    free(page);
    if (st == 0) {
        snprintf(r->where, sizeof r->where, "%.300s", s->name);
        st = ferry_region_check(r, err, n);
    }
    if (st == 0 && lane >= r->lanes) {
        st = ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the Ferry host at %s gave lane %u of %u", s->name, lane,
                  r->lanes);
    }
    if (st == 0 && strcmp(r->guest, s->url.guest) != 0) {
        st = ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the Ferry host at %s sent the region of guest '%s', not "
                  "'%s'", s->name, r->guest, s->url.guest);
    }
    if (st == 0) st = ferry_region_use_lane(r, lane, err, n);
    if (st == 0) {
        ferry_store64(r->words + FERRY_LANE_CLAIM_WORD_OFFSET, (uint64_t) pid);
        for (int i = 0; i < 3; i++) s->sent_words[i] = ferry_load64(r->words + OUR_WORDS[i]);
        s->r = r;
        if (start_thread(&s->receiver, receiver_main, s) != 0) {
            st = ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot start the stream's receiver thread: %s", strerror(errno));
        } else {
            s->receiver_running = 1;
            if (start_thread(&s->sender, sender_main, s) != 0) {
                st = ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot start the stream's sender thread: %s",
                          strerror(errno));
            } else {
                s->sender_running = 1;
            }
        }
    }
    if (st != 0) {
        r->stream = s;
        ferry_stream_close(s);
        r->stream = NULL;
        if (r->base != NULL) {
            munmap(r->base, r->mapped);
            r->base = NULL;
        }
        return st;
    }
    r->stream = s;
    return 0;
}

void ferry_stream_close(ferry_stream *s) {
    if (s == NULL) return;
    if (getpid() != s->pid) {
        /* a forked child: the connection and its threads are the parent's; only our copy of the fd goes */
        close(s->fd);
        return;
    }
    atomic_store(&s->stop, 1);
    if (s->sender_running && s->r != NULL) {
        wake_all(s->r->cmd.sec);
        pthread_join(s->sender, NULL);
        s->sender_running = 0;
    }
    if (s->ssl != NULL && atomic_load(&s->lost) == 0) {
        quiet_pipe q;
        quiet_pipe_begin(&q);
        pthread_mutex_lock(&s->ssl_lock);
        SSL_shutdown(s->ssl);
        pthread_mutex_unlock(&s->ssl_lock);
        quiet_pipe_end(&q);
    }
    if (s->fd >= 0) shutdown(s->fd, SHUT_RDWR);
    if (s->receiver_running) {
        pthread_join(s->receiver, NULL);
        s->receiver_running = 0;
    }
    stream_free(s);
}
