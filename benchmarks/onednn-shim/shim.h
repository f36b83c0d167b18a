/*
 * cnnbench_onednn: a thin C wrapper over oneDNN (Debian's libdnnl 2.x, C API) that the benchmark
 * suite calls side by side with CnnNative on the same shapes and thread counts. It is a PEER FOR
 * MEASUREMENT ONLY: the CnnNative library never links or loads it.
 *
 * Signatures are blittable (int32_t/int64_t/float/pointers, no bool, no char* inputs) so the
 * benchmark project can call them through plain P/Invoke. Every function returns 0 on success or a
 * non-zero status (a dnnl_status_t, or -1 for an invalid argument); shim_last_error() tells why.
 *
 * Threading: Debian builds oneDNN with DNNL_CPU_RUNTIME=OMP (libdnnl.so links libgomp). The number
 * of threads is OpenMP's nthreads ICV of the calling thread: shim_set_threads() sets it
 * (omp_set_num_threads) for the thread that then creates and runs primitives. Each handle records
 * the count in force when it was created and re-applies it in shim_run(), so a handle always runs
 * with the threads it was created (and tuned) for.
 */
#ifndef CNNBENCH_ONEDNN_SHIM_H
#define CNNBENCH_ONEDNN_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHIM_API __attribute__((visibility("default")))

/** A sliding window (2-D): kernel, stride and symmetric zero padding (top = bottom, left = right). */
typedef struct shim_window {
    int32_t kernel_h;
    int32_t kernel_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h;
    int32_t pad_w;
} shim_window;

/** A 2-D convolution, no bias, dilation 1. Input NCHW, weight OIHW ([out, in/groups, kh, kw]). */
typedef struct shim_conv_desc {
    int32_t batch;
    int32_t in_channels;
    int32_t in_height;
    int32_t in_width;
    int32_t out_channels;
    int32_t groups;
    shim_window window;
    const float* input;  /* copied (and reordered) at create time */
    const float* weight; /* copied (and reordered) at create time */
} shim_conv_desc;

/** Max pooling (2-D), input NCHW (as handed over), padded elements never win (as in torch). */
typedef struct shim_pool_desc {
    int32_t batch;
    int32_t channels;
    int32_t in_height;
    int32_t in_width;
    shim_window window;
    const float* input; /* copied at create time */
} shim_pool_desc;

/** Batch norm, inference (running statistics), with scale and shift. Input NCHW (as handed over). */
typedef struct shim_bn_desc {
    int32_t batch;
    int32_t channels;
    int32_t height;
    int32_t width;
    float eps;
    const float* input; /* copied at create time */
    const float* mean;  /* [channels] */
    const float* var;   /* [channels] */
    const float* gamma; /* [channels] */
    const float* beta;  /* [channels] */
} shim_bn_desc;

/** Sets the OpenMP thread count of the calling thread (1 ... 1024). */
SHIM_API int32_t shim_set_threads(int32_t threads);

/** The OpenMP thread count of the calling thread (omp_get_max_threads). */
SHIM_API int32_t shim_get_threads(void);

/**
 * Creates a convolution. oneDNN chooses the layouts it prefers for input, weight and output
 * (format_tag any) and the input and weight are reordered into them here, once: shim_run() then
 * times the convolution alone, on data already in oneDNN's blocked layout. That is oneDNN's best
 * case (a network kept in blocked layout end to end, no reorders per call).
 */
SHIM_API int32_t shim_conv_create(const shim_conv_desc* desc, void** handle);

/**
 * Creates a max pooling. Like the convolution, it runs on oneDNN's blocked layout (nChw16c with
 * AVX-512, else nChw8c: what its convolutions produce), the input reordered once here.
 */
SHIM_API int32_t shim_pool_create(const shim_pool_desc* desc, void** handle);

/** Creates an inference batch norm, on the blocked layout as shim_pool_create. */
SHIM_API int32_t shim_bn_create(const shim_bn_desc* desc, void** handle);

/** Runs the primitive once and waits for it (the timed call). */
SHIM_API int32_t shim_run(void* handle);

/** Copies the last output into dst as plain NCHW (reordering if needed); count = its elements. */
SHIM_API int32_t shim_read_output(void* handle, float* dst, int64_t count);

/** Writes oneDNN's implementation name (e.g. "jit:avx512_core") into buffer, NUL-terminated. */
SHIM_API int32_t shim_impl_info(void* handle, char* buffer, int32_t capacity);

/** Writes the oneDNN version ("2.6.3") and CPU runtime into buffer, NUL-terminated. */
SHIM_API int32_t shim_version(char* buffer, int32_t capacity);

/** The message of the last failure on this thread ("" if none). */
SHIM_API const char* shim_last_error(void);

/** Releases a handle (NULL is ignored). */
SHIM_API void shim_destroy(void* handle);

#ifdef __cplusplus
}
#endif

#endif
