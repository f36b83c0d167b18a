/* test_elementwise.c — activation, add, softmax / log-softmax and global average pooling:
 * hand-derived values, every ISA against double-precision math over a sweep (tails, large
 * multi-threaded sizes, in-place, special values), and every validation path. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static double act_ref(cnn_activation a, double x) {
    switch (a) {
        case CNN_ACTIVATION_RELU: return x < 0 ? 0.0 : x;
        case CNN_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp(-x));
        case CNN_ACTIVATION_TANH: return tanh(x);
        default: return x;
    }
}

static const char* act_name(cnn_activation a) {
    static const char* names[4] = {"none", "relu", "sigmoid", "tanh"};
    return names[a];
}

/* Error of one value in units of the float spacing at the expected value (ulp). Results below
 * FLT_MIN only need to be within FLT_MIN: sigmoid(x < -88.7) = 1 / (1 + exp(-x)) is 0 in float
 * because exp(-x) overflows, as in torch (checked: torch.sigmoid(-90.) == 0). */
static double ulp_err(float got, double want) {
    if (isnan(want) || isnan(got)) return isnan(want) == isnan(got) ? 0.0 : INFINITY;
    if (isinf(want) || isinf(got)) return (double)got == want ? 0.0 : INFINITY;
    if (fabs(want) < FLT_MIN && fabs((double)got - want) <= FLT_MIN) return 0.0;
    double a = fabs(want);
    double ulp = a < FLT_MIN ? ldexp(1.0, -149) : ldexp(1.0, ilogb(a) - 23);
    return fabs((double)got - want) / ulp;
}

typedef struct {
    double max_ulp, max_abs;
} err_stats;

static void track(err_stats* s, float got, double want) {
    double u = ulp_err(got, want);
    if (u > s->max_ulp) s->max_ulp = u;
    if (!isnan(want) && !isinf(want)) {
        double a = fabs((double)got - want);
        if (a > s->max_abs) s->max_abs = a;
    }
}

/* ------------------------------------------------------------------------------ hand cases */

