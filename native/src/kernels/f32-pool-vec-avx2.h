/*
 * f32-pool-vec-avx2.h — the vector primitives the pooling / batch norm templates
 * (f32-pool2d-rows.h, f32-batchnorm-inference.h) are written in, for AVX2 (8 lanes).
 * f32-pool-vec-avx512.h defines the same names for 16 lanes; a kernel file includes one of the
 * two and then the templates, so both ISAs run the same loop code.
 */
#ifndef CNN_KERNELS_F32_POOL_VEC_H
#define CNN_KERNELS_F32_POOL_VEC_H

#include "avx2-math.h"

#define PV_LANES 8
typedef __m256 pv_f32;

static inline pv_f32 pv_load(const float* p) { return _mm256_loadu_ps(p); }
static inline void pv_store(float* p, pv_f32 v) { _mm256_storeu_ps(p, v); }
static inline pv_f32 pv_set1(float x) { return _mm256_set1_ps(x); }
static inline pv_f32 pv_zero(void) { return _mm256_setzero_ps(); }
static inline pv_f32 pv_add(pv_f32 a, pv_f32 b) { return _mm256_add_ps(a, b); }
static inline pv_f32 pv_mul(pv_f32 a, pv_f32 b) { return _mm256_mul_ps(a, b); }
static inline pv_f32 pv_div(pv_f32 a, pv_f32 b) { return _mm256_div_ps(a, b); }

/* The reference max pool step "if (v > m || isnan(v)) m = v", lane by lane: ties keep the
 * earlier m (first max wins, so +0/-0 come out as torch's), a NaN v always replaces m. */
static inline pv_f32 pv_max_step(pv_f32 m, pv_f32 v) {
    return _mm256_blendv_ps(_mm256_max_ps(v, m), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* max_ps(v, m) returns m on ties (+0/-0 too) and when m is NaN, v only when v > m: the
 * reference step exactly, provided v is not NaN (callers check with pv_nan_bits). */
static inline pv_f32 pv_max_ordered(pv_f32 m, pv_f32 v) { return _mm256_max_ps(v, m); }
/* The lanes where a or b is NaN, as bits. */
static inline unsigned pv_nan_bits(pv_f32 a, pv_f32 b) {
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}

/* p[0], p[2], ..., p[14] and p[1], p[3], ..., p[15] (stride-2 taps from one pair of loads). */
static inline pv_f32 pv_even(pv_f32 a, pv_f32 b) {
    const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}
static inline pv_f32 pv_odd(pv_f32 a, pv_f32 b) {
    const __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* v[1], ..., v[7], x[0]: see the AVX-512 header. t = v[4..7], x[0..3], then a 4-byte
 * alignr per 128-bit half (v[1..3] t[0] | v[5..7] t[4]): two instructions, and x need not be a
 * broadcast (the interior pairs shift in the next block's even vector). */
static inline pv_f32 pv_shift_in(pv_f32 v, pv_f32 x) {
    const __m256i vi = _mm256_castps_si256(v);
    const __m256i t = _mm256_permute2x128_si256(vi, _mm256_castps_si256(x), 0x21);
    return _mm256_castsi256_ps(_mm256_alignr_epi8(t, vi, 4));
}

/* Lanes [0, n) of v to p, n in [0, PV_LANES]; the rest of p is not touched. */
static inline void pv_store_first(float* p, pv_f32 v, int64_t n) {
    _mm256_maskstore_ps(p, cnn_avx2_tail_mask(n), v);
}
static inline pv_f32 pv_load_first(const float* p, int64_t n) {
    return _mm256_maskload_ps(p, cnn_avx2_tail_mask(n));
}

/* The lanes l with lo <= l < hi, and a load of those lanes of p with the others `fill`
 * (masked lanes are not read, so p may point outside the row there). */
typedef __m256i pv_mask;
static inline pv_mask pv_range_mask(int64_t lo, int64_t hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int32_t l0 = lo < 0 ? 0 : lo > 8 ? 8 : (int32_t)lo;
    const int32_t h0 = hi < 0 ? 0 : hi > 8 ? 8 : (int32_t)hi;
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(l0), lane),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(h0), lane));
}
static inline pv_f32 pv_load_mask(const float* p, pv_mask m, float fill) {
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m),
                            _mm256_castsi256_ps(m));
}
static inline pv_f32 pv_load_range(const float* p, int64_t lo, int64_t hi, float fill) {
    return pv_load_mask(p, pv_range_mask(lo, hi), fill);
}

#endif
