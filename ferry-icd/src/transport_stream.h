/* transport_stream.h: the stream transport's pieces that transport_connect.c, transport.c and the unit tests use
 * (docs/opencl-icd.md, "A host on another machine"; the design: one lane of the guest's region mirrored over a byte
 * stream). Not for the OpenCL files. */
#ifndef FERRY_TRANSPORT_STREAM_H
#define FERRY_TRANSPORT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ferry_wire.h"     /* FERRY_STREAM_x: the frames; FERRY_HEAP_RANGES: the ops naming heap ranges */

/* ---- addresses: ferry+tls://HOST:PORT/GUEST, ferry+tcp://127.0.0.1:PORT/GUEST, ferry+vsock://CID:PORT/GUEST,
 * ferry+uds:///PATH/GUEST (the host side of Firecracker's vsock: the Unix socket uds_path_PORT) ---- */
enum { FERRY_URL_TLS = 1, FERRY_URL_TCP, FERRY_URL_VSOCK, FERRY_URL_UDS };

typedef struct ferry_url {
    int kind;
    char host[256];             /* tls, tcp: a DNS name or an IP address (IPv6 without brackets) */
    uint32_t port;              /* tls, tcp, vsock */
    uint32_t cid;               /* vsock */
    char path[108];             /* uds: the Unix socket */
    char guest[64];
} ferry_url;

/* 1 when text starts with a stream scheme (ferry+...), else 0. */
int ferry_url_is_stream(const char *text);
/* Parses a stream address; 0, or a status with what was wrong in err. */
int ferry_url_parse(const char *text, ferry_url *u, char *err, size_t n);

/* ---- which heap bytes a call record reads (io.ferry.protocol.HeapTraffic's IN ranges) ---- */

/* TEE registered shared memory the records named so far (TEE_SHM_REGISTER adds, TEE_SHM_RELEASE removes). */
typedef struct ferry_shm_entry {
    uint64_t handle, offset, size, flags;
} ferry_shm_entry;

typedef struct ferry_shm_table {
    ferry_shm_entry *e;
    size_t count, cap;
} ferry_shm_table;

typedef struct ferry_heap_range {
    uint64_t offset, length;
} ferry_heap_range;

#define FERRY_MAX_IN_RANGES 6

/* The heap ranges the host's copy must hold before record rec (length bytes, framing checked) runs: what the call
 * reads (HeapTraffic's IN ranges), and where the host writes only part of a range it sends back whole (a rectangle
 * or image read: the bytes between rows; a TEE memref of any direction), and a TEE call's cancel word. At most
 * FERRY_MAX_IN_RANGES, in out; returns their count. Ranges outside [0, heap_size) are left out (the host answers
 * such a call HEAP_RANGE itself). */
int ferry_stream_in_ranges(const uint8_t *rec, uint32_t length, const ferry_shm_table *shm, uint64_t heap_size,
                           ferry_heap_range *out);
/* Notes TEE_SHM_REGISTER / TEE_SHM_RELEASE records in the table; returns -1 when out of memory. */
int ferry_shm_note(ferry_shm_table *t, const uint8_t *rec, uint32_t length);
void ferry_shm_free(ferry_shm_table *t);

/* ---- frames from the host, checked before use ---- */

/* Checks a frame header from the host after OPENED; NULL when fine, else the reason (static text). */
const char *ferry_stream_check_header(uint32_t length, uint32_t type, uint32_t flags);

#endif
