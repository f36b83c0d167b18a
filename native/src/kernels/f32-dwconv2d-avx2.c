/* f32-dwconv2d-avx2.c — depthwise convolution (groups == in_channels, any channel multiplier),
 * vectorized over output width.
 *
 * Each input plane is first staged into per-thread scratch with its zero padding, and split
 * into stride_width "phases" (column x of the padded row goes to phase x % sw, position x / sw).
 * Then output column ow of tap kw reads phase (kw*dw) % sw at position ow + (kw*dw) / sw:
 * contiguous in ow for every stride, so the inner loop is plain unaligned loads + FMA with no
 * bounds checks. Phases are padded to a multiple of 8 outputs so the last vector may run past
 * out_width (it is stored masked). Taps are accumulated in (kh, kw) order, bias added last.
 * Work items are (n, input channel, block of multiplier outputs); a thread stages a plane once
 * for consecutive items. */
#include <immintrin.h>
#include <string.h>

#include "f32-gemm.h"

typedef struct {
    const cnn_conv2d_params* p;
    int64_t out_height, out_width;
    int64_t mult, mult_block, mult_blocks;
    int64_t rows, phases, phase_width, tap_step_pos, tap_step_phase;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
    float* scratch;
    size_t plane_floats; /* per thread */
} dwconv_job;

/* Stage one zero-padded, phase-split input plane: buf[(r*phases + phase)*PW + pos]. Only the
 * phases a tap can read are staged: min(sw, (KW-1)*dw + 1). */
static void dw_stage_plane(const dwconv_job* job, const float* in, float* buf) {
    const cnn_conv2d_params* p = job->p;
    const int64_t sw = p->stride_width, pw = job->phase_width, in_w = p->in_width;
    for (int64_t r = 0; r < job->rows; r++) {
        const int64_t ih = r - p->pad_top;
        const int row_valid = ih >= 0 && ih < p->in_height;
        for (int64_t phase = 0; phase < job->phases; phase++) {
            float* dst = buf + (r * job->phases + phase) * pw;
            /* position pos holds input column iw = pos*sw + phase - pad_left */
            const int64_t first = phase - p->pad_left; /* iw at pos 0 */
            int64_t lo = first >= 0 ? 0 : (-first + sw - 1) / sw;
            int64_t hi = in_w - first > 0 ? (in_w - first + sw - 1) / sw : 0;
            if (!row_valid) lo = hi = 0;
            if (lo > pw) lo = pw;
            if (hi > pw) hi = pw;
            if (hi < lo) hi = lo;
            int64_t pos = 0;
            for (; pos < lo; pos++) dst[pos] = 0.0f;
            if (sw == 1 && hi > lo) {
                memcpy(dst + lo, in + (ih * in_w + first + lo), (size_t)(hi - lo) * sizeof(float));
                pos = hi;
            }
            for (; pos < hi; pos++) dst[pos] = in[ih * in_w + first + pos * sw];
            for (; pos < pw; pos++) dst[pos] = 0.0f;
        }
    }
}

/* acc[r][v] = sum over taps for output row oh + r (r < NR) and the NV consecutive 8-wide
 * vectors starting at column ow. Up to 2 x 4 independent FMA chains hide the FMA latency. */
