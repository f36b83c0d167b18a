/*
 * f32-pool2d-backward-scalar.c — reference gradient of 2D pooling (PyTorch 1.13 CPU semantics).
 * One task per (n, c) plane; within a plane the output positions are visited in row-major order
 * and their contributions added in that order (torch's order, so sums round the same way).
 *   max:     the window's winner is recomputed from `input` exactly as torch's kernel picks it:
 *            start at the first in-bounds tap with -inf, scan row-major, take a tap if
 *            v > best || isnan(v). Ties go to the FIRST maximum; with NaNs the LAST NaN wins
 *            (every NaN passes isnan); an all -inf window routes to its first tap.
 *   average: g / divisor added to every in-bounds tap, divisor as in the forward
 *            (divisor_override, count_include_pad, ceil_mode partial windows).
 *   LP:      torch's composite y = (sign(a)*relu(|a|) * kW*kH)^(1/p), a = avg_pool(x^p):
 *              g_z = g * ((1/p) * z^(1/p - 1)),  z = a*kW*kH
 *              g_a = a == 0 ? 0 : g_z * kW*kH      (relu's backward masks a == 0, even inf/NaN)
 *              g_xp = avg_pool backward of g_a   (divisor = window element count, no padding)
 *              g_x = g_xp * (p * x^(p - 1))      (once per element, after all windows)
 *            with torch's pow special cases (exponent 0, 1, 2, 3, -2, 0.5, -0.5, -1). So a zero
 *            window gives 0 for p >= 1 and NaN where x = 0 and p < 1 (0 * inf), as torch does.
 *            `output` is not needed: `a` is recomputed from `input` like the forward does.
 * Accumulation: the plane's fresh gradient is added to grad_input (accumulate = 1) only after it
 * is complete whenever an element can receive several terms (overlapping windows, or LP), so
 * grad_input += gradient rounds like torch's autograd accumulation.
 */
#include <math.h>
#include <string.h>

#include "ops-common.h"

static void full_row_scalar(const cnn_pool2d_backward_plan* b, int64_t plane, int32_t oh,
                            float* target);

/* torch's tensor.pow(scalar) for float tensors, exponent compared in double. */
float cnn_pool2d_torch_pow(float x, double e) {
    if (e == 0.0) return 1.0f;
    if (e == 1.0) return x;
    if (e == 0.5) return sqrtf(x);
    if (e == -0.5) return 1.0f / sqrtf(x);
    if (e == -1.0) return 1.0f / x;
    if (e == 2.0) return x * x;
    if (e == 3.0) return x * x * x;
    if (e == -2.0) return 1.0f / (x * x);
    return powf(x, (float)e);
}

int cnn_pool2d_windows_overlap(const cnn_pool2d_params* p) {
    const int64_t eh = p->kind == CNN_POOL_MAX
                           ? (int64_t)(p->kernel_height - 1) * p->dilation_height + 1
                           : p->kernel_height;
    const int64_t ew = p->kind == CNN_POOL_MAX
                           ? (int64_t)(p->kernel_width - 1) * p->dilation_width + 1
                           : p->kernel_width;
    return p->stride_height < eh || p->stride_width < ew;
}

void cnn_pool2d_backward_plan_init(cnn_pool2d_backward_plan* b, const cnn_pool2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* grad_output, int32_t accumulate,
                                   float* grad_input) {
    cnn_pool2d_plan_init(&b->plan, p, out_height, out_width, input, NULL);
    b->grad_output = grad_output;
    b->grad_input = grad_input;
    b->accumulate = accumulate;
    b->use_scratch = p->kind == CNN_POOL_LP || (accumulate && cnn_pool2d_windows_overlap(p));
    b->scratch = NULL;
    b->row = full_row_scalar;
    b->isa_data = NULL;
    const double pe = (double)p->norm_type;
    const double root = 1.0 / pe;
    b->lp_root_factor = (float)root;
    b->lp_root_exp = root - 1.0;
    b->lp_pow_factor = p->norm_type;
    b->lp_pow_exp = pe - 1.0;
    const int64_t work = (int64_t)out_height * out_width * p->kernel_height * p->kernel_width +
                         (int64_t)p->in_height * p->in_width;
    const int64_t grain = CNN_PARALLEL_GRAIN_WORK / (work > 0 ? work : 1);
    b->grain = grain > 1 ? grain : 1;
}

/* Contributions of outputs [ow_begin, ow_end) of output row oh of `plane` into `target` (the
 * plane's gradient buffer: zeroed scratch, or grad_input itself), in ow order. */