static void test_hand_cases(cnn_context* ctx, const char* isa) {
    const float x[5] = {-1.0f, 0.0f, 2.0f, -0.5f, 3.0f};
    float y[5];
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 5, x, y), CNN_STATUS_SUCCESS);
    EXPECT(y[0] == 0 && y[1] == 0 && y[2] == 2 && y[3] == 0 && y[4] == 3, "%s relu", isa);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_SIGMOID, 5, x, y), CNN_STATUS_SUCCESS);
    EXPECT(y[1] == 0.5f, "%s sigmoid(0) = %.9g, expected 0.5", isa, y[1]);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_TANH, 5, x, y), CNN_STATUS_SUCCESS);
    EXPECT(y[1] == 0.0f, "%s tanh(0) = %.9g", isa, y[1]);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_NONE, 5, x, y), CNN_STATUS_SUCCESS);
    EXPECT(memcmp(x, y, sizeof x) == 0, "%s identity", isa);

    /* special values: relu keeps NaN, sigmoid(+-inf) = 1/0, tanh(+-inf) = +-1 */
    const float sp[6] = {NAN, INFINITY, -INFINITY, 1000.0f, -1000.0f, -0.0f};
    float r[6];
    cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 6, sp, r);
    EXPECT(isnan(r[0]) && r[1] == INFINITY && r[2] == 0 && r[3] == 1000 && r[4] == 0,
           "%s relu special values", isa);
    cnn_activation_forward(ctx, CNN_ACTIVATION_SIGMOID, 6, sp, r);
    EXPECT(isnan(r[0]) && r[1] == 1 && r[2] == 0 && r[3] == 1 && r[4] == 0 && r[5] == 0.5f,
           "%s sigmoid special values: %g %g %g %g %g %g", isa, r[0], r[1], r[2], r[3], r[4], r[5]);
    cnn_activation_forward(ctx, CNN_ACTIVATION_TANH, 6, sp, r);
    EXPECT(isnan(r[0]) && r[1] == 1 && r[2] == -1 && r[3] == 1 && r[4] == -1 && r[5] == 0 &&
               signbit(r[5]),
           "%s tanh special values: %g %g %g %g %g %g", isa, r[0], r[1], r[2], r[3], r[4], r[5]);

    /* add with relu: [1+3, 2-5] -> [4, 0] */
    const float a[2] = {1, 2}, b[2] = {3, -5};
    float s[2];
    EXPECT_STATUS(cnn_add_forward(ctx, 2, a, b, CNN_ACTIVATION_RELU, s), CNN_STATUS_SUCCESS);
    EXPECT(s[0] == 4 && s[1] == 0, "%s add relu: %g %g", isa, s[0], s[1]);

    /* softmax([0, ln 2, ln 5]) = [1, 2, 5] / 8; log-softmax = log of that */
    const float logits[3] = {0.0f, logf(2.0f), logf(5.0f)};
    float p[4];
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 3, 1, 0, logits, p), CNN_STATUS_SUCCESS);
    EXPECT(
        fabsf(p[0] - 0.125f) < 1e-7f && fabsf(p[1] - 0.25f) < 1e-7f && fabsf(p[2] - 0.625f) < 1e-7f,
        "%s softmax %g %g %g", isa, p[0], p[1], p[2]);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 3, 1, 1, logits, p), CNN_STATUS_SUCCESS);
    EXPECT(fabsf(p[0] + logf(8.0f)) < 1e-6f && fabsf(p[2] - logf(0.625f)) < 1e-6f,
           "%s log-softmax %g %g %g", isa, p[0], p[1], p[2]);
    /* over channels of [1, 2, 1, 2] (inner = 2): columns {1, 3} and {2, 2} */
    const float nchw[4] = {1.0f, 2.0f, 3.0f, 2.0f};
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 2, 2, 0, nchw, p), CNN_STATUS_SUCCESS);
    EXPECT(fabsf(p[1] - 0.5f) < 1e-7f && fabsf(p[0] - 1.0f / (1.0f + expf(2.0f))) < 1e-7f,
           "%s softmax inner 2: %g %g", isa, p[0], p[1]);
    /* NaN anywhere in a column makes it NaN (max-subtraction propagates it, like torch) */
    const float with_nan[3] = {1.0f, NAN, 2.0f};
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 3, 1, 0, with_nan, p), CNN_STATUS_SUCCESS);
    EXPECT(isnan(p[0]) && isnan(p[1]) && isnan(p[2]), "%s softmax NaN", isa);
    /* exp underflow: softmax([0, -90, -100, -104]) = [1, e^-90, e^-100 (denormal), 0] */
    const float far[4] = {0.0f, -90.0f, -100.0f, -110.0f};
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 4, 1, 0, far, p), CNN_STATUS_SUCCESS);
    EXPECT(p[0] == 1.0f && ulp_err(p[1], exp(-90.0)) <= 2 && ulp_err(p[2], exp(-100.0)) <= 1 &&
               p[3] == 0.0f,
           "%s softmax underflow: %g %g %g %g", isa, p[0], p[1], p[2], p[3]);

    /* global average pool of a 2x2 ramp and of a single element */
    const float ramp[8] = {0, 1, 2, 3, 10, 20, 30, 40};
    float g[2];
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 2, 2, 2, ramp, g), CNN_STATUS_SUCCESS);
    EXPECT(g[0] == 1.5f && g[1] == 25.0f, "%s gavgpool %g %g", isa, g[0], g[1]);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 2, 1, 1, 1, b, g), CNN_STATUS_SUCCESS);
    EXPECT(g[0] == 3 && g[1] == -5, "%s gavgpool 1x1", isa);
}

/* --------------------------------------------------------------------------------- sweeps */

