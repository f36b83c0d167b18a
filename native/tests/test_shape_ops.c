/* test_shape_ops.c — ReLU6 (forward, backward, fused), clip, copy_blocks, adaptive average pooling,
 * scale/shift and broadcast add/mul: hand-derived values on every ISA (tails and multi-threaded sizes included) and
 * every validation path (status and message). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_n;

#define BAD CNN_STATUS_INVALID_ARGUMENT
#define OK CNN_STATUS_SUCCESS

/* A call must fail with INVALID_ARGUMENT and a message containing `needle`. */
#define INVALID(call, needle)                                                                   \
    do {                                                                                        \
        EXPECT_STATUS(call, BAD);                                                               \
        EXPECT(strstr(cnn_get_last_error(), needle) != NULL, "message '%s' lacks '%s'",         \
               cnn_get_last_error(), needle);                                                   \
    } while (0)

static int same_float(float a, float b) {
    return (isnan(a) && isnan(b)) || a == b;
}

/* ------------------------------------------------------------------------------------ ReLU6 */

static void test_relu6(void) {
    enum { N = 1037 }; /* odd: vector tails */
    float* x = test_random_floats(N, 3);
    float y[N], g[N], gi[N], fused[N];
    for (int i = 0; i < N; i++) x[i] *= 10.0f;
    x[0] = NAN; x[1] = 0.0f; x[2] = 6.0f; x[3] = INFINITY; x[4] = -INFINITY; x[5] = 5.5f;
    for (int i = 0; i < N; i++) g[i] = 1.0f + (float)(i % 5);
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        EXPECT_STATUS(cnn_activation_forward(g_ctx[c], CNN_ACTIVATION_RELU6, N, x, y), OK);
        int ok = 1;
        for (int i = 0; i < N; i++) {
            float want = isnan(x[i]) ? NAN : x[i] < 0 ? 0.0f : x[i] > 6 ? 6.0f : x[i];
            ok &= same_float(y[i], want);
        }
        EXPECT(ok, "%s relu6 forward", isa);
        EXPECT_STATUS(cnn_activation_backward(g_ctx[c], CNN_ACTIVATION_RELU6, N, y, g, 0, gi), OK);
        ok = 1;
        for (int i = 0; i < N; i++) {
            float want = (y[i] <= 0 || y[i] >= 6) ? 0.0f : g[i]; /* NaN y: g */
            ok &= gi[i] == want;
        }
        EXPECT(ok, "%s relu6 backward", isa);
        EXPECT(gi[0] == g[0] && gi[1] == 0 && gi[2] == 0 && gi[5] == g[5], "%s relu6 specials", isa);
        /* fused into add: relu6(x + 0) == relu6(x) */
        float* zero = (float*)calloc(N, sizeof(float));
        EXPECT_STATUS(cnn_add_forward(g_ctx[c], N, x, zero, CNN_ACTIVATION_RELU6, fused), OK);
        ok = 1;
        for (int i = 0; i < N; i++) ok &= same_float(fused[i], y[i]);
        EXPECT(ok, "%s add + relu6", isa);
        free(zero);
    }
    /* fused into linear: one output = relu6(sum) for sums below 0, inside and above 6 */
    const float in[3] = {1.0f, 2.0f, 3.0f}, w[9] = {1, 1, 1, -1, -1, -1, 0.5f, 0.5f, 0.5f};
    const float b[3] = {0.0f, 0.0f, 0.0f};
    for (int c = 0; c < g_n; c++) {
        float out[3];
        EXPECT_STATUS(cnn_linear_forward(g_ctx[c], 1, 3, 3, in, w, b, CNN_ACTIVATION_RELU6, out), OK);
        EXPECT(out[0] == 6.0f && out[1] == 0.0f && out[2] == 3.0f, "%s linear+relu6 %g %g %g",
               test_isa_name(g_isa[c]), out[0], out[1], out[2]);
    }
    free(x);
}

/* ------------------------------------------------------------------------------------- clip */

