/* test_loss_backward.c — cnn_activation_backward, cnn_softmax_backward, cnn_cross_entropy and
 * cnn_mse_loss: hand-derived values (torch 1.13 conventions: relu passes the gradient where
 * y > 0 or y is NaN; label smoothing mixes (1-s)*one-hot + s/C), central finite differences of
 * double-precision forwards against the reference kernels, every ISA against the reference over
 * a sweep with printed max errors, accumulate = 1, thread-count invariance, and every
 * validation path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define EXPECT_INVALID(call, what)                                                               \
    do {                                                                                         \
        EXPECT_STATUS(call, CNN_STATUS_INVALID_ARGUMENT);                                        \
        if (strlen(cnn_get_last_error()) > 0) printf("  [%s] %s\n", what, cnn_get_last_error()); \
    } while (0)

/* ---------------------------------------------------------------------------- activations */

static double act(cnn_activation a, double x) {
    switch (a) {
        case CNN_ACTIVATION_RELU: return x < 0 ? 0 : x;
        case CNN_ACTIVATION_SIGMOID: return 1 / (1 + exp(-x));
        case CNN_ACTIVATION_TANH: return tanh(x);
        default: return x;
    }
}

static void test_activation(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    /* hand: relu at y = 0 gives 0, a NaN y passes g (threshold_backward) */
    const float y[4] = {0.0f, 2.0f, NAN, -0.0f}, g[4] = {5, 6, 7, 8};
    float gi[4];
    for (int c = 0; c < nctx; c++) {
        EXPECT_STATUS(cnn_activation_backward(ctx[c], CNN_ACTIVATION_RELU, 4, y, g, 0, gi),
                      CNN_STATUS_SUCCESS);
        EXPECT(gi[0] == 0 && gi[1] == 6 && gi[2] == 7 && gi[3] == 0, "%s relu: %g %g %g %g",
               test_isa_name(isas[c]), gi[0], gi[1], gi[2], gi[3]);
        const float ys[2] = {0.5f, 0.25f}, gs[2] = {1, 2};
        EXPECT_STATUS(cnn_activation_backward(ctx[c], CNN_ACTIVATION_SIGMOID, 2, ys, gs, 0, gi),
                      CNN_STATUS_SUCCESS);
        EXPECT(gi[0] == 0.25f && gi[1] == 0.375f, "%s sigmoid: %g %g", test_isa_name(isas[c]),
               gi[0], gi[1]);
        EXPECT_STATUS(cnn_activation_backward(ctx[c], CNN_ACTIVATION_TANH, 2, ys, gs, 1, gi),
                      CNN_STATUS_SUCCESS);
        EXPECT(gi[0] == 0.25f + 0.75f && gi[1] == 0.375f + 2 * 0.9375f, "%s tanh acc: %g %g",
               test_isa_name(isas[c]), gi[0], gi[1]);
    }
    /* FD (double) of the reference from y = act(x) */
    double worst_fd = 0, worst_isa[4] = {0};
    const int64_t n = 1000;
    float* x = test_random_floats(n, 3);
    float* gg = test_random_floats(n, 4);
    float* yy = (float*)malloc(n * 4);
    float* ref = (float*)malloc(n * 4);
    float* got = (float*)malloc(n * 4);
    for (int a = 0; a <= 3; a++) {
        for (int64_t i = 0; i < n; i++) {
            x[i] = x[i] * 4 + (x[i] > 0 ? 0.01f : -0.01f); /* keep relu away from 0 */
            yy[i] = (float)act((cnn_activation)a, x[i]);
        }
        EXPECT_STATUS(cnn_activation_backward(ctx[0], (cnn_activation)a, n, yy, gg, 0, ref),
                      CNN_STATUS_SUCCESS);
        for (int64_t i = 0; i < n; i++) {
            const double h = 1e-6;
            const double fd = gg[i] * (act((cnn_activation)a, x[i] + h) -
                                       act((cnn_activation)a, x[i] - h)) / (2 * h);
            const double e = fabs(fd - ref[i]) / fmax(1.0, fabs(fd));
            if (e > worst_fd) worst_fd = e;
            x[i] /= 4; /* restore the scale for the next activation */
        }
        for (int c = 1; c < nctx; c++) {
            EXPECT_STATUS(cnn_activation_backward(ctx[c], (cnn_activation)a, n, yy, gg, 0, got),
                          CNN_STATUS_SUCCESS);
            const double e = test_max_abs_diff(got, ref, n);
            if (e > worst_isa[c]) worst_isa[c] = e;
            EXPECT(e == 0, "%s activation %d: %g", test_isa_name(isas[c]), a, e);
        }
    }
    printf("  FD activation backward: max rel err %.3g (tol 1e-6)\n", worst_fd);
    EXPECT(worst_fd <= 1e-6, "activation FD %g", worst_fd);
    for (int c = 1; c < nctx; c++)
        printf("  activation backward %s vs reference: max abs err %.3g (tol 0: same operations)\n",
               test_isa_name(isas[c]), worst_isa[c]);
    free(x), free(gg), free(yy), free(ref), free(got);
}

