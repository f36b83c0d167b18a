/* test_conv2d_backward.c — cnn_conv2d_backward_data / cnn_conv2d_backward_weights:
 *  (1) gradient check: every ISA (the scalar reference first) against central finite differences
 *      of the loss L = sum(dY .* (conv(X, W) + b)), computed in double by a naive convolution
 *      written here, on small shapes with stride, asymmetric padding, dilation, groups and
 *      depthwise;
 *  (2) every ISA against the reference over a sweep (batch 1 and 3, channels 1/3/8/9/17,
 *      kernels 1/3/5/7 and 11 stride 4, strides 1..3, asymmetric padding, dilation 1..3,
 *      groups 1, 2, depthwise, bias on/off, accumulate 0/1), tolerances stated, max errors
 *      printed; LeNet-5's shapes at batch 64; the same result on 1, 2 and 3 threads (bitwise);
 *  (3) every validation path: CNN_STATUS_INVALID_ARGUMENT, a message naming the function and
 *      the argument, gradients untouched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_num_ctx;

typedef struct {
    size_t in, w, out, k;
    int32_t oh, ow;
} sizes;

static int shape_of(const cnn_conv2d_params* p, sizes* s) {
    if (cnn_conv2d_output_size(p, &s->oh, &s->ow) != CNN_STATUS_SUCCESS) return 0;
    s->in = (size_t)p->batch * p->in_channels * p->in_height * p->in_width;
    s->k = (size_t)(p->in_channels / p->groups) * p->kernel_height * p->kernel_width;
    s->w = (size_t)p->out_channels * s->k;
    s->out = (size_t)p->batch * p->out_channels * s->oh * s->ow;
    return 1;
}

/* ------------------------------------------------------------- (1) finite-difference check */

/* L = sum(dY .* (conv(X, W) + b)) in double, naive loops. */
static double loss(const cnn_conv2d_params* p, const sizes* s, const double* x, const double* w,
                   const double* b, const float* dy) {
    const int icg = p->in_channels / p->groups, ocg = p->out_channels / p->groups;
    double total = 0.0;
    for (int n = 0; n < p->batch; n++)
        for (int oc = 0; oc < p->out_channels; oc++) {
            const int g = oc / ocg;
            for (int oh = 0; oh < s->oh; oh++)
                for (int ow = 0; ow < s->ow; ow++) {
                    double y = b[oc];
                    for (int ic = 0; ic < icg; ic++)
                        for (int kh = 0; kh < p->kernel_height; kh++)
                            for (int kw = 0; kw < p->kernel_width; kw++) {
                                const int ih =
                                    oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                                const int iw =
                                    ow * p->stride_width - p->pad_left + kw * p->dilation_width;
                                if (ih < 0 || ih >= p->in_height || iw < 0 || iw >= p->in_width)
                                    continue;
                                y += x[(((size_t)n * p->in_channels + g * icg + ic) * p->in_height +
                                        ih) *
                                           p->in_width +
                                       iw] *
                                     w[(((size_t)oc * icg + ic) * p->kernel_height + kh) *
                                           p->kernel_width +
                                       kw];
                            }
                    total +=
                        (double)dy[(((size_t)n * p->out_channels + oc) * s->oh + oh) * s->ow + ow] *
                        y;
                }
        }
    return total;
}

static double g_fd_err[4]; /* per ISA: max |analytic - FD| / max(1, |FD|) */

/* Central differences of every element of x (count n): (L(x + h) - L(x - h)) / 2h against g. */
static double fd_compare(const cnn_conv2d_params* p, const sizes* s, double* x, double* w,
                         double* b, const float* dy, double* v, size_t n, const float* g) {
    const double h = 1e-3;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double saved = v[i];
        v[i] = saved + h;
        const double lp = loss(p, s, x, w, b, dy);
        v[i] = saved - h;
        const double lm = loss(p, s, x, w, b, dy);
        v[i] = saved;
        const double fd = (lp - lm) / (2 * h);
        const double err = fabs((double)g[i] - fd) / fmax(1.0, fabs(fd));
        if (err > worst || err != err) worst = err;
    }
    return worst;
}

