/* test_conv2d.c — cnn_conv2d_output_size / cnn_conv2d_forward:
 *  (1) tiny cases whose expected values are derived by hand (run on every ISA),
 *  (2) every ISA against the reference over a sweep of shapes (channels around the 6x16 AVX2 and
 *      8x32 AVX-512 GEMM tiles, K blocks, kernels 1..11, strides, asymmetric padding, dilation, groups, depthwise, bias,
 *      activations, batch 1 and 3, odd sizes), with a stated tolerance and the max error printed,
 *  (3) every validation path: CNN_STATUS_INVALID_ARGUMENT, a message, output untouched,
 *  (4) the Winograd F(4x4, 3x3) driver called directly on both micro-kernels (whatever the
 *      routing heuristic picks), channels below / at / above the GEMM tiles and the transform
 *      vectors, odd sizes, padding, batch, activations, 1 and 2 threads (bit-identical). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_internal.h"
#include "kernels/f32-gemm.h"
#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_num_ctx;

/* Runs one hand-derived case on every ISA and checks each output value exactly-ish. */
static void expect_conv(const char* name, const cnn_conv2d_params* p, const float* in,
                        const float* w, const float* b, cnn_activation act, const float* expected,
                        int count) {
    for (int c = 0; c < g_num_ctx; c++) {
        float out[64];
        for (int i = 0; i < 64; i++) out[i] = -12345.0f;
        EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], p, in, w, b, act, out), CNN_STATUS_SUCCESS);
        for (int i = 0; i < count; i++)
            EXPECT(fabsf(out[i] - expected[i]) <= 1e-5f * (1.0f + fabsf(expected[i])),
                   "%s [%s] out[%d] = %.7g, expected %.7g", name, test_isa_name(g_isa[c]), i,
                   out[i], expected[i]);
        EXPECT(out[count] == -12345.0f, "%s [%s] wrote past the output", name,
               test_isa_name(g_isa[c]));
    }
}

