/*
 * train-avx2.h — the element loop shared by the AVX2 training kernels (dropout, mul, axpy,
 * optimizer steps); include only from *-avx2.c files. A body processes the 8 floats at index i:
 * whole vectors with plain loads/stores, the last partial vector of a chunk with masked ones,
 * so every element goes through the same vector code whatever the chunking.
 */
#ifndef CNN_KERNELS_TRAIN_AVX2_H
#define CNN_KERNELS_TRAIN_AVX2_H

#include "avx2-math.h"
#include "train-common.h"

#define CNN_AVX2_INLINE static CNN_ALWAYS_INLINE

/* `full` is a constant at every call site after inlining, so the branch folds away. */
CNN_AVX2_INLINE __m256 cnn_avx2_load(const float* p, __m256i mask, int full) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

CNN_AVX2_INLINE void cnn_avx2_store(float* p, __m256 v, __m256i mask, int full) {
    if (full)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, mask, v);
}

/* Defines `static void name(const job_type* job, begin, end)` calling
 * BODY(job, i, mask, full) on each vector of [begin, end). */
#define CNN_AVX2_ELEMENT_LOOP(name, job_type, BODY)                     \
    static void name(const job_type* job, int64_t begin, int64_t end) { \
        int64_t i = begin;                                              \
        const __m256i all_lanes = _mm256_set1_epi32(-1);                \
        for (; i + 8 <= end; i += 8) BODY(job, i, all_lanes, 1);        \
        if (i < end) BODY(job, i, cnn_avx2_tail_mask(end - i), 0);      \
    }

#endif
