/* test_optimizers.c — cnn_sgd_step, cnn_adam_step (Adam and AdamW) and cnn_rmsprop_step:
 * hand-derived single steps, 20 steps against a double-precision re-implementation of the
 * torch.optim update rules, every ISA against the reference (bit for bit: the kernels perform
 * the same float operations), thread-count invariance, and every validation path. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define NEAR(got, want, tol) (fabs((double)(got) - (double)(want)) <= (tol))

/* ------------------------------------------------------------------ optimizer descriptions */

typedef enum { OPT_SGD, OPT_ADAM, OPT_RMSPROP } opt_kind;

typedef struct {
    const char* name;
    opt_kind kind;
    cnn_sgd_params sgd;
    cnn_adam_params adam;
    cnn_rmsprop_params rms;
} opt_case;

static const opt_case k_cases[] = {
    {.name = "sgd", .kind = OPT_SGD, .sgd = {0.1f, 0, 0, 0, 0}},
    {.name = "sgd momentum wd", .kind = OPT_SGD, .sgd = {0.1f, 0.9f, 0, 1e-2f, 0}},
    {.name = "sgd momentum dampening", .kind = OPT_SGD, .sgd = {0.05f, 0.9f, 0.1f, 0, 0}},
    {.name = "sgd nesterov wd", .kind = OPT_SGD, .sgd = {0.1f, 0.9f, 0, 5e-4f, 1}},
    {.name = "adam", .kind = OPT_ADAM, .adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0}},
    {.name = "adam l2", .kind = OPT_ADAM, .adam = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0}},
    {.name = "adamw", .kind = OPT_ADAM, .adam = {1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, 1}},
    {.name = "adamw betas", .kind = OPT_ADAM, .adam = {3e-2f, 0.8f, 0.99f, 1e-6f, 0.5f, 1}},
    {.name = "rmsprop", .kind = OPT_RMSPROP, .rms = {1e-2f, 0.99f, 1e-8f, 0, 0}},
    {.name = "rmsprop momentum wd", .kind = OPT_RMSPROP, .rms = {1e-3f, 0.9f, 1e-6f, 1e-2f, 0.9f}},
};
#define NUM_CASES (int)(sizeof k_cases / sizeof k_cases[0])

/* One step of case c; s1, s2 are the state buffers (momentum / exp_avg / square_avg, exp_avg_sq
 * / momentum buffer). */
static cnn_status opt_step(cnn_context* ctx, const opt_case* c, int64_t n, int64_t step, float* p,
                           const float* g, float* s1, float* s2) {
    switch (c->kind) {
        case OPT_SGD:
            return cnn_sgd_step(ctx, &c->sgd, n, step, p, g, s1);
        case OPT_ADAM:
            return cnn_adam_step(ctx, &c->adam, n, step, p, g, s1, s2);
        default:
            return cnn_rmsprop_step(ctx, &c->rms, n, p, g, s1, s2);
    }
}

/* The torch.optim update rules (1.13 single-tensor code paths) in double precision, with the
 * float hyper-parameters widened to double as torch does with Python floats. */
