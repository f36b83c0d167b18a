/* test_conv2d_plan.c — the prepacked convolution (cnn_conv2d_plan_*): on every ISA, a plan's
 * forward is bitwise equal to cnn_conv2d_forward whenever both take the same algorithm (every
 * route: Winograd, GEMM for 1x1 / strided / grouped, depthwise, the reference), also at a batch
 * other than the create batch and after the caller's weights change; within the oracle
 * tolerance where the plan takes Winograd and the stateless call does not; argument
 * validation; memory back to baseline after destroy, none allocated by a repeated forward. */
#include <math.h>
#include <stdlib.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_num_ctx;

static size_t conv_out_count(const cnn_conv2d_params* p) {
    int32_t oh = 0, ow = 0;
    if (cnn_conv2d_output_size(p, &oh, &ow) != CNN_STATUS_SUCCESS) return 0;
    return (size_t)p->batch * p->out_channels * oh * ow;
}

/* One shape on every ISA: the plan is created at batch p.batch and run at p.batch and at
 * p.batch + 1. avx2_algorithm / avx512_algorithm is what the AVX2 / AVX-512 plans must choose;
 * same_as_call says whether cnn_conv2d_forward takes that algorithm too (then the results must
 * be bitwise equal, otherwise within abs 1e-4 + rel 1e-4; the plan-only direct path never is). */
static void plan_case(const char* name, cnn_conv2d_params p, cnn_conv2d_algorithm avx2_algorithm,
                      cnn_conv2d_algorithm avx512_algorithm, int same_as_call, int with_bias) {
    const int32_t create_batch = p.batch;
    p.batch = create_batch + 1; /* buffers for the larger batch */
    const size_t in_n = (size_t)p.batch * p.in_channels * p.in_height * p.in_width;
    const size_t w_n = (size_t)p.out_channels * (p.in_channels / p.groups) * p.kernel_height *
                       p.kernel_width;
    const size_t out_n = conv_out_count(&p);
    float* in = test_random_floats(in_n, 11);
    float* w = test_random_floats(w_n, 12);
    float* b = test_random_floats((size_t)p.out_channels, 13);
    const float scale = 1.0f / sqrtf((float)(w_n / p.out_channels)); /* outputs O(1) */
    for (size_t i = 0; i < w_n; i++) w[i] *= scale;
    float* expected = (float*)malloc(out_n * sizeof(float));
    float* got = (float*)malloc(out_n * sizeof(float));
    float* w_copy = (float*)malloc(w_n * sizeof(float));
    memcpy(w_copy, w, w_n * sizeof(float));
    for (int c = 0; c < g_num_ctx; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        int64_t peak, bytes1;
        cnn_conv2d_plan* plan = NULL;
        p.batch = create_batch;
        EXPECT_STATUS(cnn_conv2d_plan_create(g_ctx[c], &p, w, with_bias ? b : NULL,
                                             CNN_ACTIVATION_RELU, &plan),
                      CNN_STATUS_SUCCESS);
        if (plan == NULL) continue;
        cnn_conv2d_algorithm algorithm = (cnn_conv2d_algorithm)-1;
        cnn_isa plan_isa = CNN_ISA_AUTO;
        int32_t oh = 0, ow = 0, eh = 0, ew = 0;
        EXPECT_STATUS(cnn_conv2d_plan_get_info(plan, &algorithm, &plan_isa, &oh, &ow),
                      CNN_STATUS_SUCCESS);
        cnn_conv2d_output_size(&p, &eh, &ew);
        EXPECT(oh == eh && ow == ew, "%s [%s] plan output %dx%d, expected %dx%d", name, isa, oh,
               ow, eh, ew);
        EXPECT(plan_isa == g_isa[c], "%s [%s] plan ISA %d", name, isa, (int)plan_isa);
        const cnn_conv2d_algorithm want = g_isa[c] == CNN_ISA_REFERENCE ? CNN_CONV2D_ALGORITHM_REFERENCE
                                          : g_isa[c] == CNN_ISA_AVX2    ? avx2_algorithm
                                                                        : avx512_algorithm;
        EXPECT(algorithm == want, "%s [%s] algorithm %d, expected %d", name, isa, (int)algorithm,
               (int)want);
        /* The plan owns its weights: the caller's may change after create. */
        for (size_t i = 0; i < w_n; i++) w[i] = 7.0f;
        const int exact = (same_as_call && want != CNN_CONV2D_ALGORITHM_DIRECT) ||
                          g_isa[c] == CNN_ISA_REFERENCE;
        for (int32_t batch = create_batch; batch <= create_batch + 1; batch++) {
            p.batch = batch;
            const size_t n = conv_out_count(&p);
            EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], &p, in, w_copy, with_bias ? b : NULL,
                                             CNN_ACTIVATION_RELU, expected),
                          CNN_STATUS_SUCCESS);
            test_fill(got, out_n, -12345.0f);
            EXPECT_STATUS(cnn_conv2d_plan_forward(g_ctx[c], plan, batch, in, got),
                          CNN_STATUS_SUCCESS);
            if (exact) {
                EXPECT(memcmp(expected, got, n * sizeof(float)) == 0,
                       "%s [%s] batch %d: plan differs from cnn_conv2d_forward (max %.3g)", name,
                       isa, batch, test_max_abs_diff(got, expected, n));
            } else {
                double worst = 0.0;
                for (size_t i = 0; i < n; i++) {
                    const double e = fabs((double)got[i] - expected[i]) /
                                     (1e-4 + 1e-4 * fabs((double)expected[i]));
                    if (e > worst) worst = e;
                }
                EXPECT(worst <= 1.0, "%s [%s] batch %d: %.3f of the tolerance", name, isa, batch,
                       worst);
            }
            if (n < out_n)
                EXPECT(test_all_equal(got + n, out_n - n, -12345.0f),
                       "%s [%s] wrote past the output", name, isa);
        }
        /* Steady state: a repeated forward allocates nothing. */
        int64_t live_before, live_after;
        cnn_get_memory_stats(&live_before, &bytes1, &peak);
        EXPECT_STATUS(cnn_conv2d_plan_forward(g_ctx[c], plan, create_batch, in, got),
                      CNN_STATUS_SUCCESS);
        cnn_get_memory_stats(&live_after, &bytes1, &peak);
        EXPECT(live_after == live_before, "%s [%s] forward allocated", name, isa);
        memcpy(w, w_copy, w_n * sizeof(float));
        /* get_bytes is exactly what destroy gives back (owners report it as memory held). */
        int64_t plan_bytes = -1, held_before, held_after;
        EXPECT_STATUS(cnn_conv2d_plan_get_bytes(plan, &plan_bytes), CNN_STATUS_SUCCESS);
        cnn_get_memory_stats(&live_before, &held_before, &peak);
        cnn_conv2d_plan_destroy(plan);
        cnn_get_memory_stats(&live_after, &held_after, &peak);
        EXPECT(plan_bytes == held_before - held_after && plan_bytes >= (int64_t)(w_n * sizeof(float)),
               "%s [%s] plan reports %lld bytes, destroy freed %lld", name, isa,
               (long long)plan_bytes, (long long)(held_before - held_after));
        /* Memory back to baseline: a create/destroy pair alone (the forward calls above may
         * have grown the context's scratch, which the context owns). */
        int64_t b2, y2, b3, y3;
        cnn_get_memory_stats(&b2, &y2, &peak);
        p.batch = create_batch;
        EXPECT_STATUS(cnn_conv2d_plan_create(g_ctx[c], &p, w, with_bias ? b : NULL,
                                             CNN_ACTIVATION_NONE, &plan),
                      CNN_STATUS_SUCCESS);
        cnn_conv2d_plan_destroy(plan);
        cnn_get_memory_stats(&b3, &y3, &peak);
        EXPECT(b2 == b3 && y2 == y3, "%s [%s] create/destroy leaked %lld blocks %lld bytes", name,
               isa, (long long)(b3 - b2), (long long)(y3 - y2));
    }
    p.batch = create_batch;
    free(in);
    free(w);
    free(b);
    free(expected);
    free(got);
    free(w_copy);
}

