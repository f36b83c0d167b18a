/*
 * cnn.h — the public C API of the CnnNative compute core.
 *
 * Conventions (read once, they hold for every function below):
 *  - Every function that can fail returns a cnn_status. On failure it writes nothing to its
 *    outputs and leaves a human-readable message in thread-local storage, read with
 *    cnn_get_last_error(). Nothing in this library aborts, exits or prints.
 *  - Tensors are float32, densely packed, row-major. Activations are NCHW and convolution
 *    weights OIHW (out_channels, in_channels/groups, kernel_height, kernel_width), as in PyTorch.
 *    Linear weights are (out_features, in_features), also as in PyTorch.
 *  - Buffer sizes are the caller's responsibility: output buffers must hold the element count
 *    given by the matching *_output_size function. Output buffers must not alias inputs unless
 *    the function says so.
 *  - Signatures are blittable (int32_t flags, no bool, no char* inputs) so that the P/Invoke
 *    bindings in bindings/ can be generated from this header without marshalling.
 *  - A cnn_context carries the per-call configuration (thread budget, instruction set) and
 *    scratch memory. A context may be used by one thread at a time; use one context per thread
 *    (they are cheap). All contexts share one pool of worker threads that sleep when idle.
 */
#ifndef CNN_CNN_H
#define CNN_CNN_H

#include <stdint.h>

#if defined(_WIN32)
#  if defined(CNN_BUILDING_LIBRARY)
#    define CNN_API __declspec(dllexport)
#  else
#    define CNN_API __declspec(dllimport)
#  endif
#else
#  define CNN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status, errors, version                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** Result of every fallible call. */
typedef enum cnn_status {
    /** The call succeeded. */
    CNN_STATUS_SUCCESS = 0,
    /** An argument is wrong: a null pointer, a size out of range, inconsistent shapes. */
    CNN_STATUS_INVALID_ARGUMENT = 1,
    /** The request is valid but not available here (e.g. an instruction set this CPU lacks). */
    CNN_STATUS_UNSUPPORTED = 2,
    /** A native allocation failed. */
    CNN_STATUS_OUT_OF_MEMORY = 3,
    /** A bug in this library; the message says where. */
    CNN_STATUS_INTERNAL_ERROR = 4
} cnn_status;

/**
 * The message of the last failed call on this thread (UTF-8, never NULL, "" if none).
 * Valid until the next failing call on the same thread.
 */
CNN_API const char* cnn_get_last_error(void);

/** Library version as "major.minor.patch" (static storage, never NULL). */
CNN_API const char* cnn_get_version(void);

/* ------------------------------------------------------------------------------------------ */
/* Instruction sets and contexts                                                               */
/* ------------------------------------------------------------------------------------------ */

/** Kernel families. Each op has a scalar reference implementation (the readable spec). */
typedef enum cnn_isa {
    /** The best one this CPU supports (resolved when a context is created or set). */
    CNN_ISA_AUTO = 0,
    /** Portable scalar C: the reference every other path is tested against. */
    CNN_ISA_REFERENCE = 1,
    /** AVX2 + FMA (x86-64 baseline for this library's fast path). */
    CNN_ISA_AVX2 = 2,
    /** AVX-512F/BW/DQ/VL; ops without an AVX-512 kernel yet use their AVX2 kernel. */
    CNN_ISA_AVX512 = 3
} cnn_isa;

/** Opaque per-thread execution context (thread budget, ISA, scratch memory). */
typedef struct cnn_context cnn_context;

/**
 * Whether this CPU (and OS) supports an instruction set.
 * @param isa            any cnn_isa value; CNN_ISA_AUTO and CNN_ISA_REFERENCE are always supported.
 * @param out_supported  receives 1 if supported, 0 if not.
 */
CNN_API cnn_status cnn_isa_is_supported(cnn_isa isa, int32_t* out_supported);

/** Number of hardware threads the library may use (the default thread budget). */
CNN_API cnn_status cnn_get_hardware_threads(int32_t* out_threads);

/**
 * Creates a context. Its ISA defaults to CNN_ISA_AUTO unless the environment variable
 * CNN_ISA is "reference", "avx2" or "avx512"; its thread budget defaults to all hardware
 * threads unless CNN_NUM_THREADS is set to a positive integer.
 * @param out_context receives the new context; destroy it with cnn_context_destroy.
 */
CNN_API cnn_status cnn_context_create(cnn_context** out_context);

/** Destroys a context and frees its scratch memory. NULL is accepted and ignored. */
CNN_API void cnn_context_destroy(cnn_context* context);

