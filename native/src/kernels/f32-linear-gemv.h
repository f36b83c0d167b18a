/* f32-linear-gemv.h — the fully connected layer of one vector ISA, written once over the vector
 * type: small batches as a GEMV straight from W (memory bound: packing W would cost as much as
 * the product), larger ones on the GEMM driver of f32-linear-gemm.c. Included by
 * f32-linear-{avx2,avx512}.c after they define:
 *   LV_VEC        the vector type              LV_LANES        floats per vector
 *   LV_ZERO()     all-zero vector              LV_LOADU(ptr)   unaligned load
 *   LV_LOAD_TAIL(ptr, n)  the first n (1..LV_LANES-1) floats, the rest zero, nothing read past n
 *   LV_FMA(a, b, c)  a*b + c    LV_ADD(a, b)  a + b    LV_HSUM(v)  sum of the lanes
 *   LV_ROWS       rows of W per block          LV_COLS         batch rows per pass over a block
 *   LV_GEMM_MIN_BATCH  first batch size that runs the GEMM
 *   LV_UKERNEL    the cnn_f32_gemm_ukernel of the ISA     LV_ENTRY  the kernel's name
 * GEMV: per block of LV_ROWS rows of W, LV_ROWS x LV_COLS dot products at once (one vector
 * accumulator each: every W load feeds LV_COLS FMAs, every input load LV_ROWS); the LV_ROWS rows
 * are LV_ROWS parallel read streams, and the blocks are split among threads. Bias and activation
 * per output row. */
#if !defined(LV_VEC) || LV_COLS < 2
#error "define the LV_* vector operations before including f32-linear-gemv.h"
#endif

#include <stdint.h>

#include "avx2-math.h"
#include "f32-gemm.h"

typedef struct {
    int64_t batch, in_features, out_features;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
} gemv_job;

