/* f32-conv2d-backward-avx512.c — gradients of the 2D convolution on AVX-512: the GEMM drivers of
 * f32-conv2d-backward-avx2.c on the 8x32 micro-kernel (depthwise convolutions and the direct
 * weight gradient keep their AVX2 loops there). */
#include "f32-gemm.h"

CNN_F32_CONV2D_BACKWARD_ENTRIES(avx512, cnn_f32_ukernel_8x32_avx512)
