/* f32-conv2d-avx512.c — conv2d on AVX-512: depthwise convs to f32-dwconv2d-avx512.c, everything
 * else to the GEMM driver (f32-conv2d-gemm.c) on the 8x32 AVX-512 micro-kernel. */
#include "f32-gemm.h"

static const cnn_f32_gemm_ukernel g_ukernel = {CNN_F32_GEMM_AVX512_MR, CNN_F32_GEMM_AVX512_NR,
                                               cnn_f32_gemm_8x32_avx512,
                                               cnn_f32_igemm_8x32_avx512};

cnn_status cnn_f32_conv2d_avx512(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output) {
    if (p->groups > 1 && p->groups == p->in_channels)
        return cnn_f32_dwconv2d_avx512(ctx, p, out_height, out_width, input, weight, bias,
                                       activation, output);
    return cnn_f32_conv2d_gemm(ctx, p, out_height, out_width, input, weight, bias, activation,
                               output, &g_ukernel);
}