static void ref_step(const opt_case* c, int64_t n, int64_t step, double* p, const double* g,
                     double* s1, double* s2) {
    for (int64_t i = 0; i < n; i++) {
        double gi = g[i];
        if (c->kind == OPT_SGD) {
            const cnn_sgd_params* h = &c->sgd;
            if (h->weight_decay != 0) gi += h->weight_decay * p[i];
            if (h->momentum != 0) {
                s1[i] = step == 1 ? gi : h->momentum * s1[i] + (1.0 - h->dampening) * gi;
                gi = h->nesterov ? gi + h->momentum * s1[i] : s1[i];
            }
            p[i] -= h->learning_rate * gi;
        } else if (c->kind == OPT_ADAM) {
            const cnn_adam_params* h = &c->adam;
            if (h->decoupled_weight_decay)
                p[i] *= 1.0 - (double)h->learning_rate * h->weight_decay;
            else
                gi += h->weight_decay * p[i];
            s1[i] = h->beta1 * s1[i] + (1.0 - h->beta1) * gi;
            s2[i] = h->beta2 * s2[i] + (1.0 - h->beta2) * gi * gi;
            const double bc1 = 1.0 - pow(h->beta1, (double)step);
            const double bc2 = 1.0 - pow(h->beta2, (double)step);
            const double denom = sqrt(s2[i]) / sqrt(bc2) + h->epsilon;
            p[i] -= h->learning_rate / bc1 * s1[i] / denom;
        } else {
            const cnn_rmsprop_params* h = &c->rms;
            gi += h->weight_decay * p[i];
            s1[i] = h->alpha * s1[i] + (1.0 - h->alpha) * gi * gi;
            const double avg = sqrt(s1[i]) + h->epsilon;
            if (h->momentum > 0) {
                s2[i] = h->momentum * s2[i] + gi / avg;
                p[i] -= h->learning_rate * s2[i];
            } else {
                p[i] -= h->learning_rate * gi / avg;
            }
        }
    }
}

/* ------------------------------------------------------------------------ hand-derived steps */

