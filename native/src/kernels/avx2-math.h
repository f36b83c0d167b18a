/*
 * avx2-math.h — vector math shared by the AVX2 kernels (include only from *-avx2.c files).
 *
 * exp: Cephes-style range reduction x = n*ln2 + r (|r| <= ln2/2, ln2 split in two so n*C1 is
 * exact) and a degree-6 polynomial; 2^n is applied as two factors 2^(n/2) * 2^(n - n/2) so that
 * results overflow to +inf (x > ~88.72), become denormal or 0 (x < ~-87.3 / -103.97) and NaN
 * propagates, all as expf does. Max error about 2 ulp over the whole float range.
 * sigmoid = 1 / (1 + exp(-x)); hardswish / hardsigmoid / silu / gelu as in
 * f32-activation-scalar.c (erf: Abramowitz & Stegun 7.1.26, absolute error 1.5e-7); tanh uses Cephes' odd polynomial for |x| < 0.625 (keeps the
 * absolute error near 0 tiny) and 1 - 2 / (exp(2|x|) + 1) above, with the sign of x.
 * Elementwise loops process tails with masked loads/stores, so every element goes through
 * the same vector code whatever the chunking (results do not depend on the thread count).
 */
#ifndef CNN_KERNELS_AVX2_MATH_H
#define CNN_KERNELS_AVX2_MATH_H

#include <immintrin.h>
#include <stdint.h>

#include "cnn_internal.h"

/* Lanes [0, n) set, n in [0, 8]. */
static inline __m256i cnn_avx2_tail_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Horizontal reductions of the 8 lanes. */
static inline float cnn_avx2_hsum_ps(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

/* (v0 + v2) + (v1 + v3), in double. */
static inline double cnn_avx2_hsum_pd(__m256d v) {
    const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

static inline float cnn_avx2_hmax_ps(__m256 v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
}

static inline __m256 cnn_avx2_exp_ps(__m256 x) {
    /* min/max return their second operand when either is NaN: keep x second so NaN survives. */
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n in [-150, 129]: both halves n1 = n >> 1 and n2 = n - n1 are normal exponents. */
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

static inline __m256 cnn_avx2_relu_ps(__m256 x) {
    /* max(0, x) returns x when x is NaN (like torch.relu) and keeps -0 like x < 0 ? 0 : x. */
    return _mm256_max_ps(_mm256_setzero_ps(), x);
}

static inline __m256 cnn_avx2_relu6_ps(__m256 x) {
    /* min/max return their second operand when either is NaN: x (then the clamped x) goes
     * second so NaN survives, as in torch's relu6. */
    return _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(_mm256_setzero_ps(), x));
}

static inline __m256 cnn_avx2_sigmoid_ps(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = cnn_avx2_exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

static inline __m256 cnn_avx2_tanh_ps(__m256 x) {
    /* Both branches work on |x| and the sign of x is put back at the end (so tanh(-0) = -0). */
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    const __m256 ax = _mm256_andnot_ps(sign_bit, x);
    /* |x| < 0.625: |x| + |x|^3 * P(x^2) (Cephes tanhf), tiny absolute error near 0. */
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
    /* otherwise: 1 - 2 / (exp(2|x|) + 1); exp overflow gives exactly 1, NaN stays NaN. */
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = cnn_avx2_exp_ps(_mm256_add_ps(ax, ax));
    const __m256 large =
        _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    const __m256 use_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_or_ps(_mm256_blendv_ps(large, small, use_small), _mm256_and_ps(sign_bit, x));
}

/* clamp(x + 3, 0, 6) / 6 (NaN stays NaN as in relu6). */
static inline __m256 cnn_avx2_hardsigmoid_ps(__m256 x) {
    return _mm256_div_ps(cnn_avx2_relu6_ps(_mm256_add_ps(x, _mm256_set1_ps(3.0f))),
                         _mm256_set1_ps(6.0f));
}

/* x * clamp(x + 3, 0, 6) / 6, multiplied before dividing as torch does. */
static inline __m256 cnn_avx2_hardswish_ps(__m256 x) {
    return _mm256_div_ps(_mm256_mul_ps(x, cnn_avx2_relu6_ps(_mm256_add_ps(x, _mm256_set1_ps(3.0f)))),
                         _mm256_set1_ps(6.0f));
}

/* x / (1 + exp(-x)); exp overflow for x < -88.7 gives -0 / +inf -> the correct -0. */
static inline __m256 cnn_avx2_silu_ps(__m256 x) {
    const __m256 e = cnn_avx2_exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/* erf by Abramowitz & Stegun 7.1.26 on |x| (the approximation torch's own vectorized erf uses):
 * 1 - t * P(t) * exp(-x^2), t = 1 / (1 + 0.3275911 |x|); absolute error <= 1.5e-7, sign of x put
 * back at the end (erf(-0) = -0); NaN propagates through exp. */
static inline __m256 cnn_avx2_erf_ps(__m256 x) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    const __m256 ax = _mm256_andnot_ps(sign_bit, x);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    const __m256 e = cnn_avx2_exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
    const __m256 r = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, one);
    return _mm256_or_ps(r, _mm256_and_ps(sign_bit, x));
}

/* 0.5 * x * (1 + erf(x / sqrt(2))) (torch's exact GELU). */
static inline __m256 cnn_avx2_gelu_ps(__m256 x) {
    const __m256 cdf2 = _mm256_add_ps(
        _mm256_set1_ps(1.0f), cnn_avx2_erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f))));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), cdf2);
}

