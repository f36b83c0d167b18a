/* optimizer.c — cnn_sgd_step, cnn_adam_step, cnn_rmsprop_step: validation and dispatch.
 *
 * Hyper-parameters are checked like torch.optim's constructors (same wording: "Invalid
 * learning rate", "Invalid beta parameter at index 0", "Nesterov momentum requires a momentum
 * and zero dampening", ...) plus what torch leaves unchecked but would produce NaN or nonsense
 * here: every value must be finite, eps > 0, SGD dampening >= 0, RMSprop alpha <= 1.
 * learning_rate = 0 is accepted as in torch (CosineAnnealingLR with eta_min = 0 reaches it).
 * The parameter, its gradient and the state buffers must be pairwise disjoint. */
#include <stdint.h>

#include "cnn_internal.h"
#include "float_checks.h"
#include "overlap.h"

typedef struct named_buffer {
    const char* name;
    const float* data; /* NULL: not used by this call */
} named_buffer;

/* count >= 1, addressable, and the n buffers pairwise disjoint. */
static cnn_status check_buffers(const char* fn, int64_t count, const named_buffer* b, int n) {
    if (count < 1)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: count = %lld is out of range [1, %lld]", fn, (long long)count,
                             (long long)INT64_MAX);
    int64_t checked = 0;
    if (!cnn_checked_product(fn, "count", &checked, 1, count)) return CNN_STATUS_INVALID_ARGUMENT;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (b[i].data && b[j].data &&
                cnn_float_ranges_overlap(b[i].data, count, b[j].data, count))
                return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                     "%s: %s (%p) overlaps %s (%p); they must be separate "
                                     "buffers of count = %lld floats",
                                     fn, b[j].name, (const void*)b[j].data, b[i].name,
                                     (const void*)b[i].data, (long long)count);
    return CNN_STATUS_SUCCESS;
}

#define CHECK_LEARNING_RATE(params)                                                    \
    CNN_CHECK_FLOAT("learning rate", "params->learning_rate", (params)->learning_rate, \
                    CNN_FLOAT_NON_NEGATIVE)
#define CHECK_WEIGHT_DECAY(params)                                                        \
    CNN_CHECK_FLOAT("weight_decay value", "params->weight_decay", (params)->weight_decay, \
                    CNN_FLOAT_NON_NEGATIVE)
#define CHECK_MOMENTUM(params)                                                \
    CNN_CHECK_FLOAT("momentum value", "params->momentum", (params)->momentum, \
                    CNN_FLOAT_NON_NEGATIVE)
#define CHECK_EPSILON(params) \
    CNN_CHECK_FLOAT("epsilon value", "params->epsilon", (params)->epsilon, CNN_FLOAT_POSITIVE)

/* momentum_buffer is required exactly when momentum > 0 (ignored otherwise). */
#define CHECK_MOMENTUM_BUFFER(params, buffer)                                  \
    do {                                                                       \
        if ((params)->momentum > 0.0f && (buffer) == NULL) {                   \
            char text_[32];                                                    \
            cnn_format_float(text_, (params)->momentum);                       \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                  \
                                 "%s: argument 'momentum_buffer' is NULL but " \
                                 "params->momentum = %s > 0 needs it",         \
                                 __func__, text_);                             \
        }                                                                      \
    } while (0)

cnn_status cnn_sgd_step(cnn_context* context, const cnn_sgd_params* params, int64_t count,
                        int64_t step, float* parameter, const float* grad, float* momentum_buffer) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(parameter);
    CNN_CHECK_NOT_NULL(grad);
    CNN_CHECK_RANGE("step", step, 1, INT64_MAX);
    CHECK_LEARNING_RATE(params);
    CHECK_MOMENTUM(params);
    CNN_CHECK_FLOAT("dampening value", "params->dampening", params->dampening,
                    CNN_FLOAT_NON_NEGATIVE);
    CHECK_WEIGHT_DECAY(params);
    CNN_CHECK_RANGE("params->nesterov", params->nesterov, 0, 1);
    if (params->nesterov && (params->momentum <= 0.0f || params->dampening != 0.0f)) {
        char momentum[32], dampening[32];
        cnn_format_float(momentum, params->momentum);
        cnn_format_float(dampening, params->dampening);
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: Nesterov momentum requires a momentum and zero dampening "
                             "(params->nesterov = 1, params->momentum = %s must be > 0, "
                             "params->dampening = %s must be 0)",
                             __func__, momentum, dampening);
    }
    CHECK_MOMENTUM_BUFFER(params, momentum_buffer);
    const float* state = params->momentum > 0.0f ? momentum_buffer : NULL;
    const named_buffer buffers[3] = {
        {"parameter", parameter}, {"grad", grad}, {"momentum_buffer", state}};
    cnn_status st = check_buffers(__func__, count, buffers, 3);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->sgd_step(context, params, count, step, parameter, grad,
                                      momentum_buffer);
}

cnn_status cnn_adam_step(cnn_context* context, const cnn_adam_params* params, int64_t count,
                         int64_t step, float* parameter, const float* grad, float* exp_avg,
                         float* exp_avg_sq) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(parameter);
    CNN_CHECK_NOT_NULL(grad);
    CNN_CHECK_NOT_NULL(exp_avg);
    CNN_CHECK_NOT_NULL(exp_avg_sq);
    CNN_CHECK_RANGE("step", step, 1, INT64_MAX);
    CHECK_LEARNING_RATE(params);
    CHECK_EPSILON(params);
    CNN_CHECK_FLOAT("beta parameter at index 0", "params->beta1", params->beta1,
                    CNN_FLOAT_UNIT_OPEN);
    CNN_CHECK_FLOAT("beta parameter at index 1", "params->beta2", params->beta2,
                    CNN_FLOAT_UNIT_OPEN);
    CHECK_WEIGHT_DECAY(params);
    CNN_CHECK_RANGE("params->decoupled_weight_decay", params->decoupled_weight_decay, 0, 1);
    const named_buffer buffers[4] = {
        {"parameter", parameter}, {"grad", grad}, {"exp_avg", exp_avg}, {"exp_avg_sq", exp_avg_sq}};
    cnn_status st = check_buffers(__func__, count, buffers, 4);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->adam_step(context, params, count, step, parameter, grad, exp_avg,
                                       exp_avg_sq);
}

cnn_status cnn_rmsprop_step(cnn_context* context, const cnn_rmsprop_params* params, int64_t count,
                            float* parameter, const float* grad, float* square_avg,
                            float* momentum_buffer) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(parameter);
    CNN_CHECK_NOT_NULL(grad);
    CNN_CHECK_NOT_NULL(square_avg);
    CHECK_LEARNING_RATE(params);
    CHECK_EPSILON(params);
    CHECK_MOMENTUM(params);
    CHECK_WEIGHT_DECAY(params);
    CNN_CHECK_FLOAT("alpha value", "params->alpha", params->alpha, CNN_FLOAT_UNIT_CLOSED);
    CHECK_MOMENTUM_BUFFER(params, momentum_buffer);
    const float* state = params->momentum > 0.0f ? momentum_buffer : NULL;
    const named_buffer buffers[4] = {{"parameter", parameter},
                                     {"grad", grad},
                                     {"square_avg", square_avg},
                                     {"momentum_buffer", state}};
    cnn_status st = check_buffers(__func__, count, buffers, 4);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->rmsprop_step(context, params, count, parameter, grad, square_avg,
                                          momentum_buffer);
}