static void test_hand_steps(cnn_context* ctx, const char* isa) {
    /* SGD: p = 1 - 0.1 * 0.5 */
    cnn_sgd_params sgd = {0.1f, 0, 0, 0, 0};
    float p = 1.0f, g = 0.5f, buf = 0.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 1, &p, &g, NULL), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(p, 0.95, 1e-7), "%s sgd: %.9g", isa, p);
    /* weight decay 0.5: d = 1 + 0.5 * 2 = 2, p = 2 - 0.1 * 2 = 1.8 */
    sgd.weight_decay = 0.5f;
    p = 2.0f, g = 1.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 1, &p, &g, NULL), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(p, 1.8, 1e-7), "%s sgd wd: %.9g", isa, p);
    /* momentum 0.9: step 1 buf = g = 1, p = 0.9; step 2 buf = 0.9 + 1 = 1.9, p = 0.9 - 0.19.
     * The buffer's old contents are ignored at step 1 (torch clones the gradient). */
    sgd = (cnn_sgd_params){0.1f, 0.9f, 0, 0, 0};
    p = 1.0f, g = 1.0f, buf = 12345.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 1, &p, &g, &buf), CNN_STATUS_SUCCESS);
    EXPECT(buf == 1.0f && NEAR(p, 0.9, 1e-7), "%s sgd momentum step 1: p %.9g buf %.9g", isa, p,
           buf);
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 2, &p, &g, &buf), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(buf, 1.9, 1e-7) && NEAR(p, 0.71, 1e-7), "%s sgd momentum step 2: p %.9g buf %.9g",
           isa, p, buf);
    /* dampening 0.5: step 2 buf = 0.9 + 0.5 = 1.4, p = 0.9 - 0.14 */
    sgd.dampening = 0.5f;
    p = 1.0f, g = 1.0f;
    cnn_sgd_step(ctx, &sgd, 1, 1, &p, &g, &buf);
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 2, &p, &g, &buf), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(buf, 1.4, 1e-7) && NEAR(p, 0.76, 1e-7), "%s sgd dampening: p %.9g buf %.9g", isa, p,
           buf);
    /* nesterov: step 1 buf = 1, d = 1 + 0.9 * 1 = 1.9, p = 1 - 0.19 */
    sgd = (cnn_sgd_params){0.1f, 0.9f, 0, 0, 1};
    p = 1.0f, g = 1.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 1, &p, &g, &buf), CNN_STATUS_SUCCESS);
    EXPECT(buf == 1.0f && NEAR(p, 0.81, 1e-7), "%s sgd nesterov: p %.9g", isa, p);
    /* learning rate 0 leaves the parameter alone (torch accepts lr = 0) */
    sgd = (cnn_sgd_params){0.0f, 0, 0, 0, 0};
    p = 3.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 1, 1, &p, &g, NULL), CNN_STATUS_SUCCESS);
    EXPECT(p == 3.0f, "%s sgd lr 0: %.9g", isa, p);

    /* (0.999f and 0.99f are not exactly 0.999 and 0.99, hence 1e-7 on v and sq.)
     * Adam step 1: m = 0.1 g, v = 0.001 g^2, step_size = lr / 0.1, denom = |g| + eps,
     * so p -= lr * g / (|g| + eps) = 1 - 0.01 * 2 / (2 + 1e-8). */
    cnn_adam_params adam = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0};
    float m = 0, v = 0;
    p = 1.0f, g = 2.0f;
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, 1, 1, &p, &g, &m, &v), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(p, 0.99, 2e-7) && NEAR(m, 0.2, 1e-7) && NEAR(v, 0.004, 1e-7),
           "%s adam step 1: p %.9g m %.9g v %.9g", isa, p, m, v);
    /* Adam with L2: g + wd * p = -1 + 1 * 1 = 0 -> m = v = 0 and p unchanged */
    adam.weight_decay = 1.0f;
    p = 1.0f, g = -1.0f, m = 0, v = 0;
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, 1, 1, &p, &g, &m, &v), CNN_STATUS_SUCCESS);
    EXPECT(p == 1.0f && m == 0.0f && v == 0.0f, "%s adam l2: p %.9g", isa, p);
    /* AdamW: p = 1 * (1 - 0.01 * 0.1) - 0.01 = 0.989 */
    adam = (cnn_adam_params){0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 1};
    p = 1.0f, g = 2.0f, m = 0, v = 0;
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, 1, 1, &p, &g, &m, &v), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(p, 0.989, 2e-7), "%s adamw step 1: %.9g", isa, p);

    /* RMSprop step 1: sq = 0.01 * 4 = 0.04, avg = 0.2 + eps, p = 1 - 0.01 * 2 / 0.2 = 0.9 */
    cnn_rmsprop_params rms = {0.01f, 0.99f, 1e-8f, 0, 0};
    float sq = 0;
    p = 1.0f, g = 2.0f;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, 1, &p, &g, &sq, NULL), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(p, 0.9, 2e-7) && NEAR(sq, 0.04, 1e-7), "%s rmsprop: p %.9g sq %.9g", isa, p, sq);
    /* with momentum 0.5: buf = 2 / 0.2 = 10, p = 1 - 0.01 * 10 = 0.9 */
    rms.momentum = 0.5f;
    p = 1.0f, sq = 0, buf = 0;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, 1, &p, &g, &sq, &buf), CNN_STATUS_SUCCESS);
    EXPECT(NEAR(p, 0.9, 2e-7) && NEAR(buf, 10.0, 2e-5), "%s rmsprop momentum: p %.9g buf %.9g", isa,
           p, buf);
}

/* ---------------------------------------------------- 20 steps against double precision */

typedef struct {
    float *p, *s1, *s2;
} opt_state;

static opt_state state_new(int64_t n, uint32_t seed) {
    opt_state s;
    s.p = test_random_floats((size_t)n, seed);
    s.s1 = (float*)calloc((size_t)n, sizeof(float));
    s.s2 = (float*)calloc((size_t)n, sizeof(float));
    return s;
}

static void state_free(opt_state* s) {
    free(s->p);
    free(s->s1);
    free(s->s2);
}

/* The gradient of step t: fixed noise plus 0.1 * p (so weight decay and state interact). */
static void make_grad(float* g, const float* p, int64_t n, int step) {
    float* noise = test_random_floats((size_t)n, 1000u + (uint32_t)step);
    for (int64_t i = 0; i < n; i++) g[i] = 0.5f * noise[i] + 0.1f * p[i];
    free(noise);
}

