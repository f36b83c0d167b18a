/* bench_pool.c — GB/s (input read) of cnn_pool2d_forward (max and average 3x3/2 pad 1, the
 * ResNet stem pool) and cnn_batch_norm2d_inference, per ISA, on 1 and 2 threads.
 * Not a ctest program (no test_ prefix). Build by hand against a Release build, e.g.:
 *   gcc -O2 -std=c11 -Inative/include -Inative/tests native/tests/bench_pool.c \
 *       native/tests/test_util.c build/native/native/libcnnnative_static.a -lpthread -lm \
 *       -o build/bench_pool
 * Prints, over 25 runs of a batch of calls, the median and best wall time per call and the
 * median CPU time of the calling thread (on a shared, oversubscribed machine the wall time
 * includes time the thread waited for a core; the 1-thread CPU time does not). */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn/cnn.h"
#include "test_util.h"

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    int op; /* 0 max pool, 1 avg pool, 2 batch norm */
    int batch;
} bench_case;

typedef struct {
    double median, best, cpu_median; /* seconds per call */
} timing;

static timing run_case(cnn_context* ctx, const bench_case* b, const float* in, float* out,
                       const float* stats) {
    cnn_pool2d_params p;
    memset(&p, 0, sizeof p);
    p.kind = b->op == 0 ? CNN_POOL_MAX : CNN_POOL_AVERAGE;
    p.batch = b->batch;
    p.channels = 64;
    p.in_height = p.in_width = 112;
    p.kernel_height = p.kernel_width = 3;
    p.stride_height = p.stride_width = 2;
    p.pad_height = p.pad_width = 1;
    p.dilation_height = p.dilation_width = 1;
    p.count_include_pad = 1;
    cnn_batch_norm2d_params bn = {b->batch, 64, 56, 56, 1e-5f};
    enum { RUNS = 25 };
    double t[RUNS], cpu[RUNS];
    const int reps = b->batch == 1 ? 20 : 4;
    for (int r = -2; r < RUNS; r++) {
        const double t0 = clock_seconds(CLOCK_MONOTONIC);
        const double c0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < reps; i++) {
            cnn_status s = b->op == 2 ? cnn_batch_norm2d_inference(ctx, &bn, in, stats, stats + 64,
                                                                 stats + 128, stats + 192,
                                                                 CNN_ACTIVATION_NONE, out)
                                      : cnn_pool2d_forward(ctx, &p, in, out);
            if (s != CNN_STATUS_SUCCESS) {
                fprintf(stderr, "error: %s\n", cnn_get_last_error());
                exit(1);
            }
        }
        if (r >= 0) {
            t[r] = (clock_seconds(CLOCK_MONOTONIC) - t0) / reps;
            cpu[r] = (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - c0) / reps;
        }
    }
    qsort(t, RUNS, sizeof t[0], compare_double);
    qsort(cpu, RUNS, sizeof cpu[0], compare_double);
    return (timing){t[RUNS / 2], t[0], cpu[RUNS / 2]};
}

int main(void) {
    const bench_case cases[] = {{0, 1}, {0, 8}, {1, 1}, {1, 8}, {2, 1}, {2, 8}};
    const char* names[] = {"maxpool 3x3/2 64x112x112", "avgpool 3x3/2 64x112x112",
                           "batchnorm 64x56x56"};
    const cnn_isa isas[] = {CNN_ISA_AVX2, CNN_ISA_AVX512};
    const char* isa_names[] = {"avx2", "avx512"};
    float* in = test_random_floats((size_t)8 * 64 * 112 * 112, 1);
    float* out = test_random_floats((size_t)8 * 64 * 112 * 112, 2);
    float* stats = test_random_floats(256, 3);
    for (int c = 0; c < 64; c++) stats[64 + c] = 0.5f + stats[64 + c] * stats[64 + c];
    printf("%-26s %5s %-7s %7s %9s %8s %9s %8s %9s\n", "case", "batch", "isa", "threads",
           "med ms", "GB/s", "best ms", "GB/s", "cpu GB/s");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int i = 0; i < 2; i++)
            for (int threads = 1; threads <= 2; threads++) {
                cnn_context* ctx = NULL;
                if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS ||
                    cnn_context_set_isa(ctx, isas[i]) != CNN_STATUS_SUCCESS ||
                    cnn_context_set_num_threads(ctx, threads) != CNN_STATUS_SUCCESS) {
                    printf("%-26s %5d %-7s unavailable\n", names[cases[c].op], cases[c].batch,
                           isa_names[i]);
                    cnn_context_destroy(ctx);
                    continue;
                }
                const timing s = run_case(ctx, &cases[c], in, out, stats);
                const double bytes = (double)cases[c].batch * 64 *
                                     (cases[c].op == 2 ? 56 * 56 : 112 * 112) * sizeof(float);
                printf("%-26s %5d %-7s %7d %9.4f %8.2f %9.4f %8.2f", names[cases[c].op],
                       cases[c].batch, isa_names[i], threads, s.median * 1e3,
                       bytes / s.median * 1e-9, s.best * 1e3, bytes / s.best * 1e-9);
                if (threads == 1) printf(" %9.2f", bytes / s.cpu_median * 1e-9);
                printf("\n");
                cnn_context_destroy(ctx);
            }
    free(in);
    free(out);
    free(stats);
    return 0;
}
