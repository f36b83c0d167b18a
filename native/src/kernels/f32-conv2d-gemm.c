/* f32-conv2d-gemm.c — 2D convolution as GEMM on a vector micro-kernel (MR x NR register tile;
 * the AVX2 6x16 or the AVX-512 8x32, passed in by f32-conv2d-{avx2,avx512}.c). Plain C: the
 * vector code is all in the micro-kernels, so one copy of this driver serves every ISA.
 *
 * Per (image n, group g) the convolution is C[OCg x P] = W_g[OCg x K] * B[K x P] with
 * P = out_height*out_width pixels and K = (in_channels/groups)*kernel_height*kernel_width.
 * W is read in place (6 rows at a time); B depends on the shape:
 *  - direct (1x1, stride 1, no padding): B is the input itself (row stride H*W), no copy;
 *  - implicit (any stride, rows wide enough that at most 1/8 of the computed columns are
 *    padding, or no more NR-column panels than im2col would take): the input is zero-padded and split by stride phase: element (y, x) of a padded
 *    plane goes to [y % sh][x % sw][y / sh][x / sw] (a phase is L wide). Tap (kh, kw) of
 *    output (oh, ow) is then in phase (kh % sh, kw % sw) at row oh + kh / sh, column
 *    ow + kw / sw (dilated taps likewise): with "virtual" pixel v = oh*L + ow, row (ic, kh, kw)
 *    of B is that copy at v + a per-row offset (indirect GEMM, no im2col, and for strided
 *    convs no K-fold blow-up of the input). Each tile pads just the band of rows it reads.
 *    The kernel computes whole virtual rows; virtual pixels with ow >= out_width are dropped;
 *  - im2col (everything else: narrow rows such as 7x7 images): B is built tile by tile in
 *    per-thread scratch, row-major K x tile. Small images in a batch (per image, more than 1/8
 *    of the NR-column panels would be lanes past the image) are tiled across the batch: the
 *    pixels of all images in one range, C via a per-thread tile copied out image by image;
 *  - depthwise / channel-multiplier convs (groups == in_channels > 1) do not come here.
 * Work division: the threads form a grid of pixel parts x output-channel parts (the grid with
 * the least work on the busiest thread: NR-column panels x MR-row slices, plus building B).
 * A pixel part is a contiguous range of the NR-column panels of all (n, g), equal to one panel,
 * so every thread gets the same MACs whatever the tile size; it is cut into tiles (within one
 * image) of about the cache-sized tile length, each built once (im2col / padded band) and used
 * for all of the part's output channels. Channel parts are only for few panels (batch 1, small
 * images), ranges of MR-row slices equal to one slice.
 * Inside a tile: for each L2-sized block of W rows, for each NR-pixel panel (kept in L1), for
 * each MR-row slice of the block: one micro-kernel call (bias and activation fused). */
#include <math.h>
#include <string.h>

#include "f32-gemm.h"

typedef enum { CONV_DIRECT, CONV_IM2COL, CONV_IM2COL_BATCH, CONV_IMPLICIT } conv_mode;

typedef struct {
    const cnn_conv2d_params* p;
    const cnn_f32_gemm_ukernel* uk;
    int64_t out_width, pixels, in_plane;
    int64_t ic_per_group, oc_per_group, k;
    conv_mode mode;
    /* Tiles run over `pixels` (direct, im2col), batch*pixels (im2col over the batch) or the
     * virtual pixels (implicit). */
    int64_t tile_pixels, m_block, k_block;
    /* Work division (see the top): panels per (n, g) and in all, MR-row slices, the grid. */
    int64_t image_panels, panels, slices, pixel_parts, oc_parts;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
    float* scratch;    /* per thread: im2col tile (+ C tile), or implicit C tile + band */
    size_t col_floats; /* per thread */
    /* implicit only: per thread, the rows of the zero-padded, phase-split input (see the top)
     * that one tile reads, [C/groups][sh][sw][band_rows][phase_w]; B row offsets into it [K] */
    const int64_t* offsets;
    int64_t phase_w, band_rows, band_floats, virtual_pixels;
    int prefetch; /* direct only: software prefetch of the next B panel */
    /* im2col only: floats per column phase of an input row, 0 = no phases (see im2col_tile) */
    int64_t phase_len;
} conv_gemm_job;