static void test_against_double(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int64_t n = 1003;
    float* g = (float*)malloc(n * sizeof(float));
    double *dp = malloc(n * sizeof(double)), *dg = malloc(n * sizeof(double));
    double *d1 = malloc(n * sizeof(double)), *d2 = malloc(n * sizeof(double));
    for (int c = 0; c < NUM_CASES; c++) {
        for (int k = 0; k < nctx; k++) {
            opt_state s = state_new(n, 7u);
            for (int64_t i = 0; i < n; i++) dp[i] = s.p[i], d1[i] = 0, d2[i] = 0;
            double worst = 0.0;
            for (int step = 1; step <= 20; step++) {
                make_grad(g, s.p, n, step);
                for (int64_t i = 0; i < n; i++) dg[i] = g[i]; /* same gradient both sides */
                EXPECT_STATUS(opt_step(ctx[k], &k_cases[c], n, step, s.p, g, s.s1, s.s2),
                              CNN_STATUS_SUCCESS);
                ref_step(&k_cases[c], n, step, dp, dg, d1, d2);
                for (int64_t i = 0; i < n; i++) {
                    const double d = fabs((double)s.p[i] - dp[i]);
                    if (d > worst || d != d) worst = d;
                }
            }
            EXPECT(worst <= 5e-6, "%s %s: max |float - double| over 20 steps = %.3g",
                   test_isa_name(isas[k]), k_cases[c].name, worst);
            state_free(&s);
        }
    }
    free(g), free(dp), free(dg), free(d1), free(d2);
}

/* ------------------------------------------- every ISA and thread count vs the reference */

static int same_bits(const float* a, const float* b, int64_t n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

static void test_isa_and_threads(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    static const int64_t sizes[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1003, 3 * 65536 + 13};
    static const int32_t threads[] = {1, 2, 7};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int64_t n = sizes[si];
        float* g = (float*)malloc((size_t)n * sizeof(float));
        for (int c = 0; c < NUM_CASES; c++) {
            opt_state ref = state_new(n, 11u);
            for (int step = 1; step <= 3; step++) {
                make_grad(g, ref.p, n, step);
                opt_step(ctx[0], &k_cases[c], n, step, ref.p, g, ref.s1, ref.s2);
            }
            for (int k = 0; k < nctx; k++) {
                for (int t = 0; t < 3; t++) {
                    if (n < 1000 && t > 0) continue;
                    cnn_context_set_num_threads(ctx[k], threads[t]);
                    opt_state s = state_new(n, 11u);
                    for (int step = 1; step <= 3; step++) {
                        make_grad(g, s.p, n, step);
                        EXPECT_STATUS(opt_step(ctx[k], &k_cases[c], n, step, s.p, g, s.s1, s.s2),
                                      CNN_STATUS_SUCCESS);
                    }
                    const int s2_used =
                        k_cases[c].kind != OPT_SGD &&
                        !(k_cases[c].kind == OPT_RMSPROP && k_cases[c].rms.momentum == 0);
                    EXPECT(same_bits(s.p, ref.p, n) && same_bits(s.s1, ref.s1, n) &&
                               (!s2_used || same_bits(s.s2, ref.s2, n)),
                           "%s %s n=%lld threads=%d differs from the reference (max %.3g)",
                           test_isa_name(isas[k]), k_cases[c].name, (long long)n, threads[t],
                           test_max_abs_diff(s.p, ref.p, (size_t)n));
                    state_free(&s);
                }
                cnn_context_set_num_threads(ctx[k], 0);
            }
            state_free(&ref);
        }
        free(g);
    }
}

/* ------------------------------------------------------------------------------ validation */

