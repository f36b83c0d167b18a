/* f32-rmsprop-step-scalar.c — reference torch.optim.RMSprop step, centered = False (formulas
 * in train-common.h). */
#include "train-common.h"

static void rmsprop_elements(const cnn_rmsprop_job* job, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
        const float p = job->parameter[i];
        float g = job->grad[i];
        if (job->has_weight_decay) g = fmaf(p, job->weight_decay, g);
        const float s = fmaf(job->one_minus_alpha * g, g, job->square_avg[i] * job->alpha);
        const float avg = sqrtf(s) + job->epsilon;
        job->square_avg[i] = s;
        if (job->has_momentum) {
            const float buf = job->momentum_buffer[i] * job->momentum + g / avg;
            job->momentum_buffer[i] = buf;
            job->parameter[i] = fmaf(buf, job->neg_lr, p);
        } else {
            job->parameter[i] = p + (job->neg_lr * g) / avg;
        }
    }
}

CNN_TRAIN_TASK(rmsprop_task, cnn_rmsprop_job, rmsprop_elements)

cnn_status cnn_f32_rmsprop_step_scalar(cnn_context* ctx, const cnn_rmsprop_params* p, int64_t count,
                                       float* parameter, const float* grad, float* square_avg,
                                       float* momentum_buffer) {
    cnn_rmsprop_job job = cnn_rmsprop_job_make(p, parameter, grad, square_avg, momentum_buffer);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, rmsprop_task, &job);
    return CNN_STATUS_SUCCESS;
}
