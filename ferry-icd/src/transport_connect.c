/* transport_connect.c: finds the guest's region as the environment says (FERRY_HOST unix:/file:/pci:, the
 * deprecated FERRY_SOCKET and FERRY_REGION_DIR, else the default guest socket), maps it, validates every header
 * field once (the host is not trusted) and claims a lane. The Java twins: HostAddress, HostConnect, Ferry.connect,
 * HandoverDescriptor, Region/RegionHeader, PciRegions and LaneClaims; docs/protocol.md §1, §3.1 and §8. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "transport_internal.h"

#define DEFAULT_SOCKET "/run/ferry/guest.sock"
#define HANDOVER_MAGIC 0x59524546u
#define HANDOVER_VERSION 1
#define HANDOVER_REQUEST_SIZE 104
#define HANDOVER_NAME_OFFSET 8
#define HANDOVER_SECRET_OFFSET 72
#define HANDOVER_REPLY_SIZE 24
#define HANDOVER_MAX_MESSAGE 1024
#define SECRET_LENGTH 32
#define CONNECT_TIMEOUT_S 3
#define IVSHMEM_DOORBELL_REGISTER 12

/* Writes the message into err (when given) and returns status: every failure path's one line. */
int ferry_fail(char *err, size_t n, int status, const char *fmt, ...) {
    if (err != NULL && n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* out = a + b + c, cut to cap (paths and names in messages; no format string, so no truncation warnings) */
static void cat3(char *out, size_t cap, const char *a, const char *b, const char *c) {
    size_t at = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        for (const char *q = parts[i]; q != NULL && *q && at + 1 < cap; q++) {
            out[at++] = *q;
        }
    }
    if (cap > 0) out[at] = 0;
}

uint64_t ferry_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
}

void ferry_nap_ns(uint64_t ns) {
    struct timespec t = {(time_t) (ns / 1000000000u), (long) (ns % 1000000000u)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* ---- the host address ---- */

enum form { FORM_UNIX, FORM_FILE, FORM_PCI, FORM_STREAM };

typedef struct address {
    enum form form;
    char path[4096];            /* unix and file forms; pci: the device address or "" */
    const char *origin;         /* where it came from, for messages */
} address;

static int parse_address(const char *text, const char *origin, address *a, char *err, size_t n) {
    const char *forms = "give unix:PATH (the host's guest socket), file:PATH (a region file or the host's region "
                        "directory), pci:ADDRESS (an ivshmem device inside a VM), a path, or a host on another "
                        "machine: ferry+tls://HOST:PORT/GUEST (or ferry+tcp:, ferry+vsock:, ferry+uds:)";
    while (isspace((unsigned char) *text)) {
        text++;
    }
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char) text[len - 1])) {
        len--;
    }
    char t[4096];
    if (len == 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "%s '' is not a Ferry host address (it is empty): %s",
                    origin, forms);
    }
    if (len >= sizeof t) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "%s is not a Ferry host address (longer than %zu bytes)",
                    origin, sizeof t - 1);
    }
    memcpy(t, text, len);
    t[len] = 0;
    a->origin = origin;
    if (ferry_url_is_stream(t)) {      /* checked by transport_stream.c */
        a->form = FORM_STREAM;
        snprintf(a->path, sizeof a->path, "%s", t);
        return 0;
    }
    size_t colon = strcspn(t, ":");
    int scheme = colon > 0 && t[colon] == ':' && isalpha((unsigned char) t[0]);
    for (size_t i = 1; scheme && i < colon; i++) {
        char ch = t[i];
        scheme = isalnum((unsigned char) ch) || ch == '+' || ch == '.' || ch == '-';
    }
    if (!scheme) {
        struct stat st;
        int region = stat(t, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode));
        a->form = region ? FORM_FILE : FORM_UNIX;
        snprintf(a->path, sizeof a->path, "%s", t);
        return 0;
    }
    char name[16] = {0};
    for (size_t i = 0; i < colon && i < sizeof name - 1; i++) {
        name[i] = (char) tolower((unsigned char) t[i]);
    }
    const char *rest = t + colon + 1;
    if (strcmp(name, "pci") != 0 && strncmp(rest, "//", 2) == 0) {
        rest += 2;
    }
    while (isspace((unsigned char) *rest)) {
        rest++;
    }
    if (strcmp(name, "pci") == 0) {
        a->form = FORM_PCI;
        snprintf(a->path, sizeof a->path, "%s", rest);
        return 0;
    }
    if (strcmp(name, "unix") != 0 && strcmp(name, "file") != 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT,
                    "%s '%s' is not a Ferry host address ('%s:' is not one of its forms): %s", origin, t, name, forms);
    }
    if (*rest == 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "%s '%s' is not a Ferry host address (it names no path): %s",
                    origin, t, forms);
    }
    a->form = strcmp(name, "unix") == 0 ? FORM_UNIX : FORM_FILE;
    snprintf(a->path, sizeof a->path, "%s", rest);
    return 0;
}

