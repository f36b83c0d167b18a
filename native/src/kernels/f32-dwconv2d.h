/* f32-dwconv2d.h — depthwise convolution (groups == in_channels, any channel multiplier) split
 * into a plain-C driver (f32-dwconv2d-driver.c: staging of zero-padded, phase-split input
 * planes, work partition) and a per-ISA output-plane routine (the vector code), written once in
 * f32-dwconv2d-tile.h and instantiated by f32-dwconv2d-{avx2,avx512}.c.
 *
 * Each input plane is first staged into per-thread scratch with its zero padding, and split
 * into stride_width "phases" (column x of the padded row goes to phase x % sw, position x / sw).
 * Then output column ow of tap kw reads phase (kw*dw) % sw at position ow + (kw*dw) / sw:
 * contiguous in ow for every stride, so the inner loop is plain unaligned loads + FMA with no
 * bounds checks. Phases are padded to a multiple of the vector width so the last vector may run
 * past out_width (it is stored masked). Taps are accumulated in (kh, kw) order, bias added last.
 * Work items are (n, input channel, block of multiplier outputs); a thread stages a plane once
 * for consecutive items. Strides 1 and 2 stage each row with the ISA's stage_row (masked vector
 * loads at the edges, stride 2 deinterleaved with shuffles: the scalar strided gather cost more
 * than the convolution itself); other strides use the plain-C gather. */
#ifndef CNN_F32_DWCONV2D_H
#define CNN_F32_DWCONV2D_H

#include "cnn_internal.h"

typedef struct cnn_dwconv_job {
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
    /* the ISA's routine: one output plane from a staged input plane, its taps w and bias */
    void (*output_plane)(const struct cnn_dwconv_job* job, const float* staged, const float* w,
                         float bias, float* out);
    /* the ISA's staging of one row (stride 1, or stride 2 with two phases): its phases from
     * input row src, or zeros when src is NULL (a padding row) */
    void (*stage_row)(const struct cnn_dwconv_job* job, const float* src, float* dst);
    /* the ISA's direct 3x3 stride 1 / 2 routine (f32-dwconv2d-3x3.h): output rows [oh, oh_end)
     * of one plane straight from its input plane; rows outside the input read zero_row */
    void (*direct_plane)(const struct cnn_dwconv_job* job, const float* in, const float* w,
                         float bias, float* out, int64_t oh, int64_t oh_end);
    const float* zero_row; /* zeros, readable from zero_row[-1] to [2 * (out_width + 32) + 1] */
    const float* input_end; /* input + its size */
    int64_t bands, band_rows; /* direct: row bands per plane, output rows per band */
} cnn_dwconv_job;

/* Runs the depthwise conv with the given output-plane routine, whose vectors hold `lanes`
 * floats (the staged phases are padded to a multiple of it), and row-staging routine; 3x3
 * stride 1 and 2 convs (dilation 1, left padding <= 1) with the direct routine instead. */
cnn_status cnn_f32_dwconv2d_run(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                int32_t out_width, const float* input, const float* weight,
                                const float* bias, cnn_activation activation, float* output,
                                void (*output_plane)(const cnn_dwconv_job*, const float*,
                                                     const float*, float, float*),
                                void (*stage_row)(const cnn_dwconv_job*, const float*, float*),
                                void (*direct_plane)(const cnn_dwconv_job*, const float*,
                                                     const float*, float, float*, int64_t,
                                                     int64_t),
                                int32_t lanes);

#endif /* CNN_F32_DWCONV2D_H */