/**
 * Sets how many threads one call on this context may use, 1 ... CNN_MAX_THREADS (256);
 * 0 means all hardware threads.
 */
CNN_API cnn_status cnn_context_set_num_threads(cnn_context* context, int32_t num_threads);

/** The thread budget of a context (always >= 1). */
CNN_API cnn_status cnn_context_get_num_threads(const cnn_context* context, int32_t* out_num_threads);

/**
 * Chooses the kernel family of a context. CNN_ISA_AUTO picks the best supported one.
 * Returns CNN_STATUS_UNSUPPORTED (context unchanged) if the CPU lacks the ISA.
 */
CNN_API cnn_status cnn_context_set_isa(cnn_context* context, cnn_isa isa);

/** The kernel family a context uses (never CNN_ISA_AUTO: the resolved one). */
CNN_API cnn_status cnn_context_get_isa(const cnn_context* context, cnn_isa* out_isa);

/* ------------------------------------------------------------------------------------------ */
/* Memory                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * Allocates size_bytes (1 ... 2^46) of 64-byte-aligned, zero-filled memory.
 * Free it with cnn_free.
 */
CNN_API cnn_status cnn_alloc(int64_t size_bytes, void** out_pointer);

/** Frees memory from cnn_alloc. NULL is accepted and ignored. */
CNN_API void cnn_free(void* pointer);

/**
 * Gives back to the system the freed blocks this library keeps for reuse. Freed blocks of
 * 64 KiB or more are cached (up to CNN_MEMORY_CACHE_MB, default 256; 0 disables) so that a
 * training loop re-allocating the same sizes every step does not page-fault them in again.
 */
CNN_API void cnn_trim_memory(void);

/**
 * Counters of native memory owned by this library: blocks and bytes live now (cnn_alloc
 * blocks and context scratch), and the number of allocations made since the process started.
 * Lets tests prove that nothing leaks and that steady-state calls allocate nothing.
 */
CNN_API cnn_status cnn_get_memory_stats(int64_t* out_live_blocks, int64_t* out_live_bytes,
                                        int64_t* out_total_allocations);

/* ------------------------------------------------------------------------------------------ */
/* Forward operators                                                                           */
/* ------------------------------------------------------------------------------------------ */

/** Activation applied element-wise, alone or fused into the epilogue of another op. */
typedef enum cnn_activation {
    /** Identity. */
    CNN_ACTIVATION_NONE = 0,
    /** max(x, 0). */
    CNN_ACTIVATION_RELU = 1,
    /** 1 / (1 + exp(-x)). */
    CNN_ACTIVATION_SIGMOID = 2,
    /** tanh(x). */
    CNN_ACTIVATION_TANH = 3,
    /** min(max(x, 0), 6) (torch's ReLU6; NaN stays NaN). */
    CNN_ACTIVATION_RELU6 = 4,
    /** x * min(max(x + 3, 0), 6) / 6 (torch's Hardswish). Backward needs the input. */
    CNN_ACTIVATION_HARDSWISH = 5,
    /** min(max(x + 3, 0), 6) / 6 (torch's Hardsigmoid). Backward needs the input. */
    CNN_ACTIVATION_HARDSIGMOID = 6,
    /** x / (1 + exp(-x)) (torch's SiLU / Swish). Backward needs the input. */
    CNN_ACTIVATION_SILU = 7,
    /** 0.5 * x * (1 + erf(x / sqrt(2))) (torch's exact GELU). Backward needs the input. */
    CNN_ACTIVATION_GELU = 8
} cnn_activation;

/**
 * Shape of a 2D convolution (PyTorch's Conv2d semantics, cross-correlation). Padding is given
 * per side so that "same" padding works for even kernels. All values are > 0 except padding
 * (>= 0). in_channels and out_channels must be divisible by groups.
 */
typedef struct cnn_conv2d_params {
    int32_t batch;
    int32_t in_channels;
    int32_t in_height;
    int32_t in_width;
    int32_t out_channels;
    int32_t kernel_height;
    int32_t kernel_width;
    int32_t stride_height;
    int32_t stride_width;
    int32_t pad_top;
    int32_t pad_bottom;
    int32_t pad_left;
    int32_t pad_right;
    int32_t dilation_height;
    int32_t dilation_width;
    int32_t groups;
} cnn_conv2d_params;

/**
 * Validates a convolution shape and returns its output height and width:
 * out = floor((in + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1.
 * Fails with CNN_STATUS_INVALID_ARGUMENT if that is < 1 or any product overflows.
 */
