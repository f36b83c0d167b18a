/* f32-batchnorm-avx2.c — batch norm inference, 8 lanes (the loop is f32-batchnorm-inference.h). */
#include "avx2-math.h"
#include "f32-pool-vec-avx2.h"

#define CNN_BATCHNORM_KERNEL cnn_f32_batchnorm_avx2
#include "f32-batchnorm-inference.h"