static void test_clip(void) {
    enum { N = 70001 }; /* several threads' worth, odd tail */
    float* x = test_random_floats(N, 5);
    float* y = (float*)malloc(N * sizeof(float));
    float* g = (float*)malloc(N * sizeof(float));
    float* gi = (float*)malloc(N * sizeof(float));
    x[0] = NAN; x[1] = -0.5f; x[2] = 0.25f; x[3] = INFINITY;
    for (int i = 0; i < N; i++) g[i] = 0.5f + (float)(i % 3);
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        EXPECT_STATUS(cnn_clip_forward(g_ctx[c], N, x, -0.5f, 0.25f, y), OK);
        int ok = 1;
        for (int i = 0; i < N; i++) {
            float want = isnan(x[i]) ? NAN : x[i] < -0.5f ? -0.5f : x[i] > 0.25f ? 0.25f : x[i];
            ok &= same_float(y[i], want);
        }
        EXPECT(ok, "%s clip forward", isa);
        for (int acc = 0; acc <= 1; acc++) {
            for (int i = 0; i < N; i++) gi[i] = 1.0f;
            EXPECT_STATUS(cnn_clip_backward(g_ctx[c], N, x, g, -0.5f, 0.25f, gi, acc), OK);
            ok = 1;
            for (int i = 0; i < N; i++) {
                float v = (x[i] >= -0.5f && x[i] <= 0.25f) ? g[i] : 0.0f; /* NaN: 0 */
                ok &= gi[i] == (acc ? 1.0f + v : v);
            }
            EXPECT(ok, "%s clip backward accumulate=%d", isa, acc);
        }
        EXPECT(gi[0] == 1.0f && gi[1] == 1.0f + g[1] && gi[2] == 1.0f + g[2], "%s clip boundaries", isa);
        /* in place, infinite bounds */
        memcpy(y, x, N * sizeof(float));
        EXPECT_STATUS(cnn_clip_forward(g_ctx[c], N, y, -INFINITY, INFINITY, y), OK);
        EXPECT(memcmp(y, x, N * sizeof(float)) == 0, "%s clip(-inf, inf) is the identity", isa);
    }
    cnn_context* ctx = g_ctx[0];
    INVALID(cnn_clip_forward(ctx, N, x, 1.0f, 0.0f, y), "min_value = 1 and max_value = 0");
    INVALID(cnn_clip_forward(ctx, N, x, NAN, 0.0f, y), "min_value = nan");
    INVALID(cnn_clip_forward(ctx, N, x, 0.0f, NAN, y), "max_value = nan");
    INVALID(cnn_clip_forward(ctx, 0, x, 0.0f, 1.0f, y), "count = 0");
    INVALID(cnn_clip_forward(ctx, N, NULL, 0.0f, 1.0f, y), "'input' is NULL");
    INVALID(cnn_clip_forward(NULL, N, x, 0.0f, 1.0f, y), "'context' is NULL");
    INVALID(cnn_clip_forward(ctx, N, x, 0.0f, 1.0f, x + 1), "partially overlaps");
    INVALID(cnn_clip_backward(ctx, N, x, g, 2.0f, 1.0f, gi, 0), "min_value = 2");
    INVALID(cnn_clip_backward(ctx, N, x, g, 0.0f, 1.0f, gi, 2), "accumulate = 2");
    INVALID(cnn_clip_backward(ctx, N, x, g, 0.0f, 1.0f, g, 0), "grad_input");
    INVALID(cnn_clip_backward(ctx, N, x, NULL, 0.0f, 1.0f, gi, 0), "'grad_output' is NULL");
    free(x); free(y); free(g); free(gi);
}

/* ------------------------------------------------------------------------------ copy_blocks */

