/* f32-linear-gemm.c — fully connected layer as GEMM on a vector micro-kernel (the AVX2 6x16 or
 * the AVX-512 8x32, passed in by f32-linear-{avx2,avx512}.c for batches large enough to pay for
 * packing W; smaller batches run the GEMV of f32-linear-gemv.h). Plain C: one copy for every ISA.
 * out[B x O] = in[B x I] * W^T: A is the input (rows read in place), B is W^T, packed per
 * NR-output panel ([I][NR], zero-padded columns) into per-thread scratch; bias is a column bias
 * in the epilogue. Work items are (output panel, batch-row block); consecutive items of a thread
 * share a panel, so each thread packs a panel once. */
#include "f32-gemm.h"

typedef struct {
    const cnn_f32_gemm_ukernel* uk;
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

/* packed[i*NR + j] = weight[(o0 + j) * I + i] for j < nr, 0 for the padding columns.
 * Sequential writes; the NR source rows are read as NR parallel streams. */
static void pack_weight_panel(const linear_job* job, int64_t o0, int64_t nr, float* packed) {
    const int64_t in_f = job->in_features, NR = job->uk->nr;
    const float* w = job->weight + o0 * in_f;
    for (int64_t i = 0; i < in_f; i++) {
        float* dst = packed + i * NR;
        int64_t j = 0;
        for (; j < nr; j++) dst[j] = w[j * in_f + i];
        for (; j < NR; j++) dst[j] = 0.0f;
    }
}

static void linear_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const linear_job* job = (const linear_job*)arg;
    const int64_t MR = job->uk->mr, NR = job->uk->nr;
    float* packed = job->scratch + (size_t)thread_index * job->panel_floats;
    int64_t packed_panel = -1;
    for (int64_t item = begin; item < end; item++) {
        const int64_t panel = item / job->row_blocks;
        const int64_t rb = item % job->row_blocks;
        const int64_t o0 = panel * NR;
        const int64_t nr = job->out_features - o0 < NR ? job->out_features - o0 : NR;
        if (panel != packed_panel) {
            pack_weight_panel(job, o0, nr, packed);
            packed_panel = panel;
        }
        const cnn_f32_gemm_epilogue epi = {NULL, job->bias != NULL ? job->bias + o0 : NULL,
                                           job->activation, 0};
        const int64_t m_begin = rb * job->row_block;
        const int64_t m_end =
            m_begin + job->row_block < job->batch ? m_begin + job->row_block : job->batch;
        for (int64_t m = m_begin; m < m_end; m += MR) {
            const size_t mr = (size_t)(m_end - m < MR ? m_end - m : MR);
            job->uk->gemm(mr, (size_t)nr, (size_t)job->in_features,
                          job->input + m * job->in_features, (size_t)job->in_features, packed,
                          (size_t)NR, job->output + m * job->out_features + o0,
                          (size_t)job->out_features, &epi);
        }
    }
}

cnn_status cnn_f32_linear_gemm(cnn_context* ctx, int32_t batch, int32_t in_features,
                               int32_t out_features, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output,
                               const cnn_f32_gemm_ukernel* ukernel) {
    const int64_t MR = ukernel->mr, NR = ukernel->nr;
    linear_job job = {0};
    job.uk = ukernel;
    job.batch = batch;
    job.in_features = in_features;
    job.out_features = out_features;
    job.input = input;
    job.weight = weight;
    job.bias = bias;
    job.activation = activation;
    job.output = output;
    job.panels = ((int64_t)out_features + NR - 1) / NR;
    job.panel_floats = (size_t)in_features * (size_t)NR;

    /* Few output panels and many rows: also split the batch rows among threads. */
    const int64_t want_items = 4 * (int64_t)ctx->num_threads;
    job.row_block = ((int64_t)batch + MR - 1) / MR * MR;
    if (ctx->num_threads > 1 && job.panels < want_items && batch >= 2 * MR) {
        const int64_t blocks = (want_items + job.panels - 1) / job.panels;
        job.row_block = ((batch + blocks - 1) / blocks + MR - 1) / MR * MR;
    }
    job.row_blocks = (batch + job.row_block - 1) / job.row_block;
    const int64_t items = job.panels * job.row_blocks;

    /* Small layers: one chunk per CNN_LINEAR_THREAD_MACS so waking threads is worth it. */
    const int64_t macs_per_item = job.row_block * in_features * NR;
    const int64_t grain =
        macs_per_item >= CNN_LINEAR_THREAD_MACS ? 1 : CNN_LINEAR_THREAD_MACS / macs_per_item + 1;
    const int32_t chunks = cnn_parallel_chunks(ctx, items, grain);
    job.scratch =
        (float*)cnn_context_scratch(ctx, (size_t)chunks * job.panel_floats * sizeof(float));
    if (job.scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_parallel_for(ctx, items, grain, linear_task, &job);
    return CNN_STATUS_SUCCESS;
}