static void test_hand_cases(void) {
    /* 3x3 input 1..9, 2x2 kernel of ones: each output is the sum of a 2x2 window (+ bias 1). */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 1, 3, 3, 1, 2, 2);
        const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        const float w[4] = {1, 1, 1, 1};
        const float b[1] = {1};
        const float e0[4] = {12, 16, 24, 28};
        const float e1[4] = {13, 17, 25, 29};
        expect_conv("window sums", &p, in, w, NULL, CNN_ACTIVATION_NONE, e0, 4);
        expect_conv("window sums + bias", &p, in, w, b, CNN_ACTIVATION_NONE, e1, 4);
    }
    /* 3x3 ones, 3x3 ones kernel, padding 1: counts of in-bounds taps (4 corners, 6 edges, 9). */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 1, 3, 3, 1, 3, 3);
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
        float in[9], w[9];
        for (int i = 0; i < 9; i++) in[i] = w[i] = 1.0f;
        const float e[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
        expect_conv("same padding", &p, in, w, NULL, CNN_ACTIVATION_NONE, e, 9);
    }
    /* 5x5 input x[r][c] = 5r + c, 2x2 kernel [1 2; 3 4] dilated by 2 (taps at offsets 0 and 2),
     * stride 2: out (5-3)/2+1 = 2. out[0][0] = 0*1 + 2*2 + 10*3 + 12*4 = 82, then +20 per
     * column step (2 columns: each tap +2, weights sum 10) and +100 per row step (2 rows). */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 1, 5, 5, 1, 2, 2);
        p.stride_height = p.stride_width = 2;
        p.dilation_height = p.dilation_width = 2;
        float in[25];
        for (int i = 0; i < 25; i++) in[i] = (float)i;
        const float w[4] = {1, 2, 3, 4};
        const float e[4] = {82, 102, 182, 202};
        expect_conv("stride 2 dilation 2", &p, in, w, NULL, CNN_ACTIVATION_NONE, e, 4);
    }
    /* Groups 2, 1x1 spatial: channel 0 (= 3) feeds oc 0, 1; channel 1 (= 5) feeds oc 2, 3. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 2, 1, 1, 4, 1, 1);
        p.groups = 2;
        const float in[2] = {3, 5};
        const float w[4] = {1, -2, 3, -4};
        const float e[4] = {3, -6, 15, -20};
        const float er[4] = {3, 0, 15, 0};
        expect_conv("groups 2", &p, in, w, NULL, CNN_ACTIVATION_NONE, e, 4);
        expect_conv("groups 2 relu", &p, in, w, NULL, CNN_ACTIVATION_RELU, er, 4);
    }
    /* Asymmetric padding: input [1 2], kernel 1x2 [1 10], pad_left 1, pad_top 1:
     * width (2+1-2)+1 = 2, height (1+1-1)+1 = 2; row 0 is all padding (0), row 1 = [0*1+1*10,
     * 1*1+2*10] = [10, 21]. Sigmoid: row 0 -> 0.5, 10 -> 1/(1+e^-10), 21 -> ~1. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 1, 1, 2, 1, 1, 2);
        p.pad_left = 1;
        p.pad_top = 1;
        const float in[2] = {1, 2};
        const float w[2] = {1, 10};
        const float e[4] = {0, 0, 10, 21};
        const float es[4] = {0.5f, 0.5f, 0.9999546021f, 0.9999999992f};
        expect_conv("asymmetric padding", &p, in, w, NULL, CNN_ACTIVATION_NONE, e, 4);
        expect_conv("asymmetric padding sigmoid", &p, in, w, NULL, CNN_ACTIVATION_SIGMOID, es, 4);
    }
    /* weight 0.5, bias 0.25: inputs 2, -2 -> tanh(1.25) = 0.84828364, tanh(-0.75) = -0.63514895;
     * no bias: inputs 1, -2 -> tanh(0.5) = 0.46211716, tanh(-1) = -0.76159416. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 1, 1, 2, 1, 1, 1);
        const float in[2] = {1, -2};
        const float w[1] = {0.5f};
        const float b[1] = {0.25f};
        const float e[2] = {0.8482836400f, -0.6351489524f}; /* tanh(1.25), tanh(-0.75) */
        const float in2[2] = {2.0f, -2.0f};
        expect_conv("tanh", &p, in2, w, b, CNN_ACTIVATION_TANH, e, 2);
        const float e2[2] = {0.4621171573f, -0.7615941560f}; /* tanh(0.5), tanh(-1) */
        expect_conv("tanh no bias", &p, in, w, NULL, CNN_ACTIVATION_TANH, e2, 2);
    }
    /* Depthwise with channel multiplier 2: 2 channels of 2x2, 2x2 kernels of constants:
     * ch0 = [1 2 3 4] (sum 10) feeds oc 0 (w 1) and oc 1 (w 2); ch1 = [10 20 30 40] (sum 100)
     * feeds oc 2 (w 1) and oc 3 (w -1); bias [0, 1, 2, 3]. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 2, 2, 2, 4, 2, 2);
        p.groups = 2;
        const float in[8] = {1, 2, 3, 4, 10, 20, 30, 40};
        const float w[16] = {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, -1, -1, -1, -1};
        const float b[4] = {0, 1, 2, 3};
        const float e[4] = {10, 21, 102, -97};
        expect_conv("depthwise multiplier 2", &p, in, w, b, CNN_ACTIVATION_NONE, e, 4);
    }
    /* Depthwise 3x3 stride 2 pad 1 on 1 channel 4x4 of ones, kernel ones: out 2x2;
     * out[0][0] covers rows -1..1, cols -1..1 -> 4 taps; out[0][1] rows -1..1, cols 1..3 -> 6;
     * out[1][0] -> 6; out[1][1] rows 1..3 cols 1..3 -> 9. Two channels (groups 2) to use dwconv. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 2, 4, 4, 2, 3, 3);
        p.groups = 2;
        p.stride_height = p.stride_width = 2;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
        float in[32], w[18];
        for (int i = 0; i < 32; i++) in[i] = 1.0f;
        for (int i = 0; i < 18; i++) w[i] = i < 9 ? 1.0f : -1.0f;
        const float e[8] = {4, 6, 6, 9, -4, -6, -6, -9};
        expect_conv("depthwise stride 2 pad 1", &p, in, w, NULL, CNN_ACTIVATION_NONE, e, 8);
    }
    /* Absurd geometry must still work (not OUT_OF_MEMORY): depthwise, 1x1 input, kernel 1x2
     * dilated by 4e7 with pad_right 4e7 and stride 4e7: one output per channel, tap 0 on the
     * input value, tap 1 in the padding: out = w0 * x + b = 2*3 + 1 = 7 and -1*5 + 0 = -5. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 2, 1, 1, 2, 1, 2);
        p.groups = 2;
        p.pad_right = 40000000;
        p.dilation_width = 40000000;
        p.stride_width = 40000000;
        const float in[2] = {3, 5};
        const float w[4] = {2, 100, -1, 100};
        const float b[2] = {1, 0};
        const float e[2] = {7, -5};
        expect_conv("huge dilation and padding", &p, in, w, b, CNN_ACTIVATION_NONE, e, 2);
    }
    /* Output sizes by the formula: ResNet stem 224, 7x7/2 pad 3 -> 112; AlexNet 224 11x11/4
     * pad 2 -> floor((224+4-11)/4)+1 = 55; dilation 2 3x3 pad 0 on 10 -> 10-5+1 = 6. */
    {
        int32_t oh = 0, ow = 0;
        cnn_conv2d_params p = test_conv2d_params(1, 3, 224, 224, 64, 7, 7);
        p.stride_height = p.stride_width = 2;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 3;
        EXPECT_STATUS(cnn_conv2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
        EXPECT(oh == 112 && ow == 112, "stem: %d x %d", oh, ow);
        p = test_conv2d_params(1, 3, 224, 224, 64, 11, 11);
        p.stride_height = p.stride_width = 4;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 2;
        EXPECT_STATUS(cnn_conv2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
        EXPECT(oh == 55 && ow == 55, "alexnet: %d x %d", oh, ow);
        p = test_conv2d_params(1, 1, 10, 12, 1, 3, 3);
        p.dilation_height = p.dilation_width = 2;
        p.pad_right = 1;
        EXPECT_STATUS(cnn_conv2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
        EXPECT(oh == 6 && ow == 9, "dilated: %d x %d", oh, ow);
    }
}

/* ------------------------------------------------------------------ sweep against reference */

static double g_max_err[4];   /* per ISA, absolute */
static double g_max_ratio[4]; /* per ISA, error / tolerance */
static int g_cases;

static void sweep_case(cnn_conv2d_params p, int with_bias, cnn_activation act) {
    int32_t oh = 0, ow = 0;
    if (cnn_conv2d_output_size(&p, &oh, &ow) != CNN_STATUS_SUCCESS) return; /* shape too small */
    const size_t in_n = (size_t)p.batch * p.in_channels * p.in_height * p.in_width;
    const size_t k = (size_t)(p.in_channels / p.groups) * p.kernel_height * p.kernel_width;
    const size_t w_n = (size_t)p.out_channels * k;
    const size_t out_n = (size_t)p.batch * p.out_channels * oh * ow;
    const uint32_t seed = (uint32_t)g_cases * 7u + 1u;
    float* in = test_random_floats(in_n, seed);
    float* w = test_random_floats(w_n, seed + 1);
    float* b = with_bias ? test_random_floats((size_t)p.out_channels, seed + 2) : NULL;
    float* ref = (float*)malloc((out_n + 1) * sizeof(float));
    float* out = (float*)malloc((out_n + 1) * sizeof(float));
    g_cases++;
    ref[out_n] = 777.0f;
    EXPECT_STATUS(cnn_conv2d_forward(g_ctx[0], &p, in, w, b, act, ref), CNN_STATUS_SUCCESS);
    /* Tolerance: float sums of k products of values in [-1, 1) (FMA vs mul+add, other order
     * inside the GEMM): 1e-5 * sqrt(k), relative for outputs above 1 in magnitude. */
    const double direct_tol = 1e-5 * sqrt((double)k);
    for (int c = 1; c < g_num_ctx; c++) {
        /* Shapes this ISA routes to Winograd F(4x4,3x3): its transforms (coefficients up to 5 in
         * B^T, 8 in A^T) amplify rounding, so 4x the direct tolerance (worst measured: 1.08x). */
        const cnn_f32_gemm_ukernel* uk = g_isa[c] == CNN_ISA_AVX512 ? &cnn_f32_ukernel_8x32_avx512
                                         : g_isa[c] == CNN_ISA_AVX2 ? &cnn_f32_ukernel_6x16_avx2
                                                                    : NULL;
        const double tol =
            uk != NULL && cnn_f32_conv2d_winograd_suits(&p, oh, ow, uk) ? 4 * direct_tol : direct_tol;
        for (size_t i = 0; i <= out_n; i++) out[i] = 777.0f;
        EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], &p, in, w, b, act, out), CNN_STATUS_SUCCESS);
        const double err = test_max_rel_diff(out, ref, out_n);
        if (err > g_max_err[c]) g_max_err[c] = err;
        if (err / tol > g_max_ratio[c]) g_max_ratio[c] = err / tol;
        EXPECT(err <= tol,
               "[%s] N=%d C=%d %dx%d -> OC=%d k=%dx%d s=%d,%d pad=%d,%d,%d,%d d=%d,%d g=%d bias=%d "
               "act=%d: max error %.3g > tolerance %.3g",
               test_isa_name(g_isa[c]), p.batch, p.in_channels, p.in_height, p.in_width,
               p.out_channels, p.kernel_height, p.kernel_width, p.stride_height, p.stride_width,
               p.pad_top, p.pad_bottom, p.pad_left, p.pad_right, p.dilation_height,
               p.dilation_width, p.groups, with_bias, (int)act, err, tol);
        EXPECT(out[out_n] == 777.0f, "[%s] wrote past the output", test_isa_name(g_isa[c]));
    }
    free(in);
    free(w);
    free(b);
    free(ref);
    free(out);
}

