/* enqueue.h: what the queue, event and memory files share (icd_queue.c, icd_event.c, icd_staging.c, icd_mem.c,
 * icd_transfer.c, icd_map.c, icd_image.c): wait lists, sending a queue's commands, waiting for the host without
 * holding the session, internal events and the staging of ordinary memory through the heap. */
#ifndef FERRY_ENQUEUE_H
#define FERRY_ENQUEUE_H

#include "icd.h"

#define FERRY_MAX_WAITS 64

/* A checked wait list, as the wire carries it: at most 64 host handles. A longer one was folded into markers
 * (sent already) that the command waits for instead; ferry_waits_end releases them after the command. */
typedef struct ferry_waits {
    uint64_t h[FERRY_MAX_WAITS];
    uint32_t n;
    uint64_t *markers; uint32_t markers_n;
    const cl_event *events; cl_uint events_n;   /* the application's list (for CL_EXEC_STATUS_ERROR_...) */
} ferry_waits;

/* Checks q (CL_INVALID_COMMAND_QUEUE) and the list (CL_INVALID_EVENT_WAIT_LIST, CL_INVALID_CONTEXT). */
cl_int ferry_waits_begin(cl_command_queue q, cl_uint n, const cl_event *list, ferry_waits *w);
void ferry_waits_end(ferry_waits *w);
extern const ferry_waits ferry_no_waits;
/* CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST if an event of the application's list failed, else fallback. */
cl_int ferry_waits_failed(const ferry_waits *w, cl_int fallback);

/* Sends a command of q one-way: args, then the wait list and payload as the blob. */
cl_int ferry_q_send(cl_command_queue q, const char *call, int op, const uint64_t *args, int argc,
                    const ferry_waits *w, const void *payload, size_t payload_length);
/* Sends RELEASE of a host handle (internal events, markers). */
void ferry_release_handle(uint64_t handle);
/* A new host handle, 0 if there is no session. */
uint64_t ferry_handle(void);
/* CL_DEVICE_MAX_MEM_ALLOC_SIZE as clGetDeviceInfo answers it, 0 when unknown (icd_platform.c). */
uint64_t ferry_device_max_alloc(cl_device_id d);

/* FINISH of q, then the staged copy-outs and blocks, then the first unreported asynchronous failure. */
cl_int ferry_q_finish(cl_command_queue q, const char *call);
/* Nothing sent on q since a FINISH that completed (every command it sent has completed), and the session lives
 * (a broken one must still report its failure at the finish). */
int ferry_q_idle(cl_command_queue q);

/* A read (reading) or write of m's bytes by the host program that m's CL_MEM_HOST_* flags forbid. */
static inline int ferry_host_access_refused(cl_mem m, int reading)
{
    return (m->flags & (reading ? (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS)
                                : (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS))) != 0;
}
/* The queue has copy-outs of non-blocking reads waiting for a finish. */
int ferry_stage_pending(cl_command_queue q);
/* Waits for an event handle of a command of q (EVENT_WAIT). times (may be NULL) receives queued, submit, start,
 * end. A failure names the real cause: a command the host refused is found by finishing q. */
cl_int ferry_q_wait(cl_command_queue q, uint64_t event, const char *call, const ferry_waits *w, cl_ulong *times);
/* A synchronous call that may be refused while it would wait for an unset user event: retried until it is not. */
int ferry_wait_call(int op, uint64_t handle, ferry_reply *r);
/* Where the application wants an event: a handle for the command (0 when event is NULL). After sending, wrap it. */
cl_int ferry_event_out(cl_command_queue q, cl_command_type type, uint64_t handle, cl_event *event);
/* Waits until the context's queues have completed what was enqueued so far (1), or says it could not (0). */
int ferry_queues_quiesce(cl_context context);
/* The context's internal in-order queue (initialising buffers and images from host memory). */
cl_command_queue ferry_internal_queue(cl_context context);

