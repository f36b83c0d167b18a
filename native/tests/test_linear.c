/* test_linear.c — cnn_linear_forward: hand-derived cases, every ISA against the reference over a
 * sweep of shapes around the 6x16 GEMM tile (batch >= 16) and the 4-row matrix-vector path
 * (batch < 16), and every validation path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_num_ctx;

static void expect_linear(const char* name, int batch, int in_f, int out_f, const float* in,
                          const float* w, const float* b, cnn_activation act,
                          const float* expected) {
    for (int c = 0; c < g_num_ctx; c++) {
        float out[32];
        for (int i = 0; i < 32; i++) out[i] = -999.0f;
        EXPECT_STATUS(cnn_linear_forward(g_ctx[c], batch, in_f, out_f, in, w, b, act, out),
                      CNN_STATUS_SUCCESS);
        for (int i = 0; i < batch * out_f; i++)
            EXPECT(fabsf(out[i] - expected[i]) <= 1e-5f * (1.0f + fabsf(expected[i])),
                   "%s [%s] out[%d] = %.7g, expected %.7g", name, test_isa_name(g_isa[c]), i,
                   out[i], expected[i]);
        EXPECT(out[batch * out_f] == -999.0f, "%s [%s] wrote past the output", name,
               test_isa_name(g_isa[c]));
    }
}

static void test_hand_cases(void) {
    /* x = [1 2 3; -1 0 4], W = [1 0 -1; 2 2 2], b = [0.5 -1]:
     * row 0: 1-3+0.5 = -1.5, 2+4+6-1 = 11; row 1: -1-4+0.5 = -4.5, -2+0+8-1 = 5. */
    const float x[6] = {1, 2, 3, -1, 0, 4};
    const float w[6] = {1, 0, -1, 2, 2, 2};
    const float b[2] = {0.5f, -1.0f};
    const float e[4] = {-1.5f, 11, -4.5f, 5};
    const float e_nobias[4] = {-2, 12, -5, 6};
    const float e_relu[4] = {0, 11, 0, 5};
    /* sigmoid(-1.5) = 0.18242552, sigmoid(11) = 0.99998330, sigmoid(-4.5) = 0.01098694,
     * sigmoid(5) = 0.99330715; tanh(-1.5) = -0.90514825, tanh(11) = 1 - 5.6e-10,
     * tanh(-4.5) = -0.99975321, tanh(5) = 0.99990920. */
    const float e_sig[4] = {0.1824255238f, 0.9999832986f, 0.0109869426f, 0.9933071491f};
    const float e_tanh[4] = {-0.9051482536f, 0.9999999994f, -0.9997532108f, 0.9999092043f};
    expect_linear("2x3 -> 2", 2, 3, 2, x, w, b, CNN_ACTIVATION_NONE, e);
    expect_linear("no bias", 2, 3, 2, x, w, NULL, CNN_ACTIVATION_NONE, e_nobias);
    expect_linear("relu", 2, 3, 2, x, w, b, CNN_ACTIVATION_RELU, e_relu);
    expect_linear("sigmoid", 2, 3, 2, x, w, b, CNN_ACTIVATION_SIGMOID, e_sig);
    expect_linear("tanh", 2, 3, 2, x, w, b, CNN_ACTIVATION_TANH, e_tanh);
    /* in_features 1: out[b][o] = x[b] * w[o] + bias[o] with x = b, w = o, bias = 100, exactly
     * b*o + 100. 7 rows (matrix-vector path) and 23 rows (GEMM path: 6-row tiles and a ragged
     * one) by 17 outputs (a 16-column tile and a ragged one). */
    for (int batch = 7; batch <= 23; batch += 16) {
        float xs[23], ws[17], bs[17], es[23 * 17];
        for (int i = 0; i < batch; i++) xs[i] = (float)i;
        for (int o = 0; o < 17; o++) ws[o] = (float)o, bs[o] = 100.0f;
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < 17; o++) es[i * 17 + o] = (float)(i * o + 100);
        for (int c = 0; c < g_num_ctx; c++) {
            float out[23 * 17 + 1];
            out[batch * 17] = -999.0f;
            EXPECT_STATUS(
                cnn_linear_forward(g_ctx[c], batch, 1, 17, xs, ws, bs, CNN_ACTIVATION_NONE, out),
                CNN_STATUS_SUCCESS);
            EXPECT(memcmp(out, es, (size_t)batch * 17 * sizeof(float)) == 0,
                   "[%s] batch %d: outer product + bias differs", test_isa_name(g_isa[c]), batch);
            EXPECT(out[batch * 17] == -999.0f, "[%s] wrote past the output",
                   test_isa_name(g_isa[c]));
        }
    }
}

static double g_max_err[4], g_max_ratio[4];
static int g_cases;

