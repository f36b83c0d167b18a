/* bench_training.c — ms per call of the LeNet-5 training shapes at batch 64: forward, backward
 * data, backward weights (+ bias), reference vs AVX2, 1 and 2 threads. Not a ctest program.
 * Build by hand against a Release build:
 *   gcc -O2 -std=c11 -Inative/include native/tests/bench_training.c \
 *       build/native/native/libcnnnative_static.a -lpthread -lm -o build/bench_training
 * Best of 31 timed runs (each >= 2 ms of repetitions) after warm-up. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h" /* now, random_buffer, compare_double */

typedef struct {
    int conv; /* 1 conv, 0 linear */
    cnn_conv2d_params p;
    int batch, in_f, out_f;
    float *x, *w, *b, *y, *dy, *gx, *gw, *gb;
} layer;

static cnn_status run(cnn_context* ctx, const layer* l, int what) {
    if (l->conv) {
        switch (what) {
            case 0:
                return cnn_conv2d_forward(ctx, &l->p, l->x, l->w, l->b, CNN_ACTIVATION_NONE, l->y);
            case 1: return cnn_conv2d_backward_data(ctx, &l->p, l->dy, l->w, 0, l->gx);
            default: return cnn_conv2d_backward_weights(ctx, &l->p, l->x, l->dy, 0, l->gw, l->gb);
        }
    }
    switch (what) {
        case 0:
            return cnn_linear_forward(ctx, l->batch, l->in_f, l->out_f, l->x, l->w, l->b,
                                      CNN_ACTIVATION_NONE, l->y);
        case 1:
            return cnn_linear_backward_data(ctx, l->batch, l->in_f, l->out_f, l->dy, l->w, 0,
                                            l->gx);
        default:
            return cnn_linear_backward_weights(ctx, l->batch, l->in_f, l->out_f, l->x, l->dy, 0,
                                               l->gw, l->gb);
    }
}

static double time_ms(cnn_context* ctx, const layer* l, int what) {
    double t[31];
    const int runs = 31;
    for (int i = 0; i < 5; i++) run(ctx, l, what);
    for (int i = 0; i < runs; i++) {
        const double t0 = now();
        int reps = 0;
        do {
            if (run(ctx, l, what) != CNN_STATUS_SUCCESS) {
                fprintf(stderr, "failed: %s\n", cnn_get_last_error());
                exit(1);
            }
            reps++;
        } while (now() - t0 < 2e-3);
        t[i] = (now() - t0) / reps * 1e3;
    }
    qsort(t, runs, sizeof(double), compare_double);
    return t[0]; /* best: the machine is shared, the median is noisy */
}

static layer make_conv(int n, int ic, int h, int oc, int k, int pad) {
    layer l;
    memset(&l, 0, sizeof l);
    l.conv = 1;
    cnn_conv2d_params* p = &l.p;
    p->batch = n, p->in_channels = ic, p->in_height = p->in_width = h, p->out_channels = oc;
    p->kernel_height = p->kernel_width = k, p->stride_height = p->stride_width = 1;
    p->pad_top = p->pad_bottom = p->pad_left = p->pad_right = pad;
    p->dilation_height = p->dilation_width = 1, p->groups = 1;
    int32_t oh, ow;
    cnn_conv2d_output_size(p, &oh, &ow);
    size_t in = (size_t)n * ic * h * h, w = (size_t)oc * ic * k * k, out = (size_t)n * oc * oh * ow;
    l.x = random_buffer(in, 1), l.w = random_buffer(w, 2), l.b = random_buffer(oc, 3), l.y = random_buffer(out, 4), l.dy = random_buffer(out, 5);
    l.gx = random_buffer(in, 6), l.gw = random_buffer(w, 7), l.gb = random_buffer(oc, 8);
    return l;
}

static layer make_linear(int n, int in_f, int out_f) {
    layer l;
    memset(&l, 0, sizeof l);
    l.batch = n, l.in_f = in_f, l.out_f = out_f;
    size_t in = (size_t)n * in_f, w = (size_t)out_f * in_f, out = (size_t)n * out_f;
    l.x = random_buffer(in, 1), l.w = random_buffer(w, 2), l.b = random_buffer(out_f, 3), l.y = random_buffer(out, 4), l.dy = random_buffer(out, 5);
    l.gx = random_buffer(in, 6), l.gw = random_buffer(w, 7), l.gb = random_buffer(out_f, 8);
    return l;
}

int main(void) {
    const int n = 64;
    layer layers[5] = {make_conv(n, 1, 28, 6, 5, 2), make_conv(n, 6, 14, 16, 5, 0),
                       make_linear(n, 400, 120), make_linear(n, 120, 84), make_linear(n, 84, 10)};
    const char* names[5] = {"conv1 1->6 5x5 p2 28x28", "conv2 6->16 5x5 14x14", "fc1 400->120",
                            "fc2 120->84", "fc3 84->10"};
    const char* what[3] = {"forward", "bwd data", "bwd weights"};
    const cnn_isa isas[2] = {CNN_ISA_REFERENCE, CNN_ISA_AVX2};
    const int threads[2] = {1, 2};
    cnn_context* ctx;
    cnn_context_create(&ctx);
    double total[2][2] = {{0, 0}, {0, 0}};
    printf("LeNet-5 batch %d, ms per call (best of 31 runs)\n", n);
    printf(
        "| layer | pass | ref 1T | ref 2T | avx2 1T | avx2 2T |\n|---|---|---:|---:|---:|---:|\n");
    for (int li = 0; li < 5; li++)
        for (int wi = 0; wi < 3; wi++) {
            printf("| %s | %s |", names[li], what[wi]);
            for (int ii = 0; ii < 2; ii++)
                for (int ti = 0; ti < 2; ti++) {
                    cnn_context_set_isa(ctx, isas[ii]);
                    cnn_context_set_num_threads(ctx, threads[ti]);
                    const double ms = time_ms(ctx, &layers[li], wi);
                    if (!(li == 0 && wi == 1))
                        total[ii][ti] += ms; /* conv1's input needs no grad */
                    printf(" %.4f |", ms);
                }
            printf("\n");
        }
    printf("| total (without conv1 bwd data) | | %.3f | %.3f | %.3f | %.3f |\n", total[0][0],
           total[0][1], total[1][0], total[1][1]);
    cnn_context_destroy(ctx);
    return 0;
}
