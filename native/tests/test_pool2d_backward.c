/* test_pool2d_backward.c — cnn_pool2d_backward and cnn_global_average_pool2d_backward:
 * hand-derived cases checked against PyTorch 1.13 (max-pool ties go to the first maximum, NaN
 * windows to the LAST NaN, all -inf windows to the first tap; LP zero windows give 0 for p >= 1
 * and NaN for p < 1), central finite differences of an independent double-precision forward
 * against the reference kernel, every ISA against the reference over a sweep (max/avg/LP,
 * padding, dilation, ceil_mode, count_include_pad, divisor_override, overlapping windows),
 * accumulate = 1, thread-count invariance, and every validation path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Square kernel, stride and padding. */
static cnn_pool2d_params make(cnn_pool_kind kind, int n, int c, int h, int w, int k, int s,
                              int pad) {
    return test_pool2d_params(kind, n, c, h, w, k, k, s, s, pad, pad);
}

static int sizes(const cnn_pool2d_params* p, int32_t* oh, int32_t* ow) {
    return cnn_pool2d_output_size(p, oh, ow) == CNN_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- double forward (for FD) */

static double fwd_window(const cnn_pool2d_params* p, const double* x, int oh, int ow) {
    const int H = p->in_height, W = p->in_width;
    const int h0 = oh * p->stride_height - p->pad_height, w0 = ow * p->stride_width - p->pad_width;
    if (p->kind == CNN_POOL_MAX) {
        double m = -INFINITY;
        for (int i = 0; i < p->kernel_height; i++)
            for (int j = 0; j < p->kernel_width; j++) {
                const int ih = h0 + i * p->dilation_height, iw = w0 + j * p->dilation_width;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W && x[ih * W + iw] > m) m = x[ih * W + iw];
            }
        return m;
    }
    int h1 = h0 + p->kernel_height, w1 = w0 + p->kernel_width;
    if (h1 > H + p->pad_height) h1 = H + p->pad_height;
    if (w1 > W + p->pad_width) w1 = W + p->pad_width;
    const double pool = (double)(h1 - h0) * (w1 - w0);
    const int a0 = h0 < 0 ? 0 : h0, b0 = w0 < 0 ? 0 : w0;
    const int a1 = h1 > H ? H : h1, b1 = w1 > W ? W : w1;
    double sum = 0;
    for (int ih = a0; ih < a1; ih++)
        for (int iw = b0; iw < b1; iw++)
            sum += p->kind == CNN_POOL_LP ? pow(x[ih * W + iw], p->norm_type) : x[ih * W + iw];
    if (p->kind == CNN_POOL_LP)
        return pow(sum / pool * p->kernel_height * p->kernel_width, 1.0 / p->norm_type);
    double div = p->divisor_override > 0 ? p->divisor_override
                 : p->count_include_pad ? pool
                                        : (double)(a1 - a0) * (b1 - b0);
    return sum / div;
}

/* L = sum_o g[o] * pool(x)[o] over one plane (batch = channels = 1). */
static double fwd_loss(const cnn_pool2d_params* p, int oh_n, int ow_n, const double* x,
                       const float* g) {
    double L = 0;
    for (int oh = 0; oh < oh_n; oh++)
        for (int ow = 0; ow < ow_n; ow++) L += g[oh * ow_n + ow] * fwd_window(p, x, oh, ow);
    return L;
}

static void fd_case(cnn_context* ref, cnn_pool2d_params p, const char* what, double tol) {
    int32_t oh, ow;
    if (!sizes(&p, &oh, &ow)) return;
    const int n = p.in_height * p.in_width;
    float* x = (float*)malloc(n * sizeof(float));
    double* xd = (double*)malloc(n * sizeof(double));
    float* g = test_random_floats((size_t)oh * ow, 7);
    float* gi = (float*)malloc(n * sizeof(float));
    /* distinct values (a scrambled ramp) so that no max is within the FD step of a tie */
    for (int i = 0; i < n; i++) {
        x[i] = (float)(0.5 + ((i * 37) % n) * 0.01);
        if (p.kind != CNN_POOL_LP && (i % 3) == 0) x[i] = -x[i];
    }
    EXPECT_STATUS(cnn_pool2d_backward(ref, &p, x, NULL, g, 0, gi), CNN_STATUS_SUCCESS);
    double worst = 0;
    const double h = 1e-6;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) xd[j] = x[j];
        xd[i] = x[i] + h;
        const double lp = fwd_loss(&p, oh, ow, xd, g);
        xd[i] = x[i] - h;
        const double lm = fwd_loss(&p, oh, ow, xd, g);
        const double fd = (lp - lm) / (2 * h);
        const double err = fabs(fd - gi[i]) / fmax(1.0, fabs(fd));
        if (err > worst || err != err) worst = err;
    }
    printf("  FD %-34s max rel err %.3g (tol %.0e)\n", what, worst, tol);
    EXPECT(worst <= tol, "%s: FD max rel err %g", what, worst);
    free(x);
    free(xd);
    free(g);
    free(gi);
}

