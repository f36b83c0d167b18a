/* loss.c — cnn_cross_entropy and cnn_mse_loss: validation and dispatch. */
#include <math.h>
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_cross_entropy(cnn_context* context, int32_t batch, int32_t classes,
                             const float* logits, const int32_t* labels, float label_smoothing,
                             float* out_loss, float* grad_logits) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(logits);
    CNN_CHECK_NOT_NULL(labels);
    CNN_CHECK_NOT_NULL(out_loss);
    CNN_CHECK_RANGE("batch", batch, 1, INT32_MAX);
    CNN_CHECK_RANGE("classes", classes, 1, INT32_MAX);
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: label_smoothing = %g is out of range [0, 1]", __func__,
                             (double)label_smoothing);
    int64_t count = 0;
    if (!cnn_checked_product(__func__, "logits (batch*classes)", &count, 2, (int64_t)batch,
                             (int64_t)classes))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_named_buffer outputs[2] = {{"grad_logits", grad_logits, count},
                                         {"out_loss", out_loss, 1}};
    const cnn_named_buffer inputs[2] = {{"logits", logits, count}, {"labels", labels, batch}};
    const cnn_status st = cnn_check_outputs_disjoint(__func__, outputs, 2, inputs, 2);
    if (st != CNN_STATUS_SUCCESS) return st;
    for (int32_t i = 0; i < batch; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "%s: labels[%d] = %d is out of range [0, %d] (classes = %d)",
                                 __func__, i, labels[i], classes - 1, classes);
    return context->kernels->cross_entropy(context, batch, classes, logits, labels,
                                           label_smoothing, out_loss, grad_logits);
}

cnn_status cnn_mse_loss(cnn_context* context, int64_t count, const float* prediction,
                        const float* target, float* out_loss, float* grad_prediction) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(prediction);
    CNN_CHECK_NOT_NULL(target);
    CNN_CHECK_NOT_NULL(out_loss);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_named_buffer outputs[2] = {{"grad_prediction", grad_prediction, count},
                                         {"out_loss", out_loss, 1}};
    const cnn_named_buffer inputs[2] = {{"prediction", prediction, count},
                                        {"target", target, count}};
    const cnn_status st = cnn_check_outputs_disjoint(__func__, outputs, 2, inputs, 2);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->mse_loss(context, count, prediction, target, out_loss,
                                      grad_prediction);
}
