/* f32-winograd-4x4-avx2.c — the F(4x4, 3x3) transforms (f32-winograd-4x4.h) on 8 channels per
 * YMM: hardware gathers across channel planes, the scatter as a spill and scalar stores (AVX2
 * has none), masked loads / stores for channel tails. */
#include <immintrin.h>

#include "f32-gemm.h"

/* An index vector (gathers) and its stride (the scalar scatter). */
typedef struct {
    __m256i v;
    int64_t stride;
} wv_index;

static inline wv_index wv_make_index(int64_t stride) {
    const wv_index idx = {
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                           _mm256_set1_epi32((int)stride)),
        stride};
    return idx;
}

static inline __m256i wv_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m256 wv_gather(const float* p, wv_index idx, int n) {
    return n == 8 ? _mm256_i32gather_ps(p, idx.v, 4)
                  : _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx.v,
                                             _mm256_castsi256_ps(wv_mask(n)), 4);
}

static inline __m256 wv_load(const float* p, int n) {
    return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, wv_mask(n));
}

static inline void wv_store(float* p, __m256 v, int n) {
    if (n == 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, wv_mask(n), v);
}

static inline void wv_scatter(float* p, wv_index idx, __m256 v, int n) {
    float lane[8];
    _mm256_storeu_ps(lane, v);
    for (int i = 0; i < n; i++) p[i * idx.stride] = lane[i];
}

#define WV __m256
#define WV_LANES 8
#define WV_ZERO() _mm256_setzero_ps()
#define WV_SET1(x) _mm256_set1_ps(x)
#define WV_ADD(a, b) _mm256_add_ps(a, b)
#define WV_SUB(a, b) _mm256_sub_ps(a, b)
#define WV_MUL(a, b) _mm256_mul_ps(a, b)
#define WV_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define WV_FNMA(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define WV_LOAD(p, n) wv_load(p, n)
#define WV_STORE(p, v, n) wv_store(p, v, n)
#define WV_INDEX wv_index
#define WV_MAKE_INDEX(stride) wv_make_index(stride)
#define WV_GATHER(p, idx, n) wv_gather(p, idx, n)
#define WV_SCATTER(p, idx, v, n) wv_scatter(p, idx, v, n)
#define WV_ACTIVATE(v, act) cnn_f32_avx2_activate(v, act)
#define WV_NAME cnn_f32_winograd_4x4_avx2

#include "f32-winograd-4x4.h"
