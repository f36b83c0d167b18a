/* broadcast_binary.c — cnn_broadcast_binary_forward: validation (rank, sizes, compatibility, no
 * overlap), then the shapes collapsed for the kernel: size-1 output dimensions dropped and
 * neighbours merged where each operand is either present in both or repeated in both, so that
 * [N, C, H, W] * [N, C, 1, 1] reaches the kernel as [N*C, H*W] with b strides (1, 0). */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_broadcast_binary_forward(cnn_context* context, cnn_binary_op op, int32_t rank,
                                        const int64_t* a_shape, const float* a,
                                        const int64_t* b_shape, const float* b,
                                        float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(a_shape);
    CNN_CHECK_NOT_NULL(a);
    CNN_CHECK_NOT_NULL(b_shape);
    CNN_CHECK_NOT_NULL(b);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("op", (int)op, CNN_BINARY_ADD, CNN_BINARY_POW);
    CNN_CHECK_RANGE("rank", rank, 1, CNN_BROADCAST_MAX_RANK);
    int64_t out_shape[CNN_BROADCAST_MAX_RANK];
    int64_t a_count = 1, b_count = 1, out_count = 1;
    for (int32_t d = 0; d < rank; d++) {
        CNN_CHECK_RANGE("a_shape[d]", a_shape[d], 1, INT64_MAX);
        CNN_CHECK_RANGE("b_shape[d]", b_shape[d], 1, INT64_MAX);
        if (a_shape[d] != b_shape[d] && a_shape[d] != 1 && b_shape[d] != 1)
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "%s: a_shape[%d] = %lld and b_shape[%d] = %lld cannot be "
                                 "broadcast (they must be equal, or one of them 1)",
                                 __func__, (int)d, (long long)a_shape[d], (int)d,
                                 (long long)b_shape[d]);
        out_shape[d] = a_shape[d] > b_shape[d] ? a_shape[d] : b_shape[d];
        if (!cnn_checked_product(__func__, "a", &a_count, 2, a_count, a_shape[d]) ||
            !cnn_checked_product(__func__, "b", &b_count, 2, b_count, b_shape[d]) ||
            !cnn_checked_product(__func__, "output", &out_count, 2, out_count, out_shape[d]))
            return CNN_STATUS_INVALID_ARGUMENT;
    }
    CNN_CHECK_FLOATS_DISJOINT("output", output, out_count, "a", a, a_count);
    CNN_CHECK_FLOATS_DISJOINT("output", output, out_count, "b", b, b_count);

    /* Collapse: walk from the innermost dimension, keeping each operand's element stride. */
    int64_t shape[CNN_BROADCAST_MAX_RANK], sa[CNN_BROADCAST_MAX_RANK], sb[CNN_BROADCAST_MAX_RANK];
    int32_t n = 0;
    int64_t stride_a = 1, stride_b = 1;
    for (int32_t d = rank - 1; d >= 0; d--) {
        if (out_shape[d] == 1) continue;
        const int a_here = a_shape[d] != 1, b_here = b_shape[d] != 1;
        if (n > 0 && a_here == (sa[n - 1] != 0) && b_here == (sb[n - 1] != 0)) {
            shape[n - 1] *= out_shape[d]; /* same pattern as the inner neighbour: one dimension */
        } else {
            shape[n] = out_shape[d];
            sa[n] = a_here ? stride_a : 0;
            sb[n] = b_here ? stride_b : 0;
            n++;
        }
        if (a_here) stride_a *= a_shape[d];
        if (b_here) stride_b *= b_shape[d];
    }
    if (n == 0) { /* every size 1: one element */
        shape[0] = 1;
        sa[0] = sb[0] = 1;
        n = 1;
    }
    /* Outermost first for the kernel. */
    for (int32_t i = 0; i < n / 2; i++) {
        int64_t t = shape[i]; shape[i] = shape[n - 1 - i]; shape[n - 1 - i] = t;
        t = sa[i]; sa[i] = sa[n - 1 - i]; sa[n - 1 - i] = t;
        t = sb[i]; sb[i] = sb[n - 1 - i]; sb[n - 1 - i] = t;
    }
    return context->kernels->broadcast_binary(context, op, n, shape, a, sa, b, sb, output);
}
