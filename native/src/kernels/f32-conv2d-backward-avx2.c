/* f32-conv2d-backward-avx2.c — gradients of the 2D convolution: GEMM drivers over a micro-kernel
 * descriptor (f32-gemm.h; the AVX2 6x16 tile here, the AVX-512 8x32 one through
 * f32-conv2d-backward-avx512.c, NR below = the tile's columns), plus AVX2 vector loops for
 * depthwise convolutions and the direct weight gradient, which both ISAs share.
 *
 * Notation per (image n, group g): P = out_height*out_width pixels, K = ICg*KH*KW taps,
 * dY_ng [OCg x P] (rows read in place), W_g [OCg x K].
 *
 * Weight gradient, GEMM path: gW_g^T[K x OCg] = sum over n of im2col_ng[K x P] * dY_ng^T[P x OCg].
 * A = the im2col rows of a pixel tile (built per thread with contiguous vector copies, no
 * transposition), B = dY^T packed as 16-channel panels [tile][16] (OCg values per pixel),
 * C = a gW^T panel [K][16] that the epilogue accumulates into across tiles and images. Work
 * items are (slot, group, block of output panels); a slot is a fixed range of images with its own
 * partial gW^T, and the partials are reduced in slot order into grad_weight (transposing back).
 * The slot count depends on the shape only (enough items even for LeNet's 1-group layers), never
 * on the thread count, so the result is the same for any thread count.
 * Weight gradient, direct path (stride_width 1, rows of >= 8 outputs, OCg <= 8, e.g. LeNet's
 * conv1 with 1 input channel, where im2col would cost more than the product): see
 * direct_weights_task below.
 * Bias gradient: per output channel, a vector sum of each dY plane, added in image order in
 * double.
 *
 * Data gradient (only the shapes the forward-convolution route of f32-conv2d-backward-flip.c
 * does not take: stride > 1, padding > dilation*(kernel-1); cnn_conv2d_backward_data chooses):
 * col[K x P] = W_g^T[K x OCg] * dY_ng[OCg x P] (A = W^T packed once per call, B = dY rows in
 * place), then col2im adds col into grad_input (contiguous vector adds when
 * stride_width == 1). Work items are (n, g, block of input channels): every grad_input plane is
 * written by one item, in a fixed (pixel tile, tap) order; the tile length depends on the shape
 * only, so the result is the same for any thread count.
 *
 * Depthwise (groups == in_channels, any multiplier): direct loops per plane: the data gradient
 * is a sum of AXPYs of dY rows into grad_input rows (vectorized when stride_width == 1), the
 * weight gradient dot products of dY rows with input rows, parallel over channels. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "f32-gemm.h"

/* Work items the weight gradient wants before it splits the batch into slots (fixed, not the
 * thread count, so the summation order never depends on the thread count). */
#define WEIGHT_MIN_ITEMS 8
#define WEIGHT_MAX_SLOTS 16

static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

/* Vector helpers: dst[i] += src[i]; sum of src[i]; sum of a[i]*b[i] (fixed lane order, so each
 * result depends only on its inputs). */
static void add_span(float* dst, const float* src, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(dst + i,
                         _mm256_add_ps(_mm256_loadu_ps(dst + i), _mm256_loadu_ps(src + i)));
    if (i < count) {
        const __m256i m = cnn_avx2_tail_mask(count - i);
        _mm256_maskstore_ps(
            dst + i, m,
            _mm256_add_ps(_mm256_maskload_ps(dst + i, m), _mm256_maskload_ps(src + i, m)));
    }
}

/* dst[i] = src[i] (src NULL: 0) for i < count, whole vectors then one masked one. */
static void copy_span(float* dst, const float* src, int64_t count) {
    int64_t i = 0;
    if (src == NULL) {
        for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, _mm256_setzero_ps());
        if (i < count)
            _mm256_maskstore_ps(dst + i, cnn_avx2_tail_mask(count - i), _mm256_setzero_ps());
        return;
    }
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    if (i < count) {
        const __m256i m = cnn_avx2_tail_mask(count - i);
        _mm256_maskstore_ps(dst + i, m, _mm256_maskload_ps(src + i, m));
    }
}

static float sum_span(const float* x, int64_t count) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i < count; i += 8) {
        const __m256i m = cnn_avx2_tail_mask(count - i < 8 ? count - i : 8);
        a0 = _mm256_add_ps(a0, _mm256_maskload_ps(x + i, m));
    }
    return cnn_avx2_hsum_ps(_mm256_add_ps(a0, a1));
}

static float dot_span(const float* a, const float* b, int64_t count) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), a1);
    }
    for (; i < count; i += 8) {
        const __m256i m = cnn_avx2_tail_mask(count - i < 8 ? count - i : 8);
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), a0);
    }
    return cnn_avx2_hsum_ps(_mm256_add_ps(a0, a1));
}

