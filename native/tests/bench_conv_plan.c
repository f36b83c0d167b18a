/* bench_conv_plan.c — a prepacked conv plan (cnn_conv2d_plan_*) against the stateless call on
 * one 3x3 stride-1 pad-1 shape, both ISAs: the GEMM driver, Winograd transforming the weights
 * per call, Winograd with U packed once,
 * and the public calls: cnn_conv2d_forward (whatever it routes to) and cnn_conv2d_plan_forward
 * (the plan's algorithm: G = GEMM, W = Winograd); with the max error of Winograd against GEMM in
 * units of the oracle tolerance (abs 1e-4 + rel 1e-4). For re-measuring both Winograd rules
 * (cnn_f32_conv2d_winograd_suits per call, cnn_f32_conv2d_winograd_plan_suits for plans).
 * Usage: bench_conv_plan N C HW OC [threads]   (square HW x HW input, OC output channels)
 * Not a ctest program. Build by hand against a Release build (it reaches internal headers):
 *   gcc -O2 -std=c11 -Inative/include -Inative/src -Inative/tests \
 *       native/tests/bench_conv_plan.c build/native/native/libcnnnative_static.a \
 *       -lpthread -lm -o build/bench_conv_plan
 * Columns: median process CPU time per thread (ms), the lowest of 3 alternating rounds; the ratio
 * is the stateless call's time / the plan's. */
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
    const float *in, *w, *u, *b;
    float* out;
    const cnn_conv2d_plan* plan;
    int mode, avx512; /* 0 GEMM, 1 Winograd per call, 2 Winograd packed, 3 stateless, 4 plan */
} run_args;

static void run(void* arg) {
    const run_args* r = (const run_args*)arg;
    const cnn_f32_conv2d_isa* isa = r->avx512 ? &cnn_f32_conv2d_isa_avx512 : &cnn_f32_conv2d_isa_avx2;
    if (r->mode == 0)
        cnn_f32_conv2d_gemm(r->ctx, r->p, r->oh, r->ow, r->in, r->w, r->b, CNN_ACTIVATION_RELU,
                            r->out, isa->ukernel);
    else if (r->mode == 1)
        cnn_f32_conv2d_winograd(r->ctx, r->p, r->oh, r->ow, r->in, r->w, r->b,
                                CNN_ACTIVATION_RELU, r->out, isa->ukernel, isa->winograd);
    else if (r->mode == 2)
        cnn_f32_conv2d_winograd_packed(r->ctx, r->p, r->oh, r->ow, r->in, r->u, r->b,
                                       CNN_ACTIVATION_RELU, r->out, isa->ukernel, isa->winograd);
    else if (r->mode == 3)
        cnn_conv2d_forward(r->ctx, r->p, r->in, r->w, r->b, CNN_ACTIVATION_RELU, r->out);
    else
        cnn_conv2d_plan_forward(r->ctx, r->plan, r->p->batch, r->in, r->out);
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
    for (size_t i = 0; i < w_n; i++) w[i] /= sqrtf(9.0f * ic);
    float* out = (float*)malloc(out_n * sizeof(float));
    float* gemm_out = (float*)malloc(out_n * sizeof(float));
    for (int avx512 = 0; avx512 < 2; avx512++) {
        if (avx512 ? !cnn_cpu_has_avx512() : !cnn_cpu_has_avx2()) continue;
        cnn_context* ctx = bench_context(avx512 ? CNN_ISA_AVX512 : CNN_ISA_AVX2, threads);
        if (ctx == NULL) return 1;
        const cnn_f32_conv2d_isa* isa =
            avx512 ? &cnn_f32_conv2d_isa_avx512 : &cnn_f32_conv2d_isa_avx2;
        float* u = (float*)malloc(
            (size_t)cnn_f32_conv2d_winograd_packed_floats(ic, oc, isa->ukernel) * sizeof(float));
        cnn_f32_conv2d_winograd_pack(ctx, ic, oc, w, u, isa->ukernel, isa->winograd);
        cnn_conv2d_plan* plan = NULL;
        if (cnn_conv2d_plan_create(ctx, &p, w, b, CNN_ACTIVATION_RELU, &plan) != CNN_STATUS_SUCCESS)
            return 1;
        cnn_conv2d_algorithm algorithm = CNN_CONV2D_ALGORITHM_GEMM;
        cnn_conv2d_plan_get_info(plan, &algorithm, NULL, NULL, NULL);
        /* The machine is shared: the modes alternate over 3 rounds and each keeps its lowest
         * median, so a load spike during one mode's turn does not decide a ratio. */
        bench_times t[5];
        for (int round = 0; round < 3; round++)
            for (int mode = 0; mode < 5; mode++) {
                run_args r = {ctx, &p, hw, hw, in, w, u, b, mode == 0 ? gemm_out : out, plan,
                              mode, avx512};
                const bench_times m = bench_measure(run, &r, threads, 0);
                if (round == 0 || m.cpu < t[mode].cpu) t[mode] = m;
            }
        run_args r = {ctx, &p, hw, hw, in, w, u, b, out, plan, 1, avx512};
        run(&r); /* Winograd (per call; the packed one gives the same bits) */
        double err = 0.0;
        for (size_t i = 0; i < out_n; i++) {
            const double e = fabs(gemm_out[i] - out[i]) / (1e-4 + 1e-4 * fabs(gemm_out[i]));
            if (e > err) err = e;
        }
        printf("N=%d %d->%d @%dx%d %-6s %d thr: gemm %7.3f | wino/call %7.3f | wino/packed %7.3f |"
               " stateless %7.3f | plan(%c) %7.3f ms | plan vs stateless x%.2f | wino err %.3f of tol\n",
               n, ic, oc, hw, hw, avx512 ? "avx512" : "avx2", threads, t[0].cpu * 1e3,
               t[1].cpu * 1e3, t[2].cpu * 1e3, t[3].cpu * 1e3,
               algorithm == CNN_CONV2D_ALGORITHM_WINOGRAD ? 'W' : 'G', t[4].cpu * 1e3,
               t[3].cpu / t[4].cpu, err);
        cnn_conv2d_plan_destroy(plan);
        free(u);
        cnn_context_destroy(ctx);
    }
    free(in);
    free(w);
    free(b);
    free(out);
    free(gemm_out);
    return 0;
}
