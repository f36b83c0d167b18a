/* f32-dwconv2d-tile.h — the vector half of the depthwise convolution (see f32-dwconv2d.h),
 * written once over the vector type. Included by f32-dwconv2d-{avx2,avx512}.c after they define:
 *   DW_VEC               the vector type             DW_LANES         floats per vector
 *   DW_ZERO()            all-zero vector             DW_SET1(x)       broadcast of a float
 *   DW_LOADU(ptr)        unaligned load              DW_FMA(a, b, c)  a*b + c
 *   DW_ADD(a, b)         a + b                       DW_RELU(x)       max(0, x), NaN kept
 *   DW_STORE(ptr, left, y)  store the first min(left, DW_LANES) lanes of y (left >= 1)
 *   DW_ACTIVATION_SPAN(act, in, out, n)  out[i] = act(in[i]) for the other activations
 *   DW_LOAD_RANGE(ptr, a, b)  lanes [a, b) from ptr (0 <= a < b <= DW_LANES), others zero;
 *                        the other lanes' addresses are not accessed
 *   DW_SPLIT2(a, b, even, odd)  even/odd lanes of the 2*DW_LANES floats a, b (a first)
 *   DW_MASK_T            a lane mask; DW_MASK(a, b) lanes [a, b) (0 <= a <= b <= DW_LANES)
 *   DW_LOADM(ptr, m)     the lanes m of ptr, others zero and not accessed
 *   DW_MASKZ(v, m)       the lanes m of v, others zero
 *   DW_SHIFT_IN(v, x)    v[1], ..., v[DW_LANES - 1], x[0]
 *   DW_RELU6(x)          min(6, max(0, x)), NaN kept
 * and it defines `static void dw_output_plane(...)`, `static void dw_stage_row(...)` and (in
 * f32-dwconv2d-3x3.h) `static void dw3_direct_plane(...)`, the job's output_plane,
 * stage_row and direct_plane routines. */
#ifndef DW_VEC
#error "define the DW_* vector operations before including f32-dwconv2d-tile.h"
#endif

#include <string.h>

#include "f32-dwconv2d.h"

/* Accumulator blocks are nr output rows x nv vectors with nr * nv <= 8: 8 independent FMA
 * chains hide the FMA latency even on narrow planes (a 14-wide plane is one vector per row). */
#define DW_MAX_ROWS 8

/* acc[r * nv + v] = sum over taps for output row oh + r (r < nr) and the nv consecutive vectors
 * starting at column ow. (A flat array of 8 lets the compiler keep it in registers.) */
static CNN_ALWAYS_INLINE void dw_vectors(const cnn_dwconv_job* job,
                                                             const float* buf, const float* w,
                                                             int64_t oh, int64_t ow, int nr, int nv,
                                                             DW_VEC acc[8]) {
    const cnn_conv2d_params* p = job->p;
    const int64_t sw = p->stride_width, pw = job->phase_width;
    const int64_t row_stride = job->phases * pw;
    const int64_t out_row_step = p->stride_height * row_stride;
    const int64_t step_off = job->tap_step_phase * pw + job->tap_step_pos;
    const int64_t wrap_off = 1 - sw * pw; /* phase wraps: next position, phase 0 */
    for (int r = 0; r < nr; r++)
        for (int v = 0; v < nv; v++) acc[r * nv + v] = DW_ZERO();
    for (int64_t kh = 0; kh < p->kernel_height; kh++) {
        const float* row0 =
            buf + (oh * p->stride_height + kh * p->dilation_height) * row_stride + ow;
        const float* rows[DW_MAX_ROWS]; /* one base per row: loads are base + off + constant */
        for (int r = 0; r < nr; r++) rows[r] = row0 + r * out_row_step;
        const float* wk = w + kh * p->kernel_width;
        int64_t phase = 0, off = 0;
        for (int64_t kw = 0; kw < p->kernel_width; kw++) {
            const DW_VEC wv = DW_SET1(wk[kw]);
            for (int r = 0; r < nr; r++)
                for (int v = 0; v < nv; v++)
                    acc[r * nv + v] = DW_FMA(
                        wv, DW_LOADU(rows[r] + off + DW_LANES * v), acc[r * nv + v]);
            phase += job->tap_step_phase;
            off += step_off;
            if (phase >= sw) {
                phase -= sw;
                off += wrap_off;
            }
        }
    }
}

/* nr x nv block; bias and ReLU in registers (the other activations run over the finished
 * plane, see dw_output_plane, so that this inner code stays small enough for the accumulators
 * to live in registers); the last vector of a row is stored masked. nr and nv are constants
 * in every call below, so each instance is fully unrolled. */
static CNN_ALWAYS_INLINE void dw_store_block(const cnn_dwconv_job* job,
                                                                 const float* buf, const float* w,
                                                                 float bias, int relu, int64_t oh,
                                                                 int64_t ow, int nr, int nv,
                                                                 float* out) {
    DW_VEC acc[8];
    dw_vectors(job, buf, w, oh, ow, nr, nv, acc);
    const DW_VEC vbias = DW_SET1(bias);
    for (int r = 0; r < nr; r++) {
        float* out_row = out + (oh + r) * job->out_width;
        for (int v = 0; v < nv; v++) {
            DW_VEC y = DW_ADD(acc[r * nv + v], vbias);
            if (relu) y = DW_RELU(y);
            DW_STORE(out_row + ow + DW_LANES * v, job->out_width - (ow + DW_LANES * v), y);
        }
    }
}

