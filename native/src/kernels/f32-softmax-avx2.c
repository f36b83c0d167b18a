/*
 * f32-softmax-avx2.c — softmax / log-softmax over the middle axis of [outer, classes, inner].
 *  inner == 1: each row is contiguous: vector max, vector exp + sum (exp stored for softmax),
 *              then one scaling pass; tails masked.
 *  inner  > 1: 8 adjacent columns at a time (contiguous along inner, masked at the end of a
 *              row), walking the classes with stride inner.
 * Same formulas as the reference (exp from avx2-math.h, sums in float, y = e / s or
 * y = (x - m) - log(s)). output may alias input.
 */
#include <math.h>

#include "avx2-math.h"
#include "ops-common.h"

typedef struct {
    int64_t classes, inner, blocks_per_row;
    int32_t log_softmax;
    const float* input;
    float* output;
} softmax_job;

static void softmax_rows_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const softmax_job* job = (const softmax_job*)arg;
    const int64_t n = job->classes;
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    for (int64_t row = begin; row < end; row++) {
        const float* x = job->input + row * n;
        float* y = job->output + row * n;
        const int64_t full = n & ~(int64_t)7;
        const __m256i tail = cnn_avx2_tail_mask(n - full);

        __m256 vmax0 = neg_inf, vmax1 = neg_inf;
        int64_t i = 0;
        for (; i + 16 <= full; i += 16) {
            vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x + i));
            vmax1 = _mm256_max_ps(vmax1, _mm256_loadu_ps(x + i + 8));
        }
        if (i < full) vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x + i));
        if (full < n)
            vmax1 =
                _mm256_max_ps(vmax1, _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(x + full, tail),
                                                      _mm256_castsi256_ps(tail)));
        const __m256 m = _mm256_set1_ps(cnn_avx2_hmax_ps(_mm256_max_ps(vmax0, vmax1)));

        __m256 vsum = _mm256_setzero_ps();
        for (i = 0; i < full; i += 8) {
            const __m256 e = cnn_avx2_exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
            if (!job->log_softmax) _mm256_storeu_ps(y + i, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        if (full < n) {
            __m256 e = cnn_avx2_exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), m));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(tail));
            if (!job->log_softmax) _mm256_maskstore_ps(y + full, tail, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        const float sum = cnn_avx2_hsum_ps(vsum);

        if (job->log_softmax) {
            const __m256 log_sum = _mm256_set1_ps(logf(sum));
            for (i = 0; i < full; i += 8)
                _mm256_storeu_ps(y + i,
                                 _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), log_sum));
            if (full < n)
                _mm256_maskstore_ps(
                    y + full, tail,
                    _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), m), log_sum));
        } else {
            const __m256 s = _mm256_set1_ps(sum);
            for (i = 0; i < full; i += 8)
                _mm256_storeu_ps(y + i, _mm256_div_ps(_mm256_loadu_ps(y + i), s));
            if (full < n)
                _mm256_maskstore_ps(y + full, tail,
                                    _mm256_div_ps(_mm256_maskload_ps(y + full, tail), s));
        }
    }
}

static void softmax_columns_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const softmax_job* job = (const softmax_job*)arg;
    const int64_t classes = job->classes, inner = job->inner;
    for (int64_t item = begin; item < end; item++) {
        const int64_t column = item % job->blocks_per_row * 8;
        const int64_t offset = item / job->blocks_per_row * classes * inner + column;
        const float* x = job->input + offset;
        float* y = job->output + offset;
        const __m256i mask = cnn_avx2_tail_mask(inner - column < 8 ? inner - column : 8);

        __m256 m = _mm256_set1_ps(-INFINITY);
        for (int64_t c = 0; c < classes; c++)
            m = _mm256_max_ps(m, _mm256_maskload_ps(x + c * inner, mask));
        __m256 sum = _mm256_setzero_ps();
        for (int64_t c = 0; c < classes; c++) {
            const __m256 e =
                cnn_avx2_exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + c * inner, mask), m));
            if (!job->log_softmax) _mm256_maskstore_ps(y + c * inner, mask, e);
            sum = _mm256_add_ps(sum, e);
        }
        if (job->log_softmax) {
            float lanes[8];
            _mm256_storeu_ps(lanes, sum);
            for (int k = 0; k < 8; k++) lanes[k] = logf(lanes[k]);
            const __m256 log_sum = _mm256_loadu_ps(lanes);
            for (int64_t c = 0; c < classes; c++) {
                const __m256 v = _mm256_maskload_ps(x + c * inner, mask);
                _mm256_maskstore_ps(y + c * inner, mask,
                                    _mm256_sub_ps(_mm256_sub_ps(v, m), log_sum));
            }
        } else {
            for (int64_t c = 0; c < classes; c++)
                _mm256_maskstore_ps(y + c * inner, mask,
                                    _mm256_div_ps(_mm256_maskload_ps(y + c * inner, mask), sum));
        }
    }
}

cnn_status cnn_f32_softmax_avx2(cnn_context* ctx, int32_t outer, int32_t classes, int32_t inner,
                                int32_t log_softmax, const float* input, float* output) {
    softmax_job job = {classes, inner, (inner + 7) / 8, log_softmax, input, output};
    if (inner == 1) {
        const int64_t grain = 4 * CNN_PARALLEL_GRAIN_WORK / classes;
        cnn_parallel_for(ctx, outer, grain > 1 ? grain : 1, softmax_rows_task, &job);
    } else {
        const int64_t grain = 4 * CNN_PARALLEL_GRAIN_WORK / ((int64_t)classes * 8);
        cnn_parallel_for(ctx, (int64_t)outer * job.blocks_per_row, grain > 1 ? grain : 1,
                         softmax_columns_task, &job);
    }
    return CNN_STATUS_SUCCESS;
}
