/* test_dropout_util.c — cnn_dropout_forward, cnn_mul_forward, cnn_axpy and cnn_sum_squares:
 * hand values, the documented dropout draw (SplitMix64 of seed and index), its keep rate,
 * masks identical for every thread count and ISA, every ISA against the reference, in-place
 * use, and every validation path. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"


static int same_bits(const float* a, const float* b, int64_t n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

/* The documented draw, written out independently of the library: element i is dropped iff
 * (mix(key + i * GAMMA) >> 40) * 2^-24 < p, key = mix(seed + GAMMA), mix = SplitMix64's
 * finaliser. */
static uint64_t splitmix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int documented_drop(int64_t seed, int64_t i, float p) {
    const uint64_t gamma = 0x9E3779B97F4A7C15ull;
    const uint64_t key = splitmix((uint64_t)seed + gamma);
    const double u = (double)(splitmix(key + (uint64_t)i * gamma) >> 40) / 16777216.0;
    return u < (double)p;
}

/* ------------------------------------------------------------------------------- dropout */

static void test_dropout_hand(cnn_context* ctx, const char* isa) {
    const float x[5] = {1.0f, -2.0f, 3.0f, INFINITY, -0.5f};
    float mask[5], y[5];
    /* p = 0: mask all 1, output = input */
    EXPECT_STATUS(cnn_dropout_forward(ctx, 5, 0.0f, 42, x, mask, y), CNN_STATUS_SUCCESS);
    EXPECT(mask[0] == 1 && mask[1] == 1 && mask[2] == 1 && mask[3] == 1 && mask[4] == 1,
           "%s p=0 mask", isa);
    EXPECT(same_bits(x, y, 5), "%s p=0 output", isa);
    /* p = 0.5: mask in {0, 2}, output = input * mask, the draw as documented */
    enum { N = 1000 };
    float* in = test_random_floats(N, 3);
    float m[N], out[N];
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, -12345, in, m, out), CNN_STATUS_SUCCESS);
    int bad = 0, undocumented = 0;
    for (int i = 0; i < N; i++) {
        if (!(m[i] == 0.0f || m[i] == 2.0f) || out[i] != in[i] * m[i]) bad++;
        if ((m[i] == 0.0f) != documented_drop(-12345, i, 0.5f)) undocumented++;
    }
    EXPECT(bad == 0, "%s p=0.5: %d elements with a wrong mask or output", isa, bad);
    EXPECT(undocumented == 0, "%s: %d masks differ from the documented SplitMix64 draw", isa,
           undocumented);
    /* p = 0.3: kept elements are scaled by 1.0f / (float)(1 - p) (torch's noise.div_(1 - p)) */
    const float scale = 1.0f / (float)(1.0 - (double)0.3f);
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.3f, 7, in, m, out), CNN_STATUS_SUCCESS);
    bad = 0;
    for (int i = 0; i < N; i++)
        if ((m[i] != 0.0f && m[i] != scale) || (m[i] == 0.0f) != documented_drop(7, i, 0.3f)) bad++;
    EXPECT(bad == 0, "%s p=0.3: %d bad masks", isa, bad);
    /* in place: output = input */
    float* copy = (float*)malloc(N * sizeof(float));
    memcpy(copy, in, N * sizeof(float));
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.3f, 7, copy, m, copy), CNN_STATUS_SUCCESS);
    EXPECT(same_bits(copy, out, N), "%s in-place dropout differs", isa);
    free(copy);
    free(in);
}

