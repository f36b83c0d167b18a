/* conv2d_validate.h — the conv2d parameter validator (ops/conv2d.c), shared by the stateless
 * conv2d calls and the prepacked plan (ops/conv2d_plan.c) so that both accept exactly the same
 * shapes with the same messages. */
#ifndef CNN_CONV2D_VALIDATE_H
#define CNN_CONV2D_VALIDATE_H

#include "cnn_internal.h"

/* Element counts of the tensors of a validated convolution. */
typedef struct {
    int64_t input, weight, output;
} conv2d_counts;

/* Validates every field of params (and every size product) on behalf of public function `fn`;
 * on success returns the output size and the element counts. */
cnn_status cnn_conv2d_validate(const char* fn, const cnn_conv2d_params* p, int32_t* out_height,
                               int32_t* out_width, conv2d_counts* counts);

#endif