static void test_copy_blocks(void) {
    /* src [3, 4] rows into columns 2..5 of dst [3, 7] */
    float src[12], dst[21];
    for (int i = 0; i < 12; i++) src[i] = (float)(i + 1);
    for (int c = 0; c < g_n; c++) {
        for (int i = 0; i < 21; i++) dst[i] = -1.0f;
        EXPECT_STATUS(cnn_copy_blocks(g_ctx[c], 3, 4, src, 4, dst + 2, 7, 0), OK);
        int ok = 1;
        for (int o = 0; o < 3; o++)
            for (int j = 0; j < 7; j++)
                ok &= dst[o * 7 + j] == (j >= 2 && j < 6 ? src[o * 4 + j - 2] : -1.0f);
        EXPECT(ok, "%s copy_blocks copy", test_isa_name(g_isa[c]));
        EXPECT_STATUS(cnn_copy_blocks(g_ctx[c], 3, 4, src, 4, dst + 2, 7, 1), OK);
        ok = 1;
        for (int o = 0; o < 3; o++)
            for (int j = 2; j < 6; j++) ok &= dst[o * 7 + j] == 2.0f * src[o * 4 + j - 2];
        EXPECT(ok, "%s copy_blocks accumulate", test_isa_name(g_isa[c]));
    }
    /* large: many rows across threads */
    enum { OUTER = 5000, BLOCK = 37 };
    float* big = test_random_floats(OUTER * BLOCK, 9);
    float* out = (float*)calloc(OUTER * 40, sizeof(float));
    EXPECT_STATUS(cnn_copy_blocks(g_ctx[g_n - 1], OUTER, BLOCK, big, BLOCK, out + 1, 40, 0), OK);
    int ok = 1;
    for (int o = 0; o < OUTER; o++) ok &= memcmp(out + o * 40 + 1, big + o * BLOCK, BLOCK * 4) == 0;
    EXPECT(ok, "large copy_blocks");
    cnn_context* ctx = g_ctx[0];
    INVALID(cnn_copy_blocks(ctx, 0, 4, src, 4, dst, 7, 0), "outer = 0");
    INVALID(cnn_copy_blocks(ctx, 3, 0, src, 4, dst, 7, 0), "block = 0");
    INVALID(cnn_copy_blocks(ctx, 3, 4, src, 3, dst, 7, 0), "src_stride = 3");
    INVALID(cnn_copy_blocks(ctx, 3, 4, src, 4, dst, 2, 0), "dst_stride = 2");
    INVALID(cnn_copy_blocks(ctx, 3, 4, src, 4, dst, 7, 3), "accumulate = 3");
    INVALID(cnn_copy_blocks(ctx, 3, 4, NULL, 4, dst, 7, 0), "'src' is NULL");
    INVALID(cnn_copy_blocks(ctx, 3, 4, src, 4, NULL, 7, 0), "'dst' is NULL");
    INVALID(cnn_copy_blocks(ctx, 3, 4, big, 4, big + 8, 4, 0), "overlaps");
    INVALID(cnn_copy_blocks(ctx, INT64_MAX / 2, 4, src, INT64_MAX / 2, dst, 7, 0), "src extent");
    free(big); free(out);
}

/* ------------------------------------------------------------------- adaptive avg pooling */

