/* f32-sgd-step-scalar.c — reference torch.optim.SGD step (formulas in train-common.h). */
#include "train-common.h"

static void sgd_elements(const cnn_sgd_job* job, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
        const float p = job->parameter[i];
        float d = job->grad[i];
        if (job->has_weight_decay) d = fmaf(p, job->weight_decay, d);
        if (job->has_momentum) {
            const float buf = job->first_step ? d
                                              : fmaf(d, job->one_minus_dampening,
                                                     job->momentum_buffer[i] * job->momentum);
            job->momentum_buffer[i] = buf;
            d = job->nesterov ? fmaf(buf, job->momentum, d) : buf;
        }
        job->parameter[i] = fmaf(d, job->neg_lr, p);
    }
}

CNN_TRAIN_TASK(sgd_task, cnn_sgd_job, sgd_elements)

cnn_status cnn_f32_sgd_step_scalar(cnn_context* ctx, const cnn_sgd_params* p, int64_t count,
                                   int64_t step, float* parameter, const float* grad,
                                   float* momentum_buffer) {
    cnn_sgd_job job = cnn_sgd_job_make(p, step, parameter, grad, momentum_buffer);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, sgd_task, &job);
    return CNN_STATUS_SUCCESS;
}
