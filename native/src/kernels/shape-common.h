/*
 * shape-common.h — job blocks shared by the scalar and AVX2 kernels of clip (forward and
 * backward) and scale/shift (plain C, no intrinsics). Each per-element formula is written once
 * here as an inline function; the AVX2 kernels do the same operations 8 lanes at a time.
 */
#ifndef CNN_KERNELS_SHAPE_COMMON_H
#define CNN_KERNELS_SHAPE_COMMON_H

#include "ops-common.h"

/* cnn_parallel_for argument of the clip kernels (grad / grad_input only for the backward). */
typedef struct cnn_clip_job {
    const float* input;
    const float* grad;
    float* output;
    float lo, hi;
    int32_t accumulate;
} cnn_clip_job;

/* torch.clamp: x < lo ? lo : (x > hi ? hi : x); a NaN x fails both tests and stays NaN. */
static inline float cnn_clip_apply(float x, float lo, float hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/* torch's clamp backward: g where lo <= x <= hi, else 0 (NaN x: 0). */
static inline float cnn_clip_grad(float x, float g, float lo, float hi) {
    return x >= lo && x <= hi ? g : 0.0f;
}

/* cnn_parallel_for argument of the scale/shift kernels; items are rows (o, c) of `inner`. */
typedef struct cnn_scale_shift_job {
    int64_t channels, inner;
    const float* input;
    const float* scale; /* NULL: 1 */
    const float* shift; /* NULL: 0 */
    float* output;
} cnn_scale_shift_job;

/* Rows per chunk so that one chunk handles about CNN_PARALLEL_GRAIN_WORK elements. */
static inline int64_t cnn_scale_shift_grain(int64_t inner) {
    const int64_t g = CNN_PARALLEL_GRAIN_WORK * 4 / inner;
    return g < 1 ? 1 : g;
}

#endif