static void sweep_case(int batch, int in_f, int out_f, int with_bias, cnn_activation act) {
    const size_t out_n = (size_t)batch * out_f;
    const uint32_t seed = (uint32_t)g_cases * 5u + 3u;
    float* x = test_random_floats((size_t)batch * in_f, seed);
    float* w = test_random_floats((size_t)out_f * in_f, seed + 1);
    float* b = with_bias ? test_random_floats((size_t)out_f, seed + 2) : NULL;
    float* ref = (float*)malloc(out_n * sizeof(float));
    float* out = (float*)malloc((out_n + 1) * sizeof(float));
    g_cases++;
    EXPECT_STATUS(cnn_linear_forward(g_ctx[0], batch, in_f, out_f, x, w, b, act, ref),
                  CNN_STATUS_SUCCESS);
    /* Tolerance: 1e-5 * sqrt(in_features), relative above |1| (FMA and order differences). */
    const double tol = 1e-5 * sqrt((double)in_f);
    for (int c = 1; c < g_num_ctx; c++) {
        out[out_n] = 777.0f;
        EXPECT_STATUS(cnn_linear_forward(g_ctx[c], batch, in_f, out_f, x, w, b, act, out),
                      CNN_STATUS_SUCCESS);
        const double err = test_max_rel_diff(out, ref, out_n);
        if (err > g_max_err[c]) g_max_err[c] = err;
        if (err / tol > g_max_ratio[c]) g_max_ratio[c] = err / tol;
        EXPECT(err <= tol, "[%s] batch %d in %d out %d bias %d act %d: error %.3g > %.3g",
               test_isa_name(g_isa[c]), batch, in_f, out_f, with_bias, (int)act, err, tol);
        EXPECT(out[out_n] == 777.0f, "[%s] wrote past the output", test_isa_name(g_isa[c]));
    }
    free(x);
    free(w);
    free(b);
    free(ref);
    free(out);
}

static void test_sweep(void) {
    /* Around the tiles and lanes of both vector ISAs: AVX2 6x16 GEMM and 8-lane GEMV (4 W rows
     * x 2 batch rows), AVX-512 8x32 GEMM and 16-lane GEMV (4 x 4); GEMM from batch 16. */
    static const int batches[] = {1, 2, 3, 4, 5, 8, 9, 13, 15, 16, 17, 22, 64};
    static const int ins[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 257};
    static const int outs[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 100};
    int idx = 0;
    for (int bi = 0; bi < (int)(sizeof batches / sizeof batches[0]); bi++)
        for (int ii = 0; ii < (int)(sizeof ins / sizeof ins[0]); ii++)
            for (int oi = 0; oi < (int)(sizeof outs / sizeof outs[0]); oi++, idx++)
                sweep_case(batches[bi], ins[ii], outs[oi], idx % 3 != 1, (cnn_activation)(idx % 5));
    /* Typical layers: LeNet fc1, a classifier head, a wide batch. */
    sweep_case(1, 400, 120, 1, CNN_ACTIVATION_RELU);
    sweep_case(32, 400, 120, 1, CNN_ACTIVATION_RELU);
    sweep_case(3, 2048, 1000, 1, CNN_ACTIVATION_NONE);
    sweep_case(200, 64, 10, 0, CNN_ACTIVATION_TANH);
}

/* Results must not depend on the thread count; the shapes are large enough to be split among
 * threads (GEMV and GEMM paths). */
static void thread_counts_case(int batch, int in_f, int out_f) {
    float* x = test_random_floats((size_t)batch * in_f, 11);
    float* w = test_random_floats((size_t)out_f * in_f, 12);
    float* b = test_random_floats((size_t)out_f, 13);
    float* first = (float*)malloc((size_t)batch * out_f * sizeof(float));
    float* out = (float*)malloc((size_t)batch * out_f * sizeof(float));
    for (int c = 0; c < g_num_ctx; c++) {
        static const int threads[] = {1, 2, 5};
        for (int t = 0; t < 3; t++) {
            EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], threads[t]), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_linear_forward(g_ctx[c], batch, in_f, out_f, x, w, b,
                                             CNN_ACTIVATION_SIGMOID, t == 0 ? first : out),
                          CNN_STATUS_SUCCESS);
            if (t > 0)
                EXPECT(memcmp(first, out, (size_t)batch * out_f * sizeof(float)) == 0,
                       "[%s] %d threads differ from 1", test_isa_name(g_isa[c]), threads[t]);
        }
        int64_t blocks, bytes, before, after;
        cnn_get_memory_stats(&blocks, &bytes, &before);
        EXPECT_STATUS(
            cnn_linear_forward(g_ctx[c], batch, in_f, out_f, x, w, b, CNN_ACTIVATION_NONE, out),
            CNN_STATUS_SUCCESS);
        cnn_get_memory_stats(&blocks, &bytes, &after);
        EXPECT(after == before, "[%s] repeated call allocated", test_isa_name(g_isa[c]));
        EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], 0), CNN_STATUS_SUCCESS);
    }
    free(x);
    free(w);
    free(b);
    free(first);
    free(out);
}

