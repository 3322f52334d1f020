/* transport.h: the guest side of one Ferry session, in C. One connection per process (a lane of the guest's
 * region), shared by every thread. Everything the host writes is read once and checked before use: the host is
 * not trusted to be bug-free (docs/protocol.md; the Java twin is ferry-client's Channel, Heap and HostConnect). */
#ifndef FERRY_TRANSPORT_H
#define FERRY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "ferry_wire.h"

typedef struct ferry_conn ferry_conn;

/* A piece of a call's blob: calls with a wait list send {wait list, payload}. */
typedef struct ferry_iov {
    const void *data;
    size_t length;
} ferry_iov;

/* A synchronous call's answer. text is the blob, NUL-terminated (malloc'd; NULL when empty): on failure the host's
 * message. sticky: the status is an earlier one-way call's failure (failed_seq, failed_op name it), not this one's. */
typedef struct ferry_reply {
    int32_t status;          /* FERRY_STATUS_x; 0 OK */
    uint64_t results[4];
    char *text;
    uint32_t length;         /* bytes of text, without the NUL */
    int sticky;
    uint64_t failed_seq;
    int failed_op;
} ferry_reply;

/* Connects as the environment says (the Java library's rules, docs/client.md "Finding the host"):
 *   FERRY_HOST   unix:SOCKET | file:DIR-or-REGION | pci:[ADDRESS] | a host on another machine: ferry+tls://HOST:PORT/
 *                GUEST, ferry+tcp://127.0.0.1:PORT/GUEST, ferry+vsock://CID:PORT/GUEST, ferry+uds:///PATH/GUEST
 *                (transport_stream.c); FERRY_URL is an alias; else FERRY_SOCKET, FERRY_REGION_DIR,
 *                else unix:/run/ferry/guest.sock
 *   FERRY_GUEST  the guest's name (required)
 *   FERRY_SECRET (base64) or FERRY_SECRET_FILE (raw 32 bytes or base64; must not be readable by others)
 * On failure returns a FERRY_STATUS_x and writes what was wrong and what to do into err. */
int ferry_connect(ferry_conn **out, char *err, size_t err_length);

/* GOODBYE (if the session lives), unmap, free. */
void ferry_disconnect(ferry_conn *c);

/* Devices the host grants (HELLO's device count); the guest's name; the session id. */
uint32_t ferry_device_count(const ferry_conn *c);
const char *ferry_guest_name(const ferry_conn *c);

/* A fresh nonzero handle for a new object (unique within the session). */
uint64_t ferry_new_handle(ferry_conn *c);

/* A one-way call: args has the op's FERRY_x_ARGC words. defer: hold the record back; it is published with the next
 * call that is not deferred (or ferry_flush). Returns 0, or a status when the record could not be sent (the session
 * is over: ferry_broken says why; or the record is larger than the ring carries: INVALID_ARGUMENT). */
int ferry_send(ferry_conn *c, int op, const uint64_t *args, int argc, const ferry_iov *blob, int blob_parts,
               int defer);

/* Publishes deferred records. */
void ferry_flush(ferry_conn *c);

/* A synchronous call (or a one-way call sent with the REPLY flag: pass any op). Waits for its completion, watching
 * the host's heartbeat and the session. Returns reply->status. A sticky report answering a call other than FINISH
 * means the call itself was not carried out: this function then files the earlier failure (ferry_take_async) and
 * sends the call again, so the caller sees the call's own answer. Free the reply with ferry_reply_free. */
int ferry_call(ferry_conn *c, int op, const uint64_t *args, int argc, const ferry_iov *blob, int blob_parts,
               ferry_reply *reply);
void ferry_reply_free(ferry_reply *r);

/* The earliest failure of a one-way call that a sticky report named and nobody has taken yet (status 0: none);
 * clears it. message (may be NULL) receives its text. */
int ferry_take_async(ferry_conn *c, char *message, size_t message_length);

/* Nonzero once the session is over (host gone, session ended, ring corrupt); the text says why. */
int ferry_broken(const ferry_conn *c, char *why, size_t why_length);

/* As ferry_broken, but looks now as a call does before it sends: a new host epoch, a stream that dropped, CONNECT_ACK
 * no longer ours (the host ended the session; its closing notice is read when no call waits). For work that does
 * not pass the rings (libteec's direct TEE lanes): the host's heartbeat is watched by the connection's own thread. */
int ferry_check(ferry_conn *c, char *why, size_t why_length);

/* The lane's heap slice: base address in this process, size, and a thread-safe allocator. Offsets are what calls
 * carry (from the slice's start). Blocks are 64-byte aligned, 4096 for 64 KiB and more. Returns -1 when full. */
uint8_t *ferry_heap_base(const ferry_conn *c);
uint64_t ferry_heap_size(const ferry_conn *c);
int64_t ferry_heap_alloc(ferry_conn *c, uint64_t size);
void ferry_heap_free(ferry_conn *c, int64_t offset);
uint64_t ferry_heap_free_bytes(const ferry_conn *c);
/* 1 when the host shares the heap's memory (a region); 0 over a stream, where heap bytes travel with the calls that
 * name them: a buffer must then not live in the heap (BUFFER_CREATE with a heap offset is refused). */
int ferry_heap_shared(const ferry_conn *c);
/* The host's capabilities, as it answered HELLO (FERRY_CAP_* of ferry_wire.h): a call the host does not know ends the
 * session, so a client asks for what a capability announces only when the host has it (FERRY_CAP_TEE_DIRECT). */
uint64_t ferry_host_capabilities(const ferry_conn *c);
/* The heap offset of p if [p, p + size) lies inside the heap slice, else -1 (zero-copy detection). */
int64_t ferry_heap_offset_of(const ferry_conn *c, const void *p, uint64_t size);

/* The library this transport is built into, named in its messages. Each library defines it once: the OpenCL ICD
 * {"ferry-opencl", "the OpenCL driver"} (icd_common.c), libteec {"ferry-libteec", "the TEE client library"}. */
typedef struct ferry_client_id {
    const char *log_prefix;     /* starts every FERRY_LOG line */
    const char *library;        /* "the OpenCL driver": who has a bug when a call is malformed */
} ferry_client_id;
extern const ferry_client_id ferry_client;

/* FERRY_LOG=1: print the host's message of each failed call on stderr, "ferry-opencl: ..." (the prefix is
 * ferry_client.log_prefix). */
int ferry_log_enabled(void);
void ferry_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
