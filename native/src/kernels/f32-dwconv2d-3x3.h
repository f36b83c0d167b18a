/* f32-dwconv2d-3x3.h — the direct depthwise 3x3 routine, stride 1 or 2 (dilation 1, left
 * padding <= 1): the MobileNet shapes, written once over the DW_* vector operations of
 * f32-dwconv2d-tile.h (included from there).
 *
 * Why not the staged path: staging a zero-padded copy of every plane cost about a third of the
 * time, and the staged loop loaded every tap of every output row (9 loads per 9 FMAs). Here the
 * input plane is read in place: a block of NR output rows x NV vectors reads its
 * (NR - 1) * S + 3 input rows once and feeds each to the output rows that use it. Per row and
 * vector, stride 1 makes the kw = 0, 1, 2 taps with three unaligned loads; stride 2 loads
 * 2 * DW_LANES columns, splits them into even (kw = 0) and odd (kw = 1) columns and makes
 * kw = 2 as the even vector moved by one lane with the next even column shifted in.
 * Padding without a copy: rows above / below the input read a shared zero row, and columns
 * outside [0, in_width) are zeroed lanes in the border blocks; interior blocks use plain loads.
 * A border block loads whole vectors and zeroes the outside lanes in registers when the vectors
 * stay inside the input tensor (or the padded zero row), i.e. everywhere but the first and last
 * rows of the tensor, which use masked loads (not accessing those lanes): AVX-512 masked loads
 * that miss the cache ran ~2x slower at batch 8 (a 56-wide plane is all border blocks).
 * Taps are accumulated in (kh, kw) order from zero and the bias added last, as in the staged
 * path; ReLU and ReLU6 are applied in registers, the other activations over the finished rows. */

#define DW3_NR 4 /* output rows per block: NR x NV = 8 FMA chains at NV = 2 */
/* Floats from a row's start that its blocks may read (stride s: s * col0 + s * 2 vectors + 2,
 * col0 < out_w). */
#define DW3_ROW_SPAN(job, s) ((s) * ((job)->out_width + 2 * DW_LANES) + 2)

/* The lanes of the input columns col.. that lie in [0, width) (possibly none). */
static inline DW_MASK_T dw3_mask(int64_t col, int64_t width) {
    int64_t a = col < 0 ? -col : 0, b = width - col;
    if (a > DW_LANES) a = DW_LANES;
    if (b > DW_LANES) b = DW_LANES;
    if (b < a) b = a;
    return DW_MASK(a, b);
}

/* Columns col.. of a row: direct 1 plain load, 2 whole load with lanes outside the row zeroed
 * (mask m), 0 masked load. */
static CNN_ALWAYS_INLINE DW_VEC dw3_load(const float* p, DW_MASK_T m,
                                                             int direct) {
    return direct == 1 ? DW_LOADU(p) : direct == 2 ? DW_MASKZ(DW_LOADU(p), m) : DW_LOADM(p, m);
}

/* Output rows out_row[0 .. nr) (the job's output width apart), vectors ow.., from input rows
 * rows[0 .. (nr - 1) * s + 3); direct: 1 all columns inside the rows, 0 border block, 2 border
 * block whose whole vectors may be read (see above); s, nr, nv, direct and act are constants
 * at every call. */
