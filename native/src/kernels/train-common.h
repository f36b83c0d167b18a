/*
 * train-common.h — what the scalar and AVX2 kernels of dropout, mul, axpy, sum_squares and the
 * optimizer steps share (plain C, no intrinsics). Every scalar coefficient an update uses is
 * derived here, once, the way torch.optim derives it (Python doubles, then rounded to float when
 * it meets a float32 tensor), so both kernel families use bit-identical constants. The AVX2
 * kernels perform the same float operations in the same order (fma where ATen's kernels fuse:
 * add(alpha), add_(alpha) and addcmul_, checked against torch 1.13 bit for bit), so they agree
 * with the reference bit for bit.
 */
#ifndef CNN_KERNELS_TRAIN_COMMON_H
#define CNN_KERNELS_TRAIN_COMMON_H

#include <math.h>
#include <stdint.h>

#include "cnn_internal.h"

/* Elements per cnn_parallel_for chunk: tensors below this stay on the calling thread. */
#define CNN_TRAIN_GRAIN INT64_C(65536)

/* sum_squares: the sum is taken over fixed blocks of this many elements, combined in block
 * order, so the result does not depend on the thread count. */
#define CNN_SUM_SQUARES_BLOCK INT64_C(16384)

/* ----------------------------------------------------------------------------- dropout */

/* uniform(seed, i) = (mix(key + i * GAMMA) >> 40) * 2^-24 with key = mix(seed + GAMMA), where
 * mix is SplitMix64's output function: element i's draw is the (i+1)-th SplitMix64 output of a
 * stream keyed by the seed, a pure function of (seed, i), so any split gives the same mask. */
#define CNN_SPLITMIX64_GAMMA UINT64_C(0x9E3779B97F4A7C15)
#define CNN_SPLITMIX64_M1 UINT64_C(0xBF58476D1CE4E5B9)
#define CNN_SPLITMIX64_M2 UINT64_C(0x94D049BB133111EB)

static inline uint64_t cnn_splitmix64_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * CNN_SPLITMIX64_M1;
    z = (z ^ (z >> 27)) * CNN_SPLITMIX64_M2;
    return z ^ (z >> 31);
}

typedef struct cnn_dropout_job {
    uint64_t key;
    /* element i is dropped iff its 24-bit draw k < threshold, i.e. k * 2^-24 < p exactly */
    int32_t threshold;
    float scale; /* torch: noise.div_(1 - p) -> 1.0f / (float)(1 - p) */
    const float* input;
    float* mask;
    float* output;
} cnn_dropout_job;

static inline cnn_dropout_job cnn_dropout_job_make(float p, int64_t seed, const float* input,
                                                   float* mask, float* output) {
    cnn_dropout_job job;
    job.key = cnn_splitmix64_mix((uint64_t)seed + CNN_SPLITMIX64_GAMMA);
    job.threshold = (int32_t)ceil((double)p * 16777216.0); /* p in [0, 1): <= 2^24 - 1 */
    job.scale = 1.0f / (float)(1.0 - (double)p);
    job.input = input;
    job.mask = mask;
    job.output = output;
    return job;
}

/* The 24-bit draw of element i. */
static inline int32_t cnn_dropout_bits(uint64_t key, int64_t i) {
    return (int32_t)(cnn_splitmix64_mix(key + (uint64_t)i * CNN_SPLITMIX64_GAMMA) >> 40);
}

/* ----------------------------------------------------------------- mul, axpy, sum_squares */

typedef struct cnn_mul_job {
    const float* a;
    const float* b;
    float* output;
} cnn_mul_job;

typedef struct cnn_axpy_job {
    float alpha;
    const float* x;
    float* y; /* y = fma(x, alpha, y), as ATen's add_(x, alpha=alpha) */
} cnn_axpy_job;

/* Sum of x[i]^2 over one block of n elements, in double precision. */
typedef double (*cnn_sum_squares_block_fn)(const float* x, int64_t n);

typedef struct cnn_sum_squares_job {
    const float* x;
    int64_t count;
    double* partial; /* [blocks] */
    cnn_sum_squares_block_fn block_sum;
} cnn_sum_squares_job;

static inline int64_t cnn_sum_squares_blocks(int64_t count) {
    return (count + CNN_SUM_SQUARES_BLOCK - 1) / CNN_SUM_SQUARES_BLOCK;
}

/* Runs block_sum over the fixed blocks (on threads when there are several) and adds the
 * partial sums in block order. */
cnn_status cnn_sum_squares_run(cnn_context* ctx, int64_t count, const float* x,
                               cnn_sum_squares_block_fn block_sum, double* out_sum);

/* ------------------------------------------------------------------------ optimizer steps */

/* SGD (torch.optim.SGD, _single_tensor_sgd):
 *   d = grad.add(param, alpha=wd)                      if wd != 0     d = fma(p, wd, g)
 *   buf = clone(d) at step 1, else buf.mul_(mom).add_(d, alpha=1-dampening)
 *                                                                     buf = fma(d, 1-damp, buf*mom)
 *   d = d.add(buf, alpha=mom) if nesterov else buf                    d = fma(buf, mom, d)
 *   param.add_(d, alpha=-lr)                                          p = fma(d, -lr, p) */
typedef struct cnn_sgd_job {
    float weight_decay, momentum, one_minus_dampening, neg_lr;
    int32_t has_weight_decay, has_momentum, first_step, nesterov;
    float* parameter;
    const float* grad;
    float* momentum_buffer;
} cnn_sgd_job;

