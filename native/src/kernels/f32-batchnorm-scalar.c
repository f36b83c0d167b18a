/*
 * f32-batchnorm-scalar.c — reference batch norm with running statistics (eval mode):
 *   y = activation((x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c])
 * evaluated the way torch 1.13's CPU kernel does, as y = x * alpha[c] + beta[c] with
 * alpha = weight / sqrt(var + eps) and beta = bias - mean * alpha. output may alias input.
 */
#include <math.h>

#include "ops-common.h"

void cnn_batchnorm_channel_affine(const cnn_batch_norm2d_params* p, const float* mean,
                                  const float* var, const float* weight, const float* bias,
                                  int64_t channel, float* alpha, float* beta) {
    const float invstd = 1.0f / sqrtf(var[channel] + p->epsilon);
    const float a = invstd * (weight ? weight[channel] : 1.0f);
    *alpha = a;
    *beta = (bias ? bias[channel] : 0.0f) - mean[channel] * a;
}

cnn_batchnorm_split cnn_batchnorm_split_of(const cnn_batch_norm2d_params* p, int64_t work,
                                           int64_t* grain) {
    cnn_batchnorm_split s;
    s.plane_size = (int64_t)p->height * p->width;
    s.segments = (s.plane_size + CNN_BATCHNORM_SEGMENT - 1) / CNN_BATCHNORM_SEGMENT;
    s.items = (int64_t)p->batch * p->channels * s.segments;
    const int64_t item_size =
        s.plane_size < CNN_BATCHNORM_SEGMENT ? s.plane_size : CNN_BATCHNORM_SEGMENT;
    *grain = work / item_size > 1 ? work / item_size : 1;
    return s;
}

void cnn_batchnorm_item(const cnn_batchnorm_split* split, int64_t channels, int64_t item,
                        int64_t* channel, int64_t* first, int64_t* count) {
    const int64_t plane = item / split->segments;
    const int64_t offset = item % split->segments * CNN_BATCHNORM_SEGMENT;
    const int64_t left = split->plane_size - offset;
    *channel = plane % channels;
    *first = plane * split->plane_size + offset;
    *count = left < CNN_BATCHNORM_SEGMENT ? left : CNN_BATCHNORM_SEGMENT;
}

typedef struct {
    const cnn_batch_norm2d_params* p;
    cnn_batchnorm_split split;
    const float *input, *mean, *var, *weight, *bias;
    cnn_activation activation;
    float* output;
} batchnorm_job;

static void batchnorm_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const batchnorm_job* job = (const batchnorm_job*)arg;
    for (int64_t item = begin; item < end; item++) {
        int64_t c, first, count;
        cnn_batchnorm_item(&job->split, job->p->channels, item, &c, &first, &count);
        float alpha, beta;
        cnn_batchnorm_channel_affine(job->p, job->mean, job->var, job->weight, job->bias, c, &alpha,
                                     &beta);
        for (int64_t i = first; i < first + count; i++)
            job->output[i] =
                cnn_activation_scalar_apply(job->activation, job->input[i] * alpha + beta);
    }
}

cnn_status cnn_f32_batchnorm_scalar(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                    const float* input, const float* mean, const float* var,
                                    const float* weight, const float* bias,
                                    cnn_activation activation, float* output) {
    int64_t grain;
    batchnorm_job job = {p,     cnn_batchnorm_split_of(p, CNN_PARALLEL_GRAIN_WORK, &grain),
                         input, mean,
                         var,   weight,
                         bias,  activation,
                         output};
    cnn_parallel_for(ctx, job.split.items, grain, batchnorm_task, &job);
    return CNN_STATUS_SUCCESS;
}
