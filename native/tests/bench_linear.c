/* bench_linear.c — cnn_linear_forward, AVX2 vs AVX-512, 1 and 2 threads: GFLOP/s and, for the
 * weight-streaming small batches, GB/s of weight read (median wall, best wall, median CPU time
 * per thread; see bench_util.h). Shapes: the VGG-16 / AlexNet classifiers and LeNet-5's layers.
 * Usage: bench_linear [--backward] [substring of the case names to run]
 * --backward times cnn_linear_backward_data + cnn_linear_backward_weights (with bias) instead
 * (FLOPs 4 * B * I * O).
 * Not a ctest program. Build by hand against a Release build, e.g.:
 *   gcc -O2 -std=c11 -Inative/include native/tests/bench_linear.c \
 *       build/native/native/libcnnnative_static.a -lpthread -lm -o build/bench_linear
 * FLOPs = 2 * B * I * O; weight bytes = 4 * I * O. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnn/cnn.h"
#include "bench_util.h"

typedef struct {
    const char* name;
    int batch, in_f, out_f;
} bench_case;

typedef struct {
    cnn_context* ctx;
    const bench_case* b;
    const float *in, *w, *bias;
    float* out;
    float *grad_in, *grad_w, *grad_b; /* backward only */
} linear_run;

static void run_linear(void* arg) {
    const linear_run* r = (const linear_run*)arg;
    cnn_linear_forward(r->ctx, r->b->batch, r->b->in_f, r->b->out_f, r->in, r->w, r->bias,
                       CNN_ACTIVATION_RELU, r->out);
}

/* out plays dY */
static void run_linear_backward(void* arg) {
    const linear_run* r = (const linear_run*)arg;
    const bench_case* b = r->b;
    cnn_linear_backward_data(r->ctx, b->batch, b->in_f, b->out_f, r->out, r->w, 0, r->grad_in);
    cnn_linear_backward_weights(r->ctx, b->batch, b->in_f, b->out_f, r->in, r->out, 0, r->grad_w,
                                r->grad_b);
}

int main(int argc, char** argv) {
    const bench_case cases[] = {
        {"vgg fc6 25088->4096", 1, 25088, 4096},  {"vgg fc6 25088->4096", 2, 25088, 4096},
        {"vgg fc6 25088->4096", 8, 25088, 4096},  {"vgg fc6 25088->4096", 16, 25088, 4096},
        {"vgg fc6 25088->4096", 32, 25088, 4096},
        {"alex fc6 9216->4096", 1, 9216, 4096},   {"fc7 4096->4096", 1, 4096, 4096},
        {"fc7 4096->4096", 4, 4096, 4096},        {"fc7 4096->4096", 16, 4096, 4096},
        {"fc7 4096->4096", 32, 4096, 4096},
        {"fc7 4096->4096", 64, 4096, 4096},       {"fc8 4096->1000", 1, 4096, 1000},
        {"lenet 400->120", 1, 400, 120},          {"lenet 400->120", 64, 400, 120},
        {"lenet 120->84", 64, 120, 84},           {"lenet 84->10", 64, 84, 10},
        {"mid 512->256", 1, 512, 256},            {"mid 512->256", 8, 512, 256},
        {"mid 1024->1024", 1, 1024, 1024},        {"mid 1024->1024", 4, 1024, 1024},
    };
    int backward = 0;
    const char* filter = NULL;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--backward") == 0)
            backward = 1;
        else
            filter = argv[a];
    }
    printf("%-22s %4s %-7s %3s %10s %8s %8s %8s %8s\n", "layer", "B", "isa", "thr", "median ms",
           "GFLOP/s", "best", "cpu", "cpu GB/s");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bench_case* b = &cases[c];
        if (filter != NULL && strstr(b->name, filter) == NULL) continue;
        const double flops = (backward ? 4.0 : 2.0) * b->batch * (double)b->in_f * b->out_f;
        const double bytes = 4.0 * (double)b->in_f * b->out_f;
        float* in = random_buffer((size_t)b->batch * b->in_f, 1);
        float* w = random_buffer((size_t)b->in_f * b->out_f, 2);
        float* bias = random_buffer((size_t)b->out_f, 3);
        float* out = random_buffer((size_t)b->batch * b->out_f, 4);
        float* grad_in = (float*)malloc((size_t)b->batch * b->in_f * sizeof(float));
        float* grad_w = (float*)malloc((size_t)b->in_f * b->out_f * sizeof(float));
        float* grad_b = (float*)malloc((size_t)b->out_f * sizeof(float));
        const cnn_isa isas[2] = {CNN_ISA_AVX2, CNN_ISA_AVX512};
        const char* isa_names[2] = {"avx2", "avx512"};
        for (int i = 0; i < 2; i++) {
            for (int threads = 1; threads <= 2; threads++) {
                cnn_context* ctx = bench_context(isas[i], threads);
                if (ctx == NULL) return 1;
                linear_run run = {ctx, b, in, w, bias, out, grad_in, grad_w, grad_b};
                const bench_times t = bench_measure(backward ? run_linear_backward : run_linear,
                                                    &run, threads, 1);
                printf("%-22s %4d %-7s %3d %10.3f %8.1f %8.1f %8.1f %8.1f\n", b->name, b->batch,
                       isa_names[i], threads, t.median * 1e3, flops / t.median * 1e-9,
                       flops / t.best * 1e-9, flops / t.cpu * 1e-9, bytes / t.cpu * 1e-9);
                fflush(stdout);
                cnn_context_destroy(ctx);
            }
        }
        free(in);
        free(w);
        free(bias);
        free(out);
        free(grad_in);
        free(grad_w);
        free(grad_b);
    }
    return 0;
}
