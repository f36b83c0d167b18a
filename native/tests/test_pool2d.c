/* test_pool2d.c — cnn_pool2d_output_size / cnn_pool2d_forward: hand-derived cases (PyTorch
 * 1.13 semantics), every ISA against an independent double-precision implementation over a
 * sweep of shapes, and every validation path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ------------------------------------------------------------ independent double reference */

static double window_value(const cnn_pool2d_params* p, const float* plane, int oh, int ow) {
    const int H = p->in_height, W = p->in_width;
    if (p->kind == CNN_POOL_MAX) {
        double m = -INFINITY;
        int nan = 0;
        for (int i = 0; i < p->kernel_height; i++)
            for (int j = 0; j < p->kernel_width; j++) {
                int ih = oh * p->stride_height - p->pad_height + i * p->dilation_height;
                int iw = ow * p->stride_width - p->pad_width + j * p->dilation_width;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                double v = plane[ih * W + iw];
                if (isnan(v)) nan = 1;
                if (v > m) m = v;
            }
        return nan ? NAN : m;
    }
    /* average / LP: count the taps inside the input and inside input+padding separately */
    double sum = 0.0;
    long valid = 0, in_padded = 0;
    const int pad_h = p->kind == CNN_POOL_LP ? 0 : p->pad_height;
    const int pad_w = p->kind == CNN_POOL_LP ? 0 : p->pad_width;
    for (int i = 0; i < p->kernel_height; i++)
        for (int j = 0; j < p->kernel_width; j++) {
            int ih = oh * p->stride_height - pad_h + i;
            int iw = ow * p->stride_width - pad_w + j;
            if (ih < H + pad_h && iw < W + pad_w) in_padded++;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            double v = plane[ih * W + iw];
            sum += p->kind == CNN_POOL_LP ? pow(v, p->norm_type) : v;
            valid++;
        }
    if (valid == 0) return 0.0;
    if (p->kind == CNN_POOL_LP) {
        /* torch: avg_pool2d(x^p) (divisor = valid count, no padding) * kW*kH, then ^(1/p) */
        double mean = sum / (double)in_padded * p->kernel_height * p->kernel_width;
        return pow(mean, 1.0 / p->norm_type);
    }
    if (p->divisor_override > 0) return sum / p->divisor_override;
    return sum / (double)(p->count_include_pad ? in_padded : valid);
}

static void naive_pool(const cnn_pool2d_params* p, int oh_n, int ow_n, const float* in,
                       double* out) {
    for (long plane = 0; plane < (long)p->batch * p->channels; plane++)
        for (int oh = 0; oh < oh_n; oh++)
            for (int ow = 0; ow < ow_n; ow++)
                out[(plane * oh_n + oh) * ow_n + ow] =
                    window_value(p, in + plane * p->in_height * p->in_width, oh, ow);
}

/* max relative error (|d| / max(1, |want|)); NaN must match NaN. Returns NaN mismatches. */
static long compare(const float* got, const double* want, long n, double* max_err) {
    long nan_mismatch = 0;
    for (long i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            nan_mismatch += isnan(want[i]) != isnan(got[i]);
            continue;
        }
        if (isinf(want[i]) || isinf(got[i])) {
            nan_mismatch += want[i] != got[i];
            continue;
        }
        double d = fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (d > *max_err) *max_err = d;
    }
    return nan_mismatch;
}

/* ---------------------------------------------------------------------- hand-derived cases */

static void run_hand_case(cnn_context* ctx, const char* what, const cnn_pool2d_params* p,
                          const float* in, int expect_oh, int expect_ow, const float* expected) {
    int32_t oh = 0, ow = 0;
    EXPECT_STATUS(cnn_pool2d_output_size(p, &oh, &ow), CNN_STATUS_SUCCESS);
    EXPECT(oh == expect_oh && ow == expect_ow, "%s: output %dx%d, expected %dx%d", what, oh, ow,
           expect_oh, expect_ow);
    if (oh != expect_oh || ow != expect_ow) return;
    float out[64];
    EXPECT_STATUS(cnn_pool2d_forward(ctx, p, in, out), CNN_STATUS_SUCCESS);
    for (int i = 0; i < oh * ow; i++) {
        int same = isnan(expected[i])
                       ? isnan(out[i])
                       : fabsf(out[i] - expected[i]) <= 1e-5f * fmaxf(1.0f, fabsf(expected[i]));
        EXPECT(same, "%s: output[%d] = %.7g, expected %.7g", what, i, out[i], expected[i]);
    }
}

