/* test_batch_norm2d.c — cnn_batch_norm2d_inference: hand-derived values, every ISA against a
 * double-precision evaluation of (x - mean) / sqrt(var + eps) * gamma + beta over a sweep
 * (batch 1/3, channels 1/3/8/17, odd planes incl. 1x1 and planes larger than one work
 * segment, NULL gamma/beta, every fused activation, in place), and every validation path. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_batch_norm2d_params make_params(int n, int c, int h, int w, float eps) {
    cnn_batch_norm2d_params p = {n, c, h, w, eps};
    return p;
}

static double act_ref(cnn_activation a, double x) {
    switch (a) {
        case CNN_ACTIVATION_RELU: return x < 0 ? 0.0 : x;
        case CNN_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp(-x));
        case CNN_ACTIVATION_TANH: return tanh(x);
        default: return x;
    }
}

static void test_hand_cases(cnn_context* ctx, const char* isa) {
    /* mean 2, var 4, eps 0, gamma 3, beta 1: (x - 2) / 2 * 3 + 1 = 1.5x - 2 */
    const float x[4] = {1, 2, 3, 4}, mean = 2, var = 4, gamma = 3, beta = 1;
    float y[4];
    cnn_batch_norm2d_params p = make_params(1, 1, 2, 2, 0.0f);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &p, x, &mean, &var, &gamma, &beta, CNN_ACTIVATION_NONE, y),
        CNN_STATUS_SUCCESS);
    EXPECT(y[0] == -0.5f && y[1] == 1.0f && y[2] == 2.5f && y[3] == 4.0f, "%s affine: %g %g %g %g",
           isa, y[0], y[1], y[2], y[3]);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &p, x, &mean, &var, &gamma, &beta, CNN_ACTIVATION_RELU, y),
        CNN_STATUS_SUCCESS);
    EXPECT(y[0] == 0.0f && y[1] == 1.0f && y[3] == 4.0f, "%s affine relu: %g", isa, y[0]);
    /* gamma/beta NULL mean 1/0: (x - 2) / 2 */
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &p, x, &mean, &var, NULL, NULL, CNN_ACTIVATION_NONE, y),
        CNN_STATUS_SUCCESS);
    EXPECT(y[0] == -0.5f && y[1] == 0.0f && y[2] == 0.5f && y[3] == 1.0f,
           "%s no affine: %g %g %g %g", isa, y[0], y[1], y[2], y[3]);
    /* eps is added to var: var 3 + eps 1 -> sqrt 2 */
    const float var3 = 3;
    p.epsilon = 1.0f;
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &p, x, &mean, &var3, NULL, NULL, CNN_ACTIVATION_NONE, y),
        CNN_STATUS_SUCCESS);
    EXPECT(y[3] == 1.0f, "%s eps: %g", isa, y[3]);
    /* two channels, batch 2: channel c uses mean[c] / var[c] in every batch item */
    const float x2[8] = {1, 1, 5, 5, 1, 1, 5, 5}, m2[2] = {0, 4}, v2[2] = {1, 0.25f};
    float y2[8];
    p = make_params(2, 2, 1, 2, 0.0f);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &p, x2, m2, v2, NULL, NULL, CNN_ACTIVATION_NONE, y2),
        CNN_STATUS_SUCCESS);
    EXPECT(y2[0] == 1 && y2[2] == 2 && y2[4] == 1 && y2[7] == 2, "%s channels: %g %g %g %g", isa,
           y2[0], y2[2], y2[4], y2[7]);
    /* in place with sigmoid: (x - 2)/2 at x = 2 is 0 -> 0.5 */
    float inplace[4] = {1, 2, 3, 4};
    p = make_params(1, 1, 1, 4, 0.0f);
    EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &p, inplace, &mean, &var, NULL, NULL,
                                             CNN_ACTIVATION_SIGMOID, inplace),
                  CNN_STATUS_SUCCESS);
    EXPECT(inplace[1] == 0.5f, "%s in place sigmoid: %g", isa, inplace[1]);
}

