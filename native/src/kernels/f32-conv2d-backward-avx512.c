/* f32-conv2d-backward-avx512.c — gradients of the 2D convolution on AVX-512: the GEMM drivers of
 * f32-conv2d-backward-avx2.c on the 8x32 micro-kernel (depthwise convolutions and the direct
 * weight gradient keep their AVX2 loops there). */
#include "f32-gemm.h"

cnn_status cnn_f32_conv2d_backward_weights_avx512(cnn_context* ctx, const cnn_conv2d_params* p,
                                                  int32_t out_height, int32_t out_width,
                                                  const float* input, const float* grad_output,
                                                  int32_t accumulate, float* grad_weight,
                                                  float* grad_bias) {
    return cnn_f32_conv2d_backward_weights_gemm(ctx, p, out_height, out_width, input,
                                                grad_output, accumulate, grad_weight, grad_bias,
                                                &cnn_f32_ukernel_8x32_avx512);
}

cnn_status cnn_f32_conv2d_backward_data_avx512(cnn_context* ctx, const cnn_conv2d_params* p,
                                               int32_t out_height, int32_t out_width,
                                               const float* grad_output, const float* weight,
                                               int32_t accumulate, float* grad_input) {
    return cnn_f32_conv2d_backward_data_gemm(ctx, p, out_height, out_width, grad_output, weight,
                                             accumulate, grad_input, &cnn_f32_ukernel_8x32_avx512);
}
