/* f32-linear-scalar.c — the reference fully connected layer:
 *   out[b, o] = act(bias[o] + sum_i in[b, i] * w[o, i])   (PyTorch's Linear, weight [out, in]).
 * The sum is accumulated in float in increasing i, then the bias is added. Threads split the
 * (batch * out_features) outputs. */
#include "cnn_internal.h"

typedef struct {
    int64_t in_features, out_features;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
} linear_scalar_job;

static void linear_scalar_outputs(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const linear_scalar_job* job = (const linear_scalar_job*)arg;
    for (int64_t idx = begin; idx < end; idx++) {
        const int64_t b = idx / job->out_features;
        const int64_t o = idx % job->out_features;
        const float* x = job->input + b * job->in_features;
        const float* w = job->weight + o * job->in_features;
        float acc = 0.0f;
        for (int64_t i = 0; i < job->in_features; i++) acc += x[i] * w[i];
        const float bias = job->bias != NULL ? job->bias[o] : 0.0f;
        job->output[idx] = cnn_activation_scalar_apply(job->activation, acc + bias);
    }
}

cnn_status cnn_f32_linear_scalar(cnn_context* ctx, int32_t batch, int32_t in_features,
                                 int32_t out_features, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output) {
    linear_scalar_job job = {in_features, out_features, input, weight, bias, activation, output};
    /* Keep a chunk at least ~64k multiply-adds so tiny layers don't pay for waking threads. */
    int64_t grain = 65536 / in_features + 1;
    cnn_parallel_for(ctx, (int64_t)batch * out_features, grain, linear_scalar_outputs, &job);
    return CNN_STATUS_SUCCESS;
}