/* rows per block for nv vectors per row */
static inline int dw_block_rows(int64_t nv) { return nv >= 3 ? 2 : nv == 2 ? 4 : DW_MAX_ROWS; }

/* Output rows [oh, oh_end) of the nv-vector column strip at ow, in blocks of nr rows
 * (oh_end - oh a multiple of nr). One function per block shape (inlined together into one
 * routine, the 2x4 and 2x3 blocks ran ~15% slower), looping inside so that the per-call setup is
 * paid once per strip. */
typedef void (*dw_strip_fn)(const cnn_dwconv_job* job, const float* buf, const float* w,
                            float bias, int relu, int64_t oh, int64_t oh_end, int64_t ow,
                            float* out);
#define DW_STRIP_FN(NR, NV)                                                                   \
    static void dw_strip_##NR##x##NV(const cnn_dwconv_job* job, const float* buf,             \
                                     const float* w, float bias, int relu, int64_t oh,        \
                                     int64_t oh_end, int64_t ow, float* out) {                \
        for (; oh < oh_end; oh += NR) dw_store_block(job, buf, w, bias, relu, oh, ow, NR, NV, out); \
    }
DW_STRIP_FN(1, 1) DW_STRIP_FN(2, 1) DW_STRIP_FN(3, 1) DW_STRIP_FN(4, 1)
DW_STRIP_FN(5, 1) DW_STRIP_FN(6, 1) DW_STRIP_FN(7, 1) DW_STRIP_FN(8, 1)
DW_STRIP_FN(1, 2) DW_STRIP_FN(2, 2) DW_STRIP_FN(3, 2) DW_STRIP_FN(4, 2)
DW_STRIP_FN(1, 3) DW_STRIP_FN(2, 3) DW_STRIP_FN(1, 4) DW_STRIP_FN(2, 4)
#undef DW_STRIP_FN

/* dw_strips[nv - 1][nr - 1], nr <= dw_block_rows(nv) */
static const dw_strip_fn dw_strips[4][DW_MAX_ROWS] = {
    {dw_strip_1x1, dw_strip_2x1, dw_strip_3x1, dw_strip_4x1, dw_strip_5x1, dw_strip_6x1,
     dw_strip_7x1, dw_strip_8x1},
    {dw_strip_1x2, dw_strip_2x2, dw_strip_3x2, dw_strip_4x2},
    {dw_strip_1x3, dw_strip_2x3},
    {dw_strip_1x4, dw_strip_2x4},
};

/* Column strips of up to 4 vectors, each over all rows: full blocks, then one block of the
 * remaining rows. */
static void dw_output_plane(const cnn_dwconv_job* job, const float* buf, const float* w,
                            float bias, float* out) {
    const int64_t out_w = job->out_width, out_h = job->out_height;
    const cnn_activation act = job->activation;
    const int relu = act == CNN_ACTIVATION_RELU;
    for (int64_t ow = 0; ow < out_w; ow += 4 * DW_LANES) {
        int64_t nv = (out_w - ow + DW_LANES - 1) / DW_LANES;
        if (nv > 4) nv = 4;
        const int64_t rows = dw_block_rows(nv);
        const int64_t full = out_h / rows * rows;
        if (full > 0) dw_strips[nv - 1][rows - 1](job, buf, w, bias, relu, 0, full, ow, out);
        if (full < out_h)
            dw_strips[nv - 1][out_h - full - 1](job, buf, w, bias, relu, full, out_h, ow, out);
    }
    if (act != CNN_ACTIVATION_NONE && !relu) /* sigmoid, tanh, relu6: over the finished plane */
        DW_ACTIVATION_SPAN(act, out, out, out_h * out_w);
}

/* The DW_LANES padded columns x.. of an input row (padded column x is input column
 * x - pad_left): one load, masked at the edges (the masked-off lanes are not accessed). */
static inline DW_VEC dw_padded_vector(const float* src, int64_t x, int64_t pad_left,
                                      int64_t in_w) {
    const int64_t a = pad_left - x > 0 ? pad_left - x : 0;
    const int64_t b = in_w + pad_left - x < DW_LANES ? in_w + pad_left - x : DW_LANES;
    if (b <= a) return DW_ZERO();
    if (a == 0 && b == DW_LANES) return DW_LOADU(src + (x - pad_left));
    return DW_LOAD_RANGE(src + (x - pad_left), a, b);
}

static void dw_stage_row(const cnn_dwconv_job* job, const float* src, float* dst) {
    const int64_t pw = job->phase_width, pad = job->p->pad_left, in_w = job->p->in_width;
    if (src == NULL) {
        memset(dst, 0, (size_t)(job->phases * pw) * sizeof(float));
    } else if (job->phases == 1) { /* stride 1 */
        for (int64_t x = 0; x < pw; x += DW_LANES)
            DW_STORE(dst + x, pw - x, dw_padded_vector(src, x, pad, in_w));
    } else { /* stride 2: phase 0 = even padded columns, phase 1 = odd */
        for (int64_t i = 0; i < pw; i += DW_LANES) {
            DW_VEC even, odd;
            DW_SPLIT2(dw_padded_vector(src, 2 * i, pad, in_w),
                      dw_padded_vector(src, 2 * i + DW_LANES, pad, in_w), even, odd);
            DW_STORE(dst + i, pw - i, even);
            DW_STORE(dst + pw + i, pw - i, odd);
        }
    }
}

#include "f32-dwconv2d-3x3.h"