static int address_from_environment(address *a, char *err, size_t n) {
    const char *host = getenv("FERRY_HOST");
    const char *url = getenv("FERRY_URL");     /* issue 16's name for the same setting: an alias of FERRY_HOST */
    int have_host = host != NULL && host[strspn(host, " \t\n")] != 0;
    int have_url = url != NULL && url[strspn(url, " \t\n")] != 0;
    if (have_host && have_url && strcmp(host, url) != 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "FERRY_HOST '%.300s' and FERRY_URL '%.300s' differ: they "
                    "name the same setting (FERRY_URL is an alias); set one of them", host, url);
    }
    if (have_url && !have_host) {
        return parse_address(url, "FERRY_URL", a, err, n);
    }
    if (have_host) {
        return parse_address(host, "FERRY_HOST", a, err, n);
    }
    const char *socket_path = getenv("FERRY_SOCKET");
    if (socket_path != NULL && socket_path[strspn(socket_path, " \t\n")] != 0) {
        a->form = FORM_UNIX;
        a->origin = "FERRY_SOCKET (deprecated: use FERRY_HOST=unix:PATH)";
        snprintf(a->path, sizeof a->path, "%s", socket_path + strspn(socket_path, " \t\n"));
        return 0;
    }
    const char *dir = getenv("FERRY_REGION_DIR");
    if (dir != NULL && dir[strspn(dir, " \t\n")] != 0) {
        a->form = FORM_FILE;
        a->origin = "FERRY_REGION_DIR (deprecated: use FERRY_HOST=file:DIR)";
        snprintf(a->path, sizeof a->path, "%s", dir + strspn(dir, " \t\n"));
        return 0;
    }
    a->form = FORM_UNIX;
    a->origin = "the default";
    snprintf(a->path, sizeof a->path, "%s", DEFAULT_SOCKET);
    return 0;
}

static const char *form_name(enum form f) {
    return f == FORM_UNIX ? "unix" : f == FORM_FILE ? "file" : f == FORM_PCI ? "pci" : "stream";
}

/* ---- the secret ---- */

static int b64_value(int ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

/* Decodes base64 text (whitespace around it ignored, padding optional); returns the byte count or -1. */
static long b64_decode(const char *text, size_t length, uint8_t *out, size_t out_cap) {
    size_t start = 0;
    while (start < length && isspace((unsigned char) text[start])) start++;
    while (length > start && isspace((unsigned char) text[length - 1])) length--;
    while (length > start && text[length - 1] == '=') length--;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = start; i < length; i++) {
        int v = b64_value((unsigned char) text[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out_cap) {
                return -1;
            }
            out[o++] = (uint8_t) (acc >> bits);
        }
    }
    return bits >= 6 ? -1 : (long) o;
}

int ferry_secret_from_environment(const char *guest, uint8_t secret[SECRET_LENGTH], char *err, size_t n) {
    const char *text = getenv("FERRY_SECRET");
    const char *file = getenv("FERRY_SECRET_FILE");
    uint8_t buf[256];
    long got;
    const char *where;
    char where_buf[4200];
    if (text != NULL && text[strspn(text, " \t\n")] != 0) {
        where = "FERRY_SECRET";
        got = b64_decode(text, strlen(text), buf, sizeof buf);
    } else if (file != NULL && file[strspn(file, " \t\n")] != 0) {
        snprintf(where_buf, sizeof where_buf, "FERRY_SECRET_FILE %s", file);
        where = where_buf;
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "cannot read FERRY_SECRET_FILE %s: %s; point it at the "
                        "file that holds guest '%s''s secret", file, strerror(errno), guest);
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "FERRY_SECRET_FILE %s is not a regular file", file);
        }
        if ((st.st_mode & 077) != 0) {
            close(fd);
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "FERRY_SECRET_FILE %s is readable by other users (mode "
                        "%03o): the secret proves the identity of guest '%s'; run chmod 600 %s", file,
                        (unsigned) (st.st_mode & 0777), guest, file);
        }
        char raw[512];
        ssize_t r = read(fd, raw, sizeof raw);
        close(fd);
        if (r < 0) {
            return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "cannot read FERRY_SECRET_FILE %s: %s", file,
                        strerror(errno));
        }
        if (r == SECRET_LENGTH) {               /* 32 bytes: the raw secret (its base64 text is 43 or 44) */
            memcpy(secret, raw, SECRET_LENGTH);
            memset(raw, 0, sizeof raw);
            return 0;
        }
        got = b64_decode(raw, (size_t) r, buf, sizeof buf);
    } else {
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "no secret for guest '%s': set FERRY_SECRET (base64) or "
                    "FERRY_SECRET_FILE (a file of mode 600); ./ferry guest add prints it", guest);
    }
    if (got < 0) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "the secret for guest '%s' in %s is not base64: use the "
                    "value ./ferry guest add printed", guest, where);
    }
    if (got != SECRET_LENGTH) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "the secret of guest '%s' in %s must be %d bytes, not %ld; "
                    "use the value ./ferry guest add printed", guest, where, SECRET_LENGTH, got);
    }
    memcpy(secret, buf, SECRET_LENGTH);
    return 0;
}

/* ---- mapping ---- */