static void test_finite_differences(cnn_context* ref) {
    cnn_pool2d_params p = make(CNN_POOL_MAX, 1, 1, 7, 6, 3, 2, 1);
    fd_case(ref, p, "max 3x3 s2 pad1 (overlap)", 1e-6);
    p.dilation_height = 2;
    fd_case(ref, p, "max 3x3 s2 pad1 dil(2,1)", 1e-6);
    p = make(CNN_POOL_MAX, 1, 1, 6, 7, 2, 2, 0);
    p.ceil_mode = 1;
    fd_case(ref, p, "max 2x2 s2 ceil", 1e-6);
    p = make(CNN_POOL_AVERAGE, 1, 1, 7, 5, 3, 2, 1);
    fd_case(ref, p, "avg 3x3 s2 pad1 incl-pad", 1e-6);
    p.count_include_pad = 0;
    p.ceil_mode = 1;
    fd_case(ref, p, "avg 3x3 s2 pad1 excl-pad ceil", 1e-6);
    p.divisor_override = 4;
    fd_case(ref, p, "avg divisor_override 4", 1e-6);
    p = make(CNN_POOL_AVERAGE, 1, 1, 6, 6, 3, 1, 0);
    fd_case(ref, p, "avg 3x3 s1 (overlap)", 1e-6);
    const float ps[4] = {1.0f, 2.0f, 3.0f, 1.5f};
    for (int i = 0; i < 4; i++) {
        char what[64];
        p = make(CNN_POOL_LP, 1, 1, 7, 6, 3, 2, 0);
        p.norm_type = ps[i];
        p.ceil_mode = 1;
        snprintf(what, sizeof what, "LP p=%g 3x3 s2 ceil", ps[i]);
        fd_case(ref, p, what, 2e-5);
    }
}

/* ------------------------------------------------------------------------ hand-derived */

static void hand(cnn_context* ctx, const char* isa, const char* what, cnn_pool2d_params p,
                 const float* x, const float* g, const float* want) {
    int32_t oh, ow;
    if (!sizes(&p, &oh, &ow)) {
        EXPECT(0, "%s: bad shape", what);
        return;
    }
    const int n = p.in_height * p.in_width;
    float gi[64];
    EXPECT_STATUS(cnn_pool2d_backward(ctx, &p, x, NULL, g, 0, gi), CNN_STATUS_SUCCESS);
    for (int i = 0; i < n; i++) {
        const int same = (isnan(want[i]) && isnan(gi[i])) || gi[i] == want[i] ||
                         fabsf(gi[i] - want[i]) <= 1e-6f * fmaxf(1.0f, fabsf(want[i]));
        EXPECT(same, "%s %s: grad_input[%d] = %.9g, expected %.9g", isa, what, i, gi[i], want[i]);
    }
}