static void test_dropout_statistics(cnn_context* ctx) {
    const int64_t n = 1 << 20;
    float* x = (float*)malloc((size_t)n * sizeof(float));
    float* m = (float*)malloc((size_t)n * sizeof(float));
    float* m2 = (float*)malloc((size_t)n * sizeof(float));
    float* y = (float*)malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f;
    static const float ps[] = {0.1f, 0.25f, 0.5f, 0.9f};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        const double p = ps[k];
        cnn_dropout_forward(ctx, n, ps[k], 2024, x, m, y);
        cnn_dropout_forward(ctx, n, ps[k], 2025, x, m2, y);
        int64_t kept = 0, agree = 0, runs_kept = 0;
        for (int64_t i = 0; i < n; i++) {
            kept += m[i] != 0.0f;
            agree += (m[i] != 0.0f) == (m2[i] != 0.0f);
            if (i > 0) runs_kept += (m[i] != 0.0f) && (m[i - 1] != 0.0f);
        }
        const double sigma = sqrt(p * (1 - p) / (double)n);
        const double keep_rate = (double)kept / (double)n;
        EXPECT(fabs(keep_rate - (1 - p)) < 5 * sigma,
               "p=%.2f: keep rate %.5f, expected %.5f +- %.5f", p, keep_rate, 1 - p, 5 * sigma);
        /* independent seeds: masks agree with probability p^2 + (1-p)^2 */
        const double want_agree = p * p + (1 - p) * (1 - p);
        EXPECT(fabs((double)agree / (double)n - want_agree) < 0.005,
               "p=%.2f: seeds 2024/2025 agree on %.5f of elements, expected %.5f", p,
               (double)agree / (double)n, want_agree);
        /* neighbours independent: P(both kept) = (1-p)^2 */
        EXPECT(fabs((double)runs_kept / (double)(n - 1) - (1 - p) * (1 - p)) < 0.005,
               "p=%.2f: neighbouring elements look correlated", p);
    }
    free(x), free(m), free(m2), free(y);
}

static void test_dropout_determinism(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const int64_t n = 3 * 65536 + 13;
    float* x = test_random_floats((size_t)n, 9);
    float *m_ref = malloc((size_t)n * sizeof(float)), *y_ref = malloc((size_t)n * sizeof(float));
    float *m = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    cnn_context_set_num_threads(ctx[0], 1);
    cnn_dropout_forward(ctx[0], n, 0.4f, INT64_C(0x123456789ABCDEF), x, m_ref, y_ref);
    static const int32_t threads[] = {1, 2, 7};
    for (int k = 0; k < nctx; k++) {
        for (int t = 0; t < 3; t++) {
            cnn_context_set_num_threads(ctx[k], threads[t]);
            memset(m, 0xFF, (size_t)n * sizeof(float));
            EXPECT_STATUS(cnn_dropout_forward(ctx[k], n, 0.4f, INT64_C(0x123456789ABCDEF), x, m, y),
                          CNN_STATUS_SUCCESS);
            EXPECT(same_bits(m, m_ref, n) && same_bits(y, y_ref, n),
                   "%s threads=%d: dropout mask differs from the 1-thread reference",
                   test_isa_name(isas[k]), threads[t]);
        }
        /* sub-ranges and tails: a prefix of a longer call is the same draw */
        for (int64_t len = 1; len <= 40; len++) {
            float mm[40], yy[40];
            cnn_dropout_forward(ctx[k], len, 0.4f, INT64_C(0x123456789ABCDEF), x, mm, yy);
            EXPECT(same_bits(mm, m_ref, len), "%s len=%lld prefix mask differs",
                   test_isa_name(isas[k]), (long long)len);
        }
        cnn_context_set_num_threads(ctx[k], 0);
    }
    /* another seed gives another mask */
    cnn_dropout_forward(ctx[0], n, 0.4f, INT64_C(0x123456789ABCDEE), x, m, y);
    EXPECT(!same_bits(m, m_ref, n), "seeds differing by 1 gave the same mask");
    free(x), free(m_ref), free(y_ref), free(m), free(y);
}

/* ------------------------------------------------------------------- mul, axpy, sum_squares */