/* dst[i] = src[i] (src == NULL: 0), i < n, for the short rows of small images (7x7: libc's
 * memcpy / memset calls cost more than the copy). Fixed-size memcpy / memset compile to plain
 * 16-, 8- and 4-byte moves. */
static inline void copy_short(float* dst, const float* src, int64_t n) {
    static const float zeros[4];
    for (; n >= 4; n -= 4, dst += 4, src = src != NULL ? src + 4 : NULL)
        memcpy(dst, src != NULL ? src : zeros, 16);
    if (n & 2) {
        memcpy(dst, src != NULL ? src : zeros, 8);
        dst += 2;
        src = src != NULL ? src + 2 : NULL;
    }
    if (n & 1) memcpy(dst, src != NULL ? src : zeros, 4);
}

/* dst[i] = 0 (src == NULL) or src[i*stride], i < count: one im2col row segment or phase row. */
static void im2col_write(const cnn_f32_gemm_ukernel* uk, float* dst, int64_t count,
                         const float* src, int64_t stride) {
    if (count <= 0) return;
    if (count < 32 && (src == NULL || stride == 1))
        copy_short(dst, src, count);
    else if (src == NULL)
        memset(dst, 0, (size_t)count * sizeof(float));
    else if (stride == 1)
        memcpy(dst, src, (size_t)count * sizeof(float));
    else if (uk->copy_strided != NULL)
        uk->copy_strided(dst, src, count, stride);
    else
        for (int64_t i = 0; i < count; i++) dst[i] = src[i * stride];
}

/* dst[i] = the zero-padded row at x0 + i*stride, i < n: src[x0 + i*stride] where that lies in
 * [0, size), zero elsewhere. */
static void im2col_row(const cnn_f32_gemm_ukernel* uk, float* dst, int64_t n, const float* src,
                       int64_t x0, int64_t stride, int64_t size) {
    int64_t lo, hi; /* valid i in [lo, hi) */
    cnn_conv_valid_range(x0, stride, size, n, &lo, &hi);
    im2col_write(uk, dst, lo, NULL, 0);
    im2col_write(uk, dst + lo, hi - lo, src + (x0 + lo * stride), stride);
    im2col_write(uk, dst + hi, n - hi, NULL, 0);
}

/* im2col of pixels [p0, p0 + np) of one (image, group) into `col`, row-major K x tile_pixels
 * (the micro-kernel reads NR-column panels of it with ldb = tile_pixels; every row segment of
 * an output row is one contiguous copy). Columns past np are left unwritten: the micro-kernel
 * masks them.
 * With job->phase_len > 0, each run of outputs [ow, ow + run) of an input row is first split by
 * column phase into `phases`: phase r, element i = the zero-padded row at x = (ow + i)*sw + r.
 * The im2col row of kernel column kw is then phase (kw*dw) % sw from element (kw*dw) / sw on,
 * contiguous: each input value goes through the strided gather once, not once per kernel
 * column, and the im2col rows are plain copies. */
