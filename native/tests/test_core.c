/* test_core.c — contexts, ISA selection, memory accounting, errors and the thread pool. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Host threads and the environment: POSIX here, C11 threads and the CRT's _putenv_s with MSVC
 * (which has no pthreads or setenv), as core/threadpool.c does for the pool itself. */
#if defined(_WIN32)
#  include <threads.h>
#  define set_env(name, value) _putenv_s((name), (value))
#  define unset_env(name) _putenv_s((name), "")
#else
#  include <pthread.h>
#  define set_env(name, value) setenv((name), (value), 1)
#  define unset_env(name) unsetenv(name)
#endif

#include "cnn_internal.h"
#include "test_util.h"

static void test_version_and_errors(void) {
    EXPECT(strlen(cnn_get_version()) >= 5, "version '%s'", cnn_get_version());
    EXPECT_STATUS(cnn_context_create(NULL), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "out_context") != NULL, "message '%s' names the argument",
           cnn_get_last_error());
}

static void test_context_api(void) {
    cnn_context* ctx = NULL;
    EXPECT_STATUS(cnn_context_create(&ctx), CNN_STATUS_SUCCESS);
    if (ctx == NULL) return;
    int32_t hw = 0, n = 0;
    EXPECT_STATUS(cnn_get_hardware_threads(&hw), CNN_STATUS_SUCCESS);
    EXPECT(hw >= 1, "hardware threads %d", hw);
    EXPECT_STATUS(cnn_context_get_num_threads(ctx, &n), CNN_STATUS_SUCCESS);
    EXPECT(n == hw, "default threads %d != hardware %d", n, hw);
    EXPECT_STATUS(cnn_context_set_num_threads(ctx, 1), CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_context_get_num_threads(ctx, &n), CNN_STATUS_SUCCESS);
    EXPECT(n == 1, "threads %d", n);
    EXPECT_STATUS(cnn_context_set_num_threads(ctx, -1), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "num_threads = -1") != NULL, "message '%s'",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_context_set_num_threads(ctx, CNN_MAX_THREADS + 1),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_context_set_num_threads(NULL, 1), CNN_STATUS_INVALID_ARGUMENT);

    cnn_isa isa = CNN_ISA_AUTO;
    EXPECT_STATUS(cnn_context_get_isa(ctx, &isa), CNN_STATUS_SUCCESS);
    EXPECT(isa != CNN_ISA_AUTO, "AUTO must resolve");
    EXPECT_STATUS(cnn_context_set_isa(ctx, CNN_ISA_REFERENCE), CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_context_get_isa(ctx, &isa), CNN_STATUS_SUCCESS);
    EXPECT(isa == CNN_ISA_REFERENCE, "isa %d", (int)isa);
    EXPECT_STATUS(cnn_context_set_isa(ctx, (cnn_isa)7), CNN_STATUS_INVALID_ARGUMENT);
    /* The message names the API function the caller called, not an internal helper. */
    EXPECT(strcmp(cnn_get_last_error(), "cnn_context_set_isa: isa = 7 is out of range [0, 3]") == 0,
           "message '%s'", cnn_get_last_error());
    const cnn_isa simd[2] = {CNN_ISA_AVX2, CNN_ISA_AVX512};
    for (int i = 0; i < 2; i++) {
        int32_t supported = -1;
        EXPECT_STATUS(cnn_isa_is_supported(simd[i], &supported), CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_context_set_isa(ctx, simd[i]),
                      supported ? CNN_STATUS_SUCCESS : CNN_STATUS_UNSUPPORTED);
        if (supported) {
            EXPECT_STATUS(cnn_context_get_isa(ctx, &isa), CNN_STATUS_SUCCESS);
            EXPECT(isa == simd[i], "isa %d", (int)isa);
            EXPECT(ctx->kernels->isa == simd[i], "table isa %d", (int)ctx->kernels->isa);
        }
    }
    EXPECT_STATUS(cnn_isa_is_supported(CNN_ISA_REFERENCE, NULL), CNN_STATUS_INVALID_ARGUMENT);
    cnn_context_destroy(ctx);
    cnn_context_destroy(NULL);
}

