/*
 * cnn_internal.h — what the op drivers and kernels share inside the library (never installed).
 *
 * Layering inside native/src:
 *   core/     errors, tracked memory, CPUID, contexts, the thread pool, the ISA dispatch tables
 *   ops/      one file per public op: validates every argument, computes output sizes, then calls
 *             the kernel chosen by the context's table (ctx->kernels)
 *   kernels/  compute only, no validation; files named dtype-op[-tile]-isa.c (XNNPACK style).
 *             Files ending in -avx2.c are compiled with -mavx2 -mfma, -avx512.c with AVX-512 flags
 *             (see native/CMakeLists.txt); nothing else may use ISA intrinsics.
 */
#ifndef CNN_INTERNAL_H
#define CNN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cnn/cnn.h"
#include "core/compiler.h"

#define CNN_MAX_THREADS 256
/* Largest allocation we accept (64 TiB): far above any real tensor, low enough that
 * element-count * sizeof(float) can never overflow int64 arithmetic. */
#define CNN_MAX_ALLOC_BYTES (INT64_C(1) << 46)

/* ---------------------------------------------------------------- errors (core/error.c) */

/* Formats a message into the thread-local error slot and returns `status` (never SUCCESS). */
cnn_status cnn_set_error(cnn_status status, const char* format, ...) CNN_PRINTF_FORMAT(2, 3);

/* Validation helpers for ops/: each returns from the calling function with
 * CNN_STATUS_INVALID_ARGUMENT and a message naming the function, the argument and its value. */
#define CNN_CHECK_NOT_NULL(ptr)                                                               \
    do {                                                                                      \
        if ((ptr) == NULL)                                                                    \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT, "%s: argument '%s' is NULL",   \
                                 __func__, #ptr);                                             \
    } while (0)

/* lo <= value <= hi, reported with the argument's name as written at the call site. */
#define CNN_CHECK_RANGE(name, value, lo, hi)                                                   \
    do {                                                                                       \
        long long cnn_v_ = (long long)(value);                                                 \
        if (cnn_v_ < (long long)(lo) || cnn_v_ > (long long)(hi))                              \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                                  \
                                 "%s: %s = %lld is out of range [%lld, %lld]", __func__, name, \
                                 cnn_v_, (long long)(lo), (long long)(hi));                    \
    } while (0)

#define CNN_CHECK_ACTIVATION(act)                                                  \
    CNN_CHECK_RANGE("activation", (int)(act), CNN_ACTIVATION_NONE, CNN_ACTIVATION_GELU)

/* Product of `count` non-negative factors; returns 0 and sets an error naming `what` if the
 * product (times 4 bytes) would exceed CNN_MAX_ALLOC_BYTES. */
int cnn_checked_product(const char* function, const char* what, int64_t* out, int count, ...);

/* --------------------------------------------------------------- memory (core/memory.c) */

/* 64-byte-aligned, tracked in cnn_get_memory_stats. NOT zeroed. NULL on failure (no error set). */
void* cnn_aligned_malloc(size_t bytes);
void cnn_aligned_free(void* pointer);

/* ------------------------------------------------------------------------- CPU (core/cpu.c) */

int cnn_cpu_has_avx2(void);   /* AVX2 + FMA + OS support for YMM state */
int cnn_cpu_has_avx512(void); /* AVX-512 F/BW/DQ/VL + OS support for ZMM state */
int32_t cnn_cpu_hardware_threads(void);

/* ------------------------------------------------------------------ dispatch (core/dispatch.c) */

typedef struct cnn_kernel_table cnn_kernel_table;

struct cnn_context {
    int32_t num_threads;             /* 1 ... CNN_MAX_THREADS */
    cnn_isa isa;                     /* resolved, never AUTO */
    const cnn_kernel_table* kernels; /* table for `isa` */
    void* scratch;                   /* grows on demand, reused across calls */
    size_t scratch_bytes;
    void* outer_scratch;             /* cnn_context_outer_scratch: same policy */
    size_t outer_scratch_bytes;
};

/* Scratch memory of a context, at least `bytes` long, 64-byte aligned, contents undefined.
 * Reused across calls (steady state allocates nothing). On failure returns NULL after setting
 * CNN_STATUS_OUT_OF_MEMORY. Kernels partition it among threads themselves. */
void* cnn_context_scratch(cnn_context* context, size_t bytes);

