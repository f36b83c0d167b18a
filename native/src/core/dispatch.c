/* dispatch.c — one kernel table per ISA, chosen once per context (XNNPACK style).
 * An ISA without its own kernel for an op points at the next-best one; scalar is always last. */
#include "cnn_internal.h"

static const cnn_kernel_table g_reference = {
    .isa = CNN_ISA_REFERENCE,
    .name = "reference",
    .conv2d = cnn_f32_conv2d_scalar,
    .pool2d = cnn_f32_pool2d_scalar,
    .global_average_pool2d = cnn_f32_gavgpool_scalar,
    .batch_norm2d_inference = cnn_f32_batchnorm_scalar,
    .activation = cnn_f32_activation_scalar,
    .linear = cnn_f32_linear_scalar,
    .softmax = cnn_f32_softmax_scalar,
    .add = cnn_f32_add_scalar,
};

#define CNN_AVX2_KERNELS                                 \
    .conv2d = cnn_f32_conv2d_avx2,                       \
    .pool2d = cnn_f32_pool2d_avx2,                       \
    .global_average_pool2d = cnn_f32_gavgpool_avx2,      \
    .batch_norm2d_inference = cnn_f32_batchnorm_avx2,    \
    .activation = cnn_f32_activation_avx2,               \
    .linear = cnn_f32_linear_avx2,                       \
    .softmax = cnn_f32_softmax_avx2,                     \
    .add = cnn_f32_add_avx2

static const cnn_kernel_table g_avx2 = {.isa = CNN_ISA_AVX2, .name = "avx2", CNN_AVX2_KERNELS};

/* No AVX-512 kernels yet: every op uses its AVX2 kernel (the speed issue adds them). */
static const cnn_kernel_table g_avx512 = {.isa = CNN_ISA_AVX512, .name = "avx512",
                                          CNN_AVX2_KERNELS};

const cnn_kernel_table* cnn_kernels_for_isa(cnn_isa isa) {
    switch (isa) {
        case CNN_ISA_AVX2: return &g_avx2;
        case CNN_ISA_AVX512: return &g_avx512;
        default: return &g_reference;
    }
}
