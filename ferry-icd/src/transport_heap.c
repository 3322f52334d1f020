/* transport_heap.c: the allocator of the lane's heap slice (transport.h's ferry_heap_*): first fit over a list of
 * free ranges sorted by offset, coalesced on free; blocks 64-byte aligned, 4096 for 64 KiB and more (as ferry-client's
 * Heap). Thread-safe (heap_lock); O(number of blocks) per call. Offsets count from the slice's start. */
#include <stdlib.h>
#include <string.h>
#include "transport_internal.h"

#define SMALL_ALIGNMENT 64u
#define LARGE_ALIGNMENT 4096u
#define LARGE_BLOCK (64u * 1024u)

static int grow(ferry_heap_block **list, size_t *cap, size_t need) {
    if (need <= *cap) {
        return 0;
    }
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need) n *= 2;
    ferry_heap_block *p = realloc(*list, n * sizeof **list);
    if (p == NULL) {
        return -1;
    }
    *list = p;
    *cap = n;
    return 0;
}

int ferry_heap_init(ferry_conn *c) {
    if (grow(&c->free_list, &c->free_cap, 1) != 0 || grow(&c->used_list, &c->used_cap, 1) != 0) {
        return -1;
    }
    c->free_list[0] = (ferry_heap_block) {0, c->r.heap_size};
    c->free_count = 1;
    c->used_count = 0;
    c->heap_used = 0;
    return 0;
}

void ferry_heap_destroy(ferry_conn *c) {
    free(c->free_list);
    free(c->used_list);
    c->free_list = c->used_list = NULL;
    c->free_count = c->used_count = c->free_cap = c->used_cap = 0;
}

uint8_t *ferry_heap_base(const ferry_conn *c) {
    return c ? c->r.heap : NULL;
}

uint64_t ferry_heap_size(const ferry_conn *c) {
    return c ? c->r.heap_size : 0;
}

int64_t ferry_heap_alloc(ferry_conn *c, uint64_t size) {
    if (c == NULL || size == 0 || size > c->r.heap_size) {
        return -1;
    }
    uint64_t align = size >= LARGE_BLOCK ? LARGE_ALIGNMENT : SMALL_ALIGNMENT;
    uint64_t taken = (size + SMALL_ALIGNMENT - 1) & ~(uint64_t) (SMALL_ALIGNMENT - 1);
    int64_t result = -1;
    pthread_mutex_lock(&c->heap_lock);
    /* room for one more free range (a split) and one more used block, so nothing below can fail half-way */
    if (grow(&c->free_list, &c->free_cap, c->free_count + 1) == 0
        && grow(&c->used_list, &c->used_cap, c->used_count + 1) == 0) {
        for (size_t i = 0; i < c->free_count; i++) {
            uint64_t start = c->free_list[i].offset, len = c->free_list[i].size;
            uint64_t at = (start + align - 1) & ~(align - 1);
            if (at - start > len || taken > len - (at - start)) {
                continue;
            }
            uint64_t end = at + taken, range_end = start + len;
            int before = at > start, after = range_end > end;
            if (before && after) {
                memmove(&c->free_list[i + 2], &c->free_list[i + 1],
                        (c->free_count - i - 1) * sizeof c->free_list[0]);
                c->free_list[i] = (ferry_heap_block) {start, at - start};
                c->free_list[i + 1] = (ferry_heap_block) {end, range_end - end};
                c->free_count++;
            } else if (before) {
                c->free_list[i].size = at - start;
            } else if (after) {
                c->free_list[i] = (ferry_heap_block) {end, range_end - end};
            } else {
                memmove(&c->free_list[i], &c->free_list[i + 1], (c->free_count - i - 1) * sizeof c->free_list[0]);
                c->free_count--;
            }
            c->used_list[c->used_count++] = (ferry_heap_block) {at, taken};
            c->heap_used += taken;
            result = (int64_t) at;
            break;
        }
    }
    pthread_mutex_unlock(&c->heap_lock);
    return result;
}

void ferry_heap_free(ferry_conn *c, int64_t offset) {
    if (c == NULL || offset < 0) {
        return;
    }
    pthread_mutex_lock(&c->heap_lock);
    size_t u = 0;
    while (u < c->used_count && c->used_list[u].offset != (uint64_t) offset) {
        u++;
    }
    if (u == c->used_count) {
        pthread_mutex_unlock(&c->heap_lock);
        ferry_log("heap block at offset %lld freed but not allocated (a bug of %s; ignored)",
                  (long long) offset, ferry_client.library);
        return;
    }
    ferry_heap_block b = c->used_list[u];
    c->used_list[u] = c->used_list[--c->used_count];
    c->heap_used -= b.size;
    /* insert [b.offset, b.offset + b.size) at its place, merging with the ranges before and after */
    size_t i = 0;
    while (i < c->free_count && c->free_list[i].offset < b.offset) {
        i++;
    }
    int join_before = i > 0 && c->free_list[i - 1].offset + c->free_list[i - 1].size == b.offset;
    int join_after = i < c->free_count && b.offset + b.size == c->free_list[i].offset;
    if (join_before && join_after) {
        c->free_list[i - 1].size += b.size + c->free_list[i].size;
        memmove(&c->free_list[i], &c->free_list[i + 1], (c->free_count - i - 1) * sizeof c->free_list[0]);
        c->free_count--;
    } else if (join_before) {
        c->free_list[i - 1].size += b.size;
    } else if (join_after) {
        c->free_list[i].offset = b.offset;
        c->free_list[i].size += b.size;
    } else {
        /* room was reserved: free_cap >= free_count + 1 holds after every alloc; check anyway */
        if (grow(&c->free_list, &c->free_cap, c->free_count + 1) == 0) {
            memmove(&c->free_list[i + 1], &c->free_list[i], (c->free_count - i) * sizeof c->free_list[0]);
            c->free_list[i] = b;
            c->free_count++;
        }
    }
    pthread_mutex_unlock(&c->heap_lock);
}

uint64_t ferry_heap_free_bytes(const ferry_conn *c) {
    if (c == NULL) {
        return 0;
    }
    ferry_conn *m = (ferry_conn *) c;
    pthread_mutex_lock(&m->heap_lock);
    uint64_t f = m->r.heap_size - m->heap_used;
    pthread_mutex_unlock(&m->heap_lock);
    return f;
}

int64_t ferry_heap_offset_of(const ferry_conn *c, const void *p, uint64_t size) {
    if (c == NULL || p == NULL || c->r.heap == NULL) {
        return -1;
    }
    uintptr_t base = (uintptr_t) c->r.heap, q = (uintptr_t) p;
    if (q < base || q - base >= c->r.heap_size || size > c->r.heap_size - (q - base)) {
        return -1;
    }
    return (int64_t) (q - base);
}
