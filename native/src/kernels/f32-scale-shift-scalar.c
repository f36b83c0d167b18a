/* f32-scale-shift-scalar.c — reference per-channel scale and shift over [outer, channels, inner]:
 * y = x * scale[c] + shift[c], a multiply then an add (two roundings, as torch's x * s + b). */
#include "shape-common.h"

static void scale_shift_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_scale_shift_job* job = (const cnn_scale_shift_job*)arg;
    for (int64_t row = begin; row < end; row++) {
        const int64_t c = row % job->channels;
        const float s = job->scale != NULL ? job->scale[c] : 1.0f;
        const float b = job->shift != NULL ? job->shift[c] : 0.0f;
        const float* x = job->input + row * job->inner;
        float* y = job->output + row * job->inner;
        for (int64_t i = 0; i < job->inner; i++) {
            const float product = x[i] * s;
            y[i] = product + b;
        }
    }
}

cnn_status cnn_f32_scale_shift_scalar(cnn_context* ctx, int64_t outer, int64_t channels,
                                      int64_t inner, const float* input, const float* scale,
                                      const float* shift, float* output) {
    cnn_scale_shift_job job = {channels, inner, input, scale, shift, output};
    cnn_parallel_for(ctx, outer * channels, cnn_scale_shift_grain(inner), scale_shift_task, &job);
    return CNN_STATUS_SUCCESS;
}
