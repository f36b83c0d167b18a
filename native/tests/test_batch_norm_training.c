/* test_batch_norm_training.c — cnn_batch_norm2d_training_forward and cnn_batch_norm2d_backward:
 * hand-derived statistics and running-stat updates (momentum, unbiased running variance),
 * central finite differences of a double-precision training-mode forward against the reference
 * backward (grad_input through the batch statistics, grad_weight, grad_bias), the eval-mode
 * (constant statistics) backward in closed form, every ISA against the reference over a sweep,
 * accumulate = 1, thread-count invariance (bitwise), and every validation path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_batch_norm2d_params P(int n, int c, int h, int w, float eps) {
    cnn_batch_norm2d_params p = {n, c, h, w, eps};
    return p;
}

/* Double training-mode forward; returns L = sum g * y. */
static double bn_loss(const cnn_batch_norm2d_params* p, const double* x, const double* w,
                      const double* b, const float* g) {
    const int N = p->batch, C = p->channels, HW = p->height * p->width;
    double L = 0;
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
        const double m = (double)N * HW, mean = s / m;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                const double d = x[(n * C + c) * HW + i] - mean;
                s2 += d * d;
            }
        const double invstd = 1.0 / sqrt(s2 / m + p->epsilon);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                const int k = (n * C + c) * HW + i;
                L += g[k] * ((x[k] - mean) * invstd * w[c] + b[c]);
            }
    }
    return L;
}

static void test_hand(cnn_context* ctx, const char* isa) {
    /* one channel, x = 1 2 3 4: mean 2.5, biased var 1.25, unbiased 5/3 */
    const float x[4] = {1, 2, 3, 4};
    float y[4], sm, si, rm = 1.0f, rv = 2.0f;
    cnn_batch_norm2d_params p = P(1, 1, 2, 2, 0.0f);
    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx, &p, x, NULL, NULL, 0.1f, &rm, &rv, &sm,
                                                    &si, y),
                  CNN_STATUS_SUCCESS);
    const double invstd = 1.0 / sqrt(1.25);
    EXPECT(sm == 2.5f && fabs(si - invstd) < 1e-7, "%s save: %g %g", isa, sm, si);
    EXPECT(fabs(y[0] + 1.5 * invstd) < 1e-6 && fabs(y[3] - 1.5 * invstd) < 1e-6, "%s y: %g %g",
           isa, y[0], y[3]);
    EXPECT(fabs(rm - (0.9 * 1.0 + 0.1 * 2.5)) < 1e-7, "%s running_mean %.9g", isa, rm);
    EXPECT(fabs(rv - (0.9 * 2.0 + 0.1 * (5.0 / 3.0))) < 1e-6, "%s running_var %.9g", isa, rv);
    /* momentum 1: running = batch stats; 0: unchanged; NULL running stats allowed */
    rm = 7;
    rv = 7;
    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx, &p, x, NULL, NULL, 1.0f, &rm, &rv, &sm,
                                                    &si, y),
                  CNN_STATUS_SUCCESS);
    EXPECT(rm == 2.5f && fabsf(rv - 5.0f / 3.0f) < 1e-6f, "%s momentum 1: %g %g", isa, rm, rv);
    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx, &p, x, NULL, NULL, 0.0f, &rm, &rv, &sm,
                                                    &si, y),
                  CNN_STATUS_SUCCESS);
    EXPECT(rm == 2.5f, "%s momentum 0: %g", isa, rm);
    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx, &p, x, NULL, NULL, 0.5f, NULL, NULL, &sm,
                                                    &si, y),
                  CNN_STATUS_SUCCESS);
    /* gamma 2, beta 1 */
    const float w = 2, b = 1;
    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx, &p, x, &w, &b, 0.1f, NULL, NULL, &sm,
                                                    &si, y),
                  CNN_STATUS_SUCCESS);
    EXPECT(fabs(y[3] - (1.5 * invstd * 2 + 1)) < 1e-6, "%s affine: %g", isa, y[3]);
    /* a constant channel: var 0, eps 1e-5: y = 0, gradient = 0 except the bias */
    const float xc[4] = {3, 3, 3, 3}, dy[4] = {1, 2, 3, 4};
    p.epsilon = 1e-5f;
    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx, &p, xc, NULL, NULL, 0.1f, NULL, NULL,
                                                    &sm, &si, y),
                  CNN_STATUS_SUCCESS);
    EXPECT(y[0] == 0 && y[3] == 0, "%s constant: %g", isa, y[0]);
    float gi[4], gw, gb;
    EXPECT_STATUS(cnn_batch_norm2d_backward(ctx, &p, xc, dy, NULL, &sm, &si, 1, 0, gi, &gw, &gb),
                  CNN_STATUS_SUCCESS);
    /* dx = invstd/m * (m*dy - sum dy) = invstd * (dy - 2.5) */
    EXPECT(fabsf(gi[0] - si * -1.5f) < 1e-3f && gw == 0 && gb == 10, "%s constant bwd: %g %g %g",
           isa, gi[0], gw, gb);
    /* eval-mode backward: dy * invstd * w */
    const float mean = 1, istd = 0.5f;
    EXPECT_STATUS(cnn_batch_norm2d_backward(ctx, &p, x, dy, &w, &mean, &istd, 0, 0, gi, &gw, &gb),
                  CNN_STATUS_SUCCESS);
    EXPECT(gi[0] == 1 && gi[3] == 4 && gb == 10 && gw == (0 * 1 + 1 * 2 + 2 * 3 + 3 * 4) * 0.5f,
           "%s eval bwd: %g %g %g %g", isa, gi[0], gi[3], gw, gb);
    /* accumulate, NULL grad_weight / grad_bias */
    EXPECT_STATUS(cnn_batch_norm2d_backward(ctx, &p, x, dy, &w, &mean, &istd, 0, 1, gi, NULL, &gb),
                  CNN_STATUS_SUCCESS);
    EXPECT(gi[0] == 2 && gi[3] == 8 && gb == 20, "%s eval accumulate: %g %g %g", isa, gi[0], gi[3],
           gb);
    EXPECT_STATUS(cnn_batch_norm2d_backward(ctx, &p, x, dy, NULL, &mean, &istd, 0, 0, gi, NULL,
                                            NULL),
                  CNN_STATUS_SUCCESS);
    EXPECT(gi[1] == 1, "%s eval no affine: %g", isa, gi[1]);
}