void cnn_pool2d_backward_row_scalar(const cnn_pool2d_backward_plan* b, int64_t plane, int32_t oh,
                                    int32_t ow_begin, int32_t ow_end, float* target) {
    const cnn_pool2d_plan* plan = &b->plan;
    const cnn_pool2d_params* p = plan->p;
    const int64_t width = p->in_width;
    const int32_t dh = p->dilation_height, dw = p->dilation_width;
    const float* in = plan->input ? plan->input + plane * p->in_height * width : NULL;
    const float* go = b->grad_output + (plane * plan->out_height + oh) * plan->out_width;
    const cnn_pool2d_extent h = cnn_pool2d_window(p->kind, oh, p->stride_height, p->pad_height,
                                                  p->kernel_height, dh, p->in_height);
    if (h.begin >= h.end) return; /* empty window row */
    for (int32_t ow = ow_begin; ow < ow_end; ow++) {
        const cnn_pool2d_extent w = cnn_pool2d_window(p->kind, ow, p->stride_width, p->pad_width,
                                                      p->kernel_width, dw, p->in_width);
        if (w.begin >= w.end) continue; /* empty window */
        const float g = go[ow];
        if (p->kind == CNN_POOL_MAX) {
            int64_t best_index = (int64_t)h.begin * width + w.begin;
            float best = -INFINITY;
            for (int32_t ih = h.begin; ih < h.end; ih += dh)
                for (int32_t iw = w.begin; iw < w.end; iw += dw) {
                    /* branch-free "if (v > best || isnan(v)) take it" */
                    const float v = in[ih * width + iw];
                    const int take = (v > best) | (v != v);
                    best = take ? v : best;
                    best_index = take ? ih * width + iw : best_index;
                }
            target[best_index] += g;
            continue;
        }
        const int64_t valid = (int64_t)(h.end - h.begin) * (w.end - w.begin);
        const int64_t pool = (int64_t)h.pool_extent * w.pool_extent;
        float delta;
        if (p->kind == CNN_POOL_LP) {
            /* the forward's window mean a, recomputed in the forward's order */
            float sum = 0.0f;
            for (int32_t ih = h.begin; ih < h.end; ih++)
                for (int32_t iw = w.begin; iw < w.end; iw++)
                    sum += cnn_pool2d_lp_pow(in[ih * width + iw], plan->lp_exponent);
            const float a = sum / (float)pool;
            const float z = (a == 0.0f ? 0.0f : a) * plan->lp_scale;
            const float g_z = g * (b->lp_root_factor * cnn_pool2d_torch_pow(z, b->lp_root_exp));
            const float g_a = a == 0.0f ? 0.0f : g_z * plan->lp_scale;
            delta = g_a / (float)pool;
        } else {
            const int64_t divisor = p->divisor_override > 0  ? p->divisor_override
                                    : p->count_include_pad ? pool
                                                           : valid;
            delta = g / (float)divisor;
        }
        for (int32_t ih = h.begin; ih < h.end; ih++)
            for (int32_t iw = w.begin; iw < w.end; iw++) target[ih * width + iw] += delta;
    }
}

/* grad_input plane (=, +=) the finished scratch plane (LP: times p * x^(p-1)). */
void cnn_pool2d_backward_finish_scalar(const cnn_pool2d_backward_plan* b, int64_t plane,
                                       const float* fresh) {
    const cnn_pool2d_params* p = b->plan.p;
    const int64_t n = (int64_t)p->in_height * p->in_width;
    float* gi = b->grad_input + plane * n;
    if (p->kind == CNN_POOL_LP) {
        const float* in = b->plan.input + plane * n;
        for (int64_t i = 0; i < n; i++) {
            const float v =
                fresh[i] * (b->lp_pow_factor * cnn_pool2d_torch_pow(in[i], b->lp_pow_exp));
            gi[i] = b->accumulate ? gi[i] + v : v;
        }
    } else {
        for (int64_t i = 0; i < n; i++) gi[i] += fresh[i]; /* only used with accumulate */
    }
}

static void full_row_scalar(const cnn_pool2d_backward_plan* b, int64_t plane, int32_t oh,
                            float* target) {
    cnn_pool2d_backward_row_scalar(b, plane, oh, 0, b->plan.out_width, target);
}

static void pool2d_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_pool2d_backward_plan* b = (const cnn_pool2d_backward_plan*)arg;
    const cnn_pool2d_params* p = b->plan.p;
    const int64_t n = (int64_t)p->in_height * p->in_width;
    for (int64_t plane = begin; plane < end; plane++) {
        /* per-thread planes whole cache lines apart (no line shared by two threads) */
        float* target = b->use_scratch ? b->scratch + thread_index * ((n + 15) / 16 * 16)
                                       : b->grad_input + plane * n;
        if (b->use_scratch || !b->accumulate) memset(target, 0, (size_t)n * sizeof(float));
        for (int32_t oh = 0; oh < b->plan.out_height; oh++) b->row(b, plane, oh, target);
        if (b->use_scratch) cnn_pool2d_backward_finish_scalar(b, plane, target);
    }
}

cnn_status cnn_pool2d_backward_run(cnn_context* ctx, cnn_pool2d_backward_plan* b) {
    const cnn_pool2d_params* p = b->plan.p;
    const int64_t planes = (int64_t)p->batch * p->channels;
    if (b->use_scratch) {
        const int32_t chunks = cnn_parallel_chunks(ctx, planes, b->grain);
        b->scratch = (float*)cnn_context_scratch(
            ctx, (size_t)chunks * (((size_t)p->in_height * (size_t)p->in_width + 15) / 16 * 16) *
                     sizeof(float));
        if (b->scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    }
    cnn_parallel_for(ctx, planes, b->grain, pool2d_backward_task, b);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_pool2d_backward_scalar(cnn_context* ctx, const cnn_pool2d_params* p,
                                          int32_t out_height, int32_t out_width,
                                          const float* input, const float* output,
                                          const float* grad_output, int32_t accumulate,
                                          float* grad_input) {
    cnn_pool2d_backward_plan b;
    cnn_pool2d_backward_plan_init(&b, p, out_height, out_width, input, grad_output, accumulate,
                                  grad_input);
    return cnn_pool2d_backward_run(ctx, &b);
}
