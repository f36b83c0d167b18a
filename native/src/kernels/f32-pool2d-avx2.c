/*
 * f32-pool2d-avx2.c — 2D pooling, 8 adjacent outputs of a row at a time.
 *
 * Max and average pooling with stride_width 1 or 2 (nearly every network) run the row-cached
 * code of f32-pool2d-rows.h (shared with the AVX-512 kernel). Everything else (LP, wider
 * strides) is done here: per output row the columns whose window lies entirely inside the input ("interior") are
 * computed in vectors: the tap at (ih, kw) of outputs ow..ow+7 is a strided load of 8 floats
 * (stride 1: one load; stride 2: two loads + a deinterleave; larger strides: a gather).
 * Border columns, row remainders and LP exponents other than 1, 2, 3, 0.5 go through the
 * reference row code (cnn_pool2d_row_scalar). The vector path accumulates taps in the same
 * order and divides by the same divisor as the reference, so results match it bit for bit
 * (except x^(1/p) for unusual p, which uses the same scalar function per lane anyway).
 */
#include <limits.h>
#include <math.h>

#include "avx2-math.h"
#include "f32-pool-vec-avx2.h"
#include "f32-pool2d-rows.h"
#include "ops-common.h"

typedef struct {
    cnn_pool2d_plan plan;
    int32_t ow_lo, ow_hi; /* interior output columns [ow_lo, ow_hi) */
    int32_t vector_rows;  /* 0: every row uses the reference code */
    __m256i gather_index; /* 0, s, 2s, ... 7s for strides >= 3 */
} pool2d_job;

/* The reference's "if (v > m || isnan(v)) m = v", lane by lane. */
static inline __m256 max_propagate_nan(__m256 m, __m256 v) {
    return _mm256_blendv_ps(_mm256_max_ps(v, m), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

static inline int lp_pow_is_vector(float e) {
    return e == 1.0f || e == 2.0f || e == 3.0f || e == 0.5f;
}

/* cnn_pool2d_lp_pow for the exponents lp_pow_is_vector accepts. */
static inline __m256 lp_pow_ps(__m256 x, float e) {
    if (e == 1.0f) return x;
    if (e == 2.0f) return _mm256_mul_ps(x, x);
    if (e == 3.0f) return _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    return _mm256_sqrt_ps(x);
}

/* Outputs ow..ow+7 of one row (all interior columns). */
static inline __m256 pool_block(const pool2d_job* job, const float* in, cnn_pool2d_extent h,
                                int32_t ow) {
    const cnn_pool2d_plan* plan = &job->plan;
    const cnn_pool2d_params* p = plan->p;
    const int64_t width = p->in_width;
    const int32_t sw = p->stride_width, kw_count = p->kernel_width;
    const float* row0 = in + (int64_t)ow * sw - p->pad_width;

    if (p->kind == CNN_POOL_MAX) {
        __m256 m = _mm256_set1_ps(-INFINITY);
        for (int32_t ih = h.begin; ih < h.end; ih += p->dilation_height)
            for (int32_t kw = 0; kw < kw_count; kw++)
                m = max_propagate_nan(
                    m, cnn_avx2_load_strided(row0 + ih * width + (int64_t)kw * p->dilation_width, sw,
                                    job->gather_index));
        return m;
    }
    const int is_lp = p->kind == CNN_POOL_LP;
    __m256 sum = _mm256_setzero_ps();
    for (int32_t ih = h.begin; ih < h.end; ih++)
        for (int32_t kw = 0; kw < kw_count; kw++) {
            const __m256 v = cnn_avx2_load_strided(row0 + ih * width + kw, sw, job->gather_index);
            sum = _mm256_add_ps(sum, is_lp ? lp_pow_ps(v, plan->lp_exponent) : v);
        }
    /* Interior columns: the window width is kernel_width both with and without padding. */
    const int64_t valid = (int64_t)(h.end - h.begin) * kw_count;
    const int64_t pool = (int64_t)h.pool_extent * kw_count;
    int64_t divisor = p->count_include_pad ? pool : valid;
    if (is_lp)
        divisor = pool;
    else if (p->divisor_override > 0)
        divisor = p->divisor_override;
    __m256 mean = _mm256_div_ps(sum, _mm256_set1_ps((float)divisor));
    if (!is_lp) return mean;
    /* cnn_pool2d_lp_finish: -0 -> +0 (x + 0 changes nothing else), * kW*kH, ^(1/p). */
    mean = _mm256_mul_ps(_mm256_add_ps(mean, _mm256_setzero_ps()), _mm256_set1_ps(plan->lp_scale));
    if (lp_pow_is_vector(plan->lp_root)) return lp_pow_ps(mean, plan->lp_root);
    float lanes[8];
    _mm256_storeu_ps(lanes, mean);
    for (int k = 0; k < 8; k++) lanes[k] = cnn_pool2d_lp_pow(lanes[k], plan->lp_root);
    return _mm256_loadu_ps(lanes);
}

static void pool2d_rows_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const pool2d_job* job = (const pool2d_job*)arg;
    const cnn_pool2d_plan* plan = &job->plan;
    const cnn_pool2d_params* p = plan->p;
    for (int64_t row = begin; row < end; row++) {
        const int32_t oh = (int32_t)(row % plan->out_height);
        const cnn_pool2d_extent h =
            cnn_pool2d_window(p->kind, oh, p->stride_height, p->pad_height, p->kernel_height,
                              p->dilation_height, p->in_height);
        if (!job->vector_rows || h.begin >= h.end) {
            cnn_pool2d_row_scalar(plan, row, 0, plan->out_width);
            continue;
        }
        const float* in =
            plan->input + row / plan->out_height * p->in_height * (int64_t)p->in_width;
        float* out = plan->output + row * plan->out_width;
        cnn_pool2d_row_scalar(plan, row, 0, job->ow_lo);
        int32_t ow = job->ow_lo;
        for (; ow + 8 <= job->ow_hi; ow += 8)
            _mm256_storeu_ps(out + ow, pool_block(job, in, h, ow));
        cnn_pool2d_row_scalar(plan, row, ow, plan->out_width);
    }
}

cnn_status cnn_f32_pool2d_avx2(cnn_context* ctx, const cnn_pool2d_params* p, int32_t out_height,
                               int32_t out_width, const float* input, float* output) {
    cnn_status status;
    if (pool2d_rows_run(ctx, p, out_height, out_width, input, output, &status)) return status;
    pool2d_job job;
    cnn_pool2d_plan_init(&job.plan, p, out_height, out_width, input, output);
    const int32_t sw = p->stride_width;
    job.gather_index =
        _mm256_mullo_epi32(_mm256_set1_epi32(sw), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    cnn_pool2d_interior_columns(p, out_width, &job.ow_lo, &job.ow_hi);
    job.vector_rows = job.ow_hi - job.ow_lo >= 8 && (int64_t)sw * 7 <= INT_MAX &&
                      (p->kind != CNN_POOL_LP || lp_pow_is_vector(job.plan.lp_exponent));

    const int64_t rows = (int64_t)p->batch * p->channels * out_height;
    cnn_parallel_for(ctx, rows, cnn_pool2d_row_grain(&job.plan), pool2d_rows_task, &job);
    return CNN_STATUS_SUCCESS;
}