static void gradcheck_case(cnn_conv2d_params p) {
    sizes s;
    EXPECT(shape_of(&p, &s), "gradcheck shape invalid");
    float* xf = test_random_floats(s.in, 11);
    float* wf = test_random_floats(s.w, 12);
    float* dy = test_random_floats(s.out, 13);
    double* x = (double*)malloc(s.in * sizeof(double));
    double* w = (double*)malloc(s.w * sizeof(double));
    double* b = (double*)calloc((size_t)p.out_channels, sizeof(double));
    for (size_t i = 0; i < s.in; i++) x[i] = xf[i];
    for (size_t i = 0; i < s.w; i++) w[i] = wf[i];
    float* gx = (float*)malloc(s.in * sizeof(float));
    float* gw = (float*)malloc(s.w * sizeof(float));
    float* gb = (float*)malloc((size_t)p.out_channels * sizeof(float));
    for (int c = 0; c < g_num_ctx; c++) {
        EXPECT_STATUS(cnn_conv2d_backward_data(g_ctx[c], &p, dy, wf, 0, gx), CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_conv2d_backward_weights(g_ctx[c], &p, xf, dy, 0, gw, gb),
                      CNN_STATUS_SUCCESS);
        double err = fd_compare(&p, &s, x, w, b, dy, x, s.in, gx);
        double e2 = fd_compare(&p, &s, x, w, b, dy, w, s.w, gw);
        double e3 = fd_compare(&p, &s, x, w, b, dy, b, (size_t)p.out_channels, gb);
        if (e2 > err) err = e2;
        if (e3 > err) err = e3;
        if (err > g_fd_err[c]) g_fd_err[c] = err;
        /* The loss is linear in each variable: central differences are exact up to rounding of
         * the double sums; the float gradients carry ~1e-7 relative error per term. */
        EXPECT(err <= 1e-5,
               "[%s] gradcheck N=%d C=%d %dx%d OC=%d k=%dx%d s=%d,%d pad=%d,%d,%d,%d d=%d,%d g=%d: "
               "max error %.3g",
               test_isa_name(g_isa[c]), p.batch, p.in_channels, p.in_height, p.in_width,
               p.out_channels, p.kernel_height, p.kernel_width, p.stride_height, p.stride_width,
               p.pad_top, p.pad_bottom, p.pad_left, p.pad_right, p.dilation_height,
               p.dilation_width, p.groups, err);
    }
    free(xf);
    free(wf);
    free(dy);
    free(x);
    free(w);
    free(b);
    free(gx);
    free(gw);
    free(gb);
}

static void test_gradcheck(void) {
    cnn_conv2d_params p = test_conv2d_params(2, 3, 6, 7, 4, 3, 3);
    gradcheck_case(p); /* plain, valid */
    p.pad_top = 1, p.pad_bottom = 2, p.pad_left = 0, p.pad_right = 1;
    gradcheck_case(p); /* asymmetric padding */
    p.stride_height = 2, p.stride_width = 3;
    gradcheck_case(p); /* strides */
    p = test_conv2d_params(1, 2, 8, 9, 3, 3, 2);
    p.dilation_height = 2, p.dilation_width = 3, p.pad_left = 2, p.pad_bottom = 1;
    gradcheck_case(p); /* dilation */
    p = test_conv2d_params(2, 4, 5, 6, 6, 3, 3);
    p.groups = 2, p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1, p.stride_width = 2;
    gradcheck_case(p); /* groups 2 */
    p = test_conv2d_params(2, 3, 6, 5, 6, 3, 3);
    p.groups = 3, p.pad_top = 1, p.pad_right = 2, p.stride_height = 2, p.dilation_width = 2;
    gradcheck_case(p); /* depthwise, multiplier 2 */
    p = test_conv2d_params(1, 1, 8, 8, 2, 5, 5);
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 2;
    gradcheck_case(p); /* LeNet conv1-like */
    printf("finite-difference check: max relative error");
    for (int c = 0; c < g_num_ctx; c++) printf(" %s %.3g", test_isa_name(g_isa[c]), g_fd_err[c]);
    printf(" (tolerance 1e-5)\n");
}

/* ------------------------------------------------------------------- (2) sweep vs reference */

static double g_err_data[4], g_err_weight[4], g_err_bias[4];
static int g_cases;

static double rel_err(const float* a, const float* b, size_t n) {
    return test_max_rel_diff(a, b, n);
}

