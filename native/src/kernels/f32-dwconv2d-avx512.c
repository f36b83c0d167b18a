/* f32-dwconv2d-avx512.c — depthwise convolution, vectorized over output width in 16-float ZMM
 * vectors with mask-register tails: the AVX-512 instance of f32-dwconv2d-tile.h on the driver
 * of f32-dwconv2d.h. Activations other than ReLU use the AVX2 span (one definition of each). */
#include <immintrin.h>

#include "avx2-math.h"
#include "f32-gemm.h"

#define DW_VEC __m512
#define DW_LANES 16
#define DW_ZERO() _mm512_setzero_ps()
#define DW_SET1(x) _mm512_set1_ps(x)
#define DW_LOADU(ptr) _mm512_loadu_ps(ptr)
#define DW_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define DW_ADD(a, b) _mm512_add_ps(a, b)
#define DW_RELU6(x) _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), x)) /* NaN kept, as cnn_avx2_relu6_ps */
#define DW_RELU(x) _mm512_max_ps(_mm512_setzero_ps(), x)
#define DW_STORE(ptr, left, y)                                                   \
    ((left) >= 16 ? _mm512_storeu_ps(ptr, y) : _mm512_mask_storeu_ps(ptr, cnn_avx512_lanes(left), y))
#define DW_ACTIVATION_SPAN(act, in, out, n) cnn_avx2_activation_span(act, in, out, n)
#define DW_MASK_T __mmask16
#define DW_MASK(a, b) ((__mmask16)(cnn_avx512_lanes(b) & ~cnn_avx512_lanes(a)))
#define DW_LOADM(ptr, m) _mm512_maskz_loadu_ps(m, ptr)
#define DW_MASKZ(v, m) _mm512_maskz_mov_ps(m, v)
#define DW_SHIFT_IN(v, x)                                                                   \
    _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(x), _mm512_castps_si512(v), 1))
#define DW_LOAD_RANGE(ptr, a, b) DW_LOADM(ptr, DW_MASK(a, b))
#define DW_SPLIT2(a, b, even, odd)                                                          \
    do {                                                                                    \
        const __m512i even_ = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, \
                                                24, 26, 28, 30);                            \
        const __m512 lo_ = (a), hi_ = (b);                                                  \
        even = _mm512_permutex2var_ps(lo_, even_, hi_);                                     \
        odd = _mm512_permutex2var_ps(lo_, _mm512_add_epi32(even_, _mm512_set1_epi32(1)), hi_); \
    } while (0)
#include "f32-dwconv2d-tile.h"

cnn_status cnn_f32_dwconv2d_avx512(cnn_context* ctx, const cnn_conv2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* weight, const float* bias,
                                   cnn_activation activation, float* output) {
    return cnn_f32_dwconv2d_run(ctx, p, out_height, out_width, input, weight, bias, activation,
                                output, dw_output_plane, dw_stage_row, dw3_direct_plane,
                                DW_LANES);
}