static inline __attribute__((always_inline)) void dw_vectors(const dwconv_job* job,
                                                             const float* buf, const float* w,
                                                             int64_t oh, int64_t ow, int nr, int nv,
                                                             __m256 acc[2][4]) {
    const cnn_conv2d_params* p = job->p;
    const int64_t sw = p->stride_width, pw = job->phase_width;
    const int64_t row_stride = job->phases * pw;
    const int64_t step_off = job->tap_step_phase * pw + job->tap_step_pos;
    const int64_t wrap_off = 1 - sw * pw; /* phase wraps: next position, phase 0 */
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm256_setzero_ps();
    for (int64_t kh = 0; kh < p->kernel_height; kh++) {
        const float* row0 =
            buf + (oh * p->stride_height + kh * p->dilation_height) * row_stride + ow;
        const float* row1 = row0 + p->stride_height * row_stride; /* used only if nr == 2 */
        const float* wk = w + kh * p->kernel_width;
        int64_t phase = 0, off = 0;
        for (int64_t kw = 0; kw < p->kernel_width; kw++) {
            const __m256 wv = _mm256_broadcast_ss(wk + kw);
            for (int v = 0; v < nv; v++)
                acc[0][v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(row0 + off + 8 * v), acc[0][v]);
            if (nr == 2)
                for (int v = 0; v < nv; v++)
                    acc[1][v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(row1 + off + 8 * v), acc[1][v]);
            phase += job->tap_step_phase;
            off += step_off;
            if (phase >= sw) {
                phase -= sw;
                off += wrap_off;
            }
        }
    }
}

/* Bias, and ReLU in registers; sigmoid / tanh run over the finished rows (see below) so that
 * this inner code stays small enough for the accumulators to live in registers. */
static inline __attribute__((always_inline)) __m256 dw_epilogue(__m256 acc, float bias, int relu) {
    acc = _mm256_add_ps(acc, _mm256_set1_ps(bias));
    return relu ? cnn_avx2_relu_ps(acc) : acc;
}

/* NR (1-2) output rows x NV (1-4) vectors of 8 at once; the last vector of a row is stored
 * masked. nr and nv are constants in every call below, so each instance is fully unrolled. */
static inline __attribute__((always_inline)) void dw_store_block(const dwconv_job* job,
                                                                 const float* buf, const float* w,
                                                                 float bias, int relu, int64_t oh,
                                                                 int64_t ow, int nr, int nv,
                                                                 float* out) {
    __m256 acc[2][4];
    dw_vectors(job, buf, w, oh, ow, nr, nv, acc);
    for (int r = 0; r < nr; r++) {
        float* out_row = out + (oh + r) * job->out_width;
        for (int v = 0; v < nv; v++) {
            const __m256 y = dw_epilogue(acc[r][v], bias, relu);
            const int64_t left = job->out_width - (ow + 8 * v);
            if (left >= 8) {
                _mm256_storeu_ps(out_row + ow + 8 * v, y);
            } else {
                _mm256_maskstore_ps(out_row + ow + 8 * v, cnn_avx2_tail_mask(left), y);
            }
        }
    }
}

#define DW_BLOCK_CASES(NR)                                                           \
    switch (vectors) {                                                               \
        case 1: dw_store_block(job, buf, w, bias, relu, oh, ow, NR, 1, out); break;  \
        case 2: dw_store_block(job, buf, w, bias, relu, oh, ow, NR, 2, out); break;  \
        case 3: dw_store_block(job, buf, w, bias, relu, oh, ow, NR, 3, out); break;  \
        default: dw_store_block(job, buf, w, bias, relu, oh, ow, NR, 4, out); break; \
    }

static void dw_output_plane(const dwconv_job* job, const float* buf, const float* w, float bias,
                            float* out) {
    const int64_t out_w = job->out_width;
    const cnn_activation act = job->activation;
    const int relu = act == CNN_ACTIVATION_RELU;
    for (int64_t oh = 0; oh < job->out_height; oh += 2) {
        const int two_rows = oh + 1 < job->out_height;
        for (int64_t ow = 0; ow < out_w; ow += 32) {
            const int64_t vectors = (out_w - ow + 7) / 8;
            if (two_rows) {
                DW_BLOCK_CASES(2)
            } else {
                DW_BLOCK_CASES(1)
            }
        }
        if (act != CNN_ACTIVATION_NONE && !relu) { /* sigmoid, tanh, relu6: over the stored rows */
            float* rows = out + oh * out_w;
            cnn_avx2_activation_span(act, rows, rows, (two_rows ? 2 : 1) * out_w);
        }
    }
}

