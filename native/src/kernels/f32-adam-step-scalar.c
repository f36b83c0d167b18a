/* f32-adam-step-scalar.c — reference torch.optim.Adam / AdamW step (formulas in
 * train-common.h). */
#include "train-common.h"

static void adam_elements(const cnn_adam_job* job, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
        float p = job->parameter[i];
        float g = job->grad[i];
        if (job->decoupled) p = p * job->decay;
        if (job->l2) g = fmaf(p, job->weight_decay, g);
        const float m = fmaf(g, job->one_minus_beta1, job->exp_avg[i] * job->beta1);
        const float v = fmaf(job->one_minus_beta2 * g, g, job->exp_avg_sq[i] * job->beta2);
        const float denom = sqrtf(v) / job->bias_correction2_sqrt + job->epsilon;
        job->exp_avg[i] = m;
        job->exp_avg_sq[i] = v;
        job->parameter[i] = p + (job->neg_step_size * m) / denom;
    }
}

CNN_TRAIN_TASK(adam_task, cnn_adam_job, adam_elements)

cnn_status cnn_f32_adam_step_scalar(cnn_context* ctx, const cnn_adam_params* p, int64_t count,
                                    int64_t step, float* parameter, const float* grad,
                                    float* exp_avg, float* exp_avg_sq) {
    cnn_adam_job job = cnn_adam_job_make(p, step, parameter, grad, exp_avg, exp_avg_sq);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, adam_task, &job);
    return CNN_STATUS_SUCCESS;
}
