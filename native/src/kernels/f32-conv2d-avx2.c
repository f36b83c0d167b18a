/* f32-conv2d-avx2.c — conv2d on AVX2: depthwise convs to f32-dwconv2d-avx2.c, 3x3 stride-1
 * convs where it wins to Winograd (f32-conv2d-winograd.c), everything else to the GEMM driver
 * (f32-conv2d-gemm.c); both on the 6x16 AVX2 micro-kernel. */
#include "f32-gemm.h"

cnn_status cnn_f32_conv2d_avx2(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                               int32_t out_width, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output) {
    if (p->groups > 1 && p->groups == p->in_channels)
        return cnn_f32_dwconv2d_avx2(ctx, p, out_height, out_width, input, weight, bias, activation,
                                     output);
    if (cnn_f32_conv2d_winograd_suits(p, out_height, out_width, &cnn_f32_ukernel_6x16_avx2))
        return cnn_f32_conv2d_winograd(ctx, p, out_height, out_width, input, weight, bias,
                                       activation, output, &cnn_f32_ukernel_6x16_avx2,
                                       &cnn_f32_winograd_4x4_avx2);
    return cnn_f32_conv2d_gemm(ctx, p, out_height, out_width, input, weight, bias, activation,
                               output, &cnn_f32_ukernel_6x16_avx2);
}

const cnn_f32_conv2d_isa cnn_f32_conv2d_isa_avx2 = {&cnn_f32_ukernel_6x16_avx2,
                                                    &cnn_f32_winograd_4x4_avx2,
                                                    cnn_f32_dwconv2d_avx2, &cnn_f32_direct_4x24_avx2};