/* ============================================================== weight gradient (GEMM) */

typedef struct {
    const cnn_conv2d_params* p;
    const cnn_f32_gemm_ukernel* uk;
    int64_t out_width, pixels, in_plane, icg, ocg, k, taps;
    int64_t oc_panels, panel_block, panel_blocks, tile, slots, slot_images;
    const float* input;
    const float* grad_output;
    int32_t accumulate;
    float* grad_weight;
    float* grad_bias;
    float* partial; /* gW^T panels [slots][G][oc_panels][K][NR] */
    float* scratch; /* per thread: im2col tile [K][tile], dY^T panel [tile][NR] */
    size_t col_floats, thread_floats;
} weights_job;

/* im2col rows of pixels [t0, t0 + np) of one (image, group): col[r*tile + i] = input value of
 * tap r = (ic, kh, kw) at pixel t0 + i (0 in the padding); contiguous copies when stride_w = 1. */
static void im2col_rows(const weights_job* job, const float* x_group, int64_t t0, int64_t np,
                        float* col) {
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width, out_w = job->out_width;
    const int64_t sw = p->stride_width;
    int64_t r = 0;
    for (int64_t ic = 0; ic < job->icg; ic++) {
        const float* xc = x_group + ic * job->in_plane;
        for (int64_t kh = 0; kh < p->kernel_height; kh++) {
            for (int64_t kw = 0; kw < p->kernel_width; kw++, r++) {
                float* row = col + r * job->tile;
                int64_t pix = 0, oh = t0 / out_w, ow = t0 % out_w;
                while (pix < np) {
                    const int64_t run = min64(out_w - ow, np - pix);
                    const int64_t ih = oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                    float* d = row + pix;
                    /* Runs are short (an output row): inline vector copies, no libc calls. */
                    if (ih < 0 || ih >= in_h) {
                        copy_span(d, NULL, run);
                    } else {
                        const int64_t iw0 = ow * sw - p->pad_left + kw * p->dilation_width;
                        int64_t lo, hi;
                        cnn_conv_valid_range(iw0, sw, in_w, run, &lo, &hi);
                        const float* src = xc + ih * in_w + iw0;
                        copy_span(d, NULL, lo);
                        if (sw == 1) {
                            copy_span(d + lo, src + lo, hi - lo);
                        } else {
                            for (int64_t i = lo; i < hi; i++) d[i] = src[i * sw];
                        }
                        copy_span(d + hi, NULL, run - hi);
                    }
                    pix += run;
                    oh++;
                    ow = 0;
                }
            }
        }
    }
}

/* Item (slot, group, block of 16-channel output panels): for each image of the slot and each
 * pixel tile, C[K x 16] (+)= im2col[K x tile] * dY^T[tile x 16]; C is the slot's gW^T panel. */
static void weights_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const weights_job* job = (const weights_job*)arg;
    const cnn_conv2d_params* p = job->p;
    float* col = job->scratch + (size_t)thread_index * job->thread_floats;
    float* bt = col + job->col_floats;
    const int64_t k = job->k, pixels = job->pixels, ocg = job->ocg;
    const int64_t PANEL = job->uk->nr, MR = job->uk->mr;
    for (int64_t item = begin; item < end; item++) {
        const int64_t pb = item % job->panel_blocks;
        const int64_t g = (item / job->panel_blocks) % p->groups;
        const int64_t slot = item / job->panel_blocks / p->groups;
        const int64_t ocp0 = pb * job->panel_block;
        const int64_t ocp1 = min64(ocp0 + job->panel_block, job->oc_panels);
        float* c_group = job->partial + (slot * p->groups + g) * job->oc_panels * k * PANEL;
        int32_t acc = 0; /* the first product overwrites the slot's panels */
        const int64_t n_end = min64((slot + 1) * job->slot_images, p->batch);
        for (int64_t n = slot * job->slot_images; n < n_end; n++) {
            const float* x_group = job->input + (n * p->in_channels + g * job->icg) * job->in_plane;
            const float* dy = job->grad_output + (n * p->out_channels + g * ocg) * pixels;
            for (int64_t t0 = 0; t0 < pixels; t0 += job->tile) {
                const int64_t np = min64(job->tile, pixels - t0);
                im2col_rows(job, x_group, t0, np, col);
                const cnn_f32_gemm_epilogue epi = {NULL, NULL, CNN_ACTIVATION_NONE, acc};
                for (int64_t ocp = ocp0; ocp < ocp1; ocp++) {
                    const int64_t nr = min64(PANEL, ocg - ocp * PANEL);
                    for (int64_t j = 0; j < nr; j++) { /* dY^T panel: bt[i*NR + j] */
                        const float* src = dy + (ocp * PANEL + j) * pixels + t0;
                        for (int64_t i = 0; i < np; i++) bt[i * PANEL + j] = src[i];
                    }
                    float* c = c_group + ocp * k * PANEL;
                    for (int64_t r = 0; r < k; r += MR) {
                        const size_t mr = (size_t)min64(k - r, MR);
                        job->uk->gemm(mr, (size_t)nr, (size_t)np, col + r * job->tile,
                                      (size_t)job->tile, bt, (size_t)PANEL, c + r * PANEL,
                                      (size_t)PANEL, &epi);
                    }
                }
                acc = 1;
            }
        }
    }
}

