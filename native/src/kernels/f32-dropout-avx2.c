/* f32-dropout-avx2.c — inverted dropout, 8 elements at a time: the SplitMix64 draws of the 8
 * indices are computed in two 4 x 64-bit vectors (AVX2 has no 64-bit multiply: it is built
 * from three 32 x 32 -> 64 products), their top 24 bits packed to 8 x int32 and compared with
 * the threshold, exactly as f32-dropout-scalar.c does one element at a time. */
#include "train-avx2.h"

/* x * c mod 2^64 per lane, c given as its low and high 32-bit halves (in each lane's low half). */
CNN_AVX2_INLINE __m256i mul64(__m256i x, __m256i c_lo, __m256i c_hi) {
    const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(x, 32), c_lo),
                                           _mm256_mul_epu32(x, c_hi));
    return _mm256_add_epi64(_mm256_mul_epu32(x, c_lo), _mm256_slli_epi64(cross, 32));
}

/* cnn_splitmix64_mix(z) >> 40 per 64-bit lane. */
CNN_AVX2_INLINE __m256i mix_top24(__m256i z) {
    const __m256i m1_lo = _mm256_set1_epi64x((int64_t)(CNN_SPLITMIX64_M1 & 0xFFFFFFFFu));
    const __m256i m1_hi = _mm256_set1_epi64x((int64_t)(CNN_SPLITMIX64_M1 >> 32));
    const __m256i m2_lo = _mm256_set1_epi64x((int64_t)(CNN_SPLITMIX64_M2 & 0xFFFFFFFFu));
    const __m256i m2_hi = _mm256_set1_epi64x((int64_t)(CNN_SPLITMIX64_M2 >> 32));
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), m1_lo, m1_hi);
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), m2_lo, m2_hi);
    return _mm256_srli_epi64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 31)), 40);
}

CNN_AVX2_INLINE void dropout_vector(const cnn_dropout_job* job, int64_t i, __m256i m, int full) {
    const uint64_t g = CNN_SPLITMIX64_GAMMA;
    const __m256i base = _mm256_set1_epi64x((int64_t)(job->key + (uint64_t)i * g));
    const __m256i lanes_lo = _mm256_setr_epi64x(0, (int64_t)g, (int64_t)(2 * g), (int64_t)(3 * g));
    const __m256i lanes_hi = _mm256_add_epi64(lanes_lo, _mm256_set1_epi64x((int64_t)(4 * g)));
    const __m256i k_lo = mix_top24(_mm256_add_epi64(base, lanes_lo)); /* elements i .. i+3 */
    const __m256i k_hi = mix_top24(_mm256_add_epi64(base, lanes_hi)); /* elements i+4 .. i+7 */
    /* dwords [lo0 hi0 lo1 hi1 | lo2 hi2 lo3 hi3] -> [lo0 lo1 lo2 lo3 hi0 hi1 hi2 hi3] */
    const __m256i k =
        _mm256_permutevar8x32_epi32(_mm256_or_si256(k_lo, _mm256_slli_epi64(k_hi, 32)),
                                    _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    const __m256i keep = _mm256_cmpgt_epi32(k, _mm256_set1_epi32(job->threshold - 1));
    const __m256 mask = _mm256_and_ps(_mm256_castsi256_ps(keep), _mm256_set1_ps(job->scale));
    const __m256 x = cnn_avx2_load(job->input + i, m, full);
    cnn_avx2_store(job->mask + i, mask, m, full);
    cnn_avx2_store(job->output + i, _mm256_mul_ps(x, mask), m, full);
}

CNN_AVX2_ELEMENT_LOOP(dropout_elements, cnn_dropout_job, dropout_vector)
CNN_TRAIN_TASK(dropout_task, cnn_dropout_job, dropout_elements)

cnn_status cnn_f32_dropout_avx2(cnn_context* ctx, int64_t count, float p, int64_t seed,
                                const float* input, float* mask, float* output) {
    cnn_dropout_job job = cnn_dropout_job_make(p, seed, input, mask, output);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, dropout_task, &job);
    return CNN_STATUS_SUCCESS;
}
