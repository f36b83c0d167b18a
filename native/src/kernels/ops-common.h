/*
 * ops-common.h — helpers shared by the scalar and AVX2 kernels of pooling and batch norm
 * (plain C, no intrinsics; defined in the scalar kernel files). Keeping one definition of each
 * per-window / per-channel formula means the AVX2 kernels agree with the reference bit for bit
 * wherever they fall back to it.
 */
#ifndef CNN_KERNELS_OPS_COMMON_H
#define CNN_KERNELS_OPS_COMMON_H

#include "cnn_internal.h"

/* Work a kernel aims to give one cnn_parallel_for chunk (in inner-loop steps). */
#define CNN_PARALLEL_GRAIN_WORK 16384

/* ------------------------------------------------------------------- element-wise jobs */

/* Argument block of the activation (b unused) and add kernels' cnn_parallel_for tasks. */
typedef struct cnn_elementwise_job {
    const float* a;
    const float* b;
    cnn_activation activation;
    float* output;
} cnn_elementwise_job;

/* Argument block of the global average pooling tasks (items = planes). */
typedef struct cnn_gavgpool_job {
    int64_t plane_size;
    const float* input;
    float* output;
} cnn_gavgpool_job;

/* ------------------------------------------------------------------------------ pool2d */

/* Everything a pooling task needs; rows are numbered plane * out_height + oh. */
typedef struct cnn_pool2d_plan {
    const cnn_pool2d_params* p;
    int32_t out_height;
    int32_t out_width;
    const float* input;
    float* output;
    float lp_exponent; /* LP: p */
    float lp_root;     /* LP: (float)(1.0 / p) */
    float lp_scale;    /* LP: kernel_height * kernel_width */
} cnn_pool2d_plan;

void cnn_pool2d_plan_init(cnn_pool2d_plan* plan, const cnn_pool2d_params* p, int32_t out_height,
                          int32_t out_width, const float* input, float* output);

/* Rows per cnn_parallel_for chunk so that one chunk does about CNN_PARALLEL_GRAIN_WORK taps. */
int64_t cnn_pool2d_row_grain(const cnn_pool2d_plan* plan);

/* x^e with torch's special cases for pow(tensor, scalar): e = 1, 2, 3, 0.5 exactly; else powf. */
float cnn_pool2d_lp_pow(float x, float e);

/* torch's LP epilogue for one window mean o: (sign(o) * relu(|o|) * kW*kH)^(1/p). */
float cnn_pool2d_lp_finish(const cnn_pool2d_plan* plan, float mean);

/* Computes outputs [ow_begin, ow_end) of one output row with the reference (scalar) formulas. */
void cnn_pool2d_row_scalar(const cnn_pool2d_plan* plan, int64_t row, int32_t ow_begin,
                           int32_t ow_end);

/* Interior columns [*ow_lo, *ow_hi) of the AVX2 pooling kernels (forward and backward; plain
 * integer arithmetic, inline here): ow*sw - pad >= 0 and the last float a block loads,
 * (ow*sw - pad) + (k-1)*dilation (+1 for the stride-2 double load), is inside the row. */
static inline void cnn_pool2d_interior_columns(const cnn_pool2d_params* p, int32_t out_width,
                                               int32_t* ow_lo, int32_t* ow_hi) {
    const int32_t sw = p->stride_width;
    const int64_t last_tap = (int64_t)(p->kernel_width - 1) * p->dilation_width + (sw == 2 ? 1 : 0);
    const int64_t limit = (int64_t)p->in_width - 1 - last_tap + p->pad_width;
    int64_t lo = ((int64_t)p->pad_width + sw - 1) / sw;
    int64_t hi = limit < 0 ? 0 : limit / sw + 1;
    if (lo > out_width) lo = out_width;
    if (hi > out_width) hi = out_width;
    if (hi < lo) hi = lo;
    *ow_lo = (int32_t)lo;
    *ow_hi = (int32_t)hi;
}

/* Vertical extent of the window of output row oh (same rules as torch's CPU kernels):
 *  max:    taps ih = begin, begin + dilation, ... < end (all inside the input);
 *  avg/LP: ih in [begin, end) clamped to the input, pool_extent = unclamped window height
 *          (hend - hstart with hend = min(hstart + k, H + pad), before clamping). */
typedef struct cnn_pool2d_extent {
    int32_t begin;
    int32_t end;
    int32_t pool_extent;
} cnn_pool2d_extent;