static void test_mul_axpy(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    for (int k = 0; k < nctx; k++) {
        const char* isa = test_isa_name(isas[k]);
        const float a[3] = {1.5f, -2.0f, 0.0f}, b[3] = {2.0f, 3.0f, -1.0f};
        float out[3], y[3] = {1.0f, 1.0f, 1.0f};
        EXPECT_STATUS(cnn_mul_forward(ctx[k], 3, a, b, out), CNN_STATUS_SUCCESS);
        EXPECT(out[0] == 3.0f && out[1] == -6.0f && out[2] == 0.0f && signbit(out[2]), "%s mul",
               isa);
        EXPECT_STATUS(cnn_axpy(ctx[k], 3, 2.0f, a, y), CNN_STATUS_SUCCESS);
        EXPECT(y[0] == 4.0f && y[1] == -3.0f && y[2] == 1.0f, "%s axpy", isa);
        /* axpy rounds once: 1 + 3 * (1 + 2^-23)... check fma against the double result */
        const float xa = 1.0f + 0x1p-23f, ya = -1.0f;
        float yy = ya;
        cnn_axpy(ctx[k], 1, 1.0f + 0x1p-23f, &xa, &yy);
        EXPECT(yy == (float)((double)xa * (double)(1.0f + 0x1p-23f) + ya), "%s axpy not fused: %a",
               isa, yy);
    }
    static const int64_t sizes[] = {1, 7, 8, 9, 17, 33, 1000, 3 * 65536 + 5};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int64_t n = sizes[s];
        float* a = test_random_floats((size_t)n, 21);
        float* b = test_random_floats((size_t)n, 22);
        float *ref = malloc((size_t)n * sizeof(float)), *out = malloc((size_t)n * sizeof(float));
        float *yref = test_random_floats((size_t)n, 23), *y = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) ref[i] = a[i] * b[i];
        cnn_axpy(ctx[0], n, -0.75f, a, yref);
        for (int k = 0; k < nctx; k++) {
            const char* isa = test_isa_name(isas[k]);
            EXPECT_STATUS(cnn_mul_forward(ctx[k], n, a, b, out), CNN_STATUS_SUCCESS);
            EXPECT(same_bits(out, ref, n), "%s mul n=%lld", isa, (long long)n);
            memcpy(out, a, (size_t)n * sizeof(float)); /* in place: output = a */
            cnn_mul_forward(ctx[k], n, out, b, out);
            EXPECT(same_bits(out, ref, n), "%s mul in place n=%lld", isa, (long long)n);
            memcpy(out, b, (size_t)n * sizeof(float)); /* output = b */
            cnn_mul_forward(ctx[k], n, a, out, out);
            EXPECT(same_bits(out, ref, n), "%s mul in place (b) n=%lld", isa, (long long)n);
            float* y0 = test_random_floats((size_t)n, 23);
            memcpy(y, y0, (size_t)n * sizeof(float));
            EXPECT_STATUS(cnn_axpy(ctx[k], n, -0.75f, a, y), CNN_STATUS_SUCCESS);
            EXPECT(same_bits(y, yref, n), "%s axpy n=%lld", isa, (long long)n);
            int bad = 0;
            for (int64_t i = 0; i < n; i++)
                if (y[i] != fmaf(a[i], -0.75f, y0[i])) bad++;
            EXPECT(bad == 0, "%s axpy n=%lld: %d values are not fma(x, alpha, y)", isa,
                   (long long)n, bad);
            memcpy(y, a, (size_t)n * sizeof(float)); /* x = y: y = 3 y */
            cnn_axpy(ctx[k], n, 2.0f, y, y);
            bad = 0;
            for (int64_t i = 0; i < n; i++)
                if (y[i] != 3.0f * a[i]) bad++;
            EXPECT(bad == 0, "%s axpy x == y n=%lld: %d bad", isa, (long long)n, bad);
            free(y0);
        }
        free(a), free(b), free(ref), free(out), free(yref), free(y);
    }
}

