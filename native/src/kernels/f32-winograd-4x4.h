/* f32-winograd-4x4.h — the three transforms of Winograd F(4x4, 3x3) (Lavin & Gray, points
 * 0, +-1, +-2, +-1/2), written once over a vector of channels and included by
 * f32-winograd-4x4-{avx2,avx512}.c, which define before including:
 *   WV, WV_LANES                 vector type and its float count
 *   WV_ZERO(), WV_SET1(x), WV_ADD, WV_SUB, WV_MUL, WV_FMA(a,b,c) = a*b+c, WV_FNMA(a,b,c) = c-a*b
 *   WV_LOAD(p, n), WV_STORE(p, v, n)         lanes [0, n) (n <= WV_LANES; the rest untouched)
 *   WV_GATHER(p, idx, n)         lane i = p[i * stride], stride fixed by `idx` (WV_INDEX)
 *   WV_INDEX, WV_MAKE_INDEX(stride)           the index vector type and its constructor
 *   WV_SCATTER(p, idx, v, n)     p[i * stride] = lane i, for i < n
 *   WV_ACTIVATE(v, act)          the fused activation of the GEMM epilogue
 *   WV_NAME                      the descriptor to define (cnn_f32_winograd_4x4_<isa>)
 *
 * Vectors run across channels, so every lane of a tile sees the same positions: padding is a
 * branch per position (zero vector, no masks), and the clipped edges of the output are a branch
 * too. The channel-strided loads and stores are gathers / scatters (one per position and channel
 * vector); the 6x6 arithmetic is all vertical. Layouts (driver: f32-conv2d-winograd.c):
 *   U[xi][oc/NR][ic][NR]  transformed weights (xi = 6*row + column of the 6x6 domain)
 *   V[xi][t][ic]   transformed input tiles, M[xi][t][oc] their products with U. */

/* 1D B^T d (6 -> 6): rows 4,0,-5,0,1,0 / 0,-4,-4,1,1,0 / 0,4,-4,-1,1,0 / 0,-2,-1,2,1,0 /
 * 0,2,-1,-2,1,0 / 0,4,0,-5,0,1, factored into shared sums. */
static CNN_ALWAYS_INLINE void wino_bt(const WV d[6], WV o[6]) {
    const WV four = WV_SET1(4.0f), five = WV_SET1(5.0f), two = WV_SET1(2.0f);
    const WV a = WV_FNMA(four, d[2], d[4]); /* d4 - 4 d2 */
    const WV b = WV_FNMA(four, d[1], d[3]); /* d3 - 4 d1 */
    const WV c = WV_SUB(d[4], d[2]);
    const WV e = WV_MUL(two, WV_SUB(d[3], d[1]));
    o[0] = WV_FMA(four, d[0], WV_FNMA(five, d[2], d[4]));
    o[1] = WV_ADD(a, b);
    o[2] = WV_SUB(a, b);
    o[3] = WV_ADD(c, e);
    o[4] = WV_SUB(c, e);
    o[5] = WV_FMA(four, d[1], WV_FNMA(five, d[3], d[5]));
}

/* 1D G g (3 -> 6): rows 1/4,0,0 / -1/6,-1/6,-1/6 / -1/6,1/6,-1/6 / 1/24,1/12,1/6 /
 * 1/24,-1/12,1/6 / 0,0,1. */
static CNN_ALWAYS_INLINE void wino_g(WV g0, WV g1, WV g2, WV o[6]) {
    const WV s = WV_ADD(g0, g2);
    const WV q = WV_FMA(WV_SET1(1.0f / 24.0f), g0, WV_MUL(WV_SET1(1.0f / 6.0f), g2));
    const WV r = WV_MUL(WV_SET1(1.0f / 12.0f), g1);
    const WV m6 = WV_SET1(-1.0f / 6.0f);
    o[0] = WV_MUL(WV_SET1(0.25f), g0);
    o[1] = WV_MUL(m6, WV_ADD(s, g1));
    o[2] = WV_MUL(m6, WV_SUB(s, g1));
    o[3] = WV_ADD(q, r);
    o[4] = WV_SUB(q, r);
    o[5] = g2;
}

/* 1D A^T m (6 -> 4): rows 1,1,1,1,1,0 / 0,1,-1,2,-2,0 / 0,1,1,4,4,0 / 0,1,-1,8,-8,1. */
static CNN_ALWAYS_INLINE void wino_at(const WV m[6], WV y[4]) {
    const WV a = WV_ADD(m[1], m[2]), b = WV_SUB(m[1], m[2]);
    const WV c = WV_ADD(m[3], m[4]), d = WV_SUB(m[3], m[4]);
    y[0] = WV_ADD(WV_ADD(m[0], a), c);
    y[1] = WV_FMA(WV_SET1(2.0f), d, b);
    y[2] = WV_FMA(WV_SET1(4.0f), c, a);
    y[3] = WV_ADD(WV_FMA(WV_SET1(8.0f), d, b), m[5]);
}

/* U = (G g G^T) of the 3x3 filters w[oc][ic] (OIHW) for input channels [ic_begin, ic_end) and
 * every output channel, in the NR-column panels of f32-gemm.h (a vector of output channels
 * never straddles a panel: WV_LANES divides nr). Vectors of output channels: gathers at stride
 * 9*IC. */