static CNN_ALWAYS_INLINE void
dw3_block(const cnn_dwconv_job* job, const float* const* rows, const DW_VEC* wv, DW_VEC vbias,
          int act, int64_t ow, int s, int nr, int nv, int direct, float* out_row) {
    const int64_t width = job->p->in_width, out_w = job->out_width;
    const int64_t col0 = s * ow - job->p->pad_left; /* input column of tap 0 of output ow */
    /* border blocks: the masks of each vector's loads (stride 1: kw = 0, 1, 2; stride 2: the
     * two halves), and (stride 2) whether the column after them is inside; the same every row */
    DW_MASK_T mask[2][3];
    int next_in[2] = {1, 1};
    if (direct != 1)
        for (int v = 0; v < nv; v++) {
            const int64_t c = col0 + (int64_t)s * v * DW_LANES;
            for (int k = 0; k < 3; k++) mask[v][k] = dw3_mask(c + (s == 1 ? k : k * DW_LANES), width);
            next_in[v] = c + 2 * DW_LANES >= 0 && c + 2 * DW_LANES < width;
        }
    DW_VEC acc[DW3_NR * 2];
    CNN_UNROLL(8)
    for (int k = 0; k < nr * nv; k++) acc[k] = DW_ZERO();
    CNN_UNROLL(12)
    for (int i = 0; i < (nr - 1) * s + 3; i++)
        CNN_UNROLL(8)
        for (int v = 0; v < nv; v++) {
            const float* src = rows[i] + col0 + (int64_t)s * v * DW_LANES;
            DW_VEC x[3];
            if (s == 1) {
                CNN_UNROLL(8)
                for (int kw = 0; kw < 3; kw++) x[kw] = dw3_load(src + kw, mask[v][kw], direct);
            } else {
                DW_SPLIT2(dw3_load(src, mask[v][0], direct),
                          dw3_load(src + DW_LANES, mask[v][1], direct), x[0], x[1]);
                const float next = direct == 1 || next_in[v] ? src[2 * DW_LANES] : 0.0f;
                x[2] = DW_SHIFT_IN(x[0], DW_SET1(next));
            }
            CNN_UNROLL(8)
            for (int kh = 0; kh < 3; kh++) { /* output row r uses input row r * s + kh */
                const int r = (i - kh) / s;
                if (i - kh < 0 || (i - kh) % s != 0 || r >= nr) continue;
                CNN_UNROLL(8)
                for (int kw = 0; kw < 3; kw++)
                    acc[r * nv + v] = DW_FMA(wv[kh * 3 + kw], x[kw], acc[r * nv + v]);
            }
        }
    CNN_UNROLL(8)
    for (int r = 0; r < nr; r++)
        CNN_UNROLL(8)
        for (int v = 0; v < nv; v++) {
            DW_VEC y = DW_ADD(acc[r * nv + v], vbias);
            if (act == CNN_ACTIVATION_RELU) y = DW_RELU(y);
            if (act == CNN_ACTIVATION_RELU6) y = DW_RELU6(y);
            const int64_t o = ow + v * DW_LANES;
            DW_STORE(out_row + r * out_w + o, out_w - o, y);
        }
}

/* The row band of one output plane with nr output rows per block (a constant at each call):
 * pairs of vectors, then a single one; border blocks with zeroed lanes (see above). */
static CNN_ALWAYS_INLINE void
dw3_rows(const cnn_dwconv_job* job, const float* const* rows, const DW_VEC* wv, DW_VEC vbias,
         int act, int s, int nr, float* out_row) {
    const int64_t width = job->p->in_width, out_w = job->out_width, pad = job->p->pad_left;
    /* may the border blocks read whole vectors: [row - 1, row + DW3_ROW_SPAN) of every row
     * inside the input or the zero row (which is padded so) */
    int whole = 1;
    for (int i = 0; i < (nr - 1) * s + 3; i++)
        if (rows[i] != job->zero_row &&
            (rows[i] - 1 < job->input || rows[i] + DW3_ROW_SPAN(job, s) > job->input_end))
            whole = 0;
    int64_t ow = 0;
    for (; ow + DW_LANES < out_w; ow += 2 * DW_LANES) {
        /* direct: the last column read, s * ow - pad + s * 2 vectors (+ 1 at stride 1), inside */
        if (s * ow - pad >= 0 && s * ow - pad + s * 2 * DW_LANES + (s == 1) < width)
            dw3_block(job, rows, wv, vbias, act, ow, s, nr, 2, 1, out_row);
        else if (whole)
            dw3_block(job, rows, wv, vbias, act, ow, s, nr, 2, 2, out_row);
        else
            dw3_block(job, rows, wv, vbias, act, ow, s, nr, 2, 0, out_row);
    }
    if (ow < out_w) {
        if (whole)
            dw3_block(job, rows, wv, vbias, act, ow, s, nr, 1, 2, out_row);
        else
            dw3_block(job, rows, wv, vbias, act, ow, s, nr, 1, 0, out_row);
    }
}

