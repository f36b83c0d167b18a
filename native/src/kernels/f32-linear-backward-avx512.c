/* f32-linear-backward-avx512.c — gradients of the fully connected layer on AVX-512: the GEMM
 * drivers of f32-linear-backward-avx2.c on the 8x32 micro-kernel (the bias sum and the dY
 * transpose are memory bound and stay as they are). */
#include "f32-gemm.h"

CNN_F32_LINEAR_BACKWARD_ENTRIES(avx512, cnn_f32_ukernel_8x32_avx512)