static void sweep_case(cnn_conv2d_params p, int with_bias, int accumulate) {
    sizes s;
    if (!shape_of(&p, &s)) return;
    const uint32_t seed = (uint32_t)g_cases * 13u + 5u;
    g_cases++;
    const size_t oc = (size_t)p.out_channels;
    float* x = test_random_floats(s.in, seed);
    float* w = test_random_floats(s.w, seed + 1);
    float* dy = test_random_floats(s.out, seed + 2);
    float* init_x = test_random_floats(s.in, seed + 3);
    float* init_w = test_random_floats(s.w, seed + 4);
    float* init_b = test_random_floats(oc, seed + 5);
    float* ref_x = (float*)malloc((s.in + 1) * sizeof(float));
    float* ref_w = (float*)malloc((s.w + 1) * sizeof(float));
    float* ref_b = (float*)malloc((oc + 1) * sizeof(float));
    float* gx = (float*)malloc((s.in + 1) * sizeof(float));
    float* gw = (float*)malloc((s.w + 1) * sizeof(float));
    float* gb = (float*)malloc((oc + 1) * sizeof(float));
    /* accumulate = 0 must overwrite whatever the buffer held (NaN here), 1 must add to it. */
    const float fill = accumulate ? 0.0f : NAN;
#define PREPARE(buf, init, n)                                                       \
    do {                                                                            \
        for (size_t i_ = 0; i_ < (n); i_++) buf[i_] = accumulate ? init[i_] : fill; \
        buf[n] = 777.0f;                                                            \
    } while (0)
    PREPARE(ref_x, init_x, s.in);
    PREPARE(ref_w, init_w, s.w);
    PREPARE(ref_b, init_b, oc);
    EXPECT_STATUS(cnn_conv2d_backward_data(g_ctx[0], &p, dy, w, accumulate, ref_x),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_conv2d_backward_weights(g_ctx[0], &p, x, dy, accumulate, ref_w,
                                              with_bias ? ref_b : NULL),
                  CNN_STATUS_SUCCESS);
    /* Tolerances (relative to max(1, |reference|)): the data gradient sums OCg*KH*KW products
     * of values in [-1, 1) in float (other order, FMA): 1e-5 * sqrt(terms). The weight and bias
     * gradients sum N*OH*OW products; the reference sums them in double, the AVX2 kernels in
     * float blocks: 2e-6 * sqrt(terms). */
    const double tol_x =
        1e-5 * sqrt((double)(p.out_channels / p.groups * p.kernel_height * p.kernel_width) + 1.0);
    const double tol_w = 2e-6 * sqrt((double)p.batch * s.oh * s.ow) + 1e-6;
    for (int c = 1; c < g_num_ctx; c++) {
        PREPARE(gx, init_x, s.in);
        PREPARE(gw, init_w, s.w);
        PREPARE(gb, init_b, oc);
        EXPECT_STATUS(cnn_conv2d_backward_data(g_ctx[c], &p, dy, w, accumulate, gx),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(
            cnn_conv2d_backward_weights(g_ctx[c], &p, x, dy, accumulate, gw, with_bias ? gb : NULL),
            CNN_STATUS_SUCCESS);
        const double ex = rel_err(gx, ref_x, s.in);
        const double ew = rel_err(gw, ref_w, s.w);
        const double eb = with_bias ? rel_err(gb, ref_b, oc) : 0.0;
        if (ex > g_err_data[c]) g_err_data[c] = ex;
        if (ew > g_err_weight[c]) g_err_weight[c] = ew;
        if (eb > g_err_bias[c]) g_err_bias[c] = eb;
        EXPECT(ex <= tol_x && ew <= tol_w && eb <= tol_w,
               "[%s] N=%d C=%d %dx%d -> OC=%d k=%dx%d s=%d,%d pad=%d,%d,%d,%d d=%d,%d g=%d bias=%d "
               "acc=%d: data %.3g (tol %.3g) weight %.3g bias %.3g (tol %.3g)",
               test_isa_name(g_isa[c]), p.batch, p.in_channels, p.in_height, p.in_width,
               p.out_channels, p.kernel_height, p.kernel_width, p.stride_height, p.stride_width,
               p.pad_top, p.pad_bottom, p.pad_left, p.pad_right, p.dilation_height,
               p.dilation_width, p.groups, with_bias, accumulate, ex, tol_x, ew, eb, tol_w);
        EXPECT(gx[s.in] == 777.0f && gw[s.w] == 777.0f && gb[oc] == 777.0f,
               "[%s] wrote past a gradient", test_isa_name(g_isa[c]));
        if (!with_bias)
            EXPECT(accumulate ? gb[0] == init_b[0] : gb[0] != gb[0],
                   "[%s] grad_bias written although NULL", test_isa_name(g_isa[c]));
    }
#undef PREPARE
    free(x);
    free(w);
    free(dy);
    free(init_x);
    free(init_w);
    free(init_b);
    free(ref_x);
    free(ref_w);
    free(ref_b);
    free(gx);
    free(gw);
    free(gb);
}

static int next_in(uint32_t* r, int lo, int hi) {
    *r ^= *r << 13;
    *r ^= *r >> 17;
    *r ^= *r << 5;
    return lo + (int)(*r % (uint32_t)(hi - lo + 1));
}

static void test_sweep(void) {
    static const int channels[] = {1, 3, 8, 9, 17};
    int idx = 0;
    /* Channels x channels, 3x3 same padding and 1x1. */
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++, idx++) {
            cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), channels[a], 9, 11 + 6 * (idx % 3),
                                              channels[b], 3, 3);
            p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
            sweep_case(p, idx % 3 != 0, idx % 2);
            p = test_conv2d_params(1 + 2 * ((idx + 1) % 2), channels[a], 7, 13, channels[b], 1, 1);
            sweep_case(p, idx % 2, (idx + 1) % 2);
        }
    /* Output channels below / at / above the AVX-512 tile's 32 columns (weight gradient panels),
     * input channels x taps around its 8 rows (data gradient), odd pixel counts. */
    {
        static const int ocs[] = {31, 32, 33, 65};
        static const int ics[] = {7, 8, 33};
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 3; b++, idx++) {
                cnn_conv2d_params p =
                    test_conv2d_params(1 + (idx % 3), ics[b], 9, 13 + 2 * (idx % 2), ocs[a], 3, 3);
                p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
                p.stride_height = p.stride_width = 1 + (idx % 4 == 3);
                sweep_case(p, idx % 2, (idx / 2) % 2);
            }
    }
    /* Kernel x stride x dilation, padding asymmetric. */
    static const int kernels[] = {1, 3, 5, 7};
    for (int ki = 0; ki < 4; ki++)
        for (int s = 1; s <= 3; s++)
            for (int d = 1; d <= 3; d++, idx++) {
                cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), 3 + 6 * (idx % 2), 15, 17,
                                                  8 + (idx % 3), kernels[ki], kernels[ki]);
                p.stride_height = p.stride_width = s;
                p.pad_top = idx % 4;
                p.pad_bottom = (idx + 1) % 3;
                p.pad_left = (idx + 2) % 4;
                p.pad_right = idx % 2;
                p.dilation_height = d;
                p.dilation_width = 1 + (d + idx) % 3;
                sweep_case(p, idx % 2, (idx / 2) % 2);
            }
    /* 11x11 stride 4 (AlexNet-like), batch 1 and 3. */
    for (int n = 1; n <= 3; n += 2, idx++) {
        cnn_conv2d_params p = test_conv2d_params(n, 3, 35, 39, 16, 11, 11);
        p.stride_height = p.stride_width = 4;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 2;
        sweep_case(p, 1, n == 3);
    }
    /* Groups 2 and 3, depthwise with multipliers 1 and 2. */
    {
        static const int grp[][3] = {{8, 16, 2}, {6, 4, 2}, {9, 9, 3}, {34, 18, 2}};
        for (int i = 0; i < 4; i++)
            for (int ks = 1; ks <= 3; ks += 2, idx++) {
                cnn_conv2d_params p = test_conv2d_params(1 + 2 * (idx % 2), grp[i][0], 11,
                                                  9 + 20 * (i % 2), grp[i][1], ks, ks);
                p.groups = grp[i][2];
                p.pad_top = p.pad_left = ks / 2;
                p.pad_bottom = p.pad_right = ks / 2 + (idx % 2);
                sweep_case(p, idx % 2, (idx / 2) % 2);
            }
        static const int dw_ch[] = {3, 8, 9, 17};
        for (int ci = 0; ci < 4; ci++)
            for (int mult = 1; mult <= 2; mult++)
                for (int s = 1; s <= 3; s++, idx++) {
                    const int c = dw_ch[ci], ks = 3 + 2 * (idx % 2);
                    cnn_conv2d_params p =
                        test_conv2d_params(1 + 2 * (idx % 2), c, 13 + ci, 17 + 9 * ci, c * mult, ks, ks);
                    p.groups = c;
                    p.stride_height = p.stride_width = s;
                    p.pad_top = p.pad_bottom = ks / 2;
                    p.pad_left = ks / 2 + (idx % 3 == 0);
                    p.pad_right = ks / 2;
                    p.dilation_height = 1 + (idx % 3 == 1);
                    p.dilation_width = 1 + (idx % 4 == 2) * 2;
                    sweep_case(p, idx % 2, (idx / 2) % 2);
                }
    }
    /* 150 random combinations (deterministic xorshift), small shapes. */
    {
        uint32_t r = 4242u;
        for (int i = 0; i < 150; i++, idx++) {
            const int depthwise = next_in(&r, 0, 3) == 0;
            const int groups = depthwise ? next_in(&r, 2, 9) : next_in(&r, 1, 3);
            const int icg = depthwise ? 1 : next_in(&r, 1, 9);
            const int ocg = next_in(&r, 1, depthwise ? 3 : 20);
            const int n = next_in(&r, 1, 3), h = next_in(&r, 1, 20), w = next_in(&r, 1, 40);
            cnn_conv2d_params p = test_conv2d_params(n, icg * groups, h, w, ocg * groups,
                                              next_in(&r, 1, 6), next_in(&r, 1, 6));
            p.groups = groups;
            p.stride_height = next_in(&r, 1, 3);
            p.stride_width = next_in(&r, 1, 3);
            p.pad_top = next_in(&r, 0, 3);
            p.pad_bottom = next_in(&r, 0, 3);
            p.pad_left = next_in(&r, 0, 3);
            p.pad_right = next_in(&r, 0, 3);
            p.dilation_height = next_in(&r, 1, 3);
            p.dilation_width = next_in(&r, 1, 3);
            const int bias = next_in(&r, 0, 1);
            sweep_case(p, bias, next_in(&r, 0, 1));
        }
    }
    /* Stride 1, padding 0..dilation*(k-1) (the shapes cnn_conv2d_backward_data runs as a forward
     * convolution with flipped weights on the vector ISAs): kernels 1/2/3/5/7, symmetric and
     * asymmetric padding, dilation 1 and 2, groups 1 and 2, channels off the 8/16/32 multiples
     * (and 33 x 40 so that 3x3 reaches the Winograd path), odd sizes, batch 1 and 2, both
     * accumulate modes. */
    {
        static const int ks[] = {1, 2, 3, 5, 7};
        static const int chans[][2] = {{3, 17}, {9, 5}, {33, 40}};
        for (int ki = 0; ki < 5; ki++)
            for (int d = 1; d <= 2; d++)
                for (int pad = 0; pad <= d * (ks[ki] - 1); pad++)
                    for (int ci = 0; ci < 3; ci++, idx++) {
                        const int k = ks[ki], groups = 1 + (ci == 1 && idx % 2);
                        const int ic = chans[ci][0] * groups, oc = chans[ci][1] * groups;
                        cnn_conv2d_params p = test_conv2d_params(1 + (idx % 2), ic, 9 + (idx % 4),
                                                                 13 + 2 * (idx % 3), oc, k, k);
                        p.groups = groups;
                        p.dilation_height = p.dilation_width = d;
                        p.pad_top = p.pad_left = pad;
                        /* asymmetric every other case, kept within [0, d*(k-1)] */
                        p.pad_bottom = idx % 2 ? d * (k - 1) - pad : pad;
                        p.pad_right = idx % 3 == 1 ? (pad + 1) % (d * (k - 1) + 1) : pad;
                        sweep_case(p, idx % 2, (idx / 2 + pad) % 2);
                    }
    }
    /* LeNet-5 at batch 64 (and the odd batch 5): conv1 1->6 5x5 pad 2 on 28x28, conv2 6->16. */
    for (int n = 5; n <= 64; n += 59) {
        cnn_conv2d_params p = test_conv2d_params(n, 1, 28, 28, 6, 5, 5);
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 2;
        sweep_case(p, 1, 0);
        p = test_conv2d_params(n, 6, 14, 14, 16, 5, 5);
        sweep_case(p, 1, 1);
    }
    printf("sweep: %d cases; max relative error vs reference:", g_cases);
    for (int c = 1; c < g_num_ctx; c++)
        printf(" [%s] data %.3g weight %.3g bias %.3g", test_isa_name(g_isa[c]), g_err_data[c],
               g_err_weight[c], g_err_bias[c]);
    printf("\n");
}

