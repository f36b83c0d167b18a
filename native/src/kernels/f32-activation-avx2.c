/* f32-activation-avx2.c — element-wise activations, 8 lanes at a time (see avx2-math.h). */
#include "avx2-math.h"
#include "ops-common.h"

static void activation_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_elementwise_job* job = (const cnn_elementwise_job*)arg;
    cnn_avx2_activation_span(job->activation, job->a + begin, job->output + begin, end - begin);
}

cnn_status cnn_f32_activation_avx2(cnn_context* ctx, cnn_activation activation, int64_t count,
                                   const float* input, float* output) {
    cnn_elementwise_job job = {input, NULL, activation, output};
    cnn_parallel_for(ctx, count, 4 * CNN_PARALLEL_GRAIN_WORK, activation_task, &job);
    return CNN_STATUS_SUCCESS;
}
