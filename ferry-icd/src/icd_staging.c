/* icd_staging.c: ordinary application memory on its way through the heap (the host moves data only between the
 * heap and the device). The model is ferry-client's Staging.java.
 *
 * A transfer of n bytes takes up to 4 heap blocks of one chunk size (at most 8 MiB, and all blocks at most half
 * of the free heap, so the application's ALLOC_HOST_PTR buffers still find room). Chunk i goes through block
 * i mod k; before a block is used again the call waits for the event of the chunk that used it last, so the
 * guest copies chunk i+1 while the device moves chunk i. A 1 GiB transfer thus needs no 1 GiB heap.
 *
 * Non-blocking transfers return after the last chunk is sent. Their blocks stay in use until the queue's next
 * clFinish, which frees them. A non-blocking read's last chunks are copied into the application's memory
 * (a per-queue list of pending copy-outs) at the first of: clFinish of the queue; clWaitForEvents on the read's
 * event; the read's event seen complete (clGetEventInfo, a callback: copied before either reports it); a later
 * blocking command of the same in-order queue (its completion implies the read's).
 *
 * A transfer finishes the queue itself every 256 chunks (the host counts commands in flight until a finish),
 * and once when the heap has no room for a block while the queue holds staging blocks of its own. */
#include <stdlib.h>
#include <string.h>
#include "enqueue.h"

#define MAX_CHUNK (UINT64_C(8) << 20)
#define MIN_CHUNK (UINT64_C(64) << 10)
#define MAX_BLOCKS 4
#define FINISH_EVERY 256

struct copy_out {
    void *to;
    int64_t from;          /* heap offset */
    size_t length;
    uint64_t tag;          /* the read's event handle; 0 when the application took none */
};

struct ferry_stage {
    int64_t *blocks; size_t nb, cb;
    struct copy_out *co; size_t nc, cc;
};

static struct ferry_stage *stage_of(cl_command_queue q)
{
    if (!q->stage) {
        q->stage = calloc(1, sizeof *q->stage);
    }
    return q->stage;
}

void ferry_stage_keep(cl_command_queue q, int64_t block)
{
    pthread_mutex_lock(&q->lock);
    struct ferry_stage *s = stage_of(q);
    if (s && s->nb == s->cb) {
        size_t cap = s->cb ? s->cb * 2 : 16;
        int64_t *grown = realloc(s->blocks, sizeof *grown * cap);
        if (grown) {
            s->blocks = grown;
            s->cb = cap;
        }
    }
    if (s && s->nb < s->cb) {
        s->blocks[s->nb++] = block;
        block = -1;
    }
    pthread_mutex_unlock(&q->lock);
    /* block >= 0 here: no memory to remember it; it leaks rather than free memory the device may still use. */
}

void ferry_stage_copy_out(cl_command_queue q, void *to, int64_t from, size_t length, uint64_t tag)
{
    pthread_mutex_lock(&q->lock);
    struct ferry_stage *s = stage_of(q);
    if (s && s->nc == s->cc) {
        size_t cap = s->cc ? s->cc * 2 : 16;
        struct copy_out *grown = realloc(s->co, sizeof *grown * cap);
        if (grown) {
            s->co = grown;
            s->cc = cap;
        }
    }
    if (s && s->nc < s->cc) {
        s->co[s->nc++] = (struct copy_out){to, from, length, tag};
    }
    pthread_mutex_unlock(&q->lock);
}

struct ferry_stage *ferry_stage_take(cl_command_queue q)
{
    pthread_mutex_lock(&q->lock);
    struct ferry_stage *s = q->stage;
    if (s && s->nb == 0 && s->nc == 0) {
        s = NULL;
    } else {
        q->stage = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return s;
}

void ferry_stage_settle(struct ferry_stage *s, int copy)
{
    if (!s) {
        return;
    }
    ferry_conn *c = ferry_icd_conn();
    uint8_t *base = c ? ferry_heap_base(c) : NULL;
    for (size_t i = 0; copy && base && i < s->nc; i++) {
        memcpy(s->co[i].to, base + s->co[i].from, s->co[i].length);
    }
    for (size_t i = 0; c && i < s->nb; i++) {
        ferry_heap_free(c, s->blocks[i]);
    }
    free(s->blocks);
    free(s->co);
    free(s);
}

void ferry_stage_put_back(cl_command_queue q, struct ferry_stage *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->nb; i++) {
        ferry_stage_keep(q, s->blocks[i]);
    }
    for (size_t i = 0; i < s->nc; i++) {
        ferry_stage_copy_out(q, s->co[i].to, s->co[i].from, s->co[i].length, s->co[i].tag);
    }
    free(s->blocks);
    free(s->co);
    free(s);
}