static inline __m256 cnn_avx2_identity_ps(__m256 x) {
    return x;
}

/* out[i] = OP(in[i]) for i < n, tail masked (in == out allowed). */
#define CNN_AVX2_MAP_SPAN(OP, in, out, n)                                                          \
    do {                                                                                           \
        int64_t i_ = 0;                                                                            \
        for (; i_ + 8 <= (n); i_ += 8)                                                             \
            _mm256_storeu_ps((out) + i_, OP(_mm256_loadu_ps((in) + i_)));                          \
        if (i_ < (n)) {                                                                            \
            const __m256i m_ = cnn_avx2_tail_mask((n)-i_);                                         \
            _mm256_maskstore_ps((out) + i_, m_, OP(_mm256_maskload_ps((in) + i_, m_)));            \
        }                                                                                          \
    } while (0)

/* out[i] = activation(in[i]) for i < n; the switch is outside the loops. */
static inline void cnn_avx2_activation_span(cnn_activation activation, const float* in, float* out,
                                            int64_t n) {
    switch (activation) {
        case CNN_ACTIVATION_RELU: CNN_AVX2_MAP_SPAN(cnn_avx2_relu_ps, in, out, n); break;
        case CNN_ACTIVATION_SIGMOID: CNN_AVX2_MAP_SPAN(cnn_avx2_sigmoid_ps, in, out, n); break;
        case CNN_ACTIVATION_TANH: CNN_AVX2_MAP_SPAN(cnn_avx2_tanh_ps, in, out, n); break;
        case CNN_ACTIVATION_RELU6: CNN_AVX2_MAP_SPAN(cnn_avx2_relu6_ps, in, out, n); break;
        case CNN_ACTIVATION_HARDSWISH: CNN_AVX2_MAP_SPAN(cnn_avx2_hardswish_ps, in, out, n); break;
        case CNN_ACTIVATION_HARDSIGMOID:
            CNN_AVX2_MAP_SPAN(cnn_avx2_hardsigmoid_ps, in, out, n);
            break;
        case CNN_ACTIVATION_SILU: CNN_AVX2_MAP_SPAN(cnn_avx2_silu_ps, in, out, n); break;
        case CNN_ACTIVATION_GELU: CNN_AVX2_MAP_SPAN(cnn_avx2_gelu_ps, in, out, n); break;
        default:
            if (in != out) CNN_AVX2_MAP_SPAN(cnn_avx2_identity_ps, in, out, n);
            break;
    }
}

/* 8 floats at ptr[0], ptr[stride], ..., ptr[7*stride]: stride 1 one load, stride 2 two loads +
 * a deinterleave (reads ptr[0..15]), larger strides a gather (gather_index = 0, s, ..., 7s). */
static inline __m256 cnn_avx2_load_strided(const float* ptr, int32_t stride, __m256i gather_index) {
    if (stride == 1) return _mm256_loadu_ps(ptr);
    if (stride == 2) {
        const __m256 a = _mm256_loadu_ps(ptr), b = _mm256_loadu_ps(ptr + 8);
        const __m256 even =
            _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
        return _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    return _mm256_i32gather_ps(ptr, gather_index, 4);
}

/* Block length for "compute into out, then activate in place while it is in L1". */
#define CNN_AVX2_EPILOGUE_BLOCK 1024

#endif