static void test_activation_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    /* Dense sweep over [-20, 20] plus the tails up to +-100 and tiny values; sizes with tails. */
    const int64_t n = 400003;
    float* x = (float*)malloc((size_t)n * sizeof(float));
    float* y = (float*)malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / (double)(n - 1);
        x[i] = i % 3 == 0   ? (float)(-20.0 + 40.0 * t)
               : i % 3 == 1 ? (float)(-100.0 + 200.0 * t)
                            : (float)((t - 0.5) * 1e-3 * pow(10.0, -(double)(i % 40)));
    }
    for (int c = 0; c < nctx; c++) {
        for (int a = 0; a <= 3; a++) {
            err_stats s = {0, 0}, small_x = {0, 0};
            EXPECT_STATUS(cnn_activation_forward(ctx[c], (cnn_activation)a, n, x, y),
                          CNN_STATUS_SUCCESS);
            for (int64_t i = 0; i < n; i++) {
                track(&s, y[i], act_ref((cnn_activation)a, x[i]));
                if (fabsf(x[i]) < 0.625f) track(&small_x, y[i], act_ref((cnn_activation)a, x[i]));
            }
            /* sigmoid/tanh: libm and the vector polynomials are within a few ulp */
            const double tol_ulp = a == CNN_ACTIVATION_NONE || a == CNN_ACTIVATION_RELU ? 0.0 : 4.0;
            EXPECT(s.max_ulp <= tol_ulp, "%s %s max error %.2f ulp (tol %.0f)",
                   test_isa_name(isas[c]), act_name((cnn_activation)a), s.max_ulp, tol_ulp);
            printf("activation %-9s %-7s max %.2f ulp, max abs %.3g (|x| < 0.625: %.2f ulp)\n",
                   test_isa_name(isas[c]), act_name((cnn_activation)a), s.max_ulp, s.max_abs,
                   small_x.max_ulp);
        }
        /* tails of every length 1..17 at odd offsets, and in place */
        for (int64_t len = 1; len <= 17; len++) {
            float buf[32], out[32];
            for (int i = 0; i < 32; i++) buf[i] = out[i] = (float)i - 7.5f;
            cnn_activation_forward(ctx[c], CNN_ACTIVATION_TANH, len, buf + 3, out + 5);
            int ok = 1;
            for (int i = 0; i < 32; i++) {
                float want = i >= 5 && i < 5 + len ? tanhf(buf[i - 2]) : (float)i - 7.5f;
                ok &= ulp_err(out[i], want) <= 4;
            }
            EXPECT(ok, "%s activation tail length %lld wrote outside its range or wrong values",
                   test_isa_name(isas[c]), (long long)len);
            memcpy(out, buf, sizeof buf);
            cnn_activation_forward(ctx[c], CNN_ACTIVATION_SIGMOID, len, out + 1, out + 1);
            ok = out[0] == buf[0] && out[len + 1] == buf[len + 1];
            for (int64_t i = 1; i <= len; i++)
                ok &= ulp_err(out[i], act_ref(CNN_ACTIVATION_SIGMOID, buf[i])) <= 4;
            EXPECT(ok, "%s activation in place, length %lld", test_isa_name(isas[c]),
                   (long long)len);
        }
    }
    free(x);
    free(y);
}

static void test_add_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int64_t sizes[6] = {1, 7, 8, 33, 1000, 300017};
    for (int c = 0; c < nctx; c++) {
        double worst[4] = {0, 0, 0, 0};
        for (int si = 0; si < 6; si++) {
            const int64_t n = sizes[si];
            float* a = test_random_floats((size_t)n, 11);
            float* b = test_random_floats((size_t)n, 12);
            float* out = (float*)malloc((size_t)n * sizeof(float));
            float* tmp = (float*)malloc((size_t)n * sizeof(float));
            for (int act = 0; act <= 3; act++) {
                for (int64_t i = 0; i < n; i++) {
                    a[i] *= 3.0f;
                }
                EXPECT_STATUS(cnn_add_forward(ctx[c], n, a, b, (cnn_activation)act, out),
                              CNN_STATUS_SUCCESS);
                err_stats s = {0, 0};
                for (int64_t i = 0; i < n; i++)
                    track(&s, out[i], act_ref((cnn_activation)act, (double)(a[i] + b[i])));
                EXPECT(s.max_ulp <= (act <= 1 ? 0 : 4), "%s add %s n=%lld: %.2f ulp",
                       test_isa_name(isas[c]), act_name((cnn_activation)act), (long long)n,
                       s.max_ulp);
                if (s.max_ulp > worst[act]) worst[act] = s.max_ulp;
                /* in place into a, and into b, and a == b */
                memcpy(tmp, a, (size_t)n * sizeof(float));
                EXPECT_STATUS(cnn_add_forward(ctx[c], n, tmp, b, (cnn_activation)act, tmp),
                              CNN_STATUS_SUCCESS);
                EXPECT(memcmp(tmp, out, (size_t)n * sizeof(float)) == 0, "%s add in place (a)",
                       test_isa_name(isas[c]));
                memcpy(tmp, b, (size_t)n * sizeof(float));
                EXPECT_STATUS(cnn_add_forward(ctx[c], n, a, tmp, (cnn_activation)act, tmp),
                              CNN_STATUS_SUCCESS);
                EXPECT(memcmp(tmp, out, (size_t)n * sizeof(float)) == 0, "%s add in place (b)",
                       test_isa_name(isas[c]));
            }
            EXPECT_STATUS(cnn_add_forward(ctx[c], n, b, b, CNN_ACTIVATION_NONE, out),
                          CNN_STATUS_SUCCESS);
            EXPECT(out[n - 1] == 2 * b[n - 1], "%s add a == b", test_isa_name(isas[c]));
            free(a);
            free(b);
            free(out);
            free(tmp);
        }
        printf("add        %-9s max ulp: none %.2f relu %.2f sigmoid %.2f tanh %.2f\n",
               test_isa_name(isas[c]), worst[0], worst[1], worst[2], worst[3]);
    }
}