/* ---------------------------------------------------------------------------- softmax */

static void softmax_d(const double* x, int classes, int inner, int log_sm, double* y) {
    for (int i = 0; i < inner; i++) {
        double m = -INFINITY, s = 0;
        for (int c = 0; c < classes; c++) m = fmax(m, x[c * inner + i]);
        for (int c = 0; c < classes; c++) s += exp(x[c * inner + i] - m);
        for (int c = 0; c < classes; c++)
            y[c * inner + i] = log_sm ? x[c * inner + i] - m - log(s) : exp(x[c * inner + i] - m) / s;
    }
}

static void test_softmax(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int shapes[4][3] = {{3, 5, 1}, {2, 4, 3}, {4, 10, 1}, {1, 7, 9}};
    double worst_fd = 0;
    for (int s = 0; s < 4; s++)
        for (int lg = 0; lg < 2; lg++) {
            const int O = shapes[s][0], Cl = shapes[s][1], I = shapes[s][2], n = O * Cl * I;
            float* x = test_random_floats(n, 9 + s);
            float* g = test_random_floats(n, 19 + s);
            float* y = (float*)malloc(n * 4);
            float* gi = (float*)malloc(n * 4);
            EXPECT_STATUS(cnn_softmax_forward(ctx[0], O, Cl, I, lg, x, y), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_softmax_backward(ctx[0], O, Cl, I, lg, y, g, 0, gi),
                          CNN_STATUS_SUCCESS);
            double xd[128], yd[128];
            for (int o = 0; o < O; o++)
                for (int k = 0; k < Cl * I; k++) {
                    const int base = o * Cl * I;
                    double L[2];
                    for (int side = 0; side < 2; side++) {
                        for (int j = 0; j < Cl * I; j++) xd[j] = x[base + j];
                        xd[k] += side ? -1e-6 : 1e-6;
                        softmax_d(xd, Cl, I, lg, yd);
                        L[side] = 0;
                        for (int j = 0; j < Cl * I; j++) L[side] += g[base + j] * yd[j];
                    }
                    const double fd = (L[0] - L[1]) / 2e-6;
                    const double e = fabs(fd - gi[base + k]) / fmax(1.0, fabs(fd));
                    if (e > worst_fd) worst_fd = e;
                }
            free(x), free(g), free(y), free(gi);
        }
    printf("  FD softmax/log-softmax backward: max rel err %.3g (tol 1e-6)\n", worst_fd);
    EXPECT(worst_fd <= 1e-6, "softmax FD %g", worst_fd);
    /* hand: uniform softmax over 4 classes, g = e_0: dx = y*(g - y0) = .25*(.75, -.25, ...) */
    const float y4[4] = {0.25f, 0.25f, 0.25f, 0.25f}, g4[4] = {1, 0, 0, 0};
    float gi4[4];
    EXPECT_STATUS(cnn_softmax_backward(ctx[0], 1, 4, 1, 0, y4, g4, 0, gi4), CNN_STATUS_SUCCESS);
    EXPECT(gi4[0] == 0.1875f && gi4[1] == -0.0625f, "softmax hand %g %g", gi4[0], gi4[1]);
    /* log-softmax: y = log(.25): dx = g - .25 * sum g */
    const float l4[4] = {logf(0.25f), logf(0.25f), logf(0.25f), logf(0.25f)};
    EXPECT_STATUS(cnn_softmax_backward(ctx[0], 1, 4, 1, 1, l4, g4, 0, gi4), CNN_STATUS_SUCCESS);
    EXPECT(fabsf(gi4[0] - 0.75f) < 1e-7f && fabsf(gi4[1] + 0.25f) < 1e-7f, "log-softmax hand %g",
           gi4[0]);
    /* ISA sweep incl. accumulate and big class counts */
    double worst[4] = {0};
    const int big[3][3] = {{64, 10, 1}, {3, 1000, 1}, {2, 19, 37}};
    for (int s = 0; s < 3; s++)
        for (int lg = 0; lg < 2; lg++) {
            const int O = big[s][0], Cl = big[s][1], I = big[s][2], n = O * Cl * I;
            float* x = test_random_floats(n, 29 + s);
            float* g = test_random_floats(n, 39 + s);
            float* y = (float*)malloc(n * 4);
            float* ref = test_random_floats(n, 1);
            float* pre = test_random_floats(n, 1);
            float* got = (float*)malloc(n * 4);
            cnn_softmax_forward(ctx[0], O, Cl, I, lg, x, y);
            EXPECT_STATUS(cnn_softmax_backward(ctx[0], O, Cl, I, lg, y, g, 1, ref),
                          CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_softmax_backward(ctx[0], O, Cl, I, lg, y, g, 0, got),
                          CNN_STATUS_SUCCESS);
            long bad = 0;
            for (int i = 0; i < n; i++) bad += ref[i] != pre[i] + got[i];
            EXPECT(bad == 0, "softmax accumulate: %ld differ", bad);
            for (int c = 1; c < nctx; c++) {
                memcpy(got, pre, n * 4);
                cnn_context_set_num_threads(ctx[c], 1 + (s & 1));
                EXPECT_STATUS(cnn_softmax_backward(ctx[c], O, Cl, I, lg, y, g, 1, got),
                              CNN_STATUS_SUCCESS);
                const double e = test_max_rel_diff(got, ref, n);
                if (e > worst[c]) worst[c] = e;
                EXPECT(e <= 1e-6, "%s softmax %d: %g", test_isa_name(isas[c]), s, e);
                cnn_context_set_num_threads(ctx[c], 0);
            }
            free(x), free(g), free(y), free(ref), free(pre), free(got);
        }
    for (int c = 1; c < nctx; c++)
        printf("  softmax backward %s vs reference: max rel err %.3g (tol 1e-6)\n",
               test_isa_name(isas[c]), worst[c]);
}