static void test_env_defaults(void) {
    cnn_context* ctx = NULL;
    set_env("CNN_ISA", "reference");
    set_env("CNN_NUM_THREADS", "3");
    EXPECT_STATUS(cnn_context_create(&ctx), CNN_STATUS_SUCCESS);
    if (ctx) {
        EXPECT(ctx->isa == CNN_ISA_REFERENCE && ctx->num_threads == 3, "isa %d threads %d",
               (int)ctx->isa, ctx->num_threads);
        cnn_context_destroy(ctx);
    }
    set_env("CNN_ISA", "sse9");
    ctx = NULL;
    EXPECT_STATUS(cnn_context_create(&ctx), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(ctx == NULL, "no context on failure");
    EXPECT(strstr(cnn_get_last_error(), "sse9") != NULL, "message '%s'", cnn_get_last_error());
    unset_env("CNN_ISA");
    set_env("CNN_NUM_THREADS", "many");
    EXPECT_STATUS(cnn_context_create(&ctx), CNN_STATUS_INVALID_ARGUMENT);
    unset_env("CNN_NUM_THREADS");
}

static void test_memory(void) {
    int64_t blocks0, bytes0, total0, blocks, bytes, total;
    EXPECT_STATUS(cnn_get_memory_stats(&blocks0, &bytes0, &total0), CNN_STATUS_SUCCESS);
    void* p = NULL;
    EXPECT_STATUS(cnn_alloc(1000, &p), CNN_STATUS_SUCCESS);
    EXPECT(p != NULL && ((uintptr_t)p % 64) == 0, "aligned pointer %p", p);
    int zero = 1;
    for (int i = 0; p && i < 1000; i++) zero &= ((unsigned char*)p)[i] == 0;
    EXPECT(zero, "cnn_alloc zero-fills");
    EXPECT_STATUS(cnn_get_memory_stats(&blocks, &bytes, &total), CNN_STATUS_SUCCESS);
    EXPECT(blocks == blocks0 + 1 && bytes == bytes0 + 1000 && total == total0 + 1,
           "stats %lld/%lld/%lld", (long long)blocks, (long long)bytes, (long long)total);
    cnn_free(p);
    cnn_free(NULL);
    EXPECT_STATUS(cnn_get_memory_stats(&blocks, &bytes, &total), CNN_STATUS_SUCCESS);
    EXPECT(blocks == blocks0 && bytes == bytes0, "freed");
    EXPECT_STATUS(cnn_alloc(0, &p), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_alloc(-5, &p), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_alloc(CNN_MAX_ALLOC_BYTES + 1, &p), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_alloc(16, NULL), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_get_memory_stats(NULL, &bytes, &total), CNN_STATUS_INVALID_ARGUMENT);

    int64_t product = 0;
    EXPECT(cnn_checked_product("f", "x", &product, 3, (int64_t)1000, (int64_t)1000,
                               (int64_t)1000) == 1 && product == 1000000000, "small product");
    EXPECT(cnn_checked_product("f", "x", &product, 3, (int64_t)INT32_MAX, (int64_t)INT32_MAX,
                               (int64_t)INT32_MAX) == 0, "overflowing product is refused");
    EXPECT(strstr(cnn_get_last_error(), "too large") != NULL, "message '%s'",
           cnn_get_last_error());
}

/* ---- thread pool: every item visited exactly once, chunk indices unique, concurrent callers */
typedef struct {
    atomic_int* hits;
    atomic_int chunk_seen[CNN_MAX_THREADS];
} pool_job;

static void pool_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    pool_job* job = (pool_job*)arg;
    atomic_fetch_add(&job->chunk_seen[thread_index], 1);
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&job->hits[i], 1);
}

static int run_pool_job(cnn_context* ctx, int64_t n, int64_t grain) {
    pool_job* job = (pool_job*)calloc(1, sizeof(pool_job));
    job->hits = (atomic_int*)calloc((size_t)n, sizeof(atomic_int));
    cnn_parallel_for(ctx, n, grain, pool_task, job);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= atomic_load(&job->hits[i]) == 1;
    int32_t chunks = cnn_parallel_chunks(ctx, n, grain);
    for (int32_t c = 0; c < CNN_MAX_THREADS; c++)
        ok &= atomic_load(&job->chunk_seen[c]) == (c < chunks ? 1 : 0);
    free(job->hits);
    free(job);
    return ok;
}

/* 1 when 200 pool jobs from a context of its own all ran every index once. */
static int concurrent_caller(void) {
    cnn_context* ctx = NULL;
    if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS) return 0;
    int ok = 1;
    for (int rep = 0; rep < 200; rep++) ok &= run_pool_job(ctx, 1000 + rep, 7);
    cnn_context_destroy(ctx);
    return ok;
}

#if defined(_WIN32)
static int concurrent_entry(void* arg) { return (void)arg, concurrent_caller(); }
#else
static void* concurrent_entry(void* arg) { return (void)arg, concurrent_caller() ? (void*)1 : NULL; }
#endif

