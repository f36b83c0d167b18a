/* f32-conv2d-direct.c — the driver of the direct convolution with vectors over output channels
 * (see f32-conv2d-direct.h), plain C over the ISA's tile. groups == 1.
 *
 * Input: read in place when there is no padding, else each thread copies the zero-padded band
 * of input rows its row group reads into its own scratch (once per group: consecutive items of
 * a thread share it), so there is no separate padding pass, no second parallel region, and the
 * band stays in that core's cache (a whole-input padding pass cost 5% at 1 thread and 33% at 2
 * on 3x3/2 64->128 at 56x56). Tap (ic, kh, kw) of the output pixel (oh, ow) is then at padded
 * (ic, oh*sh + kh*dh, ow*sw + kw*dw): per tap one offset, per pixel a stride, no bounds anywhere.
 * On small outputs taps run kh-major (see kh_major), so the kernel rows that fall on top /
 * bottom padding for an output row are one contiguous range of K, which that row skips: on 7x7
 * outputs with padding 1, 2 of the 7 rows have a third of their taps on padding (9.5% of the
 * MACs; oneDNN skips them too).
 * Work: items of (image, group of output rows, panel of output channels), panels fastest, split
 * into contiguous ranges per thread. The row groups are sized so that a group's input band stays
 * in cache while every panel reads it, and so that the ranges are equal: either the images or
 * the (equal) panels divide among the threads, or the number of groups is a multiple of the
 * thread count (96 channels = a 64- and a 32-channel panel of unequal cost). With K in several
 * blocks (large weights) a group is as many rows as possible, so the weights stream once.
 * Inside an item: K in blocks of at most 1024 taps (a 256 KiB slice of the panel, kept in L2
 * across the item's tiles; the partial sums of every tile wait in per-thread scratch between
 * blocks), then rows, then tiles of uk->mr pixels along the row. */
#include <string.h>

#include "f32-conv2d-direct.h"

static int64_t round_up(int64_t x, int64_t m) {
    return (x + m - 1) / m * m;
}

/* Width of the packed panel that starts at output channel oc0. */
static int64_t panel_width(const cnn_conv2d_params* p, int64_t oc0,
                           const cnn_f32_direct_ukernel* uk) {
    const int64_t left = p->out_channels - oc0;
    return left >= uk->nc ? uk->nc : round_up(left, uk->vec);
}

static int64_t taps(const cnn_conv2d_params* p) {
    return (int64_t)p->in_channels * p->kernel_height * p->kernel_width;
}

/* The kernel rows [*lo, *hi) of output row r that fall inside the input (not on top / bottom
 * padding): a contiguous range, possibly empty. */
static void kernel_rows_inside(const cnn_conv2d_params* p, int64_t r, int64_t* lo, int64_t* hi) {
    const int64_t ih0 = r * p->stride_height - p->pad_top, dh = p->dilation_height;
    int64_t l = 0, h = p->kernel_height;
    while (l < h && ih0 + l * dh < 0) l++;
    while (h > l && ih0 + (h - 1) * dh >= p->in_height) h--;
    *lo = l;
    *hi = h;
}

static int64_t clipped_kernel_rows(const cnn_conv2d_params* p, int64_t r) {
    int64_t lo, hi;
    kernel_rows_inside(p, r, &lo, &hi);
    return p->kernel_height - (hi - lo);
}

/* Whether taps run kernel-row major, (kh, ic, kw), so that each output row skips the kernel rows
 * on top / bottom padding (one range of K); else (ic, kh, kw). Only where that skips at least
 * 5% of the MACs (7x7 outputs, padding 1: 9.5%): on the 7x7/2 stem (0.8%) the kh-major order
 * ran 2 threads 10% slower (0.69 vs 0.63 ms; 1 thread equal). Packing and forward agree
 * because both derive it from the shape. */
static int kh_major(const cnn_conv2d_params* p) {
    if ((p->pad_top | p->pad_bottom) == 0) return 0;
    const int64_t kh_n = p->kernel_height;
    const int64_t oh_n = ((int64_t)p->in_height + p->pad_top + p->pad_bottom -
                          (kh_n - 1) * p->dilation_height - 1) / p->stride_height + 1;
    /* the clipped rows are a prefix (top padding) and a suffix (bottom padding) */
    int64_t skipped = 0, top = 0;
    for (; top < oh_n; top++) {
        const int64_t n = clipped_kernel_rows(p, top);
        if (n == 0) break;
        skipped += n;
    }
    for (int64_t r = oh_n - 1; r > top; r--) {
        const int64_t n = clipped_kernel_rows(p, r);
        if (n == 0) break;
        skipped += n;
    }
    return skipped * 20 >= oh_n * kh_n;
}

