/* f32-dwconv2d-driver.c — the plain-C half of the depthwise convolution (see f32-dwconv2d.h):
 * staging of the input planes, work partition, the per-thread task; the vector output-plane
 * routine comes from the ISA's kernel file. */
#include "f32-dwconv2d.h"

/* Stage one zero-padded, phase-split input plane: buf[(r*phases + phase)*PW + pos]. Only the
 * phases a tap can read are staged: min(sw, (KW-1)*dw + 1). Strides 1 and 2 (two phases) go
 * through the ISA's vector stage_row; the scalar gather below serves the other strides. */
static void dw_stage_plane(const cnn_dwconv_job* job, const float* in, float* buf) {
    const cnn_conv2d_params* p = job->p;
    const int64_t sw = p->stride_width, pw = job->phase_width, in_w = p->in_width;
    const int vector_rows = sw == 1 || (sw == 2 && job->phases == 2);
    for (int64_t r = 0; r < job->rows; r++) {
        const int64_t ih = r - p->pad_top;
        const int row_valid = ih >= 0 && ih < p->in_height;
        if (vector_rows) {
            job->stage_row(job, row_valid ? in + ih * in_w : NULL, buf + r * job->phases * pw);
            continue;
        }
        for (int64_t phase = 0; phase < job->phases; phase++) {
            float* dst = buf + (r * job->phases + phase) * pw;
            /* position pos holds input column iw = pos*sw + phase - pad_left */
            const int64_t first = phase - p->pad_left; /* iw at pos 0 */
            int64_t lo = first >= 0 ? 0 : (-first + sw - 1) / sw;
            int64_t hi = in_w - first > 0 ? (in_w - first + sw - 1) / sw : 0;
            if (!row_valid) lo = hi = 0;
            if (lo > pw) lo = pw;
            if (hi > pw) hi = pw;
            if (hi < lo) hi = lo;
            int64_t pos = 0;
            for (; pos < lo; pos++) dst[pos] = 0.0f;
            for (; pos < hi; pos++) dst[pos] = in[ih * in_w + first + pos * sw];
            for (; pos < pw; pos++) dst[pos] = 0.0f;
        }
    }
}

static void dwconv_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_dwconv_job* job = (const cnn_dwconv_job*)arg;
    const cnn_conv2d_params* p = job->p;
    float* buf = job->scratch + (size_t)thread_index * job->plane_floats;
    const int64_t in_plane = (int64_t)p->in_height * p->in_width;
    const int64_t out_plane = job->out_height * job->out_width;
    const int64_t taps = (int64_t)p->kernel_height * p->kernel_width;
    int64_t staged = -1;
    for (int64_t item = begin; item < end; item++) {
        const int64_t mb = item % job->mult_blocks;
        const int64_t nc = item / job->mult_blocks; /* n * in_channels + c */
        if (nc != staged) {
            dw_stage_plane(job, job->input + nc * in_plane, buf);
            staged = nc;
        }
        const int64_t n = nc / p->in_channels, c = nc % p->in_channels;
        const int64_t j_end =
            (mb + 1) * job->mult_block < job->mult ? (mb + 1) * job->mult_block : job->mult;
        for (int64_t j = mb * job->mult_block; j < j_end; j++) {
            const int64_t oc = c * job->mult + j;
            job->output_plane(job, buf, job->weight + oc * taps,
                            job->bias != NULL ? job->bias[oc] : 0.0f,
                            job->output + (n * p->out_channels + oc) * out_plane);
        }
    }
}

/* Direct 3x3 stride 1 / 2: items are (n, output channel, row band); no staging. */
static void dwconv_direct_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_dwconv_job* job = (const cnn_dwconv_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t in_plane = (int64_t)p->in_height * p->in_width;
    const int64_t out_plane = job->out_height * job->out_width;
    for (int64_t item = begin; item < end; item++) {
        const int64_t band = item % job->bands, plane = item / job->bands; /* n * OC + oc */
        const int64_t n = plane / p->out_channels, oc = plane % p->out_channels;
        const int64_t oh = band * job->band_rows;
        const int64_t oh_end = oh + job->band_rows < job->out_height ? oh + job->band_rows
                                                                     : job->out_height;
        job->direct_plane(job, job->input + (n * p->in_channels + oc / job->mult) * in_plane,
                          job->weight + oc * 9, job->bias != NULL ? job->bias[oc] : 0.0f,
                          job->output + plane * out_plane, oh, oh_end);
    }
}

/* Direct 3x3 stride 1 / 2 run. Few planes (batch 1 with few channels) are split into row bands of
 * a multiple of 4 rows (the routine's block height) so that every thread gets work. */
