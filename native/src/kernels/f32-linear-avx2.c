/* f32-linear-avx2.c — fully connected layer.
 * Batch >= CNN_LINEAR_GEMM_MIN_BATCH: the 6x16 AVX2 GEMM micro-kernel. out[B x O] = in[B x I] *
 * W^T: A is the input (rows read in place), B is W^T, packed per 16-output panel ([I][16],
 * zero-padded columns) into per-thread scratch; bias is a column bias in the epilogue. Work
 * items are (output panel, batch-row block); consecutive items of a thread share a panel, so
 * each thread packs a panel once.
 * Smaller batches (matrix-vector, memory bound): packing W would cost as much as the product,
 * so 4 rows of W at a time are dotted with each input row straight from W (8-wide FMA over
 * in_features, two accumulators per row), bias and activation per output. */
#include <immintrin.h>

#include "f32-gemm.h"

#define CNN_LINEAR_GEMM_MIN_BATCH 16
#define CNN_LINEAR_DOT_ROWS 4

typedef struct {
    int64_t batch, in_features, out_features;
    int64_t panels, row_block, row_blocks;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
    float* scratch;
    size_t panel_floats; /* per thread */
} linear_job;

/* packed[i*16 + j] = weight[(o0 + j) * I + i] for j < nr, 0 for the padding columns.
 * Sequential writes; the 16 source rows are read as 16 parallel streams. */
static void pack_weight_panel(const linear_job* job, int64_t o0, int64_t nr, float* packed) {
    const int64_t in_f = job->in_features;
    const float* w = job->weight + o0 * in_f;
    for (int64_t i = 0; i < in_f; i++) {
        float* dst = packed + i * 16;
        int64_t j = 0;
        for (; j < nr; j++) dst[j] = w[j * in_f + i];
        for (; j < 16; j++) dst[j] = 0.0f;
    }
}

static void linear_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const linear_job* job = (const linear_job*)arg;
    float* packed = job->scratch + (size_t)thread_index * job->panel_floats;
    int64_t packed_panel = -1;
    for (int64_t item = begin; item < end; item++) {
        const int64_t panel = item / job->row_blocks;
        const int64_t rb = item % job->row_blocks;
        const int64_t o0 = panel * CNN_F32_GEMM_NR;
        const int64_t nr =
            job->out_features - o0 < CNN_F32_GEMM_NR ? job->out_features - o0 : CNN_F32_GEMM_NR;
        if (panel != packed_panel) {
            pack_weight_panel(job, o0, nr, packed);
            packed_panel = panel;
        }
        const cnn_f32_gemm_epilogue epi = {NULL, job->bias != NULL ? job->bias + o0 : NULL,
                                           job->activation, 0};
        const int64_t m_begin = rb * job->row_block;
        const int64_t m_end =
            m_begin + job->row_block < job->batch ? m_begin + job->row_block : job->batch;
        for (int64_t m = m_begin; m < m_end; m += CNN_F32_GEMM_MR) {
            const size_t mr = (size_t)(m_end - m < CNN_F32_GEMM_MR ? m_end - m : CNN_F32_GEMM_MR);
            cnn_f32_gemm_6x16_avx2(mr, (size_t)nr, (size_t)job->in_features,
                                   job->input + m * job->in_features, (size_t)job->in_features,
                                   packed, 16, job->output + m * job->out_features + o0,
                                   (size_t)job->out_features, &epi);
        }
    }
}

/* sum_i x[i] * w_r[i] for NROWS rows of W (NROWS a constant in each call). */
static inline __attribute__((always_inline)) void dot_rows(const float* x, const float* w,
                                                           int64_t in_f, int nrows, float* sums) {
    __m256 acc[CNN_LINEAR_DOT_ROWS][2];
    for (int r = 0; r < nrows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= in_f; i += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
        for (int r = 0; r < nrows; r++) {
            acc[r][0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + r * in_f + i), x0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(_mm256_loadu_ps(w + r * in_f + i + 8), x1, acc[r][1]);
        }
    }
    for (; i < in_f; i += 8) {
        const __m256i m = cnn_avx2_tail_mask(in_f - i < 8 ? in_f - i : 8);
        const __m256 x0 = _mm256_maskload_ps(x + i, m);
        for (int r = 0; r < nrows; r++)
            acc[r][0] = _mm256_fmadd_ps(_mm256_maskload_ps(w + r * in_f + i, m), x0, acc[r][0]);
    }
    for (int r = 0; r < nrows; r++) sums[r] = cnn_avx2_hsum_ps(_mm256_add_ps(acc[r][0], acc[r][1]));
}

