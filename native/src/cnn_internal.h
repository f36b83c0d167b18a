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

#define CNN_MAX_THREADS 256
/* Largest allocation we accept (64 TiB): far above any real tensor, low enough that
 * element-count * sizeof(float) can never overflow int64 arithmetic. */
#define CNN_MAX_ALLOC_BYTES (INT64_C(1) << 46)

/* ---------------------------------------------------------------- errors (core/error.c) */

/* Formats a message into the thread-local error slot and returns `status` (never SUCCESS). */
cnn_status cnn_set_error(cnn_status status, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

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
    CNN_CHECK_RANGE("activation", (int)(act), CNN_ACTIVATION_NONE, CNN_ACTIVATION_TANH)

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
};

/* Scratch memory of a context, at least `bytes` long, 64-byte aligned, contents undefined.
 * Reused across calls (steady state allocates nothing). On failure returns NULL after setting
 * CNN_STATUS_OUT_OF_MEMORY. Kernels partition it among threads themselves. */
void* cnn_context_scratch(cnn_context* context, size_t bytes);

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
};

const cnn_kernel_table* cnn_kernels_for_isa(cnn_isa isa);

/* The kernels. Scalar ones in kernels/f32-*-scalar.c, AVX2 ones in kernels/f32-*-avx2.c. */
cnn_status cnn_f32_conv2d_scalar(cnn_context*, const cnn_conv2d_params*, int32_t, int32_t,
                                 const float*, const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_conv2d_avx2(cnn_context*, const cnn_conv2d_params*, int32_t, int32_t,
                               const float*, const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_pool2d_scalar(cnn_context*, const cnn_pool2d_params*, int32_t, int32_t,
                                 const float*, float*);
cnn_status cnn_f32_pool2d_avx2(cnn_context*, const cnn_pool2d_params*, int32_t, int32_t,
                               const float*, float*);
cnn_status cnn_f32_gavgpool_scalar(cnn_context*, int64_t, int64_t, const float*, float*);
cnn_status cnn_f32_gavgpool_avx2(cnn_context*, int64_t, int64_t, const float*, float*);
cnn_status cnn_f32_batchnorm_scalar(cnn_context*, const cnn_batch_norm2d_params*, const float*,
                                    const float*, const float*, const float*, const float*,
                                    cnn_activation, float*);
cnn_status cnn_f32_batchnorm_avx2(cnn_context*, const cnn_batch_norm2d_params*, const float*,
                                  const float*, const float*, const float*, const float*,
                                  cnn_activation, float*);
cnn_status cnn_f32_activation_scalar(cnn_context*, cnn_activation, int64_t, const float*, float*);
cnn_status cnn_f32_activation_avx2(cnn_context*, cnn_activation, int64_t, const float*, float*);
cnn_status cnn_f32_linear_scalar(cnn_context*, int32_t, int32_t, int32_t, const float*,
                                 const float*, const float*, cnn_activation, float*);
cnn_status cnn_f32_linear_avx2(cnn_context*, int32_t, int32_t, int32_t, const float*, const float*,
                               const float*, cnn_activation, float*);
cnn_status cnn_f32_softmax_scalar(cnn_context*, int32_t, int32_t, int32_t, int32_t, const float*,
                                  float*);
cnn_status cnn_f32_softmax_avx2(cnn_context*, int32_t, int32_t, int32_t, int32_t, const float*,
                                float*);
cnn_status cnn_f32_add_scalar(cnn_context*, int64_t, const float*, const float*, cnn_activation,
                              float*);
cnn_status cnn_f32_add_avx2(cnn_context*, int64_t, const float*, const float*, cnn_activation,
                            float*);

/* Scalar activation of one value: the single definition every kernel's epilogue agrees with. */
float cnn_activation_scalar_apply(cnn_activation activation, float x);

#endif /* CNN_INTERNAL_H */