static void test_hand_cases(cnn_context* ctx) {
    float ramp16[16], ramp25[25];
    for (int i = 0; i < 16; i++) ramp16[i] = (float)i;
    for (int i = 0; i < 25; i++) ramp25[i] = (float)i;

    /* 4x4 ramp, max 2x2 stride 2: the bottom-right element of each quadrant. */
    cnn_pool2d_params p = test_pool2d_params(CNN_POOL_MAX, 1, 1, 4, 4, 2, 2, 2, 2, 0, 0);
    run_hand_case(ctx, "max 2x2/2", &p, ramp16, 2, 2, (const float[]){5, 7, 13, 15});

    /* avg 2x2 stride 2: quadrant means (0+1+4+5)/4 = 2.5, ... */
    p.kind = CNN_POOL_AVERAGE;
    run_hand_case(ctx, "avg 2x2/2", &p, ramp16, 2, 2, (const float[]){2.5f, 4.5f, 10.5f, 12.5f});

    /* avg 3x3 stride 2 pad 1 ceil_mode on the 4x4 ramp: out = ceil((4+2-3)/2)+1 = 3 (the last
     * window starts at 3 < 4+1, so it stays). Windows (rows/cols): [-1,2), [1,4), [3,5)
     * where the last one is cut at in+pad = 5 -> pool extent 2.
     * count_include_pad=1: (0,0) = (0+1+4+5)/9, (0,1) = (1+2+3+5+6+7)/9 = 24/9,
     * (0,2) = (3+7)/(3*2), (1,1) = (5+6+7+9+10+11+13+14+15)/9 = 10, (2,2) = 15/(2*2). */
    p = test_pool2d_params(CNN_POOL_AVERAGE, 1, 1, 4, 4, 3, 3, 2, 2, 1, 1);
    p.ceil_mode = 1;
    run_hand_case(ctx, "avg 3x3/2 pad 1 ceil include_pad", &p, ramp16, 3, 3,
                  (const float[]){10.0f / 9, 24.0f / 9, 10.0f / 6, 51.0f / 9, 10.0f, 33.0f / 6,
                                  25.0f / 6, 42.0f / 6, 15.0f / 4});
    /* count_include_pad=0: divide by the valid count: 10/4, 24/6, 10/2, ..., 15/1. */
    p.count_include_pad = 0;
    run_hand_case(ctx, "avg 3x3/2 pad 1 ceil exclude_pad", &p, ramp16, 3, 3,
                  (const float[]){2.5f, 4.0f, 5.0f, 8.5f, 10.0f, 11.0f, 12.5f, 14.0f, 15.0f});
    /* divisor_override=2 replaces every divisor: sums / 2. */
    p.divisor_override = 2;
    run_hand_case(ctx, "avg 3x3/2 pad 1 ceil divisor 2", &p, ramp16, 3, 3,
                  (const float[]){5.0f, 12.0f, 5.0f, 25.5f, 45.0f, 16.5f, 12.5f, 21.0f, 7.5f});
    /* Without ceil_mode the same window gives floor((4+2-3)/2)+1 = 2. */
    p.ceil_mode = 0;
    p.divisor_override = 0;
    p.count_include_pad = 1;
    run_hand_case(ctx, "avg 3x3/2 pad 1 floor", &p, ramp16, 2, 2,
                  (const float[]){10.0f / 9, 24.0f / 9, 51.0f / 9, 10.0f});

    /* 5x5 ramp, avg 2x2/2 ceil: 3x3 with 1-wide partial windows at the right/bottom edge
     * (no padding, so pool extent = valid count): (0,2) = (4+9)/2, (2,2) = 24. */
    p = test_pool2d_params(CNN_POOL_AVERAGE, 1, 1, 5, 5, 2, 2, 2, 2, 0, 0);
    p.ceil_mode = 1;
    run_hand_case(ctx, "avg 2x2/2 ceil 5x5", &p, ramp25, 3, 3,
                  (const float[]){3.0f, 5.0f, 6.5f, 13.0f, 15.0f, 16.5f, 20.5f, 22.5f, 24.0f});

    /* LP p=2 on the same windows: torch scales partial windows by kW*kH / valid:
     * (0,0) = sqrt(0+1+25+36), (0,2) = sqrt((16+81)/2*4), (2,2) = sqrt(24^2 * 4) = 48. */
    p.kind = CNN_POOL_LP;
    run_hand_case(
        ctx, "LP p=2 2x2/2 ceil 5x5", &p, ramp25, 3, 3,
        (const float[]){sqrtf(62.0f), sqrtf(2.0f * 2 + 3.0f * 3 + 7.0f * 7 + 8.0f * 8),
                        sqrtf(194.0f), sqrtf(10.f * 10 + 11 * 11 + 15 * 15 + 16 * 16),
                        sqrtf(12.f * 12 + 13 * 13 + 17 * 17 + 18 * 18),
                        sqrtf((14.f * 14 + 19 * 19) * 2), sqrtf((20.f * 20 + 21 * 21) * 2),
                        sqrtf((22.f * 22 + 23 * 23) * 2), 48.0f});
    /* LP p=1 with full windows is the plain window sum. */
    p.ceil_mode = 0;
    p.norm_type = 1.0f;
    run_hand_case(ctx, "LP p=1 2x2/2 5x5", &p, ramp25, 2, 2, (const float[]){12, 20, 52, 60});

    /* max 2x2/2 pad 1 ceil on 5x5: floor((5+2-2+1)/2)+1 = 4, but (4-1)*2 = 6 >= 5+1 starts in
     * the right padding only, so out = 3; windows [-1,1), [1,3), [3,5). */
    p = test_pool2d_params(CNN_POOL_MAX, 1, 1, 5, 5, 2, 2, 2, 2, 1, 1);
    p.ceil_mode = 1;
    run_hand_case(ctx, "max 2x2/2 pad 1 ceil 5x5", &p, ramp25, 3, 3,
                  (const float[]){0, 2, 4, 10, 12, 14, 20, 22, 24});

    /* max with dilation 2: taps {0, 2} per axis, out 3x3: (0,0) = max(0, 2, 10, 12). */
    p = test_pool2d_params(CNN_POOL_MAX, 1, 1, 5, 5, 2, 2, 1, 1, 0, 0);
    p.dilation_height = p.dilation_width = 2;
    run_hand_case(ctx, "max 2x2 dilation 2", &p, ramp25, 3, 3,
                  (const float[]){12, 13, 14, 17, 18, 19, 22, 23, 24});

    /* NaN propagates through max (torch: a NaN in the window gives NaN). */
    const float with_nan[4] = {1.0f, NAN, 3.0f, 4.0f};
    p = test_pool2d_params(CNN_POOL_MAX, 1, 1, 1, 4, 1, 2, 1, 2, 0, 0);
    run_hand_case(ctx, "max NaN", &p, with_nan, 1, 2, (const float[]){NAN, 4.0f});
    /* Padding counts as -inf: an all-negative row with padding keeps the negative max. */
    const float negative[3] = {-3.0f, -1.0f, -2.0f};
    p = test_pool2d_params(CNN_POOL_MAX, 1, 1, 1, 3, 1, 3, 1, 1, 0, 1);
    run_hand_case(ctx, "max pad -inf", &p, negative, 1, 3, (const float[]){-1.0f, -1.0f, -1.0f});
}

