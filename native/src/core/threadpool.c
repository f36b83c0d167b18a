/* threadpool.c — the one process-wide pool of worker threads behind cnn_parallel_for.
 *
 * Why our own pool and not OpenMP: workers must sleep when idle (a host app's CPU is not ours to
 * spin on), each call has its own thread budget (from its context), and a host may run many
 * sessions on many threads at once. The pool serves one call at a time; a call that finds it busy
 * runs its chunks on its own thread, so concurrent callers are always correct and never deadlock
 * (nested cnn_parallel_for calls from inside a task run inline the same way).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE /* sched_getcpu, CPU_SET: see worker_leave_caller_cpu */
#endif
#include <stdatomic.h>
#include <time.h>

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
#  define cnn_yield thrd_yield
static int cnn_start_thread(int (*fn)(void*)) {
    thrd_t t;
    if (thrd_create(&t, fn, NULL) != thrd_success) return 0;
    thrd_detach(t);
    return 1;
}
#else
#  include <pthread.h>
#  include <sched.h>
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
#  define cnn_yield sched_yield
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

/* How long a worker that ran out of work keeps polling for the next job before it sleeps, and
 * how long a caller polls for its workers to finish before it sleeps. Consecutive calls (the
 * layers of one inference, a benchmark loop) come microseconds apart, while waking a thread
 * from a condition variable takes tens of microseconds in a VM. Measured on this machine (2 vCPUs,
 * quiet, medians of 20000 calls, 2 threads): a 3x3 128->128 conv at 28x28 733-757 us with
 * sleep-only waits, 698-710 us with the poll; 64->64 at 14x14 88 -> 80 us; a parallel_for of two
 * ~2.8 us chunks returns in 2.9 us. The poll is bounded: between two bursts of work the pool
 * burns at most this long per job, never while idle. */
#define CNN_POOL_SPIN_NS 100000LL

