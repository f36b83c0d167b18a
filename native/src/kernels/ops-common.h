/*
 * ops-common.h — helpers shared by the scalar and AVX2 kernels of pooling and batch norm
 * (plain C, no intrinsics; defined in the scalar kernel files). Keeping one definition of each
 * per-window / per-channel formula means the AVX2 kernels agree with the reference bit for bit
 * wherever they fall back to it.
 */
#ifndef CNN_KERNELS_OPS_COMMON_H
#define CNN_KERNELS_OPS_COMMON_H

#include "cnn_internal.h"

/* Work a kernel aims to give one cnn_parallel_for chunk (in inner-loop steps). */
#define CNN_PARALLEL_GRAIN_WORK 16384

/* ------------------------------------------------------------------- element-wise jobs */

/* Argument block of the activation (b unused) and add kernels' cnn_parallel_for tasks. */
typedef struct cnn_elementwise_job {
    const float* a;
    const float* b;
    cnn_activation activation;
    float* output;
} cnn_elementwise_job;

/* Argument block of the global average pooling tasks (items = planes). */
typedef struct cnn_gavgpool_job {
    int64_t plane_size;
    const float* input;
    float* output;
} cnn_gavgpool_job;

/* ------------------------------------------------------------------------------ pool2d */

/* Everything a pooling task needs; rows are numbered plane * out_height + oh. */
typedef struct cnn_pool2d_plan {
    const cnn_pool2d_params* p;
    int32_t out_height;
    int32_t out_width;
    const float* input;
    float* output;
    float lp_exponent; /* LP: p */
    float lp_root;     /* LP: (float)(1.0 / p) */
    float lp_scale;    /* LP: kernel_height * kernel_width */
} cnn_pool2d_plan;

void cnn_pool2d_plan_init(cnn_pool2d_plan* plan, const cnn_pool2d_params* p, int32_t out_height,
                          int32_t out_width, const float* input, float* output);

/* Rows per cnn_parallel_for chunk so that one chunk does about CNN_PARALLEL_GRAIN_WORK taps. */
int64_t cnn_pool2d_row_grain(const cnn_pool2d_plan* plan);

/* x^e with torch's special cases for pow(tensor, scalar): e = 1, 2, 3, 0.5 exactly; else powf. */
float cnn_pool2d_lp_pow(float x, float e);

/* torch's LP epilogue for one window mean o: (sign(o) * relu(|o|) * kW*kH)^(1/p). */
float cnn_pool2d_lp_finish(const cnn_pool2d_plan* plan, float mean);

/* Computes outputs [ow_begin, ow_end) of one output row with the reference (scalar) formulas. */
void cnn_pool2d_row_scalar(const cnn_pool2d_plan* plan, int64_t row, int32_t ow_begin,
                           int32_t ow_end);

/* Vertical extent of the window of output row oh (same rules as torch's CPU kernels):
 *  max:    taps ih = begin, begin + dilation, ... < end (all inside the input);
 *  avg/LP: ih in [begin, end) clamped to the input, pool_extent = unclamped window height
 *          (hend - hstart with hend = min(hstart + k, H + pad), before clamping). */
typedef struct cnn_pool2d_extent {
    int32_t begin;
    int32_t end;
    int32_t pool_extent;
} cnn_pool2d_extent;

cnn_pool2d_extent cnn_pool2d_window(cnn_pool_kind kind, int32_t o, int32_t stride, int32_t pad,
                                    int32_t kernel, int32_t dilation, int32_t in_size);

/* ------------------------------------------------------------------------- batch norm */

/* Batch norm work items are (plane, segment of at most CNN_BATCHNORM_SEGMENT elements) pairs,
 * so that one large plane still splits across threads. */
#define CNN_BATCHNORM_SEGMENT 4096

typedef struct cnn_batchnorm_split {
    int64_t plane_size; /* height * width */
    int64_t segments;   /* per plane */
    int64_t items;      /* batch * channels * segments */
} cnn_batchnorm_split;

/* The split of p, and the cnn_parallel_for grain giving about `work` elements per chunk. */
cnn_batchnorm_split cnn_batchnorm_split_of(const cnn_batch_norm2d_params* p, int64_t work,
                                           int64_t* grain);

/* Item -> its channel, first element index and element count. */
void cnn_batchnorm_item(const cnn_batchnorm_split* split, int64_t channels, int64_t item,
                        int64_t* channel, int64_t* first, int64_t* count);

/* torch's eval-mode affine form: alpha = weight / sqrt(var + eps), beta = bias - mean * alpha,
 * so that y = x * alpha + beta (weight NULL = 1, bias NULL = 0). */
void cnn_batchnorm_channel_affine(const cnn_batch_norm2d_params* p, const float* mean,
                                  const float* var, const float* weight, const float* bias,
                                  int64_t channel, float* alpha, float* beta);

#endif