static void test_finite_differences(cnn_context* ref) {
    const int shapes[3][4] = {{2, 3, 3, 2}, {5, 2, 1, 1}, {1, 2, 4, 5}};
    for (int s = 0; s < 3; s++) {
        cnn_batch_norm2d_params p = P(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], 1e-3f);
        const int C = p.channels, n = p.batch * C * p.height * p.width;
        float* x = test_random_floats(n, 21 + s);
        float* g = test_random_floats(n, 31 + s);
        float* w = test_random_floats(C, 41 + s);
        float* b = test_random_floats(C, 51 + s);
        for (int i = 0; i < n; i++) x[i] = x[i] * 2 + 0.5f;
        float* y = (float*)malloc(n * sizeof(float));
        float* gi = (float*)malloc(n * sizeof(float));
        float sm[4], si[4], gw[4], gb[4];
        EXPECT_STATUS(cnn_batch_norm2d_training_forward(ref, &p, x, w, b, 0.1f, NULL, NULL, sm, si,
                                                        y),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_batch_norm2d_backward(ref, &p, x, g, w, sm, si, 1, 0, gi, gw, gb),
                      CNN_STATUS_SUCCESS);
        double* xd = (double*)malloc(n * sizeof(double));
        double wd[4], bd[4];
        for (int i = 0; i < n; i++) xd[i] = x[i];
        for (int c = 0; c < C; c++) wd[c] = w[c], bd[c] = b[c];
        const double h = 1e-6;
        double worst = 0;
        for (int i = 0; i < n + 2 * C; i++) {
            double* v = i < n ? &xd[i] : i < n + C ? &wd[i - n] : &bd[i - n - C];
            const float got = i < n ? gi[i] : i < n + C ? gw[i - n] : gb[i - n - C];
            const double keep = *v;
            *v = keep + h;
            const double lp = bn_loss(&p, xd, wd, bd, g);
            *v = keep - h;
            const double lm = bn_loss(&p, xd, wd, bd, g);
            *v = keep;
            const double fd = (lp - lm) / (2 * h);
            const double e = fabs(fd - got) / fmax(1.0, fabs(fd));
            if (e > worst || e != e) worst = e;
        }
        printf("  FD batch norm [%d,%d,%d,%d] (dx, dgamma, dbeta): max rel err %.3g (tol 2e-5)\n",
               p.batch, C, p.height, p.width, worst);
        EXPECT(worst <= 2e-5, "FD shape %d: %g", s, worst);
        free(x), free(g), free(w), free(b), free(y), free(gi), free(xd);
    }
}

