/* f32-conv2d-avx512.c — conv2d on AVX-512: depthwise convs to f32-dwconv2d-avx512.c, 3x3
 * stride-1 convs where it wins to Winograd (f32-conv2d-winograd.c), everything else to the GEMM
 * driver (f32-conv2d-gemm.c); both on the 8x32 AVX-512 micro-kernel. */
#include <immintrin.h>

#include "f32-gemm.h"

/* dst[i] = src[i*stride], 16 at a time: stride 2 as two loads and one two-source permute (the
 * stem and downsampling convs), stride 4 as four loads and three permutes (AlexNet's stem),
 * other strides as a gather; the tail with masks, so nothing past src[(n-1)*stride] is read. */
static void copy_strided(float* dst, const float* src, int64_t n, int64_t stride) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    if (stride == 2 || stride == 4) {
        /* lanes 0..15 (stride 2) or 0..7 (stride 4) of a two-source permute: every stride-th */
        const __m512i pick = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)stride));
        for (int64_t i = 0; i < n; i += 16, src += 16 * stride) {
            const int64_t span = stride * (n - i) - (stride - 1); /* floats of src still needed */
            const __m512 v0 = _mm512_maskz_loadu_ps(cnn_avx512_lanes(span), src);
            const __m512 v1 = _mm512_maskz_loadu_ps(cnn_avx512_lanes(span - 16), src + 16);
            __m512 out = _mm512_permutex2var_ps(v0, pick, v1);
            if (stride == 4) { /* lanes 8..15 from the next 32 floats */
                const __m512 v2 = _mm512_maskz_loadu_ps(cnn_avx512_lanes(span - 32), src + 32);
                const __m512 v3 = _mm512_maskz_loadu_ps(cnn_avx512_lanes(span - 48), src + 48);
                out = _mm512_shuffle_f32x4(out, _mm512_permutex2var_ps(v2, pick, v3), 0x44);
            }
            _mm512_mask_storeu_ps(dst + i, cnn_avx512_lanes(n - i), out);
        }
        return;
    }
    const __m512i index = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)stride));
    for (int64_t i = 0; i < n; i += 16, src += 16 * stride) {
        const __mmask16 m = cnn_avx512_lanes(n - i);
        _mm512_mask_storeu_ps(dst + i, m,
                              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, index, src, 4));
    }
}

static const cnn_f32_gemm_ukernel g_ukernel = {CNN_F32_GEMM_AVX512_MR, CNN_F32_GEMM_AVX512_NR,
                                               cnn_f32_gemm_8x32_avx512,
                                               cnn_f32_igemm_8x32_avx512, copy_strided};

cnn_status cnn_f32_conv2d_avx512(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output) {
    if (p->groups > 1 && p->groups == p->in_channels)
        return cnn_f32_dwconv2d_avx512(ctx, p, out_height, out_width, input, weight, bias,
                                       activation, output);
    if (cnn_f32_conv2d_winograd_suits(p, out_height, out_width, &g_ukernel))
        return cnn_f32_conv2d_winograd(ctx, p, out_height, out_width, input, weight, bias,
                                       activation, output, &g_ukernel,
                                       &cnn_f32_winograd_4x4_avx512);
    return cnn_f32_conv2d_gemm(ctx, p, out_height, out_width, input, weight, bias, activation,
                               output, &g_ukernel);
}

const cnn_f32_conv2d_isa cnn_f32_conv2d_isa_avx512 = {&g_ukernel, &cnn_f32_winograd_4x4_avx512,
                                                      cnn_f32_dwconv2d_avx512, &cnn_f32_direct_7x64_avx512};