cnn_pool2d_extent cnn_pool2d_window(cnn_pool_kind kind, int32_t o, int32_t stride, int32_t pad,
                                    int32_t kernel, int32_t dilation, int32_t in_size);

/* ------------------------------------------------------------------------ pool2d backward */

/* Everything a pooling-backward task needs (defined in f32-pool2d-backward-scalar.c). */
typedef struct cnn_pool2d_backward_plan {
    cnn_pool2d_plan plan; /* plan.output unused */
    const float* grad_output;
    float* grad_input;
    int32_t accumulate;
    int32_t use_scratch;  /* build each plane in per-thread scratch, then add / transform */
    float* scratch;       /* chunks * in_height * in_width floats */
    float lp_root_factor; /* (float)(1/p) */
    double lp_root_exp;   /* 1/p - 1 */
    float lp_pow_factor;  /* p */
    double lp_pow_exp;    /* p - 1 */
    int64_t grain;        /* planes per chunk */
    /* adds output row oh of `plane` into the plane buffer `target` (per ISA) */
    void (*row)(const struct cnn_pool2d_backward_plan* b, int64_t plane, int32_t oh,
                float* target);
    const void* isa_data; /* the row function's own data */
} cnn_pool2d_backward_plan;

/* torch's float tensor.pow(e) with its special-cased exponents (e compared in double). */
float cnn_pool2d_torch_pow(float x, double e);
/* Whether one input element can be in several windows (stride < window extent). */
int cnn_pool2d_windows_overlap(const cnn_pool2d_params* p);
void cnn_pool2d_backward_plan_init(cnn_pool2d_backward_plan* b, const cnn_pool2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* grad_output, int32_t accumulate,
                                   float* grad_input);
/* Outputs [ow_begin, ow_end) of output row oh of `plane`, added into the plane buffer `target`
 * in ow order (the AVX2 kernel uses it for borders). */
void cnn_pool2d_backward_row_scalar(const cnn_pool2d_backward_plan* b, int64_t plane, int32_t oh,
                                    int32_t ow_begin, int32_t ow_end, float* target);
void cnn_pool2d_backward_finish_scalar(const cnn_pool2d_backward_plan* b, int64_t plane,
                                       const float* fresh);
/* Gets the scratch if needed and runs every plane through b->row (zeroing / adding / the LP
 * factor handled here). */
cnn_status cnn_pool2d_backward_run(cnn_context* ctx, cnn_pool2d_backward_plan* b);

/* --------------------------------------------------------------------- training reductions */

/* Deterministic reductions: partial sums over fixed blocks of CNN_REDUCE_BLOCK elements (never
 * over thread chunks), combined in index order, so results do not depend on the thread count. */
#define CNN_REDUCE_BLOCK 4096

/* Element-wise training kernels' job (activation backward, gavgpool backward). */
typedef struct cnn_backward_job {
    const float* y;      /* forward output (activation) */
    const float* grad;   /* grad_output */
    float* grad_input;
    int64_t plane_size;  /* gavgpool */
    cnn_activation activation;
    int32_t accumulate;
} cnn_backward_job;

/* MSE loss: one task handles whole CNN_REDUCE_BLOCK blocks, writing partial[block] = sum of
 * (p - t)^2 over it (double) and, if grad is set, grad[i] = norm * (p - t). */
typedef struct cnn_mse_job {
    int64_t count;
    const float *p, *t;
    float* grad;
    float norm;
    double* partial;
} cnn_mse_job;

/* Shared MSE driver (f32-mse-loss-scalar.c): gets the per-block scratch, runs `task` over the
 * blocks with the given grain, then loss = (sum of partials in block order) / count. */
cnn_status cnn_mse_loss_run(cnn_context* ctx, int64_t count, const float* prediction,
                            const float* target, float* out_loss, float* grad_prediction,
                            int64_t grain, cnn_task_fn task);

/* ------------------------------------------------------------------------- batch norm */

/* Batch norm work items are (plane, segment of at most CNN_BATCHNORM_SEGMENT elements) pairs,
 * so that one large plane still splits across threads. */
#define CNN_BATCHNORM_SEGMENT 4096

typedef struct cnn_batchnorm_split {
    int64_t plane_size; /* height * width */
    int64_t segments;   /* per plane */
    int64_t items;      /* batch * channels * segments */
} cnn_batchnorm_split;