/* Uniform integer in [lo, hi] from a xorshift state. */
static int next_in(uint32_t* r, int lo, int hi) {
    *r ^= *r << 13;
    *r ^= *r >> 17;
    *r ^= *r << 5;
    return lo + (int)(*r % (uint32_t)(hi - lo + 1));
}

static void test_sweep(void) {
    static const int channels[] = {1, 3, 7, 8, 9, 16, 17, 33};
    const int nch = (int)(sizeof channels / sizeof channels[0]);
    int idx = 0;

    /* Channels below / at / above the 6-row and 16-column tiles; 3x3 same (width 11: im2col,
     * width 19: implicit GEMM on the padded input) and 1x1 (direct GEMM on the input). */
    for (int a = 0; a < nch; a++)
        for (int b = 0; b < nch; b++, idx++) {
            cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), channels[a], 9, idx % 3 ? 19 : 11,
                                              channels[b], 3, 3);
            p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
            sweep_case(p, idx % 3 != 0, (cnn_activation)(idx % 5));
            p = test_conv2d_params(1 + 2 * ((idx + 1) % 2), channels[a], 7, 13, channels[b], 1, 1);
            sweep_case(p, idx % 2, (cnn_activation)((idx + 1) % 5));
        }

    /* Kernel size x stride x padding x dilation (stride 4: the AVX-512 four-phase strided copy). */
    static const int kernels[] = {1, 3, 5, 7};
    for (int ki = 0; ki < 4; ki++)
        for (int s = 1; s <= 4; s++)
            for (int pad = 0; pad <= 3; pad++)
                for (int d = 1; d <= 3; d++, idx++) {
                    cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), 5, 15, 17,
                                                      9 + 8 * (idx % 2), kernels[ki], kernels[ki]);
                    p.stride_height = p.stride_width = s;
                    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
                    p.dilation_height = p.dilation_width = d;
                    sweep_case(p, idx % 2, (cnn_activation)(idx % 5));
                }

    /* Asymmetric padding, rectangular kernels, mixed strides and dilations. */
    {
        static const int cfg[][10] = {
            /* kh kw sh sw pt pb pl pr dh dw */
            {3, 3, 1, 1, 0, 1, 0, 1, 1, 1}, {3, 3, 1, 1, 1, 0, 2, 0, 1, 1},
            {2, 2, 1, 1, 0, 1, 0, 1, 1, 1}, {4, 4, 2, 2, 1, 2, 1, 2, 1, 1},
            {3, 5, 1, 2, 1, 2, 2, 1, 1, 1}, {5, 3, 2, 1, 2, 1, 1, 3, 2, 1},
            {1, 7, 1, 1, 0, 0, 3, 3, 1, 1}, {7, 1, 1, 1, 3, 3, 0, 0, 1, 1},
            {3, 3, 3, 1, 0, 3, 3, 0, 1, 3}, {2, 5, 2, 3, 1, 0, 0, 2, 3, 1},
            {1, 1, 2, 2, 0, 0, 0, 0, 1, 1}, {1, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        };
        for (int i = 0; i < (int)(sizeof cfg / sizeof cfg[0]); i++, idx++) {
            cnn_conv2d_params p =
                test_conv2d_params(1 + 2 * (idx % 2), 7, 13, 11, 17, cfg[i][0], cfg[i][1]);
            p.stride_height = cfg[i][2];
            p.stride_width = cfg[i][3];
            p.pad_top = cfg[i][4];
            p.pad_bottom = cfg[i][5];
            p.pad_left = cfg[i][6];
            p.pad_right = cfg[i][7];
            p.dilation_height = cfg[i][8];
            p.dilation_width = cfg[i][9];
            for (int act = 0; act < 5; act++) sweep_case(p, (act + i) % 2, (cnn_activation)act);
        }
    }

    /* 11x11 stride 4 (AlexNet-like stem) and 7x7/2 (ResNet stem), batch 1 and 3. */
    for (int n = 1; n <= 3; n += 2, idx++) {
        cnn_conv2d_params p = test_conv2d_params(n, 3, 35, 39, 16, 11, 11);
        p.stride_height = p.stride_width = 4;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 2;
        sweep_case(p, 1, CNN_ACTIVATION_RELU);
        p = test_conv2d_params(n, 3, 33, 31, 17, 7, 7);
        p.stride_height = p.stride_width = 2;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 3;
        sweep_case(p, n == 1, CNN_ACTIVATION_NONE);
    }

    /* Groups: 2 and 3 (GEMM per group), depthwise (groups == in_channels) with multipliers. */
    {
        static const int grp[][3] = {/* in, out, groups */
                                     {8, 16, 2},
                                     {6, 4, 2},
                                     {9, 33, 3},
                                     {34, 18, 2},
                                     {16, 16, 4}};
        for (int i = 0; i < 5; i++)
            for (int ks = 1; ks <= 3; ks += 2, idx++) {
                cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), grp[i][0], 11,
                                                  9 + 20 * (i % 2), grp[i][1], ks, ks);
                p.groups = grp[i][2];
                p.pad_top = p.pad_left = ks / 2;
                p.pad_bottom = p.pad_right = ks / 2 + (idx % 2);
                sweep_case(p, idx % 2, (cnn_activation)(idx % 5));
            }
        static const int dw_ch[] = {3, 8, 9, 16, 17, 33};
        for (int ci = 0; ci < 6; ci++)
            for (int mult = 1; mult <= 2; mult++)
                for (int ks = 3; ks <= 5; ks += 2)
                    for (int s = 1; s <= 2; s++, idx++) {
                        int c = dw_ch[ci];
                        cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), c, 13 + ci,
                                                          17 + 2 * ci, c * mult, ks, ks);
                        p.groups = c;
                        p.stride_height = p.stride_width = s;
                        p.pad_top = p.pad_bottom = ks / 2;
                        p.pad_left = ks / 2 + (idx % 3 == 0);
                        p.pad_right = ks / 2;
                        p.dilation_height = 1 + (idx % 3 == 1);
                        p.dilation_width = 1 + (idx % 4 == 2) * 2;
                        sweep_case(p, idx % 2, (cnn_activation)(idx % 5));
                    }
        /* Depthwise with rows wider than 32 outputs (the 4-vector path) and stride 3. */
        for (int s = 1; s <= 3; s++, idx++) {
            cnn_conv2d_params p = test_conv2d_params(2, 5, 21, 101, 5, 3, 3);
            p.groups = 5;
            p.stride_height = p.stride_width = s;
            p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
            sweep_case(p, 1, (cnn_activation)(idx % 5));
        }
        /* Depthwise 3x3 stride 1 (the direct path, f32-dwconv2d-3x3.h) and 2: every width
         * 1..40, odd and even heights, padding 0 / 1 with asymmetric right / bottom, channels
         * 1 / 3 / 17, multiplier 1 / 2, batch 1 / 3, every activation. */
        for (int w = 1; w <= 40; w++)
            for (int s = 1; s <= 2; s++, idx++) {
                const int chs[] = {1, 3, 17};
                const int c = chs[(w + s) % 3], pad = (w + s) % 4 != 0;
                cnn_conv2d_params p = test_conv2d_params(1 + 2 * (w % 7 == 0), c, 1 + (w * 3 + s) % 11,
                                                         w, c * (1 + (w % 5 == 0)), 3, 3);
                p.groups = c;
                p.stride_height = p.stride_width = s;
                p.pad_top = p.pad_left = pad;
                p.pad_bottom = w % 3 == 0 ? 1 - pad : pad;
                p.pad_right = w % 4 == 1 ? 1 - pad : pad;
                sweep_case(p, w % 2, (cnn_activation)(idx % 5));
            }
    }

    /* 300 random combinations of everything above (deterministic xorshift), shapes kept small. */
    {
        uint32_t r = 12345u;
        for (int i = 0; i < 300; i++, idx++) {
            const int depthwise = next_in(&r, 0, 3) == 0;
            const int groups = depthwise ? next_in(&r, 2, 9) : next_in(&r, 1, 3);
            const int icg = depthwise ? 1 : next_in(&r, 1, 9);
            const int ocg = next_in(&r, 1, depthwise ? 3 : 20);
            const int n = next_in(&r, 1, 3), h = next_in(&r, 1, 20), w = next_in(&r, 1, 40);
            const int kh = next_in(&r, 1, 6), kw = next_in(&r, 1, 6);
            cnn_conv2d_params p = test_conv2d_params(n, icg * groups, h, w, ocg * groups, kh, kw);
            p.groups = groups;
            p.stride_height = next_in(&r, 1, 3);
            p.stride_width = next_in(&r, 1, 3);
            p.pad_top = next_in(&r, 0, 3);
            p.pad_bottom = next_in(&r, 0, 3);
            p.pad_left = next_in(&r, 0, 3);
            p.pad_right = next_in(&r, 0, 3);
            p.dilation_height = next_in(&r, 1, 3);
            p.dilation_width = next_in(&r, 1, 3);
            const int with_bias = next_in(&r, 0, 1);
            sweep_case(p, with_bias, (cnn_activation)next_in(&r, 0, 3));
        }
    }

    /* Implicit GEMM (stride 1, wide rows) with dilation, asymmetric padding and groups. */
    {
        static const int cfg[][12] = {
            /* n  ic   h   w  oc  k  pt pb pl pr dh dw */
            {1, 5, 9, 50, 13, 3, 1, 2, 3, 0, 2, 3},
            {3, 4, 11, 70, 7, 5, 2, 2, 2, 2, 1, 2},
            {2, 17, 6, 33, 9, 2, 0, 1, 1, 0, 3, 2},
            {1, 6, 8, 40, 10, 3, 3, 0, 0, 3, 2, 2}, /* groups 2 below */
        };
        for (int i = 0; i < 4; i++, idx++) {
            cnn_conv2d_params p = test_conv2d_params(cfg[i][0], cfg[i][1], cfg[i][2], cfg[i][3], cfg[i][4],
                                              cfg[i][5], cfg[i][5]);
            p.pad_top = cfg[i][6];
            p.pad_bottom = cfg[i][7];
            p.pad_left = cfg[i][8];
            p.pad_right = cfg[i][9];
            p.dilation_height = cfg[i][10];
            p.dilation_width = cfg[i][11];
            p.groups = i == 3 ? 2 : 1;
            for (int act = 0; act < 5; act++) sweep_case(p, (act + i) % 2, (cnn_activation)act);
        }
    }

    /* Larger layers: many pixel tiles, output-channel blocks, long reductions. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 64, 30, 30, 64, 3, 3);
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
        sweep_case(p, 1, CNN_ACTIVATION_RELU);
        p = test_conv2d_params(3, 96, 20, 20, 40, 1, 1);
        sweep_case(p, 1, CNN_ACTIVATION_NONE);
        p = test_conv2d_params(1, 128, 5, 5, 70, 3, 3);
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
        sweep_case(p, 0, CNN_ACTIVATION_SIGMOID);
        p = test_conv2d_params(1, 300, 6, 5, 70, 3, 3); /* K = 2700: W rows in several L2 blocks */
        sweep_case(p, 1, CNN_ACTIVATION_TANH);
        p = test_conv2d_params(3, 40, 6, 7, 90, 3, 3);
        p.groups = 2; /* K = 180 per group, 45 channels per group: ragged 6-row slices */
        p.pad_top = p.pad_left = 1;
        sweep_case(p, 1, CNN_ACTIVATION_SIGMOID);
        /* Reductions split into K blocks (B panels of at most 32768/NR rows: 2048 rows for the
         * 16-column AVX2 tile, 1024 for the 32-column AVX-512 one), one layer per GEMM mode:
         * direct 1x1 (K = 2100), implicit stride 1 (K = 2250, rows 40 wide), im2col stride 2
         * (K = 1170); output channels 65 and 33 leave ragged 8- and 6-row slices. */
        p = test_conv2d_params(1, 2100, 5, 7, 33, 1, 1);
        sweep_case(p, 1, CNN_ACTIVATION_RELU);
        p = test_conv2d_params(2, 250, 4, 40, 65, 3, 3);
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
        sweep_case(p, 1, CNN_ACTIVATION_TANH);
        p = test_conv2d_params(1, 130, 9, 11, 65, 3, 3);
        p.stride_height = p.stride_width = 2;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
        sweep_case(p, 0, CNN_ACTIVATION_SIGMOID);
    }
}