CNN_API cnn_status cnn_conv2d_output_size(const cnn_conv2d_params* params, int32_t* out_height,
                                          int32_t* out_width);

/**
 * output[N, out_channels, OH, OW] = activation(conv2d(input, weight) + bias).
 * @param input   [batch, in_channels, in_height, in_width]
 * @param weight  [out_channels, in_channels/groups, kernel_height, kernel_width]
 * @param bias    [out_channels], or NULL for no bias
 * @param output  [batch, out_channels, OH, OW] (see cnn_conv2d_output_size); must not alias input
 */
CNN_API cnn_status cnn_conv2d_forward(cnn_context* context, const cnn_conv2d_params* params,
                                      const float* input, const float* weight, const float* bias,
                                      cnn_activation activation, float* output);

/**
 * A prepacked convolution ("plan"), like a oneDNN primitive or an XNNPACK operator: the weights
 * are copied (and, for Winograd, transformed) once at create time, so that inference calls do
 * not re-pack constant weights. Immutable after create: several threads may run one plan at
 * once, each with its own context.
 */
typedef struct cnn_conv2d_plan cnn_conv2d_plan;

/** The algorithm a plan runs (cnn_conv2d_plan_get_info). */
typedef enum cnn_conv2d_algorithm {
    /** The scalar reference kernel (plans created on a CNN_ISA_REFERENCE context). */
    CNN_CONV2D_ALGORITHM_REFERENCE = 0,
    /** GEMM on the ISA's micro-kernel (direct for 1x1, implicit GEMM or im2col otherwise). */
    CNN_CONV2D_ALGORITHM_GEMM = 1,
    /** Winograd F(4x4, 3x3) with the filters transformed at create (3x3, stride 1, groups 1). */
    CNN_CONV2D_ALGORITHM_WINOGRAD = 2,
    /** The depthwise kernel (groups == in_channels). */
    CNN_CONV2D_ALGORITHM_DEPTHWISE = 3,
    /**
     * Plans only (AVX2 and AVX-512, groups 1): direct convolution with vectors over output channels on
     * weights packed at create; strided convs and small output planes, where GEMM's vectors
     * over pixels waste lanes or gather their input. Within the oracle tolerance of
     * cnn_conv2d_forward, not bitwise equal to it.
     */
    CNN_CONV2D_ALGORITHM_DIRECT = 4
} cnn_conv2d_algorithm;

/**
 * Creates a plan for cnn_conv2d_forward(context, params, ., weight, bias, activation, .).
 * Validates exactly like cnn_conv2d_forward. The plan keeps its own copy of the weights and
 * bias (the caller's buffers may be freed afterwards) and fixes the instruction set of
 * `context` (the packed layout depends on it); params->batch only informs the choice of
 * algorithm, every forward call gives its own batch. Memory comes from cnn_alloc (counted in
 * cnn_get_memory_stats until cnn_conv2d_plan_destroy).
 * @param context   supplies the ISA and threads for packing; not retained
 * @param weight    [out_channels, in_channels/groups, kernel_height, kernel_width]
 * @param bias      [out_channels], or NULL for no bias
 * @param out_plan  receives the plan; destroy it with cnn_conv2d_plan_destroy
 */
CNN_API cnn_status cnn_conv2d_plan_create(cnn_context* context, const cnn_conv2d_params* params,
                                          const float* weight, const float* bias,
                                          cnn_activation activation,
                                          cnn_conv2d_plan** out_plan);

/**
 * Runs a plan: output = activation(conv2d(input, weight) + bias) for `batch` images. Bitwise
 * equal to cnn_conv2d_forward on a context of the plan's ISA whenever both choose the same
 * algorithm (a plan may choose Winograd where the stateless call does not, and
 * CNN_CONV2D_ALGORITHM_DIRECT only exists for plans: see cnn_conv2d_plan_get_info). The context only supplies threads and scratch memory; its ISA is
 * ignored.
 * @param batch   1 ... INT32_MAX, may differ from the batch the plan was created with
 * @param input   [batch, in_channels, in_height, in_width]
 * @param output  [batch, out_channels, OH, OW]; must not overlap input
 */
CNN_API cnn_status cnn_conv2d_plan_forward(cnn_context* context, const cnn_conv2d_plan* plan,
                                           int32_t batch, const float* input, float* output);

/**
 * The algorithm a plan chose, its instruction set and its output size.
 * Any output pointer may be NULL (not written).
 */
