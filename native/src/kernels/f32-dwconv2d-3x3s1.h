/* f32-dwconv2d-3x3s1.h — the direct depthwise 3x3 stride 1 (dilation 1, left padding <= 1)
 * routine, the MobileNet shape, written once over the DW_* vector operations of
 * f32-dwconv2d-tile.h (included from there).
 *
 * Why not the staged path: staging a zero-padded copy of every plane cost about a third of the
 * time, and the staged loop loaded every tap of every output row (9 loads per 9 FMAs). Here the
 * input plane is read in place: a block of NR output rows x NV vectors reads its NR + 2 input
 * rows once, three loads per row and vector (the kw = 0, 1, 2 shifts as unaligned loads), and
 * feeds each to the up to three output rows that use it (3(NR + 2) loads per 9 NR FMAs).
 * Padding without a copy: rows above / below the input read a shared zero row, and columns
 * outside [0, in_width) are zeroed lanes in the border blocks; interior blocks use plain loads.
 * A border block loads whole vectors and zeroes the outside lanes in registers when the vectors
 * stay inside the input tensor (or the padded zero row), i.e. everywhere but the first and last
 * rows of the tensor, which use masked loads (not accessing those lanes): AVX-512 masked loads
 * that miss the cache ran ~2x slower at batch 8 (a 56-wide plane is all border blocks). Taps are accumulated in (kh, kw) order from
 * zero and the bias added last, as in the staged path; ReLU and ReLU6 are applied in
 * registers, the other activations over the finished rows. */

#define DW3_NR 4 /* output rows per block: NR x NV = 8 FMA chains at NV = 2 */
/* Floats from a row's start that its blocks may read (col0 + kw + 2 vectors, col0 < out_w). */
#define DW3_ROW_SPAN(job) ((job)->out_width + 2 * DW_LANES + 2)

/* The lanes of the input columns col.. that lie in [0, width) (possibly none). */
static inline DW_MASK_T dw3_mask(int64_t col, int64_t width) {
    int64_t a = col < 0 ? -col : 0, b = width - col;
    if (a > DW_LANES) a = DW_LANES;
    if (b > DW_LANES) b = DW_LANES;
    if (b < a) b = a;
    return DW_MASK(a, b);
}

/* Output rows out_row[0 .. nr) (the job's output width apart), vectors ow.., from input rows
 * rows[0 .. nr + 2); direct: 1 all columns inside the rows, 0 border block, 2 border block
 * whose whole vectors may be read (see above); nr, nv, direct and act are constants at every
 * call. */
static inline __attribute__((always_inline)) void
dw3_block(const cnn_dwconv_job* job, const float* const* rows, const DW_VEC* wv, DW_VEC vbias,
          int act, int64_t ow, int nr, int nv, int direct, float* out_row) {
    const int64_t width = job->p->in_width, out_w = job->out_width;
    const int64_t col0 = ow - job->p->pad_left;
    DW_MASK_T mask[2][3]; /* border blocks: per vector and kw, the same for every row */
    if (direct != 1)
        for (int v = 0; v < nv; v++)
            for (int kw = 0; kw < 3; kw++) mask[v][kw] = dw3_mask(col0 + v * DW_LANES + kw, width);
    DW_VEC acc[DW3_NR * 2];
    _Pragma("GCC unroll 8")
    for (int k = 0; k < nr * nv; k++) acc[k] = DW_ZERO();
    _Pragma("GCC unroll 8")
    for (int i = 0; i < nr + 2; i++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < nv; v++) {
            DW_VEC x[3];
            _Pragma("GCC unroll 8")
            for (int kw = 0; kw < 3; kw++)
                x[kw] = direct == 1 ? DW_LOADU(rows[i] + col0 + v * DW_LANES + kw)
                        : direct == 2
                            ? DW_MASKZ(DW_LOADU(rows[i] + col0 + v * DW_LANES + kw), mask[v][kw])
                            : DW_LOADM(rows[i] + col0 + v * DW_LANES + kw, mask[v][kw]);
            _Pragma("GCC unroll 8")
            for (int kh = 0; kh < 3; kh++) { /* output row i - kh uses input row i as tap kh */
                const int r = i - kh;
                if (r < 0 || r >= nr) continue;
                _Pragma("GCC unroll 8")
                for (int kw = 0; kw < 3; kw++)
                    acc[r * nv + v] = DW_FMA(wv[kh * 3 + kw], x[kw], acc[r * nv + v]);
            }
        }
    _Pragma("GCC unroll 8")
    for (int r = 0; r < nr; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < nv; v++) {
            DW_VEC y = DW_ADD(acc[r * nv + v], vbias);
            if (act == CNN_ACTIVATION_RELU) y = DW_RELU(y);
            if (act == CNN_ACTIVATION_RELU6) y = DW_RELU6(y);
            const int64_t o = ow + v * DW_LANES;
            DW_STORE(out_row + r * out_w + o, out_w - o, y);
        }
}