static void dwconv_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const dwconv_job* job = (const dwconv_job*)arg;
    const cnn_conv2d_params* p = job->p;
    float* buf = job->scratch + (size_t)thread_index * job->plane_floats;
    const int64_t in_plane = (int64_t)p->in_height * p->in_width;
    const int64_t out_plane = job->out_height * job->out_width;
    const int64_t taps = (int64_t)p->kernel_height * p->kernel_width;
    int64_t staged = -1;
    for (int64_t item = begin; item < end; item++) {
        const int64_t mb = item % job->mult_blocks;
        const int64_t nc = item / job->mult_blocks; /* n * in_channels + c */
        if (nc != staged) {
            dw_stage_plane(job, job->input + nc * in_plane, buf);
            staged = nc;
        }
        const int64_t n = nc / p->in_channels, c = nc % p->in_channels;
        const int64_t j_end =
            (mb + 1) * job->mult_block < job->mult ? (mb + 1) * job->mult_block : job->mult;
        for (int64_t j = mb * job->mult_block; j < j_end; j++) {
            const int64_t oc = c * job->mult + j;
            dw_output_plane(job, buf, job->weight + oc * taps,
                            job->bias != NULL ? job->bias[oc] : 0.0f,
                            job->output + (n * p->out_channels + oc) * out_plane);
        }
    }
}

cnn_status cnn_f32_dwconv2d_avx2(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output) {
    dwconv_job job = {0};
    job.p = p;
    job.out_height = out_height;
    job.out_width = out_width;
    job.mult = p->out_channels / p->in_channels;
    job.input = input;
    job.weight = weight;
    job.bias = bias;
    job.activation = activation;
    job.output = output;
    const int64_t sw = p->stride_width;
    const int64_t span_w = (int64_t)p->dilation_width * (p->kernel_width - 1);
    job.rows = (int64_t)(out_height - 1) * p->stride_height +
               (int64_t)p->dilation_height * (p->kernel_height - 1) + 1;
    job.phase_width = ((int64_t)out_width + 7) / 8 * 8 + span_w / sw + 1;
    job.tap_step_pos = p->dilation_width / sw;
    job.tap_step_phase = p->dilation_width % sw;
    job.phases = sw < span_w + 1 ? sw : span_w + 1;
    job.plane_floats = (size_t)((job.rows * job.phases * job.phase_width + 15) / 16 * 16);
    /* Absurd padding (a staged plane of mostly zeros, far larger than the data): the direct
     * reference loop skips padding instead of staging it. */
    const int64_t data = (int64_t)p->in_height * p->in_width + (int64_t)out_height * out_width;
    if (job.plane_floats > ((size_t)1 << 24) && (int64_t)job.plane_floats > 64 * data)
        return cnn_f32_conv2d_scalar(ctx, p, out_height, out_width, input, weight, bias, activation,
                                     output);

    /* Split the multiplier outputs when there are few planes (e.g. batch 1, few channels). */
    const int64_t planes = (int64_t)p->batch * p->in_channels;
    const int64_t want_items = 4 * (int64_t)ctx->num_threads;
    job.mult_blocks = 1;
    if (planes < want_items && job.mult > 1) {
        job.mult_blocks = (want_items + planes - 1) / planes;
        if (job.mult_blocks > job.mult) job.mult_blocks = job.mult;
    }
    job.mult_block = (job.mult + job.mult_blocks - 1) / job.mult_blocks;
    job.mult_blocks = (job.mult + job.mult_block - 1) / job.mult_block;
    const int64_t items = planes * job.mult_blocks;

    const int32_t chunks = cnn_parallel_chunks(ctx, items, 1);
    job.scratch =
        (float*)cnn_context_scratch(ctx, (size_t)chunks * job.plane_floats * sizeof(float));
    if (job.scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_parallel_for(ctx, items, 1, dwconv_task, &job);
    return CNN_STATUS_SUCCESS;
}