static void im2col_tile(const conv_gemm_job* job, const float* in_group, int64_t p0, int64_t np,
                        float* col, float* phases) {
    const cnn_conv2d_params* p = job->p;
    const cnn_f32_gemm_ukernel* uk = job->uk;
    const int64_t in_h = p->in_height, in_w = p->in_width, out_w = job->out_width;
    const int64_t sh = p->stride_height, sw = p->stride_width, dw = p->dilation_width;
    const int64_t kwn = p->kernel_width, ld = job->tile_pixels;
    const int64_t len = job->phase_len, reach = (kwn - 1) * dw / sw; /* phase overhang */
    const int64_t oh0 = p0 / out_w, ow0 = p0 % out_w; /* first pixel of the tile */
    for (int64_t ic = 0; ic < job->ic_per_group; ic++) {
        for (int64_t kh = 0; kh < p->kernel_height; kh++) {
            float* row0 = col + (ic * p->kernel_height + kh) * kwn * ld; /* row of kw = 0 */
            int64_t pix = 0, oh = oh0, ow = ow0;
            while (pix < np) {
                const int64_t run = out_w - ow < np - pix ? out_w - ow : np - pix;
                const int64_t ih = oh * sh - p->pad_top + kh * p->dilation_height;
                const float* row = in_group + (ic * in_h + (ih < 0 || ih >= in_h ? 0 : ih)) * in_w;
                if (ih < 0 || ih >= in_h) {
                    for (int64_t kw = 0; kw < kwn; kw++)
                        im2col_write(uk, row0 + kw * ld + pix, run, NULL, 0);
                } else if (len > 0) {
                    for (int64_t r = 0; r < sw && r <= (kwn - 1) * dw; r++)
                        im2col_row(uk, phases + r * len, run + reach, row,
                                   ow * sw + r - p->pad_left, sw, in_w);
                    for (int64_t kw = 0; kw < kwn; kw++)
                        im2col_write(uk, row0 + kw * ld + pix, run,
                                     phases + (kw * dw % sw) * len + kw * dw / sw, 1);
                } else {
                    for (int64_t kw = 0; kw < kwn; kw++)
                        im2col_row(uk, row0 + kw * ld + pix, run, row,
                                   ow * sw - p->pad_left + kw * dw, sw, in_w);
                }
                pix += run;
                oh++;
                ow = 0;
            }
        }
    }
}

/* ---- implicit GEMM: each thread writes the band of the padded, phase-split input (see the
 * top) that its tile reads, phase rows [y0, y0 + rows) of every channel of the group, so there
 * is no separate padding pass and one parallel region per call. The B row offsets are set up
 * in cnn_f32_conv2d_gemm. */
static void implicit_band(const conv_gemm_job* job, const float* in_group, int64_t y0,
                          int64_t rows, float* band) {
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width;
    const int64_t sh = p->stride_height, sw = p->stride_width;
    const int64_t br = job->band_rows, pw = job->phase_w;
    for (int64_t ic = 0; ic < job->ic_per_group; ic++) {
        const float* src = in_group + ic * job->in_plane;
        for (int64_t ry = 0; ry < sh; ry++)
            for (int64_t rx = 0; rx < sw; rx++) {
                /* The valid columns are the same in every row of the phase (the rows are
                 * short: 29 floats at 56 / 2, so per-row bookkeeping was ~1/3 of the band). */
                const int64_t x0 = rx - p->pad_left;
                int64_t lo, hi;
                cnn_conv_valid_range(x0, sw, in_w, pw, &lo, &hi);
                for (int64_t y = y0; y < y0 + rows; y++) {
                    const int64_t ih = y * sh + ry - p->pad_top;
                    float* row = band + (((ic * sh + ry) * sw + rx) * br + y - y0) * pw;
                    if (ih < 0 || ih >= in_h) {
                        memset(row, 0, (size_t)pw * sizeof(float));
                        continue;
                    }
                    im2col_write(job->uk, row, lo, NULL, 0);
                    im2col_write(job->uk, row + lo, hi - lo, src + ih * in_w + x0 + lo * sw, sw);
                    im2col_write(job->uk, row + hi, pw - hi, NULL, 0);
                }
            }
    }
}

/* One tile: pixels [t0, t0 + nt) (virtual pixels: implicit; over the batch: im2col batched) of
 * (n, g), output channels [oc_begin, oc_end) of the group, with the thread's scratch `buf`.
 * B and C of the micro-kernel by mode:
 *  direct:   B = the input tile (row stride H*W),        C = the output (row stride P);
 *  im2col:   B = the thread's im2col tile (K x tile),    C = the output (over the batch:
 *            the thread's C tile, copied out image by image);
 *  implicit: B = the thread's padded band + offsets,      C = the output for panels inside
 *            one output row, else the thread's C tile, whose real pixels are copied to the
 *            output after each block of W rows. */
