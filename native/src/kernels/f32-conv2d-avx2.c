/* f32-conv2d-avx2.c — conv2d on AVX2: depthwise convs to f32-dwconv2d-avx2.c, everything else
 * to the GEMM driver (f32-conv2d-gemm.c) on the 6x16 AVX2 micro-kernel. */
#include "f32-gemm.h"

static const cnn_f32_gemm_ukernel g_ukernel = {CNN_F32_GEMM_MR, CNN_F32_GEMM_NR,
                                               cnn_f32_gemm_6x16_avx2, cnn_f32_igemm_6x16_avx2, NULL};

cnn_status cnn_f32_conv2d_avx2(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                               int32_t out_width, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output) {
    if (p->groups > 1 && p->groups == p->in_channels)
        return cnn_f32_dwconv2d_avx2(ctx, p, out_height, out_width, input, weight, bias, activation,
                                     output);
    return cnn_f32_conv2d_gemm(ctx, p, out_height, out_width, input, weight, bias, activation,
                               output, &g_ukernel);
}
