/* f32-dwconv2d-tile.h — the vector half of the depthwise convolution (see f32-dwconv2d.h),
 * written once over the vector type. Included by f32-dwconv2d-{avx2,avx512}.c after they define:
 *   DW_VEC               the vector type             DW_LANES         floats per vector
 *   DW_ZERO()            all-zero vector             DW_SET1(x)       broadcast of a float
 *   DW_LOADU(ptr)        unaligned load              DW_FMA(a, b, c)  a*b + c
 *   DW_ADD(a, b)         a + b                       DW_RELU(x)       max(0, x), NaN kept
 *   DW_STORE(ptr, left, y)  store the first min(left, DW_LANES) lanes of y (left >= 1)
 *   DW_ACTIVATION_SPAN(act, in, out, n)  out[i] = act(in[i]) for the other activations
 * and it defines `static void dw_output_plane(...)`, the job's output_plane routine. */
#ifndef DW_VEC
#error "define the DW_* vector operations before including f32-dwconv2d-tile.h"
#endif

#include "f32-dwconv2d.h"

/* acc[r][v] = sum over taps for output row oh + r (r < nr) and the nv consecutive vectors
 * starting at column ow. Up to 2 x 4 independent FMA chains hide the FMA latency. */
static inline __attribute__((always_inline)) void dw_vectors(const cnn_dwconv_job* job,
                                                             const float* buf, const float* w,
                                                             int64_t oh, int64_t ow, int nr, int nv,
                                                             DW_VEC acc[2][4]) {
    const cnn_conv2d_params* p = job->p;
    const int64_t sw = p->stride_width, pw = job->phase_width;
    const int64_t row_stride = job->phases * pw;
    const int64_t step_off = job->tap_step_phase * pw + job->tap_step_pos;
    const int64_t wrap_off = 1 - sw * pw; /* phase wraps: next position, phase 0 */
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = DW_ZERO();
    for (int64_t kh = 0; kh < p->kernel_height; kh++) {
        const float* row0 =
            buf + (oh * p->stride_height + kh * p->dilation_height) * row_stride + ow;
        const float* row1 = row0 + p->stride_height * row_stride; /* used only if nr == 2 */
        const float* wk = w + kh * p->kernel_width;
        int64_t phase = 0, off = 0;
        for (int64_t kw = 0; kw < p->kernel_width; kw++) {
            const DW_VEC wv = DW_SET1(wk[kw]);
            for (int v = 0; v < nv; v++)
                acc[0][v] = DW_FMA(wv, DW_LOADU(row0 + off + DW_LANES * v), acc[0][v]);
            if (nr == 2)
                for (int v = 0; v < nv; v++)
                    acc[1][v] = DW_FMA(wv, DW_LOADU(row1 + off + DW_LANES * v), acc[1][v]);
            phase += job->tap_step_phase;
            off += step_off;
            if (phase >= sw) {
                phase -= sw;
                off += wrap_off;
            }
        }
    }
}

/* nr (1-2) output rows x nv (1-4) vectors at once; bias and ReLU in registers (the other
 * activations run over the finished rows, see dw_output_plane, so that this inner code stays
 * small enough for the accumulators to live in registers); the last vector of a row is stored
 * masked. nr and nv are constants in every call below, so each instance is fully unrolled. */
static inline __attribute__((always_inline)) void dw_store_block(const cnn_dwconv_job* job,
                                                                 const float* buf, const float* w,
                                                                 float bias, int relu, int64_t oh,
                                                                 int64_t ow, int nr, int nv,
                                                                 float* out) {
    DW_VEC acc[2][4];
    dw_vectors(job, buf, w, oh, ow, nr, nv, acc);
    const DW_VEC vbias = DW_SET1(bias);
    for (int r = 0; r < nr; r++) {
        float* out_row = out + (oh + r) * job->out_width;
        for (int v = 0; v < nv; v++) {
            DW_VEC y = DW_ADD(acc[r][v], vbias);
            if (relu) y = DW_RELU(y);
            DW_STORE(out_row + ow + DW_LANES * v, job->out_width - (ow + DW_LANES * v), y);
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

static void dw_output_plane(const cnn_dwconv_job* job, const float* buf, const float* w,
                            float bias, float* out) {
    const int64_t out_w = job->out_width;
    const cnn_activation act = job->activation;
    const int relu = act == CNN_ACTIVATION_RELU;
    for (int64_t oh = 0; oh < job->out_height; oh += 2) {
        const int two_rows = oh + 1 < job->out_height;
        for (int64_t ow = 0; ow < out_w; ow += 4 * DW_LANES) {
            const int64_t vectors = (out_w - ow + DW_LANES - 1) / DW_LANES;
            if (two_rows) {
                DW_BLOCK_CASES(2)
            } else {
                DW_BLOCK_CASES(1)
            }
        }
        if (act != CNN_ACTIVATION_NONE && !relu) { /* sigmoid, tanh, relu6: over the stored rows */
            float* rows = out + oh * out_w;
            DW_ACTIVATION_SPAN(act, rows, rows, (two_rows ? 2 : 1) * out_w);
        }
    }
}

#undef DW_BLOCK_CASES