/* A second scratch area with the same contract, for an op that stages data and then runs another
 * kernel which uses cnn_context_scratch itself (conv2d backward-data as a forward convolution
 * keeps its flipped weights here). Kernels never use it. */
void* cnn_context_outer_scratch(cnn_context* context, size_t bytes);

/* ----------------------------------------------------------------- threads (core/threadpool.c) */

/* One task: process items [begin, end). thread_index is in [0, number of chunks) and is unique
 * among the chunks of one cnn_parallel_for call, so it can index per-thread scratch. */
typedef void (*cnn_task_fn)(void* arg, int64_t begin, int64_t end, int32_t thread_index);

/* How many chunks cnn_parallel_for will use for n items with at least `grain` items per chunk:
 * min(context->num_threads, ceil(n / grain)), at least 1. Use it to size per-thread scratch. */
int32_t cnn_parallel_chunks(const cnn_context* context, int64_t n, int64_t grain);

/* Splits [0, n) into cnn_parallel_chunks(...) contiguous chunks and runs them on the shared pool
 * (the caller runs chunk 0) and returns when all are done. If the pool is busy with another
 * caller's work, the chunks run one after another on the calling thread (same results). */
void cnn_parallel_for(const cnn_context* context, int64_t n, int64_t grain, cnn_task_fn fn,
                      void* arg);

/* ----------------------------------------------------------------- kernels (kernels/, per ISA) */

/* Kernel signatures: arguments are already validated by ops/; out_height/out_width are computed.
 * Kernels return SUCCESS or OUT_OF_MEMORY (scratch); they never see invalid arguments. */
typedef cnn_status (*cnn_conv2d_kernel)(cnn_context* ctx, const cnn_conv2d_params* p,
                                        int32_t out_height, int32_t out_width, const float* input,
                                        const float* weight, const float* bias,
                                        cnn_activation activation, float* output);
typedef cnn_status (*cnn_pool2d_kernel)(cnn_context* ctx, const cnn_pool2d_params* p,
                                        int32_t out_height, int32_t out_width, const float* input,
                                        float* output);
/* planes = batch * channels, plane_size = height * width. */
typedef cnn_status (*cnn_global_average_pool2d_kernel)(cnn_context* ctx, int64_t planes,
                                                       int64_t plane_size, const float* input,
                                                       float* output);
typedef cnn_status (*cnn_batch_norm2d_kernel)(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                              const float* input, const float* mean,
                                              const float* var, const float* weight,
                                              const float* bias, cnn_activation activation,
                                              float* output);
typedef cnn_status (*cnn_activation_kernel)(cnn_context* ctx, cnn_activation activation,
                                            int64_t count, const float* input, float* output);
typedef cnn_status (*cnn_linear_kernel)(cnn_context* ctx, int32_t batch, int32_t in_features,
                                        int32_t out_features, const float* input,
                                        const float* weight, const float* bias,
                                        cnn_activation activation, float* output);
typedef cnn_status (*cnn_softmax_kernel)(cnn_context* ctx, int32_t outer, int32_t classes,
                                         int32_t inner, int32_t log_softmax, const float* input,
                                         float* output);
typedef cnn_status (*cnn_add_kernel)(cnn_context* ctx, int64_t count, const float* a,
                                     const float* b, cnn_activation activation, float* output);


/* Training kernels: the public function's arguments after validation (conv/pool also get the
 * computed output size). `accumulate` is 0 (overwrite) or 1 (add into the gradient buffer). */
typedef cnn_status cnn_conv2d_backward_data_kernel_fn(cnn_context* ctx, const cnn_conv2d_params* p,
                                                      int32_t out_height, int32_t out_width,
                                                      const float* grad_output,
                                                      const float* weight, int32_t accumulate,
                                                      float* grad_input);
typedef cnn_status cnn_conv2d_backward_weights_kernel_fn(cnn_context* ctx,
                                                         const cnn_conv2d_params* p,
                                                         int32_t out_height, int32_t out_width,
                                                         const float* input,
                                                         const float* grad_output,
                                                         int32_t accumulate, float* grad_weight,
                                                         float* grad_bias);
typedef cnn_status cnn_pool2d_backward_kernel_fn(cnn_context* ctx, const cnn_pool2d_params* p,
                                                 int32_t out_height, int32_t out_width,
                                                 const float* input, const float* output,
                                                 const float* grad_output, int32_t accumulate,
                                                 float* grad_input);
