/*
 * f32-pool2d-backward-avx2.c — gradient of max pooling, 8 adjacent outputs of a row at a time.
 * For the interior columns (every tap inside the input width, like the forward's AVX2 kernel)
 * the winners of 8 windows are found with vector compares in the reference's scan order and
 * rule (take a tap if v > best || isnan(v)), carrying the tap index in an integer vector; the 8
 * gradients are then added at those indices in output order, so results equal the reference's
 * bit for bit. Borders, average and LP pooling use the reference row code (they are scatter
 * bound, not compare bound).
 */
#include <limits.h>
#include <math.h>

#include "avx2-math.h"
#include "ops-common.h"

typedef struct {
    int32_t ow_lo, ow_hi; /* interior output columns [ow_lo, ow_hi) */
    __m256i gather_index; /* 0, s, ..., 7s (strides >= 3) */
    __m256i lane_offset;  /* l * stride_width, l = 0..7 */
} pool2d_backward_avx2_data;

static void max_row_avx2(const cnn_pool2d_backward_plan* b, int64_t plane, int32_t oh,
                         float* target) {
    const pool2d_backward_avx2_data* d = (const pool2d_backward_avx2_data*)b->isa_data;
    const cnn_pool2d_plan* plan = &b->plan;
    const cnn_pool2d_params* p = plan->p;
    const cnn_pool2d_extent h = cnn_pool2d_window(CNN_POOL_MAX, oh, p->stride_height,
                                                  p->pad_height, p->kernel_height,
                                                  p->dilation_height, p->in_height);
    if (h.begin >= h.end) return;
    const int32_t width = p->in_width, sw = p->stride_width, dw = p->dilation_width;
    const float* in = plan->input + plane * (int64_t)p->in_height * width;
    const float* go = b->grad_output + (plane * plan->out_height + oh) * plan->out_width;
    cnn_pool2d_backward_row_scalar(b, plane, oh, 0, d->ow_lo, target);
    int32_t ow = d->ow_lo;
    int32_t index[8];
    for (; ow + 8 <= d->ow_hi; ow += 8) {
        const int32_t col0 = ow * sw - p->pad_width; /* first tap column of lane 0 */
        const __m256i lane_col = _mm256_add_epi32(_mm256_set1_epi32(col0), d->lane_offset);
        __m256 best = _mm256_set1_ps(-INFINITY);
        __m256i best_index = _mm256_add_epi32(lane_col, _mm256_set1_epi32(h.begin * width));
        for (int32_t ih = h.begin; ih < h.end; ih += p->dilation_height) {
            const float* row = in + (int64_t)ih * width + col0;
            for (int32_t kw = 0; kw < p->kernel_width; kw++) {
                const __m256 v = cnn_avx2_load_strided(row + kw * dw, sw, d->gather_index);
                const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ),
                                                 _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                best = _mm256_blendv_ps(best, v, take);
                const __m256i tap =
                    _mm256_add_epi32(lane_col, _mm256_set1_epi32(ih * width + kw * dw));
                best_index = _mm256_castps_si256(_mm256_blendv_ps(
                    _mm256_castsi256_ps(best_index), _mm256_castsi256_ps(tap), take));
            }
        }
        _mm256_storeu_si256((__m256i*)index, best_index);
        for (int l = 0; l < 8; l++) target[index[l]] += go[ow + l];
    }
    cnn_pool2d_backward_row_scalar(b, plane, oh, ow, plan->out_width, target);
}

cnn_status cnn_f32_pool2d_backward_avx2(cnn_context* ctx, const cnn_pool2d_params* p,
                                        int32_t out_height, int32_t out_width,
                                        const float* input, const float* output,
                                        const float* grad_output, int32_t accumulate,
                                        float* grad_input) {
    cnn_pool2d_backward_plan b;
    cnn_pool2d_backward_plan_init(&b, p, out_height, out_width, input, grad_output, accumulate,
                                  grad_input);
    pool2d_backward_avx2_data d;
    const int32_t sw = p->stride_width;
    d.gather_index =
        _mm256_mullo_epi32(_mm256_set1_epi32(sw), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    d.lane_offset = d.gather_index;
    /* Interior as the forward kernel; indices must fit int32. */
    cnn_pool2d_interior_columns(p, out_width, &d.ow_lo, &d.ow_hi);
    if (p->kind == CNN_POOL_MAX && d.ow_hi - d.ow_lo >= 8 && (int64_t)sw * 7 <= INT_MAX &&
        (int64_t)p->in_height * p->in_width + (int64_t)sw * 8 < INT_MAX) {
        b.row = max_row_avx2;
        b.isa_data = &d;
    }
    return cnn_pool2d_backward_run(ctx, &b);
}
