/* conv2d_plan.c — the prepacked convolution (cnn_conv2d_plan_*): validation, the choice of
 * algorithm at create (fixed with the context's ISA, since the packed layout depends on its
 * micro-kernel), the owned weights (plain OIHW copy, Winograd's transformed U, or the direct
 * path's output-channel panels), dispatch. */
#include <string.h>

#include "conv2d_validate.h"
#include "kernels/f32-gemm.h"
#include "overlap.h"

struct cnn_conv2d_plan {
    cnn_conv2d_params params; /* as created; forward substitutes its batch */
    int32_t out_height, out_width;
    cnn_isa isa;
    cnn_conv2d_algorithm algorithm;
    cnn_conv2d_kernel reference; /* CNN_CONV2D_ALGORITHM_REFERENCE: the scalar kernel */
    const cnn_f32_conv2d_isa* vec; /* the vector ISA's kernels (NULL for the reference) */
    float* weight; /* owned: OIHW copy, U for Winograd, or the direct path's panels */
    float* bias;   /* owned copy, or NULL */
    cnn_activation activation;
    int64_t bytes; /* everything above as counted by cnn_get_memory_stats (cnn_conv2d_plan_get_bytes) */
};

static const cnn_f32_conv2d_isa* vector_isa(cnn_isa isa) {
    switch (isa) {
        case CNN_ISA_AVX512: return &cnn_f32_conv2d_isa_avx512;
        case CNN_ISA_AVX2: return &cnn_f32_conv2d_isa_avx2;
        default: return NULL;
    }
}

/* A tracked block of n floats owned by the plan (counted in plan->bytes), or NULL on failure. */
static float* owned_floats(cnn_conv2d_plan* plan, int64_t n) {
    void* dst = NULL;
    if (cnn_alloc(n * (int64_t)sizeof(float), &dst) != CNN_STATUS_SUCCESS) return NULL;
    plan->bytes += n * (int64_t)sizeof(float);
    return (float*)dst;
}

/* An owned copy of n floats (or NULL on failure). */
static float* owned_copy(cnn_conv2d_plan* plan, const float* src, int64_t n) {
    float* dst = owned_floats(plan, n);
    if (dst != NULL) memcpy(dst, src, (size_t)n * sizeof(float));
    return dst;
}

cnn_status cnn_conv2d_plan_create(cnn_context* context, const cnn_conv2d_params* params,
                                  const float* weight, const float* bias,
                                  cnn_activation activation, cnn_conv2d_plan** out_plan) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(weight);
    CNN_CHECK_NOT_NULL(out_plan);
    CNN_CHECK_ACTIVATION(activation);
    int32_t oh = 0, ow = 0;
    conv2d_counts counts;
    cnn_status st = cnn_conv2d_validate(__func__, params, &oh, &ow, &counts);
    if (st != CNN_STATUS_SUCCESS) return st;

    cnn_conv2d_plan* plan = NULL;
    st = cnn_alloc((int64_t)sizeof(*plan), (void**)&plan);
    if (st != CNN_STATUS_SUCCESS) return st;
    plan->bytes = (int64_t)sizeof(*plan);
    plan->params = *params;
    plan->out_height = oh;
    plan->out_width = ow;
    plan->isa = context->isa;
    plan->activation = activation;
    plan->reference = context->kernels->conv2d;
    plan->vec = vector_isa(context->isa);
    const cnn_f32_conv2d_isa* vec = plan->vec;
    /* The same routing as the ISA's conv2d kernel, except for Winograd's own plan rule and the
     * plan-only direct path (both need weights packed once). */
    if (vec == NULL)
        plan->algorithm = CNN_CONV2D_ALGORITHM_REFERENCE;
    else if (params->groups > 1 && params->groups == params->in_channels)
        plan->algorithm = CNN_CONV2D_ALGORITHM_DEPTHWISE;
    else if (cnn_f32_conv2d_winograd_plan_suits(params, oh, ow, vec->ukernel))
        plan->algorithm = CNN_CONV2D_ALGORITHM_WINOGRAD;
    else if (cnn_f32_conv2d_direct_plan_suits(params, oh, ow, vec->direct))
        plan->algorithm = CNN_CONV2D_ALGORITHM_DIRECT;
    else
        plan->algorithm = CNN_CONV2D_ALGORITHM_GEMM;

    if (bias != NULL) {
        plan->bias = owned_copy(plan, bias, params->out_channels);
        if (plan->bias == NULL) goto fail;
    }
    if (plan->algorithm == CNN_CONV2D_ALGORITHM_WINOGRAD) {
        const int64_t floats = cnn_f32_conv2d_winograd_packed_floats(
            params->in_channels, params->out_channels, vec->ukernel);
        plan->weight = owned_floats(plan, floats);
        if (plan->weight == NULL) goto fail;
        cnn_f32_conv2d_winograd_pack(context, params->in_channels, params->out_channels, weight,
                                     plan->weight, vec->ukernel, vec->winograd);
    } else if (plan->algorithm == CNN_CONV2D_ALGORITHM_DIRECT) {
        plan->weight = owned_floats(plan, cnn_f32_conv2d_direct_packed_floats(params, vec->direct));
        if (plan->weight == NULL) goto fail;
        cnn_f32_conv2d_direct_pack(params, weight, plan->weight, vec->direct);
    } else {
        plan->weight = owned_copy(plan, weight, counts.weight);
        if (plan->weight == NULL) goto fail;
    }
    *out_plan = plan;
    return CNN_STATUS_SUCCESS;