static cnn_conv2d_params padded(cnn_conv2d_params p, int pad) {
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
    return p;
}

static void test_routes(void) {
    const cnn_conv2d_algorithm W = CNN_CONV2D_ALGORITHM_WINOGRAD, G = CNN_CONV2D_ALGORITHM_GEMM,
                               D = CNN_CONV2D_ALGORITHM_DIRECT;
    /* 3x3 stride 1 with channels >= 32: Winograd for plans and per call. */
    plan_case("winograd 64->64 @20", padded(test_conv2d_params(1, 64, 20, 20, 64, 3, 3), 1), W, W,
              1, 1);
    plan_case("winograd 48->40 @13x9 unpadded, no bias",
              test_conv2d_params(2, 48, 13, 9, 40, 3, 3), W, W, 1, 0);
    /* Winograd for plans only: > 256 input channels with few tiles (the per-call rule). */
    plan_case("winograd plan only 288->40 @8", padded(test_conv2d_params(1, 288, 8, 8, 40, 3, 3), 1),
              W, W, 0, 1);
    /* 1x1 with few taps (32) per tile: GEMM even on a small plane. */
    plan_case("1x1 GEMM", test_conv2d_params(2, 32, 9, 11, 48, 1, 1), G, G, 1, 1);
    /* The plan-only direct path: strided, and small planes with enough taps (AVX-512 up to 1024
     * pixels, AVX2 up to 64). */
    cnn_conv2d_params s = padded(test_conv2d_params(1, 24, 15, 15, 40, 3, 3), 1);
    s.stride_height = s.stride_width = 2;
    plan_case("strided 3x3: direct", s, D, D, 1, 1);
    plan_case("1x1 256->40 @7x9: direct", test_conv2d_params(2, 256, 7, 9, 40, 1, 1), D, D, 1, 0);
    cnn_conv2d_params stem = padded(test_conv2d_params(1, 3, 31, 29, 20, 7, 7), 3);
    stem.stride_height = stem.stride_width = 2;
    plan_case("7x7/2 stem 3->20: direct", stem, D, D, 1, 1);
    /* 1600 taps: two K blocks with partial sums between them; 66 pixels: GEMM on AVX2 */
    plan_case("5x5 64->70 @6x11, K blocked: direct on AVX-512",
              padded(test_conv2d_params(1, 64, 6, 11, 70, 5, 5), 2), G, D, 1, 1);
    /* a large plane at stride 1: GEMM */
    plan_case("1x1 128->32 @36 GEMM", test_conv2d_params(1, 128, 36, 36, 32, 1, 1), G, G, 1, 1);
    cnn_conv2d_params g = padded(test_conv2d_params(1, 32, 10, 10, 64, 3, 3), 1);
    g.groups = 2;
    plan_case("grouped GEMM", g, G, G, 1, 1);
    cnn_conv2d_params d = padded(test_conv2d_params(2, 24, 17, 17, 24, 3, 3), 1);
    d.groups = 24;
    plan_case("depthwise", d, CNN_CONV2D_ALGORITHM_DEPTHWISE, CNN_CONV2D_ALGORITHM_DEPTHWISE, 1, 1);
    plan_case("small channels 3x3 GEMM", padded(test_conv2d_params(1, 3, 12, 12, 8, 3, 3), 1), G,
              G, 1, 1);
}