/* grad_weight[oc][kk] = [grad_weight +] sum over slots of gW^T[slot][g][panel][kk][lane], in slot
 * order (items: output channels). */
static void weights_reduce_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const weights_job* job = (const weights_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t k = job->k, PANEL = job->uk->nr;
    const int64_t slot_stride = (int64_t)p->groups * job->oc_panels * k * PANEL;
    for (int64_t oc = begin; oc < end; oc++) {
        const int64_t g = oc / job->ocg, ocl = oc % job->ocg;
        const float* src =
            job->partial + (g * job->oc_panels + ocl / PANEL) * k * PANEL + ocl % PANEL;
        float* d = job->grad_weight + oc * k;
        for (int64_t kk = 0; kk < k; kk++) {
            float sum = job->accumulate ? d[kk] + src[kk * PANEL] : src[kk * PANEL];
            for (int64_t s2 = 1; s2 < job->slots; s2++) sum += src[s2 * slot_stride + kk * PANEL];
            d[kk] = sum;
        }
    }
}

/* grad_bias[oc] = [grad_bias[oc] +] sum over n of (vector sum of dY[n, oc]), in double. */
static void bias_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const weights_job* job = (const weights_job*)arg;
    const cnn_conv2d_params* p = job->p;
    for (int64_t oc = begin; oc < end; oc++) {
        double acc = 0.0;
        for (int64_t n = 0; n < p->batch; n++)
            acc +=
                sum_span(job->grad_output + (n * p->out_channels + oc) * job->pixels, job->pixels);
        float* d = job->grad_bias + oc;
        *d = job->accumulate ? (float)((double)*d + acc) : (float)acc;
    }
}

static cnn_status depthwise_weights(cnn_context* ctx, const cnn_conv2d_params* p,
                                    int32_t out_height, int32_t out_width, const float* input,
                                    const float* grad_output, int32_t accumulate,
                                    float* grad_weight);

/* ------------------------------------------------- direct weight gradient (stride_width 1)
 * Item (oc, ic): for each image, the input plane is staged zero-padded into per-thread scratch;
 * then for each tap row kh and up to 8 taps kw at a time, every output row contributes
 * acc[kw] += dY row * (input row shifted by kw*dilation) over 8-wide vectors (the last one
 * masked). The KH*KW lane accumulators live in scratch; after each image they are summed across
 * lanes into per-tap double sums (fixed order: the result does not depend on the threads).
 * No im2col at all: for few output channels (LeNet's conv1: 6) the GEMM's operand building
 * would dominate. */
typedef struct {
    const cnn_conv2d_params* p;
    int64_t out_height, out_width, pixels, icg, ocg, taps, vecs;
    int64_t padded_h, padded_w;
    const float* input;
    const float* grad_output;
    int32_t accumulate;
    float* grad_weight;
    float* scratch;
    size_t plane_floats, thread_floats; /* staged plane; plane + accumulators */
} direct_job;

/* acc[j] (in a[j*8]) += sum over output rows oh of dY row * staged row (oh*sh + kh*dh), shifted
 * by j*dilation_w; NKW (1-8) is a constant in each call, so the accumulators stay in registers. */
static CNN_ALWAYS_INLINE void direct_rows(const direct_job* job,
                                                              const float* x0, const float* dy,
                                                              __m256i tail, int nkw, float* a) {
    const cnn_conv2d_params* p = job->p;
    const int64_t pw = job->padded_w, ow_n = job->out_width, dw = p->dilation_width;
    const int64_t vecs = job->vecs, row_step = p->stride_height * pw;
    __m256 acc[8];
    for (int j = 0; j < nkw; j++) acc[j] = _mm256_load_ps(a + j * 8);
    for (int64_t oh = 0; oh < job->out_height; oh++) {
        const float* xr = x0 + oh * row_step;
        const float* dyr = dy + oh * ow_n;
        int64_t v = 0;
        for (; v + 1 < vecs; v++) {
            const __m256 d = _mm256_loadu_ps(dyr + v * 8);
            for (int j = 0; j < nkw; j++)
                acc[j] = _mm256_fmadd_ps(d, _mm256_loadu_ps(xr + v * 8 + j * dw), acc[j]);
        }
        const __m256 d = _mm256_maskload_ps(dyr + v * 8, tail);
        for (int j = 0; j < nkw; j++)
            acc[j] = _mm256_fmadd_ps(d, _mm256_maskload_ps(xr + v * 8 + j * dw, tail), acc[j]);
    }
    for (int j = 0; j < nkw; j++) _mm256_store_ps(a + j * 8, acc[j]);
}