static void test_softmax_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int shapes[9][3] = {{1, 1, 1},   {3, 10, 1},  {2, 1000, 1}, {4, 17, 5},  {2, 3, 64},
                              {3, 33, 13}, {1, 7, 100}, {5, 9, 8},    {64, 129, 1}};
    const double tol =
        1e-5; /* max |d| / max(|want|, 1e-30)... reported as rel err of p and abs of log p */
    for (int c = 0; c < nctx; c++) {
        double worst_rel = 0.0, worst_log = 0.0;
        for (int si = 0; si < 9; si++) {
            const int outer = shapes[si][0], classes = shapes[si][1], inner = shapes[si][2];
            const size_t n = (size_t)outer * classes * inner;
            float* x = test_random_floats(n, (uint32_t)(si + 40));
            for (size_t i = 0; i < n; i++) x[i] *= 12.0f;
            float* y = (float*)malloc(n * sizeof(float));
            float* z = (float*)malloc(n * sizeof(float));
            for (int lg = 0; lg <= 1; lg++) {
                EXPECT_STATUS(cnn_softmax_forward(ctx[c], outer, classes, inner, lg, x, y),
                              CNN_STATUS_SUCCESS);
                double max_rel = 0.0, max_abs = 0.0;
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++) {
                        const float* col = x + (size_t)o * classes * inner + i;
                        double m = -INFINITY, s = 0.0;
                        for (int k = 0; k < classes; k++) m = fmax(m, col[(size_t)k * inner]);
                        for (int k = 0; k < classes; k++) s += exp(col[(size_t)k * inner] - m);
                        for (int k = 0; k < classes; k++) {
                            size_t idx = (size_t)o * classes * inner + (size_t)k * inner + i;
                            double want = lg ? (col[(size_t)k * inner] - m) - log(s)
                                             : exp(col[(size_t)k * inner] - m) / s;
                            double d = fabs(y[idx] - want);
                            if (lg)
                                max_abs = fmax(max_abs, d / fmax(1.0, fabs(want)));
                            else
                                max_rel = fmax(max_rel, d / fmax(want, 1e-30));
                        }
                    }
                EXPECT(max_rel <= tol && max_abs <= tol,
                       "%s softmax [%d,%d,%d] log %d: rel %.3g, log abs %.3g",
                       test_isa_name(isas[c]), outer, classes, inner, lg, max_rel, max_abs);
                worst_rel = fmax(worst_rel, max_rel);
                worst_log = fmax(worst_log, max_abs);
                memcpy(z, x, n * sizeof(float));
                EXPECT_STATUS(cnn_softmax_forward(ctx[c], outer, classes, inner, lg, z, z),
                              CNN_STATUS_SUCCESS);
                EXPECT(memcmp(z, y, n * sizeof(float)) == 0, "%s softmax in place differs",
                       test_isa_name(isas[c]));
            }
            free(x);
            free(y);
            free(z);
        }
        printf("softmax    %-9s max rel err %.3g, log-softmax max err %.3g (tol %.0g)\n",
               test_isa_name(isas[c]), worst_rel, worst_log, tol);
    }
}