static int map_fd(ferry_region *r, int fd, uint64_t size, const char *what, char *err, size_t n) {
    if (size < FERRY_REGION_HEADER_SIZE || size > (uint64_t) SIZE_MAX / 2) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s is not a Ferry region: %llu bytes (a header alone "
                    "needs %d); re-provision the guest", what, (unsigned long long) size, FERRY_REGION_HEADER_SIZE);
    }
    void *p = mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot map %s (%llu bytes): %s", what, (unsigned long long) size,
                    strerror(errno));
    }
    r->base = p;
    r->mapped = (size_t) size;
    return 0;
}

static int open_socket(ferry_region *r, const address *a, const char *guest, char *err, size_t n) {
    uint8_t secret[SECRET_LENGTH];
    int st = ferry_secret_from_environment(guest, secret, err, n);
    if (st != 0) {
        return st;
    }
    size_t name_len = strlen(guest);
    if (name_len == 0 || name_len >= 64) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "guest name '%s' must be 1 to 63 bytes (FERRY_GUEST)",
                    guest);
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(a->path) >= sizeof sa.sun_path) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "the guest socket path %s is longer than %zu bytes, the "
                    "most a Unix socket address holds; use a shorter path", a->path, sizeof sa.sun_path - 1);
    }
    strcpy(sa.sun_path, a->path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return ferry_fail(err, n, FERRY_STATUS_INTERNAL, "cannot make a Unix socket: %s", strerror(errno));
    }
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    uint8_t req[HANDOVER_REQUEST_SIZE] = {0};
    ferry_put32(req, HANDOVER_MAGIC);
    req[4] = HANDOVER_VERSION;
    memcpy(req + HANDOVER_NAME_OFFSET, guest, name_len);
    memcpy(req + HANDOVER_SECRET_OFFSET, secret, SECRET_LENGTH);
    memset(secret, 0, sizeof secret);
    int fd = -1;
    const char *io_error = NULL;
    int saved = 0;
    if (connect(s, (struct sockaddr *) &sa, sizeof sa) != 0) {
        io_error = "connect";
        saved = errno;
    } else {
        size_t sent = 0;
        while (sent < sizeof req) {
            ssize_t w = send(s, req + sent, sizeof req - sent, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { io_error = "send"; saved = w < 0 ? errno : EPIPE; break; }
            sent += (size_t) w;
        }
    }
    memset(req, 0, sizeof req);
    uint8_t head[HANDOVER_REPLY_SIZE];
    size_t got = 0;
    while (io_error == NULL && got < sizeof head) {
        union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int) * 4)]; } cm;
        struct iovec iov = {head + got, sizeof head - got};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.space,
                            .msg_controllen = sizeof cm.space};
        ssize_t rd = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
        if (rd < 0 && errno == EINTR) continue;
        if (rd <= 0) { io_error = "receive"; saved = rd < 0 ? errno : ECONNRESET; break; }
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h != NULL; h = CMSG_NXTHDR(&mh, h)) {
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
                size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                    int f;
                    memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof f);
                    if (fd < 0) fd = f; else close(f);  /* one descriptor is expected: the rest is not ours */
                }
            }
        }
        got += (size_t) rd;
    }
    char message[HANDOVER_MAX_MESSAGE + 1] = {0};
    uint32_t magic = 0, msg_len = 0, status = 0, version = 0;
    uint64_t size = 0;
    if (io_error == NULL) {
        magic = ferry_get32(head);
        version = (uint32_t) head[4] | (uint32_t) head[5] << 8;
        status = (uint32_t) head[6] | (uint32_t) head[7] << 8;
        size = ferry_get64(head + 8);
        msg_len = ferry_get32(head + 16);
        if (magic == HANDOVER_MAGIC && version == HANDOVER_VERSION && msg_len <= HANDOVER_MAX_MESSAGE) {
            size_t m = 0;
            while (m < msg_len) {
                ssize_t rd = recv(s, message + m, msg_len - m, 0);
                if (rd < 0 && errno == EINTR) continue;
                if (rd <= 0) break;     /* a short message: keep what came */
                m += (size_t) rd;
            }
            message[m] = 0;
            for (size_t i = 0; i < m; i++) {
                if ((unsigned char) message[i] < 0x20 && message[i] != '\n') message[i] = ' ';
            }
        }
    }
    close(s);
    if (io_error != NULL) {
        if (fd >= 0) close(fd);
        return ferry_fail(err, n, FERRY_STATUS_HOST_UNAVAILABLE, "cannot get the region of guest '%s' from the guest socket "
                    "%s: %s: %s; is the host running (./ferry host) with this 'socket:'? [host unix:%s from %s; "
                    "FERRY_HOST takes unix:SOCKET, file:REGION or pci:ADDRESS]", guest, a->path, io_error,
                    strerror(saved), a->path, a->origin);
    }
    if (magic != HANDOVER_MAGIC || version != HANDOVER_VERSION) {
        if (fd >= 0) close(fd);
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the host at %s refused guest '%s': the socket did not "
                    "answer as a Ferry host (magic 0x%x, version %u); check FERRY_HOST", a->path, guest, magic,
                    version);
    }
    if (msg_len > HANDOVER_MAX_MESSAGE) {
        if (fd >= 0) close(fd);
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the host at %s refused guest '%s': reply message length "
                    "%u is over %d", a->path, guest, msg_len, HANDOVER_MAX_MESSAGE);
    }
    if (status != FERRY_STATUS_OK || fd < 0) {
        if (fd >= 0) close(fd);
        int code = status == FERRY_STATUS_OK || status > FERRY_LAST_STATUS ? FERRY_STATUS_PROTOCOL_VIOLATION
                   : (int) status;
        return ferry_fail(err, n, code, "the host at %s refused guest '%s': %s", a->path, guest,
                    status == FERRY_STATUS_OK ? "no region descriptor came" : message);
    }
    /* The memfd must be sealed against shrinking (else a host could truncate it under us: SIGBUS) and hold the
     * size the reply names. */
    struct stat fst;
    int seals = fcntl(fd, F_GET_SEALS);
    if (fstat(fd, &fst) != 0 || (uint64_t) fst.st_size < size) {
        close(fd);
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the host at %s sent a region of %lld bytes for guest "
                    "'%s' but named %llu; restart the host", a->path, (long long) fst.st_size, guest,
                    (unsigned long long) size);
    }
    if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
        close(fd);
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "the host at %s sent a region for guest '%s' that is not "
                    "sealed against shrinking (seals %d); a host of another version? use matching versions",
                    a->path, guest, seals);
    }
    cat3(r->where, sizeof r->where, "the region from unix:", a->path, "");
    st = map_fd(r, fd, size, r->where, err, n);
    close(fd);
    return st;
}

