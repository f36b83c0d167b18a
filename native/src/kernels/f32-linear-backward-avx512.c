/* f32-linear-backward-avx512.c — gradients of the fully connected layer on AVX-512: the GEMM
 * drivers of f32-linear-backward-avx2.c on the 8x32 micro-kernel (the bias sum and the dY
 * transpose are memory bound and stay as they are). */
#include "f32-gemm.h"

cnn_status cnn_f32_linear_backward_data_avx512(cnn_context* ctx, int32_t batch,
                                               int32_t in_features, int32_t out_features,
                                               const float* grad_output, const float* weight,
                                               int32_t accumulate, float* grad_input) {
    return cnn_f32_linear_backward_data_gemm(ctx, batch, in_features, out_features, grad_output,
                                             weight, accumulate, grad_input,
                                             &cnn_f32_ukernel_8x32_avx512);
}

cnn_status cnn_f32_linear_backward_weights_avx512(cnn_context* ctx, int32_t batch,
                                                  int32_t in_features, int32_t out_features,
                                                  const float* input, const float* grad_output,
                                                  int32_t accumulate, float* grad_weight,
                                                  float* grad_bias) {
    return cnn_f32_linear_backward_weights_gemm(ctx, batch, in_features, out_features, input,
                                                grad_output, accumulate, grad_weight, grad_bias,
                                                &cnn_f32_ukernel_8x32_avx512);
}