typedef cnn_status cnn_global_average_pool2d_backward_kernel_fn(cnn_context* ctx, int64_t planes,
                                                                int64_t plane_size,
                                                                const float* grad_output,
                                                                int32_t accumulate,
                                                                float* grad_input);
typedef cnn_status cnn_batch_norm2d_training_forward_kernel_fn(
    cnn_context* ctx, const cnn_batch_norm2d_params* p, const float* input, const float* weight,
    const float* bias, float momentum, float* running_mean, float* running_var, float* save_mean,
    float* save_invstd, float* output);
typedef cnn_status cnn_batch_norm2d_backward_kernel_fn(
    cnn_context* ctx, const cnn_batch_norm2d_params* p, const float* input,
    const float* grad_output, const float* weight, const float* mean, const float* invstd,
    int32_t batch_statistics, int32_t accumulate, float* grad_input, float* grad_weight,
    float* grad_bias);
typedef cnn_status cnn_activation_backward_kernel_fn(cnn_context* ctx, cnn_activation activation,
                                                     int64_t count, const float* output,
                                                     const float* grad_output,
                                                     int32_t accumulate, float* grad_input);
typedef cnn_status cnn_linear_backward_data_kernel_fn(cnn_context* ctx, int32_t batch,
                                                      int32_t in_features, int32_t out_features,
                                                      const float* grad_output,
                                                      const float* weight, int32_t accumulate,
                                                      float* grad_input);
typedef cnn_status cnn_linear_backward_weights_kernel_fn(cnn_context* ctx, int32_t batch,
                                                         int32_t in_features,
                                                         int32_t out_features,
                                                         const float* input,
                                                         const float* grad_output,
                                                         int32_t accumulate, float* grad_weight,
                                                         float* grad_bias);
typedef cnn_status cnn_softmax_backward_kernel_fn(cnn_context* ctx, int32_t outer, int32_t classes,
                                                  int32_t inner, int32_t log_softmax,
                                                  const float* output, const float* grad_output,
                                                  int32_t accumulate, float* grad_input);
typedef cnn_status cnn_cross_entropy_kernel_fn(cnn_context* ctx, int32_t batch, int32_t classes,
                                               const float* logits, const int32_t* labels,
                                               float label_smoothing, float* out_loss,
                                               float* grad_logits);
typedef cnn_status cnn_mse_loss_kernel_fn(cnn_context* ctx, int64_t count,
                                          const float* prediction, const float* target,
                                          float* out_loss, float* grad_prediction);
typedef cnn_status cnn_dropout_kernel_fn(cnn_context* ctx, int64_t count, float p, int64_t seed,
                                         const float* input, float* mask, float* output);
typedef cnn_status cnn_mul_kernel_fn(cnn_context* ctx, int64_t count, const float* a,
                                     const float* b, float* output);
typedef cnn_status cnn_axpy_kernel_fn(cnn_context* ctx, int64_t count, float alpha,
                                      const float* x, float* y);
typedef cnn_status cnn_sum_squares_kernel_fn(cnn_context* ctx, int64_t count, const float* x,
                                             double* out_sum);
typedef cnn_status cnn_sgd_step_kernel_fn(cnn_context* ctx, const cnn_sgd_params* p,
                                          int64_t count, int64_t step, float* parameter,
                                          const float* grad, float* momentum_buffer);
typedef cnn_status cnn_adam_step_kernel_fn(cnn_context* ctx, const cnn_adam_params* p,
                                           int64_t count, int64_t step, float* parameter,
                                           const float* grad, float* exp_avg,
                                           float* exp_avg_sq);
typedef cnn_status cnn_rmsprop_step_kernel_fn(cnn_context* ctx, const cnn_rmsprop_params* p,
                                              int64_t count, float* parameter, const float* grad,
                                              float* square_avg, float* momentum_buffer);
/* Shape / element-wise helpers (arguments as in the public functions, validated). */
typedef cnn_status cnn_clip_kernel_fn(cnn_context* ctx, int64_t count, const float* input,
                                      float min_value, float max_value, float* output);
typedef cnn_status cnn_clip_backward_kernel_fn(cnn_context* ctx, int64_t count, const float* input,
                                               const float* grad_output, float min_value,
                                               float max_value, float* grad_input,
                                               int32_t accumulate);
typedef cnn_status cnn_copy_blocks_kernel_fn(cnn_context* ctx, int64_t outer, int64_t block,
                                             const float* src, int64_t src_stride, float* dst,
                                             int64_t dst_stride, int32_t accumulate);