static void conv_gemm_tile(const conv_gemm_job* job, float* buf, int64_t n, int64_t g, int64_t t0,
                           int64_t nt, int64_t oc_begin, int64_t oc_end) {
    const cnn_conv2d_params* p = job->p;
    const conv_mode mode = job->mode;
    const int64_t k = job->k, pixels = job->pixels, tile_len = job->tile_pixels;
    const int batched = mode == CONV_IM2COL_BATCH;
    /* implicit: the padded band after the C tile; im2col over the batch: the C tile last */
    float* band = buf + (mode == CONV_IMPLICIT ? job->col_floats - job->band_floats : 0);
    float* c_tile = batched ? buf + job->col_floats - job->m_block * tile_len : buf;
    const int64_t MR = job->uk->mr, NR = job->uk->nr;
    const int64_t first_plane = n * p->in_channels + g * job->ic_per_group;
    const float* in_group = job->input + first_plane * job->in_plane;
    const int64_t y0 = mode == CONV_IMPLICIT ? t0 / job->phase_w : 0; /* first band row */
    if (mode == CONV_IM2COL)
        im2col_tile(job, in_group, t0, nt, buf, buf + job->k * tile_len);
    else if (batched) /* image by image */
        for (int64_t q = t0; q < t0 + nt; q += pixels - q % pixels) {
            const int64_t run = pixels - q % pixels < t0 + nt - q ? pixels - q % pixels
                                                                : t0 + nt - q;
            im2col_tile(job, in_group + q / pixels * p->in_channels * job->in_plane, q % pixels,
                        run, buf + (q - t0), buf + job->k * tile_len);
        }
    else if (mode == CONV_IMPLICIT)
        implicit_band(job, in_group, y0,
                      (t0 + nt - 1) / job->phase_w - y0 + 1 +
                          (p->kernel_height - 1) * p->dilation_height / p->stride_height,
                      band);
    const int64_t oc_base = g * job->oc_per_group; /* first output channel of the group */
    const float* w_group = job->weight + oc_base * k;
    float* out_group = job->output + (n * p->out_channels + oc_base) * pixels;

    /* Rows of W in blocks of job->m_block, K in blocks of job->k_block (an L2-sized slice
     * of W), then NR-pixel panels (one panel of B, k_block x NR, stays in L1/L2 while the
     * block's MR-row slices stream past it). The first K block writes C with the bias,
     * later ones add to it, the last one applies the activation. */
    const cnn_f32_gemm_ukernel* uk = job->uk;
    for (int64_t mb = oc_begin; mb < oc_end; mb += job->m_block) {
        const int64_t mb_end = mb + job->m_block < oc_end ? mb + job->m_block : oc_end;
        for (int64_t kb = 0; kb < k; kb += job->k_block) {
            const int64_t kn = k - kb < job->k_block ? k - kb : job->k_block;
            const int first = kb == 0, last = kb + kn == k;
            for (int64_t j = 0; j < nt; j += NR) {
                const size_t nr = (size_t)(nt - j < NR ? nt - j : NR);
                /* direct: B is read straight from the input, NR floats of each of kn rows
                 * H*W apart, more streams than the hardware prefetcher follows; each MR-row
                 * slice prefetches its share of the next panel's rows (job->prefetch). */
                const int64_t pf_next = t0 + j + NR; /* first pixel of the next panel */
                const int pf = mode == CONV_DIRECT && job->prefetch && pf_next < pixels;
                const int64_t slices = (mb_end - mb + MR - 1) / MR;
                for (int64_t m = mb; m < mb_end; m += MR) {
                    const size_t mr = (size_t)(mb_end - m < MR ? mb_end - m : MR);
                    if (pf) {
                        const int64_t s = (m - mb) / MR;
                        const float* next = in_group + kb * job->in_plane + pf_next;
                        for (int64_t r = kn * s / slices; r < kn * (s + 1) / slices; r++) {
                            CNN_PREFETCH(next + r * job->in_plane);
                            CNN_PREFETCH(next + r * job->in_plane + NR - 1);
                        }
                    }
                    const cnn_f32_gemm_epilogue epi = {
                        first && job->bias != NULL ? job->bias + oc_base + m : NULL, NULL,
                        last ? job->activation : CNN_ACTIVATION_NONE, !first};
                    const float* a = w_group + m * k + kb;
                    if (mode == CONV_IMPLICIT) {
                        /* A panel within one output row goes straight to the output,
                         * one across rows (with dropped columns) to the C tile. */
                        const int64_t pw = job->phase_w, v = t0 + j;
                        const int in_row = v % pw + (int64_t)nr <= job->out_width;
                        uk->igemm(mr, nr, (size_t)kn, a, (size_t)k,
                                  band + (t0 - y0 * pw + j), job->offsets + kb,
                                  in_row ? out_group + m * pixels + v / pw * job->out_width +
                                               v % pw
                                         : buf + (m - mb) * tile_len + j,
                                  (size_t)(in_row ? pixels : tile_len), &epi);
                    } else if (mode == CONV_DIRECT) {
                        uk->gemm(mr, nr, (size_t)kn, a, (size_t)k,
                                 in_group + kb * job->in_plane + t0 + j,
                                 (size_t)job->in_plane, out_group + m * pixels + t0 + j,
                                 (size_t)pixels, &epi);
                    } else if (batched) {
                        uk->gemm(mr, nr, (size_t)kn, a, (size_t)k,
                                 buf + kb * tile_len + j, (size_t)tile_len,
                                 c_tile + (m - mb) * tile_len + j, (size_t)tile_len, &epi);
                    } else {
                        uk->gemm(mr, nr, (size_t)kn, a, (size_t)k,
                                 buf + kb * tile_len + j, (size_t)tile_len,
                                 out_group + m * pixels + t0 + j, (size_t)pixels, &epi);
                    }
                }
            }
        }
        if (batched) /* image by image */
            for (int64_t q = t0; q < t0 + nt; q += pixels - q % pixels) {
                const int64_t run = pixels - q % pixels < t0 + nt - q ? pixels - q % pixels
                                                                    : t0 + nt - q;
                float* out = job->output + (q / pixels * p->out_channels + oc_base) * pixels;
                for (int64_t m = mb; m < mb_end; m++)
                    memcpy(out + m * pixels + q % pixels, c_tile + (m - mb) * tile_len + q - t0,
                           (size_t)run * sizeof(float));
            }
        if (mode == CONV_IMPLICIT) /* the real pixels of the panels in the C tile */
            for (int64_t j = 0; j < nt; j += NR) {
                const int64_t pw = job->phase_w, ow_n = job->out_width;
                const int64_t v = t0 + j, v_end = v + (nt - j < NR ? nt - j : NR);
                if (v % pw + (v_end - v) <= ow_n) continue; /* stored directly */
                for (int64_t oh = v / pw; oh * pw < v_end; oh++) {
                    const int64_t vs = oh * pw > v ? oh * pw : v;
                    const int64_t ve = oh * pw + ow_n < v_end ? oh * pw + ow_n : v_end;
                    if (vs >= ve) continue;
                    for (int64_t m = mb; m < mb_end; m++)
                        memcpy(out_group + m * pixels + oh * ow_n + (vs - oh * pw),
                               buf + (m - mb) * tile_len + (vs - t0),
                               (size_t)(ve - vs) * sizeof(float));
                }
            }
    }
}