/* The same layer must give the same result on 1, 2 and 7 threads (partitioning is exact). */
/* The GEMM driver's work division (a grid of pixel parts x channel parts, each part a range of
 * NR-column panels): pixel counts just above a multiple of threads * NR (NR = 32 AVX-512, 16
 * AVX2), channel counts not a multiple of MR, batch 1 / 3 / 5, every mode, on 2, 3 and 7
 * threads against the reference. */
static void test_work_division(void) {
    static const int threads[] = {2, 3, 7};
    static const int shapes[][8] = {
        /* n  ic  h   w  oc  k  s  pad */
        {1, 16, 1, 65, 13, 1, 1, 0},  /* direct, 65 px = 2*32 + 1 */
        {1, 8, 1, 97, 13, 1, 1, 0},   /* direct, 97 px = 3*32 + 1 */
        {1, 8, 15, 15, 11, 1, 1, 0},  /* direct, 225 px = 7*32 + 1 */
        {3, 9, 5, 13, 17, 1, 1, 0},   /* direct, 65 px per image */
        {5, 40, 7, 7, 70, 3, 1, 1},   /* im2col over the batch (small images) */
        {1, 70, 7, 7, 130, 3, 1, 1},  /* im2col, 2 panels: channel parts */
        {1, 300, 3, 4, 67, 3, 1, 1},  /* long K, 12 px: channel parts */
        {1, 6, 11, 97, 9, 3, 1, 1},   /* implicit, virtual rows 99 wide */
        {3, 5, 13, 25, 23, 3, 2, 1},  /* strided implicit */
        {5, 3, 17, 17, 19, 7, 2, 3},  /* stem-like, batch 5 */
        {2, 64, 95, 95, 9, 1, 1, 0},  /* direct, input > 4 MiB: B prefetched */
    };
    for (int t = 0; t < 3; t++) {
        for (int c = 0; c < g_num_ctx; c++)
            EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], threads[t]), CNN_STATUS_SUCCESS);
        for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
            cnn_conv2d_params p = test_conv2d_params(shapes[s][0], shapes[s][1], shapes[s][2],
                                                     shapes[s][3], shapes[s][4], shapes[s][5],
                                                     shapes[s][5]);
            p.stride_height = p.stride_width = shapes[s][6];
            p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = shapes[s][7];
            sweep_case(p, (s + t) % 2, (cnn_activation)((s + t) % 5));
        }
    }
    for (int c = 0; c < g_num_ctx; c++)
        EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], 0), CNN_STATUS_SUCCESS);
}

