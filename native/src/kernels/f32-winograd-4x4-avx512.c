/* f32-winograd-4x4-avx512.c — the F(4x4, 3x3) transforms (f32-winograd-4x4.h) on 16 channels
 * per ZMM: hardware gathers / scatters across channel planes, mask-register channel tails. */
#include <immintrin.h>

#include "f32-gemm.h"

static inline __m512 wv_gather(const float* p, __m512i idx, int n) {
    return n == 16 ? _mm512_i32gather_ps(idx, p, 4)
                   : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), cnn_avx512_lanes(n), idx, p, 4);
}

static inline __m512 wv_load(const float* p, int n) {
    return n == 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(cnn_avx512_lanes(n), p);
}

static inline void wv_store(float* p, __m512 v, int n) {
    if (n == 16)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, cnn_avx512_lanes(n), v);
}

#define WV __m512
#define WV_LANES 16
#define WV_ZERO() _mm512_setzero_ps()
#define WV_SET1(x) _mm512_set1_ps(x)
#define WV_ADD(a, b) _mm512_add_ps(a, b)
#define WV_SUB(a, b) _mm512_sub_ps(a, b)
#define WV_MUL(a, b) _mm512_mul_ps(a, b)
#define WV_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define WV_FNMA(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define WV_LOAD(p, n) wv_load(p, n)
#define WV_STORE(p, v, n) wv_store(p, v, n)
#define WV_INDEX __m512i
#define WV_MAKE_INDEX(stride)                                                                  \
    _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), \
                       _mm512_set1_epi32((int)(stride)))
#define WV_GATHER(p, idx, n) wv_gather(p, idx, n)
#define WV_SCATTER(p, idx, v, n) _mm512_mask_i32scatter_ps(p, cnn_avx512_lanes(n), idx, v, 4)
#define WV_ACTIVATE(v, act) cnn_f32_avx512_activate(v, act)
#define WV_NAME cnn_f32_winograd_4x4_avx512

#include "f32-winograd-4x4.h"