/* Tap kk's kernel position and channel in the packed order (see kh_major). */
static void tap_of(const cnn_conv2d_params* p, int khm, int64_t kk, int64_t* ic, int64_t* kh,
                   int64_t* kw) {
    const int64_t kw_n = p->kernel_width, kh_n = p->kernel_height, ic_n = p->in_channels;
    *kw = kk % kw_n;
    if (khm) {
        *ic = kk / kw_n % ic_n;
        *kh = kk / (kw_n * ic_n);
    } else {
        *kh = kk / kw_n % kh_n;
        *ic = kk / (kw_n * kh_n);
    }
}

int64_t cnn_f32_conv2d_direct_packed_floats(const cnn_conv2d_params* p,
                                            const cnn_f32_direct_ukernel* uk) {
    const int64_t full = p->out_channels / uk->nc;
    const int64_t tail = p->out_channels % uk->nc;
    return taps(p) * (full * uk->nc + (tail > 0 ? round_up(tail, uk->vec) : 0));
}

void cnn_f32_conv2d_direct_pack(const cnn_conv2d_params* p, const float* weight, float* packed,
                                const cnn_f32_direct_ukernel* uk) {
    const int64_t k = taps(p), oc_n = p->out_channels;
    const int khm = kh_major(p);
    for (int64_t oc0 = 0; oc0 < oc_n; oc0 += uk->nc) {
        const int64_t width = panel_width(p, oc0, uk);
        for (int64_t kk = 0; kk < k; kk++) {
            int64_t ic, kh, kw;
            tap_of(p, khm, kk, &ic, &kh, &kw);
            const int64_t src = (ic * p->kernel_height + kh) * p->kernel_width + kw; /* OIHW */
            for (int64_t j = 0; j < width; j++)
                packed[kk * width + j] = oc0 + j < oc_n ? weight[(oc0 + j) * k + src] : 0.0f;
        }
        packed += k * width;
    }
}

/* Measured against the GEMM driver's plan (1 thread, batch 1 and 8, 48 shapes of ResNet, VGG,
 * AlexNet and MobileNetV2; docs/design.md). AVX-512 (7x64 vs 8x32): direct wins every strided
 * conv whose output plane is at most 112x112 (1x1/2 by 2.0-2.5x, 3x3/2 by 1.2-1.4x, the 7x7/2
 * and 11x11/4 stems by 5-10%) and stride-1 convs on planes up to 1024 pixels with enough taps
 * per tile to repay the transposed store (512 channels at 7x7 by 1.35x, 1x1 at 7x7 and 14x14 by
 * 1.05-1.4x). AVX2 (4x24 vs 6x16): the strided convs likewise (1x1/2 by 1.3-1.6x, 3x3/2,
 * stems 1.1-1.25x), stride 1 only on 7x7 planes (1x1 at 7x7 by 1.1-1.3x; at 14x14 and 28x28 it
 * loses 3-8%). Both lose where each tile's store scatters over many large planes for few taps:
 * 1x1 64->128 at 32x32 (2x slower on AVX-512), 3x3 3->64 at 112x112 stride 1 (1.13x), the 7x7/2
 * stem at 448x448 (1.34x). */
int cnn_f32_conv2d_direct_plan_suits(const cnn_conv2d_params* p, int32_t out_height,
                                     int32_t out_width, const cnn_f32_direct_ukernel* uk) {
    if (uk == NULL || p->groups != 1 || out_width < 4 || p->out_channels < 16) return 0;
    const double plane = (double)out_height * out_width;
    const int strided = p->stride_height > 1 || p->stride_width > 1;
    if (strided ? plane > 112.0 * 112.0 : plane > uk->stride1_max_plane || taps(p) < 128) return 0;
    /* A thread's padded band must stay comparable to the tensors (huge padding or dilation). */
    const double x_w = (double)p->in_width + p->pad_left + p->pad_right;
    const double band = (double)p->in_channels * x_w *
                        ((double)p->stride_height + (p->kernel_height - 1.0) * p->dilation_height + 1.0);
    const double tensors = (double)p->in_channels * p->in_height * p->in_width +
                           (double)p->out_channels * plane;
    return band <= 4.0 * tensors + 1048576.0;
}