/* -------------------------------------------------------------------------------- sweep */

typedef struct {
    double max_err[3];
    long configs;
} sweep_stats;

static void sweep_one(cnn_context** ctx, const cnn_isa* isas, int nctx, cnn_pool2d_params* p,
                      sweep_stats* stats, double tolerance[3]) {
    int32_t oh = 0, ow = 0;
    if (cnn_pool2d_output_size(p, &oh, &ow) != CNN_STATUS_SUCCESS) return; /* invalid combo */
    const long in_n = (long)p->batch * p->channels * p->in_height * p->in_width;
    const long out_n = (long)p->batch * p->channels * oh * ow;
    float* in = test_random_floats((size_t)in_n, (uint32_t)(stats[0].configs + 7));
    if (p->kind == CNN_POOL_LP && p->norm_type != 1.0f && p->norm_type != 2.0f)
        for (long i = 0; i < in_n; i++) in[i] = fabsf(in[i]); /* x^p of x < 0 is NaN */
    double* want = (double*)malloc((size_t)out_n * sizeof(double));
    float* got = (float*)malloc((size_t)out_n * sizeof(float));
    float* first = (float*)malloc((size_t)out_n * sizeof(float));
    naive_pool(p, oh, ow, in, want);
    for (int c = 0; c < nctx; c++) {
        memset(got, 0xff, (size_t)out_n * sizeof(float));
        EXPECT_STATUS(cnn_pool2d_forward(ctx[c], p, in, got), CNN_STATUS_SUCCESS);
        double err = 0.0;
        long nan_mismatch = compare(got, want, out_n, &err);
        EXPECT(nan_mismatch == 0 && err <= tolerance[p->kind],
               "%s kind %d n%d c%d %dx%d k%dx%d s%dx%d p%dx%d d%dx%d ceil %d cip %d div %d p=%g: "
               "max rel err %.3g (tol %.1g), %ld NaN/inf mismatches",
               test_isa_name(isas[c]), p->kind, p->batch, p->channels, p->in_height, p->in_width,
               p->kernel_height, p->kernel_width, p->stride_height, p->stride_width, p->pad_height,
               p->pad_width, p->dilation_height, p->dilation_width, p->ceil_mode,
               p->count_include_pad, p->divisor_override, (double)p->norm_type, err,
               tolerance[p->kind], nan_mismatch);
        if (err > stats[c].max_err[p->kind]) stats[c].max_err[p->kind] = err;
        stats[c].configs++;
        if (c == 0) memcpy(first, got, (size_t)out_n * sizeof(float));
        /* Max and average: the vector path sums in the reference's order -> bitwise equal. */
        if (c > 0 && p->kind != CNN_POOL_LP) {
            long diff = 0;
            for (long i = 0; i < out_n; i++) diff += memcmp(&got[i], &first[i], sizeof(float)) != 0;
            EXPECT(diff == 0, "%s differs bitwise from reference in %ld of %ld outputs (kind %d)",
                   test_isa_name(isas[c]), diff, out_n, p->kind);
        }
    }
    free(in);
    free(want);
    free(got);
    free(first);
}