static void test_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int shapes[6][4] = {{1, 3, 5, 7}, {4, 5, 1, 1}, {2, 8, 67, 71}, {3, 17, 9, 9},
                              {1, 2, 1, 2}, {2, 4, 64, 80}};
    double worst_fwd[4] = {0}, worst_bwd[4] = {0}, worst_stats[4] = {0};
    for (int s = 0; s < 6; s++)
        for (int affine = 0; affine < 2; affine++)
            for (int bs = 0; bs < 2; bs++) {
                cnn_batch_norm2d_params p = P(shapes[s][0], shapes[s][1], shapes[s][2],
                                              shapes[s][3], 1e-5f);
                const int C = p.channels;
                const size_t n = (size_t)p.batch * C * p.height * p.width;
                float* x = test_random_floats(n, 61 + s);
                float* g = test_random_floats(n, 71 + s);
                for (size_t i = 0; i < n; i++) x[i] = x[i] * 3 + 10; /* offset mean */
                float* w = affine ? test_random_floats(C, 81) : NULL;
                float* b = affine ? test_random_floats(C, 82) : NULL;
                float *y[4], *gi[4], stats[4][6 * 32];
                for (int c = 0; c < nctx; c++) {
                    y[c] = (float*)malloc(n * sizeof(float));
                    gi[c] = (float*)malloc(n * sizeof(float));
                    float* st = stats[c];
                    for (int k = 0; k < C; k++) st[2 * C + k] = 0.5f, st[3 * C + k] = 1.5f;
                    EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx[c], &p, x, w, b, 0.1f,
                                                                    st + 2 * C, st + 3 * C, st,
                                                                    st + C, y[c]),
                                  CNN_STATUS_SUCCESS);
                    /* backward with the REFERENCE statistics so only the backward differs */
                    EXPECT_STATUS(cnn_batch_norm2d_backward(ctx[c], &p, x, g, w, stats[0],
                                                            stats[0] + C, bs, 0, gi[c],
                                                            st + 4 * C, st + 5 * C),
                                  CNN_STATUS_SUCCESS);
                    if (c == 0) continue;
                    double e = test_max_rel_diff(y[c], y[0], n);
                    if (e > worst_fwd[c]) worst_fwd[c] = e;
                    EXPECT(e <= 1e-5, "%s fwd shape %d: %g", test_isa_name(isas[c]), s, e);
                    e = test_max_rel_diff(gi[c], gi[0], n);
                    if (e > worst_bwd[c]) worst_bwd[c] = e;
                    EXPECT(e <= 1e-5, "%s bwd shape %d bs %d: %g", test_isa_name(isas[c]), s, bs,
                           e);
                    e = test_max_rel_diff(st, stats[0], 6 * C);
                    if (e > worst_stats[c]) worst_stats[c] = e;
                    EXPECT(e <= 1e-5, "%s stats/param grads shape %d: %g", test_isa_name(isas[c]),
                           s, e);
                }
                /* accumulate = 1: pre + fresh, exactly */
                float* acc = test_random_floats(n, 5);
                float* pre = test_random_floats(n, 5);
                float gw2[32], gb2[32];
                for (int k = 0; k < C; k++) gw2[k] = 1, gb2[k] = 2;
                EXPECT_STATUS(cnn_batch_norm2d_backward(ctx[0], &p, x, g, w, stats[0],
                                                        stats[0] + C, bs, 1, acc, gw2, gb2),
                              CNN_STATUS_SUCCESS);
                long bad = 0;
                for (size_t i = 0; i < n; i++) bad += acc[i] != pre[i] + gi[0][i];
                for (int k = 0; k < C; k++)
                    bad += gw2[k] != 1 + stats[0][4 * C + k] || gb2[k] != 2 + stats[0][5 * C + k];
                EXPECT(bad == 0, "accumulate shape %d: %ld differ", s, bad);
                free(acc), free(pre);
                for (int c = 0; c < nctx; c++) free(y[c]), free(gi[c]);
                free(x), free(g), free(w), free(b);
            }
    for (int c = 1; c < nctx; c++)
        printf("  sweep %s vs reference: max rel err forward %.3g, grad_input %.3g, "
               "stats+param grads %.3g (tol 1e-5)\n",
               test_isa_name(isas[c]), worst_fwd[c], worst_bwd[c], worst_stats[c]);
}