CNN_API cnn_status cnn_conv2d_plan_get_info(const cnn_conv2d_plan* plan,
                                            cnn_conv2d_algorithm* out_algorithm,
                                            cnn_isa* out_isa, int32_t* out_height,
                                            int32_t* out_width);

/**
 * The native memory a plan holds (its packed weights, bias copy and header): exactly what
 * cnn_conv2d_plan_destroy gives back to cnn_get_memory_stats's live bytes. Lets an owner of
 * many plans (the C# InferenceSession) report what it keeps.
 */
CNN_API cnn_status cnn_conv2d_plan_get_bytes(const cnn_conv2d_plan* plan, int64_t* out_bytes);

/** Destroys a plan and frees its memory. NULL is accepted and ignored. */
CNN_API void cnn_conv2d_plan_destroy(cnn_conv2d_plan* plan);

/** Pooling flavours. */
typedef enum cnn_pool_kind {
    /** Maximum over the window (padding counts as -inf). */
    CNN_POOL_MAX = 0,
    /** Mean over the window (count_include_pad and divisor_override as in PyTorch). */
    CNN_POOL_AVERAGE = 1,
    /** Power-average (L^p) pooling, PyTorch's LPPool2d: (sum over window of x^p)^(1/p). */
    CNN_POOL_LP = 2
} cnn_pool_kind;

/**
 * Shape of a 2D pooling (PyTorch's MaxPool2d / AvgPool2d / LPPool2d semantics).
 * Padding is symmetric and at most half the kernel size (as torch checks it, ignoring dilation);
 * dilation is for max pooling only (1 otherwise); LP pooling takes no padding. ceil_mode and
 * count_include_pad are 0 or 1.
 */
typedef struct cnn_pool2d_params {
    cnn_pool_kind kind;
    int32_t batch;
    int32_t channels;
    int32_t in_height;
    int32_t in_width;
    int32_t kernel_height;
    int32_t kernel_width;
    int32_t stride_height;
    int32_t stride_width;
    int32_t pad_height;
    int32_t pad_width;
    int32_t dilation_height;
    int32_t dilation_width;
    /** 1: output size rounds up (a window may start in the right/bottom padding only if it also covers input). */
    int32_t ceil_mode;
    /** Average only: 1 divides by the window size including padding, 0 by the valid element count. */
    int32_t count_include_pad;
    /** Average only: if > 0, the divisor used for every window instead. */
    int32_t divisor_override;
    /** LP only: the exponent p (> 0, finite). */
    float norm_type;
} cnn_pool2d_params;

/** Validates a pooling shape and returns its output height and width. */
CNN_API cnn_status cnn_pool2d_output_size(const cnn_pool2d_params* params, int32_t* out_height,
                                          int32_t* out_width);

/**
 * output[N, C, OH, OW] = pool(input[N, C, H, W]).
 * @param output must not alias input.
 */
CNN_API cnn_status cnn_pool2d_forward(cnn_context* context, const cnn_pool2d_params* params,
                                      const float* input, float* output);

/** output[N, C] (i.e. [N, C, 1, 1]) = mean of input[N, C, H, W] over H and W. */
CNN_API cnn_status cnn_global_average_pool2d_forward(cnn_context* context, int32_t batch,
                                                     int32_t channels, int32_t height,
                                                     int32_t width, const float* input,
                                                     float* output);

/** Shape of a 2D batch normalization; epsilon must be finite and >= 0. */
typedef struct cnn_batch_norm2d_params {
    int32_t batch;
    int32_t channels;
    int32_t height;
    int32_t width;
    float epsilon;
} cnn_batch_norm2d_params;

/**
 * Batch norm with running statistics (inference / eval mode):
 * output = activation((input - mean[c]) / sqrt(var[c] + epsilon) * weight[c] + bias[c]).
 * @param weight gamma [C], or NULL for 1
 * @param bias   beta [C], or NULL for 0
 * @param output may alias input (in-place is allowed)
 */
CNN_API cnn_status cnn_batch_norm2d_inference(cnn_context* context,
                                              const cnn_batch_norm2d_params* params,
                                              const float* input, const float* running_mean,
                                              const float* running_var, const float* weight,
                                              const float* bias, cnn_activation activation,
                                              float* output);

/**
 * output[i] = activation(input[i]) for count elements (count >= 1).
 * @param output may alias input.
 */
CNN_API cnn_status cnn_activation_forward(cnn_context* context, cnn_activation activation,
                                          int64_t count, const float* input, float* output);