static int open_file(ferry_region *r, const address *a, const char *guest, char *err, size_t n) {
    char path[4200];
    struct stat st;
    if (stat(a->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (guest == NULL) {
            return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "FERRY_GUEST is not set: the region directory %s holds "
                        "one GUEST.region per guest; set FERRY_GUEST to this guest's name [host file:%s from %s]",
                        a->path, a->path, a->origin);
        }
        snprintf(path, sizeof path, "%s/%s.region", a->path, guest);
    } else {
        snprintf(path, sizeof path, "%s", a->path);
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) {
            return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "no region for guest '%s' at %s: a host makes "
                        "REGIONDIR/%s.region for a guest with 'region: file' in its config (is the host running, "
                        "with this region directory?) [host file:%s from %s]", guest ? guest : "?", path,
                        guest ? guest : "GUEST", a->path, a->origin);
        }
        return ferry_fail(err, n, e == EACCES ? FERRY_STATUS_NOT_CONFIGURED : FERRY_STATUS_INTERNAL, "cannot open region "
                    "file %s: %s%s", path, strerror(e), e == EACCES ? " (the host makes it mode 0600: run as the "
                    "guest's user)" : "");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "%s is not a region file (not a regular file)", path);
    }
    cat3(r->where, sizeof r->where, path, "", "");
    int s = map_fd(r, fd, (uint64_t) st.st_size, path, err, n);
    close(fd);
    return s;
}

/* ---- inside a VM: the ivshmem PCI device ---- */

static const char *pci_root(void) {
    const char *t = getenv("FERRY_SYSFS_PCI");      /* tests point this at a fake tree */
    return t != NULL && *t ? t : "/sys/bus/pci/devices";
}

static int read_small(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r = read(fd, buf, cap - 1);
    close(fd);
    if (r < 0) return -1;
    buf[r] = 0;
    while (r > 0 && isspace((unsigned char) buf[r - 1])) buf[--r] = 0;
    return 0;
}

static int is_ivshmem(const char *dev) {
    char p[4400], v[32], d[32];
    cat3(p, sizeof p, dev, "/vendor", "");
    if (read_small(p, v, sizeof v) != 0) return 0;
    cat3(p, sizeof p, dev, "/device", "");
    if (read_small(p, d, sizeof d) != 0) return 0;
    return strcasecmp(v, "0x1af4") == 0 && strcasecmp(d, "0x1110") == 0;
}

/* Enables the device when needed, then reads BAR2's magic and guest name (name: "" when not a Ferry region). */
static int pci_inspect(const char *dev, const char *address_text, char *name, size_t name_cap, char *err, size_t n) {
    char p[4400], v[16];
    cat3(p, sizeof p, dev, "/enable", "");
    if (read_small(p, v, sizeof v) == 0 && strcmp(v, "1") != 0) {
        int fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "1", 1) != 1) {
            int e = errno;
            if (fd >= 0) close(fd);
            return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "cannot enable ivshmem device %s (%s): %s (enabling a "
                        "PCI device needs root: run as root, or enable it at boot with `echo 1 > %s` and give this "
                        "user %s/resource2 by a udev rule)", address_text, p, strerror(e), p, dev);
        }
        close(fd);
    }
    name[0] = 0;
    cat3(p, sizeof p, dev, "/resource2", "");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "cannot map %s of ivshmem device %s: %s (mapping a PCI BAR "
                    "needs root, or a udev rule that gives this user the file)", p, address_text, strerror(e));
    }
    if (st.st_size < FERRY_REGION_HEADER_SIZE) {
        close(fd);
        return 0;
    }
    uint8_t *h = mmap(NULL, FERRY_REGION_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (h == MAP_FAILED) {
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "cannot map %s of ivshmem device %s: %s (mapping a PCI BAR "
                    "needs root, or a udev rule that gives this user the file)", p, address_text, strerror(e));
    }
    if (ferry_get64(h + FERRY_HDR_MAGIC_OFFSET) == FERRY_REGION_MAGIC) {
        size_t k = 0;
        while (k < FERRY_HDR_GUEST_NAME_LENGTH && k + 1 < name_cap && h[FERRY_HDR_GUEST_NAME_OFFSET + k] != 0) {
            name[k] = (char) h[FERRY_HDR_GUEST_NAME_OFFSET + k];
            k++;
        }
        name[k] = 0;
        if (k == 0) snprintf(name, name_cap, "%s", "?");
    }
    munmap(h, FERRY_REGION_HEADER_SIZE);
    return 0;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(a, b);
}