static void test_adaptive_avg_pool(void) {
    /* 1x1x3x5 -> 2x3: rows {0,1},{1,2}; columns {0,1},{1,2,3},{3,4} */
    float x[15], y[6], gi[15];
    for (int i = 0; i < 15; i++) x[i] = (float)i;
    const float want[6] = {(0 + 1 + 5 + 6) / 4.0f, (1 + 2 + 3 + 6 + 7 + 8) / 6.0f, (3 + 4 + 8 + 9) / 4.0f,
                           (5 + 6 + 10 + 11) / 4.0f, (6 + 7 + 8 + 11 + 12 + 13) / 6.0f,
                           (8 + 9 + 13 + 14) / 4.0f};
    const float g[6] = {4, 6, 4, 4, 6, 4}; /* window areas: every window spreads 1 */
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        EXPECT_STATUS(cnn_adaptive_avg_pool2d_forward(g_ctx[c], 1, 1, 3, 5, 2, 3, x, y), OK);
        int ok = 1;
        for (int i = 0; i < 6; i++) ok &= fabsf(y[i] - want[i]) <= 1e-6f;
        EXPECT(ok, "%s adaptive forward", isa);
        EXPECT_STATUS(cnn_adaptive_avg_pool2d_backward(g_ctx[c], 1, 1, 3, 5, 2, 3, g, gi, 0), OK);
        /* each window spreads 1 per element, so gi counts the windows covering each input */
        const float cover[15] = {1, 2, 1, 2, 1, 2, 4, 2, 4, 2, 1, 2, 1, 2, 1};
        ok = 1;
        for (int i = 0; i < 15; i++) ok &= gi[i] == cover[i];
        EXPECT(ok, "%s adaptive backward", isa);
        EXPECT_STATUS(cnn_adaptive_avg_pool2d_backward(g_ctx[c], 1, 1, 3, 5, 2, 3, g, gi, 1), OK);
        EXPECT(gi[6] == 8.0f, "%s adaptive backward accumulate", isa);
        /* output larger than the input: 1x1 -> 2x2 repeats the value */
        float one = 3.5f, four[4];
        EXPECT_STATUS(cnn_adaptive_avg_pool2d_forward(g_ctx[c], 1, 1, 1, 1, 2, 2, &one, four), OK);
        EXPECT(four[0] == 3.5f && four[3] == 3.5f, "%s adaptive upsampling", isa);
    }
    cnn_context* ctx = g_ctx[0];
    INVALID(cnn_adaptive_avg_pool2d_forward(ctx, 0, 1, 3, 5, 2, 3, x, y), "batch = 0");
    INVALID(cnn_adaptive_avg_pool2d_forward(ctx, 1, 1, 3, 5, 0, 3, x, y), "out_height = 0");
    INVALID(cnn_adaptive_avg_pool2d_forward(ctx, 1, 1, 3, -5, 2, 3, x, y), "in_width = -5");
    INVALID(cnn_adaptive_avg_pool2d_forward(ctx, 1, 1, 3, 5, 2, 3, NULL, y), "'input' is NULL");
    INVALID(cnn_adaptive_avg_pool2d_forward(ctx, 1, 1, 3, 5, 2, 3, x, x + 2), "overlaps");
    INVALID(cnn_adaptive_avg_pool2d_backward(ctx, 1, 1, 3, 5, 2, 3, g, gi, -1), "accumulate = -1");
    INVALID(cnn_adaptive_avg_pool2d_backward(ctx, 1, 1, 3, 5, 2, 3, x, x + 3, 0), "grad_input");
    INVALID(cnn_adaptive_avg_pool2d_forward(ctx, 65536, 65536, 65536, 2, 1, 1, x, y), "input");
}

/* ------------------------------------------------------------------------------ scale/shift */

static void test_scale_shift(void) {
    enum { OUTER = 3, C = 5, INNER = 13 };
    const int n = OUTER * C * INNER;
    float* x = test_random_floats((size_t)n, 21);
    float* y = (float*)malloc((size_t)n * sizeof(float));
    const float s[C] = {1, -2, 0.5f, 0, 3}, b[C] = {0.25f, 1, -1, 2, 0};
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        for (int variant = 0; variant < 3; variant++) {
            const float* sc = variant == 2 ? NULL : s;
            const float* sh = variant == 1 ? NULL : b;
            EXPECT_STATUS(cnn_scale_shift_forward(g_ctx[c], OUTER, C, INNER, x, sc, sh, y), OK);
            int ok = 1;
            for (int i = 0; i < n; i++) {
                const int ch = (i / INNER) % C;
                const float p = x[i] * (sc ? sc[ch] : 1.0f);
                ok &= y[i] == p + (sh ? sh[ch] : 0.0f);
            }
            EXPECT(ok, "%s scale_shift variant %d", isa, variant);
        }
        memcpy(y, x, (size_t)n * sizeof(float));
        EXPECT_STATUS(cnn_scale_shift_forward(g_ctx[c], OUTER, C, INNER, y, s, b, y), OK);
        EXPECT(y[INNER] == x[INNER] * -2.0f + 1.0f, "%s scale_shift in place", isa);
    }
    cnn_context* ctx = g_ctx[0];
    INVALID(cnn_scale_shift_forward(ctx, 0, C, INNER, x, s, b, y), "outer = 0");
    INVALID(cnn_scale_shift_forward(ctx, OUTER, 0, INNER, x, s, b, y), "channels = 0");
    INVALID(cnn_scale_shift_forward(ctx, OUTER, C, 0, x, s, b, y), "inner = 0");
    INVALID(cnn_scale_shift_forward(ctx, OUTER, C, INNER, NULL, s, b, y), "'input' is NULL");
    INVALID(cnn_scale_shift_forward(ctx, OUTER, C, INNER, x, s, b, x + 1), "partially overlaps");
    INVALID(cnn_scale_shift_forward(ctx, OUTER, C, INNER, x, y + 3, b, y), "scale");
    INVALID(cnn_scale_shift_forward(ctx, OUTER, C, INNER, x, s, y, y), "shift");
    INVALID(cnn_scale_shift_forward(ctx, INT64_MAX / 4, 4, 4, x, s, b, y), "outer*channels*inner");
    free(x); free(y);
}

