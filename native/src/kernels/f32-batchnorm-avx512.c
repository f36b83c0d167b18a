/* f32-batchnorm-avx512.c — batch norm inference, 16 lanes with mask-register tails (the loop is
 * f32-batchnorm-inference.h; activations use the AVX2 code). */
#include "avx2-math.h"
#include "f32-pool-vec-avx512.h"

#define CNN_BATCHNORM_KERNEL cnn_f32_batchnorm_avx512
#include "f32-batchnorm-inference.h"
