/* f32-linear-backward-avx2.c — gradients of the fully connected layer on a GEMM micro-kernel
 * descriptor (f32-gemm.h: the AVX2 6x16 tile here, the AVX-512 8x32 one through
 * f32-linear-backward-avx512.c), its epilogue adding into the gradient when accumulate = 1:
 *   grad_input[B x I]  = dY[B x O] * W[O x I]:   A = dY rows (in place), B = W rows (in place);
 *   grad_weight[O x I] = dY^T[O x B] * X[B x I]: A = dY^T (packed once per call, O*B floats),
 *                                                 B = X rows (in place);
 *   grad_bias[O]       = sum over b of dY rows (8 outputs per vector, in batch order).
 * Work items are MR x NR output tiles; each element is computed by one tile with a fixed
 * summation order, so results do not depend on the thread count. */
#include <immintrin.h>

#include "f32-gemm.h"

/* Multiply-adds a chunk needs to be worth waking a pool thread (~10 us on a busy machine):
 * LeNet's fc3 (84 -> 10, batch 64) stays on the calling thread. */
#define MIN_CHUNK_MACS 262144

typedef struct {
    const cnn_f32_gemm_ukernel* uk;
    int64_t rows, cols, k; /* C is rows x cols, k the reduction length */
    int64_t panels;        /* NR-column panels of C */
    const float* a;        /* rows x k, lda = k */
    const float* b;        /* k x cols, ldb = cols */
    int32_t accumulate;
    float* c; /* rows x cols */
} gemm_job;

static void gemm_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const gemm_job* job = (const gemm_job*)arg;
    const cnn_f32_gemm_epilogue epi = {NULL, NULL, CNN_ACTIVATION_NONE, job->accumulate};
    const int64_t MR = job->uk->mr, NR = job->uk->nr;
    for (int64_t item = begin; item < end; item++) {
        const int64_t m = (item / job->panels) * MR;
        const int64_t j = (item % job->panels) * NR;
        const size_t mr = (size_t)(job->rows - m < MR ? job->rows - m : MR);
        const size_t nr = (size_t)(job->cols - j < NR ? job->cols - j : NR);
        job->uk->gemm(mr, nr, (size_t)job->k, job->a + m * job->k, (size_t)job->k, job->b + j,
                      (size_t)job->cols, job->c + m * job->cols + j, (size_t)job->cols, &epi);
    }
}

/* C = [C +] A * B on the thread pool, one MR x NR tile per item, >= MIN_CHUNK_MACS per chunk. */
static void run_gemm(cnn_context* ctx, gemm_job* job) {
    const int64_t MR = job->uk->mr, NR = job->uk->nr;
    job->panels = (job->cols + NR - 1) / NR;
    const int64_t items = (job->rows + MR - 1) / MR * job->panels;
    const int64_t macs = job->k * MR * NR;
    cnn_parallel_for(ctx, items, macs >= MIN_CHUNK_MACS ? 1 : MIN_CHUNK_MACS / macs + 1, gemm_task,
                     job);
}

cnn_status cnn_f32_linear_backward_data_gemm(cnn_context* ctx, int32_t batch, int32_t in_features,
                                             int32_t out_features, const float* grad_output,
                                             const float* weight, int32_t accumulate,
                                             float* grad_input,
                                             const cnn_f32_gemm_ukernel* ukernel) {
    gemm_job job = {ukernel,     batch,  in_features, out_features, 0,
                    grad_output, weight, accumulate,  grad_input};
    run_gemm(ctx, &job);
    return CNN_STATUS_SUCCESS;
}

typedef struct {
    int64_t batch, out_features;
    const float* grad_output;
    int32_t accumulate;
    float* dst; /* dY^T [O][B] (transpose) or grad_bias [O] (bias) */
} linear_aux_job;

/* dY^T rows [begin, end): dst[o*B + b] = dY[b*O + o]. */
static void transpose_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const linear_aux_job* job = (const linear_aux_job*)arg;
    for (int64_t o = begin; o < end; o++)
        for (int64_t b = 0; b < job->batch; b++)
            job->dst[o * job->batch + b] = job->grad_output[b * job->out_features + o];
}

/* Bias for blocks of 8 outputs [begin, end). */
static void bias_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const linear_aux_job* job = (const linear_aux_job*)arg;
    const int64_t out_f = job->out_features;
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t o = blk * 8;
        const __m256i m = cnn_avx2_tail_mask(out_f - o < 8 ? out_f - o : 8);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < job->batch; b++)
            acc = _mm256_add_ps(acc, _mm256_maskload_ps(job->grad_output + b * out_f + o, m));
        if (job->accumulate) acc = _mm256_add_ps(_mm256_maskload_ps(job->dst + o, m), acc);
        _mm256_maskstore_ps(job->dst + o, m, acc);
    }
}

cnn_status cnn_f32_linear_backward_weights_gemm(cnn_context* ctx, int32_t batch,
                                                int32_t in_features, int32_t out_features,
                                                const float* input, const float* grad_output,
                                                int32_t accumulate, float* grad_weight,
                                                float* grad_bias,
                                                const cnn_f32_gemm_ukernel* ukernel) {
    if (grad_bias != NULL) {
        linear_aux_job bj = {batch, out_features, grad_output, accumulate, grad_bias};
        cnn_parallel_for(ctx, ((int64_t)out_features + 7) / 8, 65536 / (8 * (int64_t)batch) + 1,
                         bias_task, &bj);
    }
    float* dyt = (float*)cnn_context_scratch(ctx, (size_t)batch * out_features * sizeof(float));
    if (dyt == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    linear_aux_job tj = {batch, out_features, grad_output, 0, dyt};
    cnn_parallel_for(ctx, out_features, 65536 / (int64_t)batch + 1, transpose_task, &tj);
    gemm_job job = {ukernel, out_features, in_features, batch,
                    0,       dyt,          input,       accumulate, grad_weight};
    run_gemm(ctx, &job);
    return CNN_STATUS_SUCCESS;
}

/* The AVX2 table entries: the drivers above on the 6x16 tile. */
CNN_F32_LINEAR_BACKWARD_ENTRIES(avx2, cnn_f32_ukernel_6x16_avx2)
