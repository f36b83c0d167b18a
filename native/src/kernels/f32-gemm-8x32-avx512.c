/* f32-gemm-8x32-avx512.c — the AVX-512 register tile behind conv2d: 8 rows x 32 columns =
 * 16 ZMM accumulators. Per k step: 2 loads of B (32 contiguous floats), 8 broadcasts of A that
 * the compiler folds into the FMAs as embedded {1to16} memory operands, 16 FMAs — 2 per cycle
 * on two 512-bit FMA pipes with loads to spare, and 16 independent chains cover the FMA latency.
 * Column tails use mask registers (masked loads read nothing past nr; masked stores write
 * nothing past nr); a tile of at most 16 columns runs the one-vector instance of the same body
 * instead of multiplying zeros. Rows beyond mr re-read the last valid row of A and are not
 * stored. The body is written once over (MR, NV) with constant loop bounds, which the compiler
 * unrolls into registers. See f32-gemm.h for the contract (the same as the 6x16 AVX2 tile). */
#include <immintrin.h>

#include "f32-gemm.h"

#define MR CNN_F32_GEMM_AVX512_MR
#define VEC 16 /* floats per ZMM */

/* The tile body for NV vectors of columns (NV = 1 or 2); `full` = all NV*16 columns valid
 * (plain loads and stores), else masked by nr. b_offsets NULL: row kk of B at b + kk*ldb. */
static CNN_ALWAYS_INLINE void gemm_tile(
    const int NV, const int full, size_t mr, size_t nr, size_t k, const float* a, size_t lda,
    const float* b, size_t ldb, const int64_t* b_offsets, float* c, size_t ldc,
    const cnn_f32_gemm_epilogue* epilogue) {
    const float* ap[MR];
    for (int i = 0; i < MR; i++) ap[i] = a + (size_t)(i < (int)mr ? i : (int)mr - 1) * lda;
    __mmask16 mask[2];
    for (int v = 0; v < NV; v++) mask[v] = cnn_avx512_lanes((int64_t)nr - v * VEC);

    __m512 acc[MR][2];
CNN_UNROLL(8)
    for (int i = 0; i < MR; i++)
CNN_UNROLL(2)
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();

    for (size_t kk = 0; kk < k; kk++) {
        const float* brow = b_offsets != NULL ? b + b_offsets[kk] : b + kk * ldb;
        __m512 bv[2];
CNN_UNROLL(2)
        for (int v = 0; v < NV; v++)
            bv[v] = full ? _mm512_loadu_ps(brow + v * VEC)
                         : _mm512_maskz_loadu_ps(mask[v], brow + v * VEC);
CNN_UNROLL(8)
        for (int i = 0; i < MR; i++) {
            const __m512 va = _mm512_set1_ps(ap[i][kk]);
CNN_UNROLL(2)
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(va, bv[v], acc[i][v]);
        }
    }

    /* Epilogue in registers: [C +] product, row bias, column bias, activation, store. */
    const cnn_activation act = epilogue->activation;
    __m512 bias_col[2];
CNN_UNROLL(2)
    for (int v = 0; v < NV; v++)
        bias_col[v] = epilogue->bias_col != NULL
                          ? _mm512_maskz_loadu_ps(mask[v], epilogue->bias_col + v * VEC)
                          : _mm512_setzero_ps();
    const float* rb = epilogue->bias_row;
CNN_UNROLL(8)
    for (int i = 0; i < MR; i++) {
        if (i >= (int)mr) break;
        float* crow = c + (size_t)i * ldc;
        const __m512 row_bias = _mm512_set1_ps(rb != NULL ? rb[i] : 0.0f);
CNN_UNROLL(2)
        for (int v = 0; v < NV; v++) {
            __m512 x = acc[i][v];
            if (epilogue->accumulate)
                x = _mm512_add_ps(full ? _mm512_loadu_ps(crow + v * VEC)
                                       : _mm512_maskz_loadu_ps(mask[v], crow + v * VEC),
                                  x);
            x = cnn_f32_avx512_activate(_mm512_add_ps(_mm512_add_ps(x, row_bias), bias_col[v]),
                                        act);
            if (full)
                _mm512_storeu_ps(crow + v * VEC, x);
            else
                _mm512_mask_storeu_ps(crow + v * VEC, mask[v], x);
        }
    }
}

/* Both entry points share this; b_offsets is a constant NULL / non-NULL in each, so the
 * compiler specializes the k loop for each. */
static CNN_ALWAYS_INLINE void gemm_8x32(
    size_t mr, size_t nr, size_t k, const float* a, size_t lda, const float* b, size_t ldb,
    const int64_t* b_offsets, float* c, size_t ldc, const cnn_f32_gemm_epilogue* epilogue) {
    if (nr == 2 * VEC)
        gemm_tile(2, 1, mr, nr, k, a, lda, b, ldb, b_offsets, c, ldc, epilogue);
    else if (nr > VEC)
        gemm_tile(2, 0, mr, nr, k, a, lda, b, ldb, b_offsets, c, ldc, epilogue);
    else
        gemm_tile(1, 0, mr, nr, k, a, lda, b, ldb, b_offsets, c, ldc, epilogue);
}

void cnn_f32_gemm_8x32_avx512(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                              const float* b, size_t ldb, float* c, size_t ldc,
                              const cnn_f32_gemm_epilogue* epilogue) {
    gemm_8x32(mr, nr, k, a, lda, b, ldb, NULL, c, ldc, epilogue);
}

void cnn_f32_igemm_8x32_avx512(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                               const float* b, const int64_t* b_offsets, float* c, size_t ldc,
                               const cnn_f32_gemm_epilogue* epilogue) {
    gemm_8x32(mr, nr, k, a, lda, b, 0, b_offsets, c, ldc, epilogue);
}

const cnn_f32_gemm_ukernel cnn_f32_ukernel_8x32_avx512 = {
    CNN_F32_GEMM_AVX512_MR, CNN_F32_GEMM_AVX512_NR, cnn_f32_gemm_8x32_avx512,
    cnn_f32_igemm_8x32_avx512, NULL};
