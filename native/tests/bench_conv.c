/* bench_conv.c — GFLOP/s of cnn_conv2d_forward, AVX2 vs AVX-512 (and the reference with
 * --reference), on 1 and 2 threads, batch 1 and 8; the median of several runs.
 * Usage: bench_conv [--reference] [substring of the layer names to run]
 * Columns: GFLOP/s of the median wall time, of the best wall time, and of the median process
 * CPU time divided by the threads (a busy shared machine skews the first two). 
 * Not a ctest program (no test_ prefix). Build by hand against a Release build, e.g.:
 *   gcc -O2 -std=c11 -Inative/include native/tests/bench_conv.c \
 *       build/native/native/libcnnnative_static.a -lpthread -lm -o build/bench_conv
 * FLOPs = 2 * N * OC * OH * OW * (IC/groups) * KH * KW. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn/cnn.h"
#include "bench_util.h"

typedef struct {
    const char* name;
    int n, ic, h, w, oc, k, stride, pad, groups;
} bench_case;

typedef struct {
    cnn_context* ctx;
    const cnn_conv2d_params* p;
    const float *in, *w, *bias;
    float* out;
} conv_run;

static void run_conv(void* arg) {
    const conv_run* r = (const conv_run*)arg;
    cnn_conv2d_forward(r->ctx, r->p, r->in, r->w, r->bias, CNN_ACTIVATION_RELU, r->out);
}

int main(int argc, char** argv) {
    const bench_case shapes[] = { /* the benchmark suite's conv layers, at batch 1 */
        {"7x7/2 3->64 224x224", 1, 3, 224, 224, 64, 7, 2, 3, 1},
        {"3x3 64->64 56x56", 1, 64, 56, 56, 64, 3, 1, 1, 1},
        {"3x3 128->128 28x28", 1, 128, 28, 28, 128, 3, 1, 1, 1},
        {"3x3 256->256 14x14", 1, 256, 14, 14, 256, 3, 1, 1, 1},
        {"3x3 512->512 7x7", 1, 512, 7, 7, 512, 3, 1, 1, 1},
        {"1x1 256->64 56x56", 1, 256, 56, 56, 64, 1, 1, 0, 1},
        {"1x1 64->256 56x56", 1, 64, 56, 56, 256, 1, 1, 0, 1},
        {"3x3/2 64->128 56x56", 1, 64, 56, 56, 128, 3, 2, 1, 1},
        {"dw 3x3 144ch 56x56", 1, 144, 56, 56, 144, 3, 1, 1, 144},
        {"dw 3x3/2 96ch 112x112", 1, 96, 112, 112, 96, 3, 2, 1, 96},
        {"dw 3x3/2 144ch 56x56", 1, 144, 56, 56, 144, 3, 2, 1, 144},
        {"11x11/4 3->96 227x227", 1, 3, 227, 227, 96, 11, 4, 0, 1},
    };
    const size_t num_shapes = sizeof shapes / sizeof shapes[0];
    bench_case cases[2 * sizeof shapes / sizeof shapes[0]];
    for (size_t s = 0; s < num_shapes; s++) {
        cases[2 * s] = shapes[s];
        cases[2 * s + 1] = shapes[s];
        cases[2 * s + 1].n = 8;
    }
    int with_reference = 0;
    const char* filter = NULL;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--reference") == 0)
            with_reference = 1;
        else
            filter = argv[a];
    }
    printf("%-24s %4s %-10s %8s %10s %10s %10s %10s\n", "layer", "N", "isa", "threads",
           "median ms", "GFLOP/s", "best", "cpu");
    for (size_t c = 0; c < 2 * num_shapes; c++) {
        const bench_case* b = &cases[c];
        if (filter != NULL && strstr(b->name, filter) == NULL) continue;
        cnn_conv2d_params p =
            bench_conv_params(b->n, b->ic, b->h, b->w, b->oc, b->k, b->stride, b->pad, b->groups);
        int32_t oh, ow;
        if (cnn_conv2d_output_size(&p, &oh, &ow) != CNN_STATUS_SUCCESS) return 1;
        const size_t in_n = (size_t)b->n * b->ic * b->h * b->w;
        const size_t w_n = (size_t)b->oc * (b->ic / b->groups) * b->k * b->k;
        const size_t out_n = (size_t)b->n * b->oc * oh * ow;
        const double flops =
            2.0 * b->n * b->oc * oh * ow * (double)(b->ic / b->groups) * b->k * b->k;
        float* in = random_buffer(in_n, 1);
        float* w = random_buffer(w_n, 2);
        float* bias = random_buffer((size_t)b->oc, 3);
        float* out = (float*)malloc(out_n * sizeof(float));
        const cnn_isa isas[3] = {CNN_ISA_REFERENCE, CNN_ISA_AVX2, CNN_ISA_AVX512};
        const char* isa_names[3] = {"reference", "avx2", "avx512"};
        for (int i = with_reference ? 0 : 1; i < 3; i++) {
            for (int threads = 1; threads <= 2; threads++) {
                cnn_context* ctx = bench_context(isas[i], threads);
                if (ctx == NULL) return 1;
                if (cnn_conv2d_forward(ctx, &p, in, w, bias, CNN_ACTIVATION_RELU, out) !=
                    CNN_STATUS_SUCCESS) {
                    fprintf(stderr, "%s\n", cnn_get_last_error());
                    return 1;
                }
                conv_run run = {ctx, &p, in, w, bias, out};
                const bench_times t = bench_measure(run_conv, &run, threads, i == 0);
                printf("%-24s %4d %-10s %8d %10.3f %10.1f %10.1f %10.1f\n", b->name, b->n,
                       isa_names[i], threads, t.median * 1e3, flops / t.median * 1e-9,
                       flops / t.best * 1e-9, flops / t.cpu * 1e-9);
                fflush(stdout);
                cnn_context_destroy(ctx);
            }
        }
        free(in);
        free(w);
        free(bias);
        free(out);
    }
    return 0;
}