/* One (stride, activation) instance of the band loop (s, act constant). */
static CNN_ALWAYS_INLINE void
dw3_band(const cnn_dwconv_job* job, const float* in, const DW_VEC* wv, DW_VEC vbias, int act,
         int s, float* out, int64_t oh, int64_t oh_end) {
    const cnn_conv2d_params* p = job->p;
    for (; oh < oh_end; oh += DW3_NR) {
        const float* rows[(DW3_NR - 1) * 2 + 3];
        for (int i = 0; i < (DW3_NR - 1) * s + 3; i++) {
            const int64_t ih = oh * s - p->pad_top + i;
            rows[i] = ih >= 0 && ih < p->in_height ? in + ih * p->in_width : job->zero_row;
        }
        /* Prefetch the rows two blocks on (past the plane's end: the next plane's first rows,
         * the next item of the usual chunk): with several rows streamed at once the hardware
         * prefetcher alone left batch 8 (input and output far beyond the caches) ~1.5x slower. */
        for (int i = 0; i < DW3_NR * s; i++) {
            const float* next = in + (oh * s - p->pad_top + 2 * DW3_NR * s + 2 + i) * p->in_width;
            /* four lines per step (a prefetch never faults, so the last step may run past the
             * row): one line per step was ~1/10 of the AVX-512 profile in loop bookkeeping */
            if (next < job->input_end)
                for (int64_t c = 0; c < p->in_width; c += 64) {
                    CNN_PREFETCH(next + c);
                    CNN_PREFETCH(next + c + 16);
                    CNN_PREFETCH(next + c + 32);
                    CNN_PREFETCH(next + c + 48);
                }
        }
        float* out_row = out + oh * job->out_width;
        switch (oh_end - oh) {
            case 1: dw3_rows(job, rows, wv, vbias, act, s, 1, out_row); break;
            case 2: dw3_rows(job, rows, wv, vbias, act, s, 2, out_row); break;
            case 3: dw3_rows(job, rows, wv, vbias, act, s, 3, out_row); break;
            default: dw3_rows(job, rows, wv, vbias, act, s, DW3_NR, out_row); break;
        }
    }
}

/* dw3_band for the activations applied in registers (act constant per instance). */
static CNN_ALWAYS_INLINE void
dw3_band_act(const cnn_dwconv_job* job, const float* in, const DW_VEC* wv, DW_VEC vbias, int s,
             float* out, int64_t oh, int64_t oh_end) {
    if (job->activation == CNN_ACTIVATION_RELU)
        dw3_band(job, in, wv, vbias, CNN_ACTIVATION_RELU, s, out, oh, oh_end);
    else if (job->activation == CNN_ACTIVATION_RELU6)
        dw3_band(job, in, wv, vbias, CNN_ACTIVATION_RELU6, s, out, oh, oh_end);
    else
        dw3_band(job, in, wv, vbias, CNN_ACTIVATION_NONE, s, out, oh, oh_end);
}

/* The job's direct_plane routine: output rows [oh, oh_end) of one plane from its input plane. */
static void dw3_direct_plane(const cnn_dwconv_job* job, const float* in, const float* w,
                             float bias, float* out, int64_t oh, int64_t oh_end) {
    DW_VEC wv[9];
    for (int k = 0; k < 9; k++) wv[k] = DW_SET1(w[k]);
    const DW_VEC vbias = DW_SET1(bias);
    const cnn_activation act = job->activation;
    if (job->p->stride_width == 1)
        dw3_band_act(job, in, wv, vbias, 1, out, oh, oh_end);
    else
        dw3_band_act(job, in, wv, vbias, 2, out, oh, oh_end);
    if (act != CNN_ACTIVATION_NONE && act != CNN_ACTIVATION_RELU && act != CNN_ACTIVATION_RELU6)
        DW_ACTIVATION_SPAN(act, out + oh * job->out_width, out + oh * job->out_width,
                           (oh_end - oh) * job->out_width);
}