static void test_sweep(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int batches[2] = {1, 3}, channels[4] = {1, 3, 8, 17};
    const int planes[5][2] = {{1, 1}, {7, 7}, {5, 13}, {3, 1}, {67, 71}};
    const double tol = 2e-6; /* |d| / max(1, |want|) */
    for (int c = 0; c < nctx; c++) {
        double worst[4] = {0, 0, 0, 0};
        int config = 0;
        for (int bi = 0; bi < 2; bi++)
            for (int ci = 0; ci < 4; ci++)
                for (int pi = 0; pi < 5; pi++)
                    for (int act = 0; act <= 3; act++, config++) {
                        const int n = batches[bi], ch = channels[ci], h = planes[pi][0],
                                  w = planes[pi][1];
                        const size_t count = (size_t)n * ch * h * w;
                        float* x = test_random_floats(count, (uint32_t)config + 1);
                        float* mean = test_random_floats((size_t)ch, 1000u + (uint32_t)config);
                        float* var = test_random_floats((size_t)ch, 2000u + (uint32_t)config);
                        float* gamma = test_random_floats((size_t)ch, 3000u + (uint32_t)config);
                        float* beta = test_random_floats((size_t)ch, 4000u + (uint32_t)config);
                        for (int k = 0; k < ch; k++) var[k] = var[k] * var[k] + 0.05f;
                        for (size_t i = 0; i < count; i++) x[i] *= 3.0f;
                        const int affine =
                            config % 3 != 1; /* every third config: NULL gamma/beta */
                        const float eps = config % 2 ? 1e-5f : 0.0f;
                        cnn_batch_norm2d_params p = make_params(n, ch, h, w, eps);
                        float* y = (float*)malloc(count * sizeof(float));
                        EXPECT_STATUS(cnn_batch_norm2d_inference(
                                          ctx[c], &p, x, mean, var, affine ? gamma : NULL,
                                          affine ? beta : NULL, (cnn_activation)act, y),
                                      CNN_STATUS_SUCCESS);
                        double err = 0.0;
                        const size_t hw = (size_t)h * w;
                        for (size_t i = 0; i < count; i++) {
                            const size_t k = i / hw % (size_t)ch;
                            double v = ((double)x[i] - mean[k]) / sqrt((double)var[k] + eps);
                            if (affine) v = v * gamma[k] + beta[k];
                            v = act_ref((cnn_activation)act, v);
                            err = fmax(err, fabs(y[i] - v) / fmax(1.0, fabs(v)));
                        }
                        EXPECT(err <= tol, "%s batch norm %dx%dx%dx%d act %d affine %d: err %.3g",
                               test_isa_name(isas[c]), n, ch, h, w, act, affine, err);
                        worst[act] = fmax(worst[act], err);
                        /* in place gives the same bits */
                        EXPECT_STATUS(cnn_batch_norm2d_inference(
                                          ctx[c], &p, x, mean, var, affine ? gamma : NULL,
                                          affine ? beta : NULL, (cnn_activation)act, x),
                                      CNN_STATUS_SUCCESS);
                        EXPECT(memcmp(x, y, count * sizeof(float)) == 0, "%s in place differs",
                               test_isa_name(isas[c]));
                        free(x);
                        free(mean);
                        free(var);
                        free(gamma);
                        free(beta);
                        free(y);
                    }
        printf(
            "batch_norm2d %-9s %d configs: max err |d|/max(1,|want|) none %.3g relu %.3g "
            "sigmoid %.3g tanh %.3g (tol %.0g)\n",
            test_isa_name(isas[c]), config, worst[0], worst[1], worst[2], worst[3], tol);
    }
}

