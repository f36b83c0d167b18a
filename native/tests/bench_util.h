/* bench_util.h — timing and input helpers shared by the hand-run benchmarks (bench_*.c). */
#ifndef CNN_BENCH_UTIL_H
#define CNN_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn/cnn.h"
#include "test_util.h" /* test_conv2d_params (inline) */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): on a loaded machine, wall time counts the time
 * other processes hold the cores; CPU time / threads does not (it ignores load imbalance). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static float* random_buffer(size_t count, unsigned seed) {
    float* v = (float*)malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
    return v;
}


/* Times run(arg) (after one warm-up call): at least 5 runs, more until ~1 s (at most 64; stop
 * after 2 s when `slow`). Returns the median and best wall time and the median CPU time per
 * thread, in seconds. */
typedef struct {
    double median, best, cpu;
} bench_times;

static bench_times bench_measure(void (*run)(void*), void* arg, int threads, int slow) {
    double times[64], cpu_times[64], total = 0.0;
    int runs = 0;
    run(arg);
    while (runs < 5 || (total < 1.0 && runs < 64)) {
        const double t0 = now(), c0 = cpu_now();
        run(arg);
        times[runs] = now() - t0;
        cpu_times[runs] = (cpu_now() - c0) / threads;
        total += times[runs++];
        if (slow && total > 2.0) break;
    }
    qsort(times, (size_t)runs, sizeof times[0], compare_double);
    qsort(cpu_times, (size_t)runs, sizeof cpu_times[0], compare_double);
    bench_times t = {times[runs / 2], times[0], cpu_times[runs / 2]};
    return t;
}

/* A context running `isa` on `threads` threads, or NULL (destroyed) when the CPU lacks it. */
static inline cnn_context* bench_context(cnn_isa isa, int threads) {
    cnn_context* ctx = NULL;
    if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS ||
        cnn_context_set_isa(ctx, isa) != CNN_STATUS_SUCCESS ||
        cnn_context_set_num_threads(ctx, threads) != CNN_STATUS_SUCCESS) {
        cnn_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

/* A square-kernel conv2d shape: symmetric padding, dilation 1. */
static inline cnn_conv2d_params bench_conv_params(int n, int ic, int h, int w, int oc, int k,
                                                  int stride, int pad, int groups) {
    cnn_conv2d_params p = test_conv2d_params(n, ic, h, w, oc, k, k);
    p.stride_height = p.stride_width = stride;
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
    p.groups = groups;
    return p;
}

#endif /* CNN_BENCH_UTIL_H */
