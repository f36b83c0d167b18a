/* test_pool2d_vector.c — the vector pooling kernels (f32-pool2d-rows.h at 8 and 16 lanes, and
 * the AVX2 fallback for other strides) against the reference kernel, bit for bit, on inputs
 * made to catch order mistakes: many exact ties between +0 and -0 (the first max in row-major
 * window order must win), NaNs with distinct payloads (max keeps the last NaN in window order),
 * +-inf, over output widths below, at and above 8 and 16 lanes, odd sizes, padding, ceil_mode,
 * strides 1, 2, 3, dilation 1-3 and both average divisor modes (thread invariance: test_pool2d). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static float bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float default_nan(void) {
    return bits_to_float(0xFFC00000u);
}

static float nan_with_payload(uint32_t payload) {
    return bits_to_float(0x7FC00000u | (payload & 0x3FFFFFu));
}

/* Values from a small set (so windows hold ties), with signed zeros, infinities and, if
 * nan_payloads, NaNs whose payloads differ. Average gets only the default NaN (the one inf - inf
 * makes): a float sum of two different NaNs returns whichever operand the compiler put first,
 * which is not a pooling property. */
static float* tricky_input(size_t n, uint32_t seed, int nan_payloads) {
    static const float values[8] = {-1.0f, -0.5f, -0.0f, 0.0f, 0.0f, -0.0f, 0.5f, 1.0f};
    float* v = (float*)malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        const uint32_t r = seed >> 8;
        if (r % 97 == 0)
            v[i] = nan_payloads ? nan_with_payload(r) : default_nan();
        else if (r % 89 == 0)
            v[i] = (r & 0x100) ? INFINITY : -INFINITY;
        else
            v[i] = values[(r >> 4) % 8];
    }
    return v;
}

static long configs_run;

/* Every context's output equals the reference context's (contexts[0]) bitwise. */
static void check_shape(cnn_context** ctx, const cnn_isa* isas, int nctx, const cnn_pool2d_params* p,
                        uint32_t seed) {
    int32_t oh = 0, ow = 0;
    if (cnn_pool2d_output_size(p, &oh, &ow) != CNN_STATUS_SUCCESS) return; /* invalid combo */
    const size_t in_n = (size_t)p->batch * p->channels * p->in_height * p->in_width;
    const size_t out_n = (size_t)p->batch * p->channels * oh * ow;
    float* in = tricky_input(in_n, seed, p->kind == CNN_POOL_MAX);
    float* want = (float*)malloc(out_n * sizeof(float));
    float* got = (float*)malloc(out_n * sizeof(float));
    EXPECT(isas[0] == CNN_ISA_REFERENCE, "first context is not the reference");
    EXPECT_STATUS(cnn_pool2d_forward(ctx[0], p, in, want), CNN_STATUS_SUCCESS);
    for (int c = 1; c < nctx; c++) {
        memset(got, 0xA5, out_n * sizeof(float));
        EXPECT_STATUS(cnn_pool2d_forward(ctx[c], p, in, got), CNN_STATUS_SUCCESS);
        size_t diff = 0, first = 0;
        for (size_t i = out_n; i-- > 0;)
            if (memcmp(&got[i], &want[i], sizeof(float)) != 0) {
                diff++;
                first = i;
            }
        EXPECT(diff == 0,
               "%s kind %d n%d c%d %dx%d k%dx%d s%dx%d p%dx%d d%dx%d ceil %d cip %d div %d -> "
               "%dx%d: %zu of %zu outputs differ bitwise from the reference (first at %zu: "
               "%g vs %g)",
               test_isa_name(isas[c]), p->kind, p->batch, p->channels, p->in_height,
               p->in_width, p->kernel_height, p->kernel_width, p->stride_height, p->stride_width,
               p->pad_height, p->pad_width, p->dilation_height, p->dilation_width, p->ceil_mode,
               p->count_include_pad, p->divisor_override, oh, ow, diff, out_n, first,
               diff ? (double)got[first] : 0.0, diff ? (double)want[first] : 0.0);
    }
    configs_run++;
    free(in);
    free(want);
    free(got);
}