static void test_thread_invariance(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    cnn_batch_norm2d_params p = P(8, 16, 56, 56, 1e-5f);
    const size_t n = (size_t)8 * 16 * 56 * 56;
    float* x = test_random_floats(n, 1);
    float* g = test_random_floats(n, 2);
    float* out[2] = {(float*)malloc(n * 4), (float*)malloc(n * 4)};
    float* gi[2] = {(float*)malloc(n * 4), (float*)malloc(n * 4)};
    float st[2][6 * 16];
    for (int c = 0; c < nctx; c++) {
        for (int t = 0; t < 2; t++) {
            cnn_context_set_num_threads(ctx[c], t + 1);
            for (int k = 0; k < 32; k++) st[t][32 + k] = 1;
            EXPECT_STATUS(cnn_batch_norm2d_training_forward(ctx[c], &p, x, NULL, NULL, 0.1f,
                                                            st[t] + 32, st[t] + 48, st[t],
                                                            st[t] + 16, out[t]),
                          CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_batch_norm2d_backward(ctx[c], &p, x, g, NULL, st[t], st[t] + 16, 1,
                                                    0, gi[t], st[t] + 64, st[t] + 80),
                          CNN_STATUS_SUCCESS);
        }
        EXPECT(memcmp(out[0], out[1], n * 4) == 0 && memcmp(gi[0], gi[1], n * 4) == 0 &&
                   memcmp(st[0], st[1], sizeof st[0]) == 0,
               "%s: 1 vs 2 threads differ", test_isa_name(isas[c]));
        cnn_context_set_num_threads(ctx[c], 0);
    }
    free(x), free(g), free(out[0]), free(out[1]), free(gi[0]), free(gi[1]);
}

#define EXPECT_INVALID(call, what)                                                               \
    do {                                                                                         \
        EXPECT_STATUS(call, CNN_STATUS_INVALID_ARGUMENT);                                        \
        if (strlen(cnn_get_last_error()) > 0) printf("  [%s] %s\n", what, cnn_get_last_error()); \
    } while (0)

