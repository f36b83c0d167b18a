/* f32-clip-scalar.c — reference clamp (torch.clamp / ONNX Clip) and its gradient, with the
 * per-element formulas of shape-common.h. */
#include "shape-common.h"

static void clip_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_clip_job* job = (const cnn_clip_job*)arg;
    for (int64_t i = begin; i < end; i++)
        job->output[i] = cnn_clip_apply(job->input[i], job->lo, job->hi);
}

static void clip_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_clip_job* job = (const cnn_clip_job*)arg;
    float* gi = job->output;
    for (int64_t i = begin; i < end; i++) {
        const float v = cnn_clip_grad(job->input[i], job->grad[i], job->lo, job->hi);
        gi[i] = job->accumulate ? gi[i] + v : v;
    }
}

cnn_status cnn_f32_clip_scalar(cnn_context* ctx, int64_t count, const float* input,
                               float min_value, float max_value, float* output) {
    cnn_clip_job job = {input, NULL, output, min_value, max_value, 0};
    cnn_parallel_for(ctx, count, 4 * CNN_PARALLEL_GRAIN_WORK, clip_task, &job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_clip_backward_scalar(cnn_context* ctx, int64_t count, const float* input,
                                        const float* grad_output, float min_value,
                                        float max_value, float* grad_input, int32_t accumulate) {
    cnn_clip_job job = {input, grad_output, grad_input, min_value, max_value, accumulate};
    cnn_parallel_for(ctx, count, 4 * CNN_PARALLEL_GRAIN_WORK, clip_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}
