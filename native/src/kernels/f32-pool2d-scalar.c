/*
 * f32-pool2d-scalar.c — reference 2D pooling (max, average, LP), PyTorch 1.13 CPU semantics.
 *
 * For output position o along one axis (stride s, padding pad, kernel k, dilation d, input n):
 *   max:     taps o*s - pad + j*d for j in [0, k) that fall inside [0, n); padding is -inf and a
 *            NaN anywhere in the window makes the result NaN.
 *   average: hstart = o*s - pad, hend = min(hstart + k, n + pad), pool = hend - hstart, then
 *            hstart/hend are clamped to [0, n]; the window sum (in float) is divided by
 *            divisor_override if > 0, else pool_h*pool_w if count_include_pad, else the number
 *            of input elements in the window. An empty window gives 0.
 *   LP:      torch's lp_pool2d: avg_pool2d(x^p, padding 0, count_include_pad) followed by
 *            sign(o)*relu(|o|) * kW*kH, then ^(1/p). Partial windows (ceil_mode) are therefore
 *            scaled by kW*kH / (valid element count), exactly like torch.
 * Shared with the AVX2 kernel, which calls cnn_pool2d_row_scalar for borders.
 */
#include <float.h>
#include <math.h>

#include "ops-common.h"

void cnn_pool2d_plan_init(cnn_pool2d_plan* plan, const cnn_pool2d_params* p, int32_t out_height,
                          int32_t out_width, const float* input, float* output) {
    plan->p = p;
    plan->out_height = out_height;
    plan->out_width = out_width;
    plan->input = input;
    plan->output = output;
    plan->lp_exponent = p->norm_type;
    /* torch computes 1/p in double and uses it as a float exponent; a p so tiny that 1/p
     * exceeds FLT_MAX gives +inf (converted explicitly: an out-of-range conversion is UB). */
    const double root = p->kind == CNN_POOL_LP ? 1.0 / (double)p->norm_type : 1.0;
    plan->lp_root = root > FLT_MAX ? INFINITY : (float)root;
    plan->lp_scale = (float)((int64_t)p->kernel_height * p->kernel_width);
}

int64_t cnn_pool2d_row_grain(const cnn_pool2d_plan* plan) {
    int64_t work = (int64_t)plan->out_width * plan->p->kernel_height * plan->p->kernel_width;
    int64_t grain = CNN_PARALLEL_GRAIN_WORK / (work > 0 ? work : 1);
    return grain > 1 ? grain : 1;
}

float cnn_pool2d_lp_pow(float x, float e) {
    if (e == 1.0f) return x;
    if (e == 2.0f) return x * x;
    if (e == 3.0f) return x * x * x;
    if (e == 0.5f) return sqrtf(x);
    return powf(x, e);
}

float cnn_pool2d_lp_finish(const cnn_pool2d_plan* plan, float mean) {
    /* sign(o) * relu(|o|) is o itself except that -0 becomes +0 (NaN stays NaN). */
    float o = mean == 0.0f ? 0.0f : mean;
    return cnn_pool2d_lp_pow(o * plan->lp_scale, plan->lp_root);
}

cnn_pool2d_extent cnn_pool2d_window(cnn_pool_kind kind, int32_t o, int32_t stride, int32_t pad,
                                    int32_t kernel, int32_t dilation, int32_t in_size) {
    cnn_pool2d_extent e;
    int64_t start = (int64_t)o * stride - pad;
    if (kind == CNN_POOL_MAX) {
        int64_t end = start + (int64_t)(kernel - 1) * dilation + 1;
        if (end > in_size) end = in_size;
        if (start < 0) start += (-start + dilation - 1) / dilation * dilation; /* first tap >= 0 */
        e.begin = (int32_t)(start < end ? start : end);
        e.end = (int32_t)end;
        e.pool_extent = 0;
    } else {
        int64_t end = start + kernel;
        if (end > (int64_t)in_size + pad) end = (int64_t)in_size + pad;
        e.pool_extent = (int32_t)(end - start);
        if (start < 0) start = 0;
        if (end > in_size) end = in_size;
        e.begin = (int32_t)start;
        e.end = (int32_t)(end > start ? end : start);
    }
    return e;
}

void cnn_pool2d_row_scalar(const cnn_pool2d_plan* plan, int64_t row, int32_t ow_begin,
                           int32_t ow_end) {
    const cnn_pool2d_params* p = plan->p;
    const int64_t plane = row / plan->out_height;
    const int32_t oh = (int32_t)(row % plan->out_height);
    const int64_t width = p->in_width;
    const float* in = plan->input + plane * p->in_height * width;
    float* out = plan->output + row * plan->out_width;
    const int32_t dh = p->dilation_height, dw = p->dilation_width;
    const cnn_pool2d_extent h = cnn_pool2d_window(p->kind, oh, p->stride_height, p->pad_height,
                                                  p->kernel_height, dh, p->in_height);

    for (int32_t ow = ow_begin; ow < ow_end; ow++) {
        const cnn_pool2d_extent w = cnn_pool2d_window(p->kind, ow, p->stride_width, p->pad_width,
                                                      p->kernel_width, dw, p->in_width);
        if (p->kind == CNN_POOL_MAX) {
            float m = -INFINITY;
            for (int32_t ih = h.begin; ih < h.end; ih += dh)
                for (int32_t iw = w.begin; iw < w.end; iw += dw) {
                    float v = in[ih * width + iw];
                    if (v > m || isnan(v)) m = v;
                }
            out[ow] = m;
            continue;
        }
        const int is_lp = p->kind == CNN_POOL_LP;
        float sum = 0.0f;
        for (int32_t ih = h.begin; ih < h.end; ih++)
            for (int32_t iw = w.begin; iw < w.end; iw++) {
                float v = in[ih * width + iw];
                sum += is_lp ? cnn_pool2d_lp_pow(v, plan->lp_exponent) : v;
            }
        const int64_t valid = (int64_t)(h.end - h.begin) * (w.end - w.begin);
        const int64_t pool = (int64_t)h.pool_extent * w.pool_extent;
        float mean;
        if (valid == 0)
            mean = 0.0f;
        else if (is_lp)
            mean = sum / (float)pool; /* LP = avg_pool2d with count_include_pad, no padding */
        else if (p->divisor_override > 0)
            mean = sum / (float)p->divisor_override;
        else
            mean = sum / (float)(p->count_include_pad ? pool : valid);
        out[ow] = is_lp ? cnn_pool2d_lp_finish(plan, mean) : mean;
    }
}

static void pool2d_rows_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_pool2d_plan* plan = (const cnn_pool2d_plan*)arg;
    for (int64_t row = begin; row < end; row++)
        cnn_pool2d_row_scalar(plan, row, 0, plan->out_width);
}

cnn_status cnn_f32_pool2d_scalar(cnn_context* ctx, const cnn_pool2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, float* output) {
    cnn_pool2d_plan plan;
    cnn_pool2d_plan_init(&plan, p, out_height, out_width, input, output);
    const int64_t rows = (int64_t)p->batch * p->channels * out_height;
    cnn_parallel_for(ctx, rows, cnn_pool2d_row_grain(&plan), pool2d_rows_task, &plan);
    return CNN_STATUS_SUCCESS;
}