/* ---------------------------------------------------------------------- cross-entropy */

static double ce_d(const double* x, const int32_t* lab, int B, int C, double s) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double m = -INFINITY, sum = 0, sumlp = 0;
        for (int c = 0; c < C; c++) m = fmax(m, x[b * C + c]);
        for (int c = 0; c < C; c++) sum += exp(x[b * C + c] - m);
        const double lse = m + log(sum);
        for (int c = 0; c < C; c++) sumlp += x[b * C + c] - lse;
        total += -(1 - s) * (x[b * C + lab[b]] - lse) - s / C * sumlp;
    }
    return total / B;
}

static void test_cross_entropy(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    /* hand: uniform logits: loss = log C, grad = (1/C - onehot)/B */
    const float z[8] = {0}, big[3] = {1000, 0, -1000};
    const int32_t lab[2] = {1, 3}, lab0 = 0;
    float loss, gl[8];
    for (int c = 0; c < nctx; c++) {
        EXPECT_STATUS(cnn_cross_entropy(ctx[c], 2, 4, z, lab, 0.0f, &loss, gl), CNN_STATUS_SUCCESS);
        EXPECT(fabsf(loss - logf(4)) < 1e-6f && gl[0] == 0.125f && gl[1] == -0.375f,
               "%s CE uniform: %g %g %g", test_isa_name(isas[c]), loss, gl[0], gl[1]);
        /* smoothing 1: target uniform, loss still log C, gradient 0 */
        EXPECT_STATUS(cnn_cross_entropy(ctx[c], 2, 4, z, lab, 1.0f, &loss, gl), CNN_STATUS_SUCCESS);
        EXPECT(fabsf(loss - logf(4)) < 1e-6f && gl[1] == 0, "%s CE s=1: %g %g",
               test_isa_name(isas[c]), loss, gl[1]);
        /* stable: logits +-1000 */
        EXPECT_STATUS(cnn_cross_entropy(ctx[c], 1, 3, big, &lab0, 0.0f, &loss, gl),
                      CNN_STATUS_SUCCESS);
        EXPECT(loss == 0 && gl[0] == 0 && gl[1] == 0, "%s CE stable: %g", test_isa_name(isas[c]),
               loss);
        const int32_t lab2 = 2;
        EXPECT_STATUS(cnn_cross_entropy(ctx[c], 1, 3, big, &lab2, 0.0f, &loss, NULL),
                      CNN_STATUS_SUCCESS);
        EXPECT(loss == 2000, "%s CE stable 2: %g", test_isa_name(isas[c]), loss);
    }
    /* FD in double, incl. smoothing */
    const float ss[3] = {0.0f, 0.1f, 0.7f};
    double worst_fd = 0, worst_loss = 0, worst_isa[4] = {0};
    for (int k = 0; k < 3; k++) {
        const int B = 5, C = 7;
        float* x = test_random_floats(B * C, 50 + k);
        int32_t labs[5] = {0, 6, 3, 3, 1};
        for (int i = 0; i < B * C; i++) x[i] *= 3;
        float g[35];
        EXPECT_STATUS(cnn_cross_entropy(ctx[0], B, C, x, labs, ss[k], &loss, g),
                      CNN_STATUS_SUCCESS);
        double xd[35];
        for (int i = 0; i < B * C; i++) xd[i] = x[i];
        const double want = ce_d(xd, labs, B, C, ss[k]);
        worst_loss = fmax(worst_loss, fabs(loss - want) / fmax(1, fabs(want)));
        for (int i = 0; i < B * C; i++) {
            xd[i] = x[i] + 1e-6;
            const double lp = ce_d(xd, labs, B, C, ss[k]);
            xd[i] = x[i] - 1e-6;
            const double lm = ce_d(xd, labs, B, C, ss[k]);
            xd[i] = x[i];
            worst_fd = fmax(worst_fd, fabs((lp - lm) / 2e-6 - g[i]));
        }
        free(x);
    }
    printf("  CE vs double: loss max rel err %.3g (tol 1e-6), FD grad max abs err %.3g (tol 1e-7)\n",
           worst_loss, worst_fd);
    EXPECT(worst_loss <= 1e-6 && worst_fd <= 1e-7, "CE FD %g %g", worst_loss, worst_fd);
    /* ISA sweep + thread invariance */
    const int shapes[3][2] = {{256, 10}, {7, 1000}, {3000, 3}};
    for (int s = 0; s < 3; s++) {
        const int B = shapes[s][0], C = shapes[s][1];
        float* x = test_random_floats((size_t)B * C, 70 + s);
        int32_t* labs = (int32_t*)malloc(B * sizeof(int32_t));
        for (int i = 0; i < B; i++) labs[i] = (i * 7919) % C;
        float* g0 = (float*)malloc((size_t)B * C * 4);
        float* g1 = (float*)malloc((size_t)B * C * 4);
        float l0, l1;
        cnn_context_set_num_threads(ctx[0], 1);
        EXPECT_STATUS(cnn_cross_entropy(ctx[0], B, C, x, labs, 0.1f, &l0, g0), CNN_STATUS_SUCCESS);
        cnn_context_set_num_threads(ctx[0], 2);
        EXPECT_STATUS(cnn_cross_entropy(ctx[0], B, C, x, labs, 0.1f, &l1, g1), CNN_STATUS_SUCCESS);
        EXPECT(l0 == l1 && memcmp(g0, g1, (size_t)B * C * 4) == 0, "CE threads differ");
        for (int c = 1; c < nctx; c++) {
            EXPECT_STATUS(cnn_cross_entropy(ctx[c], B, C, x, labs, 0.1f, &l1, g1),
                          CNN_STATUS_SUCCESS);
            const double e = fmax(test_max_rel_diff(g1, g0, (size_t)B * C),
                                  fabs(l1 - l0) / fmax(1, fabs(l0)));
            worst_isa[c] = fmax(worst_isa[c], e);
            EXPECT(e <= 1e-6, "%s CE: %g", test_isa_name(isas[c]), e);
        }
        cnn_context_set_num_threads(ctx[0], 0);
        free(x), free(labs), free(g0), free(g1);
    }
    for (int c = 1; c < nctx; c++)
        printf("  cross-entropy %s vs reference: max rel err %.3g (tol 1e-6)\n",
               test_isa_name(isas[c]), worst_isa[c]);
}

