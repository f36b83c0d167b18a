/* f32-conv2d-backward-flip.h — the data gradient of a stride-1 convolution as a forward
 * convolution with flipped, channel-swapped weights (f32-conv2d-backward-flip.c). */
#ifndef CNN_F32_CONV2D_BACKWARD_FLIP_H
#define CNN_F32_CONV2D_BACKWARD_FLIP_H

#include "cnn_internal.h"

/* 1 (default): cnn_conv2d_backward_data routes the shapes that suit to the forward path; 0: the
 * GEMM + col2im path for everything. Only for benchmarks comparing the two in one process. */
extern int cnn_conv2d_backward_data_flip_enabled;

/* Stride 1, padding <= dilation*(kernel-1) on every side, not depthwise (any other groups and
 * dilation), and the switch above on. */
int cnn_f32_conv2d_backward_data_flip_suits(const cnn_conv2d_params* p);

/* Same contract as the conv2d_backward_data kernels; runs ctx->kernels->conv2d (so not for the
 * reference ISA, whose backward stays the independent oracle) and ctx->kernels->add. */
cnn_status cnn_f32_conv2d_backward_data_flip(cnn_context* ctx, const cnn_conv2d_params* p,
                                             int32_t out_height, int32_t out_width,
                                             const float* grad_output, const float* weight,
                                             int32_t accumulate, float* grad_input);

#endif