static void test_gavgpool_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int shapes[6][4] = {{1, 1, 1, 1},     {3, 17, 7, 7}, {2, 8, 13, 1},
                              {1, 3, 224, 224}, {3, 1, 5, 3},  {1, 512, 1, 9}};
    for (int c = 0; c < nctx; c++) {
        double worst = 0.0;
        for (int si = 0; si < 6; si++) {
            const int* s = shapes[si];
            const size_t planes = (size_t)s[0] * s[1], hw = (size_t)s[2] * s[3];
            float* x = test_random_floats(planes * hw, (uint32_t)(si + 3));
            float* y = (float*)malloc(planes * sizeof(float));
            EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx[c], s[0], s[1], s[2], s[3], x, y),
                          CNN_STATUS_SUCCESS);
            double err = 0.0;
            for (size_t pl = 0; pl < planes; pl++) {
                double sum = 0.0;
                for (size_t i = 0; i < hw; i++) sum += x[pl * hw + i];
                err = fmax(err, fabs(y[pl] - sum / (double)hw));
            }
            EXPECT(err <= 1e-7, "%s gavgpool %dx%dx%dx%d abs err %.3g", test_isa_name(isas[c]),
                   s[0], s[1], s[2], s[3], err);
            worst = fmax(worst, err);
            free(x);
            free(y);
        }
        printf("gavgpool   %-9s max abs err %.3g (tol 1e-7, inputs in [-1, 1))\n",
               test_isa_name(isas[c]), worst);
    }
}

/* ------------------------------------------------------------------------------ validation */

static void test_validation(cnn_context* ctx) {
    float buf[64];
    memset(buf, 0, sizeof buf);
    const cnn_status BAD = CNN_STATUS_INVALID_ARGUMENT;
    /* activation */
    EXPECT_STATUS(cnn_activation_forward(NULL, CNN_ACTIVATION_RELU, 4, buf, buf), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 4, NULL, buf), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 4, buf, NULL), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, (cnn_activation)9, 4, buf, buf), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, (cnn_activation)-1, 4, buf, buf), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, -3, buf, buf), BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, INT64_MAX, buf, buf), BAD);
    EXPECT_STATUS(
        cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, (INT64_C(1) << 44) + 1, buf, buf + 32),
        BAD);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 8, buf, buf + 4), BAD);
    EXPECT(strstr(cnn_get_last_error(), "cnn_activation_forward") != NULL, "%s",
           cnn_get_last_error());
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 8, buf, buf),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_activation_forward(ctx, CNN_ACTIVATION_RELU, 8, buf, buf + 8),
                  CNN_STATUS_SUCCESS);
    cnn_activation_forward(ctx, (cnn_activation)11, 4, buf, buf);
    EXPECT(strstr(cnn_get_last_error(), "activation") && strstr(cnn_get_last_error(), "= 11") &&
               strstr(cnn_get_last_error(), "[0, 8]"),
           "message '%s'", cnn_get_last_error());
    /* add */
    EXPECT_STATUS(cnn_add_forward(NULL, 4, buf, buf, CNN_ACTIVATION_NONE, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 4, NULL, buf, CNN_ACTIVATION_NONE, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 4, buf, NULL, CNN_ACTIVATION_NONE, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 4, buf, buf, CNN_ACTIVATION_NONE, NULL), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 0, buf, buf, CNN_ACTIVATION_NONE, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, -1, buf, buf, CNN_ACTIVATION_NONE, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, INT64_MAX / 2, buf, buf, CNN_ACTIVATION_NONE, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 4, buf, buf, (cnn_activation)9, buf), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 8, buf, buf + 16, CNN_ACTIVATION_NONE, buf + 2), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 8, buf, buf + 16, CNN_ACTIVATION_NONE, buf + 20), BAD);
    EXPECT_STATUS(cnn_add_forward(ctx, 8, buf, buf + 16, CNN_ACTIVATION_NONE, buf + 16),
                  CNN_STATUS_SUCCESS);
    /* softmax */
    EXPECT_STATUS(cnn_softmax_forward(NULL, 1, 4, 1, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 4, 1, 0, NULL, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 4, 1, 0, buf, NULL), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 0, 4, 1, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 0, 1, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 4, 0, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, -4, 1, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 4, 1, 2, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 1, 4, 1, -1, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, INT32_MAX, INT32_MAX, INT32_MAX, 0, buf, buf), BAD);
    EXPECT_STATUS(cnn_softmax_forward(ctx, 2, 4, 1, 0, buf, buf + 1), BAD);
    cnn_softmax_forward(ctx, 1, 4, 1, 5, buf, buf);
    EXPECT(strstr(cnn_get_last_error(), "cnn_softmax_forward") &&
               strstr(cnn_get_last_error(), "log_softmax = 5") &&
               strstr(cnn_get_last_error(), "[0, 1]"),
           "message '%s'", cnn_get_last_error());
    /* global average pool */
    EXPECT_STATUS(cnn_global_average_pool2d_forward(NULL, 1, 1, 2, 2, buf, buf + 8), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, 2, 2, NULL, buf + 8), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, 2, 2, buf, NULL), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 0, 1, 2, 2, buf, buf + 8), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 0, 2, 2, buf, buf + 8), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, -2, 2, buf, buf + 8), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, 2, 0, buf, buf + 8), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 65536, 65536, 65536, 2, buf, buf + 8),
                  BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, 2, 2, buf, buf + 3), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, 2, 2, buf, buf), BAD);
    EXPECT_STATUS(cnn_global_average_pool2d_forward(ctx, 1, 1, 2, 2, buf, buf + 4),
                  CNN_STATUS_SUCCESS);
}