/**
 * Fully connected layer: output[b, o] = activation(sum_i input[b, i] * weight[o, i] + bias[o]).
 * @param weight [out_features, in_features] (PyTorch's Linear layout)
 * @param bias   [out_features], or NULL
 * @param output [batch, out_features]; must not alias input
 */
CNN_API cnn_status cnn_linear_forward(cnn_context* context, int32_t batch, int32_t in_features,
                                      int32_t out_features, const float* input,
                                      const float* weight, const float* bias,
                                      cnn_activation activation, float* output);

/**
 * Softmax (log_softmax != 0: log-softmax) over the middle axis of a tensor viewed as
 * [outer, classes, inner]: for NC logits use (N, C, 1); for NCHW over channels use (N, C, H*W).
 * Numerically stable (max-subtracted). log_softmax is 0 or 1.
 * @param output may alias input.
 */
CNN_API cnn_status cnn_softmax_forward(cnn_context* context, int32_t outer, int32_t classes,
                                       int32_t inner, int32_t log_softmax, const float* input,
                                       float* output);

/**
 * output[i] = activation(a[i] + b[i]) for count elements: the residual connection.
 * @param output may alias a or b.
 */
CNN_API cnn_status cnn_add_forward(cnn_context* context, int64_t count, const float* a,
                                   const float* b, cnn_activation activation, float* output);

/* ------------------------------------------------------------------------------------------ */
/* Backward operators (training)                                                               */
/*                                                                                             */
/* Gradient outputs take an `accumulate` flag (0 or 1): 0 overwrites the gradient buffer, 1    */
/* adds to what it holds (autograd accumulates gradients of a tensor used more than once).    */
/* Gradient buffers must not alias any input.                                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * Gradient of cnn_conv2d_forward (without activation) w.r.t. its input:
 * grad_input[N, C, H, W] from grad_output[N, OC, OH, OW] and weight.
 */
CNN_API cnn_status cnn_conv2d_backward_data(cnn_context* context, const cnn_conv2d_params* params,
                                            const float* grad_output, const float* weight,
                                            int32_t accumulate, float* grad_input);

/**
 * Gradients of cnn_conv2d_forward (without activation) w.r.t. weight (summed over the batch and
 * every output position: the weights are shared) and bias.
 * @param grad_bias [out_channels], or NULL when the convolution has no bias.
 */
CNN_API cnn_status cnn_conv2d_backward_weights(cnn_context* context,
                                               const cnn_conv2d_params* params,
                                               const float* input, const float* grad_output,
                                               int32_t accumulate, float* grad_weight,
                                               float* grad_bias);

/**
 * Gradient of cnn_pool2d_forward. Max pooling routes each output gradient to the first maximum
 * of its window in row-major order; among NaNs the last one wins (PyTorch's `v > best || isnan(v)`
 * scan). Average pooling spreads it with the forward's divisor; L^p pooling differentiates
 * PyTorch's composite (avg_pool of x^p, times kH*kW, ^(1/p)) exactly, recomputing from input.
 * @param input        the forward input (required for max and L^p; may be NULL for average)
 * @param output       unused (L^p recomputes its window sums from input); may be NULL
 */
CNN_API cnn_status cnn_pool2d_backward(cnn_context* context, const cnn_pool2d_params* params,
                                       const float* input, const float* output,
                                       const float* grad_output, int32_t accumulate,
                                       float* grad_input);

/** Gradient of cnn_global_average_pool2d_forward: grad_input = grad_output / (H*W), broadcast. */
CNN_API cnn_status cnn_global_average_pool2d_backward(cnn_context* context, int32_t batch,
                                                      int32_t channels, int32_t height,
                                                      int32_t width, const float* grad_output,
                                                      int32_t accumulate, float* grad_input);

/**
 * Batch norm in training mode (PyTorch semantics): normalises with the batch mean and biased
 * variance over (N, H, W); if running_mean/running_var are given, updates them in place:
 * running = (1 - momentum) * running + momentum * batch_stat, using the UNBIASED variance
 * (m / (m - 1), m = N*H*W) for running_var. Needs N*H*W >= 2.
 * @param weight, bias            gamma, beta [C], or NULL for 1, 0
 * @param running_mean, running_var [C] updated in place, or both NULL (track_running_stats=False)
 * @param momentum                in [0, 1]
 * @param save_mean, save_invstd  [C] outputs for the backward pass: batch mean, 1/sqrt(var+eps)
 */
CNN_API cnn_status cnn_batch_norm2d_training_forward(cnn_context* context,
                                                     const cnn_batch_norm2d_params* params,
                                                     const float* input, const float* weight,
                                                     const float* bias, float momentum,
                                                     float* running_mean, float* running_var,
                                                     float* save_mean, float* save_invstd,
                                                     float* output);