static void test_validation(cnn_context* ctx) {
    float x[16] = {1, 2, 3, 4}, y[16], g[16] = {0}, gi[16], w[2] = {1, 1}, b[2] = {0, 0};
    float sm[2], si[2] = {1, 1}, rm[2] = {0, 0}, rv[2] = {1, 1}, gw[2], gb[2];
    cnn_batch_norm2d_params p = P(1, 2, 2, 2, 1e-5f);
#define TF(pp, X, W, B, M, RM, RV, SM, SI, Y) cnn_batch_norm2d_training_forward(ctx, pp, X, W, B, M, RM, RV, SM, SI, Y)
    EXPECT_STATUS(TF(&p, x, w, b, 0.1f, rm, rv, sm, si, y), CNN_STATUS_SUCCESS);
    EXPECT_INVALID(cnn_batch_norm2d_training_forward(NULL, &p, x, w, b, 0.1f, rm, rv, sm, si, y), "NULL context");
    EXPECT_INVALID(TF(NULL, x, w, b, 0.1f, rm, rv, sm, si, y), "NULL params");
    EXPECT_INVALID(TF(&p, NULL, w, b, 0.1f, rm, rv, sm, si, y), "NULL input");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rv, NULL, si, y), "NULL save_mean");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rv, sm, NULL, y), "NULL save_invstd");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rv, sm, si, NULL), "NULL output");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, NULL, sm, si, y), "running_var NULL only");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, NULL, rv, sm, si, y), "running_mean NULL only");
    EXPECT_INVALID(TF(&p, x, w, b, -0.1f, rm, rv, sm, si, y), "momentum -0.1");
    EXPECT_INVALID(TF(&p, x, w, b, 1.5f, rm, rv, sm, si, y), "momentum 1.5");
    EXPECT_INVALID(TF(&p, x, w, b, NAN, rm, rv, sm, si, y), "momentum NaN");
    cnn_batch_norm2d_params one = P(1, 2, 1, 1, 1e-5f);
    EXPECT_INVALID(TF(&one, x, w, b, 0.1f, rm, rv, sm, si, y), "one value per channel");
    cnn_batch_norm2d_params bad = p;
    bad.epsilon = -1;
    EXPECT_INVALID(TF(&bad, x, w, b, 0.1f, rm, rv, sm, si, y), "epsilon -1");
    bad.epsilon = INFINITY;
    EXPECT_INVALID(TF(&bad, x, w, b, 0.1f, rm, rv, sm, si, y), "epsilon inf");
    bad = p;
    bad.channels = 0;
    EXPECT_INVALID(TF(&bad, x, w, b, 0.1f, rm, rv, sm, si, y), "channels 0");
    bad = p;
    bad.width = -3;
    EXPECT_INVALID(TF(&bad, x, w, b, 0.1f, rm, rv, sm, si, y), "width -3");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rv, sm, si, x), "output = input");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rv, sm, sm + 1, y), "save_invstd overlaps save_mean");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rv, y + 7, si, y), "save_mean overlaps output");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, w, rv, sm, si, y), "running_mean = weight");
    EXPECT_INVALID(TF(&p, x, w, b, 0.1f, rm, rm, sm, si, y), "running_var = running_mean");
#undef TF
#define BB(X, G, W, M, S, BS, ACC, GI, GW, GB) cnn_batch_norm2d_backward(ctx, &p, X, G, W, M, S, BS, ACC, GI, GW, GB)
    EXPECT_STATUS(BB(x, g, w, sm, si, 1, 0, gi, gw, gb), CNN_STATUS_SUCCESS);
    EXPECT_INVALID(cnn_batch_norm2d_backward(NULL, &p, x, g, w, sm, si, 1, 0, gi, gw, gb), "bwd NULL context");
    EXPECT_INVALID(cnn_batch_norm2d_backward(ctx, NULL, x, g, w, sm, si, 1, 0, gi, gw, gb), "bwd NULL params");
    EXPECT_INVALID(BB(NULL, g, w, sm, si, 1, 0, gi, gw, gb), "bwd NULL input");
    EXPECT_INVALID(BB(x, NULL, w, sm, si, 1, 0, gi, gw, gb), "bwd NULL grad_output");
    EXPECT_INVALID(BB(x, g, w, NULL, si, 1, 0, gi, gw, gb), "bwd NULL mean");
    EXPECT_INVALID(BB(x, g, w, sm, NULL, 1, 0, gi, gw, gb), "bwd NULL invstd");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, NULL, gw, gb), "bwd NULL grad_input");
    EXPECT_INVALID(BB(x, g, w, sm, si, 2, 0, gi, gw, gb), "bwd batch_statistics 2");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 2, gi, gw, gb), "bwd accumulate 2");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, g, gw, gb), "bwd grad_input = grad_output");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, gi, gi + 7, gb), "bwd grad_weight overlaps grad_input");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, gi, gw, gw), "bwd grad_bias = grad_weight");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, gi, w, gb), "bwd grad_weight = weight");
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, gi, gw, si), "bwd grad_bias = invstd");
    p.epsilon = NAN;
    EXPECT_INVALID(BB(x, g, w, sm, si, 1, 0, gi, gw, gb), "bwd epsilon NaN");
#undef BB
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no context");
    for (int c = 0; c < nctx; c++) test_hand(ctx[c], test_isa_name(isas[c]));
    test_finite_differences(ctx[0]);
    test_sweep(ctx, isas, nctx);
    test_thread_invariance(ctx, isas, nctx);
    test_validation(ctx[0]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_batch_norm_training");
}
