/*
 * f32-pool-vec-avx512.h — the primitives of f32-pool-vec-avx2.h for AVX-512 (16 lanes): tails
 * through mask registers, stride-2 deinterleave with one two-source permute.
 */
#ifndef CNN_KERNELS_F32_POOL_VEC_H
#define CNN_KERNELS_F32_POOL_VEC_H

#include <immintrin.h>
#include <stdint.h>

#define PV_LANES 16
typedef __m512 pv_f32;

static inline pv_f32 pv_load(const float* p) { return _mm512_loadu_ps(p); }
static inline void pv_store(float* p, pv_f32 v) { _mm512_storeu_ps(p, v); }
static inline pv_f32 pv_set1(float x) { return _mm512_set1_ps(x); }
static inline pv_f32 pv_zero(void) { return _mm512_setzero_ps(); }
static inline pv_f32 pv_add(pv_f32 a, pv_f32 b) { return _mm512_add_ps(a, b); }
static inline pv_f32 pv_mul(pv_f32 a, pv_f32 b) { return _mm512_mul_ps(a, b); }
static inline pv_f32 pv_div(pv_f32 a, pv_f32 b) { return _mm512_div_ps(a, b); }

/* "if (v > m || isnan(v)) m = v" (see the AVX2 header): max keeps m on ties, NaN v via mask. */
static inline pv_f32 pv_max_step(pv_f32 m, pv_f32 v) {
    return _mm512_mask_mov_ps(_mm512_max_ps(v, m), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}

/* max_ps(v, m) returns m on ties (+0/-0 too) and when m is NaN, v only when v > m: the
 * reference step exactly, provided v is not NaN (callers check with pv_nan_bits). */
static inline pv_f32 pv_max_ordered(pv_f32 m, pv_f32 v) { return _mm512_max_ps(v, m); }
/* The lanes where a or b is NaN, as bits. */
static inline unsigned pv_nan_bits(pv_f32 a, pv_f32 b) {
    return (unsigned)_mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q);
}

static inline pv_f32 pv_even(pv_f32 a, pv_f32 b) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, even, b);
}
static inline pv_f32 pv_odd(pv_f32 a, pv_f32 b) {
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, odd, b);
}

/* v[1], ..., v[15], x[0]: the stride-2 tap two columns on from pv_even's (x holds the next
 * even column), one lane rotate instead of two more loads and a permute. */
static inline pv_f32 pv_shift_in(pv_f32 v, pv_f32 x) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(x), _mm512_castps_si512(v), 1));
}

static inline __mmask16 pv_first_mask(int64_t n) {
    return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1u);
}
static inline void pv_store_first(float* p, pv_f32 v, int64_t n) {
    _mm512_mask_storeu_ps(p, pv_first_mask(n), v);
}
static inline pv_f32 pv_load_first(const float* p, int64_t n) {
    return _mm512_maskz_loadu_ps(pv_first_mask(n), p);
}

/* The lanes l with lo <= l < hi, and a load of those lanes of p with the others `fill`
 * (masked lanes are not read, so p may point outside the row there). */
typedef __mmask16 pv_mask;
static inline pv_mask pv_range_mask(int64_t lo, int64_t hi) {
    const uint32_t l0 = lo < 0 ? 0 : lo > 16 ? 16 : (uint32_t)lo;
    const uint32_t h0 = hi < 0 ? 0 : hi > 16 ? 16 : (uint32_t)hi;
    return (__mmask16)(((1u << h0) - 1u) & ~((1u << l0) - 1u));
}
static inline pv_f32 pv_load_mask(const float* p, pv_mask m, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), m, p);
}
static inline pv_f32 pv_load_range(const float* p, int64_t lo, int64_t hi, float fill) {
    return pv_load_mask(p, pv_range_mask(lo, hi), fill);
}

#endif