/* sums[r][c] = w[r] . x[c] over in_f floats, for r < LV_ROWS, c < nc (nc a constant per call). */
static CNN_ALWAYS_INLINE void gemv_block(const float* const* w,
                                                             const float* const* x, int64_t in_f,
                                                             const int nc,
                                                             float sums[LV_ROWS][LV_COLS]) {
    LV_VEC acc[LV_ROWS][LV_COLS];
    for (int r = 0; r < LV_ROWS; r++)
        for (int c = 0; c < nc; c++) acc[r][c] = LV_ZERO();
    /* Head: up to the first vector boundary of W row 0 (all rows share it when in_f is a
     * multiple of LV_LANES), so the main loop's W loads never split a cache line. */
    int64_t i = (int64_t)((-(uintptr_t)w[0]) % (LV_LANES * sizeof(float)) / sizeof(float));
    if (i > in_f || (i > 0 && (uintptr_t)w[0] % sizeof(float) != 0)) i = 0;
    if (i > 0) {
        LV_VEC xv[LV_COLS];
        for (int c = 0; c < nc; c++) xv[c] = LV_LOAD_TAIL(x[c], i);
        for (int r = 0; r < LV_ROWS; r++) {
            const LV_VEC wv = LV_LOAD_TAIL(w[r], i);
            for (int c = 0; c < nc; c++) acc[r][c] = LV_FMA(wv, xv[c], acc[r][c]);
        }
    }
    if (nc == 1) { /* one input row: two accumulators per W row (chains for the FMA latency) */
        for (int r = 0; r < LV_ROWS; r++) acc[r][1] = LV_ZERO();
        for (; i + 2 * LV_LANES <= in_f; i += 2 * LV_LANES) {
            const LV_VEC x0 = LV_LOADU(x[0] + i), x1 = LV_LOADU(x[0] + i + LV_LANES);
            for (int r = 0; r < LV_ROWS; r++) {
                acc[r][0] = LV_FMA(LV_LOADU(w[r] + i), x0, acc[r][0]);
                acc[r][1] = LV_FMA(LV_LOADU(w[r] + i + LV_LANES), x1, acc[r][1]);
            }
        }
        for (int r = 0; r < LV_ROWS; r++) acc[r][0] = LV_ADD(acc[r][0], acc[r][1]);
    }
    for (; i + LV_LANES <= in_f; i += LV_LANES) {
        LV_VEC xv[LV_COLS];
        for (int c = 0; c < nc; c++) xv[c] = LV_LOADU(x[c] + i);
        for (int r = 0; r < LV_ROWS; r++) {
            const LV_VEC wv = LV_LOADU(w[r] + i);
            for (int c = 0; c < nc; c++) acc[r][c] = LV_FMA(wv, xv[c], acc[r][c]);
        }
    }
    if (i < in_f) {
        const int64_t n = in_f - i;
        LV_VEC xv[LV_COLS];
        for (int c = 0; c < nc; c++) xv[c] = LV_LOAD_TAIL(x[c] + i, n);
        for (int r = 0; r < LV_ROWS; r++) {
            const LV_VEC wv = LV_LOAD_TAIL(w[r] + i, n);
            for (int c = 0; c < nc; c++) acc[r][c] = LV_FMA(wv, xv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < LV_ROWS; r++)
        for (int c = 0; c < nc; c++) sums[r][c] = LV_HSUM(acc[r][c]);
}

static void gemv_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const gemv_job* job = (const gemv_job*)arg;
    const int64_t in_f = job->in_features, out_f = job->out_features;
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t o0 = blk * LV_ROWS;
        const int64_t rows = out_f - o0 < LV_ROWS ? out_f - o0 : LV_ROWS;
        const float* w[LV_ROWS]; /* rows past the end re-read the last one; not stored */
        for (int r = 0; r < LV_ROWS; r++)
            w[r] = job->weight + (o0 + (r < rows ? r : rows - 1)) * in_f;
        for (int64_t b0 = 0; b0 < job->batch; b0 += LV_COLS) {
            const int64_t nc = job->batch - b0 < LV_COLS ? job->batch - b0 : LV_COLS;
            const float* x[LV_COLS];
            for (int c = 0; c < LV_COLS; c++) x[c] = job->input + (b0 + (c < nc ? c : 0)) * in_f;
            float sums[LV_ROWS][LV_COLS];
            if (nc == LV_COLS) gemv_block(w, x, in_f, LV_COLS, sums);
            else if (nc == 1) gemv_block(w, x, in_f, 1, sums);
#if LV_COLS > 2
            else if (nc == 2) gemv_block(w, x, in_f, 2, sums);
#endif
#if LV_COLS > 3
            else gemv_block(w, x, in_f, 3, sums);
#endif
            for (int64_t c = 0; c < nc; c++) {
                float* y = job->output + (b0 + c) * out_f + o0;
                for (int64_t r = 0; r < rows; r++)
                    y[r] = sums[r][c] + (job->bias != NULL ? job->bias[o0 + r] : 0.0f);
                cnn_avx2_activation_span(job->activation, y, y, rows);
            }
        }
    }
}

cnn_status LV_ENTRY(cnn_context* ctx, int32_t batch, int32_t in_features, int32_t out_features,
                    const float* input, const float* weight, const float* bias,
                    cnn_activation activation, float* output) {
    if (batch >= LV_GEMM_MIN_BATCH)
        return cnn_f32_linear_gemm(ctx, batch, in_features, out_features, input, weight, bias,
                                   activation, output, &LV_UKERNEL);
    gemv_job job = {batch, in_features, out_features, input, weight, bias, activation, output};
    const int64_t blocks = ((int64_t)out_features + LV_ROWS - 1) / LV_ROWS;
    const int64_t macs = (int64_t)batch * in_features * LV_ROWS; /* per block */
    cnn_parallel_for(ctx, blocks,
                     macs >= CNN_LINEAR_THREAD_MACS ? 1 : CNN_LINEAR_THREAD_MACS / macs + 1,
                     gemv_task, &job);
    return CNN_STATUS_SUCCESS;
}
