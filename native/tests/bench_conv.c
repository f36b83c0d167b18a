/* bench_conv.c — GFLOP/s of cnn_conv2d_forward, reference vs AVX2, on 1 and 2 threads.
 * Not a ctest program (no test_ prefix). Build by hand against a Release build, e.g.:
 *   gcc -O2 -std=c11 -Inative/include native/tests/bench_conv.c \
 *       build/native/native/libcnnnative_static.a -lpthread -lm -o build/bench_conv
 * FLOPs = 2 * N * OC * OH * OW * (IC/groups) * KH * KW; the best time of several runs. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn/cnn.h"

typedef struct {
    const char* name;
    int n, ic, h, w, oc, k, stride, pad, groups;
} bench_case;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float* random_buffer(size_t count, unsigned seed) {
    float* v = (float*)malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
    return v;
}

int main(int argc, char** argv) {
    const bench_case cases[] = {
        {"3x3 64->64 56x56 N=1", 1, 64, 56, 56, 64, 3, 1, 1, 1},
        {"3x3 64->64 56x56 N=8", 8, 64, 56, 56, 64, 3, 1, 1, 1},
        {"7x7/2 3->64 224x224", 1, 3, 224, 224, 64, 7, 2, 3, 1},
        {"1x1 256->64 56x56", 1, 256, 56, 56, 64, 1, 1, 0, 1},
        {"dw 3x3 144ch 56x56", 1, 144, 56, 56, 144, 3, 1, 1, 144},
        {"3x3 256->256 14x14", 1, 256, 14, 14, 256, 3, 1, 1, 1},
        {"3x3 512->512 7x7", 1, 512, 7, 7, 512, 3, 1, 1, 1},
    };
    const int skip_reference = argc > 1 && strcmp(argv[1], "--no-reference") == 0;
    printf("%-24s %-10s %8s %10s %10s\n", "layer", "isa", "threads", "ms", "GFLOP/s");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bench_case* b = &cases[c];
        cnn_conv2d_params p;
        memset(&p, 0, sizeof p);
        p.batch = b->n;
        p.in_channels = b->ic;
        p.in_height = b->h;
        p.in_width = b->w;
        p.out_channels = b->oc;
        p.kernel_height = p.kernel_width = b->k;
        p.stride_height = p.stride_width = b->stride;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = b->pad;
        p.dilation_height = p.dilation_width = 1;
        p.groups = b->groups;
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
        const cnn_isa isas[2] = {CNN_ISA_REFERENCE, CNN_ISA_AVX2};
        for (int i = skip_reference ? 1 : 0; i < 2; i++) {
            for (int threads = 1; threads <= 2; threads++) {
                cnn_context* ctx = NULL;
                if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS) return 1;
                if (cnn_context_set_isa(ctx, isas[i]) != CNN_STATUS_SUCCESS) return 1;
                cnn_context_set_num_threads(ctx, threads);
                if (cnn_conv2d_forward(ctx, &p, in, w, bias, CNN_ACTIVATION_RELU, out) !=
                    CNN_STATUS_SUCCESS) {
                    fprintf(stderr, "%s\n", cnn_get_last_error());
                    return 1;
                }
                double best = 1e30, total = 0.0;
                int runs = 0;
                while (runs < 3 || (total < 1.0 && runs < 50)) {
                    const double t0 = now();
                    cnn_conv2d_forward(ctx, &p, in, w, bias, CNN_ACTIVATION_RELU, out);
                    const double t = now() - t0;
                    if (t < best) best = t;
                    total += t;
                    runs++;
                    if (i == 0 && total > 2.0) break;
                }
                printf("%-24s %-10s %8d %10.3f %10.1f\n", b->name, i == 0 ? "reference" : "avx2",
                       threads, best * 1e3, flops / best * 1e-9);
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