/**
 * Gradient of batch norm. With batch_statistics = 1 (training mode), mean/invstd are the saved
 * batch statistics and the gradient flows through them; with 0 (eval mode, e.g. a frozen
 * backbone), they are the running mean and 1/sqrt(running_var + eps) and act as constants.
 * @param grad_weight, grad_bias [C], or NULL when not wanted (no affine, or frozen)
 */
CNN_API cnn_status cnn_batch_norm2d_backward(cnn_context* context,
                                             const cnn_batch_norm2d_params* params,
                                             const float* input, const float* grad_output,
                                             const float* weight, const float* mean,
                                             const float* invstd, int32_t batch_statistics,
                                             int32_t accumulate, float* grad_input,
                                             float* grad_weight, float* grad_bias);

/**
 * Gradient of an activation, computed from its forward OUTPUT (so fused epilogues need no
 * extra buffer): ReLU: g * (y > 0); sigmoid: g * y * (1 - y); tanh: g * (1 - y^2);
 * ReLU6: g where 0 < y < 6, else 0. For ReLU and ReLU6 a NaN y passes g through (as torch's
 * threshold_backward / hardtanh_backward do for a NaN input). The activations whose derivative
 * is not a function of the output (Hardswish, Hardsigmoid, SiLU, GELU) fail with
 * CNN_STATUS_INVALID_ARGUMENT: use cnn_activation_backward_from_input.
 */
CNN_API cnn_status cnn_activation_backward(cnn_context* context, cnn_activation activation,
                                           int64_t count, const float* output,
                                           const float* grad_output, int32_t accumulate,
                                           float* grad_input);

/**
 * Gradient of any activation computed from its forward INPUT x (the training path of the
 * activations whose derivative needs x): none: g; ReLU: x <= 0 ? 0 : g; sigmoid: g * s * (1 - s)
 * with s = sigmoid(x); tanh: g * (1 - t^2) with t = tanh(x); ReLU6: g where 0 < x < 6;
 * Hardswish: 0 for x <= -3, g for x >= 3, else g * (x / 3 + 0.5) (torch 2.x's boundaries); Hardsigmoid: g / 6 where
 * -3 < x < 3, else 0; SiLU: g * s * (1 + x * (1 - s)); GELU: g * (Phi(x) + x * phi(x)) with the
 * standard normal cdf Phi and pdf phi. For ReLU / ReLU6 a NaN x passes g through.
 * @param grad_input must not overlap input or grad_output.
 */
CNN_API cnn_status cnn_activation_backward_from_input(cnn_context* context,
                                                      cnn_activation activation, int64_t count,
                                                      const float* input,
                                                      const float* grad_output,
                                                      int32_t accumulate, float* grad_input);

/** Gradient of cnn_linear_forward (without activation) w.r.t. its input. */
CNN_API cnn_status cnn_linear_backward_data(cnn_context* context, int32_t batch,
                                            int32_t in_features, int32_t out_features,
                                            const float* grad_output, const float* weight,
                                            int32_t accumulate, float* grad_input);

/** Gradients of cnn_linear_forward w.r.t. weight [out, in] and bias [out] (bias may be NULL). */
CNN_API cnn_status cnn_linear_backward_weights(cnn_context* context, int32_t batch,
                                               int32_t in_features, int32_t out_features,
                                               const float* input, const float* grad_output,
                                               int32_t accumulate, float* grad_weight,
                                               float* grad_bias);

/** Gradient of cnn_softmax_forward, from its forward output (softmax or log-softmax). */
CNN_API cnn_status cnn_softmax_backward(cnn_context* context, int32_t outer, int32_t classes,
                                        int32_t inner, int32_t log_softmax, const float* output,
                                        const float* grad_output, int32_t accumulate,
                                        float* grad_input);

/**
 * Softmax cross-entropy with integer labels, mean over the batch (PyTorch's
 * F.cross_entropy(logits, labels, label_smoothing=s)). Labels must be in [0, classes).
 * @param out_loss        receives the scalar loss
 * @param grad_logits     if not NULL, receives d(loss)/d(logits) [batch, classes] (overwritten)
 */
CNN_API cnn_status cnn_cross_entropy(cnn_context* context, int32_t batch, int32_t classes,
                                     const float* logits, const int32_t* labels,
                                     float label_smoothing, float* out_loss, float* grad_logits);

