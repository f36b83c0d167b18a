/*
 * f32-pool2d-avx512.c — 2D pooling, 16 adjacent outputs of a row at a time: max and average
 * with stride_width 1 or 2 through f32-pool2d-rows.h (the AVX2 kernel's code at 16 lanes, tails
 * under mask registers); LP and wider strides use the AVX2 kernel.
 */
#include "f32-pool-vec-avx512.h"
#include "f32-pool2d-rows.h"

cnn_status cnn_f32_pool2d_avx512(cnn_context* ctx, const cnn_pool2d_params* p,
                                 int32_t out_height, int32_t out_width, const float* input,
                                 float* output) {
    cnn_status status;
    if (pool2d_rows_run(ctx, p, out_height, out_width, input, output, &status)) return status;
    return cnn_f32_pool2d_avx2(ctx, p, out_height, out_width, input, output);
}