/* The same gradients on 1, 2 and 3 threads, bitwise (every ISA), incl. batch 1 and the
 * batch-split weight gradient of LeNet's conv1. */
static void test_thread_counts(void) {
    cnn_conv2d_params shapes[5];
    shapes[0] = test_conv2d_params(1, 17, 19, 23, 33, 3, 3);
    shapes[0].pad_top = shapes[0].pad_bottom = shapes[0].pad_left = shapes[0].pad_right = 1;
    shapes[1] = test_conv2d_params(64, 1, 28, 28, 6, 5, 5);
    shapes[1].pad_top = shapes[1].pad_bottom = shapes[1].pad_left = shapes[1].pad_right = 2;
    shapes[2] = test_conv2d_params(3, 8, 15, 15, 16, 3, 3);
    shapes[2].groups = 8, shapes[2].stride_height = shapes[2].stride_width = 2;
    shapes[3] = test_conv2d_params(7, 6, 14, 14, 16, 5, 5);
    shapes[4] = test_conv2d_params(2, 20, 12, 12, 70, 3, 3); /* 3 panels of 32 outputs */
    shapes[4].pad_top = shapes[4].pad_bottom = shapes[4].pad_left = shapes[4].pad_right = 1;
    for (int si = 0; si < 5; si++) {
        const cnn_conv2d_params* p = &shapes[si];
        sizes s;
        shape_of(p, &s);
        float* x = test_random_floats(s.in, 70 + si);
        float* w = test_random_floats(s.w, 80 + si);
        float* dy = test_random_floats(s.out, 90 + si);
        float* gx[2] = {(float*)malloc(s.in * 4), (float*)malloc(s.in * 4)};
        float* gw[2] = {(float*)malloc(s.w * 4), (float*)malloc(s.w * 4)};
        float* gb[2] = {(float*)malloc((size_t)p->out_channels * 4),
                        (float*)malloc((size_t)p->out_channels * 4)};
        for (int c = 0; c < g_num_ctx; c++) {
            static const int threads[] = {1, 2, 3, 7};
            for (int t = 0; t < 4; t++) {
                const int slot = t > 0;
                EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], threads[t]),
                              CNN_STATUS_SUCCESS);
                EXPECT_STATUS(cnn_conv2d_backward_data(g_ctx[c], p, dy, w, 0, gx[slot]),
                              CNN_STATUS_SUCCESS);
                EXPECT_STATUS(
                    cnn_conv2d_backward_weights(g_ctx[c], p, x, dy, 0, gw[slot], gb[slot]),
                    CNN_STATUS_SUCCESS);
                if (t > 0)
                    EXPECT(memcmp(gx[0], gx[1], s.in * 4) == 0 &&
                               memcmp(gw[0], gw[1], s.w * 4) == 0 &&
                               memcmp(gb[0], gb[1], (size_t)p->out_channels * 4) == 0,
                           "[%s] shape %d: %d threads differ from 1 thread",
                           test_isa_name(g_isa[c]), si, threads[t]);
            }
            /* Steady state: a repeated call allocates nothing (the first accumulating call
             * may grow the scratch: the forward-convolution route stages its result). */
            int64_t blocks, bytes, before, after;
            cnn_conv2d_backward_data(g_ctx[c], p, dy, w, 1, gx[1]);
            cnn_conv2d_backward_weights(g_ctx[c], p, x, dy, 1, gw[1], gb[1]);
            cnn_get_memory_stats(&blocks, &bytes, &before);
            cnn_conv2d_backward_data(g_ctx[c], p, dy, w, 1, gx[1]);
            cnn_conv2d_backward_weights(g_ctx[c], p, x, dy, 1, gw[1], gb[1]);
            cnn_get_memory_stats(&blocks, &bytes, &after);
            EXPECT(after == before, "[%s] repeated call allocated %lld times",
                   test_isa_name(g_isa[c]), (long long)(after - before));
            EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], 0), CNN_STATUS_SUCCESS);
        }
        free(x);
        free(w);
        free(dy);
        for (int i = 0; i < 2; i++) {
            free(gx[i]);
            free(gw[i]);
            free(gb[i]);
        }
    }
}

