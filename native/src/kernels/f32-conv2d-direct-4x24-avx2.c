/* f32-conv2d-direct-4x24-avx2.c — the AVX2 tile of the direct convolution (see
 * f32-conv2d-direct.h; body in f32-conv2d-direct-tile.h): 4 output pixels x 24 output channels =
 * 12 YMM accumulators, 3 weight vectors and the broadcast: all 16 registers. Per tap: 3 aligned
 * weight loads, 4 broadcasts, 12 FMAs (6 cycles on two FMA pipes). The store transposes each
 * 4 x 8 block into 8 rows of 4 pixels (8 shuffles), so the output stays plain NCHW. */
#include <immintrin.h>

#include "f32-conv2d-direct.h"
#include "f32-gemm.h" /* cnn_f32_avx2_activate */

#define DT_MR 4
#define DT_VEC 8
#define DT_NVMAX 3
#define DT_WREGS 3

/* lanes [0, n) of a vector of 8 as a load/store mask */
static inline __m256i lanes(int64_t n) {
    const int32_t k = n >= DT_VEC ? DT_VEC : n <= 0 ? 0 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

typedef __m256 dt_f32;
#define dt_zero() _mm256_setzero_ps()
#define dt_load(p) _mm256_load_ps(p)
#define dt_loadu(p) _mm256_loadu_ps(p)
#define dt_storeu(p, x) _mm256_storeu_ps((p), (x))
#define dt_set1(x) _mm256_set1_ps(x)
#define dt_add(a, b) _mm256_add_ps((a), (b))
#define dt_fma(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define dt_fma_mem(acc, x, w) ((acc) = _mm256_fmadd_ps((x), _mm256_load_ps(w), (acc))) /* unused */
#define dt_load_first(p, n) _mm256_maskload_ps((p), lanes(n))
#define dt_activate(x, act) cnn_f32_avx2_activate((x), (act))

/* 4 pixels x 8 channels -> 8 channel rows of mr pixels: unpack pairs, then quads within the
 * 128-bit lanes, which leaves column m in the low lane of u[m] and column 4+m in its high lane. */
static CNN_ALWAYS_INLINE void dt_store_columns(const __m256 r[DT_MR],
                                                                   size_t mr, int64_t valid,
                                                                   float* out, int64_t os) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                         _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
    const __m128i px = _mm_cmpgt_epi32(_mm_set1_epi32((int32_t)mr), _mm_setr_epi32(0, 1, 2, 3));
CNN_UNROLL(4)
    for (int m = 0; m < 4; m++) {
        const __m128 lo = _mm256_castps256_ps128(u[m]), hi = _mm256_extractf128_ps(u[m], 1);
        if (mr == DT_MR) {
            if (m < valid) _mm_storeu_ps(out + m * os, lo);
            if (m + 4 < valid) _mm_storeu_ps(out + (m + 4) * os, hi);
        } else {
            if (m < valid) _mm_maskstore_ps(out + m * os, px, lo);
            if (m + 4 < valid) _mm_maskstore_ps(out + (m + 4) * os, px, hi);
        }
    }
}

#include "f32-conv2d-direct-tile.h"

const cnn_f32_direct_ukernel cnn_f32_direct_4x24_avx2 = {DT_MR, DT_NVMAX * DT_VEC, DT_VEC,
                                                         direct_tile, 64};