static int open_pci(ferry_region *r, const address *a, const char *guest, char *err, size_t n) {
    const char *root = pci_root();
    char chosen[4400] = {0}, found[1024] = {0};
    char want[64] = {0};
    if (a->path[0] != 0) {
        cat3(want, sizeof want, a->path, "", "");
        for (char *q = want; *q; q++) *q = (char) tolower((unsigned char) *q);
        if (strlen(want) == 7 && want[2] == ':' && want[5] == '.') {    /* 00:04.0: domain 0 */
            char full[64];
            cat3(full, sizeof full, "0000:", want, "");
            cat3(want, sizeof want, full, "", "");
        }
    }
    DIR *d = opendir(root);
    if (d == NULL) {
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "cannot list PCI devices in %s: %s; pci: works inside a VM "
                    "with an ivshmem device (docs/vm.md)", root, strerror(errno));
    }
    struct dirent *e;
    char names[256][64];
    int count = 0;
    while ((e = readdir(d)) != NULL && count < 256) {
        if (e->d_name[0] != '.' && strlen(e->d_name) < 64) {
            cat3(names[count++], 64, e->d_name, "", "");
        }
    }
    closedir(d);
    qsort(names, (size_t) count, sizeof names[0], name_cmp);
    int matches = 0, st = 0;
    for (int i = 0; i < count; i++) {
        char dev[4400];
        cat3(dev, sizeof dev, root, "/", names[i]);
        int wanted = want[0] != 0 && strcmp(names[i], want) == 0;
        if (want[0] != 0 && !wanted) {
            if (is_ivshmem(dev)) {      /* named in the message only: not enabled, not mapped */
                size_t fl = strlen(found);
                cat3(found + fl, sizeof found - fl, fl ? ", " : "", names[i], "");
            }
            continue;
        }
        if (!is_ivshmem(dev)) {
            if (wanted) {
                return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "PCI device %s is not an ivshmem device "
                            "(vendor:device 0x1af4:0x1110) [host pci:%s from %s]", want, a->path, a->origin);
            }
            continue;
        }
        char name[80];
        st = pci_inspect(dev, names[i], name, sizeof name, err, n);
        if (st != 0) {
            return st;
        }
        size_t fl = strlen(found);
        cat3(found + fl, sizeof found - fl, fl ? ", " : "", names[i], name[0] ? " (" : " (not a Ferry region");
        fl = strlen(found);
        cat3(found + fl, sizeof found - fl, name, ")", "");
        if (wanted || (name[0] != 0 && (guest == NULL || strcmp(name, guest) == 0))) {
            if (matches++ == 0) snprintf(chosen, sizeof chosen, "%s", dev);
        }
    }
    if (matches == 0) {
        if (want[0] != 0) {
            return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "no PCI device %s in %s; ivshmem devices here: %s (give "
                        "the VM an ivshmem device backed by the guest's region, see docs/vm.md)", want, root,
                        found[0] ? found : "none");
        }
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "no ivshmem device holds a Ferry region%s%s%s; ivshmem "
                    "devices here: %s (is the host running? give the VM an ivshmem device backed by the guest's "
                    "region, see docs/vm.md)", guest ? " of guest '" : "", guest ? guest : "", guest ? "'" : "",
                    found[0] ? found : "none");
    }
    if (matches > 1) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "several ivshmem devices hold a Ferry region%s%s%s: %s; "
                    "name one by its PCI address (FERRY_HOST=pci:ADDRESS)", guest ? " of guest '" : "",
                    guest ? guest : "", guest ? "'" : "", found);
    }
    char p[4500];
    snprintf(p, sizeof p, "%s/resource2", chosen);
    int fd = open(p, O_RDWR | O_CLOEXEC);
    struct stat fst;
    if (fd < 0 || fstat(fd, &fst) != 0) {
        int er = errno;
        if (fd >= 0) close(fd);
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "cannot open %s: %s (mapping a PCI BAR needs root, or a "
                    "udev rule that gives this user the file)", p, strerror(er));
    }
    cat3(r->where, sizeof r->where, p, "", "");
    st = map_fd(r, fd, (uint64_t) fst.st_size, p, err, n);
    close(fd);
    if (st != 0) {
        return st;
    }
    r->naps = 1;
    /* BAR0: the ivshmem registers; DOORBELL wakes the host's endpoint (ivshmem-doorbell). Without it: the host
     * wakes on its own timeouts. */
    snprintf(p, sizeof p, "%s/resource0", chosen);
    fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &fst) == 0 && fst.st_size >= 16) {
        size_t len = fst.st_size < 4096 ? (size_t) fst.st_size : 4096;
        void *bar0 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (bar0 != MAP_FAILED) {
            r->bar0 = bar0;
            r->bar0_mapped = len;
        }
    }
    if (fd >= 0) close(fd);
    return 0;
}