static void test_validation(void) {
    cnn_context* ctx = g_ctx[0];
    cnn_conv2d_params p = padded(test_conv2d_params(1, 2, 4, 4, 3, 3, 3), 1);
    float w[54], in[64], out[64];
    test_fill(w, 54, 0.5f);
    test_fill(in, 64, 1.0f);
    cnn_conv2d_plan* plan = (cnn_conv2d_plan*)0x1;
    EXPECT_STATUS(cnn_conv2d_plan_create(NULL, &p, w, NULL, CNN_ACTIVATION_NONE, &plan),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("cnn_conv2d_plan_create", "context");
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, NULL, w, NULL, CNN_ACTIVATION_NONE, &plan),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("params");
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, &p, NULL, NULL, CNN_ACTIVATION_NONE, &plan),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("weight");
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, &p, w, NULL, CNN_ACTIVATION_NONE, NULL),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("out_plan");
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, &p, w, NULL, (cnn_activation)99, &plan),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("activation");
    cnn_conv2d_params bad = p;
    bad.groups = 2;
    bad.out_channels = 3;
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, &bad, w, NULL, CNN_ACTIVATION_NONE, &plan),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("cnn_conv2d_plan_create", "groups = 2");
    bad = p;
    bad.in_height = 0;
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, &bad, w, NULL, CNN_ACTIVATION_NONE, &plan),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("in_height");
    EXPECT(plan == (cnn_conv2d_plan*)0x1, "a failed create wrote out_plan");

    plan = NULL;
    EXPECT_STATUS(cnn_conv2d_plan_create(ctx, &p, w, NULL, CNN_ACTIVATION_NONE, &plan),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_conv2d_plan_forward(NULL, plan, 1, in, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("cnn_conv2d_plan_forward", "context");
    EXPECT_STATUS(cnn_conv2d_plan_forward(ctx, NULL, 1, in, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("plan");
    EXPECT_STATUS(cnn_conv2d_plan_forward(ctx, plan, 1, NULL, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("input");
    EXPECT_STATUS(cnn_conv2d_plan_forward(ctx, plan, 1, in, NULL), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("output");
    EXPECT_STATUS(cnn_conv2d_plan_forward(ctx, plan, 0, in, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("cnn_conv2d_plan_forward", "batch = 0");
    EXPECT_STATUS(cnn_conv2d_plan_forward(ctx, plan, -3, in, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("batch = -3");
    /* input 2*4*4 = 32 floats, output 3*4*4 = 48: overlapping by one float */
    EXPECT_STATUS(cnn_conv2d_plan_forward(ctx, plan, 1, in + 16, in), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE("overlaps");
    EXPECT_STATUS(cnn_conv2d_plan_get_info(NULL, NULL, NULL, NULL, NULL),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_conv2d_plan_get_info(plan, NULL, NULL, NULL, NULL), CNN_STATUS_SUCCESS);
    int64_t plan_bytes = 0;
    EXPECT_STATUS(cnn_conv2d_plan_get_bytes(NULL, &plan_bytes), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_conv2d_plan_get_bytes(plan, NULL), CNN_STATUS_INVALID_ARGUMENT);
    cnn_conv2d_plan_destroy(plan);
    cnn_conv2d_plan_destroy(NULL);
}

int main(void) {
    g_num_ctx = test_contexts(g_ctx, g_isa);
    EXPECT(g_num_ctx >= 1 && g_isa[0] == CNN_ISA_REFERENCE, "no reference context");
    if (g_num_ctx < 1) return test_finish("test_conv2d_plan");
    test_routes();
    test_validation();
    for (int c = 0; c < g_num_ctx; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_conv2d_plan");
}