static void test_validation(cnn_context* ctx) {
    float buf[64], stats[4] = {0, 1, 1, 0};
    memset(buf, 0, sizeof buf);
    const cnn_status BAD = CNN_STATUS_INVALID_ARGUMENT;
    const cnn_batch_norm2d_params good = make_params(1, 2, 2, 2, 1e-5f);
    const float* m = stats;
    const float* v = stats + 1;
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &good, buf, m, v, NULL, NULL, CNN_ACTIVATION_NONE, buf + 8),
        CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_batch_norm2d_inference(NULL, &good, buf, m, v, NULL, NULL,
                                             CNN_ACTIVATION_NONE, buf + 8),
                  BAD);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, NULL, buf, m, v, NULL, NULL, CNN_ACTIVATION_NONE, buf + 8),
        BAD);
    EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &good, NULL, m, v, NULL, NULL,
                                             CNN_ACTIVATION_NONE, buf + 8),
                  BAD);
    EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &good, buf, NULL, v, NULL, NULL,
                                             CNN_ACTIVATION_NONE, buf + 8),
                  BAD);
    EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &good, buf, m, NULL, NULL, NULL,
                                             CNN_ACTIVATION_NONE, buf + 8),
                  BAD);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &good, buf, m, v, NULL, NULL, CNN_ACTIVATION_NONE, NULL),
        BAD);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &good, buf, m, v, NULL, NULL, (cnn_activation)9, buf + 8),
        BAD);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &good, buf, m, v, NULL, NULL, (cnn_activation)-1, buf + 8),
        BAD);
    EXPECT_STATUS(
        cnn_batch_norm2d_inference(ctx, &good, buf, m, v, NULL, NULL, CNN_ACTIVATION_NONE, buf + 3),
        BAD);
    EXPECT(strstr(cnn_get_last_error(), "overlaps") != NULL, "message '%s'", cnn_get_last_error());
    const int fields = 4;
    for (int f = 0; f < fields; f++) {
        const int bad_values[3] = {0, -1, INT32_MIN};
        for (int b = 0; b < 3; b++) {
            cnn_batch_norm2d_params p = good;
            int32_t* field = f == 0   ? &p.batch
                             : f == 1 ? &p.channels
                             : f == 2 ? &p.height
                                      : &p.width;
            *field = bad_values[b];
            EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &p, buf, m, v, NULL, NULL,
                                                     CNN_ACTIVATION_NONE, buf + 8),
                          BAD);
        }
    }
    {
        cnn_batch_norm2d_params p = good;
        p.channels = 0;
        cnn_batch_norm2d_inference(ctx, &p, buf, m, v, NULL, NULL, CNN_ACTIVATION_NONE, buf + 8);
        const char* msg = cnn_get_last_error();
        EXPECT(strstr(msg, "cnn_batch_norm2d_inference") && strstr(msg, "channels") &&
                   strstr(msg, "= 0") && strstr(msg, "[1, "),
               "message '%s'", msg);
    }
    const float bad_eps[4] = {-1e-5f, NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 4; i++) {
        cnn_batch_norm2d_params p = good;
        p.epsilon = bad_eps[i];
        EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &p, buf, m, v, NULL, NULL,
                                                 CNN_ACTIVATION_NONE, buf + 8),
                      BAD);
        EXPECT(strstr(cnn_get_last_error(), "epsilon") != NULL, "message '%s'",
               cnn_get_last_error());
    }
    {
        cnn_batch_norm2d_params p = make_params(65536, 65536, 65536, 2, 0.0f);
        EXPECT_STATUS(cnn_batch_norm2d_inference(ctx, &p, buf, m, v, NULL, NULL,
                                                 CNN_ACTIVATION_NONE, buf + 8),
                      BAD);
        p = make_params(1, 1, 1, 1, 0.0f);
        EXPECT_STATUS(
            cnn_batch_norm2d_inference(ctx, &p, buf, m, v, NULL, NULL, CNN_ACTIVATION_NONE, buf),
            CNN_STATUS_SUCCESS);
    }
}

/* The thread count never changes results: 1 thread vs the whole budget, bitwise. */
static void test_thread_invariance(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const cnn_batch_norm2d_params p = make_params(2, 5, 123, 129, 1e-5f);
    const size_t n = (size_t)2 * 5 * 123 * 129;
    float* x = test_random_floats(n, 9);
    float* one = (float*)malloc(n * sizeof(float));
    float* all = (float*)malloc(n * sizeof(float));
    const float mean[5] = {0.1f, -0.2f, 0.3f, 0, 1}, var[5] = {1, 2, 0.5f, 0.25f, 4};
    for (int c = 0; c < nctx; c++) {
        EXPECT_STATUS(cnn_context_set_num_threads(ctx[c], 1), CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_batch_norm2d_inference(ctx[c], &p, x, mean, var, var, mean,
                                                 CNN_ACTIVATION_TANH, one),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_context_set_num_threads(ctx[c], 0), CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_batch_norm2d_inference(ctx[c], &p, x, mean, var, var, mean,
                                                 CNN_ACTIVATION_TANH, all),
                      CNN_STATUS_SUCCESS);
        EXPECT(memcmp(one, all, n * sizeof(float)) == 0, "%s: 1 thread and all threads differ",
               test_isa_name(isas[c]));
    }
    free(x);
    free(one);
    free(all);
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no contexts");
    for (int c = 0; c < nctx; c++) test_hand_cases(ctx[c], test_isa_name(isas[c]));
    test_sweep(ctx, isas, nctx);
    test_thread_invariance(ctx, isas, nctx);
    if (nctx >= 1) test_validation(ctx[0]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_batch_norm2d");
}
