/* f32-dwconv2d-avx2.c — depthwise convolution, vectorized over output width in 8-float YMM
 * vectors: the AVX2 instance of f32-dwconv2d-tile.h on the driver of f32-dwconv2d.h. */
#include <immintrin.h>

#include "avx2-math.h"
#include "f32-gemm.h"

#define DW_VEC __m256
#define DW_LANES 8
#define DW_ZERO() _mm256_setzero_ps()
#define DW_SET1(x) _mm256_set1_ps(x)
#define DW_LOADU(ptr) _mm256_loadu_ps(ptr)
#define DW_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define DW_ADD(a, b) _mm256_add_ps(a, b)
#define DW_RELU6(x) cnn_avx2_relu6_ps(x) /* NaN kept, as cnn_avx2_relu6_ps */
#define DW_RELU(x) cnn_avx2_relu_ps(x)
#define DW_STORE(ptr, left, y)                                                   \
    ((left) >= 8 ? _mm256_storeu_ps(ptr, y)                                      \
                 : _mm256_maskstore_ps(ptr, cnn_avx2_tail_mask(left), y))
#define DW_ACTIVATION_SPAN(act, in, out, n) cnn_avx2_activation_span(act, in, out, n)
#define DW_MASK_T __m256i
#define DW_MASK(a, b) _mm256_andnot_si256(cnn_avx2_tail_mask(a), cnn_avx2_tail_mask(b))
#define DW_LOADM(ptr, m) _mm256_maskload_ps(ptr, m)
#define DW_MASKZ(v, m) _mm256_and_ps(v, _mm256_castsi256_ps(m))
/* v[1..7], x[0]: vperm2i128 (v[4..7], x[0..3]) then a 4-byte vpalignr per half, two
 * instructions instead of permute + blend of a broadcast (as pv_shift_in in the pool code) */
#define DW_SHIFT_IN(v, x)                                                                   \
    _mm256_castsi256_ps(_mm256_alignr_epi8(                                                 \
        _mm256_permute2x128_si256(_mm256_castps_si256(v), _mm256_castps_si256(x), 0x21),    \
        _mm256_castps_si256(v), 4))
#define DW_LOAD_RANGE(ptr, a, b) DW_LOADM(ptr, DW_MASK(a, b))
#define DW_SPLIT2(a, b, even, odd)                                                       \
    do {                                                                                 \
        const __m256 lo_ = (a), hi_ = (b); /* shuffle_ps pairs within 128-bit halves */ \
        even = _mm256_castpd_ps(_mm256_permute4x64_pd(                                   \
            _mm256_castps_pd(_mm256_shuffle_ps(lo_, hi_, _MM_SHUFFLE(2, 0, 2, 0))),      \
            _MM_SHUFFLE(3, 1, 2, 0)));                                                   \
        odd = _mm256_castpd_ps(_mm256_permute4x64_pd(                                    \
            _mm256_castps_pd(_mm256_shuffle_ps(lo_, hi_, _MM_SHUFFLE(3, 1, 3, 1))),      \
            _MM_SHUFFLE(3, 1, 2, 0)));                                                   \
    } while (0)
#include "f32-dwconv2d-tile.h"

cnn_status cnn_f32_dwconv2d_avx2(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output) {
    return cnn_f32_dwconv2d_run(ctx, p, out_height, out_width, input, weight, bias, activation,
                                output, dw_output_plane, dw_stage_row, dw3_direct_plane,
                                DW_LANES);
}
