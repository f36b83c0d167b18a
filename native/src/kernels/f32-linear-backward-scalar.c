/* f32-linear-backward-scalar.c — the reference gradients of the fully connected layer
 * out[b, o] = bias[o] + sum_i in[b, i] * w[o, i] (PyTorch's Linear, weight [out, in]):
 *
 *   grad_input[b, i]  = sum_o grad_output[b, o] * w[o, i]      (float, increasing o)
 *   grad_weight[o, i] = sum_b grad_output[b, o] * in[b, i]     (double, increasing b)
 *   grad_bias[o]      = sum_b grad_output[b, o]                (double, increasing b)
 *
 * accumulate = 1 adds to the buffers, 0 overwrites them. Each result element is computed by
 * exactly one thread (results do not depend on the thread count). */
#include "cnn_internal.h"

typedef struct {
    int64_t batch, in_features, out_features;
    const float* input;
    const float* grad_output;
    const float* weight;
    int32_t accumulate;
    float* grad; /* grad_input or grad_weight */
    float* grad_bias;
} linear_backward_scalar_job;

static void backward_data_elements(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const linear_backward_scalar_job* job = (const linear_backward_scalar_job*)arg;
    const int64_t in_f = job->in_features, out_f = job->out_features;
    for (int64_t idx = begin; idx < end; idx++) {
        const int64_t b = idx / in_f, i = idx % in_f;
        float acc = 0.0f;
        for (int64_t o = 0; o < out_f; o++)
            acc += job->grad_output[b * out_f + o] * job->weight[o * in_f + i];
        job->grad[idx] = job->accumulate ? job->grad[idx] + acc : acc;
    }
}

cnn_status cnn_f32_linear_backward_data_scalar(cnn_context* ctx, int32_t batch, int32_t in_features,
                                               int32_t out_features, const float* grad_output,
                                               const float* weight, int32_t accumulate,
                                               float* grad_input) {
    linear_backward_scalar_job job = {batch,  in_features, out_features, NULL, grad_output,
                                      weight, accumulate,  grad_input,   NULL};
    cnn_parallel_for(ctx, (int64_t)batch * in_features, 65536 / out_features + 1,
                     backward_data_elements, &job);
    return CNN_STATUS_SUCCESS;
}

static void backward_weights_rows(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const linear_backward_scalar_job* job = (const linear_backward_scalar_job*)arg;
    const int64_t in_f = job->in_features, out_f = job->out_features;
    for (int64_t o = begin; o < end; o++) {
        for (int64_t i = 0; i < in_f; i++) {
            double acc = 0.0;
            for (int64_t b = 0; b < job->batch; b++)
                acc += (double)job->grad_output[b * out_f + o] * (double)job->input[b * in_f + i];
            float* d = job->grad + o * in_f + i;
            *d = job->accumulate ? (float)((double)*d + acc) : (float)acc;
        }
        if (job->grad_bias != NULL) {
            double acc = 0.0;
            for (int64_t b = 0; b < job->batch; b++) acc += job->grad_output[b * out_f + o];
            float* d = job->grad_bias + o;
            *d = job->accumulate ? (float)((double)*d + acc) : (float)acc;
        }
    }
}

cnn_status cnn_f32_linear_backward_weights_scalar(cnn_context* ctx, int32_t batch,
                                                  int32_t in_features, int32_t out_features,
                                                  const float* input, const float* grad_output,
                                                  int32_t accumulate, float* grad_weight,
                                                  float* grad_bias) {
    linear_backward_scalar_job job = {batch, in_features, out_features, input,    grad_output,
                                      NULL,  accumulate,  grad_weight,  grad_bias};
    const int64_t work = (int64_t)batch * in_features;
    cnn_parallel_for(ctx, out_features, work >= 65536 ? 1 : 65536 / work + 1, backward_weights_rows,
                     &job);
    return CNN_STATUS_SUCCESS;
}