static void test_sum_squares(cnn_context** ctx, const cnn_isa* isas, int nctx) {
    const float x3[3] = {1.0f, -2.0f, 3.0f};
    static const int64_t sizes[] = {
        1, 3, 8, 15, 16, 17, 1000, 16384, 16385, 65536 * 5 + 77, (1 << 21) + 3};
    static const int32_t threads[] = {1, 2, 7};
    for (int k = 0; k < nctx; k++) {
        double s = -1;
        EXPECT_STATUS(cnn_sum_squares(ctx[k], 3, x3, &s), CNN_STATUS_SUCCESS);
        EXPECT(s == 14.0, "%s sum_squares([1,-2,3]) = %.17g", test_isa_name(isas[k]), s);
        const float big = 1e30f; /* would overflow a float accumulator */
        cnn_sum_squares(ctx[k], 1, &big, &s);
        EXPECT(s == 1e60 * (1.0 + 0.0) || fabs(s / ((double)big * big) - 1) < 1e-15,
               "%s sum_squares(1e30) = %g", test_isa_name(isas[k]), s);
    }
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int64_t n = sizes[si];
        float* x = test_random_floats((size_t)n, 31);
        long double want = 0;
        for (int64_t i = 0; i < n; i++) want += (long double)x[i] * x[i];
        for (int k = 0; k < nctx; k++) {
            double first = 0;
            for (int t = 0; t < 3; t++) {
                cnn_context_set_num_threads(ctx[k], threads[t]);
                double s = 0;
                EXPECT_STATUS(cnn_sum_squares(ctx[k], n, x, &s), CNN_STATUS_SUCCESS);
                if (t == 0) first = s;
                EXPECT(memcmp(&s, &first, sizeof s) == 0,
                       "%s n=%lld threads=%d: %.17g differs from 1 thread %.17g",
                       test_isa_name(isas[k]), (long long)n, threads[t], s, first);
                EXPECT(fabs((double)(s - want)) <= 1e-13 * (double)want,
                       "%s n=%lld: %.17g, expected %.17Lg", test_isa_name(isas[k]), (long long)n, s,
                       want);
            }
            cnn_context_set_num_threads(ctx[k], 0);
        }
        free(x);
    }
}

/* ------------------------------------------------------------------------------ validation */