static void test_validation(cnn_context* ctx) {
    enum { N = 16 };
    float p[N], g[N], s1[N], s2[N], big[2 * N];
    for (int i = 0; i < N; i++) p[i] = 1.0f, g[i] = 0.5f, s1[i] = s2[i] = 0.0f;
    const float inf = INFINITY, nan = NAN;
    const cnn_status INV = CNN_STATUS_INVALID_ARGUMENT;
    (void)big;

    /* ---- SGD */
    const cnn_sgd_params sgd = {0.1f, 0.9f, 0.0f, 0.0f, 0};
    cnn_sgd_params h;
    EXPECT_STATUS(cnn_sgd_step(NULL, &sgd, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("cnn_sgd_step", "context");
    EXPECT_STATUS(cnn_sgd_step(ctx, NULL, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("params");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, N, 1, NULL, g, s1), INV);
    EXPECT_MESSAGE("parameter");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, N, 1, p, NULL, s1), INV);
    EXPECT_MESSAGE("grad");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, N, 1, p, g, NULL), INV);
    EXPECT_MESSAGE("cnn_sgd_step", "momentum_buffer", "0.9");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, 0, 1, p, g, s1), INV);
    EXPECT_MESSAGE("cnn_sgd_step", "count = 0");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, -5, 1, p, g, s1), INV);
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, N, 0, p, g, s1), INV);
    EXPECT_MESSAGE("cnn_sgd_step", "step = 0", "[1,");
    h = sgd, h.learning_rate = -0.1f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("cnn_sgd_step", "Invalid learning rate", "learning_rate = -0.1", "[0, +inf)");
    h = sgd, h.learning_rate = nan;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("learning_rate = nan");
    h = sgd, h.learning_rate = inf;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    h = sgd, h.momentum = -0.5f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("Invalid momentum value", "momentum = -0.5");
    h = sgd, h.dampening = -1.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("dampening = -1");
    h = sgd, h.weight_decay = -1e-4f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("Invalid weight_decay value", "weight_decay = -0.0001");
    h = sgd, h.nesterov = 2;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("nesterov = 2", "[0, 1]");
    h = sgd, h.nesterov = 1, h.momentum = 0.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("Nesterov momentum requires a momentum and zero dampening");
    h = sgd, h.nesterov = 1, h.dampening = 0.1f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT_MESSAGE("Nesterov", "dampening = 0.1");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, N, 1, p, p, s1), INV); /* grad is parameter */
    EXPECT_MESSAGE("cnn_sgd_step", "grad", "overlaps", "parameter");
    EXPECT_STATUS(cnn_sgd_step(ctx, &sgd, N, 1, p, g, p + 4), INV); /* partial overlap */
    EXPECT_MESSAGE("momentum_buffer", "overlaps");
    /* without momentum the buffer is not needed (and not checked for overlap) */
    h = sgd, h.momentum = 0.0f;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, NULL), CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, p), CNN_STATUS_SUCCESS);
    /* a failed call changes nothing */
    for (int i = 0; i < N; i++) p[i] = 1.0f, s1[i] = 7.0f;
    h = sgd, h.weight_decay = nan;
    EXPECT_STATUS(cnn_sgd_step(ctx, &h, N, 1, p, g, s1), INV);
    EXPECT(p[0] == 1.0f && p[N - 1] == 1.0f && s1[0] == 7.0f, "failed sgd step wrote outputs");

    /* ---- Adam */
    const cnn_adam_params adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0};
    cnn_adam_params a;
    EXPECT_STATUS(cnn_adam_step(NULL, &adam, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("cnn_adam_step", "context");
    EXPECT_STATUS(cnn_adam_step(ctx, NULL, N, 1, p, g, s1, s2), INV);
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 1, NULL, g, s1, s2), INV);
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 1, p, NULL, s1, s2), INV);
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 1, p, g, NULL, s2), INV);
    EXPECT_MESSAGE("exp_avg");
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 1, p, g, s1, NULL), INV);
    EXPECT_MESSAGE("exp_avg_sq");
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, 0, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("cnn_adam_step", "count = 0");
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 0, p, g, s1, s2), INV);
    EXPECT_MESSAGE("cnn_adam_step", "step = 0");
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, -3, p, g, s1, s2), INV);
    a = adam, a.learning_rate = -1e-3f;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("cnn_adam_step", "Invalid learning rate");
    a = adam, a.beta1 = 1.0f;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid beta parameter at index 0", "beta1 = 1", "[0, 1)");
    a = adam, a.beta2 = -0.1f;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid beta parameter at index 1", "beta2 = -0.1");
    a = adam, a.beta2 = nan;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    a = adam, a.epsilon = 0.0f;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid epsilon value", "epsilon = 0", "(0, +inf)");
    a = adam, a.weight_decay = -1.0f;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid weight_decay value");
    a = adam, a.weight_decay = inf;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    a = adam, a.decoupled_weight_decay = -1;
    EXPECT_STATUS(cnn_adam_step(ctx, &a, N, 1, p, g, s1, s2), INV);
    EXPECT_MESSAGE("decoupled_weight_decay = -1");
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 1, p, g, s1, s1), INV); /* shared state */
    EXPECT_MESSAGE("exp_avg_sq", "overlaps", "exp_avg");
    EXPECT_STATUS(cnn_adam_step(ctx, &adam, N, 1, p, g, g + 8, s2), INV);
    EXPECT_MESSAGE("exp_avg", "overlaps", "grad");

    /* ---- RMSprop */
    const cnn_rmsprop_params rms = {1e-2f, 0.99f, 1e-8f, 0.0f, 0.9f};
    cnn_rmsprop_params r;
    EXPECT_STATUS(cnn_rmsprop_step(NULL, &rms, N, p, g, s1, s2), INV);
    EXPECT_MESSAGE("cnn_rmsprop_step", "context");
    EXPECT_STATUS(cnn_rmsprop_step(ctx, NULL, N, p, g, s1, s2), INV);
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, N, NULL, g, s1, s2), INV);
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, N, p, NULL, s1, s2), INV);
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, N, p, g, NULL, s2), INV);
    EXPECT_MESSAGE("square_avg");
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, N, p, g, s1, NULL), INV);
    EXPECT_MESSAGE("cnn_rmsprop_step", "momentum_buffer");
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, 0, p, g, s1, s2), INV);
    EXPECT_MESSAGE("count = 0");
    r = rms, r.learning_rate = inf;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, s2), INV);
    EXPECT_MESSAGE("cnn_rmsprop_step", "Invalid learning rate", "learning_rate = inf");
    r = rms, r.alpha = 1.5f;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid alpha value", "alpha = 1.5", "[0, 1]");
    r = rms, r.alpha = -0.5f;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, s2), INV);
    r = rms, r.epsilon = -1e-8f;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid epsilon value");
    r = rms, r.momentum = -0.9f;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid momentum value");
    r = rms, r.weight_decay = nan;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, s2), INV);
    EXPECT_MESSAGE("Invalid weight_decay value");
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, N, p, g, s1, s1 + 1), INV);
    EXPECT_MESSAGE("momentum_buffer", "overlaps", "square_avg");
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &rms, N, p, g, p, s2), INV);
    EXPECT_MESSAGE("square_avg", "overlaps", "parameter");
    r = rms, r.momentum = 0.0f;
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, NULL), CNN_STATUS_SUCCESS);
    r.alpha = 1.0f; /* square_avg stays 0: avg = eps */
    EXPECT_STATUS(cnn_rmsprop_step(ctx, &r, N, p, g, s1, NULL), CNN_STATUS_SUCCESS);
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no contexts");
    for (int c = 0; c < nctx; c++) test_hand_steps(ctx[c], test_isa_name(isas[c]));
    test_against_double(ctx, isas, nctx);
    test_isa_and_threads(ctx, isas, nctx);
    for (int c = 0; c < nctx; c++) test_validation(ctx[c]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_optimizers");
}