typedef struct {
    cnn_once once;
    int ok;          /* 1 once the lock and condition variables exist */
    atomic_int started; /* 1 once the workers were started (reset in a fork()ed child, which has none) */
    int num_workers; /* hardware threads - 1: the caller is the remaining one (written under lock) */
    cnn_mutex lock;
    cnn_cond wake;      /* sleeping workers wait here for a new generation */
    cnn_cond finished;  /* a sleeping caller waits here for pending == 0 */
    atomic_flag busy;
    /* The current job, written before `generation` is bumped (release) and read by a worker
     * after it sees the bump (acquire). It is not rewritten before every worker has finished
     * with it (pending == 0). */
    atomic_ullong generation;
    cnn_task_fn fn;
    void* arg;
    int64_t n;
    int32_t chunks;
    atomic_int next_chunk;
    atomic_int pending; /* workers that have not yet finished the current generation */
    int sleepers;       /* workers waiting on `wake` (under lock) */
    atomic_int caller_cpu; /* the CPU the current job's caller ran on when it posted it, or -1 */
    int caller_waiting; /* 1 while the caller waits on `finished` (under lock) */
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

static long long now_ns(void) {
    struct timespec t;
    timespec_get(&t, TIME_UTC); /* C11; a clock step only shortens or lengthens one poll */
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Polls `done(arg)` for up to CNN_POOL_SPIN_NS; 1 if it became true. After the first ~2 us it
 * yields the CPU between polls: if the thread it waits for shares this CPU (the scheduler put
 * a woken worker beside its waker, or the host is oversubscribed), the yield lets that thread
 * run instead of burning its time slice. No PAUSE: under KVM a run of PAUSEs triggers
 * pause-loop exiting, which deschedules the virtual CPU for longer than the wait itself. */
static int spin_until(int (*done)(const void*), const void* arg) {
    long long deadline = 0;
    for (int i = 0;; i++) {
        if (done(arg)) return 1;
        if ((i & 63) == 0) {
            long long t = now_ns();
            if (deadline == 0) deadline = t + CNN_POOL_SPIN_NS;
            else if (t > deadline) return 0;
        }
        if (i >= 4096) cnn_yield();
    }
}

static int generation_changed(const void* seen) {
    return atomic_load_explicit(&g_pool.generation, memory_order_acquire) !=
           *(const unsigned long long*)seen;
}

static int all_finished(const void* unused) {
    (void)unused;
    return atomic_load_explicit(&g_pool.pending, memory_order_acquire) == 0;
}

/* A worker that finds itself on the CPU of the caller it is to help moves to another CPU the
 * thread may use (Linux; elsewhere nothing). Why: a worker woken from its condition variable is
 * often placed beside its waker (wake-affine), and two threads that poll and yield by turns on
 * one CPU look cache-hot to the load balancer, which then leaves the other CPU idle for good. In
 * the benchmark harness (a sleep between its stages) a 2-thread 3x3 128->128 conv at 28x28 ran
 * 0.44-0.49 ms, its 1-thread time, both threads on one CPU and the other idle, against 0.29 ms
 * when they are apart. Narrowing the affinity to the other CPUs makes the kernel move the thread
 * at once; restoring it leaves the thread where it now is. A single allowed CPU (taskset) is
 * respected. */
static void worker_leave_caller_cpu(void) {
#if defined(__linux__)
    const int cpu = sched_getcpu();
    if (cpu < 0 || cpu != atomic_load_explicit(&g_pool.caller_cpu, memory_order_relaxed)) return;
    cpu_set_t allowed, others;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
    others = allowed;
    CPU_CLR(cpu, &others);
    if (sched_setaffinity(0, sizeof others, &others) == 0)
        sched_setaffinity(0, sizeof allowed, &allowed);
#endif
}

static int worker_main(void* unused) {
    (void)unused;
    unsigned long long seen = 0;
    for (;;) {
        if (!spin_until(generation_changed, &seen)) {
            cnn_lock(&g_pool.lock);
            g_pool.sleepers++;
            while (!generation_changed(&seen)) cnn_wait(&g_pool.wake, &g_pool.lock);
            g_pool.sleepers--;
            cnn_unlock(&g_pool.lock);
        }
        seen = atomic_load_explicit(&g_pool.generation, memory_order_acquire);
        worker_leave_caller_cpu();
        run_chunks(g_pool.fn, g_pool.arg, g_pool.n, g_pool.chunks);
        if (atomic_fetch_sub_explicit(&g_pool.pending, 1, memory_order_acq_rel) == 1) {
            cnn_lock(&g_pool.lock); /* the last one out wakes a caller that went to sleep */
            if (g_pool.caller_waiting) cnn_signal(&g_pool.finished);
            cnn_unlock(&g_pool.lock);
        }
    }
    return 0;
}

#if !defined(_WIN32)
/* fork() copies only the calling thread: a child inherits the pool's state (workers counted,
 * maybe a job in flight, the lock possibly held by a thread that does not exist there) but no
 * workers, so its first threaded call would wait for them forever. The handlers take the lock
 * around fork() so that it is never copied held, and the child starts over with an empty pool
 * whose workers are started again by its first threaded call. A job another parent thread was
 * running at fork time is that thread's; the child has neither, so `busy` is cleared too. */
static void pool_before_fork(void) { cnn_lock(&g_pool.lock); }
static void pool_after_fork_parent(void) { cnn_unlock(&g_pool.lock); }
static void pool_after_fork_child(void) {
    /* Fresh primitives: the condition variables may count waiters (the parent's workers) that
     * the child does not have. */
    pthread_mutex_init(&g_pool.lock, NULL);
    pthread_cond_init(&g_pool.wake, NULL);
    pthread_cond_init(&g_pool.finished, NULL);
    g_pool.num_workers = 0;
    g_pool.sleepers = 0;
    g_pool.caller_waiting = 0;
    /* New workers start from generation 0, as the first ones did: no stale job looks new. */
    atomic_store(&g_pool.generation, 0);
    atomic_store(&g_pool.pending, 0);
    atomic_store(&g_pool.next_chunk, 0);
    atomic_flag_clear(&g_pool.busy);
    atomic_store(&g_pool.started, 0);
}
#endif

static void pool_init(void) {
    if (!cnn_mutex_init(&g_pool.lock)) return;
    if (!cnn_cond_init(&g_pool.wake) || !cnn_cond_init(&g_pool.finished)) return;
#if !defined(_WIN32)
    if (pthread_atfork(pool_before_fork, pool_after_fork_parent, pool_after_fork_child) != 0) return;
#endif
    g_pool.ok = 1;
}

/* Starts the workers on the first threaded call (again in a fork()ed child); 0 if there are none. */
static int pool_workers(void) {
    cnn_call_once(&g_pool.once, pool_init);
    if (!g_pool.ok) return 0;
    if (!atomic_load_explicit(&g_pool.started, memory_order_acquire)) {
        cnn_lock(&g_pool.lock);
        if (!atomic_load_explicit(&g_pool.started, memory_order_relaxed)) {
            int wanted = cnn_cpu_hardware_threads() - 1;
            for (int i = 0; i < wanted; i++) {
                if (!cnn_start_thread(worker_main)) break;
                g_pool.num_workers++;
            }
            atomic_store_explicit(&g_pool.started, 1, memory_order_release);
        }
        cnn_unlock(&g_pool.lock);
    }
    return g_pool.num_workers;
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
    if (chunks == 1 || pool_workers() == 0 || atomic_flag_test_and_set(&g_pool.busy)) {
        /* Serial: same chunking, so per-chunk scratch and results are identical. */
        for (int32_t c = 0; c < chunks; c++) {
            int64_t begin, end;
            chunk_range(n, chunks, c, &begin, &end);
            if (begin < end) fn(arg, begin, end, c);
        }
        return;
    }
    /* Every worker takes part in every generation (pending counts them all), so the job fields
     * are free to rewrite: the previous call returned only after pending reached 0. */
    g_pool.fn = fn;
    g_pool.arg = arg;
    g_pool.n = n;
    g_pool.chunks = chunks;
    atomic_store_explicit(&g_pool.next_chunk, 0, memory_order_relaxed);
    atomic_store_explicit(&g_pool.pending, g_pool.num_workers, memory_order_relaxed);
#if defined(__linux__)
    atomic_store_explicit(&g_pool.caller_cpu, sched_getcpu(), memory_order_relaxed);
#endif
    atomic_fetch_add_explicit(&g_pool.generation, 1, memory_order_release);
    /* A worker checks the generation and registers as a sleeper under the lock, so either it
     * saw the bump or it is counted here and gets the broadcast. */
    cnn_lock(&g_pool.lock);
    if (g_pool.sleepers > 0) cnn_broadcast(&g_pool.wake);
    cnn_unlock(&g_pool.lock);

    run_chunks(fn, arg, n, chunks);

    if (!spin_until(all_finished, NULL)) {
        cnn_lock(&g_pool.lock);
        g_pool.caller_waiting = 1;
        while (!all_finished(NULL)) cnn_wait(&g_pool.finished, &g_pool.lock);
        g_pool.caller_waiting = 0;
        cnn_unlock(&g_pool.lock);
    }
    atomic_flag_clear(&g_pool.busy);
}