static void test_validation(cnn_context* ctx) {
    enum { N = 16 };
    float x[2 * N], m[N], y[N];
    for (int i = 0; i < 2 * N; i++) x[i] = 1.0f;
    const cnn_status INV = CNN_STATUS_INVALID_ARGUMENT;
    double s = 0;

    EXPECT_STATUS(cnn_dropout_forward(NULL, N, 0.5f, 1, x, m, y), INV);
    EXPECT_MESSAGE("cnn_dropout_forward", "context");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, 1, NULL, m, y), INV);
    EXPECT_MESSAGE("input");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, 1, x, NULL, y), INV);
    EXPECT_MESSAGE("mask");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, 1, x, m, NULL), INV);
    EXPECT_MESSAGE("output");
    EXPECT_STATUS(cnn_dropout_forward(ctx, 0, 0.5f, 1, x, m, y), INV);
    EXPECT_MESSAGE("cnn_dropout_forward", "count = 0");
    EXPECT_STATUS(cnn_dropout_forward(ctx, -1, 0.5f, 1, x, m, y), INV);
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 1.0f, 1, x, m, y), INV);
    EXPECT_MESSAGE("cnn_dropout_forward", "p = 1", "[0, 1)");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, -0.1f, 1, x, m, y), INV);
    EXPECT_MESSAGE("p = -0.1");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, NAN, 1, x, m, y), INV);
    EXPECT_MESSAGE("p = nan");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, 1, x, x + 4, y), INV); /* mask over input */
    EXPECT_MESSAGE("mask", "overlaps");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, 1, x, m, m), INV); /* mask is output */
    EXPECT_MESSAGE("mask", "overlaps");
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 0.5f, 1, x, m, x + 1), INV); /* partial in place */
    EXPECT_MESSAGE("partially overlaps", "input");
    for (int i = 0; i < N; i++) m[i] = 5.0f;
    EXPECT_STATUS(cnn_dropout_forward(ctx, N, 2.0f, 1, x, m, y), INV);
    EXPECT(m[0] == 5.0f && m[N - 1] == 5.0f, "failed dropout wrote its mask");

    EXPECT_STATUS(cnn_mul_forward(NULL, N, x, x, y), INV);
    EXPECT_MESSAGE("cnn_mul_forward", "context");
    EXPECT_STATUS(cnn_mul_forward(ctx, N, NULL, x, y), INV);
    EXPECT_STATUS(cnn_mul_forward(ctx, N, x, NULL, y), INV);
    EXPECT_STATUS(cnn_mul_forward(ctx, N, x, x, NULL), INV);
    EXPECT_STATUS(cnn_mul_forward(ctx, 0, x, x, y), INV);
    EXPECT_MESSAGE("cnn_mul_forward", "count = 0");
    EXPECT_STATUS(cnn_mul_forward(ctx, N, x, m, x + 2), INV);
    EXPECT_MESSAGE("cnn_mul_forward", "partially overlaps", "a");
    EXPECT_STATUS(cnn_mul_forward(ctx, N, m, x, x + 2), INV);
    EXPECT_MESSAGE("partially overlaps", "b");
    EXPECT_STATUS(cnn_mul_forward(ctx, N, x, x, x), CNN_STATUS_SUCCESS); /* all the same: ok */

    EXPECT_STATUS(cnn_axpy(NULL, N, 1.0f, x, y), INV);
    EXPECT_MESSAGE("cnn_axpy", "context");
    EXPECT_STATUS(cnn_axpy(ctx, N, 1.0f, NULL, y), INV);
    EXPECT_STATUS(cnn_axpy(ctx, N, 1.0f, x, NULL), INV);
    EXPECT_STATUS(cnn_axpy(ctx, -7, 1.0f, x, y), INV);
    EXPECT_MESSAGE("cnn_axpy", "count = -7");
    EXPECT_STATUS(cnn_axpy(ctx, N, NAN, x, y), INV);
    EXPECT_MESSAGE("cnn_axpy", "alpha = nan");
    EXPECT_STATUS(cnn_axpy(ctx, N, -INFINITY, x, y), INV);
    EXPECT_MESSAGE("alpha = -inf");
    EXPECT_STATUS(cnn_axpy(ctx, N, 1.0f, x, x + 3), INV);
    EXPECT_MESSAGE("cnn_axpy", "partially overlaps", "x");

    EXPECT_STATUS(cnn_sum_squares(NULL, N, x, &s), INV);
    EXPECT_MESSAGE("cnn_sum_squares", "context");
    EXPECT_STATUS(cnn_sum_squares(ctx, N, NULL, &s), INV);
    EXPECT_STATUS(cnn_sum_squares(ctx, N, x, NULL), INV);
    EXPECT_MESSAGE("out_sum");
    s = 3.0;
    EXPECT_STATUS(cnn_sum_squares(ctx, 0, x, &s), INV);
    EXPECT_MESSAGE("cnn_sum_squares", "count = 0");
    EXPECT(s == 3.0, "failed sum_squares wrote its output");
}

int main(void) {
    cnn_context* ctx[4];
    cnn_isa isas[4];
    const int nctx = test_contexts(ctx, isas);
    EXPECT(nctx >= 1, "no contexts");
    for (int c = 0; c < nctx; c++) test_dropout_hand(ctx[c], test_isa_name(isas[c]));
    if (nctx >= 1) test_dropout_statistics(ctx[nctx - 1]);
    test_dropout_determinism(ctx, isas, nctx);
    test_mul_axpy(ctx, isas, nctx);
    test_sum_squares(ctx, isas, nctx);
    for (int c = 0; c < nctx; c++) test_validation(ctx[c]);
    for (int c = 0; c < nctx; c++) cnn_context_destroy(ctx[c]);
    return test_finish("test_dropout_util");
}