static inline cnn_sgd_job cnn_sgd_job_make(const cnn_sgd_params* p, int64_t step, float* parameter,
                                           const float* grad, float* momentum_buffer) {
    cnn_sgd_job job;
    job.weight_decay = p->weight_decay;
    job.momentum = p->momentum;
    job.one_minus_dampening = (float)(1.0 - (double)p->dampening);
    job.neg_lr = (float)(-(double)p->learning_rate);
    job.has_weight_decay = p->weight_decay != 0.0f;
    job.has_momentum = p->momentum != 0.0f;
    job.first_step = step == 1;
    job.nesterov = p->nesterov != 0;
    job.parameter = parameter;
    job.grad = grad;
    job.momentum_buffer = momentum_buffer;
    return job;
}

/* Adam / AdamW (torch.optim.Adam / AdamW, _single_tensor_adam[w], amsgrad off):
 *   AdamW: param.mul_(1 - lr*wd)                                      p = p * decay
 *   Adam:  grad = grad.add(param, alpha=wd) if wd != 0                g = fma(p, wd, g)
 *   exp_avg.mul_(b1).add_(grad, alpha=1-b1)                           m = fma(g, 1-b1, m*b1)
 *   exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1-b2)              v = fma((1-b2)*g, g, v*b2)
 *   denom = (exp_avg_sq.sqrt() / sqrt(1 - b2^step)).add_(eps)         d = sqrt(v)/bc2_sqrt + eps
 *   param.addcdiv_(exp_avg, denom, value=-lr/(1 - b1^step))           p = p + (-step_size*m)/d */
typedef struct cnn_adam_job {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float bias_correction2_sqrt, epsilon, neg_step_size;
    float weight_decay, decay; /* Adam: L2 coefficient; AdamW: multiplier 1 - lr*wd */
    int32_t l2, decoupled;
    float* parameter;
    const float* grad;
    float* exp_avg;
    float* exp_avg_sq;
} cnn_adam_job;

static inline cnn_adam_job cnn_adam_job_make(const cnn_adam_params* p, int64_t step,
                                             float* parameter, const float* grad, float* exp_avg,
                                             float* exp_avg_sq) {
    const double b1 = p->beta1, b2 = p->beta2, lr = p->learning_rate;
    cnn_adam_job job;
    job.beta1 = p->beta1;
    job.one_minus_beta1 = (float)(1.0 - b1);
    job.beta2 = p->beta2;
    job.one_minus_beta2 = (float)(1.0 - b2);
    job.bias_correction2_sqrt = (float)sqrt(1.0 - pow(b2, (double)step));
    job.epsilon = p->epsilon;
    job.neg_step_size = (float)(-(lr / (1.0 - pow(b1, (double)step))));
    job.weight_decay = p->weight_decay;
    job.decay = (float)(1.0 - lr * (double)p->weight_decay);
    job.decoupled = p->decoupled_weight_decay != 0;
    job.l2 = !job.decoupled && p->weight_decay != 0.0f;
    job.parameter = parameter;
    job.grad = grad;
    job.exp_avg = exp_avg;
    job.exp_avg_sq = exp_avg_sq;
    return job;
}

/* RMSprop (torch.optim.RMSprop, _single_tensor_rmsprop, centered off):
 *   grad = grad.add(param, alpha=wd) if wd != 0                       g = fma(p, wd, g)
 *   square_avg.mul_(alpha).addcmul_(grad, grad, value=1-alpha)        s = fma((1-alpha)*g, g,
 * s*alpha) avg = square_avg.sqrt().add_(eps)                                 a = sqrt(s) + eps
 *   momentum > 0: buf.mul_(mom).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
 *                                                                     b = b*mom + g/a; p = fma(b,
 * -lr, p) else:         param.addcdiv_(grad, avg, value=-lr)                p = p + (-lr*g)/a */
typedef struct cnn_rmsprop_job {
    float alpha, one_minus_alpha, epsilon, weight_decay, momentum, neg_lr;
    int32_t has_weight_decay, has_momentum;
    float* parameter;
    const float* grad;
    float* square_avg;
    float* momentum_buffer;
} cnn_rmsprop_job;

static inline cnn_rmsprop_job cnn_rmsprop_job_make(const cnn_rmsprop_params* p, float* parameter,
                                                   const float* grad, float* square_avg,
                                                   float* momentum_buffer) {
    cnn_rmsprop_job job;
    job.alpha = p->alpha;
    job.one_minus_alpha = (float)(1.0 - (double)p->alpha);
    job.epsilon = p->epsilon;
    job.weight_decay = p->weight_decay;
    job.momentum = p->momentum;
    job.neg_lr = (float)(-(double)p->learning_rate);
    job.has_weight_decay = p->weight_decay != 0.0f;
    job.has_momentum = p->momentum > 0.0f;
    job.parameter = parameter;
    job.grad = grad;
    job.square_avg = square_avg;
    job.momentum_buffer = momentum_buffer;
    return job;
}

/* Defines `static void <name>(void*, begin, end, thread)`, a cnn_parallel_for task that runs
 * LOOP(job, begin, end) on a `const <job_type>*` argument (LOOP is the per-ISA element loop). */
#define CNN_TRAIN_TASK(name, job_type, LOOP)                                        \
    static void name(void* arg, int64_t begin, int64_t end, int32_t thread_index) { \
        (void)thread_index;                                                         \
        const job_type* job = (const job_type*)arg;                                 \
        LOOP(job, begin, end);                                                      \
    }

#endif