static void test_sweep(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no context");
    sweep_stats stats[4];
    memset(stats, 0, sizeof stats);
    double tolerance[3] = {0.0, 2e-6, 2e-5}; /* max exact; avg float sum; LP float sum + pow */
    const int batches[2] = {1, 3}, channels[4] = {1, 3, 8, 17};
    const int sizes[4][2] = {{7, 9}, {13, 37}, {5, 53}, {11, 20}};
    const float norms[5] = {2.0f, 1.0f, 3.0f, 0.5f, 1.5f};
    long config = 0;
    for (int kind = 0; kind < 3; kind++)
        for (int k = 1; k <= 5; k++)
            for (int s = 1; s <= 3; s++)
                for (int pad = 0; pad <= k / 2; pad++)
                    for (int ceil = 0; ceil <= 1; ceil++)
                        for (int variant = 0; variant < 2; variant++) {
                            if (kind == CNN_POOL_LP && pad > 0) continue;
                            const int* hw = sizes[config % 4];
                            const int kw = 1 + (k + (int)config) % 5; /* non-square kernels too */
                            cnn_pool2d_params p = test_pool2d_params(
                                (cnn_pool_kind)kind, batches[config % 2],
                                channels[(config / 2) % 4], hw[0], hw[1], k, kw, s,
                                1 + (s + variant) % 3, pad, pad <= kw / 2 ? pad : kw / 2);
                            p.ceil_mode = ceil;
                            if (kind == CNN_POOL_MAX)
                                p.dilation_height = p.dilation_width = 1 + variant;
                            if (kind == CNN_POOL_AVERAGE) {
                                p.count_include_pad = variant;
                                p.divisor_override = (config % 7 == 3) ? 5 : 0;
                            }
                            if (kind == CNN_POOL_LP) p.norm_type = norms[config % 5];
                            config++;
                            sweep_one(ctx, isas, nctx, &p, stats, tolerance);
                        }
    /* A NaN inside the vectorized interior of a wide row. */
    {
        cnn_pool2d_params p = test_pool2d_params(CNN_POOL_MAX, 1, 2, 3, 67, 3, 3, 1, 1, 1, 1);
        sweep_one(ctx, isas, nctx, &p, stats, tolerance);
        float* in = test_random_floats(2 * 3 * 67, 99);
        in[67 + 30] = NAN;
        float out[2 * 3 * 67];
        for (int c = 0; c < nctx; c++) {
            EXPECT_STATUS(cnn_pool2d_forward(ctx[c], &p, in, out), CNN_STATUS_SUCCESS);
            int nans = 0;
            for (int i = 0; i < 2 * 3 * 67; i++) nans += isnan(out[i]) != 0;
            EXPECT(nans == 9 && isnan(out[29]) && isnan(out[67 + 31]) && isnan(out[134 + 30]),
                   "%s: NaN should reach exactly its 3x3 neighbourhood, got %d NaNs",
                   test_isa_name(isas[c]), nans);
        }
        free(in);
    }
    /* Large enough to split into many row chunks across threads (still vs the double reference). */
    for (int kind = 0; kind < 3; kind++) {
        cnn_pool2d_params p = test_pool2d_params((cnn_pool_kind)kind, 3, 17, 67, 71, 3, 3, 2, 2,
                                          kind == CNN_POOL_LP ? 0 : 1, kind == CNN_POOL_LP ? 0 : 1);
        p.ceil_mode = 1;
        p.count_include_pad = 0;
        sweep_one(ctx, isas, nctx, &p, stats, tolerance);
    }
    for (int c = 0; c < nctx; c++) {
        printf(
            "pool2d %-9s %ld configs: max rel err vs double reference: max %.3g, avg %.3g, "
            "LP %.3g (tolerances %.0g, %.0g, %.0g)\n",
            test_isa_name(isas[c]), stats[c].configs, stats[c].max_err[0], stats[c].max_err[1],
            stats[c].max_err[2], tolerance[0], tolerance[1], tolerance[2]);
        cnn_context_destroy(ctx[c]);
    }
}

