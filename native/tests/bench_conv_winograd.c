/* bench_conv_winograd.c — Winograd F(4x4, 3x3) vs the GEMM driver on one 3x3 stride-1 pad-1
 * shape, both micro-kernels, calling the internal drivers directly (whatever the routing rule
 * picks), with the max error of Winograd against GEMM in units of the oracle tolerance
 * (abs 1e-4 + rel 1e-4). For re-measuring the rule in cnn_f32_conv2d_winograd_suits.
 * Usage: bench_conv_winograd N C HW OC [threads]   (square HW x HW input, OC output channels)
 * Not a ctest program. Build by hand against a Release build (it reaches internal headers):
 *   gcc -O2 -std=c11 -Inative/include -Inative/src -Inative/tests \
 *       native/tests/bench_conv_winograd.c build/native/native/libcnnnative_static.a \
 *       -lpthread -lm -o build/bench_conv_winograd
 * Columns: median process CPU time per thread (ms) and GFLOP/s of the direct-conv FLOPs. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "cnn/cnn.h"
#include "cnn_internal.h"
#include "kernels/f32-gemm.h"

typedef struct {
    cnn_context* ctx;
    const cnn_conv2d_params* p;
    int32_t oh, ow;
    const float *in, *w, *b;
    float* out;
    int winograd, avx512;
} run_args;

static void run(void* arg) {
    const run_args* r = (const run_args*)arg;
    const cnn_f32_gemm_ukernel* uk =
        r->avx512 ? &cnn_f32_ukernel_8x32_avx512 : &cnn_f32_ukernel_6x16_avx2;
    if (r->winograd)
        cnn_f32_conv2d_winograd(r->ctx, r->p, r->oh, r->ow, r->in, r->w, r->b,
                                CNN_ACTIVATION_RELU, r->out, uk,
                                r->avx512 ? &cnn_f32_winograd_4x4_avx512
                                          : &cnn_f32_winograd_4x4_avx2);
    else
        cnn_f32_conv2d_gemm(r->ctx, r->p, r->oh, r->ow, r->in, r->w, r->b, CNN_ACTIVATION_RELU,
                            r->out, uk);
}

int main(int argc, char** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s N C HW OC [threads]\n", argv[0]);
        return 2;
    }
    const int n = atoi(argv[1]), ic = atoi(argv[2]), hw = atoi(argv[3]), oc = atoi(argv[4]);
    const int threads = argc > 5 ? atoi(argv[5]) : 1;
    const cnn_conv2d_params p = bench_conv_params(n, ic, hw, hw, oc, 3, 1, 1, 1);
    const size_t in_n = (size_t)n * ic * hw * hw, w_n = (size_t)oc * ic * 9;
    const size_t out_n = (size_t)n * oc * hw * hw;
    float* in = random_buffer(in_n, 1);
    float* w = random_buffer(w_n, 2);
    float* b = random_buffer((size_t)oc, 3);
    for (size_t i = 0; i < w_n; i++) w[i] /= sqrtf(9.0f * ic); /* outputs O(1), like the oracle */
    float* gemm_out = (float*)malloc(out_n * sizeof(float));
    float* wino_out = (float*)malloc(out_n * sizeof(float));
    const double flops = 2.0 * n * oc * hw * hw * (double)ic * 9;
    for (int avx512 = 0; avx512 < 2; avx512++) {
        if (avx512 ? !cnn_cpu_has_avx512() : !cnn_cpu_has_avx2()) continue;
        cnn_context* ctx = bench_context(avx512 ? CNN_ISA_AVX512 : CNN_ISA_AVX2, threads);
        if (ctx == NULL) return 1;
        run_args r = {ctx, &p, hw, hw, in, w, b, gemm_out, 0, avx512};
        const bench_times tg = bench_measure(run, &r, threads, 0);
        r.winograd = 1;
        r.out = wino_out;
        const bench_times tw = bench_measure(run, &r, threads, 0);
        double err = 0.0;
        for (size_t i = 0; i < out_n; i++) {
            const double e = fabs(gemm_out[i] - wino_out[i]) / (1e-4 + 1e-4 * fabs(gemm_out[i]));
            if (e > err) err = e;
        }
        printf("N=%d %d->%d @%dx%d %-6s %d thr: gemm %8.3f ms %6.1f GF/s | winograd %8.3f ms "
               "%6.1f GF/s | x%.2f | err %.3f of tol\n",
               n, ic, oc, hw, hw, avx512 ? "avx512" : "avx2", threads, tg.cpu * 1e3,
               flops / tg.cpu * 1e-9, tw.cpu * 1e3, flops / tw.cpu * 1e-9, tg.cpu / tw.cpu, err);
        cnn_context_destroy(ctx);
    }
    free(in);
    free(w);
    free(b);
    free(gemm_out);
    free(wino_out);
    return 0;
}
