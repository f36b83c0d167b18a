/* test_activations_new.c — Hardswish, Hardsigmoid, SiLU, GELU: forward and the gradient from the
 * input against double-precision formulas (independent of the kernels' float code) on every ISA,
 * odd lengths (vector tails), special values, accumulate, the conv / linear / add epilogues, and
 * the validation paths (the from-output backward refuses them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_n;

#define OK CNN_STATUS_SUCCESS
#define BAD CNN_STATUS_INVALID_ARGUMENT

static double ref_forward(cnn_activation a, double x) {
    const double c = x + 3.0 < 0.0 ? 0.0 : (x + 3.0 > 6.0 ? 6.0 : x + 3.0);
    switch (a) {
        case CNN_ACTIVATION_HARDSWISH: return x * c / 6.0;
        case CNN_ACTIVATION_HARDSIGMOID: return c / 6.0;
        case CNN_ACTIVATION_SILU: return x / (1.0 + exp(-x));
        case CNN_ACTIVATION_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
        case CNN_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp(-x));
        case CNN_ACTIVATION_TANH: return tanh(x);
        case CNN_ACTIVATION_RELU: return x < 0.0 ? 0.0 : x;
        case CNN_ACTIVATION_RELU6: return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x);
        default: return x;
    }
}

static double ref_grad(cnn_activation a, double x) {
    const double s = 1.0 / (1.0 + exp(-x));
    switch (a) {
        case CNN_ACTIVATION_HARDSWISH: return x <= -3.0 ? 0.0 : (x < 3.0 ? x / 3.0 + 0.5 : 1.0); /* torch 2.x */
        case CNN_ACTIVATION_HARDSIGMOID: return x > -3.0 && x < 3.0 ? 1.0 / 6.0 : 0.0;
        case CNN_ACTIVATION_SILU: return s * (1.0 + x * (1.0 - s));
        case CNN_ACTIVATION_GELU:
            return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) * 0.398942280401432678 /* 1 / sqrt(2 pi) */;
        case CNN_ACTIVATION_SIGMOID: return s * (1.0 - s);
        case CNN_ACTIVATION_TANH: return 1.0 - tanh(x) * tanh(x);
        case CNN_ACTIVATION_RELU: return x <= 0.0 ? 0.0 : 1.0;
        case CNN_ACTIVATION_RELU6: return x <= 0.0 || x >= 6.0 ? 0.0 : 1.0;
        default: return 1.0;
    }
}

/* |got - want| <= 2e-6 * max(1, |want|): a few ulp of float plus erf's 1.5e-7 (AVX2). */
static double scaled_err(float got, double want) {
    return fabs((double)got - want) / (fabs(want) > 1.0 ? fabs(want) : 1.0);
}

static void test_forward_and_grad(void) {
    enum { N = 1031 };
    const cnn_activation acts[] = {CNN_ACTIVATION_HARDSWISH, CNN_ACTIVATION_HARDSIGMOID,
                                   CNN_ACTIVATION_SILU, CNN_ACTIVATION_GELU,
                                   CNN_ACTIVATION_SIGMOID, CNN_ACTIVATION_TANH,
                                   CNN_ACTIVATION_RELU, CNN_ACTIVATION_RELU6, CNN_ACTIVATION_NONE};
    float* x = test_random_floats(N, 11);
    float *y = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    float* gi = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] *= 12.0f; /* covers +-3 and +-6 breakpoints and tails */
    x[0] = 0.0f; x[1] = -0.0f; x[2] = 3.0f; x[3] = -3.0f; x[4] = 100.0f; x[5] = -100.0f;
    x[6] = 1e-4f; x[7] = -1e-4f;
    for (int i = 0; i < N; i++) g[i] = 0.5f + (float)(i % 7) * 0.25f;
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
            const cnn_activation a = acts[k];
            for (int n = 1; n <= N; n += (n < 40 ? 1 : 331)) { /* every tail length 1..40 */
                EXPECT_STATUS(cnn_activation_forward(g_ctx[c], a, n, x, y), OK);
                double worst = 0;
                for (int i = 0; i < n; i++) {
                    const double e = scaled_err(y[i], ref_forward(a, x[i]));
                    if (e > worst) worst = e;
                }
                EXPECT(worst <= 2e-6, "%s act %d n %d forward err %.3g", isa, (int)a, n, worst);
                EXPECT_STATUS(cnn_activation_backward_from_input(g_ctx[c], a, n, x, g, 0, gi), OK);
                worst = 0;
                for (int i = 0; i < n; i++) {
                    const double e = scaled_err(gi[i], g[i] * ref_grad(a, x[i]));
                    if (e > worst) worst = e;
                }
                EXPECT(worst <= 4e-6, "%s act %d n %d grad err %.3g", isa, (int)a, n, worst);
                /* accumulate adds the same values again */
                float* twice = malloc(n * sizeof(float));
                memcpy(twice, gi, n * sizeof(float));
                EXPECT_STATUS(cnn_activation_backward_from_input(g_ctx[c], a, n, x, g, 1, twice), OK);
                int ok = 1;
                for (int i = 0; i < n; i++) ok &= twice[i] == gi[i] + gi[i];
                EXPECT(ok, "%s act %d n %d accumulate", isa, (int)a, n);
                free(twice);
            }
        }
        /* NaN propagates through every new forward */
        float nan_in[3] = {NAN, 1.0f, NAN}, nan_out[3];
        for (int k = 0; k < 4; k++) {
            EXPECT_STATUS(cnn_activation_forward(g_ctx[c], acts[k], 3, nan_in, nan_out), OK);
            EXPECT(isnan(nan_out[0]) && isnan(nan_out[2]), "%s act %d NaN", isa, (int)acts[k]);
        }
    }
    free(x); free(y); free(g); free(gi);
}

