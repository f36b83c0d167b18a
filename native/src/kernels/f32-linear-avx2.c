/* f32-linear-avx2.c — fully connected layer on AVX2: the 8-lane YMM instance of
 * f32-linear-gemv.h (GEMV below 16 batch rows, 4 W rows x 2 batch rows = 8 accumulators of the
 * 16 registers), the 6x16 micro-kernel on the GEMM driver f32-linear-gemm.c from 16 rows on. */
#include <immintrin.h>

#include "avx2-math.h"
#include "f32-gemm.h"

#define LV_VEC __m256
#define LV_LANES 8
#define LV_ZERO() _mm256_setzero_ps()
#define LV_LOADU(ptr) _mm256_loadu_ps(ptr)
#define LV_LOAD_TAIL(ptr, n) _mm256_maskload_ps(ptr, cnn_avx2_tail_mask(n))
#define LV_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define LV_ADD(a, b) _mm256_add_ps(a, b)
#define LV_HSUM(v) cnn_avx2_hsum_ps(v)
#define LV_ROWS 4
#define LV_COLS 2
#define LV_GEMM_MIN_BATCH 16
#define LV_UKERNEL cnn_f32_ukernel_6x16_avx2
#define LV_ENTRY cnn_f32_linear_avx2
#include "f32-linear-gemv.h"