void ferry_stage_settle_tag(cl_command_queue q, uint64_t tag)
{
    ferry_conn *c = ferry_icd_conn();
    if (!c || !tag) {
        return;
    }
    uint8_t *base = ferry_heap_base(c);
    pthread_mutex_lock(&q->lock);
    struct ferry_stage *s = q->stage;
    for (size_t i = 0; s && i < s->nc;) {
        if (s->co[i].tag == tag) {
            memcpy(s->co[i].to, base + s->co[i].from, s->co[i].length);
            s->co[i] = s->co[--s->nc];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&q->lock);
}

int ferry_stage_holds(cl_command_queue q)
{
    pthread_mutex_lock(&q->lock);
    int holds = q->stage && q->stage->nb > 0;
    pthread_mutex_unlock(&q->lock);
    return holds;
}

int ferry_stage_pending(cl_command_queue q)
{
    pthread_mutex_lock(&q->lock);
    int pending = q->stage && q->stage->nc > 0;
    pthread_mutex_unlock(&q->lock);
    return pending;
}

void ferry_stage_destroy(cl_command_queue q)
{
    ferry_stage_settle(ferry_stage_take(q), 0);
    free(q->stage);
    q->stage = NULL;
}

int64_t ferry_stage_alloc(cl_command_queue q, uint64_t size, cl_int *err)
{
    ferry_conn *c = ferry_icd_conn();
    *err = CL_SUCCESS;
    if (!c) {
        return -1;
    }
    int64_t off = ferry_heap_alloc(c, size);
    if (off < 0 && ferry_stage_holds(q)) {
        *err = ferry_q_finish(q, "staging (heap full)");
        off = *err == CL_SUCCESS ? ferry_heap_alloc(c, size) : -1;
    }
    return off;
}

/* ---- the chunked transfer ---- */

static cl_int no_room(const char *call, uint64_t n, uint64_t smallest)
{
    ferry_conn *c = ferry_icd_conn();
    if (ferry_log_enabled()) {
        ferry_log("%s: no room in the heap for a staging block of %llu bytes (transfer of %llu bytes; %llu of %llu "
                  "bytes free): release ALLOC_HOST_PTR buffers or unmap what you no longer need, finish queues, or "
                  "provision the guest with a larger region", call, (unsigned long long)smallest,
                  (unsigned long long)n, (unsigned long long)(c ? ferry_heap_free_bytes(c) : 0),
                  (unsigned long long)(c ? ferry_heap_size(c) : 0));
    }
    return CL_OUT_OF_RESOURCES;
}

/* Up to MAX_BLOCKS blocks of one size for n bytes; returns how many (0: none, the heap is full). */
static int allocate_ring(cl_command_queue q, uint64_t n, int64_t *ring, uint64_t *chunk, cl_int *err)
{
    ferry_conn *c = ferry_icd_conn();
    int reclaimed = 0;
    *err = CL_SUCCESS;
    for (;;) {
        uint64_t free_bytes = ferry_heap_free_bytes(c);
        uint64_t smallest = n < MIN_CHUNK ? n : MIN_CHUNK;
        uint64_t want = free_bytes / (2 * MAX_BLOCKS);
        want = want > MAX_CHUNK ? MAX_CHUNK : want;
        want &= ~(uint64_t)4095;
        want = want < MIN_CHUNK ? MIN_CHUNK : want;
        uint64_t size = n < want ? n : want;
        int64_t first = ferry_heap_alloc(c, size);
        while (first < 0 && size > smallest) {
            size = (size / 2 + 63) & ~(uint64_t)63;
            size = size < smallest ? smallest : size;
            first = ferry_heap_alloc(c, size);
        }
        if (first < 0) {
            if (!reclaimed && ferry_stage_holds(q)) {
                reclaimed = 1;
                if ((*err = ferry_q_finish(q, "staging (heap full)")) != CL_SUCCESS) {
                    return 0;   /* an earlier command of the queue failed: that is this call's report */
                }
                continue;
            }
            return 0;
        }
        int k = 0;
        ring[k++] = first;
        uint64_t count = (n + size - 1) / size;
        while ((uint64_t)k < count && k < MAX_BLOCKS) {
            int64_t b = ferry_heap_alloc(c, size);
            if (b < 0) {
                break;
            }
            ring[k++] = b;
        }
        *chunk = size;
        return k;
    }
}

cl_int ferry_stage_transfer(cl_command_queue q, const char *call, int op, cl_mem buffer, size_t offset, size_t n,
                            void *ptr, cl_bool blocking, ferry_waits *w, cl_command_type type, cl_event *event)
{
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    int reading = op == FERRY_OP_BUFFER_READ;
    int ooo = (q->properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    int64_t ring[MAX_BLOCKS];
    uint64_t chunk = 0;
    cl_int aerr;
    int k = allocate_ring(q, n, ring, &chunk, &aerr);
    if (k == 0) {
        return aerr != CL_SUCCESS ? aerr : no_room(call, n, n < MIN_CHUNK ? n : MIN_CHUNK);
    }
    uint8_t *base = ferry_heap_base(c);
    uint8_t *p = ptr;
    uint64_t count = (n + chunk - 1) / chunk;
    uint64_t ev[MAX_BLOCKS] = {0};
    uint64_t app = event ? ferry_handle() : 0;
    /* A blocking command of an in-order queue completes the queue's earlier reads too. */
    struct ferry_stage *prior = blocking && !ooo ? ferry_stage_take(q) : NULL;
    cl_int err = CL_SUCCESS;
    uint64_t sent = 0;
    int app_sent = 0;
    /* In an in-order queue a chunk's completion implies its predecessors': the blocks are used in groups of
     * k / 2, only the last chunk of a group carries an event, and one wait frees the whole group. */
    uint64_t g = ooo || k < 2 ? 1 : (uint64_t)k / 2;
    int64_t done = -1;   /* every chunk up to this one has completed */
    for (uint64_t i = 0; i < count && err == CL_SUCCESS; i++) {
        int slot = (int)(i % (uint64_t)k);
        if (i > 0 && i % FINISH_EVERY == 0 && (err = ferry_q_finish(q, call)) != CL_SUCCESS) {
            break;
        }
        if (i >= (uint64_t)k) {
            uint64_t prev = i - k;   /* the chunk that used this block last */
            if ((int64_t)prev > done) {
                uint64_t t = prev - prev % g + g - 1;   /* its group's last chunk: sent, with an event */
                int ts = (int)(t % (uint64_t)k);
                err = ferry_q_wait(q, ev[ts], call, w, NULL);
                ferry_release_handle(ev[ts]);
                ev[ts] = 0;
                if (err != CL_SUCCESS) {
                    break;
                }
                done = (int64_t)t;
            }
            if (reading) {
                memcpy(p + prev * chunk, base + ring[slot], chunk);
            }
        }
        uint64_t at = i * chunk, len = n - at < chunk ? n - at : chunk;
        if (!reading) {
            memcpy(base + ring[slot], p + at, len);
        }
        int last = i + 1 == count;
        uint64_t e = 0;
        if (last && app && !ooo) {
            e = app;
        } else if (((i + 1) % g == 0 && i - i % g + k < count) || ooo) {
            e = ferry_handle();
        }
        const ferry_waits *ws = i == 0 || ooo ? w : &ferry_no_waits;
        uint64_t a[7] = {q->o.handle, buffer->o.handle, offset + at, len, (uint64_t)ring[slot], e, ws->n};
        err = ferry_q_send(q, call, op, a, 7, ws, NULL, 0);
        if (err != CL_SUCCESS) {
            if (e != app) {
                ferry_release_handle(e);
            }
            break;
        }
        sent++;
        app_sent |= e && e == app;
        ev[slot] = e == app ? 0 : e;
    }
    if (err == CL_SUCCESS && ooo && app) {
        app_sent = 1;
        ferry_waits tail = {0};
        for (int s = 0; s < k; s++) {
            if (ev[s]) {
                tail.h[tail.n++] = ev[s];
            }
        }
        uint64_t a[FERRY_MARKER_ARGC] = {q->o.handle, app, tail.n};
        err = ferry_q_send(q, call, FERRY_OP_MARKER, a, FERRY_MARKER_ARGC, &tail, NULL, 0);
    }
    if (err == CL_SUCCESS && blocking) {
        if (ooo) {
            for (int s = 0; s < k && err == CL_SUCCESS; s++) {
                if (ev[s]) {
                    err = ferry_q_wait(q, ev[s], call, w, NULL);
                }
            }
        } else if (app) {
            err = ferry_q_wait(q, app, call, w, NULL);
        } else {
            /* In order and no event asked for: a FINISH waits for the last chunk as well as an event would, and
             * spares the host making and releasing one (the Java library's blocking write is write + finish). */
            err = ferry_q_finish(q, call);
        }
    }
    for (int s = 0; s < k; s++) {
        ferry_release_handle(ev[s]);
    }
    uint64_t tail_from = count > (uint64_t)k ? count - k : 0;
    if (err == CL_SUCCESS && blocking) {
        for (uint64_t i = tail_from; reading && i < count; i++) {
            uint64_t at = i * chunk, len = n - at < chunk ? n - at : chunk;
            memcpy(p + at, base + ring[i % (uint64_t)k], len);
        }
        for (int s = 0; s < k; s++) {
            ferry_heap_free(c, ring[s]);
        }
        ferry_stage_settle(prior, 1);
    } else {
        if (err == CL_SUCCESS) {
            for (uint64_t i = tail_from; reading && i < count; i++) {
                uint64_t at = i * chunk, len = n - at < chunk ? n - at : chunk;
                ferry_stage_copy_out(q, p + at, ring[i % (uint64_t)k], len, app);
            }
        }
        for (int s = 0; s < k; s++) {
            if (sent) {
                ferry_stage_keep(q, ring[s]);   /* the device may still use it: freed at the next finish */
            } else {
                ferry_heap_free(c, ring[s]);
            }
        }
        ferry_stage_put_back(q, prior);
    }
    if (app) {
        if (err == CL_SUCCESS) {
            err = ferry_event_out(q, type, app, event);
            if (err == CL_SUCCESS && blocking) {
                ferry_event_settled(*event, CL_COMPLETE, NULL);
            }
        } else if (app_sent) {
            ferry_release_handle(app);
        }
    }
    return err;
}