static cnn_status dwconv_direct_run(cnn_context* ctx, cnn_dwconv_job* job) {
    const cnn_conv2d_params* p = job->p;
    const int64_t planes = (int64_t)p->batch * p->out_channels;
    const int64_t want_items = 4 * (int64_t)ctx->num_threads;
    job->bands = planes < want_items ? (want_items + planes - 1) / planes : 1;
    job->band_rows = (job->out_height + job->bands - 1) / job->bands;
    job->band_rows = (job->band_rows + 3) / 4 * 4;
    job->bands = (job->out_height + job->band_rows - 1) / job->band_rows;
    /* the zero row is read like an input row, whole vectors from zero_row - 1 on */
    const int64_t zeros = 2 * (job->out_width + 2 * 16) + 3;
    float* zero_row = (float*)cnn_context_scratch(ctx, (size_t)zeros * sizeof(float));
    if (zero_row == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    for (int64_t i = 0; i < zeros; i++) zero_row[i] = 0.0f;
    job->zero_row = zero_row + 1;
    job->input_end = job->input + (int64_t)p->batch * p->in_channels * p->in_height * p->in_width;
    cnn_parallel_for(ctx, planes * job->bands, 1, dwconv_direct_task, job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_dwconv2d_run(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                int32_t out_width, const float* input, const float* weight,
                                const float* bias, cnn_activation activation, float* output,
                                void (*output_plane)(const cnn_dwconv_job*, const float*,
                                                     const float*, float, float*),
                                void (*stage_row)(const cnn_dwconv_job*, const float*, float*),
                                void (*direct_plane)(const cnn_dwconv_job*, const float*,
                                                     const float*, float, float*, int64_t,
                                                     int64_t),
                                int32_t lanes) {
    cnn_dwconv_job job = {0};
    job.p = p;
    job.output_plane = output_plane;
    job.stage_row = stage_row;
    job.out_height = out_height;
    job.out_width = out_width;
    job.mult = p->out_channels / p->in_channels;
    job.input = input;
    job.weight = weight;
    job.bias = bias;
    job.activation = activation;
    job.output = output;
    job.direct_plane = direct_plane;
    if (p->kernel_height == 3 && p->kernel_width == 3 && p->stride_height == p->stride_width &&
        p->stride_width <= 2 && p->dilation_height == 1 && p->dilation_width == 1 &&
        p->pad_left <= 1)
        return dwconv_direct_run(ctx, &job);
    const int64_t sw = p->stride_width;
    const int64_t span_w = (int64_t)p->dilation_width * (p->kernel_width - 1);
    job.rows = (int64_t)(out_height - 1) * p->stride_height +
               (int64_t)p->dilation_height * (p->kernel_height - 1) + 1;
    job.phase_width = ((int64_t)out_width + lanes - 1) / lanes * lanes + span_w / sw + 1;
    job.tap_step_pos = p->dilation_width / sw;
    job.tap_step_phase = p->dilation_width % sw;
    job.phases = sw < span_w + 1 ? sw : span_w + 1;
    job.plane_floats = (size_t)((job.rows * job.phases * job.phase_width + 15) / 16 * 16);
    /* Absurd padding (a staged plane of mostly zeros, far larger than the data): the direct
     * reference loop skips padding instead of staging it. */
    const int64_t data = (int64_t)p->in_height * p->in_width + (int64_t)out_height * out_width;
    if (job.plane_floats > ((size_t)1 << 24) && (int64_t)job.plane_floats > 64 * data)
        return cnn_f32_conv2d_scalar(ctx, p, out_height, out_width, input, weight, bias, activation,
                                     output);

    /* Split the multiplier outputs when there are few planes (e.g. batch 1, few channels). */
    const int64_t planes = (int64_t)p->batch * p->in_channels;
    const int64_t want_items = 4 * (int64_t)ctx->num_threads;
    job.mult_blocks = 1;
    if (planes < want_items && job.mult > 1) {
        job.mult_blocks = (want_items + planes - 1) / planes;
        if (job.mult_blocks > job.mult) job.mult_blocks = job.mult;
    }
    job.mult_block = (job.mult + job.mult_blocks - 1) / job.mult_blocks;
    job.mult_blocks = (job.mult + job.mult_block - 1) / job.mult_block;
    const int64_t items = planes * job.mult_blocks;

    const int32_t chunks = cnn_parallel_chunks(ctx, items, 1);
    job.scratch =
        (float*)cnn_context_scratch(ctx, (size_t)chunks * job.plane_floats * sizeof(float));
    if (job.scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_parallel_for(ctx, items, 1, dwconv_task, &job);
    return CNN_STATUS_SUCCESS;
}