static void test_hand_cases(cnn_context* ctx, const char* isa) {
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    /* torch: ties -> the first maximum in row-major order */
    const float ties[9] = {1, 3, 3, 3, 2, 0, 1, 3, 1};
    const float ties_want[9] = {0, 2, 0, 1, 0, 0, 0, 1, 0};
    hand(ctx, isa, "max ties", make(CNN_POOL_MAX, 1, 1, 3, 3, 2, 1, 0), ties, ones, ties_want);
    /* torch: the LAST NaN of a window wins (each NaN passes isnan) */
    const float nan_x[9] = {1, NAN, 3, NAN, 2, 0, 1, 3, 1};
    const float nan_want[9] = {0, 1, 0, 2, 0, 0, 0, 1, 0};
    hand(ctx, isa, "max NaN", make(CNN_POOL_MAX, 1, 1, 3, 3, 2, 1, 0), nan_x, ones, nan_want);
    /* torch: an all -inf window routes to its first in-bounds tap */
    float ninf[9];
    for (int i = 0; i < 9; i++) ninf[i] = -INFINITY;
    const float ninf_want[9] = {4, 2, 0, 2, 1, 0, 0, 0, 0};
    hand(ctx, isa, "max all -inf pad 1", make(CNN_POOL_MAX, 1, 1, 3, 3, 3, 1, 1), ninf, ones,
         ninf_want);
    /* average 2x2 s1 on 3x3 with gradient 1: corner 1/4, edges 2/4, centre 4/4 */
    const float avg_want[9] = {0.25f, 0.5f, 0.25f, 0.5f, 1, 0.5f, 0.25f, 0.5f, 0.25f};
    hand(ctx, isa, "avg 2x2 s1", make(CNN_POOL_AVERAGE, 1, 1, 3, 3, 2, 1, 0), ties, ones,
         avg_want);
    /* average 3x3 s1 pad1 on 2x2, count_include_pad = 0: each window holds the 4 elements */
    cnn_pool2d_params p = make(CNN_POOL_AVERAGE, 1, 1, 2, 2, 3, 1, 1);
    p.count_include_pad = 0;
    const float avg2_want[4] = {1, 1, 1, 1};
    hand(ctx, isa, "avg excl-pad", p, ties, ones, avg2_want);
    p.count_include_pad = 1; /* divisor 9: 4 windows * 1/9 */
    const float avg3_want[4] = {4.0f / 9, 4.0f / 9, 4.0f / 9, 4.0f / 9};
    hand(ctx, isa, "avg incl-pad", p, ties, ones, avg3_want);
    /* LP, values from torch 1.13: x = [[0,0,1,2],[0,0,-1,.5]], k 2 s 2, gradient 1 */
    const float lp_x[8] = {0, 0, 1, 2, 0, 0, -1, 0.5f};
    cnn_pool2d_params lp = make(CNN_POOL_LP, 1, 1, 2, 4, 2, 2, 0);
    const float lp2_want[8] = {0, 0, 0.4f, 0.8f, 0, 0, -0.4f, 0.2f};
    hand(ctx, isa, "LP p=2 (zero window -> 0)", lp, lp_x, ones, lp2_want);
    lp.norm_type = 3.0f;
    const float lp3_want[8] = {0, 0, 0.2474292814731598f, 0.9897171258926392f,
                               0, 0, 0.2474292814731598f, 0.06185732036828995f};
    hand(ctx, isa, "LP p=3", lp, lp_x, ones, lp3_want);
    lp.norm_type = 1.0f;
    const float lp1_want[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    hand(ctx, isa, "LP p=1", lp, lp_x, ones, lp1_want);
    lp.norm_type = 1.5f; /* negative input: NaN window; zero window: 0 */
    const float lp15_want[8] = {0, 0, NAN, NAN, 0, 0, NAN, NAN};
    hand(ctx, isa, "LP p=1.5", lp, lp_x, ones, lp15_want);
    lp.norm_type = 0.5f; /* zero window: 0 * inf = NaN, as torch */
    const float lp05_want[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    hand(ctx, isa, "LP p=0.5 (zero window -> NaN)", lp, lp_x, ones, lp05_want);

    /* global average pooling: 2 planes of 2x3, gradients 6 and -3 */
    const float gg[2] = {6, -3};
    float gi[12];
    EXPECT_STATUS(cnn_global_average_pool2d_backward(ctx, 1, 2, 2, 3, gg, 0, gi),
                  CNN_STATUS_SUCCESS);
    EXPECT(gi[0] == 1 && gi[5] == 1 && gi[6] == -0.5f && gi[11] == -0.5f, "%s gavg: %g %g", isa,
           gi[0], gi[6]);
    EXPECT_STATUS(cnn_global_average_pool2d_backward(ctx, 1, 2, 2, 3, gg, 1, gi),
                  CNN_STATUS_SUCCESS);
    EXPECT(gi[0] == 2 && gi[11] == -1, "%s gavg accumulate: %g %g", isa, gi[0], gi[11]);
}

/* --------------------------------------------------------------------- ISA sweep */

static void run(cnn_context* ctx, const cnn_pool2d_params* p, const float* x, const float* g,
                int acc, float* gi) {
    EXPECT_STATUS(cnn_pool2d_backward(ctx, p, x, NULL, g, acc, gi), CNN_STATUS_SUCCESS);
}

static void test_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int shapes[4][2] = {{5, 7}, {8, 8}, {13, 11}, {33, 40}};
    const int ks[3] = {2, 3, 1};
    const int ss[3] = {1, 2, 3};
    double worst[4] = {0, 0, 0, 0};
    long configs = 0;
    for (int kind = 0; kind < 3; kind++)
        for (int si = 0; si < 4; si++)
            for (int ki = 0; ki < 3; ki++)
                for (int st = 0; st < 3; st++)
                    for (int pad = 0; pad <= 1; pad++)
                        for (int variant = 0; variant < 4; variant++) {
                            if (kind == CNN_POOL_LP && pad) continue;
                            cnn_pool2d_params p = make((cnn_pool_kind)kind, 2, 3, shapes[si][0],
                                                       shapes[si][1], ks[ki], ss[st], pad);
                            p.ceil_mode = variant & 1;
                            if (kind == CNN_POOL_MAX && (variant & 2)) p.dilation_width = 2;
                            if (kind == CNN_POOL_AVERAGE && (variant & 2)) p.count_include_pad = 0;
                            if (kind == CNN_POOL_AVERAGE && variant == 3) p.divisor_override = 5;
                            if (kind == CNN_POOL_LP) p.norm_type = (variant & 2) ? 3.0f : 2.0f;
                            int32_t oh, ow;
                            if (!sizes(&p, &oh, &ow)) continue;
                            const size_t n = (size_t)2 * 3 * p.in_height * p.in_width;
                            const size_t m = (size_t)2 * 3 * oh * ow;
                            float* x = test_random_floats(n, 11 + (uint32_t)configs);
                            if (kind == CNN_POOL_LP)
                                for (size_t i = 0; i < n; i++) x[i] = fabsf(x[i]) + 0.01f;
                            if (kind == CNN_POOL_MAX) /* coarse values: many ties */
                                for (size_t i = 0; i < n; i += 2) x[i] = roundf(x[i] * 2);
                            if (kind == CNN_POOL_MAX && si == 3) /* NaN and -inf windows */
                                for (size_t i = 0; i < n; i += 13) x[i] = (i % 2) ? NAN : -INFINITY;
                            float* g = test_random_floats(m, 5 + (uint32_t)configs);
                            float* pre = test_random_floats(n, 3);
                            float* want = (float*)malloc(n * sizeof(float));
                            float* got = (float*)malloc(n * sizeof(float));
                            run(ctx[0], &p, x, g, 0, want);
                            /* accumulate = 1 is exactly pre + the fresh gradient */
                            memcpy(got, pre, n * sizeof(float));
                            run(ctx[0], &p, x, g, 1, got);
                            long bad = 0;
                            for (size_t i = 0; i < n; i++) bad += got[i] != pre[i] + want[i];
                            EXPECT(bad == 0, "accumulate kind %d: %ld elements differ", kind, bad);
                            for (int c = 1; c < nctx; c++) {
                                run(ctx[c], &p, x, g, 0, got);
                                const double e = test_max_rel_diff(got, want, n);
                                if (e > worst[c]) worst[c] = e;
                                EXPECT(e <= 1e-6, "%s kind %d %dx%d k%d s%d pad%d v%d: err %g",
                                       test_isa_name(isas[c]), kind, p.in_height, p.in_width,
                                       ks[ki], ss[st], pad, variant, e);
                            }
                            configs++;
                            free(x);
                            free(g);
                            free(pre);
                            free(want);
                            free(got);
                        }
    for (int c = 1; c < nctx; c++)
        printf("  sweep %s vs reference: %ld configs, max rel err %.3g (tol 1e-6)\n",
               test_isa_name(isas[c]), configs, worst[c]);
}

static void test_thread_invariance(cnn_context** ctx, int nctx) {
    cnn_pool2d_params p = make(CNN_POOL_AVERAGE, 4, 9, 30, 31, 3, 1, 1);
    int32_t oh, ow;
    sizes(&p, &oh, &ow);
    const size_t n = (size_t)4 * 9 * 30 * 31, m = (size_t)4 * 9 * oh * ow;
    float* x = test_random_floats(n, 1);
    float* g = test_random_floats(m, 2);
    float* a = test_random_floats(n, 3);
    float* b = (float*)malloc(n * sizeof(float));
    memcpy(b, a, n * sizeof(float));
    for (int c = 0; c < nctx; c++) {
        for (int kind = 0; kind < 3; kind++) {
            p.kind = (cnn_pool_kind)kind;
            p.pad_height = p.pad_width = kind == CNN_POOL_LP ? 0 : 1;
            sizes(&p, &oh, &ow);
            cnn_context_set_num_threads(ctx[c], 1);
            run(ctx[c], &p, x, g, 1, a);
            cnn_context_set_num_threads(ctx[c], 2);
            run(ctx[c], &p, x, g, 1, b);
            EXPECT(memcmp(a, b, n * sizeof(float)) == 0, "kind %d: 1 vs 2 threads differ", kind);
        }
        cnn_context_set_num_threads(ctx[c], 0);
    }
    free(x);
    free(g);
    free(a);
    free(b);
}

/* ------------------------------------------------------------------------ validation */

#define EXPECT_INVALID(call, what)                                                               \
    do {                                                                                         \
        EXPECT_STATUS(call, CNN_STATUS_INVALID_ARGUMENT);                                        \
        if (strlen(cnn_get_last_error()) > 0) printf("  [%s] %s\n", what, cnn_get_last_error()); \
    } while (0)

static void test_validation(cnn_context* ctx) {
    float x[64] = {0}, g[64] = {0}, gi[64];
    cnn_pool2d_params p = make(CNN_POOL_MAX, 1, 1, 4, 4, 2, 2, 0);
    EXPECT_INVALID(cnn_pool2d_backward(NULL, &p, x, NULL, g, 0, gi), "NULL context");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, NULL, x, NULL, g, 0, gi), "NULL params");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, NULL, 0, gi), "NULL grad_output");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, g, 0, NULL), "NULL grad_input");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, NULL, NULL, g, 0, gi), "NULL input (max)");
    p.kind = CNN_POOL_LP;
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, NULL, NULL, g, 0, gi), "NULL input (LP)");
    p.kind = CNN_POOL_AVERAGE; /* average needs no input */
    EXPECT_STATUS(cnn_pool2d_backward(ctx, &p, NULL, NULL, g, 0, gi), CNN_STATUS_SUCCESS);
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, g, 2, gi), "accumulate 2");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, g, -1, gi), "accumulate -1");
    p.kernel_height = 0;
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, g, 0, gi), "kernel 0");
    p = make(CNN_POOL_MAX, 1, 1, 4, 4, 2, 2, 2);
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, g, 0, gi), "pad > kernel/2");
    p = make(CNN_POOL_LP, 1, 1, 4, 4, 2, 2, 0);
    p.norm_type = 0;
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, g, 0, gi), "LP norm 0");
    p = make(CNN_POOL_MAX, 1, 1, 4, 4, 2, 2, 0);
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, x + 8, 0, x), "grad_input = input");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, NULL, gi + 2, 0, gi),
                   "grad_input overlaps grad_output");
    EXPECT_INVALID(cnn_pool2d_backward(ctx, &p, x, gi + 15, g, 0, gi),
                   "grad_input overlaps output");
    /* global average pooling */
    EXPECT_INVALID(cnn_global_average_pool2d_backward(NULL, 1, 1, 2, 2, g, 0, gi), "gavg NULL ctx");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 1, 1, 2, 2, NULL, 0, gi), "gavg NULL g");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 1, 1, 2, 2, g, 0, NULL), "gavg NULL gi");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 0, 1, 2, 2, g, 0, gi), "gavg batch 0");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 1, 1, 0, 2, g, 0, gi), "gavg height 0");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 1, 1, 2, 2, g, 3, gi), "gavg acc 3");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 1, 2, 2, 2, gi + 3, 0, gi),
                   "gavg overlap");
    EXPECT_INVALID(cnn_global_average_pool2d_backward(ctx, 1 << 30, 1 << 30, 1 << 30, 2, g, 0, gi),
                   "gavg too large");
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no context");
    test_finite_differences(ctx[0]);
    for (int c = 0; c < nctx; c++) test_hand_cases(ctx[c], test_isa_name(isas[c]));
    test_sweep(ctx, isas, nctx);
    test_thread_invariance(ctx, nctx);
    test_validation(ctx[0]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_pool2d_backward");
}