/* The row band of one output plane with nr output rows per block (a constant at each call):
 * pairs of vectors, then a single one; border blocks through masked loads (masked-off lanes read as zero and are not accessed). */
static inline __attribute__((always_inline)) void
dw3_rows(const cnn_dwconv_job* job, const float* const* rows, const DW_VEC* wv, DW_VEC vbias,
         int act, int nr, float* out_row) {
    const int64_t width = job->p->in_width, out_w = job->out_width, pad = job->p->pad_left;
    /* may the border blocks read whole vectors: [row - 1, row + DW3_ROW_SPAN) of every row
     * inside the input or the zero row (which is padded so) */
    int whole = 1;
    for (int i = 0; i < nr + 2; i++)
        if (rows[i] != job->zero_row &&
            (rows[i] - 1 < job->input || rows[i] + DW3_ROW_SPAN(job) > job->input_end))
            whole = 0;
    int64_t ow = 0;
    for (; ow + DW_LANES < out_w; ow += 2 * DW_LANES) {
        if (ow - pad >= 0 && ow - pad + 2 * DW_LANES + 2 <= width)
            dw3_block(job, rows, wv, vbias, act, ow, nr, 2, 1, out_row);
        else if (whole)
            dw3_block(job, rows, wv, vbias, act, ow, nr, 2, 2, out_row);
        else
            dw3_block(job, rows, wv, vbias, act, ow, nr, 2, 0, out_row);
    }
    if (ow < out_w) {
        if (whole)
            dw3_block(job, rows, wv, vbias, act, ow, nr, 1, 2, out_row);
        else
            dw3_block(job, rows, wv, vbias, act, ow, nr, 1, 0, out_row);
    }
}

/* One activation's instance of the band loop (act constant). */
static inline __attribute__((always_inline)) void
dw3_band(const cnn_dwconv_job* job, const float* in, const DW_VEC* wv, DW_VEC vbias, int act,
         float* out, int64_t oh, int64_t oh_end) {
    const cnn_conv2d_params* p = job->p;
    for (; oh < oh_end; oh += DW3_NR) {
        const float* rows[DW3_NR + 2];
        for (int i = 0; i < DW3_NR + 2; i++) {
            const int64_t ih = oh - p->pad_top + i;
            rows[i] = ih >= 0 && ih < p->in_height ? in + ih * p->in_width : job->zero_row;
        }
        /* Prefetch the rows two blocks on (past the plane's end: the next plane's first rows,
         * the next item of the usual chunk): with several rows streamed at once the hardware
         * prefetcher alone left batch 8 (input and output far beyond the caches) ~1.5x slower. */
        for (int i = 0; i < DW3_NR; i++) {
            const float* next = in + (oh - p->pad_top + 2 * DW3_NR + 2 + i) * p->in_width;
            if (next < job->input_end)
                for (int64_t c = 0; c < p->in_width; c += 16) __builtin_prefetch(next + c);
        }
        float* out_row = out + oh * job->out_width;
        switch (oh_end - oh) {
            case 1: dw3_rows(job, rows, wv, vbias, act, 1, out_row); break;
            case 2: dw3_rows(job, rows, wv, vbias, act, 2, out_row); break;
            case 3: dw3_rows(job, rows, wv, vbias, act, 3, out_row); break;
            default: dw3_rows(job, rows, wv, vbias, act, DW3_NR, out_row); break;
        }
    }
}

/* The job's direct_plane routine: output rows [oh, oh_end) of one plane from its input plane. */
static void dw3_direct_plane(const cnn_dwconv_job* job, const float* in, const float* w,
                             float bias, float* out, int64_t oh, int64_t oh_end) {
    DW_VEC wv[9];
    for (int k = 0; k < 9; k++) wv[k] = DW_SET1(w[k]);
    const DW_VEC vbias = DW_SET1(bias);
    const cnn_activation act = job->activation;
    if (act == CNN_ACTIVATION_RELU)
        dw3_band(job, in, wv, vbias, CNN_ACTIVATION_RELU, out, oh, oh_end);
    else if (act == CNN_ACTIVATION_RELU6)
        dw3_band(job, in, wv, vbias, CNN_ACTIVATION_RELU6, out, oh, oh_end);
    else
        dw3_band(job, in, wv, vbias, CNN_ACTIVATION_NONE, out, oh, oh_end);
    if (act != CNN_ACTIVATION_NONE && act != CNN_ACTIVATION_RELU && act != CNN_ACTIVATION_RELU6)
        DW_ACTIVATION_SPAN(act, out + oh * job->out_width, out + oh * job->out_width,
                           (oh_end - oh) * job->out_width);
}
