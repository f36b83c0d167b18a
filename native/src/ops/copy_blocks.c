/* copy_blocks.c — cnn_copy_blocks: validation (sizes, strides, extents, no overlap), dispatch. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

/* Elements spanned by `outer` blocks of `block` at `stride`: (outer - 1) * stride + block, or 0
 * (error set, naming `what`) if that exceeds the allocation limit. */
static int64_t extent(const char* fn, const char* what, int64_t outer, int64_t block,
                      int64_t stride) {
    int64_t span = 0;
    if (!cnn_checked_product(fn, what, &span, 2, outer - 1, stride)) return 0;
    if (span > CNN_MAX_ALLOC_BYTES / 4 - block) {
        cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                      "%s: %s ((outer-1)*stride + block = %lld*%lld + %lld) is too large", fn,
                      what, (long long)(outer - 1), (long long)stride, (long long)block);
        return 0;
    }
    return span + block;
}

cnn_status cnn_copy_blocks(cnn_context* context, int64_t outer, int64_t block, const float* src,
                           int64_t src_stride, float* dst, int64_t dst_stride,
                           int32_t accumulate) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(src);
    CNN_CHECK_NOT_NULL(dst);
    CNN_CHECK_RANGE("outer", outer, 1, INT64_MAX);
    CNN_CHECK_RANGE("block", block, 1, INT64_MAX);
    CNN_CHECK_RANGE("src_stride", src_stride, block, INT64_MAX);
    CNN_CHECK_RANGE("dst_stride", dst_stride, block, INT64_MAX);
    CNN_CHECK_ACCUMULATE(accumulate);
    const int64_t src_extent = extent(__func__, "src extent", outer, block, src_stride);
    if (src_extent == 0) return CNN_STATUS_INVALID_ARGUMENT;
    const int64_t dst_extent = extent(__func__, "dst extent", outer, block, dst_stride);
    if (dst_extent == 0) return CNN_STATUS_INVALID_ARGUMENT;
    CNN_CHECK_FLOATS_DISJOINT("dst", dst, dst_extent, "src", src, src_extent);
    return context->kernels->copy_blocks(context, outer, block, src, src_stride, dst, dst_stride,
                                         accumulate);
}
