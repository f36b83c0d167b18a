/* f32-clip-avx2.c — clamp and its gradient 8 lanes at a time, tails masked; bit-identical to
 * the reference (min/max and compares are exact). */
#include "avx2-math.h"
#include "shape-common.h"

/* max(lo, x) then min(hi, .): x goes second so a NaN x comes out unchanged (as torch.clamp). */
static inline __m256 clip_ps(__m256 x, __m256 lo, __m256 hi) {
    return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
}

static inline __m256 clip_grad_ps(__m256 x, __m256 g, __m256 lo, __m256 hi) {
    const __m256 inside =
        _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), _mm256_cmp_ps(x, hi, _CMP_LE_OQ));
    return _mm256_and_ps(inside, g);
}

static void clip_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_clip_job* job = (const cnn_clip_job*)arg;
    const __m256 lo = _mm256_set1_ps(job->lo), hi = _mm256_set1_ps(job->hi);
    const float* x = job->input;
    float* y = job->output;
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(y + i, clip_ps(_mm256_loadu_ps(x + i), lo, hi));
    if (i < end) {
        const __m256i m = cnn_avx2_tail_mask(end - i);
        _mm256_maskstore_ps(y + i, m, clip_ps(_mm256_maskload_ps(x + i, m), lo, hi));
    }
}

static void clip_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_clip_job* job = (const cnn_clip_job*)arg;
    const __m256 lo = _mm256_set1_ps(job->lo), hi = _mm256_set1_ps(job->hi);
    const float* x = job->input;
    const float* g = job->grad;
    float* gi = job->output;
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        __m256 v = clip_grad_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(g + i), lo, hi);
        if (job->accumulate) v = _mm256_add_ps(_mm256_loadu_ps(gi + i), v);
        _mm256_storeu_ps(gi + i, v);
    }
    if (i < end) {
        const __m256i m = cnn_avx2_tail_mask(end - i);
        __m256 v = clip_grad_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(g + i, m), lo, hi);
        if (job->accumulate) v = _mm256_add_ps(_mm256_maskload_ps(gi + i, m), v);
        _mm256_maskstore_ps(gi + i, m, v);
    }
}

cnn_status cnn_f32_clip_avx2(cnn_context* ctx, int64_t count, const float* input, float min_value,
                             float max_value, float* output) {
    cnn_clip_job job = {input, NULL, output, min_value, max_value, 0};
    cnn_parallel_for(ctx, count, 16 * CNN_PARALLEL_GRAIN_WORK, clip_task, &job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_clip_backward_avx2(cnn_context* ctx, int64_t count, const float* input,
                                      const float* grad_output, float min_value, float max_value,
                                      float* grad_input, int32_t accumulate) {
    cnn_clip_job job = {input, grad_output, grad_input, min_value, max_value, accumulate};
    cnn_parallel_for(ctx, count, 16 * CNN_PARALLEL_GRAIN_WORK, clip_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}