static void direct_weights_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const direct_job* job = (const direct_job*)arg;
    const cnn_conv2d_params* p = job->p;
    float* plane = job->scratch + (size_t)thread_index * job->thread_floats;
    float* accs = plane + job->plane_floats;
    const int64_t pw = job->padded_w, in_h = p->in_height, in_w = p->in_width;
    const int64_t ow_n = job->out_width, kh_n = p->kernel_height, kw_n = p->kernel_width;
    const int64_t dw = p->dilation_width, vecs = job->vecs;
    const __m256i tail = cnn_avx2_tail_mask(ow_n - (vecs - 1) * 8);
    for (int64_t item = begin; item < end; item++) {
        const int64_t oc = item / job->icg, ic = item % job->icg, g = oc / job->ocg;
        double* sums = (double*)(accs + job->taps * 8); /* per tap, across images */
        for (int64_t t = 0; t < job->taps; t++) sums[t] = 0.0;
        for (int64_t n = 0; n < p->batch; n++) {
            for (int64_t t = 0; t < job->taps; t++)
                _mm256_store_ps(accs + t * 8, _mm256_setzero_ps());
            const float* x = job->input + (n * p->in_channels + g * job->icg + ic) * in_h * in_w;
            const float* dy = job->grad_output + (n * p->out_channels + oc) * job->pixels;
            memset(plane, 0, (size_t)(p->pad_top * pw) * sizeof(float));
            for (int64_t ih = 0; ih < in_h; ih++) {
                float* row = plane + (p->pad_top + ih) * pw;
                memset(row, 0, (size_t)p->pad_left * sizeof(float));
                memcpy(row + p->pad_left, x + ih * in_w, (size_t)in_w * sizeof(float));
                memset(row + p->pad_left + in_w, 0,
                       (size_t)(pw - p->pad_left - in_w) * sizeof(float));
            }
            memset(plane + (p->pad_top + in_h) * pw, 0,
                   (size_t)((job->padded_h - p->pad_top - in_h) * pw) * sizeof(float));
            for (int64_t kh = 0; kh < kh_n; kh++) {
                for (int64_t kw0 = 0; kw0 < kw_n; kw0 += 8) {
                    const float* x0 = plane + kh * p->dilation_height * pw + kw0 * dw;
                    float* a = accs + (kh * kw_n + kw0) * 8;
                    switch (min64(8, kw_n - kw0)) { /* constant tap counts: registers only */
                        case 1: direct_rows(job, x0, dy, tail, 1, a); break;
                        case 2: direct_rows(job, x0, dy, tail, 2, a); break;
                        case 3: direct_rows(job, x0, dy, tail, 3, a); break;
                        case 4: direct_rows(job, x0, dy, tail, 4, a); break;
                        case 5: direct_rows(job, x0, dy, tail, 5, a); break;
                        case 6: direct_rows(job, x0, dy, tail, 6, a); break;
                        case 7: direct_rows(job, x0, dy, tail, 7, a); break;
                        default: direct_rows(job, x0, dy, tail, 8, a); break;
                    }
                }
            }
            for (int64_t t = 0; t < job->taps; t++)
                sums[t] += cnn_avx2_hsum_ps(_mm256_load_ps(accs + t * 8));
        }
        float* gw = job->grad_weight + (oc * job->icg + ic) * job->taps;
        for (int64_t t = 0; t < job->taps; t++)
            gw[t] = job->accumulate ? (float)((double)gw[t] + sums[t]) : (float)sums[t];
    }
}

/* Whether the direct path applies (stride_width 1, rows of at least 8 outputs, few output
 * channels per group where the GEMM's im2col would dominate) and fits a modest staged plane. */
static int direct_weights_ok(const cnn_conv2d_params* p, int32_t out_width) {
    const double pw = (double)p->in_width + p->pad_left + p->pad_right + 8 +
                      (double)p->dilation_width * (p->kernel_width - 1);
    const double plane = pw * ((double)p->in_height + p->pad_top + p->pad_bottom);
    return p->stride_width == 1 && out_width >= 8 && p->out_channels / p->groups <= 8 &&
           plane <= 4194304.0;
}

