/* threadpool.c — the one process-wide pool of worker threads behind cnn_parallel_for.
 *
 * Why our own pool and not OpenMP: workers must sleep when idle (a host app's CPU is not ours to
 * spin on), each call has its own thread budget (from its context), and a host may run many
 * sessions on many threads at once. The pool serves one call at a time; a call that finds it busy
 * runs its chunks on its own thread, so concurrent callers are always correct and never deadlock
 * (nested cnn_parallel_for calls from inside a task run inline the same way).
 */
#include <stdatomic.h>

#include "cnn_internal.h"

/* pthreads on POSIX (sanitizers and debuggers understand them), C11 threads on Windows. */
#if defined(_WIN32)
#  include <threads.h>
typedef mtx_t cnn_mutex;
typedef cnd_t cnn_cond;
typedef once_flag cnn_once;
#  define CNN_ONCE_INIT ONCE_FLAG_INIT
#  define cnn_mutex_init(m) (mtx_init((m), mtx_plain) == thrd_success)
#  define cnn_cond_init(c) (cnd_init(c) == thrd_success)
#  define cnn_lock mtx_lock
#  define cnn_unlock mtx_unlock
#  define cnn_wait cnd_wait
#  define cnn_signal cnd_signal
#  define cnn_broadcast cnd_broadcast
#  define cnn_call_once call_once
static int cnn_start_thread(int (*fn)(void*)) {
    thrd_t t;
    if (thrd_create(&t, fn, NULL) != thrd_success) return 0;
    thrd_detach(t);
    return 1;
}
#else
#  include <pthread.h>
typedef pthread_mutex_t cnn_mutex;
typedef pthread_cond_t cnn_cond;
typedef pthread_once_t cnn_once;
#  define CNN_ONCE_INIT PTHREAD_ONCE_INIT
#  define cnn_mutex_init(m) (pthread_mutex_init((m), NULL) == 0)
#  define cnn_cond_init(c) (pthread_cond_init((c), NULL) == 0)
#  define cnn_lock pthread_mutex_lock
#  define cnn_unlock pthread_mutex_unlock
#  define cnn_wait pthread_cond_wait
#  define cnn_signal pthread_cond_signal
#  define cnn_broadcast pthread_cond_broadcast
#  define cnn_call_once pthread_once
static int (*g_thread_fn)(void*);
static void* cnn_thread_trampoline(void* arg) {
    g_thread_fn(arg);
    return NULL;
}
static int cnn_start_thread(int (*fn)(void*)) {
    pthread_t t;
    g_thread_fn = fn;
    if (pthread_create(&t, NULL, cnn_thread_trampoline, NULL) != 0) return 0;
    pthread_detach(t);
    return 1;
}
#endif

typedef struct {
    cnn_once once;
    int ok;          /* 1 once the workers started */
    int num_workers; /* hardware threads - 1: the caller is the remaining one */
    cnn_mutex lock;
    cnn_cond wake;      /* workers wait here for a new generation */
    cnn_cond finished;  /* the caller waits here for pending == 0 */
    atomic_flag busy;
    /* The current job, written under `lock` before `generation` is bumped. */
    unsigned long long generation;
    cnn_task_fn fn;
    void* arg;
    int64_t n;
    int32_t chunks;
    atomic_int next_chunk;
    int pending;     /* workers that have not yet finished the current generation */
} cnn_pool;

static cnn_pool g_pool = {.once = CNN_ONCE_INIT, .busy = ATOMIC_FLAG_INIT};

static void chunk_range(int64_t n, int32_t chunks, int32_t index, int64_t* begin, int64_t* end) {
    *begin = n * index / chunks;
    *end = n * (index + 1) / chunks;
}

/* Claims chunks of the current job until none are left. */
static void run_chunks(cnn_task_fn fn, void* arg, int64_t n, int32_t chunks) {
    for (;;) {
        int32_t c = atomic_fetch_add(&g_pool.next_chunk, 1);
        if (c >= chunks) return;
        int64_t begin, end;
        chunk_range(n, chunks, c, &begin, &end);
        if (begin < end) fn(arg, begin, end, c);
    }
}

static int worker_main(void* unused) {
    (void)unused;
    unsigned long long seen = 0;
    cnn_lock(&g_pool.lock);
    for (;;) {
        while (g_pool.generation == seen) cnn_wait(&g_pool.wake, &g_pool.lock);
        seen = g_pool.generation;
        cnn_task_fn fn = g_pool.fn;
        void* arg = g_pool.arg;
        int64_t n = g_pool.n;
        int32_t chunks = g_pool.chunks;
        cnn_unlock(&g_pool.lock);
        run_chunks(fn, arg, n, chunks);
        cnn_lock(&g_pool.lock);
        if (--g_pool.pending == 0) cnn_signal(&g_pool.finished);
    }
    return 0;
}

static void pool_init(void) {
    if (!cnn_mutex_init(&g_pool.lock)) return;
    if (!cnn_cond_init(&g_pool.wake) || !cnn_cond_init(&g_pool.finished)) return;
    int wanted = cnn_cpu_hardware_threads() - 1;
    for (int i = 0; i < wanted; i++) {
        if (!cnn_start_thread(worker_main)) break;
        g_pool.num_workers++;
    }
    g_pool.ok = 1;
}

int32_t cnn_parallel_chunks(const cnn_context* context, int64_t n, int64_t grain) {
    if (n <= 0) return 1;
    if (grain < 1) grain = 1;
    int64_t by_grain = (n + grain - 1) / grain;
    int64_t chunks = context ? context->num_threads : 1;
    if (chunks > by_grain) chunks = by_grain;
    return chunks < 1 ? 1 : (int32_t)chunks;
}

void cnn_parallel_for(const cnn_context* context, int64_t n, int64_t grain, cnn_task_fn fn,
                      void* arg) {
    if (n <= 0) return;
    int32_t chunks = cnn_parallel_chunks(context, n, grain);
    if (chunks > 1) cnn_call_once(&g_pool.once, pool_init);
    if (chunks == 1 || !g_pool.ok || g_pool.num_workers == 0 ||
        atomic_flag_test_and_set(&g_pool.busy)) {
        /* Serial: same chunking, so per-chunk scratch and results are identical. */
        for (int32_t c = 0; c < chunks; c++) {
            int64_t begin, end;
            chunk_range(n, chunks, c, &begin, &end);
            if (begin < end) fn(arg, begin, end, c);
        }
        return;
    }
    cnn_lock(&g_pool.lock);
    g_pool.fn = fn;
    g_pool.arg = arg;
    g_pool.n = n;
    g_pool.chunks = chunks;
    atomic_store(&g_pool.next_chunk, 0);
    g_pool.pending = g_pool.num_workers;
    g_pool.generation++;
    cnn_broadcast(&g_pool.wake);
    cnn_unlock(&g_pool.lock);

    run_chunks(fn, arg, n, chunks);

    cnn_lock(&g_pool.lock);
    while (g_pool.pending > 0) cnn_wait(&g_pool.finished, &g_pool.lock);
    cnn_unlock(&g_pool.lock);
    atomic_flag_clear(&g_pool.busy);
}
