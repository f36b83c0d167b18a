/* f32-activation-backward-avx2.c — activation gradients 8 lanes at a time, tails masked: from
 * the forward output (the same operations in the same order as the reference, so bit-identical
 * to it) and from the forward input (cnn_activation_backward_from_input; exp / erf / tanh by the
 * vector math of avx2-math.h, so within a few ulp of the reference). */
#include "avx2-math.h"
#include "ops-common.h"

static inline __m256 act_bwd(cnn_activation a, __m256 y, __m256 g) {
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (a) {
        case CNN_ACTIVATION_RELU: /* y <= 0 ? 0 : g  (NaN y keeps g) */
            return _mm256_andnot_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LE_OQ), g);
        case CNN_ACTIVATION_SIGMOID:
            return _mm256_mul_ps(_mm256_mul_ps(g, _mm256_sub_ps(one, y)), y);
        case CNN_ACTIVATION_TANH: return _mm256_mul_ps(g, _mm256_sub_ps(one, _mm256_mul_ps(y, y)));
        case CNN_ACTIVATION_RELU6: /* y <= 0 || y >= 6 ? 0 : g  (NaN y keeps g) */
            return _mm256_andnot_ps(
                _mm256_or_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LE_OQ),
                             _mm256_cmp_ps(y, _mm256_set1_ps(6.0f), _CMP_GE_OQ)),
                g);
        default: return g;
    }
}

/* grad_input[i] (+)= OP(values[i], grad_output[i]) over [begin, end), one task of a job. */
#define ACT_GRAD_TASK(NAME, OP)                                                                 \
    static void NAME(void* arg, int64_t begin, int64_t end, int32_t thread_index) {             \
        (void)thread_index;                                                                     \
        const cnn_backward_job* job = (const cnn_backward_job*)arg;                             \
        const float* y = job->y;                                                                \
        const float* g = job->grad;                                                             \
        float* gi = job->grad_input;                                                            \
        const cnn_activation a = job->activation;                                               \
        int64_t i = begin;                                                                      \
        if (job->accumulate) {                                                                  \
            for (; i + 8 <= end; i += 8)                                                        \
                _mm256_storeu_ps(gi + i, _mm256_add_ps(_mm256_loadu_ps(gi + i),                 \
                                                       OP(a, _mm256_loadu_ps(y + i),            \
                                                          _mm256_loadu_ps(g + i))));            \
        } else {                                                                                \
            for (; i + 8 <= end; i += 8)                                                        \
                _mm256_storeu_ps(gi + i, OP(a, _mm256_loadu_ps(y + i), _mm256_loadu_ps(g + i))); \
        }                                                                                       \
        if (i < end) {                                                                          \
            const __m256i m = cnn_avx2_tail_mask(end - i);                                      \
            __m256 v = OP(a, _mm256_maskload_ps(y + i, m), _mm256_maskload_ps(g + i, m));       \
            if (job->accumulate) v = _mm256_add_ps(_mm256_maskload_ps(gi + i, m), v);           \
            _mm256_maskstore_ps(gi + i, m, v);                                                  \
        }                                                                                       \
    }

ACT_GRAD_TASK(activation_backward_task, act_bwd)

/* Gradient from the forward input x (formulas in f32-activation-grad-scalar.c). */
static inline __m256 act_grad(cnn_activation a, __m256 x, __m256 g) {
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (a) {
        case CNN_ACTIVATION_RELU:
        case CNN_ACTIVATION_RELU6: return act_bwd(a, x, g); /* the same test on x as on y */
        case CNN_ACTIVATION_SIGMOID: {
            const __m256 s = cnn_avx2_sigmoid_ps(x);
            return _mm256_mul_ps(_mm256_mul_ps(g, s), _mm256_sub_ps(one, s));
        }
        case CNN_ACTIVATION_TANH: {
            const __m256 t = cnn_avx2_tanh_ps(x);
            return _mm256_mul_ps(g, _mm256_sub_ps(one, _mm256_mul_ps(t, t)));
        }
        case CNN_ACTIVATION_HARDSWISH: { /* x <= -3 ? 0 : x < 3 ? g * (x / 3 + 0.5) : g */
            const __m256 mid = _mm256_mul_ps(
                g, _mm256_add_ps(_mm256_div_ps(x, _mm256_set1_ps(3.0f)), _mm256_set1_ps(0.5f)));
            const __m256 r =
                _mm256_blendv_ps(g, mid, _mm256_cmp_ps(x, _mm256_set1_ps(3.0f), _CMP_LT_OQ));
            return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-3.0f), _CMP_LE_OQ), r);
        }
        case CNN_ACTIVATION_HARDSIGMOID: { /* -3 < x < 3 ? g / 6 : 0 */
            const __m256 in = _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-3.0f), _CMP_GT_OQ),
                                            _mm256_cmp_ps(x, _mm256_set1_ps(3.0f), _CMP_LT_OQ));
            return _mm256_and_ps(in, _mm256_div_ps(g, _mm256_set1_ps(6.0f)));
        }
        case CNN_ACTIVATION_SILU: { /* g * s * (1 + x * (1 - s)) */
            const __m256 s = cnn_avx2_sigmoid_ps(x);
            return _mm256_mul_ps(_mm256_mul_ps(g, s),
                                 _mm256_fmadd_ps(x, _mm256_sub_ps(one, s), one));
        }
        case CNN_ACTIVATION_GELU: { /* g * (Phi(x) + x * phi(x)) */
            const __m256 cdf = _mm256_mul_ps(
                _mm256_set1_ps(0.5f),
                _mm256_add_ps(one, cnn_avx2_erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)))));
            const __m256 pdf = _mm256_mul_ps(
                cnn_avx2_exp_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(x, x))),
                _mm256_set1_ps(0.39894228040143268f));
            return _mm256_mul_ps(g, _mm256_fmadd_ps(x, pdf, cdf));
        }
        default: return g;
    }
}

ACT_GRAD_TASK(activation_grad_task, act_grad)

cnn_status cnn_f32_activation_backward_avx2(cnn_context* ctx, cnn_activation activation,
                                            int64_t count, const float* output,
                                            const float* grad_output, int32_t accumulate,
                                            float* grad_input) {
    cnn_backward_job job = {output, grad_output, grad_input, 0, activation, accumulate};
    cnn_parallel_for(ctx, count, 16 * CNN_PARALLEL_GRAIN_WORK, activation_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_activation_grad_avx2(cnn_context* ctx, cnn_activation activation,
                                        int64_t count, const float* input,
                                        const float* grad_output, int32_t accumulate,
                                        float* grad_input) {
    cnn_backward_job job = {input, grad_output, grad_input, 0, activation, accumulate};
    cnn_parallel_for(ctx, count, 4 * CNN_PARALLEL_GRAIN_WORK, activation_grad_task, &job);
    return CNN_STATUS_SUCCESS;
}