/* ------------------------------------------------------------------------- (3) validation */

/* good: N=1, C=2, 3x3, OC=2, 2x2 -> input 18, weight 16, output 8, bias 2. */
static float g_x[64], g_w[64], g_dy[64], g_gx[64], g_gw[64], g_gb[8];

static void fill_grads(void) {
    test_fill(g_gx, 64, 5.0f);
    test_fill(g_gw, 64, 5.0f);
    test_fill(g_gb, 8, 5.0f);
}

static int grads_untouched(void) {
    return test_all_equal(g_gx, 64, 5.0f) && test_all_equal(g_gw, 64, 5.0f) && test_all_equal(g_gb, 8, 5.0f);
}

static void expect_message(const char* what, const char* fn, const char* text) {
    const char* msg = cnn_get_last_error();
    EXPECT(strstr(msg, fn) != NULL, "%s: message '%s' lacks '%s'", what, msg, fn);
    if (text != NULL)
        EXPECT(strstr(msg, text) != NULL, "%s: message '%s' lacks '%s'", what, msg, text);
}

#define BWD_DATA "cnn_conv2d_backward_data"
#define BWD_WEIGHTS "cnn_conv2d_backward_weights"

/* Both functions reject the bad params with a message naming the field. */
static void expect_invalid_params(const cnn_conv2d_params* p, const char* what, const char* text) {
    fill_grads();
    EXPECT_STATUS(cnn_conv2d_backward_data(g_ctx[0], p, g_dy, g_w, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message(what, BWD_DATA, text);
    EXPECT_STATUS(cnn_conv2d_backward_weights(g_ctx[0], p, g_x, g_dy, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message(what, BWD_WEIGHTS, text);
    EXPECT(grads_untouched(), "%s: a gradient was written", what);
}

static void test_validation(void) {
    const cnn_conv2d_params good = test_conv2d_params(1, 2, 3, 3, 2, 2, 2);
    cnn_context* ctx = g_ctx[0];
    for (int c = 0; c < g_num_ctx; c++) {
        fill_grads();
        EXPECT_STATUS(cnn_conv2d_backward_data(g_ctx[c], &good, g_dy, g_w, 0, g_gx),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_conv2d_backward_weights(g_ctx[c], &good, g_x, g_dy, 1, g_gw, g_gb),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_conv2d_backward_weights(g_ctx[c], &good, g_x, g_dy, 0, g_gw, NULL),
                      CNN_STATUS_SUCCESS);
    }
    /* NULL pointers (grad_bias may be NULL: above). */
    fill_grads();
    EXPECT_STATUS(cnn_conv2d_backward_data(NULL, &good, g_dy, g_w, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("data context", BWD_DATA, "'context' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_data(ctx, NULL, g_dy, g_w, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("data params", BWD_DATA, "'params' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, NULL, g_w, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("data grad_output", BWD_DATA, "'grad_output' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, g_dy, NULL, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("data weight", BWD_DATA, "'weight' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, g_dy, g_w, 0, NULL),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("data grad_input", BWD_DATA, "'grad_input' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_weights(NULL, &good, g_x, g_dy, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("weights context", BWD_WEIGHTS, "'context' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, NULL, g_x, g_dy, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("weights params", BWD_WEIGHTS, "'params' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, NULL, g_dy, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("weights input", BWD_WEIGHTS, "'input' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, g_x, NULL, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("weights grad_output", BWD_WEIGHTS, "'grad_output' is NULL");
    EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, g_x, g_dy, 0, NULL, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    expect_message("weights grad_weight", BWD_WEIGHTS, "'grad_weight' is NULL");
    EXPECT(grads_untouched(), "NULL cases wrote a gradient");
    /* accumulate outside {0, 1}. */
    for (int bad = -1; bad <= 2; bad += 3) {
        EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, g_dy, g_w, bad, g_gx),
                      CNN_STATUS_INVALID_ARGUMENT);
        expect_message("data accumulate", BWD_DATA, bad < 0 ? "accumulate = -1" : "accumulate = 2");
        EXPECT(strstr(cnn_get_last_error(), "[0, 1]") != NULL, "range: %s", cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, g_x, g_dy, bad, g_gw, g_gb),
                      CNN_STATUS_INVALID_ARGUMENT);
        expect_message("weights accumulate", BWD_WEIGHTS,
                       bad < 0 ? "accumulate = -1" : "accumulate = 2");
    }
    EXPECT(grads_untouched(), "accumulate cases wrote a gradient");
    /* Overlaps (input 18 floats, weight 16, output 8, bias 2). */
    {
        static float buf[128];
        EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, buf, g_w, 0, buf + 7),
                      CNN_STATUS_INVALID_ARGUMENT);
        expect_message("gx/dy", BWD_DATA, "grad_input");
        EXPECT(strstr(cnn_get_last_error(), "overlaps grad_output") != NULL, "%s",
               cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, g_dy, buf + 17, 0, buf),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps weight") != NULL, "%s", cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_data(ctx, &good, buf, buf + 8, 0, buf + 24),
                      CNN_STATUS_SUCCESS); /* adjacent but disjoint */
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, buf, g_dy, 0, buf + 17, g_gb),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "grad_weight") != NULL &&
                   strstr(cnn_get_last_error(), "overlaps input") != NULL,
               "%s", cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, g_x, buf, 0, buf + 7, g_gb),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps grad_output") != NULL, "%s",
               cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, buf, g_dy, 0, g_gw, buf + 17),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "grad_bias") != NULL &&
                   strstr(cnn_get_last_error(), "overlaps input") != NULL,
               "%s", cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, g_x, buf, 0, g_gw, buf + 7),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "grad_bias") != NULL &&
                   strstr(cnn_get_last_error(), "overlaps grad_output") != NULL,
               "%s", cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, g_x, g_dy, 0, buf, buf + 15),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT(strstr(cnn_get_last_error(), "overlaps grad_weight") != NULL, "%s",
               cnn_get_last_error());
        EXPECT_STATUS(cnn_conv2d_backward_weights(ctx, &good, buf, buf + 18, 0, buf + 26, buf + 42),
                      CNN_STATUS_SUCCESS); /* adjacent but disjoint */
    }
    /* Every params field (the shared validator of the forward pass), both functions. */
