/* f32-gavgpool-scalar.c — reference global average pooling: output[plane] = mean of the
 * plane's plane_size elements, summed in double (torch computes it as mean over H and W). */
#include "ops-common.h"

static void gavgpool_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_gavgpool_job* job = (const cnn_gavgpool_job*)arg;
    for (int64_t plane = begin; plane < end; plane++) {
        const float* in = job->input + plane * job->plane_size;
        double sum = 0.0;
        for (int64_t i = 0; i < job->plane_size; i++) sum += in[i];
        job->output[plane] = (float)(sum / (double)job->plane_size);
    }
}

cnn_status cnn_f32_gavgpool_scalar(cnn_context* ctx, int64_t planes, int64_t plane_size,
                                   const float* input, float* output) {
    cnn_gavgpool_job job = {plane_size, input, output};
    const int64_t grain = CNN_PARALLEL_GRAIN_WORK / plane_size;
    cnn_parallel_for(ctx, planes, grain > 1 ? grain : 1, gavgpool_task, &job);
    return CNN_STATUS_SUCCESS;
}