static void test_thread_counts(void) {
    cnn_conv2d_params p = test_conv2d_params(1, 17, 19, 23, 33, 3, 3);
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
    const size_t in_n = 17 * 19 * 23, w_n = 33 * 17 * 9, out_n = 33 * 19 * 23;
    float* in = test_random_floats(in_n, 99);
    float* w = test_random_floats(w_n, 100);
    float* b = test_random_floats(33, 101);
    float* first = (float*)malloc(out_n * sizeof(float));
    float* out = (float*)malloc(out_n * sizeof(float));
    for (int c = 0; c < g_num_ctx; c++) {
        static const int threads[] = {1, 2, 7};
        for (int t = 0; t < 3; t++) {
            EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], threads[t]), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], &p, in, w, b, CNN_ACTIVATION_RELU,
                                             t == 0 ? first : out),
                          CNN_STATUS_SUCCESS);
            if (t > 0)
                EXPECT(memcmp(first, out, out_n * sizeof(float)) == 0,
                       "[%s] %d threads differ from 1 thread", test_isa_name(g_isa[c]), threads[t]);
        }
        /* Steady state: a repeated call allocates nothing (scratch is reused). */
        int64_t blocks, bytes, before, after;
        cnn_get_memory_stats(&blocks, &bytes, &before);
        EXPECT_STATUS(cnn_conv2d_forward(g_ctx[c], &p, in, w, b, CNN_ACTIVATION_RELU, out),
                      CNN_STATUS_SUCCESS);
        cnn_get_memory_stats(&blocks, &bytes, &after);
        EXPECT(after == before, "[%s] repeated call allocated %lld times", test_isa_name(g_isa[c]),
               (long long)(after - before));
        EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], 0), CNN_STATUS_SUCCESS);
    }
    free(in);
    free(w);
    free(b);
    free(first);
    free(out);
}

