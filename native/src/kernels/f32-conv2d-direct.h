/* f32-conv2d-direct.h — direct convolution with vectors over OUTPUT CHANNELS (oneDNN's direct
 * convolution, XNNPACK's CHW convolutions turned around): the register tile is a few output
 * pixels of one output row x a few vectors of output channels; each tap broadcasts one input
 * value per pixel and loads one vector of prepacked weights per channel vector.
 *
 * Why beside the GEMM driver (vectors over pixels): a tile of pixels wastes lanes when the
 * image is small (7x7 = 49 pixels fill 64 lanes of two 32-wide tiles) and strided convs must
 * gather their input (stride phases, im2col); broadcasting needs neither, since a broadcast can
 * read any element. The price is a transpose at the store (the tile is [pixel][channel], the
 * output NCHW) and weights packed per plan, so this runs only behind cnn_conv2d_plan. */
#ifndef CNN_F32_CONV2D_DIRECT_H
#define CNN_F32_CONV2D_DIRECT_H

#include <stddef.h>

#include "cnn_internal.h"

/* What a tile does after its taps. first = 1: the sums start at zero, else at `partial`;
 * last = 1: bias, activation and the transposed store of the first nc channels x mr pixels to
 * out[oc*out_stride + px]; last = 0: the raw sums to `partial` ([pixel][channel], MR x NC). */
typedef struct cnn_f32_direct_epilogue {
    const float* bias; /* [nc] or NULL; only when last */
    cnn_activation activation;
    int32_t first, last;
    float* partial;
    float* out;
    int64_t out_stride;
} cnn_f32_direct_epilogue;

/* One tile: mr <= MR pixels x nc <= NC output channels over k taps. Tap kk of pixel px reads
 * x[offsets[kk] + px*stride] and the weight row w[kk*ldw .. kk*ldw + nc) (ldw: nc rounded up
 * to the vector; the packed panel is zero beyond nc, so no load is masked). */
typedef void cnn_f32_direct_fn(size_t mr, size_t nc, size_t k, const float* x,
                               const int64_t* offsets, int64_t stride, const float* w,
                               size_t ldw, const cnn_f32_direct_epilogue* epilogue);

typedef struct cnn_f32_direct_ukernel {
    int32_t mr;  /* pixels per tile */
    int32_t nc;  /* output channels per panel */
    int32_t vec; /* floats per vector: the packed panel width is a multiple of it */
    cnn_f32_direct_fn* tile;
    /* Routing (measured per ISA against its GEMM tile, f32-conv2d-direct.c): the largest output
     * plane of a stride-1 conv this tile takes. */
    int32_t stride1_max_plane;
} cnn_f32_direct_ukernel;

/* The tiles (bodies in f32-conv2d-direct-tile.h): AVX-512 7 pixels x 64 channels = 28 ZMM
 * accumulators (f32-conv2d-direct-7x64-avx512.c); AVX2 4 pixels x 24 channels = 12 YMM
 * accumulators (f32-conv2d-direct-4x24-avx2.c). */
extern const cnn_f32_direct_ukernel cnn_f32_direct_7x64_avx512;
extern const cnn_f32_direct_ukernel cnn_f32_direct_4x24_avx2;

/* The packed weights: per panel of uk->nc output channels, [K][panel width], K the taps in
 * (ic, kh, kw) order, or (kh, ic, kw) where top / bottom padding is worth skipping (a rule of
 * the shape: f32-conv2d-direct.c); the panel width uk->nc (the last panel: its channels rounded
 * up to uk->vec), zeros beyond out_channels. groups must be 1. */
int64_t cnn_f32_conv2d_direct_packed_floats(const cnn_conv2d_params* p,
                                            const cnn_f32_direct_ukernel* uk);
void cnn_f32_conv2d_direct_pack(const cnn_conv2d_params* p, const float* weight, float* packed,
                                const cnn_f32_direct_ukernel* uk);

/* Whether a plan should take the direct path on this shape (the measured rule is in
 * f32-conv2d-direct.c). */
int cnn_f32_conv2d_direct_plan_suits(const cnn_conv2d_params* p, int32_t out_height,
                                     int32_t out_width, const cnn_f32_direct_ukernel* uk);

/* The convolution (groups 1) with weights from cnn_f32_conv2d_direct_pack. */
cnn_status cnn_f32_conv2d_direct(cnn_context* ctx, const cnn_conv2d_params* p,
                                 int32_t out_height, int32_t out_width, const float* input,
                                 const float* packed, const float* bias,
                                 cnn_activation activation, float* output,
                                 const cnn_f32_direct_ukernel* uk);

#endif /* CNN_F32_CONV2D_DIRECT_H */