/* The thread count never changes results: 1 thread vs the whole budget, bitwise. */
static void test_thread_invariance(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const size_t n = 1000003;
    float* x = test_random_floats(n, 77);
    float* b = test_random_floats(n, 78);
    float* one = (float*)malloc(n * sizeof(float));
    float* all = (float*)malloc(n * sizeof(float));
    for (int c = 0; c < nctx; c++) {
        for (int run = 0; run < 6; run++) {
            float* outs[2] = {one, all};
            for (int t = 0; t < 2; t++) {
                EXPECT_STATUS(cnn_context_set_num_threads(ctx[c], t == 0 ? 1 : 0),
                              CNN_STATUS_SUCCESS);
                cnn_status st;
                float* y = outs[t];
                switch (run) {
                    case 0: st = cnn_activation_forward(ctx[c], CNN_ACTIVATION_TANH, n, x, y); break;
                    case 1: st = cnn_activation_forward(ctx[c], CNN_ACTIVATION_SIGMOID, n, x, y); break;
                    case 2: st = cnn_add_forward(ctx[c], n, x, b, CNN_ACTIVATION_TANH, y); break;
                    case 3: st = cnn_softmax_forward(ctx[c], 1000, 1000, 1, 0, x, y); break;
                    case 4: st = cnn_softmax_forward(ctx[c], 10, 100, 1000, 1, x, y); break;
                    default: st = cnn_global_average_pool2d_forward(ctx[c], 1000, 1, 1000, 1, x, y);
                }
                EXPECT(st == CNN_STATUS_SUCCESS, "run %d: %s", run, cnn_get_last_error());
            }
            const size_t count = run == 5 ? 1000 : run >= 3 ? 1000000 : n;
            EXPECT(memcmp(one, all, count * sizeof(float)) == 0,
                   "%s run %d: 1 thread and all threads differ", test_isa_name(isas[c]), run);
        }
    }
    free(x);
    free(b);
    free(one);
    free(all);
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no contexts");
    for (int c = 0; c < nctx; c++) test_hand_cases(ctx[c], test_isa_name(isas[c]));
    test_activation_sweep(ctx, isas, nctx);
    test_add_sweep(ctx, isas, nctx);
    test_softmax_sweep(ctx, isas, nctx);
    test_gavgpool_sweep(ctx, isas, nctx);
    test_thread_invariance(ctx, isas, nctx);
    if (nctx >= 1) test_validation(ctx[0]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_elementwise");
}