/* A fused epilogue equals the op without activation followed by the activation op. */
static void test_epilogues(void) {
    const cnn_activation acts[] = {CNN_ACTIVATION_HARDSWISH, CNN_ACTIVATION_HARDSIGMOID,
                                   CNN_ACTIVATION_SILU, CNN_ACTIVATION_GELU};
    /* 3x3 (winograd / direct / gemm candidates), depthwise, 1x1 */
    cnn_conv2d_params shapes[3];
    shapes[0] = test_conv2d_params(2, 5, 13, 11, 19, 3, 3);
    shapes[0].pad_top = shapes[0].pad_bottom = shapes[0].pad_left = shapes[0].pad_right = 1;
    shapes[1] = test_conv2d_params(1, 24, 9, 10, 24, 3, 3);
    shapes[1].groups = 24;
    shapes[1].pad_top = shapes[1].pad_bottom = shapes[1].pad_left = shapes[1].pad_right = 1;
    shapes[2] = test_conv2d_params(1, 17, 7, 5, 33, 1, 1);
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        for (int s = 0; s < 3; s++) {
            const cnn_conv2d_params* p = &shapes[s];
            int32_t oh, ow;
            EXPECT_STATUS(cnn_conv2d_output_size(p, &oh, &ow), OK);
            const size_t in_n = (size_t)p->batch * p->in_channels * p->in_height * p->in_width;
            const size_t w_n = (size_t)p->out_channels * (p->in_channels / p->groups) *
                               p->kernel_height * p->kernel_width;
            const size_t out_n = (size_t)p->batch * p->out_channels * oh * ow;
            float* in = test_random_floats(in_n, 21);
            float* w = test_random_floats(w_n, 22);
            float* b = test_random_floats(p->out_channels, 23);
            for (size_t i = 0; i < in_n; i++) in[i] *= 3.0f;
            float *plain = malloc(out_n * 4), *fused = malloc(out_n * 4), *ref = malloc(out_n * 4);
            EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], p, in, w, b, CNN_ACTIVATION_NONE, plain), OK);
            for (int k = 0; k < 4; k++) {
                EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], p, in, w, b, acts[k], fused), OK);
                EXPECT_STATUS(cnn_activation_forward(g_ctx[c], acts[k], (int64_t)out_n, plain, ref), OK);
                /* the conv itself may be summed in another order with and without the epilogue */
                const double err = test_max_rel_diff(fused, ref, out_n);
                EXPECT(err <= 1e-5, "%s conv shape %d act %d fused err %.3g", isa, s, (int)acts[k], err);
            }
            free(in); free(w); free(b); free(plain); free(fused); free(ref);
        }
        /* linear and add */
        enum { B = 3, I = 37, O = 29 };
        float* in = test_random_floats(B * I, 31);
        float* w = test_random_floats(O * I, 32);
        float plain[B * O], fused[B * O], ref[B * O];
        for (int k = 0; k < 4; k++) {
            EXPECT_STATUS(cnn_linear_forward(g_ctx[c], B, I, O, in, w, NULL, CNN_ACTIVATION_NONE, plain), OK);
            EXPECT_STATUS(cnn_linear_forward(g_ctx[c], B, I, O, in, w, NULL, acts[k], fused), OK);
            EXPECT_STATUS(cnn_activation_forward(g_ctx[c], acts[k], B * O, plain, ref), OK);
            const double err = test_max_rel_diff(fused, ref, B * O);
            EXPECT(err <= 1e-5, "%s linear act %d fused err %.3g", isa, (int)acts[k], err);
            EXPECT_STATUS(cnn_add_forward(g_ctx[c], B * O, plain, plain, acts[k], fused), OK);
            for (int i = 0; i < B * O; i++) plain[i] += plain[i];
            EXPECT_STATUS(cnn_activation_forward(g_ctx[c], acts[k], B * O, plain, ref), OK);
            EXPECT(test_max_abs_diff(fused, ref, B * O) == 0, "%s add act %d", isa, (int)acts[k]);
        }
        free(in); free(w);
    }
}

static void test_validation(void) {
    float x[4] = {0}, g[4] = {0}, gi[4];
    cnn_context* ctx = g_ctx[0];
    EXPECT_STATUS(cnn_activation_backward(ctx, CNN_ACTIVATION_GELU, 4, x, g, 0, gi), BAD);
    EXPECT_MESSAGE("cnn_activation_backward", "from_input");
    EXPECT_STATUS(cnn_activation_forward(ctx, (cnn_activation)9, 4, x, gi), BAD);
    EXPECT_MESSAGE("activation = 9", "[0, 8]");
    EXPECT_STATUS(cnn_activation_backward_from_input(ctx, CNN_ACTIVATION_SILU, 4, NULL, g, 0, gi), BAD);
    EXPECT_MESSAGE("cnn_activation_backward_from_input", "input");
    EXPECT_STATUS(cnn_activation_backward_from_input(ctx, CNN_ACTIVATION_SILU, 4, x, g, 2, gi), BAD);
    EXPECT_STATUS(cnn_activation_backward_from_input(ctx, CNN_ACTIVATION_SILU, 4, x, g, 0, x), BAD);
    EXPECT_MESSAGE("grad_input", "input");
    EXPECT_STATUS(cnn_activation_backward_from_input(ctx, CNN_ACTIVATION_SILU, 0, x, g, 0, gi), BAD);
    EXPECT_MESSAGE("count");
}

int main(void) {
    g_n = test_contexts(g_ctx, g_isa);
    test_forward_and_grad();
    test_epilogues();
    test_validation();
    for (int c = 0; c < g_n; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_activations_new");
}
