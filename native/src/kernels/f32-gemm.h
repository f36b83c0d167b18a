/* f32-gemm.h — private declarations shared by the AVX2 GEMM-based kernels (conv2d, linear). */
#ifndef CNN_F32_GEMM_H
#define CNN_F32_GEMM_H

#include <stddef.h>

#include "cnn_internal.h"

#define CNN_F32_GEMM_MR 6
#define CNN_F32_GEMM_NR 16

/* Epilogue of one GEMM tile: c = act([c +] a*b + bias_row[i] + bias_col[j]). Either bias may be
 * NULL; accumulate = 1 adds the product to what C holds (backward passes: gradient accumulation,
 * partial sums over pixel tiles), 0 overwrites C. */
typedef struct cnn_f32_gemm_epilogue {
    const float* bias_row; /* one value per row of the tile (conv: per output channel) */
    const float* bias_col; /* one value per column of the tile (linear: per output feature) */
    cnn_activation activation;
    int32_t accumulate;
} cnn_f32_gemm_epilogue;

/*
 * One register tile of C = A * B (mr <= 6 rows, nr <= 16 columns, k >= 1):
 *   A: row-major, row i at a + i*lda (read as broadcasts; not packed)
 *   B: row-major k x nr, row kk at b + kk*ldb (16 contiguous floats per row; only the first nr
 *      are read, so B may be an unpadded matrix or a packed 16-wide panel with ldb = 16)
 *   C: row i at c + i*ldc; only mr x nr elements are written.
 * The products are accumulated with FMA in increasing kk.
 */
void cnn_f32_gemm_6x16_avx2(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                            const float* b, size_t ldb, float* c, size_t ldc,
                            const cnn_f32_gemm_epilogue* epilogue);

/* The same with an indirect B: row kk of B at b + b_offsets[kk] (implicit-GEMM convolution,
 * where row (ic, kh, kw) is a shifted view of the zero-padded input). */
void cnn_f32_igemm_6x16_avx2(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                             const float* b, const int64_t* b_offsets, float* c, size_t ldc,
                             const cnn_f32_gemm_epilogue* epilogue);

/* Depthwise / channel-multiplier convolution (in_channels == groups); f32-dwconv2d-avx2.c. */
cnn_status cnn_f32_dwconv2d_avx2(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output);

#if defined(__AVX2__) /* the vector epilogue, for the -avx2.c kernels that include this */
#include "avx2-math.h"

/* Fused activation of one vector of outputs (the same vector math as f32-activation-avx2.c). */
static inline __attribute__((always_inline)) __m256 cnn_f32_avx2_activate(__m256 x,
                                                                          cnn_activation act) {
    switch (act) {
        case CNN_ACTIVATION_RELU: return cnn_avx2_relu_ps(x);
        case CNN_ACTIVATION_SIGMOID: return cnn_avx2_sigmoid_ps(x);
        case CNN_ACTIVATION_TANH: return cnn_avx2_tanh_ps(x);
        case CNN_ACTIVATION_RELU6: return cnn_avx2_relu6_ps(x);
        default: return x;
    }
}
#endif

#endif /* CNN_F32_GEMM_H */
