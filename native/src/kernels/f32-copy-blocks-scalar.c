/* f32-copy-blocks-scalar.c — strided block copy / add (concat, narrow and their gradients):
 * dst[o*dst_stride + i] (=, +=) src[o*src_stride + i]. The copy is a memcpy per block and the
 * add a plain loop the compiler vectorizes, so every ISA uses this kernel. */
#include <string.h>

#include "ops-common.h"

typedef struct copy_blocks_job {
    int64_t block, src_stride, dst_stride;
    const float* src;
    float* dst;
    int32_t accumulate;
} copy_blocks_job;

static void copy_blocks_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const copy_blocks_job* job = (const copy_blocks_job*)arg;
    for (int64_t o = begin; o < end; o++) {
        const float* s = job->src + o * job->src_stride;
        float* d = job->dst + o * job->dst_stride;
        if (job->accumulate) {
            for (int64_t i = 0; i < job->block; i++) d[i] += s[i];
        } else {
            memcpy(d, s, (size_t)job->block * sizeof(float));
        }
    }
}

cnn_status cnn_f32_copy_blocks_scalar(cnn_context* ctx, int64_t outer, int64_t block,
                                      const float* src, int64_t src_stride, float* dst,
                                      int64_t dst_stride, int32_t accumulate) {
    copy_blocks_job job = {block, src_stride, dst_stride, src, dst, accumulate};
    int64_t grain = 4 * CNN_PARALLEL_GRAIN_WORK / block;
    cnn_parallel_for(ctx, outer, grain < 1 ? 1 : grain, copy_blocks_task, &job);
    return CNN_STATUS_SUCCESS;
}