/* ------------------------------------------------------------------------------- Winograd */

static double g_wino_max_ratio;
static int g_wino_cases;

/* One shape through cnn_f32_conv2d_winograd on every vector ISA, 1 and 2 threads, against the
 * reference kernel; the tolerance of the sweep (1e-5 * sqrt(K), relative above |1|). */
static void winograd_case(int n, int ic, int h, int w, int oc, int pt, int pb, int pl, int pr,
                          int with_bias, cnn_activation act) {
    cnn_conv2d_params p = test_conv2d_params(n, ic, h, w, oc, 3, 3);
    p.pad_top = pt;
    p.pad_bottom = pb;
    p.pad_left = pl;
    p.pad_right = pr;
    int32_t oh = 0, ow = 0;
    if (cnn_conv2d_output_size(&p, &oh, &ow) != CNN_STATUS_SUCCESS) return;
    const size_t in_n = (size_t)n * ic * h * w, w_n = (size_t)oc * ic * 9;
    const size_t out_n = (size_t)n * oc * oh * ow;
    const uint32_t seed = 1000u + (uint32_t)g_wino_cases * 5u;
    float* in = test_random_floats(in_n, seed);
    float* wt = test_random_floats(w_n, seed + 1);
    float* b = with_bias ? test_random_floats((size_t)oc, seed + 2) : NULL;
    float* ref = (float*)malloc(out_n * sizeof(float));
    float* out = (float*)malloc((out_n + 1) * sizeof(float));
    float* out2 = (float*)malloc((out_n + 1) * sizeof(float));
    g_wino_cases++;
    EXPECT_STATUS(cnn_conv2d_forward(g_ctx[0], &p, in, wt, b, act, ref), CNN_STATUS_SUCCESS);
    const double tol = 1e-5 * sqrt(9.0 * ic);
    for (int c = 1; c < g_num_ctx; c++) {
        const int avx512 = g_isa[c] == CNN_ISA_AVX512;
        if (!avx512 && g_isa[c] != CNN_ISA_AVX2) continue;
        const cnn_f32_gemm_ukernel* uk =
            avx512 ? &cnn_f32_ukernel_8x32_avx512 : &cnn_f32_ukernel_6x16_avx2;
        const cnn_f32_winograd_transforms* tr =
            avx512 ? &cnn_f32_winograd_4x4_avx512 : &cnn_f32_winograd_4x4_avx2;
        for (int threads = 1; threads <= 2; threads++) {
            float* o = threads == 1 ? out : out2;
            test_fill(o, out_n + 1, 777.0f);
            EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], threads), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_f32_conv2d_winograd(g_ctx[c], &p, oh, ow, in, wt, b, act, o, uk, tr),
                          CNN_STATUS_SUCCESS);
            EXPECT(o[out_n] == 777.0f, "[%s] winograd wrote past the output",
                   test_isa_name(g_isa[c]));
        }
        EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], 0), CNN_STATUS_SUCCESS);
        const double err = test_max_rel_diff(out, ref, out_n);
        if (err / tol > g_wino_max_ratio) g_wino_max_ratio = err / tol;
        EXPECT(err <= tol,
               "[%s] winograd N=%d C=%d %dx%d -> OC=%d pad=%d,%d,%d,%d bias=%d act=%d: max error "
               "%.3g > tolerance %.3g",
               test_isa_name(g_isa[c]), n, ic, h, w, oc, pt, pb, pl, pr, with_bias, (int)act, err,
               tol);
        EXPECT(memcmp(out, out2, out_n * sizeof(float)) == 0,
               "[%s] winograd C=%d %dx%d -> OC=%d: 2 threads differ from 1",
               test_isa_name(g_isa[c]), ic, h, w, oc);
    }
    free(in);
    free(wt);
    free(b);
    free(ref);
    free(out);
    free(out2);
}