static void test_sweep(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no context");
    /* widths: outputs of 1 to 40 columns around 8, 16 and 32 lanes for strides 1-3 */
    const int widths[] = {1, 2, 5, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 34, 47, 50, 67};
    const int heights[] = {1, 4, 7};
    uint32_t seed = 1;
    for (int kind = 0; kind < 2; kind++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (int kw = 1; kw <= 5; kw++)
                for (int sw = 1; sw <= 3; sw++)
                    for (int pw = 0; pw <= kw / 2; pw++)
                        for (int ceil = 0; ceil <= 1; ceil++) {
                            seed++;
                            cnn_pool2d_params p;
                            memset(&p, 0, sizeof p);
                            p.kind = (cnn_pool_kind)kind;
                            p.batch = 1 + (int)(seed % 2);
                            p.channels = 1 + (int)(seed % 3);
                            p.in_height = heights[seed % 3];
                            p.in_width = widths[wi];
                            p.kernel_height = 1 + (int)(seed % 3);
                            p.kernel_width = kw;
                            p.stride_height = 1 + (int)(seed / 3 % 2);
                            p.stride_width = sw;
                            p.pad_height = (int)(seed / 5 % 2) <= p.kernel_height / 2
                                               ? (int)(seed / 5 % 2)
                                               : 0;
                            p.pad_width = pw;
                            p.ceil_mode = ceil;
                            p.dilation_height = p.dilation_width = 1;
                            if (kind == CNN_POOL_MAX) {
                                p.dilation_width = 1 + (int)(seed / 7 % 3);
                                p.dilation_height = 1 + (int)(seed / 11 % 2);
                            } else {
                                p.count_include_pad = (int)(seed / 7 % 2);
                                p.divisor_override = seed % 13 == 0 ? 3 : 0;
                            }
                            check_shape(ctx, isas, nctx, &p, seed);
                        }
    /* The ResNet stem pool and a LeNet pool, batch 2, with the tricky values. */
    cnn_pool2d_params stem = {CNN_POOL_MAX, 2, 5, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0, 2.0f};
    check_shape(ctx, isas, nctx, &stem, 77);
    stem.kind = CNN_POOL_AVERAGE;
    check_shape(ctx, isas, nctx, &stem, 78);
    cnn_pool2d_params lenet = {CNN_POOL_MAX, 2, 6, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, 0, 1, 0, 2.0f};
    check_shape(ctx, isas, nctx, &lenet, 79);
    /* Max 3x3 stride 2 dilation 1 (f32-pool2d-max3x3s2.h): every width 1..40, heights 1..9,
     * padding 0 / 1 per axis, ceil_mode, channels 1 / 3 / 17, batch 1 / 3. */
    for (int w = 1; w <= 40; w++)
        for (int v = 0; v < 8; v++) {
            const int chs[] = {1, 3, 17};
            cnn_pool2d_params q = {CNN_POOL_MAX, 1 + 2 * (w % 5 == 0), chs[(w + v) % 3],
                                   1 + (w + v) % 9, w, 3, 3, 2, 2, v & 1, (v >> 1) & 1, 1, 1,
                                   v >> 2, 1, 0, 2.0f};
            check_shape(ctx, isas, nctx, &q, 1000u + (uint32_t)(w * 8 + v));
        }
    printf("pool2d vector kernels: %ld shapes, %d ISAs compared bitwise with the reference\n",
           configs_run, nctx);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
}

/* Hand-checked first-max and NaN order on one 3x3 window (stride 1, no padding, 1 output). */
static void test_window_order(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    cnn_pool2d_params p = {CNN_POOL_MAX, 1, 1, 3, 3, 3, 3, 1, 1, 0, 0, 1, 1, 0, 1, 0, 2.0f};
    for (int c = 0; c < nctx; c++) {
        /* Row-major order meets -0 at (1, 1) first; a column-major scan would meet +0 at
         * (2, 0) first. */
        const float ties[9] = {-1.0f, -1.0f, -1.0f, -1.0f, -0.0f, -2.0f, 0.0f, -3.0f, -4.0f};
        float out = 1.0f;
        EXPECT_STATUS(cnn_pool2d_forward(ctx[c], &p, ties, &out), CNN_STATUS_SUCCESS);
        EXPECT(out == 0.0f && signbit(out), "%s: first max of +-0 should be -0, got %g (sign %d)",
               test_isa_name(isas[c]), (double)out, signbit(out) != 0);
        /* two NaNs: the later one in row-major order wins */
        float nans[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        nans[2] = nan_with_payload(11);
        nans[3] = nan_with_payload(22);
        EXPECT_STATUS(cnn_pool2d_forward(ctx[c], &p, nans, &out), CNN_STATUS_SUCCESS);
        EXPECT(memcmp(&out, &nans[3], sizeof out) == 0, "%s: expected the NaN of (1, 0)",
               test_isa_name(isas[c]));
    }
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
}

int main(void) {
    test_window_order();
    test_sweep();
    return test_finish("test_pool2d_vector");
}