/* One part of the thread grid (see the top): its output channels (whole MR-row slices) for its
 * range of panels, tile by tile; a tile stays within one (n, g) and the tiles of one (n, g) are
 * about equal, at most tile_pixels. */
static void conv_gemm_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const conv_gemm_job* job = (const conv_gemm_job*)arg;
    const int64_t MR = job->uk->mr, NR = job->uk->nr, per_image = job->image_panels;
    const int64_t tile_panels = job->tile_pixels / NR;
    const int64_t tiled = job->mode == CONV_IMPLICIT       ? job->virtual_pixels
                          : job->mode == CONV_IM2COL_BATCH ? job->p->batch * job->pixels
                                                           : job->pixels;
    float* buf = job->mode == CONV_DIRECT
                     ? NULL
                     : job->scratch + (size_t)thread_index * job->col_floats;
    for (int64_t part = begin; part < end; part++) {
        const int64_t pp = part / job->oc_parts, op = part % job->oc_parts;
        const int64_t oc_begin = job->slices * op / job->oc_parts * MR;
        int64_t oc_end = job->slices * (op + 1) / job->oc_parts * MR;
        if (oc_end > job->oc_per_group) oc_end = job->oc_per_group;
        const int64_t u_end = job->panels * (pp + 1) / job->pixel_parts;
        for (int64_t u = job->panels * pp / job->pixel_parts, u_next; u < u_end; u = u_next) {
            const int64_t ng = u / per_image, image0 = ng * per_image;
            const int64_t seg_end = u_end < image0 + per_image ? u_end : image0 + per_image;
            const int64_t tiles_left = (seg_end - u + tile_panels - 1) / tile_panels;
            u_next = u + (seg_end - u + tiles_left - 1) / tiles_left;
            const int64_t t0 = (u - image0) * NR, t1 = (u_next - image0) * NR;
            const int64_t n = job->mode == CONV_IM2COL_BATCH ? 0 : ng / job->p->groups;
            conv_gemm_tile(job, buf, n, ng % job->p->groups, t0, (t1 < tiled ? t1 : tiled) - t0,
                           oc_begin, oc_end);
        }
    }
}