/** Mean squared error, mean over count elements; grad_prediction (nullable) = 2 (p - t) / count. */
CNN_API cnn_status cnn_mse_loss(cnn_context* context, int64_t count, const float* prediction,
                                const float* target, float* out_loss, float* grad_prediction);

/**
 * Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p); output = input * mask.
 * The same (seed, count, p) always gives the same mask, whatever the thread count.
 * @param p in [0, 1)
 */
CNN_API cnn_status cnn_dropout_forward(cnn_context* context, int64_t count, float p, int64_t seed,
                                       const float* input, float* mask, float* output);

/** output[i] = a[i] * b[i] (dropout's backward; gating). output may alias a or b. */
CNN_API cnn_status cnn_mul_forward(cnn_context* context, int64_t count, const float* a,
                                   const float* b, float* output);

/** y[i] += alpha * x[i] (gradient accumulation). */
CNN_API cnn_status cnn_axpy(cnn_context* context, int64_t count, float alpha, const float* x,
                            float* y);

/** Sum of squares in double precision (gradient-norm clipping). */
CNN_API cnn_status cnn_sum_squares(cnn_context* context, int64_t count, const float* x,
                                   double* out_sum);

/* ------------------------------------------------------------------------------------------ */
/* Shape and element-wise helpers (model zoo, ONNX import)                                     */
/* ------------------------------------------------------------------------------------------ */

/**
 * Clamp (torch.clamp / ONNX Clip / hardtanh): output[i] = min(max(input[i], min_value), max_value)
 * for count elements (count >= 1). A NaN input stays NaN (as torch.clamp). min_value and
 * max_value may be infinite but not NaN, and min_value <= max_value.
 * @param output may alias input (in place).
 */
CNN_API cnn_status cnn_clip_forward(cnn_context* context, int64_t count, const float* input,
                                    float min_value, float max_value, float* output);

/**
 * Gradient of cnn_clip_forward from its forward INPUT (torch's clamp backward):
 * grad_input[i] (=, += with accumulate = 1) grad_output[i] if min_value <= input[i] <= max_value,
 * else 0 (so a NaN input gets 0). Same min/max rules as the forward.
 */
CNN_API cnn_status cnn_clip_backward(cnn_context* context, int64_t count, const float* input,
                                     const float* grad_output, float min_value, float max_value,
                                     float* grad_input, int32_t accumulate);

/**
 * Strided block copy (concatenation, slicing and their gradients): for o in [0, outer) and
 * i in [0, block): dst[o*dst_stride + i] = src[o*src_stride + i] (accumulate = 0) or
 * += (accumulate = 1). outer, block >= 1; src_stride, dst_stride >= block. The dst extent
 * (outer-1)*dst_stride + block must not overlap the src extent.
 */
CNN_API cnn_status cnn_copy_blocks(cnn_context* context, int64_t outer, int64_t block,
                                   const float* src, int64_t src_stride, float* dst,
                                   int64_t dst_stride, int32_t accumulate);

/**
 * Adaptive average pooling to any output size (torch's adaptive_avg_pool2d): output cell (oh, ow)
 * is the mean of input rows [floor(oh*H/OH), ceil((oh+1)*H/OH)) and columns likewise. Output
 * sizes may exceed the input's (windows then repeat rows/columns).
 * @param input  [batch, channels, in_height, in_width]
 * @param output [batch, channels, out_height, out_width]; must not alias input
 */
CNN_API cnn_status cnn_adaptive_avg_pool2d_forward(cnn_context* context, int32_t batch,
                                                   int32_t channels, int32_t in_height,
                                                   int32_t in_width, int32_t out_height,
                                                   int32_t out_width, const float* input,
                                                   float* output);

/**
 * Gradient of cnn_adaptive_avg_pool2d_forward: each output gradient spread evenly over its window
 * (divided by the window's height, then its width, as torch).
 * @param grad_input [batch, channels, in_height, in_width]; must not alias grad_output
 */
CNN_API cnn_status cnn_adaptive_avg_pool2d_backward(cnn_context* context, int32_t batch,
                                                    int32_t channels, int32_t in_height,
                                                    int32_t in_width, int32_t out_height,
                                                    int32_t out_width, const float* grad_output,
                                                    float* grad_input, int32_t accumulate);

/**
 * Per-channel scale and shift over a tensor viewed as [outer, channels, inner]:
 * output[(o*channels + c)*inner + i] = input[...] * scale[c] + shift[c] (a multiply, then an
 * add, as torch's x * s + b). All sizes >= 1.
 * @param scale  [channels], or NULL for 1
 * @param shift  [channels], or NULL for 0
 * @param output may alias input (in place); must not overlap scale or shift
 */