/* ------------------------------------------------------------------ broadcast add / mul */

/* cnn_broadcast_binary_forward: every shape pair of a sweep (ranks 1-4, each dimension equal, repeated in a,
 * repeated in b, or 1 in both) against a direct multi-index reference, bitwise, on every ISA (a multi-threaded
 * size included), and every validation path. */
/* out[i] from the multi-index of i: the definition of broadcasting, no collapsing. */
static void broadcast_reference(cnn_binary_op op, int rank, const int64_t* as, const float* a,
                      const int64_t* bs, const float* b, float* out) {
    int64_t os[CNN_BROADCAST_MAX_RANK], count = 1;
    for (int d = 0; d < rank; d++) {
        os[d] = as[d] > bs[d] ? as[d] : bs[d];
        count *= os[d];
    }
    for (int64_t i = 0; i < count; i++) {
        int64_t rest = i, ia = 0, ib = 0, ma = 1, mb = 1;
        for (int d = rank - 1; d >= 0; d--) {
            const int64_t idx = rest % os[d];
            rest /= os[d];
            ia += (as[d] == 1 ? 0 : idx) * ma;
            ib += (bs[d] == 1 ? 0 : idx) * mb;
            ma *= as[d];
            mb *= bs[d];
        }
        switch (op) {
            case CNN_BINARY_ADD: out[i] = a[ia] + b[ib]; break;
            case CNN_BINARY_MUL: out[i] = a[ia] * b[ib]; break;
            case CNN_BINARY_SUB: out[i] = a[ia] - b[ib]; break;
            case CNN_BINARY_DIV: out[i] = a[ia] / b[ib]; break;
            default: out[i] = powf(a[ia], b[ib]); break;
        }
    }
}

static int64_t count_of(int rank, const int64_t* s) {
    int64_t c = 1;
    for (int d = 0; d < rank; d++) c *= s[d];
    return c;
}

/* Every pattern per dimension (0 both full, 1 a repeated, 2 b repeated, 3 both 1) for ranks 1..4. */
static void test_broadcast_sweep(void) {
    static const int64_t sizes[4] = {3, 5, 2, 7};
    int cases = 0, failures = 0;
    for (int rank = 1; rank <= 4; rank++) {
        int patterns = 1;
        for (int d = 0; d < rank; d++) patterns *= 4;
        for (int p = 0; p < patterns; p++) {
            int64_t as[4], bs[4];
            for (int d = 0, q = p; d < rank; d++, q /= 4) {
                const int64_t s = sizes[(d + rank) % 4];
                as[d] = (q % 4 == 1 || q % 4 == 3) ? 1 : s;
                bs[d] = (q % 4 == 2 || q % 4 == 3) ? 1 : s;
            }
            int64_t os[4];
            for (int d = 0; d < rank; d++) os[d] = as[d] > bs[d] ? as[d] : bs[d];
            const int64_t na = count_of(rank, as), nb = count_of(rank, bs), no = count_of(rank, os);
            float* a = test_random_floats((size_t)na, (uint32_t)(p + 1));
            float* b = test_random_floats((size_t)nb, (uint32_t)(p + 101));
            float* want = (float*)malloc((size_t)no * sizeof(float));
            float* got = (float*)malloc((size_t)no * sizeof(float));
            for (int op = CNN_BINARY_ADD; op <= CNN_BINARY_POW; op++) {
                broadcast_reference((cnn_binary_op)op, rank, as, a, bs, b, want);
                for (int c = 0; c < g_n; c++) {
                    memset(got, 0xff, (size_t)no * sizeof(float));
                    EXPECT_STATUS(cnn_broadcast_binary_forward(g_ctx[c], (cnn_binary_op)op, rank, as,
                                                               a, bs, b, got), OK);
                    if (memcmp(got, want, (size_t)no * sizeof(float)) != 0) failures++;
                    cases++;
                }
            }
            free(a); free(b); free(want); free(got);
        }
    }
    EXPECT(failures == 0, "%d of %d broadcast cases differ from the reference", failures, cases);
}