/* ---- events (icd_event.c) ---- */
cl_event ferry_event_new(cl_context context, cl_command_queue q, cl_command_type type, uint64_t handle, int user);
/* The event's status: cached when final, else EVENT_STATUS. */
cl_int ferry_event_status(cl_event e);
/* Records that e finished with status (fires its due callbacks). */
void ferry_event_settled(cl_event e, cl_int status, const cl_ulong *times);
/* Checks the pending callbacks of events of q (all when NULL) once. */
void ferry_callbacks_poll(cl_command_queue q);

/* ---- staging (icd_staging.c) ---- */
void ferry_stage_keep(cl_command_queue q, int64_t block);
void ferry_stage_copy_out(cl_command_queue q, void *to, int64_t block, size_t length, uint64_t tag);
/* Detaches what q's staging holds (before a FINISH, or a blocking command of an in-order queue). */
struct ferry_stage *ferry_stage_take(cl_command_queue q);
/* Settles a detached batch: copies out (if copy), frees its blocks, frees it. NULL: nothing. */
void ferry_stage_settle(struct ferry_stage *s, int copy);
/* Gives a detached batch back to q (the command it waited for failed). */
void ferry_stage_put_back(cl_command_queue q, struct ferry_stage *s);
/* Copies out the staged reads tagged with an event handle (clWaitForEvents of the read's event). */
void ferry_stage_settle_tag(cl_command_queue q, uint64_t tag);
int ferry_stage_holds(cl_command_queue q);
void ferry_stage_destroy(cl_command_queue q);
/* A heap block of size for staging; when the heap is full and q holds blocks, finishes q once and retries (*err:
 * that finish's error, the queue's earlier failure, which the caller reports; else CL_SUCCESS). -1: no room. */
int64_t ferry_stage_alloc(cl_command_queue q, uint64_t size, cl_int *err);

/* Moves n bytes between ptr (ordinary memory) and buffer range [offset, offset + n), through heap blocks in
 * pipelined chunks (write: op BUFFER_WRITE; read: BUFFER_READ). */
cl_int ferry_stage_transfer(cl_command_queue q, const char *call, int op, cl_mem buffer, size_t offset, size_t n,
                            void *ptr, cl_bool blocking, ferry_waits *w, cl_command_type type, cl_event *event);

/* Sends one command that names heap memory directly (or none); a[event_arg] and a[event_arg + 1] receive the event
 * and the wait count. Blocking: waits for it. (icd_transfer.c) */
cl_int ferry_direct(cl_command_queue q, const char *call, int op, uint64_t *a, int argc, int event_arg,
                    const ferry_waits *w, const void *payload, size_t payload_length, cl_bool blocking,
                    cl_command_type type, cl_event *event);

/* Stages a rectangle of host memory (host: its first byte; rows of rb bytes, pitches hrow, hslice) in pieces of
 * whole slices or of rows, through up to two heap blocks; send names one piece (packed in the heap). Reads
 * complete before the call returns. (icd_transfer.c) */
typedef cl_int (*piece_fn)(cl_command_queue q, void *ctx, size_t z, size_t y, size_t slices, size_t rows,
                           int64_t heap, size_t heap_size, uint64_t event, const ferry_waits *w);
cl_int ferry_rect_staged(cl_command_queue q, const char *call, int reading, size_t rb, size_t r1, size_t r2,
                         uint8_t *host, size_t hrow, size_t hslice, piece_fn send, void *ctx, cl_bool blocking,
                         ferry_waits *w, cl_command_type type, cl_event *event);
/* Image transfers between an image and host memory (icd_image.c); w already begun. */
cl_int ferry_image_transfer(cl_command_queue q, int reading, cl_mem image, cl_bool blocking, const size_t *origin,
                            const size_t *region, size_t row, size_t slice, void *ptr, ferry_waits *w,
                            cl_command_type type, cl_event *event);
cl_int ferry_image_init(cl_command_queue q, cl_mem image, const void *ptr);

/* ---- memory objects (icd_mem.c) ---- */
int ferry_mem_access(cl_mem_flags flags);
size_t ferry_pixel_bytes(const cl_image_format *f);   /* 0: not a format Ferry carries */
/* The host range of a buffer (sub-buffers: the parent's handle is not needed: the host knows sub-buffers). */
void ferry_mem_context_released(cl_context context);

#endif