/* ---------------------------------------------------------------------------- MSE */

static void test_mse(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const float p[3] = {1, 2, 3}, t[3] = {1, 0, 6};
    float loss, g[3];
    for (int c = 0; c < nctx; c++) {
        EXPECT_STATUS(cnn_mse_loss(ctx[c], 3, p, t, &loss, g), CNN_STATUS_SUCCESS);
        EXPECT(loss == 13.0f / 3 && g[0] == 0 && fabsf(g[1] - 4.0f / 3) < 1e-7f &&
                   fabsf(g[2] + 2.0f) < 1e-7f,
               "%s mse hand: %g %g %g", test_isa_name(isas[c]), loss, g[1], g[2]);
        EXPECT_STATUS(cnn_mse_loss(ctx[c], 3, p, t, &loss, NULL), CNN_STATUS_SUCCESS);
    }
    double worst[4] = {0};
    const int64_t sizes[3] = {1, 4097, 300001};
    for (int s = 0; s < 3; s++) {
        const int64_t n = sizes[s];
        float* a = test_random_floats(n, 80 + s);
        float* b = test_random_floats(n, 90 + s);
        float* g0 = (float*)malloc(n * 4);
        float* g1 = (float*)malloc(n * 4);
        float l0, l1;
        double want = 0;
        for (int64_t i = 0; i < n; i++) want += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        want /= n;
        cnn_context_set_num_threads(ctx[0], 1);
        EXPECT_STATUS(cnn_mse_loss(ctx[0], n, a, b, &l0, g0), CNN_STATUS_SUCCESS);
        cnn_context_set_num_threads(ctx[0], 2);
        EXPECT_STATUS(cnn_mse_loss(ctx[0], n, a, b, &l1, g1), CNN_STATUS_SUCCESS);
        EXPECT(l0 == l1 && memcmp(g0, g1, n * 4) == 0, "mse threads differ");
        EXPECT(fabs(l0 - want) <= 1e-6 * fmax(1, want), "mse loss %g vs %g", l0, want);
        for (int c = 1; c < nctx; c++) {
            EXPECT_STATUS(cnn_mse_loss(ctx[c], n, a, b, &l1, g1), CNN_STATUS_SUCCESS);
            const double e = fmax(test_max_rel_diff(g1, g0, n), fabs(l1 - l0) / fmax(1, l0));
            worst[c] = fmax(worst[c], e);
            EXPECT(e <= 1e-6, "%s mse: %g", test_isa_name(isas[c]), e);
        }
        cnn_context_set_num_threads(ctx[0], 0);
        free(a), free(b), free(g0), free(g1);
    }
    for (int c = 1; c < nctx; c++)
        printf("  mse %s vs reference: max rel err %.3g (tol 1e-6)\n", test_isa_name(isas[c]),
               worst[c]);
}

