/* test_linear_backward.c — cnn_linear_backward_data / cnn_linear_backward_weights:
 *  (1) gradient check: every ISA against central finite differences of
 *      L = sum(dY .* (X W^T + b)) computed in double here;
 *  (2) every ISA against the reference over a sweep of shapes (batch 1..70 around the 6-row
 *      tile, features around the 16-column tile, LeNet-5's fc layers at batch 64), bias on/off,
 *      accumulate 0/1, tolerances stated and max errors printed; bitwise the same on 1, 2 and 3
 *      threads;
 *  (3) every validation path: CNN_STATUS_INVALID_ARGUMENT, a message naming the function and
 *      the argument, gradients untouched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_num_ctx;

/* ------------------------------------------------------------- (1) finite-difference check */

static double loss(int batch, int in_f, int out_f, const double* x, const double* w,
                   const double* b, const float* dy) {
    double total = 0.0;
    for (int n = 0; n < batch; n++)
        for (int o = 0; o < out_f; o++) {
            double y = b[o];
            for (int i = 0; i < in_f; i++) y += x[n * in_f + i] * w[o * in_f + i];
            total += (double)dy[n * out_f + o] * y;
        }
    return total;
}

static void test_gradcheck(void) {
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 4}, {7, 17, 9}, {13, 6, 20}};
    double worst[4] = {0, 0, 0, 0};
    for (int si = 0; si < 4; si++) {
        const int batch = shapes[si][0], in_f = shapes[si][1], out_f = shapes[si][2];
        const size_t nx = (size_t)batch * in_f, nw = (size_t)out_f * in_f,
                     ny = (size_t)batch * out_f;
        float* xf = test_random_floats(nx, 21 + si);
        float* wf = test_random_floats(nw, 31 + si);
        float* dy = test_random_floats(ny, 41 + si);
        double* x = (double*)malloc(nx * sizeof(double));
        double* w = (double*)malloc(nw * sizeof(double));
        double* b = (double*)calloc((size_t)out_f, sizeof(double));
        for (size_t i = 0; i < nx; i++) x[i] = xf[i];
        for (size_t i = 0; i < nw; i++) w[i] = wf[i];
        float* gx = (float*)malloc(nx * sizeof(float));
        float* gw = (float*)malloc(nw * sizeof(float));
        float* gb = (float*)malloc((size_t)out_f * sizeof(float));
        for (int c = 0; c < g_num_ctx; c++) {
            EXPECT_STATUS(cnn_linear_backward_data(g_ctx[c], batch, in_f, out_f, dy, wf, 0, gx),
                          CNN_STATUS_SUCCESS);
            EXPECT_STATUS(
                cnn_linear_backward_weights(g_ctx[c], batch, in_f, out_f, xf, dy, 0, gw, gb),
                CNN_STATUS_SUCCESS);
            double* vars[3] = {x, w, b};
            const float* grads[3] = {gx, gw, gb};
            const size_t counts[3] = {nx, nw, (size_t)out_f};
            double err = 0.0;
            for (int v = 0; v < 3; v++)
                for (size_t i = 0; i < counts[v]; i++) {
                    const double h = 1e-3, saved = vars[v][i];
                    vars[v][i] = saved + h;
                    const double lp = loss(batch, in_f, out_f, x, w, b, dy);
                    vars[v][i] = saved - h;
                    const double lm = loss(batch, in_f, out_f, x, w, b, dy);
                    vars[v][i] = saved;
                    const double fd = (lp - lm) / (2 * h);
                    const double e = fabs((double)grads[v][i] - fd) / fmax(1.0, fabs(fd));
                    if (e > err || e != e) err = e;
                }
            if (err > worst[c]) worst[c] = err;
            EXPECT(err <= 1e-5, "[%s] gradcheck %dx%d -> %d: max error %.3g",
                   test_isa_name(g_isa[c]), batch, in_f, out_f, err);
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
    printf("finite-difference check: max relative error");
    for (int c = 0; c < g_num_ctx; c++) printf(" %s %.3g", test_isa_name(g_isa[c]), worst[c]);
    printf(" (tolerance 1e-5)\n");
}

/* ------------------------------------------------------------------- (2) sweep vs reference */

static double g_err_data[4], g_err_weight[4], g_err_bias[4];
static int g_cases;

static void sweep_case(int batch, int in_f, int out_f, int with_bias, int accumulate) {
    const size_t nx = (size_t)batch * in_f, nw = (size_t)out_f * in_f, ny = (size_t)batch * out_f;
    const size_t nb = (size_t)out_f;
    const uint32_t seed = (uint32_t)g_cases * 17u + 3u;
    g_cases++;
    float* x = test_random_floats(nx, seed);
    float* w = test_random_floats(nw, seed + 1);
    float* dy = test_random_floats(ny, seed + 2);
    float* init_x = test_random_floats(nx, seed + 3);
    float* init_w = test_random_floats(nw, seed + 4);
    float* init_b = test_random_floats(nb, seed + 5);
    float* bufs[6];
    const size_t sizes[6] = {nx, nw, nb, nx, nw, nb};
    const float* inits[6] = {init_x, init_w, init_b, init_x, init_w, init_b};
    for (int i = 0; i < 6; i++) bufs[i] = (float*)malloc((sizes[i] + 1) * sizeof(float));
    float *ref_x = bufs[0], *ref_w = bufs[1], *ref_b = bufs[2];
    float *gx = bufs[3], *gw = bufs[4], *gb = bufs[5];
#define PREPARE(i)                                                                              \
    do {                                                                                        \
        for (size_t j_ = 0; j_ < sizes[i]; j_++) bufs[i][j_] = accumulate ? inits[i][j_] : NAN; \
        bufs[i][sizes[i]] = 777.0f;                                                             \
    } while (0)
    for (int i = 0; i < 3; i++) PREPARE(i);
    EXPECT_STATUS(cnn_linear_backward_data(g_ctx[0], batch, in_f, out_f, dy, w, accumulate, ref_x),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_linear_backward_weights(g_ctx[0], batch, in_f, out_f, x, dy, accumulate,
                                              ref_w, with_bias ? ref_b : NULL),
                  CNN_STATUS_SUCCESS);
    /* Relative to max(1, |reference|): grad_input sums out_features float products (other
     * order, FMA): 1e-5 * sqrt(out_f); grad_weight/bias sum batch products, the reference in
     * double: 2e-6 * sqrt(batch). */
    const double tol_x = 1e-5 * sqrt((double)out_f) + 1e-6;
    const double tol_w = 2e-6 * sqrt((double)batch) + 1e-6;
    for (int c = 1; c < g_num_ctx; c++) {
        for (int i = 3; i < 6; i++) PREPARE(i);
        EXPECT_STATUS(cnn_linear_backward_data(g_ctx[c], batch, in_f, out_f, dy, w, accumulate, gx),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_linear_backward_weights(g_ctx[c], batch, in_f, out_f, x, dy, accumulate,
                                                  gw, with_bias ? gb : NULL),
                      CNN_STATUS_SUCCESS);
        const double ex = test_max_rel_diff(gx, ref_x, nx);
        const double ew = test_max_rel_diff(gw, ref_w, nw);
        const double eb = with_bias ? test_max_rel_diff(gb, ref_b, nb) : 0.0;
        if (ex > g_err_data[c]) g_err_data[c] = ex;
        if (ew > g_err_weight[c]) g_err_weight[c] = ew;
        if (eb > g_err_bias[c]) g_err_bias[c] = eb;
        EXPECT(ex <= tol_x && ew <= tol_w && eb <= tol_w,
               "[%s] %dx%d -> %d bias=%d acc=%d: data %.3g (tol %.3g) weight %.3g bias %.3g (tol "
               "%.3g)",
               test_isa_name(g_isa[c]), batch, in_f, out_f, with_bias, accumulate, ex, tol_x, ew,
               eb, tol_w);
        EXPECT(gx[nx] == 777.0f && gw[nw] == 777.0f && gb[nb] == 777.0f,
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
    for (int i = 0; i < 6; i++) free(bufs[i]);
}

static void test_sweep(void) {
    /* Around both tiles: AVX2 6x16, AVX-512 8x32 (rows and columns below / at / above). */
    static const int batches[] = {1, 2, 5, 6, 7, 8, 9, 13, 16, 31, 32, 33, 64, 70};
    static const int feats[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 100};
    enum { NB = sizeof batches / sizeof batches[0], NF = sizeof feats / sizeof feats[0] };
    int idx = 0;
    for (int b = 0; b < NB; b++)
        for (int i = 0; i < NF; i++)
            for (int o = 0; o < NF; o += 1 + (idx % 2), idx++)
                sweep_case(batches[b], feats[i], feats[(o + b) % NF], idx % 3 != 0, idx % 2);
    /* LeNet-5's fully connected layers at batch 64, and a wide one. */
    sweep_case(64, 400, 120, 1, 0);
    sweep_case(64, 120, 84, 1, 1);
    sweep_case(64, 84, 10, 1, 0);
    sweep_case(3, 2048, 1000, 1, 1);
    printf("sweep: %d cases; max relative error vs reference:", g_cases);
    for (int c = 1; c < g_num_ctx; c++)
        printf(" [%s] data %.3g weight %.3g bias %.3g", test_isa_name(g_isa[c]), g_err_data[c],
               g_err_weight[c], g_err_bias[c]);
    printf("\n");
}

static void test_thread_counts(void) {
    static const int shapes[][3] = {{64, 400, 120}, {1, 37, 300}, {9, 300, 7}, {40, 70, 65}};
    for (int si = 0; si < 4; si++) {
        const int batch = shapes[si][0], in_f = shapes[si][1], out_f = shapes[si][2];
        const size_t nx = (size_t)batch * in_f, nw = (size_t)out_f * in_f,
                     ny = (size_t)batch * out_f;
        float* x = test_random_floats(nx, 5 + si);
        float* w = test_random_floats(nw, 6 + si);
        float* dy = test_random_floats(ny, 7 + si);
        float* gx[2] = {(float*)malloc(nx * 4), (float*)malloc(nx * 4)};
        float* gw[2] = {(float*)malloc(nw * 4), (float*)malloc(nw * 4)};
        float* gb[2] = {(float*)malloc((size_t)out_f * 4), (float*)malloc((size_t)out_f * 4)};
        for (int c = 0; c < g_num_ctx; c++) {
            static const int threads[] = {1, 2, 3, 7};
            for (int t = 0; t < 4; t++) {
                const int s = t > 0;
                EXPECT_STATUS(cnn_context_set_num_threads(g_ctx[c], threads[t]),
                              CNN_STATUS_SUCCESS);
                EXPECT_STATUS(
                    cnn_linear_backward_data(g_ctx[c], batch, in_f, out_f, dy, w, 0, gx[s]),
                    CNN_STATUS_SUCCESS);
                EXPECT_STATUS(cnn_linear_backward_weights(g_ctx[c], batch, in_f, out_f, x, dy, 0,
                                                          gw[s], gb[s]),
                              CNN_STATUS_SUCCESS);
                if (t > 0)
                    EXPECT(memcmp(gx[0], gx[1], nx * 4) == 0 && memcmp(gw[0], gw[1], nw * 4) == 0 &&
                               memcmp(gb[0], gb[1], (size_t)out_f * 4) == 0,
                           "[%s] %dx%d->%d: %d threads differ from 1 thread",
                           test_isa_name(g_isa[c]), batch, in_f, out_f, threads[t]);
            }
            int64_t blocks, bytes, before, after;
            cnn_get_memory_stats(&blocks, &bytes, &before);
            cnn_linear_backward_data(g_ctx[c], batch, in_f, out_f, dy, w, 1, gx[1]);
            cnn_linear_backward_weights(g_ctx[c], batch, in_f, out_f, x, dy, 1, gw[1], gb[1]);
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

/* good: batch 2, in 3, out 4 -> input 6, weight 12, output 8, bias 4. */
static float g_x[32], g_w[32], g_dy[32], g_gx[32], g_gw[32], g_gb[8];

static void fill_grads(void) {
    test_fill(g_gx, 32, 5.0f);
    test_fill(g_gw, 32, 5.0f);
    test_fill(g_gb, 8, 5.0f);
}

static int grads_untouched(void) {
    return test_all_equal(g_gx, 32, 5.0f) && test_all_equal(g_gw, 32, 5.0f) && test_all_equal(g_gb, 8, 5.0f);
}

#define DATA "cnn_linear_backward_data"
#define WEIGHTS "cnn_linear_backward_weights"

static void test_validation(void) {
    cnn_context* ctx = g_ctx[0];
    for (int c = 0; c < g_num_ctx; c++) {
        EXPECT_STATUS(cnn_linear_backward_data(g_ctx[c], 2, 3, 4, g_dy, g_w, 0, g_gx),
                      CNN_STATUS_SUCCESS);
        EXPECT_STATUS(cnn_linear_backward_weights(g_ctx[c], 2, 3, 4, g_x, g_dy, 1, g_gw, NULL),
                      CNN_STATUS_SUCCESS);
    }
    fill_grads();
    /* NULL pointers (grad_bias may be NULL). */
    EXPECT_STATUS(cnn_linear_backward_data(NULL, 2, 3, 4, g_dy, g_w, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(DATA, "'context' is NULL");
    EXPECT_STATUS(cnn_linear_backward_data(ctx, 2, 3, 4, NULL, g_w, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(DATA, "'grad_output' is NULL");
    EXPECT_STATUS(cnn_linear_backward_data(ctx, 2, 3, 4, g_dy, NULL, 0, g_gx),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(DATA, "'weight' is NULL");
    EXPECT_STATUS(cnn_linear_backward_data(ctx, 2, 3, 4, g_dy, g_w, 0, NULL),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(DATA, "'grad_input' is NULL");
    EXPECT_STATUS(cnn_linear_backward_weights(NULL, 2, 3, 4, g_x, g_dy, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "'context' is NULL");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, NULL, g_dy, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "'input' is NULL");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, g_x, NULL, 0, g_gw, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "'grad_output' is NULL");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, g_x, g_dy, 0, NULL, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "'grad_weight' is NULL");
    /* Sizes and accumulate out of range, naming the value and the range. */
    static const struct {
        int batch, in_f, out_f, acc;
        const char* text;
    } bad[] = {
        {0, 3, 4, 0, "batch = 0 is out of range [1, 2147483647]"},
        {-1, 3, 4, 0, "batch = -1"},
        {2, 0, 4, 0, "in_features = 0"},
        {2, 3, -5, 0, "out_features = -5"},
        {2, 3, 4, -1, "accumulate = -1 is out of range [0, 1]"},
        {2, 3, 4, 2, "accumulate = 2"},
        {1 << 30, 1 << 30, 4, 0, "input (batch*in_features)"},
        {1, 1 << 30, 1 << 30, 0, "weight (out_features*in_features)"},
        {1 << 30, 1, 1 << 30, 0, "output (batch*out_features)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_STATUS(cnn_linear_backward_data(ctx, bad[i].batch, bad[i].in_f, bad[i].out_f, g_dy,
                                               g_w, bad[i].acc, g_gx),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT_MESSAGE(DATA, bad[i].text);
        EXPECT_STATUS(cnn_linear_backward_weights(ctx, bad[i].batch, bad[i].in_f, bad[i].out_f, g_x,
                                                  g_dy, bad[i].acc, g_gw, g_gb),
                      CNN_STATUS_INVALID_ARGUMENT);
        EXPECT_MESSAGE(WEIGHTS, bad[i].text);
    }
    EXPECT(grads_untouched(), "an invalid call wrote a gradient");
    /* Overlaps (input 6, weight 12, output 8, bias 4). */
    static float buf[64];
    EXPECT_STATUS(cnn_linear_backward_data(ctx, 2, 3, 4, buf, g_w, 0, buf + 7),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(DATA, "grad_input");
    EXPECT_MESSAGE(DATA, "overlaps grad_output");
    EXPECT_STATUS(cnn_linear_backward_data(ctx, 2, 3, 4, g_dy, buf + 5, 0, buf),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(DATA, "overlaps weight");
    EXPECT_STATUS(cnn_linear_backward_data(ctx, 2, 3, 4, buf, buf + 8, 0, buf + 20),
                  CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, buf, g_dy, 0, buf + 5, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "overlaps input");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, g_x, buf, 0, buf + 7, g_gb),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "overlaps grad_output");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, buf, g_dy, 0, g_gw, buf + 5),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "grad_bias");
    EXPECT_MESSAGE(WEIGHTS, "overlaps input");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, g_x, buf, 0, g_gw, buf + 7),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "overlaps grad_output");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, g_x, g_dy, 0, buf, buf + 11),
                  CNN_STATUS_INVALID_ARGUMENT);
    EXPECT_MESSAGE(WEIGHTS, "overlaps grad_weight");
    EXPECT_STATUS(cnn_linear_backward_weights(ctx, 2, 3, 4, buf, buf + 6, 0, buf + 14, buf + 26),
                  CNN_STATUS_SUCCESS);
}

int main(void) {
    g_num_ctx = test_contexts(g_ctx, g_isa);
    EXPECT(g_num_ctx >= 1, "no context");
    test_gradcheck();
    test_sweep();
    test_thread_counts();
    test_validation();
    for (int c = 0; c < g_num_ctx; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_linear_backward");
}