static void wino_weights(const float* w, int64_t in_channels, int64_t out_channels, int64_t nr,
                         int64_t ic_begin, int64_t ic_end, float* u, int64_t xi_stride) {
    const WV_INDEX idx = WV_MAKE_INDEX(9 * in_channels);
    /* Input channels innermost: the gathers walk each filter row forward (the cache lines of
     * one step serve the next ones), and each of the 36 stores advances by one panel row. */
    for (int64_t oc = 0; oc < out_channels; oc += WV_LANES) {
        const int n = out_channels - oc < WV_LANES ? (int)(out_channels - oc) : WV_LANES;
        for (int64_t ic = ic_begin; ic < ic_end; ic++) {
            const float* g = w + (oc * in_channels + ic) * 9;
            WV t[3][6]; /* t[kw][i] = (G g)[i][kw] */
            for (int kw = 0; kw < 3; kw++)
                wino_g(WV_GATHER(g + kw, idx, n), WV_GATHER(g + 3 + kw, idx, n),
                       WV_GATHER(g + 6 + kw, idx, n), t[kw]);
            float* dst = u + (oc / nr) * in_channels * nr + ic * nr + oc % nr;
            for (int i = 0; i < 6; i++) {
                WV o[6];
                wino_g(t[0][i], t[1][i], t[2][i], o);
                for (int j = 0; j < 6; j++) WV_STORE(dst + (6 * i + j) * xi_stride, o[j], n);
            }
        }
    }
}

/* V[xi][ic] (element xi at v + xi*xi_stride) = (B^T d B)[xi] of the 6x6 input window whose
 * top-left corner is (y0, x0) in every channel of `in` (planes of in_h x in_w, zero outside). */
static void wino_input(const float* in, int64_t in_h, int64_t in_w, int64_t channels, int64_t y0,
                       int64_t x0, float* v, int64_t xi_stride) {
    const int64_t plane = in_h * in_w;
    const WV_INDEX idx = WV_MAKE_INDEX(plane);
    int row_ok[6], col_ok[6];
    for (int i = 0; i < 6; i++) {
        row_ok[i] = y0 + i >= 0 && y0 + i < in_h;
        col_ok[i] = x0 + i >= 0 && x0 + i < in_w;
    }
    for (int64_t c0 = 0; c0 < channels; c0 += WV_LANES) {
        const int n = channels - c0 < WV_LANES ? (int)(channels - c0) : WV_LANES;
        const float* base = in + c0 * plane;
        WV t[6][6]; /* t[r][j] = (d B)[r][j] */
        for (int r = 0; r < 6; r++) {
            WV d[6];
            for (int c = 0; c < 6; c++)
                d[c] = row_ok[r] && col_ok[c] ? WV_GATHER(base + (y0 + r) * in_w + x0 + c, idx, n)
                                              : WV_ZERO();
            wino_bt(d, t[r]);
        }
        for (int j = 0; j < 6; j++) {
            const WV col[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]};
            WV o[6];
            wino_bt(col, o);
            for (int i = 0; i < 6; i++) WV_STORE(v + (6 * i + j) * xi_stride + c0, o[i], n);
        }
    }
}

/* out[oc][i][j] = act((A^T m A)[i][j] + bias[oc]) for i < rows, j < cols, every channel; m[xi][oc]
 * at m + xi*xi_stride; out = the tile's top-left output in channel 0 (planes of `plane`). The
 * activation is a constant in each instance (always_inline), so its switch folds away. */
static CNN_ALWAYS_INLINE void wino_output_act(
    const float* m, int64_t xi_stride, int64_t channels, const float* bias, float* out,
    int64_t plane, int64_t out_w, int rows, int cols, cnn_activation act) {
    const WV_INDEX idx = WV_MAKE_INDEX(plane);
    for (int64_t c0 = 0; c0 < channels; c0 += WV_LANES) {
        const int n = channels - c0 < WV_LANES ? (int)(channels - c0) : WV_LANES;
        WV s[6][4]; /* s[r][j] = (m A)[r][j] */
        for (int r = 0; r < 6; r++) {
            WV row[6];
            for (int c = 0; c < 6; c++) row[c] = WV_LOAD(m + (6 * r + c) * xi_stride + c0, n);
            wino_at(row, s[r]);
        }
        const WV b = bias != NULL ? WV_LOAD(bias + c0, n) : WV_ZERO();
        float* dst = out + c0 * plane;
        for (int j = 0; j < cols; j++) {
            const WV col[6] = {s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j]};
            WV y[4];
            wino_at(col, y);
            for (int i = 0; i < rows; i++)
                WV_SCATTER(dst + i * out_w + j, idx, WV_ACTIVATE(WV_ADD(y[i], b), act), n);
        }
    }
}

static void wino_output(const float* m, int64_t xi_stride, int64_t channels, const float* bias,
                        cnn_activation act, float* out, int64_t plane, int64_t out_w, int rows,
                        int cols) {
    switch (act) {
#define WINO_OUTPUT_CASE(A)                                                                    \
    case A: wino_output_act(m, xi_stride, channels, bias, out, plane, out_w, rows, cols, A); break;
        WINO_OUTPUT_CASE(CNN_ACTIVATION_RELU)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_SIGMOID)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_TANH)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_RELU6)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_HARDSWISH)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_HARDSIGMOID)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_SILU)
        WINO_OUTPUT_CASE(CNN_ACTIVATION_GELU)
#undef WINO_OUTPUT_CASE
        default:
            wino_output_act(m, xi_stride, channels, bias, out, plane, out_w, rows, cols,
                            CNN_ACTIVATION_NONE);
    }
}

const cnn_f32_winograd_transforms WV_NAME = {wino_weights, wino_input, wino_output};