fail:
    cnn_conv2d_plan_destroy(plan);
    return CNN_STATUS_OUT_OF_MEMORY;
}

cnn_status cnn_conv2d_plan_forward(cnn_context* context, const cnn_conv2d_plan* plan,
                                   int32_t batch, const float* input, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(plan);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("batch", batch, 1, INT32_MAX);
    cnn_conv2d_params p = plan->params;
    p.batch = batch;
    int32_t oh = 0, ow = 0;
    conv2d_counts counts; /* the batch may overflow a product the create batch did not */
    cnn_status st = cnn_conv2d_validate(__func__, &p, &oh, &ow, &counts);
    if (st != CNN_STATUS_SUCCESS) return st;
    CNN_CHECK_FLOATS_DISJOINT("output", output, counts.output, "input", input, counts.input);
    const cnn_f32_conv2d_isa* vec = plan->vec;
    switch (plan->algorithm) {
        case CNN_CONV2D_ALGORITHM_WINOGRAD:
            return cnn_f32_conv2d_winograd_packed(context, &p, oh, ow, input, plan->weight,
                                                  plan->bias, plan->activation, output,
                                                  vec->ukernel, vec->winograd);
        case CNN_CONV2D_ALGORITHM_DIRECT:
            return cnn_f32_conv2d_direct(context, &p, oh, ow, input, plan->weight, plan->bias,
                                         plan->activation, output, vec->direct);
        case CNN_CONV2D_ALGORITHM_DEPTHWISE:
            return vec->depthwise(context, &p, oh, ow, input, plan->weight, plan->bias,
                                  plan->activation, output);
        case CNN_CONV2D_ALGORITHM_GEMM:
            return cnn_f32_conv2d_gemm(context, &p, oh, ow, input, plan->weight, plan->bias,
                                       plan->activation, output, vec->ukernel);
        default:
            return plan->reference(context, &p, oh, ow, input, plan->weight, plan->bias,
                                   plan->activation, output);
    }
}

cnn_status cnn_conv2d_plan_get_info(const cnn_conv2d_plan* plan,
                                    cnn_conv2d_algorithm* out_algorithm, cnn_isa* out_isa,
                                    int32_t* out_height, int32_t* out_width) {
    CNN_CHECK_NOT_NULL(plan);
    if (out_algorithm != NULL) *out_algorithm = plan->algorithm;
    if (out_isa != NULL) *out_isa = plan->isa;
    if (out_height != NULL) *out_height = plan->out_height;
    if (out_width != NULL) *out_width = plan->out_width;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_conv2d_plan_get_bytes(const cnn_conv2d_plan* plan, int64_t* out_bytes) {
    CNN_CHECK_NOT_NULL(plan);
    CNN_CHECK_NOT_NULL(out_bytes);
    *out_bytes = plan->bytes;
    return CNN_STATUS_SUCCESS;
}

void cnn_conv2d_plan_destroy(cnn_conv2d_plan* plan) {
    if (plan == NULL) return;
    cnn_free(plan->weight);
    cnn_free(plan->bias);
    cnn_free(plan);
}