static void test_winograd(void) {
    /* Channels below / at / above the 6- and 8-row, 16- and 32-column tiles and the 8- and
     * 16-lane transform vectors. */
    static const int channels[] = {1, 5, 8, 16, 17, 31, 32, 33, 64, 65, 130};
    const int nch = (int)(sizeof channels / sizeof channels[0]);
    int idx = 0;
    for (int a = 0; a < nch; a++)
        for (int b = 0; b < nch; b++, idx++)
            winograd_case(1 + (idx % 3 == 0), channels[a], 13, 17, channels[b], 1, 1, 1, 1,
                          idx % 2, (cnn_activation)(idx % 5));
    /* Padding 0..2 and asymmetric, output sizes not multiples of 4 (clipped edge tiles), sizes
     * smaller than one tile, batch 3 (blocks spanning images). */
    static const int cfg[][8] = {
        /* n  h   w  pt pb pl pr */
        {1, 13, 17, 0, 0, 0, 0, 0}, {2, 13, 17, 2, 2, 2, 2, 0}, {1, 9, 10, 0, 1, 2, 0, 0},
        {1, 7, 7, 1, 1, 1, 1, 0},   {3, 6, 5, 2, 0, 0, 1, 0},   {1, 3, 3, 0, 0, 0, 0, 0},
        {1, 1, 1, 1, 1, 1, 1, 0},   {2, 22, 9, 1, 2, 0, 2, 0},  {1, 30, 30, 1, 1, 1, 1, 0},
    };
    for (int i = 0; i < (int)(sizeof cfg / sizeof cfg[0]); i++, idx++)
        for (int act = 0; act < 5; act++)
            winograd_case(cfg[i][0], 33 + 7 * (i % 3), cfg[i][1], cfg[i][2], 40 - 5 * (i % 2),
                          cfg[i][3], cfg[i][4], cfg[i][5], cfg[i][6], (act + i) % 2,
                          (cnn_activation)act);
    /* Long reductions (K = 9 * 300). */
    winograd_case(1, 300, 8, 9, 70, 1, 1, 1, 1, 1, CNN_ACTIVATION_RELU);
    printf("winograd: %d cases, max error %.3f of tolerance\n", g_wino_cases, g_wino_max_ratio);
}

/* ------------------------------------------------------------------------------ validation */

static float g_in[64], g_w[64], g_b[8], g_out[64];

static void expect_invalid(const cnn_conv2d_params* p, const char* what, const char* must_contain) {
    for (int i = 0; i < 64; i++) g_out[i] = 5.0f;
    cnn_status st = cnn_conv2d_forward(g_ctx[0], p, g_in, g_w, g_b, CNN_ACTIVATION_NONE, g_out);
    EXPECT(st == CNN_STATUS_INVALID_ARGUMENT, "%s: forward status %d", what, (int)st);
    const char* msg = cnn_get_last_error();
    EXPECT(msg[0] != '\0', "%s: no message", what);
    EXPECT(strstr(msg, "cnn_conv2d_forward") != NULL, "%s: message '%s' lacks the function", what,
           msg);
    if (must_contain != NULL)
        EXPECT(strstr(msg, must_contain) != NULL, "%s: message '%s' lacks '%s'", what, msg,
               must_contain);
    int untouched = 1;
    for (int i = 0; i < 64; i++) untouched &= g_out[i] == 5.0f;
    EXPECT(untouched, "%s: output was written", what);
    int32_t oh = -1, ow = -1;
    EXPECT_STATUS(cnn_conv2d_output_size(p, &oh, &ow), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "cnn_conv2d_output_size") != NULL,
           "%s: output_size message '%s'", what, cnn_get_last_error());
    EXPECT(oh == -1 && ow == -1, "%s: output_size wrote its outputs", what);
}

static void test_validation(void) {
    const cnn_conv2d_params good = test_conv2d_params(1, 2, 3, 3, 2, 2, 2);
    cnn_context* ctx = g_ctx[0];
    int32_t oh, ow;
    /* The good shape works, with and without bias. */
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, g_w, g_b, CNN_ACTIVATION_NONE, g_out),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, g_w, NULL, CNN_ACTIVATION_NONE, g_out),
                  CNN_STATUS_SUCCESS);

    /* NULL pointers. */
    EXPECT_STATUS(cnn_conv2d_forward(NULL, &good, g_in, g_w, g_b, CNN_ACTIVATION_NONE, g_out),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "context") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_STATUS(cnn_conv2d_forward(ctx, NULL, g_in, g_w, g_b, CNN_ACTIVATION_NONE, g_out),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, NULL, g_w, g_b, CNN_ACTIVATION_NONE, g_out),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "input") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, NULL, g_b, CNN_ACTIVATION_NONE, g_out),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "weight") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, g_w, g_b, CNN_ACTIVATION_NONE, NULL),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "output") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_STATUS(cnn_conv2d_output_size(NULL, &oh, &ow), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_conv2d_output_size(&good, NULL, &ow), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_conv2d_output_size(&good, &oh, NULL), CNN_STATUS_INVALID_ARGUMENT);
    /* Activation out of range, both sides. */
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, g_w, g_b, (cnn_activation)9, g_out),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "activation = 9") != NULL, "message: %s",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, g_w, g_b, (cnn_activation)-1, g_out),
                  CNN_STATUS_INVALID_ARGUMENT);
    /* Output overlapping an input (input 18 floats, weight 16, bias 2, output 8). */
    {
        static float buf[64];
        EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, g_in, g_w, g_b, CNN_ACTIVATION_NONE, g_in),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps input") != NULL, "message: %s",
               cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, buf, g_w, g_b, CNN_ACTIVATION_NONE, buf + 17),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps input") != NULL, "message: %s",
               cnn_get_last_error());
        EXPECT_STATUS(
            cnn_conv2d_forward(ctx, &good, g_in, buf + 8, g_b, CNN_ACTIVATION_NONE, buf + 1),
            CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps weight") != NULL, "message: %s",
               cnn_get_last_error());
        EXPECT_STATUS(
            cnn_conv2d_forward(ctx, &good, g_in, g_w, buf + 10, CNN_ACTIVATION_NONE, buf + 4),
            CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps bias") != NULL, "message: %s",
               cnn_get_last_error());
        /* Adjacent but disjoint buffers are fine. */
        EXPECT_STATUS(cnn_conv2d_forward(ctx, &good, buf, g_w, g_b, CNN_ACTIVATION_NONE, buf + 18),
                      CNN_STATUS_SUCCESS);
    }

    /* Each size field: 0 and -1 are rejected (pads: -1 only), naming the field and value. */
