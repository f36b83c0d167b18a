/* f32-linear-avx512.c — fully connected layer on AVX-512: the 16-lane ZMM instance of
 * f32-linear-gemv.h (GEMV below LV_GEMM_MIN_BATCH batch rows, 4 W rows x 4 batch rows = 16
 * accumulators of the 32 registers, mask-register tails), the 8x32 micro-kernel on the GEMM
 * driver f32-linear-gemm.c above. */
#include <immintrin.h>

#include "avx2-math.h"
#include "f32-gemm.h"

#define LV_VEC __m512
#define LV_LANES 16
#define LV_ZERO() _mm512_setzero_ps()
#define LV_LOADU(ptr) _mm512_loadu_ps(ptr)
#define LV_LOAD_TAIL(ptr, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), ptr)
#define LV_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define LV_ADD(a, b) _mm512_add_ps(a, b)
#define LV_HSUM(v) _mm512_reduce_add_ps(v)
#define LV_ROWS 4
#define LV_COLS 4
#define LV_GEMM_MIN_BATCH 64
#define LV_UKERNEL cnn_f32_ukernel_8x32_avx512
#define LV_ENTRY cnn_f32_linear_avx512
#include "f32-linear-gemv.h"