typedef struct {
    const cnn_conv2d_params* p;
    const cnn_f32_direct_ukernel* uk;
    int64_t out_h, out_w, k, k_block, panels, rows_per_group, row_groups, tiles;
    const float* input;
    /* padded: each thread's band of band_rows padded rows per channel (x_w wide), else the
     * input itself (x_w = in_width, x_plane = its plane) */
    int padded;
    int kh_major; /* taps (kh, ic, kw): rows skip their kernel rows on padding */
    int64_t x_w, x_plane, band_rows;
    const int64_t* offsets; /* [k]: tap (kh, ic, kw) relative to the tile's first input */
    const float* packed;
    const float* bias;
    cnn_activation activation;
    float* output;
    float* scratch; /* per thread: [band][partial sums: rows_per_group * tiles tiles] */
    int64_t band_floats, partial_floats;
} direct_job;

/* The padded rows [y0, y0 + rows) (padded coordinates) of every input channel of image n into
 * band[ic][row][x_w]. */
static void fill_band(const direct_job* job, int64_t n, int64_t y0, int64_t rows, float* band) {
    const cnn_conv2d_params* p = job->p;
    const int64_t h = p->in_height, w = p->in_width, xw = job->x_w;
    const float* image = job->input + n * p->in_channels * h * w;
    for (int64_t ic = 0; ic < p->in_channels; ic++)
        for (int64_t y = 0; y < rows; y++) {
            float* row = band + (ic * job->band_rows + y) * xw;
            const int64_t ih = y0 + y - p->pad_top;
            if (ih < 0 || ih >= h) {
                memset(row, 0, (size_t)xw * sizeof(float));
                continue;
            }
            memset(row, 0, (size_t)p->pad_left * sizeof(float));
            memcpy(row + p->pad_left, image + (ic * h + ih) * w, (size_t)w * sizeof(float));
            memset(row + p->pad_left + w, 0, (size_t)p->pad_right * sizeof(float));
        }
}

static void direct_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const direct_job* job = (const direct_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const cnn_f32_direct_ukernel* uk = job->uk;
    const int64_t MR = uk->mr, NC = uk->nc, k = job->k;
    const int64_t oh_n = job->out_h, ow_n = job->out_w, plane = oh_n * ow_n;
    const int64_t sh = p->stride_height, sw = p->stride_width;
    const int64_t reach = (int64_t)(p->kernel_height - 1) * p->dilation_height;
    float* band = job->scratch + (size_t)thread_index * (size_t)(job->band_floats + job->partial_floats);
    float* partial = band + job->band_floats;
    int64_t band_of = -1; /* the (image, group) whose band the thread holds */
    for (int64_t item = begin; item < end; item++) {
        const int64_t q = item % job->panels, rest = item / job->panels;
        const int64_t group = rest % job->row_groups, n = rest / job->row_groups;
        const int64_t r0 = group * job->rows_per_group;
        const int64_t r1 = r0 + job->rows_per_group < oh_n ? r0 + job->rows_per_group : oh_n;
        const int64_t oc0 = q * NC, ldw = panel_width(p, oc0, uk);
        const int64_t nc = p->out_channels - oc0 < NC ? p->out_channels - oc0 : NC;
        const float* w_panel = job->packed + oc0 * k; /* earlier panels are all NC wide */
        /* x: input row r0*sh (padded coordinates) of channel 0 */
        const float* x;
        if (job->padded) {
            if (band_of != rest) {
                fill_band(job, n, r0 * sh, (r1 - r0 - 1) * sh + reach + 1, band);
                band_of = rest;
            }
            x = band;
        } else {
            x = job->input + n * p->in_channels * job->x_plane + r0 * sh * job->x_w;
        }
        float* out_panel = job->output + (n * p->out_channels + oc0) * plane;
        for (int64_t kb = 0; kb < k; kb += job->k_block) {
            const int64_t kn = k - kb < job->k_block ? k - kb : job->k_block;
            cnn_f32_direct_epilogue e = {job->bias != NULL ? job->bias + oc0 : NULL,
                                         job->activation,
                                         kb == 0,
                                         kb + kn == k,
                                         partial,
                                         NULL,
                                         plane};
            for (int64_t r = r0; r < r1; r++) {
                /* the taps of this block whose kernel row lies inside the input (may be none:
                 * the tile then only starts, or stores, its sums) */
                int64_t lo = kb, hi = kb + kn;
                if (job->kh_major) {
                    const int64_t k_row = k / p->kernel_height;
                    int64_t kh_lo, kh_hi;
                    kernel_rows_inside(p, r, &kh_lo, &kh_hi);
                    if (lo < kh_lo * k_row) lo = kh_lo * k_row;
                    if (hi > kh_hi * k_row) hi = kh_hi * k_row;
                    if (hi < lo) hi = lo;
                }
                for (int64_t t = 0; t < job->tiles; t++) {
                    const int64_t px0 = t * MR, mr = ow_n - px0 < MR ? ow_n - px0 : MR;
                    e.partial = partial + ((r - r0) * job->tiles + t) * MR * NC;
                    e.out = out_panel + r * ow_n + px0;
                    uk->tile((size_t)mr, (size_t)nc, (size_t)(hi - lo),
                             x + (r - r0) * sh * job->x_w + px0 * sw, job->offsets + lo, sw,
                             w_panel + lo * ldw, (size_t)ldw, &e);
                }
            }
        }
    }
}

