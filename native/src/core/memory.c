/* memory.c — 64-byte-aligned, tracked native allocations (cnn_alloc, tensors, context scratch),
 * with a bounded cache of freed large blocks.
 *
 * Why a cache: a training step frees and re-allocates the same activation and gradient sizes every
 * iteration. The C allocator hands large blocks back to the OS (mmap threshold, heap trimming), so
 * each step would page-fault every 4 KiB page of every buffer again (measured: about half of a
 * LeNet-5 training step). Keeping freed blocks of >= 64 KiB (up to CNN_MEMORY_CACHE_MB, default
 * 256 MiB) for reuse removes that, without touching the host process's allocator settings.
 * cnn_trim_memory() gives the cached blocks back.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_internal.h"

#define CNN_ALIGNMENT 64
#define CNN_CACHE_MIN_BYTES ((size_t)64 << 10)
#define CNN_CACHE_SLOTS 64

/* Each block is preceded by a 64-byte header: the size the caller asked for (for the live-byte
 * counter) and the capacity it really has (for reuse from the cache). */
typedef struct {
    size_t bytes;
    size_t capacity;
} block_header;

static atomic_llong g_live_blocks;
static atomic_llong g_live_bytes;
static atomic_llong g_total_allocations;

static struct {
    atomic_flag lock;            /* tiny critical sections: a spin lock is enough */
    int configured;
    size_t limit;                /* bytes the cache may hold */
    size_t held;                 /* bytes it holds */
    int count;
    unsigned char* blocks[CNN_CACHE_SLOTS];
} g_cache = {.lock = ATOMIC_FLAG_INIT};

static void cache_lock(void) {
    while (atomic_flag_test_and_set_explicit(&g_cache.lock, memory_order_acquire)) {
    }
}
static void cache_unlock(void) { atomic_flag_clear_explicit(&g_cache.lock, memory_order_release); }

/* Under the lock. CNN_MEMORY_CACHE_MB=0 turns the cache off. */
static void cache_configure(void) {
    if (g_cache.configured) return;
    g_cache.configured = 1;
    g_cache.limit = (size_t)256 << 20;
    const char* s = getenv("CNN_MEMORY_CACHE_MB");
    if (s != NULL && s[0] != '\0') {
        char* end = NULL;
        long mb = strtol(s, &end, 10);
        if (end != s && *end == '\0' && mb >= 0 && mb <= (1L << 20)) g_cache.limit = (size_t)mb << 20;
    }
}

/* CNN_ALIGNMENT-aligned; `total` is a multiple of it. The MSVC CRT has no aligned_alloc (its free
 * cannot release aligned blocks), so it pairs _aligned_malloc with _aligned_free. */
static unsigned char* system_alloc(size_t total) {
#if defined(_MSC_VER)
    return (unsigned char*)_aligned_malloc(total, CNN_ALIGNMENT);
#else
    return (unsigned char*)aligned_alloc(CNN_ALIGNMENT, total);
#endif
}

static void system_free(unsigned char* base) {
#if defined(_MSC_VER)
    _aligned_free(base);
#else
    free(base);
#endif
}

/* Best fit among cached blocks with capacity in [bytes, 2*bytes]; NULL if none. */
static unsigned char* cache_take(size_t bytes) {
    unsigned char* found = NULL;
    cache_lock();
    int best = -1;
    size_t best_capacity = 0;
    for (int i = 0; i < g_cache.count; i++) {
        block_header h;
        memcpy(&h, g_cache.blocks[i], sizeof h);
        if (h.capacity >= bytes && h.capacity / 2 <= bytes &&
            (best < 0 || h.capacity < best_capacity)) {
            best = i;
            best_capacity = h.capacity;
        }
    }
    if (best >= 0) {
        found = g_cache.blocks[best];
        g_cache.blocks[best] = g_cache.blocks[--g_cache.count];
        g_cache.held -= best_capacity;
    }
    cache_unlock();
    return found;
}

/* Returns 1 if the cache kept the block. */
static int cache_put(unsigned char* base, size_t capacity) {
    int kept = 0;
    cache_lock();
    cache_configure();
    if (g_cache.count < CNN_CACHE_SLOTS && g_cache.held + capacity <= g_cache.limit) {
        g_cache.blocks[g_cache.count++] = base;
        g_cache.held += capacity;
        kept = 1;
    }
    cache_unlock();
    return kept;
}

void* cnn_aligned_malloc(size_t bytes) {
    if (bytes > (size_t)CNN_MAX_ALLOC_BYTES) return NULL;
    unsigned char* base = bytes >= CNN_CACHE_MIN_BYTES ? cache_take(bytes) : NULL;
    block_header h;
    if (base != NULL) {
        memcpy(&h, base, sizeof h);
    } else {
        /* aligned_alloc requires a size that is a multiple of the alignment. */
        size_t total = (bytes + 2 * CNN_ALIGNMENT - 1) & ~(size_t)(CNN_ALIGNMENT - 1);
        base = system_alloc(total);
        if (base == NULL) {
            /* Memory is short: give the cache back and try once more. */
            cnn_trim_memory();
            base = system_alloc(total);
            if (base == NULL) return NULL;
        }
        h.capacity = total - CNN_ALIGNMENT;
    }
    h.bytes = bytes;
    memcpy(base, &h, sizeof h);
    atomic_fetch_add(&g_live_blocks, 1);
    atomic_fetch_add(&g_live_bytes, (long long)bytes);
    atomic_fetch_add(&g_total_allocations, 1);
    return base + CNN_ALIGNMENT;
}

void cnn_aligned_free(void* pointer) {
    if (pointer == NULL) return;
    unsigned char* base = (unsigned char*)pointer - CNN_ALIGNMENT;
    block_header h;
    memcpy(&h, base, sizeof h);
    atomic_fetch_sub(&g_live_blocks, 1);
    atomic_fetch_sub(&g_live_bytes, (long long)h.bytes);
    if (h.capacity >= CNN_CACHE_MIN_BYTES && cache_put(base, h.capacity)) return;
    system_free(base);
}

void cnn_trim_memory(void) {
    for (;;) {
        unsigned char* base = NULL;
        cache_lock();
        if (g_cache.count > 0) {
            base = g_cache.blocks[--g_cache.count];
            block_header h;
            memcpy(&h, base, sizeof h);
            g_cache.held -= h.capacity;
        }
        cache_unlock();
        if (base == NULL) return;
        system_free(base);
    }
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
