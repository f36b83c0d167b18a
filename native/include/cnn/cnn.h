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
    CNN_ACTIVATION_TANH = 3
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

#ifdef __cplusplus
}
#endif

#endif /* CNN_CNN_H */