typedef cnn_status cnn_adaptive_avg_pool2d_kernel_fn(cnn_context* ctx, int64_t planes,
                                                     int32_t in_height, int32_t in_width,
                                                     int32_t out_height, int32_t out_width,
                                                     const float* input, float* output);
typedef cnn_status cnn_adaptive_avg_pool2d_backward_kernel_fn(cnn_context* ctx, int64_t planes,
                                                              int32_t in_height, int32_t in_width,
                                                              int32_t out_height,
                                                              int32_t out_width,
                                                              const float* grad_output,
                                                              float* grad_input,
                                                              int32_t accumulate);
typedef cnn_status cnn_scale_shift_kernel_fn(cnn_context* ctx, int64_t outer, int64_t channels,
                                             int64_t inner, const float* input, const float* scale,
                                             const float* shift, float* output);
/* Broadcast binary op, already collapsed by the driver: out_shape[rank], element strides of a and
 * b per output dimension (0 where the operand is repeated). */
typedef cnn_status cnn_broadcast_binary_kernel_fn(cnn_context* ctx, cnn_binary_op op, int32_t rank,
                                                  const int64_t* out_shape, const float* a,
                                                  const int64_t* a_strides, const float* b,
                                                  const int64_t* b_strides, float* output);
typedef cnn_clip_kernel_fn* cnn_clip_kernel;
typedef cnn_clip_backward_kernel_fn* cnn_clip_backward_kernel;
typedef cnn_copy_blocks_kernel_fn* cnn_copy_blocks_kernel;
typedef cnn_adaptive_avg_pool2d_kernel_fn* cnn_adaptive_avg_pool2d_kernel;
typedef cnn_adaptive_avg_pool2d_backward_kernel_fn* cnn_adaptive_avg_pool2d_backward_kernel;
typedef cnn_scale_shift_kernel_fn* cnn_scale_shift_kernel;
typedef cnn_broadcast_binary_kernel_fn* cnn_broadcast_binary_kernel;
typedef cnn_conv2d_backward_data_kernel_fn* cnn_conv2d_backward_data_kernel;
typedef cnn_conv2d_backward_weights_kernel_fn* cnn_conv2d_backward_weights_kernel;
typedef cnn_pool2d_backward_kernel_fn* cnn_pool2d_backward_kernel;
typedef cnn_global_average_pool2d_backward_kernel_fn* cnn_global_average_pool2d_backward_kernel;
typedef cnn_batch_norm2d_training_forward_kernel_fn* cnn_batch_norm2d_training_forward_kernel;
typedef cnn_batch_norm2d_backward_kernel_fn* cnn_batch_norm2d_backward_kernel;
typedef cnn_activation_backward_kernel_fn* cnn_activation_backward_kernel;
typedef cnn_linear_backward_data_kernel_fn* cnn_linear_backward_data_kernel;
typedef cnn_linear_backward_weights_kernel_fn* cnn_linear_backward_weights_kernel;
typedef cnn_softmax_backward_kernel_fn* cnn_softmax_backward_kernel;
typedef cnn_cross_entropy_kernel_fn* cnn_cross_entropy_kernel;
typedef cnn_mse_loss_kernel_fn* cnn_mse_loss_kernel;
typedef cnn_dropout_kernel_fn* cnn_dropout_kernel;
typedef cnn_mul_kernel_fn* cnn_mul_kernel;
typedef cnn_axpy_kernel_fn* cnn_axpy_kernel;
typedef cnn_sum_squares_kernel_fn* cnn_sum_squares_kernel;
typedef cnn_sgd_step_kernel_fn* cnn_sgd_step_kernel;
typedef cnn_adam_step_kernel_fn* cnn_adam_step_kernel;
typedef cnn_rmsprop_step_kernel_fn* cnn_rmsprop_step_kernel;

/* One table per ISA; an ISA without its own kernel for an op points at the next-best one,
 * with the scalar reference always the last fallback. */