static int64_t round_up(int64_t x, int64_t m) {
    return (x + m - 1) / m * m;
}

/* Phase rows of the padded band of a tile of `tile` virtual pixels: the output rows it spans
 * plus the kernel's reach. Evaluated in double: exact values may exceed int64 for absurd
 * shapes (huge dilations). */
static double implicit_band_rows(const cnn_conv2d_params* p, double tile, double phase_w) {
    return floor((tile - 1.0) / phase_w) + 2.0 +
           floor(((double)p->kernel_height - 1.0) * p->dilation_height / p->stride_height);
}

/* A thread's padded band must stay comparable to the tensors themselves (huge padding or
 * dilation: use im2col). */
static int implicit_band_size_ok(const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, int64_t phase_w) {
    const double band = (double)p->in_channels / p->groups * p->stride_height *
                        p->stride_width * implicit_band_rows(p, 512.0, (double)phase_w) *
                        (double)phase_w;
    const double tensors = (double)p->in_channels * p->in_height * p->in_width +
                           (double)p->out_channels * out_height * out_width;
    return band <= 4.0 * tensors + 1048576.0;
}

cnn_status cnn_f32_conv2d_gemm(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                               int32_t out_width, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output,
                               const cnn_f32_gemm_ukernel* ukernel) {
    const int64_t MR = ukernel->mr, NR = ukernel->nr;
    conv_gemm_job job = {0};
    job.p = p;
    job.uk = ukernel;
    job.out_width = out_width;
    job.pixels = (int64_t)out_height * out_width;
    job.in_plane = (int64_t)p->in_height * p->in_width;
    job.ic_per_group = p->in_channels / p->groups;
    job.oc_per_group = p->out_channels / p->groups;
    job.k = job.ic_per_group * p->kernel_height * p->kernel_width;
    const int64_t sh = p->stride_height, sw = p->stride_width;
    /* implicit: a phase of the padded input is phase_w wide */
    const int64_t phase_w = ((int64_t)p->in_width + p->pad_left + p->pad_right + sw - 1) / sw;
    /* Implicit GEMM when at most 1/8 of its columns are dropped ones, or when it needs no more
     * NR-column panels than im2col would (small images: 512 channels at 7x7, batch 1, is 2
     * panels either way, and implicit saves the K x 49 im2col, ~10% of the time). */
    const int batch_im2col =
        p->batch > 1 && (round_up(job.pixels, NR) - job.pixels) * 8 > job.pixels;
    const int64_t virtual_panels =
        p->batch * ((((int64_t)out_height - 1) * phase_w + out_width + NR - 1) / NR);
    const int64_t im2col_panels = batch_im2col ? (p->batch * job.pixels + NR - 1) / NR
                                               : p->batch * ((job.pixels + NR - 1) / NR);
    if (sh == 1 && sw == 1 && p->kernel_height == 1 && p->kernel_width == 1 && p->pad_top == 0 &&
        p->pad_bottom == 0 && p->pad_left == 0 && p->pad_right == 0)
        job.mode = CONV_DIRECT;
    else if (((phase_w - out_width) * 8 <= phase_w || virtual_panels <= im2col_panels) &&
             implicit_band_size_ok(p, out_height, out_width, phase_w))
        job.mode = CONV_IMPLICIT;
    else
        job.mode = batch_im2col ? CONV_IM2COL_BATCH : CONV_IM2COL;
    job.weight = weight;
    job.bias = bias;
    job.activation = activation;

    /* Pixel tile: im2col builds K x tile floats, which should sit in L2 (~256 KiB); implicit
     * keeps a C tile of out_channels x tile, up to about 128 KiB (long tiles for few channels:
     * each tile also pads its band of the input, halo rows included). */
    int64_t tile = 256;
    if (job.mode != CONV_DIRECT && job.mode != CONV_IMPLICIT &&
        (tile = (65536 / job.k) / NR * NR) < NR)
        tile = NR;
    if (job.mode == CONV_IMPLICIT && (32768 / job.oc_per_group) / NR * NR > tile)
        tile = (32768 / job.oc_per_group) / NR * NR;
    if (tile > 512) tile = 512;
    int64_t tiled = job.pixels; /* what the tiles cover */
    if (job.mode == CONV_IM2COL_BATCH) tiled = p->batch * job.pixels;
    if (job.mode == CONV_IMPLICIT) {
        job.phase_w = phase_w;
        job.virtual_pixels = (int64_t)(out_height - 1) * phase_w + out_width;
        tiled = job.virtual_pixels;
    }
    if (tile > round_up(tiled, NR)) tile = round_up(tiled, NR);
    job.tile_pixels = tile;
    const int64_t images = (job.mode == CONV_IM2COL_BATCH ? 1 : (int64_t)p->batch) * p->groups;
    job.image_panels = (tiled + NR - 1) / NR;
    job.panels = images * job.image_panels;
    job.slices = (job.oc_per_group + MR - 1) / MR;
    /* K blocks: a panel of B (k_block x NR) within 128 KiB, the blocks about equal. */
    const int64_t k_max = 32768 / NR, k_blocks = (job.k + k_max - 1) / k_max;
    job.k_block = (job.k + k_blocks - 1) / k_blocks;
    /* Slice of W reused across a tile's panels: about 384 KiB, whole MR-row slices. */
    job.m_block = (98304 / job.k_block) / MR * MR;
    if (job.m_block < MR) job.m_block = MR;

    /* The thread grid: the busiest thread's panels x (its slices * MR + 2), the 2 standing for
     * building its B (im2col / band: about 2 MACs' time per float); ties go to fewer channel
     * parts (B built once, not once per channel part). */
    job.pixel_parts = job.oc_parts = 1;
    double best = -1.0;
    for (int64_t op = 1; op <= ctx->num_threads && op <= job.slices; op++) {
        int64_t pp = ctx->num_threads / op;
        if (pp > job.panels) pp = job.panels;
        const double cost = (double)((job.panels + pp - 1) / pp) *
                            (double)(((job.slices + op - 1) / op) * MR + 2);
        if (best < 0.0 || cost < best) {
            best = cost;
            job.pixel_parts = pp;
            job.oc_parts = op;
        }
    }
    const int64_t items = job.pixel_parts * job.oc_parts;
    /* A thread's output channels: at most this many (the implicit C tile's rows). */
    const int64_t oc_block = ((job.slices + job.oc_parts - 1) / job.oc_parts) * MR;

    const int32_t chunks = cnn_parallel_chunks(ctx, items, 1);
    if (job.mode == CONV_IM2COL || job.mode == CONV_IM2COL_BATCH) {
        /* [im2col panels: K x tile][column phases of one row: sw x phase_len][over the batch:
         * C tile m_block x tile], phases only
         * where several kernel columns share them and they stay small (huge strides or
         * dilations: the direct gather). */
        const int64_t dw = p->dilation_width, kw = p->kernel_width;
        const int64_t phase_len = out_width + (kw - 1) * dw / sw;
        if (kw > 1 && sw * phase_len <= 16384) job.phase_len = round_up(phase_len, 16);
        job.col_floats = (size_t)round_up(job.k * tile + sw * job.phase_len, 16);
        if (job.mode == CONV_IM2COL_BATCH) job.col_floats += (size_t)(job.m_block * tile);
        job.scratch =
            (float*)cnn_context_scratch(ctx, (size_t)chunks * job.col_floats * sizeof(float));
        if (job.scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    } else if (job.mode == CONV_IMPLICIT) {
        /* [K offsets][per thread: C tile, padded band + slack], each part 64-byte aligned.
         * The slack: a tile ending in the dropped columns of a row reads up to phase_w floats
         * past its band's last row (garbage that only reaches dropped columns). */
        const int64_t block = job.m_block < oc_block ? job.m_block : oc_block;
        job.band_rows = (int64_t)implicit_band_rows(p, (double)tile, (double)phase_w);
        const int64_t plane_floats = sh * sw * job.band_rows * phase_w;
        job.band_floats = round_up(job.ic_per_group * plane_floats + phase_w, 16);
        const size_t offset_floats = (size_t)round_up(job.k * 2, 16); /* int64 = 2 floats */
        job.col_floats = (size_t)(round_up(block * tile, 16) + job.band_floats);
        float* base = (float*)cnn_context_scratch(
            ctx, (offset_floats + (size_t)chunks * job.col_floats) * sizeof(float));
        if (base == NULL) return CNN_STATUS_OUT_OF_MEMORY;
        int64_t* offsets = (int64_t*)base;
        job.scratch = base + offset_floats;
        int64_t kk = 0;
        for (int64_t ic = 0; ic < job.ic_per_group; ic++)
            for (int64_t kh = 0; kh < p->kernel_height; kh++)
                for (int64_t kw = 0; kw < p->kernel_width; kw++) {
                    const int64_t y = kh * p->dilation_height, x = kw * p->dilation_width;
                    offsets[kk++] = ic * plane_floats +
                                    ((y % sh * sw + x % sw) * job.band_rows + y / sh) * phase_w +
                                    x / sw;
                }
        job.offsets = offsets;
    }
    /* direct: prefetch the next panel of B when the input is beyond the caches (measured, 1
     * thread: 1x1 batch 8 at 56x56, 6.4 and 25.7 MB, 3-4% less CPU time; batch 1, 3.2 MB,
     * 6% more: there the hardware prefetcher suffices and the prefetches only cost issue slots). */
    job.prefetch = job.mode == CONV_DIRECT &&
                   (double)p->batch * p->in_channels * (double)job.in_plane * sizeof(float) >
                       4194304.0;
    job.input = input;
    job.output = output;
    cnn_parallel_for(ctx, items, 1, conv_gemm_task, &job);
    return CNN_STATUS_SUCCESS;
}
