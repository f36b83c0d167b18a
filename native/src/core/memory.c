/* memory.c — 64-byte-aligned, tracked native allocations (cnn_alloc and context scratch). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_internal.h"

#define CNN_ALIGNMENT 64

/* Each block is preceded by a 64-byte header holding its size, so cnn_free can keep the live-byte
 * counter exact without a side table. */
static atomic_llong g_live_blocks;
static atomic_llong g_live_bytes;
static atomic_llong g_total_allocations;

void* cnn_aligned_malloc(size_t bytes) {
    if (bytes > (size_t)CNN_MAX_ALLOC_BYTES) return NULL;
    size_t total = bytes + CNN_ALIGNMENT;
#if defined(_MSC_VER)
    unsigned char* base = (unsigned char*)_aligned_malloc(total, CNN_ALIGNMENT);
#else
    /* aligned_alloc requires a size that is a multiple of the alignment. */
    total = (total + CNN_ALIGNMENT - 1) & ~(size_t)(CNN_ALIGNMENT - 1);
    unsigned char* base = (unsigned char*)aligned_alloc(CNN_ALIGNMENT, total);
#endif
    if (base == NULL) return NULL;
    memcpy(base, &bytes, sizeof bytes);
    atomic_fetch_add(&g_live_blocks, 1);
    atomic_fetch_add(&g_live_bytes, (long long)bytes);
    atomic_fetch_add(&g_total_allocations, 1);
    return base + CNN_ALIGNMENT;
}

void cnn_aligned_free(void* pointer) {
    if (pointer == NULL) return;
    unsigned char* base = (unsigned char*)pointer - CNN_ALIGNMENT;
    size_t bytes;
    memcpy(&bytes, base, sizeof bytes);
    atomic_fetch_sub(&g_live_blocks, 1);
    atomic_fetch_sub(&g_live_bytes, (long long)bytes);
#if defined(_MSC_VER)
    _aligned_free(base);
#else
    free(base);
#endif
}

cnn_status cnn_alloc(int64_t size_bytes, void** out_pointer) {
    CNN_CHECK_NOT_NULL(out_pointer);
    CNN_CHECK_RANGE("size_bytes", size_bytes, 1, CNN_MAX_ALLOC_BYTES);
    void* p = cnn_aligned_malloc((size_t)size_bytes);
    if (p == NULL)
        return cnn_set_error(CNN_STATUS_OUT_OF_MEMORY, "cnn_alloc: could not allocate %lld bytes",
                             (long long)size_bytes);
    memset(p, 0, (size_t)size_bytes);
    *out_pointer = p;
    return CNN_STATUS_SUCCESS;
}

void cnn_free(void* pointer) { cnn_aligned_free(pointer); }

cnn_status cnn_get_memory_stats(int64_t* out_live_blocks, int64_t* out_live_bytes,
                                int64_t* out_total_allocations) {
    CNN_CHECK_NOT_NULL(out_live_blocks);
    CNN_CHECK_NOT_NULL(out_live_bytes);
    CNN_CHECK_NOT_NULL(out_total_allocations);
    *out_live_blocks = atomic_load(&g_live_blocks);
    *out_live_bytes = atomic_load(&g_live_bytes);
    *out_total_allocations = atomic_load(&g_total_allocations);
    return CNN_STATUS_SUCCESS;
}
