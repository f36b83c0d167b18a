/* dispatch.c — one kernel table per ISA, chosen once per context (XNNPACK style).
 * An ISA without its own kernel for an op points at the next-best one; scalar is always last. */
#include "cnn_internal.h"

static const cnn_kernel_table g_reference = {
    .isa = CNN_ISA_REFERENCE,
    .name = "reference",
    .conv2d                         = cnn_f32_conv2d_scalar,
    .pool2d                         = cnn_f32_pool2d_scalar,
    .global_average_pool2d          = cnn_f32_gavgpool_scalar,
    .batch_norm2d_inference         = cnn_f32_batchnorm_scalar,
    .activation                     = cnn_f32_activation_scalar,
    .linear                         = cnn_f32_linear_scalar,
    .softmax                        = cnn_f32_softmax_scalar,
    .add                            = cnn_f32_add_scalar,
    .conv2d_backward_data           = cnn_f32_conv2d_backward_data_scalar,
    .conv2d_backward_weights        = cnn_f32_conv2d_backward_weights_scalar,
    .pool2d_backward                = cnn_f32_pool2d_backward_scalar,
    .global_average_pool2d_backward = cnn_f32_gavgpool_backward_scalar,
    .batch_norm2d_training_forward  = cnn_f32_batchnorm_training_scalar,
    .batch_norm2d_backward          = cnn_f32_batchnorm_backward_scalar,
    .activation_backward            = cnn_f32_activation_backward_scalar,
    .activation_backward_from_input = cnn_f32_activation_grad_scalar,
    .linear_backward_data           = cnn_f32_linear_backward_data_scalar,
    .linear_backward_weights        = cnn_f32_linear_backward_weights_scalar,
    .softmax_backward               = cnn_f32_softmax_backward_scalar,
    .cross_entropy                  = cnn_f32_cross_entropy_scalar,
    .mse_loss                       = cnn_f32_mse_loss_scalar,
    .dropout                        = cnn_f32_dropout_scalar,
    .mul                            = cnn_f32_mul_scalar,
    .axpy                           = cnn_f32_axpy_scalar,
    .sum_squares                    = cnn_f32_sum_squares_scalar,
    .sgd_step                       = cnn_f32_sgd_step_scalar,
    .adam_step                      = cnn_f32_adam_step_scalar,
    .rmsprop_step                   = cnn_f32_rmsprop_step_scalar,
    .clip                           = cnn_f32_clip_scalar,
    .clip_backward                  = cnn_f32_clip_backward_scalar,
    .copy_blocks                    = cnn_f32_copy_blocks_scalar,
    .broadcast_binary               = cnn_f32_broadcast_binary_scalar,
    .adaptive_avg_pool2d            = cnn_f32_adaptive_avgpool_scalar,
    .adaptive_avg_pool2d_backward   = cnn_f32_adaptive_avgpool_backward_scalar,
    .scale_shift                    = cnn_f32_scale_shift_scalar,
};

/* AVX2 + FMA. An op whose vector kernel would not pay (tiny, or bound by something else) keeps
 * its scalar kernel here. */
#define CNN_AVX2_ENTRIES \
    .conv2d                         = cnn_f32_conv2d_avx2, \
    .pool2d                         = cnn_f32_pool2d_avx2, \
    .global_average_pool2d          = cnn_f32_gavgpool_avx2, \
    .batch_norm2d_inference         = cnn_f32_batchnorm_avx2, \
    .activation                     = cnn_f32_activation_avx2, \
    .linear                         = cnn_f32_linear_avx2, \
    .softmax                        = cnn_f32_softmax_avx2, \
    .add                            = cnn_f32_add_avx2, \
    .conv2d_backward_data           = cnn_f32_conv2d_backward_data_avx2, \
    .conv2d_backward_weights        = cnn_f32_conv2d_backward_weights_avx2, \
    .pool2d_backward                = cnn_f32_pool2d_backward_avx2, \
    .global_average_pool2d_backward = cnn_f32_gavgpool_backward_avx2, \
    .batch_norm2d_training_forward  = cnn_f32_batchnorm_training_avx2, \
    .batch_norm2d_backward          = cnn_f32_batchnorm_backward_avx2, \
    .activation_backward            = cnn_f32_activation_backward_avx2, \
    .activation_backward_from_input = cnn_f32_activation_grad_avx2, \
    .linear_backward_data           = cnn_f32_linear_backward_data_avx2, \
    .linear_backward_weights        = cnn_f32_linear_backward_weights_avx2, \
    .softmax_backward               = cnn_f32_softmax_backward_avx2, \
    .cross_entropy                  = cnn_f32_cross_entropy_scalar, /* no AVX2 kernel: see the scalar file */ \
    .mse_loss                       = cnn_f32_mse_loss_avx2, \
    .dropout                        = cnn_f32_dropout_avx2, \
    .mul                            = cnn_f32_mul_avx2, \
    .axpy                           = cnn_f32_axpy_avx2, \
    .sum_squares                    = cnn_f32_sum_squares_avx2, \
    .sgd_step                       = cnn_f32_sgd_step_avx2, \
    .adam_step                      = cnn_f32_adam_step_avx2, \
    .rmsprop_step                   = cnn_f32_rmsprop_step_avx2, \
    .clip                           = cnn_f32_clip_avx2, \
    .clip_backward                  = cnn_f32_clip_backward_avx2, \
    .copy_blocks                    = cnn_f32_copy_blocks_scalar, /* memcpy / auto-vectorized add */ \
    .broadcast_binary               = cnn_f32_broadcast_binary_scalar, /* auto-vectorized rows */ \
    .adaptive_avg_pool2d            = cnn_f32_adaptive_avgpool_scalar, /* global 1x1 has its own op */ \
    .adaptive_avg_pool2d_backward   = cnn_f32_adaptive_avgpool_backward_scalar, \
    .scale_shift                    = cnn_f32_scale_shift_avx2,

static const cnn_kernel_table g_avx2 = {.isa = CNN_ISA_AVX2, .name = "avx2", CNN_AVX2_ENTRIES};

/* AVX-512 (F/BW/DQ/VL): its own kernels override the AVX2 entries (a later designated
 * initializer wins); every op without one keeps its AVX2 kernel. */
#if CNN_GNU_LIKE
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
static const cnn_kernel_table g_avx512 = {.isa = CNN_ISA_AVX512, .name = "avx512",
                                          CNN_AVX2_ENTRIES
    .conv2d                         = cnn_f32_conv2d_avx512,
    .pool2d                         = cnn_f32_pool2d_avx512,
    .batch_norm2d_inference         = cnn_f32_batchnorm_avx512,
    .linear                         = cnn_f32_linear_avx512,
    .conv2d_backward_data           = cnn_f32_conv2d_backward_data_avx512,
    .conv2d_backward_weights        = cnn_f32_conv2d_backward_weights_avx512,
    .linear_backward_data           = cnn_f32_linear_backward_data_avx512,
    .linear_backward_weights        = cnn_f32_linear_backward_weights_avx512,
};
#if CNN_GNU_LIKE
#pragma GCC diagnostic pop
#endif

const cnn_kernel_table* cnn_kernels_for_isa(cnn_isa isa) {
    switch (isa) {
        case CNN_ISA_AVX2: return &g_avx2;
        case CNN_ISA_AVX512: return &g_avx512;
        default: return &g_reference;
    }
}