static void test_thread_pool(void) {
    cnn_context* ctx = NULL;
    if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS) return;
    const int32_t budgets[4] = {1, 2, 5, 64};
    for (int b = 0; b < 4; b++) {
        cnn_context_set_num_threads(ctx, budgets[b]);
        EXPECT(run_pool_job(ctx, 1, 1), "n=1 budget %d", budgets[b]);
        EXPECT(run_pool_job(ctx, 1001, 1), "n=1001 budget %d", budgets[b]);
        EXPECT(run_pool_job(ctx, 100, 64), "grain 64 budget %d", budgets[b]);
        EXPECT(cnn_parallel_chunks(ctx, 1000, 1) == budgets[b], "chunks for budget %d",
               budgets[b]);
    }
    EXPECT(cnn_parallel_chunks(ctx, 10, 100) == 1, "grain larger than n gives one chunk");
    cnn_context_destroy(ctx);

    /* Four host threads share the pool: whoever finds it busy runs inline, results identical. */
#if defined(_WIN32)
    thrd_t t[4];
    for (int i = 0; i < 4; i++) thrd_create(&t[i], concurrent_entry, NULL);
    for (int i = 0; i < 4; i++) {
        int ok = 0;
        thrd_join(t[i], &ok);
        EXPECT(ok, "concurrent caller %d", i);
    }
#else
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, concurrent_entry, NULL);
    for (int i = 0; i < 4; i++) {
        void* ok = NULL;
        pthread_join(t[i], &ok);
        EXPECT(ok != NULL, "concurrent caller %d", i);
    }
#endif
}

static void test_scratch(void) {
    cnn_context* ctx = NULL;
    if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS) return;
    int64_t blocks0, bytes0, total0, blocks, bytes, total;
    void* a = cnn_context_scratch(ctx, 4096);
    EXPECT(a != NULL && ((uintptr_t)a % 64) == 0, "scratch aligned");
    cnn_get_memory_stats(&blocks0, &bytes0, &total0);
    void* b = cnn_context_scratch(ctx, 1000);
    cnn_get_memory_stats(&blocks, &bytes, &total);
    EXPECT(a == b && total == total0, "smaller scratch request reuses the buffer");
    void* c = cnn_context_scratch(ctx, (size_t)1 << 20);
    EXPECT(c != NULL, "scratch grows");
    cnn_context_destroy(ctx);
    cnn_get_memory_stats(&blocks, &bytes, &total);
    EXPECT(blocks == blocks0 - 2, "context and its scratch freed (%lld -> %lld blocks)",
           (long long)blocks0, (long long)blocks);
}

/* Freed large blocks are reused (no page faults per training step) and trimmed on request. */
static void test_block_cache(void) {
    int64_t blocks0, bytes0, total0, blocks, bytes, total;
    cnn_get_memory_stats(&blocks0, &bytes0, &total0);
    void* a = NULL;
    EXPECT_STATUS(cnn_alloc(1 << 20, &a), CNN_STATUS_SUCCESS);
    if (a == NULL) return;
    memset(a, 0x5a, 1 << 20);
    cnn_free(a);
    void* b = NULL;
    EXPECT_STATUS(cnn_alloc((1 << 20) - 100, &b), CNN_STATUS_SUCCESS);
    EXPECT(b == a, "a freed 1 MiB block is reused for a slightly smaller request");
    int zero = 1;
    for (int i = 0; b && i < (1 << 20) - 100; i++) zero &= ((unsigned char*)b)[i] == 0;
    EXPECT(zero, "a reused block is zero-filled again by cnn_alloc");
    cnn_get_memory_stats(&blocks, &bytes, &total);
    EXPECT(blocks == blocks0 + 1 && bytes == bytes0 + (1 << 20) - 100,
           "a cached block counts as live only while the caller holds it");
    cnn_free(b);
    void* c = NULL;
    EXPECT_STATUS(cnn_alloc(1 << 18, &c), CNN_STATUS_SUCCESS);
    EXPECT(c != a, "a block more than twice the request is not handed out");
    cnn_free(c);
    cnn_trim_memory();
    cnn_trim_memory();
    cnn_get_memory_stats(&blocks, &bytes, &total);
    EXPECT(blocks == blocks0 && bytes == bytes0, "all freed");
}

int main(void) {
    test_version_and_errors();
    test_context_api();
    test_env_defaults();
    test_memory();
    test_thread_pool();
    test_scratch();
    test_block_cache();
    return test_finish("test_core");
}