/* ---------------------------------------------------------------------------- validation */

static void expect_invalid(cnn_context* ctx, const cnn_pool2d_params* p, const char* what) {
    int32_t oh = -7, ow = -7;
    float in[4096], out[4096];
    memset(in, 0, sizeof in);
    cnn_status st = cnn_pool2d_output_size(p, &oh, &ow);
    EXPECT(st == CNN_STATUS_INVALID_ARGUMENT && cnn_get_last_error()[0] != '\0',
           "output_size(%s): status %d, message '%s'", what, (int)st, cnn_get_last_error());
    EXPECT(oh == -7 && ow == -7, "output_size(%s) wrote its outputs on failure", what);
    st = cnn_pool2d_forward(ctx, p, in, out);
    EXPECT(st == CNN_STATUS_INVALID_ARGUMENT && strstr(cnn_get_last_error(), "cnn_pool2d_forward"),
           "forward(%s): status %d, message '%s'", what, (int)st, cnn_get_last_error());
}

static void test_validation(cnn_context* ctx) {
    const cnn_pool2d_params good = test_pool2d_params(CNN_POOL_MAX, 2, 3, 8, 8, 3, 3, 2, 2, 1, 1);
    float in[2 * 3 * 8 * 8], out[2 * 3 * 4 * 4];
    int32_t oh = 0, ow = 0;
    EXPECT_STATUS(cnn_pool2d_output_size(&good, &oh, &ow), CNN_STATUS_SUCCESS);
    EXPECT(oh == 4 && ow == 4, "good params: %dx%d", oh, ow);
    memset(in, 0, sizeof in);
    EXPECT_STATUS(cnn_pool2d_output_size(NULL, &oh, &ow), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_output_size(&good, NULL, &ow), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_output_size(&good, &oh, NULL), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_forward(NULL, &good, in, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_forward(ctx, NULL, in, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_forward(ctx, &good, NULL, out), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_forward(ctx, &good, in, NULL), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_forward(ctx, &good, in, in), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(cnn_pool2d_forward(ctx, &good, in, in + 100), CNN_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(cnn_get_last_error(), "overlaps") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_STATUS(cnn_pool2d_forward(ctx, &good, in, out), CNN_STATUS_SUCCESS);

#define INVALID(field, value)                                                                      \
    do {                                                                                           \
        cnn_pool2d_params p_ = good;                                                               \
        p_.field = value;                                                                          \
        expect_invalid(ctx, &p_, #field " = " #value);                                             \
    } while (0)
    INVALID(kind, (cnn_pool_kind)3);
    INVALID(kind, (cnn_pool_kind)-1);
    INVALID(batch, 0);
    INVALID(batch, -1);
    INVALID(channels, 0);
    INVALID(in_height, 0);
    INVALID(in_width, -5);
    INVALID(kernel_height, 0);
    INVALID(kernel_width, -1);
    INVALID(stride_height, 0);
    INVALID(stride_width, -2);
    INVALID(pad_height, -1);
    INVALID(pad_width, -1);
    INVALID(pad_height, 2); /* > kernel/2 = 1 */
    INVALID(pad_width, 2);
    INVALID(dilation_height, 0);
    INVALID(dilation_width, -1);
    INVALID(ceil_mode, 2);
    INVALID(ceil_mode, -1);
    INVALID(count_include_pad, 2);
    INVALID(divisor_override, -1);
#undef INVALID
    /* A kernel larger than in + 2*pad: floor((2 + 2 - 4 - 1) / 2) + 1 = 0 is invalid, but with
     * ceil_mode torch (1.13, checked) gives ceil(-1/2) + 1 = 1 row (the window [-1, 4) covers rows
     * 0 and 1). */
    {
        cnn_pool2d_params p = good;
        p.kernel_height = 5;
        p.pad_height = 1;
        p.in_height = 2;
        expect_invalid(ctx, &p, "kernel larger than padded input");
        p.ceil_mode = 1;
        EXPECT_STATUS(cnn_pool2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
        EXPECT(oh == 1 && ow == 5, "ceil_mode 5x3/2 pad 1 on 2x8: %dx%d, torch gives 1x5", oh, ow);
    }
    { /* dilation: pad is checked against the kernel size (torch 1.13), not the dilated one */
        cnn_pool2d_params p = good;
        p.dilation_height = 2;
        p.pad_height = 2;
        expect_invalid(ctx, &p, "max pad 2 > kernel 3 / 2 even with dilation 2");
        p.pad_height = 1;
        EXPECT_STATUS(cnn_pool2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
    }
    { /* average and LP: dilation must be 1 */
        cnn_pool2d_params p = good;
        p.kind = CNN_POOL_AVERAGE;
        p.dilation_width = 2;
        expect_invalid(ctx, &p, "avg dilation 2");
        p.kind = CNN_POOL_LP;
        p.pad_height = p.pad_width = 0;
        expect_invalid(ctx, &p, "LP dilation 2");
    }
    { /* LP: no padding, finite p > 0 */
        cnn_pool2d_params p = good;
        p.kind = CNN_POOL_LP;
        expect_invalid(ctx, &p, "LP with padding");
        p.pad_height = p.pad_width = 0;
        EXPECT_STATUS(cnn_pool2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
        const float bad_norms[5] = {0.0f, -1.0f, INFINITY, -INFINITY, NAN};
        for (int i = 0; i < 5; i++) {
            p.norm_type = bad_norms[i];
            expect_invalid(ctx, &p, "LP norm_type");
        }
    }
    { /* output must be >= 1 and products must not overflow */
        cnn_pool2d_params p = test_pool2d_params(CNN_POOL_MAX, 1, 1, 2, 2, 3, 3, 1, 1, 0, 0);
        expect_invalid(ctx, &p, "kernel 3 on 2x2");
        p = test_pool2d_params(CNN_POOL_MAX, 65536, 65536, 65536, 65536, 1, 1, 1, 1, 0, 0);
        expect_invalid(ctx, &p, "input element count overflows");
        p = test_pool2d_params(CNN_POOL_AVERAGE, 1, 1, 2000000000, 2000000000, 1, 1, 1, 1, 0, 0);
        expect_invalid(ctx, &p, "plane too large");
    }
    /* A message names the function, the argument, its value and the range. */
    {
        cnn_pool2d_params p = good;
        p.stride_width = 0;
        cnn_pool2d_forward(ctx, &p, in, out);
        const char* msg = cnn_get_last_error();
        EXPECT(strstr(msg, "cnn_pool2d_forward") && strstr(msg, "stride_width") &&
                   strstr(msg, "= 0") && strstr(msg, "[1, "),
               "message '%s'", msg);
    }
}

/* The thread count never changes results: 1 thread vs the whole budget, bitwise (stride 1 and,
 * for the row-cached max kernel, stride 2; chunks start mid-plane). */
static void test_thread_invariance(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    cnn_pool2d_params p = test_pool2d_params(CNN_POOL_AVERAGE, 2, 16, 97, 101, 3, 3, 1, 1, 1, 1);
    const size_t in_n = (size_t)2 * 16 * 97 * 101;
    float* in = test_random_floats(in_n, 5);
    float* one = (float*)malloc(in_n * sizeof(float)); /* stride 1, pad 1: out <= in */
    float* all = (float*)malloc(in_n * sizeof(float));
    for (int c = 0; c < nctx; c++)
        for (int variant = 0; variant < 4; variant++) {
            const int kind = variant % 3, stride = 1 + variant / 3;
            int32_t oh = 0, ow = 0;
            p.kind = (cnn_pool_kind)kind;
            p.stride_height = p.stride_width = stride;
            p.pad_height = p.pad_width = kind == CNN_POOL_LP ? 0 : 1;
            EXPECT_STATUS(cnn_pool2d_output_size(&p, &oh, &ow), CNN_STATUS_SUCCESS);
            const size_t n = (size_t)2 * 16 * oh * ow;
            EXPECT_STATUS(cnn_context_set_num_threads(ctx[c], 1), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_pool2d_forward(ctx[c], &p, in, one), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_context_set_num_threads(ctx[c], 0), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_pool2d_forward(ctx[c], &p, in, all), CNN_STATUS_SUCCESS);
            EXPECT(memcmp(one, all, n * sizeof(float)) == 0,
                   "%s kind %d stride %d: 1 thread and all threads differ",
                   test_isa_name(isas[c]), kind, stride);
        }
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    free(in);
    free(one);
    free(all);
}

int main(void) {
    cnn_context* ctx = NULL;
    EXPECT_STATUS(cnn_context_create(&ctx), CNN_STATUS_SUCCESS);
    cnn_context* ctx_all[4];
    cnn_isa isas[4];
    const int n = test_contexts(ctx_all, isas);
    for (int c = 0; c < n; c++) {
        test_hand_cases(ctx_all[c]);
        cnn_context_destroy(ctx_all[c]);
    }
    test_sweep();
    test_thread_invariance();
    test_validation(ctx);
    cnn_context_destroy(ctx);
    return test_finish("test_pool2d");
}