/* ------------------------------------------------------------------------ validation */

static void test_validation(cnn_context* ctx) {
    float y[8] = {0}, g[8] = {0}, gi[8], loss;
    EXPECT_INVALID(cnn_activation_backward(NULL, CNN_ACTIVATION_RELU, 4, y, g, 0, gi), "act NULL ctx");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 4, NULL, g, 0, gi), "act NULL output");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 4, y, NULL, 0, gi), "act NULL grad_output");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 4, y, g, 0, NULL), "act NULL grad_input");
    EXPECT_INVALID(cnn_activation_backward(ctx, (cnn_activation)7, 4, y, g, 0, gi), "act activation 7");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 0, y, g, 0, gi), "act count 0");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 4, y, g, 2, gi), "act accumulate 2");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 4, y, g, 0, y + 2), "act grad_input overlaps output");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, 4, y, g, 0, g), "act grad_input = grad_output");
    EXPECT_INVALID(cnn_activation_backward(ctx, CNN_ACTIVATION_RELU, INT64_MAX, y, g, 0, gi), "act count too large");
    EXPECT_INVALID(cnn_softmax_backward(NULL, 1, 4, 1, 0, y, g, 0, gi), "softmax NULL ctx");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 1, 0, NULL, g, 0, gi), "softmax NULL output");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 1, 0, y, NULL, 0, gi), "softmax NULL grad_output");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 1, 0, y, g, 0, NULL), "softmax NULL grad_input");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 0, 4, 1, 0, y, g, 0, gi), "softmax outer 0");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 0, 1, 0, y, g, 0, gi), "softmax classes 0");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 0, 0, y, g, 0, gi), "softmax inner 0");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 1, 2, y, g, 0, gi), "softmax log_softmax 2");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 1, 0, y, g, -1, gi), "softmax accumulate -1");
    EXPECT_INVALID(cnn_softmax_backward(ctx, 1, 4, 1, 0, y, g, 0, g + 3), "softmax overlap");
    const float logits[6] = {0};
    const int32_t labs[2] = {0, 2}, bad1[2] = {0, 3}, bad2[2] = {-1, 0};
    EXPECT_STATUS(cnn_cross_entropy(ctx, 2, 3, logits, labs, 0, &loss, gi), CNN_STATUS_SUCCESS);
    EXPECT_INVALID(cnn_cross_entropy(NULL, 2, 3, logits, labs, 0, &loss, gi), "CE NULL ctx");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, NULL, labs, 0, &loss, gi), "CE NULL logits");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, NULL, 0, &loss, gi), "CE NULL labels");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, labs, 0, NULL, gi), "CE NULL out_loss");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 0, 3, logits, labs, 0, &loss, gi), "CE batch 0");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 0, logits, labs, 0, &loss, gi), "CE classes 0");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, bad1, 0, &loss, gi), "CE label 3");
    EXPECT(strstr(cnn_get_last_error(), "labels[1] = 3") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, bad2, 0, &loss, gi), "CE label -1");
    EXPECT(strstr(cnn_get_last_error(), "labels[0] = -1") != NULL, "message: %s", cnn_get_last_error());
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, labs, -0.1f, &loss, gi), "CE smoothing -0.1");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, labs, 1.1f, &loss, gi), "CE smoothing 1.1");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, labs, NAN, &loss, gi), "CE smoothing NaN");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, labs, 0, &loss, (float*)logits + 1), "CE grad overlaps logits");
    EXPECT_INVALID(cnn_cross_entropy(ctx, 2, 3, logits, labs, 0, gi + 2, gi), "CE out_loss inside grad");
    EXPECT_INVALID(cnn_mse_loss(NULL, 4, y, g, &loss, gi), "mse NULL ctx");
    EXPECT_INVALID(cnn_mse_loss(ctx, 4, NULL, g, &loss, gi), "mse NULL prediction");
    EXPECT_INVALID(cnn_mse_loss(ctx, 4, y, NULL, &loss, gi), "mse NULL target");
    EXPECT_INVALID(cnn_mse_loss(ctx, 4, y, g, NULL, gi), "mse NULL out_loss");
    EXPECT_INVALID(cnn_mse_loss(ctx, 0, y, g, &loss, gi), "mse count 0");
    EXPECT_INVALID(cnn_mse_loss(ctx, 4, y, g, &loss, y + 1), "mse grad overlaps prediction");
    EXPECT_INVALID(cnn_mse_loss(ctx, 4, y, g, g + 3, gi), "mse out_loss inside target");
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no context");
    test_activation(ctx, isas, nctx);
    test_softmax(ctx, isas, nctx);
    test_cross_entropy(ctx, isas, nctx);
    test_mse(ctx, isas, nctx);
    test_validation(ctx[0]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_loss_backward");
}