#define FIELD_CASE(field, bad, text)                  \
    do {                                              \
        cnn_conv2d_params p_ = good;                  \
        p_.field = (bad);                             \
        expect_invalid(&p_, #field " = " #bad, text); \
    } while (0)
    FIELD_CASE(batch, 0, "batch = 0");
    FIELD_CASE(batch, -1, "batch = -1");
    FIELD_CASE(in_channels, 0, "in_channels = 0");
    FIELD_CASE(in_height, 0, "in_height = 0");
    FIELD_CASE(in_width, -3, "in_width = -3");
    FIELD_CASE(out_channels, 0, "out_channels = 0");
    FIELD_CASE(kernel_height, 0, "kernel_height = 0");
    FIELD_CASE(kernel_width, -1, "kernel_width = -1");
    FIELD_CASE(stride_height, 0, "stride_height = 0");
    FIELD_CASE(stride_width, 0, "stride_width = 0");
    FIELD_CASE(pad_top, -1, "pad_top = -1");
    FIELD_CASE(pad_bottom, -1, "pad_bottom = -1");
    FIELD_CASE(pad_left, -2, "pad_left = -2");
    FIELD_CASE(pad_right, -1, "pad_right = -1");
    FIELD_CASE(dilation_height, 0, "dilation_height = 0");
    FIELD_CASE(dilation_width, -1, "dilation_width = -1");
    FIELD_CASE(groups, 0, "groups = 0");
    FIELD_CASE(groups, -2, "groups = -2");
#undef FIELD_CASE

    /* groups must divide both channel counts; the message names both values. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 16, 3, 3, 6, 1, 1);
        p.groups = 3;
        expect_invalid(&p, "groups 3 vs in 16", "groups = 3 must divide in_channels = 16");
        p = test_conv2d_params(1, 6, 3, 3, 16, 1, 1);
        p.groups = 3;
        expect_invalid(&p, "groups 3 vs out 16", "groups = 3 must divide out_channels = 16");
    }
    /* Output size < 1: kernel larger than the padded input, dilation too, stride can't help. */
    {
        cnn_conv2d_params p = test_conv2d_params(1, 1, 3, 3, 1, 4, 1);
        expect_invalid(&p, "kernel 4 > in 3", "height");
        p = test_conv2d_params(1, 1, 3, 3, 1, 1, 2);
        p.dilation_width = 3; /* 3*(2-1)+1 = 4 > 3 */
        expect_invalid(&p, "dilated kernel 4 > in 3", "width");
        p.pad_left = 1; /* 3 + 1 = 4: exactly fits, output width 1 */
        EXPECT_STATUS(cnn_conv2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
        EXPECT(ow == 1 && oh == 3, "fits exactly: %d x %d", oh, ow);
    }
    /* Products that overflow: elements of input, weight, output beyond 2^44. */
    {
        cnn_conv2d_params p = test_conv2d_params(65536, 65536, 65536, 1, 1, 1, 1);
        expect_invalid(&p, "input too large", "input");
        p = test_conv2d_params(1, 1, 1, 1, 2000000000, 1, 1);
        p.in_channels = 2000000000;
        p.pad_top = 0;
        expect_invalid(&p, "weight too large", "weight");
        p = test_conv2d_params(2000000000, 1, 1, 1, 2000000000, 1, 1);
        expect_invalid(&p, "output too large", NULL);
        p = test_conv2d_params(1, 1, 1, 1, 1, 1, 1);
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 2000000000;
        p.stride_height = p.stride_width = 2000000000; /* output 3x3: only the plane is huge */
        expect_invalid(&p, "padded plane too large", "padded");
        p = test_conv2d_params(1, 1, 1, 1, 1, 1, 1);
        p.pad_bottom = INT32_MAX;
        p.pad_top = INT32_MAX;
        expect_invalid(&p, "output height above INT32_MAX", "height");
        p = test_conv2d_params(1, 1, 3, 3, 1, 2, 2);
        p.dilation_height = p.dilation_width = INT32_MAX;
        expect_invalid(&p, "huge dilation", "height");
    }
}

int main(void) {
    g_num_ctx = test_contexts(g_ctx, g_isa);
    EXPECT(g_num_ctx >= 1 && g_isa[0] == CNN_ISA_REFERENCE, "no reference context");
    if (g_num_ctx < 1) return test_finish("test_conv2d");
    test_hand_cases();
    test_sweep();
    printf("conv2d sweep: %d cases, tolerance 1e-5*sqrt(K), x4 where Winograd runs (relative above |1|)\n", g_cases);
    for (int c = 1; c < g_num_ctx; c++)
        printf("  %-9s max error %.3g (%.3f of tolerance)\n", test_isa_name(g_isa[c]), g_max_err[c],
               g_max_ratio[c]);
    test_thread_counts();
    test_work_division();
    test_winograd();
    test_validation();
    for (int c = 0; c < g_num_ctx; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_conv2d");
}
