/* bench_conv_backward.c — cnn_conv2d_backward_data / _weights (with bias), AVX2 vs AVX-512,
 * 1 and 2 threads: GFLOP/s of the median wall, best wall and median CPU time per thread (see
 * bench_util.h). Shapes: LeNet-5's convs at the training batch, ResNet-style 3x3 convs.
 * Usage: bench_conv_backward [substring of the case names to run]
 * Not a ctest program. Build by hand against a Release build, e.g.:
 *   gcc -O2 -std=c11 -Inative/include native/tests/bench_conv_backward.c \
 *       build/native/native/libcnnnative_static.a -lpthread -lm -o build/bench_conv_backward
 * FLOPs of each gradient = 2 * N * OC * OH * OW * IC * KH * KW. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnn/cnn.h"
#include "bench_util.h"

typedef struct {
    const char* name;
    int n, ic, h, w, oc, k, stride, pad;
} bench_case;

typedef struct {
    cnn_context* ctx;
    const cnn_conv2d_params* p;
    int weights; /* 0: data gradient, 1: weight + bias gradient */
    const float *x, *w, *dy;
    float *dx, *dw, *db;
} backward_run;

static void run_backward(void* arg) {
    const backward_run* r = (const backward_run*)arg;
    if (r->weights)
        cnn_conv2d_backward_weights(r->ctx, r->p, r->x, r->dy, 0, r->dw, r->db);
    else
        cnn_conv2d_backward_data(r->ctx, r->p, r->dy, r->w, 0, r->dx);
}

int main(int argc, char** argv) {
    const bench_case cases[] = {
        {"lenet conv1 1->6 5x5", 64, 1, 32, 32, 6, 5, 1, 0},
        {"lenet conv2 6->16 5x5", 64, 6, 14, 14, 16, 5, 1, 0},
        {"3x3 64->64 56x56", 1, 64, 56, 56, 64, 3, 1, 1},
        {"3x3 64->64 56x56", 8, 64, 56, 56, 64, 3, 1, 1},
        {"3x3 256->256 14x14", 8, 256, 14, 14, 256, 3, 1, 1},
        {"3x3/2 64->128 56x56", 8, 64, 56, 56, 128, 3, 2, 1},
    };
    const char* filter = argc > 1 ? argv[1] : NULL;
    printf("%-22s %3s %-7s %-7s %3s %10s %8s %8s %8s\n", "layer", "N", "grad", "isa", "thr",
           "median ms", "GFLOP/s", "best", "cpu");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bench_case* b = &cases[c];
        if (filter != NULL && strstr(b->name, filter) == NULL) continue;
        cnn_conv2d_params p =
            bench_conv_params(b->n, b->ic, b->h, b->w, b->oc, b->k, b->stride, b->pad, 1);
        int32_t oh, ow;
        if (cnn_conv2d_output_size(&p, &oh, &ow) != CNN_STATUS_SUCCESS) return 1;
        const size_t in_n = (size_t)b->n * b->ic * b->h * b->w;
        const size_t w_n = (size_t)b->oc * b->ic * b->k * b->k;
        const size_t out_n = (size_t)b->n * b->oc * oh * ow;
        const double flops = 2.0 * b->n * b->oc * oh * ow * (double)b->ic * b->k * b->k;
        float* x = random_buffer(in_n, 1);
        float* w = random_buffer(w_n, 2);
        float* dy = random_buffer(out_n, 3);
        float* dx = (float*)malloc(in_n * sizeof(float));
        float* dw = (float*)malloc(w_n * sizeof(float));
        float* db = (float*)malloc((size_t)b->oc * sizeof(float));
        const cnn_isa isas[2] = {CNN_ISA_AVX2, CNN_ISA_AVX512};
        const char* isa_names[2] = {"avx2", "avx512"};
        for (int weights = 0; weights < 2; weights++)
            for (int i = 0; i < 2; i++)
                for (int threads = 1; threads <= 2; threads++) {
                    cnn_context* ctx = bench_context(isas[i], threads);
                    if (ctx == NULL) return 1;
                    backward_run run = {ctx, &p, weights, x, w, dy, dx, dw, db};
                    const bench_times t = bench_measure(run_backward, &run, threads, 1);
                    printf("%-22s %3d %-7s %-7s %3d %10.3f %8.1f %8.1f %8.1f\n", b->name, b->n,
                           weights ? "weights" : "data", isa_names[i], threads, t.median * 1e3,
                           flops / t.median * 1e-9, flops / t.best * 1e-9, flops / t.cpu * 1e-9);
                    fflush(stdout);
                    cnn_context_destroy(ctx);
                }
        free(x);
        free(w);
        free(dy);
        free(dx);
        free(dw);
        free(db);
    }
    return 0;
}