static cnn_status direct_weights(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* grad_output,
                                 int32_t accumulate, float* grad_weight) {
    direct_job job = {0};
    job.p = p;
    job.out_height = out_height;
    job.out_width = out_width;
    job.pixels = (int64_t)out_height * out_width;
    job.icg = p->in_channels / p->groups;
    job.ocg = p->out_channels / p->groups;
    job.taps = (int64_t)p->kernel_height * p->kernel_width;
    job.vecs = ((int64_t)out_width + 7) / 8;
    job.padded_h = (int64_t)p->in_height + p->pad_top + p->pad_bottom;
    job.padded_w = (int64_t)p->in_width + p->pad_left + p->pad_right;
    const int64_t need = job.vecs * 8 + (int64_t)p->dilation_width * (p->kernel_width - 1);
    if (job.padded_w < need) job.padded_w = need;
    job.input = input;
    job.grad_output = grad_output;
    job.accumulate = accumulate;
    job.grad_weight = grad_weight;
    job.plane_floats = (size_t)(job.padded_h * job.padded_w + 15) / 16 * 16;
    job.thread_floats = job.plane_floats + (size_t)job.taps * 10; /* + double sums */
    job.thread_floats = (job.thread_floats + 15) / 16 * 16;
    const int64_t items = (int64_t)p->out_channels * job.icg;
    const int64_t macs = (int64_t)p->batch * job.pixels * job.taps;
    const int32_t chunks = cnn_parallel_chunks(ctx, items, macs >= 65536 ? 1 : 65536 / macs + 1);
    job.scratch =
        (float*)cnn_context_scratch(ctx, (size_t)chunks * job.thread_floats * sizeof(float));
    if (job.scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_parallel_for(ctx, items, macs >= 65536 ? 1 : 65536 / macs + 1, direct_weights_task, &job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_conv2d_backward_weights_gemm(cnn_context* ctx, const cnn_conv2d_params* p,
                                                int32_t out_height, int32_t out_width,
                                                const float* input, const float* grad_output,
                                                int32_t accumulate, float* grad_weight,
                                                float* grad_bias,
                                                const cnn_f32_gemm_ukernel* ukernel) {
    const int64_t PANEL = ukernel->nr;
    weights_job job = {0};
    job.p = p;
    job.uk = ukernel;
    job.out_width = out_width;
    job.pixels = (int64_t)out_height * out_width;
    job.input = input;
    job.grad_output = grad_output;
    job.accumulate = accumulate;
    job.grad_weight = grad_weight;
    job.grad_bias = grad_bias;
    if (grad_bias != NULL) /* first: needs no scratch */
        cnn_parallel_for(ctx, p->out_channels, 65536 / (job.pixels * p->batch) + 1, bias_task,
                         &job);
    if (p->groups > 1 && p->groups == p->in_channels)
        return depthwise_weights(ctx, p, out_height, out_width, input, grad_output, accumulate,
                                 grad_weight);
    if (direct_weights_ok(p, out_width))
        return direct_weights(ctx, p, out_height, out_width, input, grad_output, accumulate,
                              grad_weight);

    job.in_plane = (int64_t)p->in_height * p->in_width;
    job.icg = p->in_channels / p->groups;
    job.ocg = p->out_channels / p->groups;
    job.taps = (int64_t)p->kernel_height * p->kernel_width;
    job.k = job.icg * job.taps;
    job.oc_panels = (job.ocg + PANEL - 1) / PANEL;
    /* Pixel tile: the im2col tile (K x tile) about 64 KiB, whole 16-pixel steps. */
    int64_t tile = (16384 / job.k) / 16 * 16;
    if (tile < 64) tile = 64;
    if (tile > 512) tile = 512;
    job.tile = min64(job.pixels, tile);
    job.col_floats = (size_t)(job.k * job.tile + 15) / 16 * 16;
    job.thread_floats = job.col_floats + (size_t)job.tile * PANEL;

    /* Slots (ranges of images with their own partial gradient): from the shape only, so the
     * summation order never depends on the thread count. Partials capped at 32 MiB. */
    const int64_t base_items = (int64_t)p->groups * job.oc_panels;
    const int64_t panel_floats = (int64_t)p->groups * job.oc_panels * job.k * PANEL;
    int64_t slots = 1;
    if (base_items < WEIGHT_MIN_ITEMS) {
        slots = (WEIGHT_MIN_ITEMS + base_items - 1) / base_items;
        if (slots > WEIGHT_MAX_SLOTS) slots = WEIGHT_MAX_SLOTS;
        if (slots > p->batch) slots = p->batch;
        const int64_t cap = ((int64_t)8 << 20) / panel_floats;
        if (slots > cap) slots = cap;
        if (slots < 1) slots = 1;
    }
    job.slot_images = (p->batch + slots - 1) / slots;
    job.slots = (p->batch + job.slot_images - 1) / job.slot_images;
    /* Output panels per item: all of them (one im2col per tile) unless the threads need more
     * items; this split does not change any sum. */
    const int64_t outer = job.slots * p->groups;
    const int64_t want = 4 * (int64_t)ctx->num_threads;
    job.panel_blocks = outer >= want ? 1 : min64((want + outer - 1) / outer, job.oc_panels);
    job.panel_block = (job.oc_panels + job.panel_blocks - 1) / job.panel_blocks;
    job.panel_blocks = (job.oc_panels + job.panel_block - 1) / job.panel_block;
    const int64_t items = outer * job.panel_blocks;
    const int64_t macs = job.slot_images * job.pixels * job.k * job.panel_block * PANEL;
    const int64_t grain = macs >= 65536 ? 1 : 65536 / macs + 1;
    const int32_t chunks = cnn_parallel_chunks(ctx, items, grain);
    const size_t partial_floats = (size_t)(job.slots * panel_floats + 15) / 16 * 16;
    float* scratch = (float*)cnn_context_scratch(
        ctx, (partial_floats + (size_t)chunks * job.thread_floats) * sizeof(float));
    if (scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    job.partial = scratch;
    job.scratch = scratch + partial_floats;
    cnn_parallel_for(ctx, items, grain, weights_task, &job);
    cnn_parallel_for(ctx, p->out_channels, 1 + 4096 / (job.k * job.slots), weights_reduce_task,
                     &job);
    return CNN_STATUS_SUCCESS;
}

/* ================================================================ data gradient (GEMM) */

typedef struct {
    const cnn_conv2d_params* p;
    const cnn_f32_gemm_ukernel* uk;
    int64_t out_width, pixels, in_plane, icg, ocg, k, taps;
    int64_t tile, ic_block, ic_blocks;
    const float* wt; /* W^T per group: [G][K][OCg] */
    const float* grad_output;
    int32_t accumulate;
    float* grad_input;
    float* scratch;    /* per-thread col tiles [ic_block*taps][tile] */
    size_t col_floats; /* per thread */
} data_job;

/* Adds col rows (taps of input channels [ic0, ic1)) for pixels [t0, t0 + np) into grad_input. */
static void col2im_tile(const data_job* job, const float* col, int64_t ic0, int64_t ic1, int64_t t0,
                        int64_t np, float* dx_group) {
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width, out_w = job->out_width;
    const int64_t sw = p->stride_width;
    int64_t row = 0;
    for (int64_t ic = ic0; ic < ic1; ic++) {
        float* dxc = dx_group + ic * job->in_plane;
        for (int64_t kh = 0; kh < p->kernel_height; kh++) {
            for (int64_t kw = 0; kw < p->kernel_width; kw++, row++) {
                const float* src = col + row * job->tile;
                int64_t pix = 0, oh = t0 / out_w, ow = t0 % out_w;
                while (pix < np) {
                    const int64_t run = min64(out_w - ow, np - pix);
                    const int64_t ih = oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                    if (ih >= 0 && ih < in_h) {
                        const int64_t iw0 = ow * sw - p->pad_left + kw * p->dilation_width;
                        int64_t lo, hi;
                        cnn_conv_valid_range(iw0, sw, in_w, run, &lo, &hi);
                        float* d = dxc + ih * in_w + iw0;
                        if (sw == 1) {
                            add_span(d + lo, src + pix + lo, hi - lo);
                        } else {
                            for (int64_t i = lo; i < hi; i++) d[i * sw] += src[pix + i];
                        }
                    }
                    pix += run;
                    oh++;
                    ow = 0;
                }
            }
        }
    }
}

static void data_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const data_job* job = (const data_job*)arg;
    const cnn_conv2d_params* p = job->p;
    float* col = job->scratch + (size_t)thread_index * job->col_floats;
    const int64_t pixels = job->pixels, ocg = job->ocg;
    const int64_t PANEL = job->uk->nr, MR = job->uk->mr;
    for (int64_t item = begin; item < end; item++) {
        const int64_t icb = item % job->ic_blocks;
        const int64_t ng = item / job->ic_blocks;
        const int64_t n = ng / p->groups, g = ng % p->groups;
        const int64_t ic0 = icb * job->ic_block, ic1 = min64(ic0 + job->ic_block, job->icg);
        const int64_t rows = (ic1 - ic0) * job->taps;
        float* dx_group = job->grad_input + (n * p->in_channels + g * job->icg) * job->in_plane;
        if (!job->accumulate)
            memset(dx_group + ic0 * job->in_plane, 0,
                   (size_t)((ic1 - ic0) * job->in_plane) * sizeof(float));
        const float* dy = job->grad_output + (n * p->out_channels + g * ocg) * pixels;
        const float* a0 = job->wt + (g * job->k + ic0 * job->taps) * ocg;
        const cnn_f32_gemm_epilogue epi = {NULL, NULL, CNN_ACTIVATION_NONE, 0};
        for (int64_t t0 = 0; t0 < pixels; t0 += job->tile) {
            const int64_t np = min64(job->tile, pixels - t0);
            for (int64_t j = 0; j < np; j += PANEL) {
                const size_t nr = (size_t)min64(np - j, PANEL);
                for (int64_t r = 0; r < rows; r += MR) {
                    const size_t mr = (size_t)min64(rows - r, MR);
                    job->uk->gemm(mr, nr, (size_t)ocg, a0 + r * ocg, (size_t)ocg, dy + t0 + j,
                                  (size_t)pixels, col + r * job->tile + j, (size_t)job->tile,
                                  &epi);
                }
            }
            col2im_tile(job, col, ic0, ic1, t0, np, dx_group);
        }
    }
}

static cnn_status depthwise_data(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* grad_output, const float* weight,
                                 int32_t accumulate, float* grad_input);

cnn_status cnn_f32_conv2d_backward_data_gemm(cnn_context* ctx, const cnn_conv2d_params* p,
                                             int32_t out_height, int32_t out_width,
                                             const float* grad_output, const float* weight,
                                             int32_t accumulate, float* grad_input,
                                             const cnn_f32_gemm_ukernel* ukernel) {
    const int64_t PANEL = ukernel->nr;
    if (p->groups > 1 && p->groups == p->in_channels)
        return depthwise_data(ctx, p, out_height, out_width, grad_output, weight, accumulate,
                              grad_input);
    data_job job = {0};
    job.p = p;
    job.uk = ukernel;
    job.out_width = out_width;
    job.pixels = (int64_t)out_height * out_width;
    job.in_plane = (int64_t)p->in_height * p->in_width;
    job.icg = p->in_channels / p->groups;
    job.ocg = p->out_channels / p->groups;
    job.taps = (int64_t)p->kernel_height * p->kernel_width;
    job.k = job.icg * job.taps;
    job.grad_output = grad_output;
    job.accumulate = accumulate;
    job.grad_input = grad_input;
    /* Pixel tile from the shape only (the summation order must not depend on the threads):
     * a col tile of about 64k floats. */
    int64_t tile = (65536 / job.k) / PANEL * PANEL;
    if (tile < PANEL) tile = PANEL;
    if (tile > 1024) tile = 1024;
    if (tile > job.pixels) tile = job.pixels;
    job.tile = tile;
    /* Input-channel blocks: enough items for the threads (batch 1 uses every core). */
    const int64_t images = (int64_t)p->batch * p->groups;
    const int64_t want = 4 * (int64_t)ctx->num_threads;
    job.ic_blocks = images >= want ? 1 : min64((want + images - 1) / images, job.icg);
    job.ic_block = (job.icg + job.ic_blocks - 1) / job.ic_blocks;
    job.ic_blocks = (job.icg + job.ic_block - 1) / job.ic_block;
    const int64_t items = images * job.ic_blocks;
    const int64_t macs = job.ic_block * job.taps * job.pixels * job.ocg;
    const int64_t grain = macs >= 65536 ? 1 : 65536 / macs + 1;
    const int32_t chunks = cnn_parallel_chunks(ctx, items, grain);

    const size_t wt_floats = (size_t)((int64_t)p->groups * job.k * job.ocg + 15) / 16 * 16;
    job.col_floats = (size_t)(job.ic_block * job.taps * tile + 15) / 16 * 16;
    float* scratch = (float*)cnn_context_scratch(
        ctx, (wt_floats + (size_t)chunks * job.col_floats) * sizeof(float));
    if (scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    /* W^T per group: wt[g][kk][oc] = weight[g*OCg + oc][kk]. */
    for (int64_t g = 0; g < p->groups; g++)
        for (int64_t oc = 0; oc < job.ocg; oc++) {
            const float* w = weight + (g * job.ocg + oc) * job.k;
            float* d = scratch + g * job.k * job.ocg + oc;
            for (int64_t kk = 0; kk < job.k; kk++) d[kk * job.ocg] = w[kk];
        }
    job.wt = scratch;
    job.scratch = scratch + wt_floats;
    cnn_parallel_for(ctx, items, grain, data_task, &job);
    return CNN_STATUS_SUCCESS;
}

/* ======================================================================== depthwise */

typedef struct {
    const cnn_conv2d_params* p;
    int64_t out_height, out_width, mult;
    const float* x;  /* input (weights) */
    const float* dy; /* grad_output */
    const float* w;  /* weight (data) */
    int32_t accumulate;
    float* grad; /* grad_input (data) or grad_weight (weights) */
} dw_job;

/* Input plane (n, c): grad_input = [grad_input +] sum over (j, oh, kh, kw) of w * dY row. */
static void dw_data_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const dw_job* job = (const dw_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width, oh_n = job->out_height;
    const int64_t ow_n = job->out_width, sw = p->stride_width;
    const int64_t taps = (int64_t)p->kernel_height * p->kernel_width;
    for (int64_t plane = begin; plane < end; plane++) {
        const int64_t n = plane / p->in_channels, c = plane % p->in_channels;
        float* dx = job->grad + plane * in_h * in_w;
        if (!job->accumulate) memset(dx, 0, (size_t)(in_h * in_w) * sizeof(float));
        for (int64_t j = 0; j < job->mult; j++) {
            const int64_t oc = c * job->mult + j;
            const float* dy = job->dy + (n * p->out_channels + oc) * oh_n * ow_n;
            const float* w = job->w + oc * taps;
            for (int64_t oh = 0; oh < oh_n; oh++) {
                const float* dyr = dy + oh * ow_n;
                for (int64_t kh = 0; kh < p->kernel_height; kh++) {
                    const int64_t ih = oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                    if (ih < 0 || ih >= in_h) continue;
                    for (int64_t kw = 0; kw < p->kernel_width; kw++) {
                        const int64_t iw0 = -p->pad_left + kw * p->dilation_width;
                        int64_t lo, hi;
                        cnn_conv_valid_range(iw0, sw, in_w, ow_n, &lo, &hi);
                        const float wv = w[kh * p->kernel_width + kw];
                        float* d = dx + ih * in_w + iw0;
                        int64_t i = lo;
                        if (sw == 1) {
                            const __m256 vw = _mm256_set1_ps(wv);
                            for (; i + 8 <= hi; i += 8)
                                _mm256_storeu_ps(d + i,
                                                 _mm256_fmadd_ps(vw, _mm256_loadu_ps(dyr + i),
                                                                 _mm256_loadu_ps(d + i)));
                        }
                        for (; i < hi; i++) d[i * sw] = fmaf(wv, dyr[i], d[i * sw]);
                    }
                }
            }
        }
    }
}

static cnn_status depthwise_data(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* grad_output, const float* weight,
                                 int32_t accumulate, float* grad_input) {
    dw_job job = {p,         out_height,  out_width, p->out_channels / p->in_channels,
                  NULL,      grad_output, weight,    accumulate,
                  grad_input};
    const int64_t work =
        job.mult * out_height * (int64_t)out_width * p->kernel_height * p->kernel_width;
    cnn_parallel_for(ctx, (int64_t)p->batch * p->in_channels, work >= 65536 ? 1 : 65536 / work + 1,
                     dw_data_task, &job);
    return CNN_STATUS_SUCCESS;
}

/* Output channel oc: grad_weight[oc, kh, kw] = [.. +] sum over (n, oh) of dot(dY row, input row),
 * in double across rows. */
static void dw_weights_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const dw_job* job = (const dw_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width, oh_n = job->out_height;
    const int64_t ow_n = job->out_width, sw = p->stride_width;
    for (int64_t oc = begin; oc < end; oc++) {
        const int64_t c = oc / job->mult;
        for (int64_t kh = 0; kh < p->kernel_height; kh++) {
            for (int64_t kw = 0; kw < p->kernel_width; kw++) {
                const int64_t iw0 = -p->pad_left + kw * p->dilation_width;
                int64_t lo, hi;
                cnn_conv_valid_range(iw0, sw, in_w, ow_n, &lo, &hi);
                double acc = 0.0;
                for (int64_t n = 0; n < p->batch; n++) {
                    const float* dy = job->dy + (n * p->out_channels + oc) * oh_n * ow_n;
                    const float* x = job->x + (n * p->in_channels + c) * in_h * in_w;
                    for (int64_t oh = 0; oh < oh_n && hi > lo; oh++) {
                        const int64_t ih =
                            oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                        if (ih < 0 || ih >= in_h) continue;
                        const float* dyr = dy + oh * ow_n;
                        const float* xr = x + ih * in_w + iw0;
                        if (sw == 1) {
                            acc += dot_span(dyr + lo, xr + lo, hi - lo);
                        } else {
                            float s = 0.0f;
                            for (int64_t i = lo; i < hi; i++) s = fmaf(dyr[i], xr[i * sw], s);
                            acc += s;
                        }
                    }
                }
                float* d = job->grad + (oc * p->kernel_height + kh) * p->kernel_width + kw;
                *d = job->accumulate ? (float)((double)*d + acc) : (float)acc;
            }
        }
    }
}

static cnn_status depthwise_weights(cnn_context* ctx, const cnn_conv2d_params* p,
                                    int32_t out_height, int32_t out_width, const float* input,
                                    const float* grad_output, int32_t accumulate,
                                    float* grad_weight) {
    dw_job job = {p,          out_height,  out_width, p->out_channels / p->in_channels,
                  input,      grad_output, NULL,      accumulate,
                  grad_weight};
    const int64_t work =
        (int64_t)p->batch * out_height * out_width * p->kernel_height * p->kernel_width;
    cnn_parallel_for(ctx, p->out_channels, work >= 65536 ? 1 : 65536 / work + 1, dw_weights_task,
                     &job);
    return CNN_STATUS_SUCCESS;
}

/* The AVX2 table entries: the drivers above on the 6x16 tile. */
CNN_F32_CONV2D_BACKWARD_ENTRIES(avx2, cnn_f32_ukernel_6x16_avx2)
