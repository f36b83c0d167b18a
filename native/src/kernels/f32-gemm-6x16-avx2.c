/* f32-gemm-6x16-avx2.c — the register-blocked FMA micro-kernel behind conv2d and linear.
 * 6 rows x 16 columns = 12 YMM accumulators; per k step: 2 loads of B, 6 broadcasts of A,
 * 12 FMAs. Epilogue in registers: row or column bias, then ReLU / sigmoid / tanh vectorized.
 * Partial tiles: rows beyond mr re-read the last valid row of A and are not stored; columns
 * beyond nr are masked on load and store. See f32-gemm.h for the contract. */
#include <immintrin.h>

#include "f32-gemm.h"

/* The k loop, instantiated for full (plain loads) and partial (masked loads) column counts.
 * Row kk of B is at b + kk*ldb, or at b + b_offsets[kk] (indirect, see f32-gemm.h). */
#define GEMM_6X16_K_LOOP(LOAD_LO, LOAD_HI)                                        \
    for (size_t kk = 0; kk < k; kk++) {                                           \
        const float* brow = b_offsets != NULL ? b + b_offsets[kk] : b + kk * ldb; \
        const __m256 b_lo = LOAD_LO(brow);                                        \
        const __m256 b_hi = LOAD_HI(brow);                                        \
        __m256 va = _mm256_broadcast_ss(a0 + kk);                                 \
        c0l = _mm256_fmadd_ps(va, b_lo, c0l);                                     \
        c0h = _mm256_fmadd_ps(va, b_hi, c0h);                                     \
        va = _mm256_broadcast_ss(a1 + kk);                                        \
        c1l = _mm256_fmadd_ps(va, b_lo, c1l);                                     \
        c1h = _mm256_fmadd_ps(va, b_hi, c1h);                                     \
        va = _mm256_broadcast_ss(a2 + kk);                                        \
        c2l = _mm256_fmadd_ps(va, b_lo, c2l);                                     \
        c2h = _mm256_fmadd_ps(va, b_hi, c2h);                                     \
        va = _mm256_broadcast_ss(a3 + kk);                                        \
        c3l = _mm256_fmadd_ps(va, b_lo, c3l);                                     \
        c3h = _mm256_fmadd_ps(va, b_hi, c3h);                                     \
        va = _mm256_broadcast_ss(a4 + kk);                                        \
        c4l = _mm256_fmadd_ps(va, b_lo, c4l);                                     \
        c4h = _mm256_fmadd_ps(va, b_hi, c4h);                                     \
        va = _mm256_broadcast_ss(a5 + kk);                                        \
        c5l = _mm256_fmadd_ps(va, b_lo, c5l);                                     \
        c5h = _mm256_fmadd_ps(va, b_hi, c5h);                                     \
    }

#define LOAD_FULL_LO(ptr) _mm256_loadu_ps(ptr)
#define LOAD_FULL_HI(ptr) _mm256_loadu_ps((ptr) + 8)
#define LOAD_MASK_LO(ptr) _mm256_maskload_ps(ptr, mask_lo)
#define LOAD_MASK_HI(ptr) _mm256_maskload_ps((ptr) + 8, mask_hi)

/* Epilogue of one row: [C +] product, bias, activation, (masked) store. */
static CNN_ALWAYS_INLINE void store_row(__m256 lo, __m256 hi, float* c,
                                                            size_t nr, __m256i mask_lo,
                                                            __m256i mask_hi, __m256 bias_lo,
                                                            __m256 bias_hi, float row_bias,
                                                            cnn_activation act, int accumulate) {
    if (accumulate) {
        if (nr == CNN_F32_GEMM_NR) {
            lo = _mm256_add_ps(_mm256_loadu_ps(c), lo);
            hi = _mm256_add_ps(_mm256_loadu_ps(c + 8), hi);
        } else {
            lo = _mm256_add_ps(_mm256_maskload_ps(c, mask_lo), lo);
            hi = _mm256_add_ps(_mm256_maskload_ps(c + 8, mask_hi), hi);
        }
    }
    const __m256 rb = _mm256_set1_ps(row_bias);
    lo = cnn_f32_avx2_activate(_mm256_add_ps(_mm256_add_ps(lo, rb), bias_lo), act);
    hi = cnn_f32_avx2_activate(_mm256_add_ps(_mm256_add_ps(hi, rb), bias_hi), act);
    if (nr == CNN_F32_GEMM_NR) {
        _mm256_storeu_ps(c, lo);
        _mm256_storeu_ps(c + 8, hi);
    } else {
        _mm256_maskstore_ps(c, mask_lo, lo);
        _mm256_maskstore_ps(c + 8, mask_hi, hi);
    }
}

/* Both entry points share this body; b_offsets is a constant NULL / non-NULL in each, so the
 * compiler specializes the k loop for each. */