/* The split of p, and the cnn_parallel_for grain giving about `work` elements per chunk. */
cnn_batchnorm_split cnn_batchnorm_split_of(const cnn_batch_norm2d_params* p, int64_t work,
                                           int64_t* grain);

/* Item -> its channel, first element index and element count. */
void cnn_batchnorm_item(const cnn_batchnorm_split* split, int64_t channels, int64_t item,
                        int64_t* channel, int64_t* first, int64_t* count);

/* torch's eval-mode affine form: alpha = weight / sqrt(var + eps), beta = bias - mean * alpha,
 * so that y = x * alpha + beta (weight NULL = 1, bias NULL = 0). */
void cnn_batchnorm_channel_affine(const cnn_batch_norm2d_params* p, const float* mean,
                                  const float* var, const float* weight, const float* bias,
                                  int64_t channel, float* alpha, float* beta);

/* Batch norm training / backward: per-item (plane segment) partial sums in double, combined per
 * channel in item order (thread-count independent), then an element-wise pass. The scalar and
 * AVX2 kernels share the driver (f32-batchnorm-training-scalar.c) and differ in these hooks. */
typedef struct cnn_batchnorm_train_job {
    const cnn_batch_norm2d_params* p;
    cnn_batchnorm_split split;
    int64_t channels;
    const float* input;
    const float* grad_output; /* backward */
    float* output;            /* forward output / backward grad_input */
    int32_t accumulate;
    int32_t batch_statistics;
    const double* shift;      /* forward: per-channel shift for the sums */
    double* partial;          /* 2 per item */
    const float* alpha;       /* per channel: forward y = x*alpha + beta */
    const float* beta;
    const float* mean;        /* backward: per channel */
    const float* k;           /* backward: dotp * invstd^2 / m */
    const float* grad_mean;   /* backward: sum(dy) / m */
    const float* scale_a;     /* backward: invstd */
    const float* scale_b;     /* backward: weight (1 if none) */
    const struct cnn_batchnorm_train_hooks* hooks;
} cnn_batchnorm_train_job;

typedef struct cnn_batchnorm_train_hooks {
    /* partial[2*item] = sum (x - shift), partial[2*item+1] = sum (x - shift)^2 */
    void (*stats)(const cnn_batchnorm_train_job* job, const float* x, int64_t n, double shift,
                  double* out2);
    /* y = x * alpha + beta */
    void (*normalize)(const float* x, int64_t n, float alpha, float beta, float* y);
    /* out2 = { sum dy, sum dy * (x - mean) } */
    void (*grad_stats)(const float* x, const float* dy, int64_t n, float mean, double* out2);
    /* dx (=, +=) batch_statistics ? (dy - grad_mean - (x - mean) * k) * invstd * w
     *                              : dy * invstd * w */
    void (*grad_input)(const cnn_batchnorm_train_job* job, const float* x, const float* dy,
                       int64_t n, int64_t channel, float* dx);
} cnn_batchnorm_train_hooks;

/* Zeroes *job and fills in what the training and backward drivers share (p, split, channels,
 * input, output, hooks); returns the cnn_parallel_for grain through *grain
 * (f32-batchnorm-training-scalar.c). */
void cnn_batchnorm_train_job_init(cnn_batchnorm_train_job* job, const cnn_batch_norm2d_params* p,
                                  const float* input, float* output,
                                  const cnn_batchnorm_train_hooks* hooks, int64_t* grain);

/* Sums of the partial pairs (job->partial) of channel c's items, in item order. */
void cnn_batchnorm_channel_sums(const cnn_batchnorm_train_job* job, int64_t c, double* s1,
                                double* s2);

/* Elements per cnn_parallel_for chunk of the batch norm kernels (forward too): small tensors are
 * memory-bound and not worth waking a second thread for. */
#define CNN_BATCHNORM_GRAIN_ELEMENTS (1 << 16)

cnn_status cnn_batchnorm_training_run(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                      const float* input, const float* weight, const float* bias,
                                      float momentum, float* running_mean, float* running_var,
                                      float* save_mean, float* save_invstd, float* output,
                                      const cnn_batchnorm_train_hooks* hooks);
cnn_status cnn_batchnorm_backward_run(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                      const float* input, const float* grad_output,
                                      const float* weight, const float* mean, const float* invstd,
                                      int32_t batch_statistics, int32_t accumulate,
                                      float* grad_input, float* grad_weight, float* grad_bias,
                                      const cnn_batchnorm_train_hooks* hooks);

#endif
