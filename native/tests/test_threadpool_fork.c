/* test_threadpool_fork.c — a fork()ed child can run threaded work (the pool is reset in the child).
 *
 * fork() copies only the calling thread, so a child of a process whose pool has started has the
 * pool's state but none of its workers. Each child here runs threaded jobs under alarm(): a child
 * that waits for workers it does not have dies of SIGALRM, and the parent (which waits with its
 * own bound and kills a child past it) reports a hang instead of hanging itself. */
#ifndef _WIN32 /* fork() and pthread_atfork exist on POSIX only; the Windows build has nothing to test here */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cnn_internal.h"
#include "test_util.h"

#define JOB_SIZE 4096
#define CHILD_ALARM_SECONDS 20 /* generous: the machine may be loaded; a hang is forever */
#define PARENT_WAIT_SECONDS 40

typedef struct {
    atomic_llong covered;  /* elements visited */
    atomic_int chunks_run; /* chunks visited */
} job_state;

static void count_task(void* arg, int64_t begin, int64_t end, int32_t chunk) {
    (void)chunk;
    job_state* job = arg;
    atomic_fetch_add(&job->covered, end - begin);
    atomic_fetch_add(&job->chunks_run, 1);
}

/* One threaded job (2 chunks on a 2-thread context); 1 if every element was visited once. */
static int run_job(cnn_context* ctx) {
    job_state job;
    atomic_init(&job.covered, 0);
    atomic_init(&job.chunks_run, 0);
    cnn_parallel_for(ctx, JOB_SIZE, 1, count_task, &job);
    return atomic_load(&job.covered) == JOB_SIZE &&
           atomic_load(&job.chunks_run) == cnn_parallel_chunks(ctx, JOB_SIZE, 1);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Forks; the child runs `jobs` threaded jobs and exits 0 if all were right. Returns 1 if the
 * child exited 0 within the bound, else reports how it ended. */
static int fork_and_run_jobs(cnn_context* ctx, int jobs) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        EXPECT(0, "fork failed");
        return 0;
    }
    if (pid == 0) {
        alarm(CHILD_ALARM_SECONDS);
        int ok = 1;
        for (int i = 0; i < jobs; i++) ok &= run_job(ctx);
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    long waited_ms = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && waited_ms < PARENT_WAIT_SECONDS * 1000L) {
        sleep_ms(10);
        waited_ms += 10;
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        EXPECT(0, "the child did not finish within %d s (hung in the thread pool)", PARENT_WAIT_SECONDS);
        return 0;
    }
    if (WIFSIGNALED(status)) {
        EXPECT(0, "the child died of signal %d%s", WTERMSIG(status),
               WTERMSIG(status) == SIGALRM ? " (SIGALRM: a threaded op hung in the child)" : "");
        return 0;
    }
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited with status %d (3: a job "
           "visited the wrong elements)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_child_after_threaded_op(cnn_context* ctx) {
    EXPECT(run_job(ctx), "threaded job before fork");
    fork_and_run_jobs(ctx, 3);
    EXPECT(run_job(ctx), "threaded job in the parent after fork");
    /* A child of a child: the reset pool started again in the first child and must reset again. */
    fork_and_run_jobs(ctx, 1);
}

/* Forks while another thread keeps the pool busy: the fork handlers must leave the lock usable
 * on both sides and the child's pool idle. */
static atomic_int g_stop;
static void* busy_loop(void* arg) {
    cnn_context* ctx = NULL;
    (void)arg;
    if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS) return NULL;
    cnn_context_set_num_threads(ctx, 2);
    int ok = 1;
    while (!atomic_load(&g_stop)) ok &= run_job(ctx);
    cnn_context_destroy(ctx);
    return ok ? (void*)1 : NULL;
}

static void test_fork_while_another_thread_runs_jobs(cnn_context* ctx) {
    pthread_t t;
    atomic_store(&g_stop, 0);
    if (pthread_create(&t, NULL, busy_loop, NULL) != 0) {
        EXPECT(0, "pthread_create failed");
        return;
    }
    int children_ok = 0;
    for (int i = 0; i < 10; i++) {
        children_ok += fork_and_run_jobs(ctx, 2);
        sleep_ms(1);
    }
    atomic_store(&g_stop, 1);
    void* result = NULL;
    pthread_join(t, &result);
    EXPECT(result != NULL, "the busy thread's jobs were right");
    EXPECT(children_ok == 10, "%d of 10 children ran their jobs", children_ok);
    EXPECT(run_job(ctx), "threaded job in the parent afterwards");
}

int main(void) {
    cnn_context* ctx = NULL;
    EXPECT_STATUS(cnn_context_create(&ctx), CNN_STATUS_SUCCESS);
    if (ctx == NULL) return test_finish("test_threadpool_fork");
    EXPECT_STATUS(cnn_context_set_num_threads(ctx, 2), CNN_STATUS_SUCCESS);
    if (cnn_cpu_hardware_threads() < 2)
        fprintf(stderr, "note: 1 hardware thread, so the pool has no workers and every job runs "
                        "serially; the fork paths still run but cannot hang\n");
    test_child_after_threaded_op(ctx);
    test_fork_while_another_thread_runs_jobs(ctx);
    cnn_context_destroy(ctx);
    return test_finish("test_threadpool_fork");
}

#else
#include <stdio.h>

int main(void)
{
    puts("test_threadpool_fork: Windows has no fork(); nothing to test");
    return 0;
}
#endif