/* [N, C, H, W] * [N, C, 1, 1] and [N, 1, H, W] + [1, C, 1, W] large enough for several threads. */
static void test_broadcast_threaded(void) {
    const int64_t x[4] = {2, 48, 33, 35}, g[4] = {2, 48, 1, 1};
    const int64_t p[4] = {2, 1, 33, 35}, q[4] = {1, 48, 1, 35};
    const int64_t n = count_of(4, x);
    float* a = test_random_floats((size_t)n, 7);
    float* b = test_random_floats((size_t)n, 8);
    float* want = (float*)malloc((size_t)n * sizeof(float));
    float* got = (float*)malloc((size_t)n * sizeof(float));
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        broadcast_reference(CNN_BINARY_MUL, 4, x, a, g, b, want);
        EXPECT_STATUS(cnn_broadcast_binary_forward(g_ctx[c], CNN_BINARY_MUL, 4, x, a, g, b, got), OK);
        EXPECT(memcmp(got, want, (size_t)n * sizeof(float)) == 0, "%s gating mul", isa);
        broadcast_reference(CNN_BINARY_ADD, 4, p, a, q, b, want);
        EXPECT_STATUS(cnn_broadcast_binary_forward(g_ctx[c], CNN_BINARY_ADD, 4, p, a, q, b, got), OK);
        EXPECT(memcmp(got, want, (size_t)n * sizeof(float)) == 0, "%s outer add", isa);
    }
    free(a); free(b); free(want); free(got);
}

static void test_broadcast_validation(void) {
    cnn_context* ctx = g_ctx[0];
    float a[12] = {0}, b[12] = {0}, y[24];
    const int64_t s34[2] = {3, 4}, s14[2] = {1, 4}, s24[2] = {2, 4}, s0[2] = {0, 4};
    const int64_t big[2] = {INT64_MAX / 2, 4};
    INVALID(cnn_broadcast_binary_forward(NULL, CNN_BINARY_ADD, 2, s34, a, s14, b, y), "'context' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, NULL, a, s14, b, y), "'a_shape' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, NULL, s14, b, y), "'a' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, NULL, b, y), "'b_shape' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s14, NULL, y), "'b' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s14, b, NULL), "'output' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, (cnn_binary_op)5, 2, s34, a, s14, b, y), "op = 5");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 0, s34, a, s14, b, y), "rank = 0");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, CNN_BROADCAST_MAX_RANK + 1, s34, a, s14, b, y), "rank = 9");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s0, a, s14, b, y), "a_shape[d] = 0");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s0, b, y), "b_shape[d] = 0");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s24, b, y), "a_shape[0] = 3 and b_shape[0] = 2");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, big, a, s14, b, y), "a");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s14, b, a + 2), "overlaps a");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_MUL, 2, s14, a, s34, b, b + 11), "overlaps b");
}

int main(void) {
    g_n = test_contexts(g_ctx, g_isa);
    test_relu6();
    test_clip();
    test_copy_blocks();
    test_adaptive_avg_pool();
    test_scale_shift();
    test_broadcast_sweep();
    test_broadcast_threaded();
    test_broadcast_validation();
    for (int c = 0; c < g_n; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_shape_ops");
}