struct cnn_kernel_table {
    cnn_isa isa;
    const char* name;
    cnn_conv2d_kernel conv2d;
    cnn_pool2d_kernel pool2d;
    cnn_global_average_pool2d_kernel global_average_pool2d;
    cnn_batch_norm2d_kernel batch_norm2d_inference;
    cnn_activation_kernel activation;
    cnn_linear_kernel linear;
    cnn_softmax_kernel softmax;
    cnn_add_kernel add;
    /* training */
    cnn_conv2d_backward_data_kernel conv2d_backward_data;
    cnn_conv2d_backward_weights_kernel conv2d_backward_weights;
    cnn_pool2d_backward_kernel pool2d_backward;
    cnn_global_average_pool2d_backward_kernel global_average_pool2d_backward;
    cnn_batch_norm2d_training_forward_kernel batch_norm2d_training_forward;
    cnn_batch_norm2d_backward_kernel batch_norm2d_backward;
    cnn_activation_backward_kernel activation_backward;
    /* the same signature; its `output` argument is the forward input (f32-activation-grad-*.c) */
    cnn_activation_backward_kernel activation_backward_from_input;
    cnn_linear_backward_data_kernel linear_backward_data;
    cnn_linear_backward_weights_kernel linear_backward_weights;
    cnn_softmax_backward_kernel softmax_backward;
    cnn_cross_entropy_kernel cross_entropy;
    cnn_mse_loss_kernel mse_loss;
    cnn_dropout_kernel dropout;
    cnn_mul_kernel mul;
    cnn_axpy_kernel axpy;
    cnn_sum_squares_kernel sum_squares;
    cnn_sgd_step_kernel sgd_step;
    cnn_adam_step_kernel adam_step;
    cnn_rmsprop_step_kernel rmsprop_step;
    /* shape / element-wise helpers */
    cnn_clip_kernel clip;
    cnn_clip_backward_kernel clip_backward;
    cnn_copy_blocks_kernel copy_blocks;
    cnn_adaptive_avg_pool2d_kernel adaptive_avg_pool2d;
    cnn_adaptive_avg_pool2d_backward_kernel adaptive_avg_pool2d_backward;
    cnn_scale_shift_kernel scale_shift;
    cnn_broadcast_binary_kernel broadcast_binary;
};

const cnn_kernel_table* cnn_kernels_for_isa(cnn_isa isa);

/* The kernels. Scalar ones in kernels/f32-*-scalar.c, AVX2 ones in kernels/f32-*-avx2.c,
 * AVX-512 ones in kernels/f32-*-avx512.c. */