/* ---- the header ---- */

typedef struct section {
    const char *name;
    int lane;
    uint64_t offset, size;
} section;

static int section_cmp(const void *a, const void *b) {
    const section *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static uint64_t ring_section_size(uint64_t capacity) {
    return (FERRY_RING_CONTROL_SIZE + capacity + FERRY_REGION_SECTION_ALIGNMENT - 1)
           & ~(uint64_t) (FERRY_REGION_SECTION_ALIGNMENT - 1);
}

static int valid_guest_name(const char *s) {
    size_t len = strlen(s);
    if (len == 0 || len > FERRY_HDR_GUEST_NAME_MAX_LENGTH || !isalnum((unsigned char) s[0])) return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char ch = (unsigned char) s[i];
        if (!(isalnum(ch) || ch == '_' || ch == '.' || ch == '-')) return 0;
    }
    return 1;
}

int ferry_region_check(ferry_region *r, char *err, size_t n) {
    const uint8_t *b = r->base;
    const char *what = r->where;
    uint64_t magic = ferry_load64(b + FERRY_HDR_MAGIC_OFFSET);
    if (magic != FERRY_REGION_MAGIC) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s is not a Ferry region: bad magic 0x%llx (expected "
                    "0x%llx); it was not provisioned by ferry or was overwritten", what, (unsigned long long) magic,
                    (unsigned long long) FERRY_REGION_MAGIC);
    }
    uint32_t version = ferry_get32(b + FERRY_HDR_LAYOUT_VERSION_OFFSET);
    if (version != FERRY_REGION_LAYOUT_VERSION) {
        return ferry_fail(err, n, FERRY_STATUS_VERSION_MISMATCH, "%s has layout version %u, this library speaks %d; use a "
                    "guest library of the host's version", what, version, FERRY_REGION_LAYOUT_VERSION);
    }
    uint32_t header_size = ferry_get32(b + FERRY_HDR_HEADER_SIZE_OFFSET);
    uint64_t size = ferry_get64(b + FERRY_HDR_REGION_SIZE_OFFSET);
    uint32_t lanes = ferry_get32(b + FERRY_HDR_LANE_COUNT_OFFSET);
    if (header_size != FERRY_REGION_HEADER_SIZE) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has header size %u, expected %d", what, header_size,
                    FERRY_REGION_HEADER_SIZE);
    }
    if (size < FERRY_REGION_HEADER_SIZE || size > r->mapped) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s claims region size %llu but %zu bytes are mapped; "
                    "the file is truncated or the header is corrupt", what, (unsigned long long) size, r->mapped);
    }
    if (size % FERRY_REGION_SECTION_ALIGNMENT != 0) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has region size %llu, not a multiple of %d", what,
                    (unsigned long long) size, FERRY_REGION_SECTION_ALIGNMENT);
    }
    if (lanes < 1 || lanes > FERRY_REGION_MAX_LANES) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has lane count %u, expected 1 to %d", what, lanes,
                    FERRY_REGION_MAX_LANES);
    }
    section s[1 + 3 * FERRY_REGION_MAX_LANES];
    int count = 0;
    s[count++] = (section) {"header", -1, 0, FERRY_REGION_HEADER_SIZE};
    for (uint32_t i = 0; i < lanes; i++) {
        const uint8_t *at = b + FERRY_LANE_SECTIONS_OFFSET(i);
        uint64_t f[6];
        for (int k = 0; k < 6; k++) {
            f[k] = ferry_get64(at + 8 * k);
        }
        uint64_t caps[2] = {f[1], f[3]};
        for (int k = 0; k < 2; k++) {
            uint64_t cap = caps[k];
            if (cap < FERRY_REGION_MIN_RING_CAPACITY || cap > FERRY_REGION_MAX_RING_CAPACITY || (cap & (cap - 1))) {
                return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has lane %u's %s ring capacity %llu, expected "
                            "a power of two between %d and %d", what, i, k ? "completion" : "command",
                            (unsigned long long) cap, FERRY_REGION_MIN_RING_CAPACITY, FERRY_REGION_MAX_RING_CAPACITY);
            }
        }
        if (f[5] < FERRY_REGION_MIN_HEAP_SIZE || f[5] % FERRY_REGION_SECTION_ALIGNMENT != 0) {
            return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has lane %u's heap size %llu, expected at least "
                        "%llu and a multiple of %d", what, i, (unsigned long long) f[5],
                        (unsigned long long) FERRY_REGION_MIN_HEAP_SIZE, FERRY_REGION_SECTION_ALIGNMENT);
        }
        section lane_sections[3] = {{"command ring", (int) i, f[0], ring_section_size(f[1])},
                                    {"completion ring", (int) i, f[2], ring_section_size(f[3])},
                                    {"heap", (int) i, f[4], f[5]}};
        for (int k = 0; k < 3; k++) {
            section x = lane_sections[k];
            if (x.offset % FERRY_REGION_SECTION_ALIGNMENT != 0 || x.offset > size || x.size > size - x.offset) {
                return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has lane %u's %s section [%llu, +%llu) "
                            "outside the region of %llu bytes or not %d-aligned", what, i, x.name,
                            (unsigned long long) x.offset, (unsigned long long) x.size, (unsigned long long) size,
                            FERRY_REGION_SECTION_ALIGNMENT);
            }
            s[count++] = x;
        }
    }
    qsort(s, (size_t) count, sizeof s[0], section_cmp);
    for (int i = 1; i < count; i++) {
        if (s[i - 1].offset + s[i - 1].size > s[i].offset) {
            return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has overlapping sections: lane %d's %s [%llu, "
                        "%llu) overlaps lane %d's %s at %llu", what, s[i - 1].lane, s[i - 1].name,
                        (unsigned long long) s[i - 1].offset, (unsigned long long) (s[i - 1].offset + s[i - 1].size),
                        s[i].lane, s[i].name, (unsigned long long) s[i].offset);
        }
    }
    char name[FERRY_HDR_GUEST_NAME_LENGTH + 1];
    memcpy(name, b + FERRY_HDR_GUEST_NAME_OFFSET, FERRY_HDR_GUEST_NAME_LENGTH);
    name[FERRY_HDR_GUEST_NAME_LENGTH] = 0;
    if (memchr(name, 0, FERRY_HDR_GUEST_NAME_LENGTH) == NULL) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has a guest name that is not NUL terminated within "
                    "%d bytes", what, FERRY_HDR_GUEST_NAME_LENGTH);
    }
    if (!valid_guest_name(name)) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s has an invalid guest name '%.63s'", what, name);
    }
    memcpy(r->guest, name, sizeof r->guest);
    memcpy(r->credential, b + FERRY_HDR_CREDENTIAL_OFFSET, FERRY_HDR_CREDENTIAL_LENGTH);
    r->size = size;
    r->lanes = lanes;
    return 0;
}