cnn_status cnn_f32_conv2d_direct(cnn_context* ctx, const cnn_conv2d_params* p,
                                 int32_t out_height, int32_t out_width, const float* input,
                                 const float* packed, const float* bias,
                                 cnn_activation activation, float* output,
                                 const cnn_f32_direct_ukernel* uk) {
    direct_job job;
    memset(&job, 0, sizeof job);
    job.p = p;
    job.uk = uk;
    job.out_h = out_height;
    job.out_w = out_width;
    job.k = taps(p);
    job.panels = (p->out_channels + uk->nc - 1) / uk->nc;
    job.tiles = (out_width + uk->mr - 1) / uk->mr;
    job.padded = (p->pad_top | p->pad_bottom | p->pad_left | p->pad_right) != 0;
    job.kh_major = kh_major(p);
    job.x_w = (int64_t)p->in_width + (job.padded ? p->pad_left + p->pad_right : 0);
    const int64_t k_blocks = (job.k + 1023) / 1024;
    job.k_block = (job.k + k_blocks - 1) / k_blocks;

    /* Row groups (see the top). The most rows: K blocked, all (within 256 KiB of partial
     * sums); else an input band of ~128 KiB. */
    const int64_t sh = p->stride_height, reach = (int64_t)(p->kernel_height - 1) * p->dilation_height;
    const int64_t tile_floats = (int64_t)uk->mr * uk->nc, threads = ctx->num_threads;
    int64_t rows = 1;
    if (k_blocks > 1) {
        rows = 65536 / (job.tiles * tile_floats);
    } else {
        while (rows < out_height && (double)p->in_channels * (double)(rows * sh + reach + 1) *
                                            (double)job.x_w <= 32768.0)
            rows++;
    }
    if (rows < 1) rows = 1;
    if (rows > out_height) rows = out_height;
    int64_t groups = (out_height + rows - 1) / rows;
    const int equal_panels = p->out_channels % uk->nc == 0 || job.panels == 1;
    if (p->batch % threads != 0 && !(job.panels % threads == 0 && equal_panels))
        groups = (groups + threads - 1) / threads * threads; /* equal shares of rows */
    if (groups > out_height) groups = out_height;
    rows = (out_height + groups - 1) / groups;
    job.rows_per_group = rows;
    job.row_groups = (out_height + rows - 1) / rows;
    const int64_t items = (int64_t)p->batch * job.row_groups * job.panels;
    const int32_t chunks = cnn_parallel_chunks(ctx, items, 1);
    job.partial_floats = k_blocks > 1 ? round_up(rows * job.tiles * tile_floats, 16) : 0;
    if (job.padded) {
        job.band_rows = (rows - 1) * sh + reach + 1;
        job.x_plane = job.band_rows * job.x_w;
        job.band_floats = round_up(p->in_channels * job.x_plane, 16);
    } else {
        job.x_plane = (int64_t)p->in_height * p->in_width;
    }

    /* scratch: [offsets][per thread: band, partial sums] */
    const int64_t offset_floats = round_up(job.k * 2, 16); /* int64 = 2 floats */
    float* base = (float*)cnn_context_scratch(
        ctx, (size_t)(offset_floats + (int64_t)chunks * (job.band_floats + job.partial_floats)) *
                 sizeof(float));
    if (base == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    int64_t* offsets = (int64_t*)base;
    for (int64_t kk = 0; kk < job.k; kk++) {
        int64_t ic, kh, kw;
        tap_of(p, job.kh_major, kk, &ic, &kh, &kw);
        offsets[kk] = ic * job.x_plane + kh * p->dilation_height * job.x_w + kw * p->dilation_width;
    }
    job.offsets = offsets;
    job.scratch = base + offset_floats;
    job.input = input;
    job.packed = packed;
    job.bias = bias;
    job.activation = activation;
    job.output = output;
    cnn_parallel_for(ctx, items, 1, direct_task, &job);
    return CNN_STATUS_SUCCESS;
}