static CNN_ALWAYS_INLINE void gemm_6x16(
    size_t mr, size_t nr, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
    const int64_t* b_offsets, float* c, size_t ldc, const cnn_f32_gemm_epilogue* epilogue) {
    const float* a0 = a;
    const float* a1 = mr > 1 ? a0 + lda : a0;
    const float* a2 = mr > 2 ? a1 + lda : a1;
    const float* a3 = mr > 3 ? a2 + lda : a2;
    const float* a4 = mr > 4 ? a3 + lda : a3;
    const float* a5 = mr > 5 ? a4 + lda : a4;
    const __m256i mask_lo = cnn_avx2_tail_mask((int64_t)nr);     /* lanes [0, nr) */
    const __m256i mask_hi = cnn_avx2_tail_mask((int64_t)nr - 8); /* lanes [8, nr) */

    __m256 c0l = _mm256_setzero_ps(), c0h = _mm256_setzero_ps();
    __m256 c1l = _mm256_setzero_ps(), c1h = _mm256_setzero_ps();
    __m256 c2l = _mm256_setzero_ps(), c2h = _mm256_setzero_ps();
    __m256 c3l = _mm256_setzero_ps(), c3h = _mm256_setzero_ps();
    __m256 c4l = _mm256_setzero_ps(), c4h = _mm256_setzero_ps();
    __m256 c5l = _mm256_setzero_ps(), c5h = _mm256_setzero_ps();

    if (nr == CNN_F32_GEMM_NR) {
        GEMM_6X16_K_LOOP(LOAD_FULL_LO, LOAD_FULL_HI)
    } else {
        GEMM_6X16_K_LOOP(LOAD_MASK_LO, LOAD_MASK_HI)
    }

    const cnn_activation act = epilogue->activation;
    const int acc = epilogue->accumulate != 0;
    __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
    if (epilogue->bias_col != NULL) {
        bias_lo = _mm256_maskload_ps(epilogue->bias_col, mask_lo);
        bias_hi = _mm256_maskload_ps(epilogue->bias_col + 8, mask_hi);
    }
    const float* rb = epilogue->bias_row;
#define ROW_BIAS(i) (rb != NULL ? rb[i] : 0.0f)
    store_row(c0l, c0h, c, nr, mask_lo, mask_hi, bias_lo, bias_hi, ROW_BIAS(0), act, acc);
    if (mr > 1)
        store_row(c1l, c1h, c + ldc, nr, mask_lo, mask_hi, bias_lo, bias_hi, ROW_BIAS(1), act,
                  acc);
    if (mr > 2)
        store_row(c2l, c2h, c + 2 * ldc, nr, mask_lo, mask_hi, bias_lo, bias_hi, ROW_BIAS(2), act,
                  acc);
    if (mr > 3)
        store_row(c3l, c3h, c + 3 * ldc, nr, mask_lo, mask_hi, bias_lo, bias_hi, ROW_BIAS(3), act,
                  acc);
    if (mr > 4)
        store_row(c4l, c4h, c + 4 * ldc, nr, mask_lo, mask_hi, bias_lo, bias_hi, ROW_BIAS(4), act,
                  acc);
    if (mr > 5)
        store_row(c5l, c5h, c + 5 * ldc, nr, mask_lo, mask_hi, bias_lo, bias_hi, ROW_BIAS(5), act,
                  acc);
#undef ROW_BIAS
}

void cnn_f32_gemm_6x16_avx2(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                            const float* b, size_t ldb, float* c, size_t ldc,
                            const cnn_f32_gemm_epilogue* epilogue) {
    gemm_6x16(mr, nr, k, a, lda, b, ldb, NULL, c, ldc, epilogue);
}

void cnn_f32_igemm_6x16_avx2(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                             const float* b, const int64_t* b_offsets, float* c, size_t ldc,
                             const cnn_f32_gemm_epilogue* epilogue) {
    gemm_6x16(mr, nr, k, a, lda, b, 0, b_offsets, c, ldc, epilogue);
}

/* dst[i] = src[i*stride] for the im2col and stride-phase copies of strided convs, 8 at a time:
 * stride 2 as two loads and a shuffle (stems, downsampling convs), other strides as a gather;
 * the tail scalar, so nothing past src[(n-1)*stride] is read. */
static void copy_strided_avx2(float* dst, const float* src, int64_t n, int64_t stride) {
    int64_t i = 0;
    if (stride == 2) {
        for (; 2 * i + 15 <= 2 * (n - 1); i += 8) { /* the loads end at src[2i + 15] */
            const __m256 lo = _mm256_loadu_ps(src + 2 * i), hi = _mm256_loadu_ps(src + 2 * i + 8);
            const __m256 even = _mm256_shuffle_ps(lo, hi, 0x88); /* l0 l2 h0 h2 | l4 l6 h4 h6 */
            _mm256_storeu_ps(dst + i, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                          _mm256_castps_pd(even), 0xD8)));
        }
    } else {
        const __m256i index =
            _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                               _mm256_set1_epi32((int)stride));
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_i32gather_ps(src + i * stride, index, 4));
    }
    for (; i < n; i++) dst[i] = src[i * stride];
}

const cnn_f32_gemm_ukernel cnn_f32_ukernel_6x16_avx2 = {CNN_F32_GEMM_MR, CNN_F32_GEMM_NR,
                                                       cnn_f32_gemm_6x16_avx2,
                                                       cnn_f32_igemm_6x16_avx2, copy_strided_avx2};