/* Points r at lane i's sections (validated by ferry_region_check; read again from our snapshot would be nicer,
 * but the values are checked once more here, so a header changed since cannot send us outside the mapping). */
int ferry_region_use_lane(ferry_region *r, uint32_t i, char *err, size_t n) {
    const uint8_t *at = r->base + FERRY_LANE_SECTIONS_OFFSET(i);
    uint64_t f[6];
    for (int k = 0; k < 6; k++) {
        f[k] = ferry_get64(at + 8 * k);
    }
    uint64_t size = r->size;
    int ok = f[1] >= FERRY_REGION_MIN_RING_CAPACITY && f[1] <= FERRY_REGION_MAX_RING_CAPACITY && !(f[1] & (f[1] - 1))
             && f[3] >= FERRY_REGION_MIN_RING_CAPACITY && f[3] <= FERRY_REGION_MAX_RING_CAPACITY
             && !(f[3] & (f[3] - 1)) && f[5] >= FERRY_REGION_MIN_HEAP_SIZE
             && f[0] <= size && ring_section_size(f[1]) <= size - f[0]
             && f[2] <= size && ring_section_size(f[3]) <= size - f[2]
             && f[4] <= size && f[5] <= size - f[4]
             && f[0] % FERRY_REGION_SECTION_ALIGNMENT == 0 && f[2] % FERRY_REGION_SECTION_ALIGNMENT == 0
             && f[4] % FERRY_REGION_SECTION_ALIGNMENT == 0;
    if (!ok) {
        return ferry_fail(err, n, FERRY_STATUS_PROTOCOL_VIOLATION, "%s: lane %u's sections changed while connecting; the "
                    "host rewrote the header, restart it", r->where, i);
    }
    r->lane = (int) i;
    r->words = r->base + FERRY_LANE_WORDS_OFFSET(i);
    r->cmd = (ferry_ring) {r->base + f[0], f[1], f[1] / 2};
    r->cpl = (ferry_ring) {r->base + f[2], f[3], f[3] / 2};
    r->heap = r->base + f[4];
    r->heap_size = f[5];
    return 0;
}