CNN_API cnn_status cnn_scale_shift_forward(cnn_context* context, int64_t outer, int64_t channels,
                                           int64_t inner, const float* input, const float* scale,
                                           const float* shift, float* output);

/** Element-wise binary operations of cnn_broadcast_binary_forward. */
typedef enum cnn_binary_op {
    /** a + b */
    CNN_BINARY_ADD = 0,
    /** a * b */
    CNN_BINARY_MUL = 1,
    /** a - b */
    CNN_BINARY_SUB = 2,
    /** a / b (IEEE: x / 0 is +-inf or NaN) */
    CNN_BINARY_DIV = 3,
    /** powf(a, b) (C's pow: pow(x, 0) = 1, negative a with a non-integer b is NaN) */
    CNN_BINARY_POW = 4
} cnn_binary_op;

/** The largest rank cnn_broadcast_binary_forward takes. */
#define CNN_BROADCAST_MAX_RANK 8

/**
 * output = a (op) b with numpy / ONNX multidirectional broadcasting (ONNX Add / Mul of any two
 * compatible shapes, e.g. [N, C, H, W] + [C, 1, 1] or [N, 1, H, W] * [N, C, 1, 1]). Both shapes
 * are given at the same rank (the caller left-pads the shorter one with 1s): along every
 * dimension d, a_shape[d] and b_shape[d] are equal, or one of them is 1 and is repeated; the
 * output has the larger of the two. All tensors are contiguous (row-major); each output element
 * is one IEEE operation on the two operands (the same value as the unbroadcast op).
 * @param rank    1..CNN_BROADCAST_MAX_RANK
 * @param a_shape rank sizes >= 1
 * @param b_shape rank sizes >= 1, compatible with a_shape as above
 * @param output  [max(a_shape[d], b_shape[d]) for each d]; must not overlap a or b
 */
CNN_API cnn_status cnn_broadcast_binary_forward(cnn_context* context, cnn_binary_op op,
                                                int32_t rank, const int64_t* a_shape,
                                                const float* a, const int64_t* b_shape,
                                                const float* b, float* output);

/* ------------------------------------------------------------------------------------------ */
/* Optimizer steps (torch.optim update rules, one parameter tensor per call)                   */
/* ------------------------------------------------------------------------------------------ */

/** SGD hyper-parameters (torch.optim.SGD). */
typedef struct cnn_sgd_params {
    float learning_rate;
    float momentum;
    float dampening;
    float weight_decay;
    /** 0 or 1; needs momentum > 0 and dampening = 0. */
    int32_t nesterov;
} cnn_sgd_params;

/**
 * One SGD step on count parameters. momentum_buffer [count] is required when momentum > 0;
 * step is the 1-based step number (step 1 initialises the buffer with the gradient, as torch).
 */
CNN_API cnn_status cnn_sgd_step(cnn_context* context, const cnn_sgd_params* params, int64_t count,
                                int64_t step, float* parameter, const float* grad,
                                float* momentum_buffer);

/** Adam / AdamW hyper-parameters (torch.optim.Adam, torch.optim.AdamW). */
typedef struct cnn_adam_params {
    float learning_rate;
    float beta1;
    float beta2;
    float epsilon;
    float weight_decay;
    /** 0: Adam (L2 added to the gradient); 1: AdamW (decoupled: p *= 1 - lr * weight_decay). */
    int32_t decoupled_weight_decay;
} cnn_adam_params;

/** One Adam(W) step; step is 1-based (bias correction); exp_avg and exp_avg_sq start at 0. */
CNN_API cnn_status cnn_adam_step(cnn_context* context, const cnn_adam_params* params,
                                 int64_t count, int64_t step, float* parameter, const float* grad,
                                 float* exp_avg, float* exp_avg_sq);

/** RMSprop hyper-parameters (torch.optim.RMSprop, centered = False). */
typedef struct cnn_rmsprop_params {
    float learning_rate;
    float alpha;
    float epsilon;
    float weight_decay;
    float momentum;
} cnn_rmsprop_params;

/** One RMSprop step; square_avg starts at 0; momentum_buffer required when momentum > 0. */
CNN_API cnn_status cnn_rmsprop_step(cnn_context* context, const cnn_rmsprop_params* params,
                                    int64_t count, float* parameter, const float* grad,
                                    float* square_avg, float* momentum_buffer);

#ifdef __cplusplus
}
#endif

#endif /* CNN_CNN_H */