#define FIELD_CASE(field, bad, text)                         \
    do {                                                     \
        cnn_conv2d_params p_ = good;                         \
        p_.field = (bad);                                    \
        expect_invalid_params(&p_, #field " = " #bad, text); \
    } while (0)
    FIELD_CASE(batch, 0, "batch = 0");
    FIELD_CASE(in_channels, 0, "in_channels = 0");
    FIELD_CASE(in_height, -1, "in_height = -1");
    FIELD_CASE(in_width, 0, "in_width = 0");
    FIELD_CASE(out_channels, 0, "out_channels = 0");
    FIELD_CASE(kernel_height, 0, "kernel_height = 0");
    FIELD_CASE(kernel_width, -2, "kernel_width = -2");
    FIELD_CASE(stride_height, 0, "stride_height = 0");
    FIELD_CASE(stride_width, 0, "stride_width = 0");
    FIELD_CASE(pad_top, -1, "pad_top = -1");
    FIELD_CASE(pad_bottom, -1, "pad_bottom = -1");
    FIELD_CASE(pad_left, -1, "pad_left = -1");
    FIELD_CASE(pad_right, -1, "pad_right = -1");
    FIELD_CASE(dilation_height, 0, "dilation_height = 0");
    FIELD_CASE(dilation_width, 0, "dilation_width = 0");
    FIELD_CASE(groups, 0, "groups = 0");
    FIELD_CASE(groups, 3, "groups = 3 must divide in_channels");
    FIELD_CASE(kernel_height, 4, "output height would be < 1");
    FIELD_CASE(kernel_width, 4, "output width would be < 1");
    {
        cnn_conv2d_params p = good;
        p.in_channels = 4, p.groups = 4, p.out_channels = 2; /* groups must divide out_channels */
        expect_invalid_params(&p, "groups vs out_channels", "must divide out_channels");
        p = good;
        p.batch = 1 << 30, p.in_channels = 1 << 20; /* element count overflow */
        expect_invalid_params(&p, "huge input", "input");
    }
#undef FIELD_CASE
}

int main(void) {
    g_num_ctx = test_contexts(g_ctx, g_isa);
    EXPECT(g_num_ctx >= 1, "no context");
    test_gradcheck();
    test_sweep();
    test_thread_counts();
    test_validation();
    for (int c = 0; c < g_num_ctx; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_conv2d_backward");
}