cnn_status cnn_f32_conv2d_scalar(cnn_context*, const cnn_conv2d_params*, int32_t, int32_t,
                                 const float*, const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_conv2d_avx2(cnn_context*, const cnn_conv2d_params*, int32_t, int32_t,
                               const float*, const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_conv2d_avx512(cnn_context*, const cnn_conv2d_params*, int32_t, int32_t,
                                 const float*, const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_pool2d_scalar(cnn_context*, const cnn_pool2d_params*, int32_t, int32_t,
                                 const float*, float*);
cnn_status cnn_f32_pool2d_avx2(cnn_context*, const cnn_pool2d_params*, int32_t, int32_t,
                               const float*, float*);
cnn_status cnn_f32_pool2d_avx512(cnn_context*, const cnn_pool2d_params*, int32_t, int32_t,
                                 const float*, float*);
cnn_status cnn_f32_gavgpool_scalar(cnn_context*, int64_t, int64_t, const float*, float*);
cnn_status cnn_f32_gavgpool_avx2(cnn_context*, int64_t, int64_t, const float*, float*);
cnn_status cnn_f32_batchnorm_scalar(cnn_context*, const cnn_batch_norm2d_params*, const float*,
                                    const float*, const float*, const float*, const float*,
                                    cnn_activation, float*);
cnn_status cnn_f32_batchnorm_avx2(cnn_context*, const cnn_batch_norm2d_params*, const float*,
                                  const float*, const float*, const float*, const float*,
                                  cnn_activation, float*);
cnn_status cnn_f32_batchnorm_avx512(cnn_context*, const cnn_batch_norm2d_params*, const float*,
                                    const float*, const float*, const float*, const float*,
                                    cnn_activation, float*);
cnn_status cnn_f32_activation_scalar(cnn_context*, cnn_activation, int64_t, const float*, float*);
cnn_status cnn_f32_activation_avx2(cnn_context*, cnn_activation, int64_t, const float*, float*);
cnn_status cnn_f32_linear_scalar(cnn_context*, int32_t, int32_t, int32_t, const float*,
                                 const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_linear_avx2(cnn_context*, int32_t, int32_t, int32_t, const float*, const float*,
                               const float*, cnn_activation, float*);
cnn_status cnn_f32_linear_avx512(cnn_context*, int32_t, int32_t, int32_t, const float*,
                                 const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_softmax_scalar(cnn_context*, int32_t, int32_t, int32_t, int32_t, const float*,
                                  float*);
cnn_status cnn_f32_softmax_avx2(cnn_context*, int32_t, int32_t, int32_t, int32_t, const float*,
                                float*);
cnn_status cnn_f32_add_scalar(cnn_context*, int64_t, const float*, const float*, cnn_activation,
                              float*);
cnn_status cnn_f32_add_avx2(cnn_context*, int64_t, const float*, const float*, cnn_activation,
                            float*);


/* Training kernels: cnn_f32_<op>_scalar in kernels/f32-<op>-scalar.c and cnn_f32_<op>_avx2 in
 * kernels/f32-<op>-avx2.c. Declared with their table type so a signature drift fails to compile. */
#define CNN_DECLARE_KERNEL(type, name) \
    extern type##_kernel_fn cnn_f32_##name##_scalar, cnn_f32_##name##_avx2
CNN_DECLARE_KERNEL(cnn_conv2d_backward_data, conv2d_backward_data);
CNN_DECLARE_KERNEL(cnn_conv2d_backward_weights, conv2d_backward_weights);
extern cnn_conv2d_backward_data_kernel_fn cnn_f32_conv2d_backward_data_avx512;
extern cnn_conv2d_backward_weights_kernel_fn cnn_f32_conv2d_backward_weights_avx512;
CNN_DECLARE_KERNEL(cnn_pool2d_backward, pool2d_backward);
CNN_DECLARE_KERNEL(cnn_global_average_pool2d_backward, gavgpool_backward);
CNN_DECLARE_KERNEL(cnn_batch_norm2d_training_forward, batchnorm_training);
CNN_DECLARE_KERNEL(cnn_batch_norm2d_backward, batchnorm_backward);
CNN_DECLARE_KERNEL(cnn_activation_backward, activation_backward);
CNN_DECLARE_KERNEL(cnn_activation_backward, activation_grad);
CNN_DECLARE_KERNEL(cnn_linear_backward_data, linear_backward_data);
CNN_DECLARE_KERNEL(cnn_linear_backward_weights, linear_backward_weights);
extern cnn_linear_backward_data_kernel_fn cnn_f32_linear_backward_data_avx512;
extern cnn_linear_backward_weights_kernel_fn cnn_f32_linear_backward_weights_avx512;
CNN_DECLARE_KERNEL(cnn_softmax_backward, softmax_backward);
CNN_DECLARE_KERNEL(cnn_cross_entropy, cross_entropy);
CNN_DECLARE_KERNEL(cnn_mse_loss, mse_loss);
CNN_DECLARE_KERNEL(cnn_dropout, dropout);
CNN_DECLARE_KERNEL(cnn_mul, mul);
CNN_DECLARE_KERNEL(cnn_axpy, axpy);
CNN_DECLARE_KERNEL(cnn_sum_squares, sum_squares);
CNN_DECLARE_KERNEL(cnn_sgd_step, sgd_step);
CNN_DECLARE_KERNEL(cnn_adam_step, adam_step);
CNN_DECLARE_KERNEL(cnn_rmsprop_step, rmsprop_step);
CNN_DECLARE_KERNEL(cnn_clip, clip);
CNN_DECLARE_KERNEL(cnn_clip_backward, clip_backward);
CNN_DECLARE_KERNEL(cnn_scale_shift, scale_shift);
/* Scalar only: a strided memcpy / add and a small pooling (see their files). */
extern cnn_copy_blocks_kernel_fn cnn_f32_copy_blocks_scalar;
extern cnn_broadcast_binary_kernel_fn cnn_f32_broadcast_binary_scalar;
extern cnn_adaptive_avg_pool2d_kernel_fn cnn_f32_adaptive_avgpool_scalar;
extern cnn_adaptive_avg_pool2d_backward_kernel_fn cnn_f32_adaptive_avgpool_backward_scalar;

/* Scalar activation of one value: the single definition every kernel's epilogue agrees with. */
float cnn_activation_scalar_apply(cnn_activation activation, float x);

/* Scalar gradient of one activation from its forward input x (f32-activation-grad-scalar.c). */
float cnn_activation_grad_scalar_apply(cnn_activation activation, float x, float g);

#endif /* CNN_INTERNAL_H */
