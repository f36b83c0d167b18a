/* f32-conv2d-direct-tile.h — the tile body of the direct convolution (see f32-conv2d-direct.h),
 * written once for every vector ISA. An f32-conv2d-direct-<MR>x<NC>-<isa>.c file defines, then
 * includes this (everything here is static):
 *   DT_MR, DT_VEC, DT_NVMAX   pixels per tile, floats per vector, channel vectors per tile
 *   DT_WREGS                  weight vectors held in registers per tap (the others are read by
 *                             dt_fma_mem as the FMA's memory operand: see the AVX-512 tile)
 *   dt_f32                    the vector type
 *   dt_zero(), dt_load(p) (aligned), dt_loadu(p), dt_storeu(p, x), dt_set1(x), dt_add(a, b),
 *   dt_fma(a, b, c) = a*b + c, dt_fma_mem(acc, x, p): acc += x * load(p),
 *   dt_load_first(p, n)       lanes [0, n) of p, zero above (n may exceed the vector)
 *   dt_activate(x, act)       the fused activation
 *   dt_store_columns(r, mr, valid, out, os)
 *                             the transposed store of one channel vector: r[i] holds pixel i's
 *                             channels; channel c < valid goes to out[c*os + i] for i < mr
 * and gets direct_tile, the tile's cnn_f32_direct_fn. */

static CNN_ALWAYS_INLINE void direct_tile_body(
    const int NV, size_t mr, size_t nc, size_t k, const float* x, const int64_t* offsets,
    int64_t stride, const float* w, size_t ldw, const cnn_f32_direct_epilogue* e) {
    enum { NC = DT_NVMAX * DT_VEC };
    /* the pixel pointers: registers, so any stride (and the tail re-reading its last pixel)
     * shares this body */
    const float* xp[DT_MR];
    for (int i = 0; i < DT_MR; i++) xp[i] = x + (i < (int)mr ? i : (int)mr - 1) * stride;

    dt_f32 acc[DT_MR][DT_NVMAX];
CNN_UNROLL(16)
    for (int i = 0; i < DT_MR; i++)
CNN_UNROLL(4)
        for (int v = 0; v < NV; v++)
            acc[i][v] = e->first ? dt_zero() : dt_loadu(e->partial + i * NC + v * DT_VEC);

    for (size_t kk = 0; kk < k; kk++) {
        const int64_t o = offsets[kk];
        const float* wr = w + kk * ldw;
        dt_f32 wv[DT_WREGS];
CNN_UNROLL(4)
        for (int v = 0; v < NV && v < DT_WREGS; v++) wv[v] = dt_load(wr + v * DT_VEC);
CNN_UNROLL(16)
        for (int i = 0; i < DT_MR; i++) {
            const dt_f32 xv = dt_set1(xp[i][o]);
CNN_UNROLL(4)
            for (int v = 0; v < NV; v++) {
                if (v >= DT_WREGS)
                    dt_fma_mem(acc[i][v], xv, wr + v * DT_VEC);
                else
                    acc[i][v] = dt_fma(xv, wv[v], acc[i][v]);
            }
        }
    }

    if (!e->last) {
CNN_UNROLL(16)
        for (int i = 0; i < DT_MR; i++)
CNN_UNROLL(4)
            for (int v = 0; v < NV; v++) dt_storeu(e->partial + i * NC + v * DT_VEC, acc[i][v]);
        return;
    }
CNN_UNROLL(4)
    for (int v = 0; v < NV; v++) {
        const int64_t c0 = (int64_t)v * DT_VEC, valid = (int64_t)nc - c0; /* channels of v */
        const dt_f32 bias = e->bias != NULL ? dt_load_first(e->bias + c0, valid) : dt_zero();
        dt_f32 r[DT_MR];
CNN_UNROLL(16)
        for (int i = 0; i < DT_MR; i++) r[i] = dt_activate(dt_add(acc[i][v], bias), e->activation);
        dt_store_columns(r, mr, valid, e->out + c0 * e->out_stride, e->out_stride);
    }
}

/* The entry point: the body instanced for NV = 1 .. DT_NVMAX channel vectors. */
static void direct_tile(size_t mr, size_t nc, size_t k, const float* x, const int64_t* offsets,
                        int64_t stride, const float* w, size_t ldw,
                        const cnn_f32_direct_epilogue* e) {
    switch ((nc + DT_VEC - 1) / DT_VEC) {
        case 1: direct_tile_body(1, mr, nc, k, x, offsets, stride, w, ldw, e); break;
#if DT_NVMAX >= 3
        case 2: direct_tile_body(2, mr, nc, k, x, offsets, stride, w, ldw, e); break;
#endif
#if DT_NVMAX >= 4
        case 3: direct_tile_body(3, mr, nc, k, x, offsets, stride, w, ldw, e); break;
#endif
        default: direct_tile_body(DT_NVMAX, mr, nc, k, x, offsets, stride, w, ldw, e); break;
    }
}
