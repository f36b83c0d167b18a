/* f32-add-avx2.c — residual add: out = a + b over L1-sized blocks, then the activation in place
 * on the block (output may alias a or b: each vector is loaded before it is stored). */
#include "avx2-math.h"
#include "ops-common.h"

static inline __m256 add_pair(const float* a, const float* b, int64_t i) {
    return _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
}

static void add_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_elementwise_job* job = (const cnn_elementwise_job*)arg;
    for (int64_t block = begin; block < end; block += CNN_AVX2_EPILOGUE_BLOCK) {
        const int64_t n =
            end - block < CNN_AVX2_EPILOGUE_BLOCK ? end - block : CNN_AVX2_EPILOGUE_BLOCK;
        const float* a = job->a + block;
        const float* b = job->b + block;
        float* out = job->output + block;
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const __m256 s0 = add_pair(a, b, i), s1 = add_pair(a, b, i + 8);
            _mm256_storeu_ps(out + i, s0);
            _mm256_storeu_ps(out + i + 8, s1);
        }
        for (; i < n; i += 8) {
            const __m256i m = cnn_avx2_tail_mask(n - i);
            _mm256_maskstore_ps(
                out + i, m,
                _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
        }
        cnn_avx2_activation_span(job->activation, out, out, n);
    }
}

cnn_status cnn_f32_add_avx2(cnn_context* ctx, int64_t count, const float* a, const float* b,
                            cnn_activation activation, float* output) {
    cnn_elementwise_job job = {a, b, activation, output};
    cnn_parallel_for(ctx, count, 4 * CNN_PARALLEL_GRAIN_WORK, add_task, &job);
    return CNN_STATUS_SUCCESS;
}