static void linear_dot_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const linear_job* job = (const linear_job*)arg;
    const int64_t in_f = job->in_features, out_f = job->out_features;
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t o0 = blk * CNN_LINEAR_DOT_ROWS;
        const int64_t rows = out_f - o0 < CNN_LINEAR_DOT_ROWS ? out_f - o0 : CNN_LINEAR_DOT_ROWS;
        const float* w = job->weight + o0 * in_f;
        for (int64_t b = 0; b < job->batch; b++) {
            float sums[CNN_LINEAR_DOT_ROWS];
            const float* x = job->input + b * in_f;
            switch (rows) {
                case 1: dot_rows(x, w, in_f, 1, sums); break;
                case 2: dot_rows(x, w, in_f, 2, sums); break;
                case 3: dot_rows(x, w, in_f, 3, sums); break;
                default: dot_rows(x, w, in_f, 4, sums); break;
            }
            float* y = job->output + b * out_f + o0;
            for (int64_t r = 0; r < rows; r++)
                y[r] = sums[r] + (job->bias != NULL ? job->bias[o0 + r] : 0.0f);
            cnn_avx2_activation_span(job->activation, y, y, rows);
        }
    }
}

cnn_status cnn_f32_linear_avx2(cnn_context* ctx, int32_t batch, int32_t in_features,
                               int32_t out_features, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output) {
    linear_job job = {0};
    job.batch = batch;
    job.in_features = in_features;
    job.out_features = out_features;
    job.input = input;
    job.weight = weight;
    job.bias = bias;
    job.activation = activation;
    job.output = output;
    if (batch < CNN_LINEAR_GEMM_MIN_BATCH) {
        /* One chunk per ~64k multiply-adds. */
        const int64_t blocks =
            ((int64_t)out_features + CNN_LINEAR_DOT_ROWS - 1) / CNN_LINEAR_DOT_ROWS;
        const int64_t macs = (int64_t)batch * in_features * CNN_LINEAR_DOT_ROWS;
        cnn_parallel_for(ctx, blocks, macs >= 65536 ? 1 : 65536 / macs + 1, linear_dot_task, &job);
        return CNN_STATUS_SUCCESS;
    }
    job.panels = ((int64_t)out_features + CNN_F32_GEMM_NR - 1) / CNN_F32_GEMM_NR;
    job.panel_floats = (size_t)in_features * 16;

    /* Few output panels and many rows: also split the batch rows among threads. */
    const int64_t want_items = 4 * (int64_t)ctx->num_threads;
    job.row_block = ((int64_t)batch + CNN_F32_GEMM_MR - 1) / CNN_F32_GEMM_MR * CNN_F32_GEMM_MR;
    if (ctx->num_threads > 1 && job.panels < want_items && batch >= 2 * CNN_F32_GEMM_MR) {
        const int64_t blocks = (want_items + job.panels - 1) / job.panels;
        job.row_block = ((batch + blocks - 1) / blocks + CNN_F32_GEMM_MR - 1) / CNN_F32_GEMM_MR *
                        CNN_F32_GEMM_MR;
    }
    job.row_blocks = (batch + job.row_block - 1) / job.row_block;
    const int64_t items = job.panels * job.row_blocks;

    /* Tiny layers: one chunk per ~64k multiply-adds so waking threads is worth it. */
    const int64_t macs_per_item = job.row_block * in_features * CNN_F32_GEMM_NR;
    const int64_t grain = macs_per_item >= 65536 ? 1 : 65536 / macs_per_item + 1;
    const int32_t chunks = cnn_parallel_chunks(ctx, items, grain);
    job.scratch =
        (float*)cnn_context_scratch(ctx, (size_t)chunks * job.panel_floats * sizeof(float));
    if (job.scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_parallel_for(ctx, items, grain, linear_task, &job);
    return CNN_STATUS_SUCCESS;
}