static void test_thread_counts(void) {
    thread_counts_case(19, 70, 45);
    thread_counts_case(3, 1000, 700);
    thread_counts_case(40, 300, 200);
}

static void test_validation(void) {
    float x[8] = {0}, w[8] = {0}, b[4] = {0}, out[8];
    cnn_context* ctx = g_ctx[0];
#define INVALID(call, text)                                                  \
    do {                                                                     \
        for (int i_ = 0; i_ < 8; i_++) out[i_] = 5.0f;                       \
        EXPECT_STATUS(call, CNN_STATUS_INVALID_ARGUMENT);                    \
        EXPECT(strstr(cnn_get_last_error(), "cnn_linear_forward") != NULL && \
                   strstr(cnn_get_last_error(), text) != NULL,               \
               "message '%s' lacks '%s'", cnn_get_last_error(), text);       \
        int same_ = 1;                                                       \
        for (int i_ = 0; i_ < 8; i_++) same_ &= out[i_] == 5.0f;             \
        EXPECT(same_, "output written by a failing call");                   \
    } while (0)
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w, b, CNN_ACTIVATION_NONE, out),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w, NULL, CNN_ACTIVATION_NONE, out),
                  CNN_STATUS_SUCCESS);
    INVALID(cnn_linear_forward(NULL, 2, 2, 2, x, w, b, CNN_ACTIVATION_NONE, out), "context");
    INVALID(cnn_linear_forward(ctx, 2, 2, 2, NULL, w, b, CNN_ACTIVATION_NONE, out), "input");
    INVALID(cnn_linear_forward(ctx, 2, 2, 2, x, NULL, b, CNN_ACTIVATION_NONE, out), "weight");
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w, b, CNN_ACTIVATION_NONE, NULL),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "output") != NULL, "message: %s", cnn_get_last_error());
    INVALID(cnn_linear_forward(ctx, 0, 2, 2, x, w, b, CNN_ACTIVATION_NONE, out), "batch = 0");
    INVALID(cnn_linear_forward(ctx, -5, 2, 2, x, w, b, CNN_ACTIVATION_NONE, out), "batch = -5");
    INVALID(cnn_linear_forward(ctx, 2, 0, 2, x, w, b, CNN_ACTIVATION_NONE, out), "in_features = 0");
    INVALID(cnn_linear_forward(ctx, 2, -1, 2, x, w, b, CNN_ACTIVATION_NONE, out),
            "in_features = -1");
    INVALID(cnn_linear_forward(ctx, 2, 2, 0, x, w, b, CNN_ACTIVATION_NONE, out),
            "out_features = 0");
    INVALID(cnn_linear_forward(ctx, 2, 2, -7, x, w, b, CNN_ACTIVATION_NONE, out),
            "out_features = -7");
    INVALID(cnn_linear_forward(ctx, 2, 2, 2, x, w, b, (cnn_activation)9, out), "activation = 9");
    INVALID(cnn_linear_forward(ctx, 2, 2, 2, x, w, b, (cnn_activation)-1, out), "activation = -1");
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w, b, CNN_ACTIVATION_NONE, x),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "overlaps input") != NULL, "message: %s",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w, b, CNN_ACTIVATION_NONE, x + 3),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "overlaps input") != NULL, "message: %s",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w + 4, b, CNN_ACTIVATION_NONE, w + 1),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "overlaps weight") != NULL, "message: %s",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, x, w, x + 6, CNN_ACTIVATION_NONE, x + 4),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "overlaps bias") != NULL, "message: %s",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_linear_forward(ctx, 2, 2, 2, w, x, b, CNN_ACTIVATION_NONE, w + 4),
                  CNN_STATUS_SUCCESS);
    /* Products beyond 2^44 elements: input, weight, output. */
    INVALID(cnn_linear_forward(ctx, 2000000000, 2000000000, 1, x, w, b, CNN_ACTIVATION_NONE, out),
            "input");
    INVALID(cnn_linear_forward(ctx, 1, 2000000000, 2000000000, x, w, b, CNN_ACTIVATION_NONE, out),
            "weight");
    INVALID(cnn_linear_forward(ctx, 2000000000, 1, 2000000000, x, w, b, CNN_ACTIVATION_NONE, out),
            "output");
#undef INVALID
}

int main(void) {
    g_num_ctx = test_contexts(g_ctx, g_isa);
    EXPECT(g_num_ctx >= 1 && g_isa[0] == CNN_ISA_REFERENCE, "no reference context");
    if (g_num_ctx < 1) return test_finish("test_linear");
    test_hand_cases();
    test_sweep();
    printf("linear sweep: %d cases, tolerance 1e-5*sqrt(in_features) (relative above |1|)\n",
           g_cases);
    for (int c = 1; c < g_num_ctx; c++)
        printf("  %-9s max error %.3g (%.3f of tolerance)\n", test_isa_name(g_isa[c]), g_max_err[c],
               g_max_ratio[c]);
    test_thread_counts();
    test_validation();
    for (int c = 0; c < g_num_ctx; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_linear");
}
