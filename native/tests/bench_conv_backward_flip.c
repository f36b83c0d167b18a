/* bench_conv_backward_flip.c — cnn_conv2d_backward_data on ResNet-18's stride-1 3x3 layers at
 * 3x64x64 batch 32 (64@16x16, 128@8x8, 256@4x4, 512@2x2), 1 thread, best ISA: the forward-
 * convolution route (f32-conv2d-backward-flip.c) against the GEMM + col2im path, interleaved
 * round by round in one process (the machine may be loaded), median wall per path and the ratio.
 * Usage: bench_conv_backward_flip [rounds]   (default 9)
 * Not a ctest program. Build by hand against a Release build, e.g.:
 *   gcc -O2 -std=c11 -Inative/include native/tests/bench_conv_backward_flip.c \
 *       build/native/native/libcnnnative_static.a -lpthread -lm -o build/bench_conv_backward_flip */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "cnn/cnn.h"
#include "bench_util.h"

/* The route switch of the static library (f32-conv2d-backward-flip.h), for this comparison. */
extern int cnn_conv2d_backward_data_flip_enabled;

#define MAX_ROUNDS 64

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "rounds = %d is out of range [1, %d]\n", rounds, MAX_ROUNDS);
        return 2;
    }
    static const int layers[][2] = {{64, 16}, {128, 8}, {256, 4}, {512, 2}}; /* channels, size */
    cnn_context* ctx = bench_context(CNN_ISA_AUTO, 1);
    if (ctx == NULL) return 1;
    cnn_isa isa;
    cnn_context_get_isa(ctx, &isa);
    printf("isa %d, 1 thread, %d rounds, batch 32, 3x3 pad 1 stride 1\n", (int)isa, rounds);
    printf("%-10s %12s %12s %8s\n", "layer", "col2im ms", "forward ms", "speedup");
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const int c = layers[l][0], hw = layers[l][1];
        const cnn_conv2d_params p = bench_conv_params(32, c, hw, hw, c, 3, 1, 1, 1);
        const size_t act = (size_t)32 * c * hw * hw, wn = (size_t)c * c * 9;
        float* w = random_buffer(wn, 2);
        float* dy = random_buffer(act, 3);
        float* dx = (float*)malloc(act * sizeof(float));
        double t[2][MAX_ROUNDS];
        for (int mode = 0; mode < 2; mode++) { /* warm-up: scratch, caches */
            cnn_conv2d_backward_data_flip_enabled = mode;
            cnn_conv2d_backward_data(ctx, &p, dy, w, 0, dx);
        }
        for (int r = 0; r < rounds; r++)
            for (int mode = 0; mode < 2; mode++) {
                cnn_conv2d_backward_data_flip_enabled = mode;
                const double t0 = now();
                for (int rep = 0; rep < 3; rep++) cnn_conv2d_backward_data(ctx, &p, dy, w, 0, dx);
                t[mode][r] = (now() - t0) / 3;
            }
        qsort(t[0], (size_t)rounds, sizeof(double), compare_double);
        qsort(t[1], (size_t)rounds, sizeof(double), compare_double);
        char name[32];
        snprintf(name, sizeof name, "%d@%dx%d", c, hw, hw);
        printf("%-10s %12.3f %12.3f %8.2f\n", name, t[0][rounds / 2] * 1e3, t[1][rounds / 2] * 1e3,
               t[0][rounds / 2] / t[1][rounds / 2]);
        fflush(stdout);
        free(w);
        free(dy);
        free(dx);
    }
    cnn_context_destroy(ctx);
    cnn_conv2d_backward_data_flip_enabled = 1;
    return 0;
}