static int claim_lane(ferry_region *r, pid_t pid, char *err, size_t n) {
    char holders[512] = {0};
    for (uint32_t i = 0; i < r->lanes; i++) {
        uint64_t *word = (uint64_t *) (void *) (r->base + FERRY_LANE_WORDS_OFFSET(i) + FERRY_LANE_CLAIM_WORD_OFFSET);
        uint64_t expected = 0;
        if (__atomic_compare_exchange_n(word, &expected, (uint64_t) pid, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            int st = ferry_region_use_lane(r, i, err, n);
            if (st != 0) {
                uint64_t mine = (uint64_t) pid;
                __atomic_compare_exchange_n(word, &mine, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            }
            return st;
        }
        size_t l = strlen(holders);
        snprintf(holders + l, sizeof holders - l, "%s%llu", i ? ", " : "", (unsigned long long) expected);
    }
    return ferry_fail(err, n, FERRY_STATUS_QUOTA_EXCEEDED, "all %u lane(s) of guest '%s' are busy (held by pids %s): each "
                "process (each Ferry connection) of a guest takes a lane of its own; close a connection (a process "
                "that died frees its lane within seconds), or raise lanes: in the host config (this guest has %u)",
                r->lanes, r->guest, holders, r->lanes);
}

/* How long a connect waits for a lane while every lane of the guest is held: FERRY_LANE_WAIT seconds (default 2; 0:
 * not at all). That covers a process that has just ended (the host frees its lane within milliseconds of its end)
 * and short jobs run side by side; a lane held by a process that goes on running is free only when it ends. */
static int lane_wait_ns(uint64_t *ns, char *err, size_t n) {
    const char *t = getenv("FERRY_LANE_WAIT");
    *ns = 2000000000ull;
    if (t == NULL || *t == 0) {
        return 0;
    }
    char *end;
    double s = strtod(t, &end);
    if (*end != 0 || !(s >= 0 && s <= 86400)) {
        return ferry_fail(err, n, FERRY_STATUS_INVALID_ARGUMENT, "FERRY_LANE_WAIT=%.64s is not a number of seconds "
                          "from 0 to 86400 (how long a connect waits while every lane is held)", t);
    }
    *ns = (uint64_t) (s * 1e9);
    return 0;
}

/* claim_lane, and while every lane is held, again after naps of 1 ms growing to 50 ms, for lane_wait_ns(). */
static int claim_lane_waiting(ferry_region *r, pid_t pid, char *err, size_t n) {
    uint64_t limit;
    int st = lane_wait_ns(&limit, err, n);
    if (st == 0) {
        st = claim_lane(r, pid, err, n);
    }
    if (st != FERRY_STATUS_QUOTA_EXCEEDED || limit == 0) {
        return st;
    }
    ferry_log("%s; waiting up to %.1f s for a lane to be freed (FERRY_LANE_WAIT)", err, limit / 1e9);
    uint64_t start = ferry_now_ns();
    for (uint64_t nap = 1000000; st == FERRY_STATUS_QUOTA_EXCEEDED && ferry_now_ns() - start < limit;
         nap = nap < 50000000 ? 2 * nap : nap) {
        ferry_nap_ns(nap);
        st = claim_lane(r, pid, err, n);
    }
    if (st == FERRY_STATUS_QUOTA_EXCEEDED) {
        size_t l = strlen(err);
        snprintf(err + l, n - l, "; waited %.1f s for one (FERRY_LANE_WAIT=SECONDS waits longer)", limit / 1e9);
    }
    return st;
}

void ferry_wake_host(ferry_region *r) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint8_t *sec = r->cmd.sec;
    if (ferry_load32(sec + FERRY_RING_CONSUMER_WAITING_OFFSET) != 0) {
        __atomic_fetch_add((uint32_t *) (void *) (sec + FERRY_RING_DOORBELL_OFFSET), 1, __ATOMIC_SEQ_CST);
        if (!r->naps) {
            syscall(SYS_futex, (uint32_t *) (void *) (sec + FERRY_RING_DOORBELL_OFFSET), FUTEX_WAKE, 1, NULL, NULL, 0);
        }
        if (r->bar0 != NULL && r->lane == 0) {
            /* host peer 0, vector 0: signals the host's eventfd (docs/protocol.md §1.2) */
            __atomic_store_n(&r->bar0[IVSHMEM_DOORBELL_REGISTER / 4], (uint32_t) (0 << 16 | 0), __ATOMIC_SEQ_CST);
        }
    }
}

int ferry_region_open(ferry_region *r, pid_t pid, char *err, size_t n) {
    memset(r, 0, sizeof *r);
    r->lane = -1;
    address a;
    int st = address_from_environment(&a, err, n);
    if (st != 0) {
        return st;
    }
    const char *guest = getenv("FERRY_GUEST");
    if (guest != NULL && *guest == 0) {
        guest = NULL;
    }
    if (guest == NULL && (a.form == FORM_UNIX)) {
        return ferry_fail(err, n, FERRY_STATUS_NOT_CONFIGURED, "FERRY_GUEST is not set: set it to the guest's name (the "
                    "NAME of ./ferry guest add NAME), with FERRY_SECRET or FERRY_SECRET_FILE [host %s:%s from %s]",
                    form_name(a.form), a.path, a.origin);
    }
    if (a.form == FORM_STREAM) {
        /* the host's proxy claimed the lane; the mirror is checked and the pump running when this returns */
        return ferry_stream_open(r, a.path, a.origin, guest, pid, err, n);
    }
    st = a.form == FORM_UNIX ? open_socket(r, &a, guest, err, n)
         : a.form == FORM_FILE ? open_file(r, &a, guest, err, n)
         : open_pci(r, &a, guest, err, n);
    if (st == 0) {
        st = ferry_region_check(r, err, n);
    }
    if (st == 0) {
        st = claim_lane_waiting(r, pid, err, n);
    }
    if (st != 0) {
        ferry_region_close(r);
    }
    return st;
}

void ferry_region_close(ferry_region *r) {
    if (r->stream != NULL) {
        ferry_stream_close(r->stream);      /* before the mirror goes: the threads use it */
        r->stream = NULL;
    }
    if (r->base != NULL) {
        munmap(r->base, r->mapped);
        r->base = NULL;
    }
    if (r->bar0 != NULL) {
        munmap((void *) r->bar0, r->bar0_mapped);
        r->bar0 = NULL;
    }
}
