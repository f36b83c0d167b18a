/* f32-gemm.h — private declarations shared by the GEMM-based kernels (conv2d, linear) of every
 * vector ISA: the micro-kernel contract, the micro-kernels, and the conv2d driver they plug into. */
#ifndef CNN_F32_GEMM_H
#define CNN_F32_GEMM_H

#include <stddef.h>

#include "cnn_internal.h"
#include "f32-conv2d-direct.h"

#define CNN_F32_GEMM_MR 6
#define CNN_F32_GEMM_NR 16

/* Epilogue of one GEMM tile: c = act([c +] a*b + bias_row[i] + bias_col[j]). Either bias may be
 * NULL; accumulate = 1 adds the product to what C holds (backward passes: gradient accumulation,
 * partial sums over pixel tiles), 0 overwrites C. */
typedef struct cnn_f32_gemm_epilogue {
    const float* bias_row; /* one value per row of the tile (conv: per output channel) */
    const float* bias_col; /* one value per column of the tile (linear: per output feature) */
    cnn_activation activation;
    int32_t accumulate;
} cnn_f32_gemm_epilogue;

/*
 * One register tile of C = A * B (mr <= 6 rows, nr <= 16 columns, k >= 1):
 *   A: row-major, row i at a + i*lda (read as broadcasts; not packed)
 *   B: row-major k x nr, row kk at b + kk*ldb (16 contiguous floats per row; only the first nr
 *      are read, so B may be an unpadded matrix or a packed 16-wide panel with ldb = 16)
 *   C: row i at c + i*ldc; only mr x nr elements are written.
 * The products are accumulated with FMA in increasing kk.
 */
typedef void cnn_f32_gemm_fn(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                             const float* b, size_t ldb, float* c, size_t ldc,
                             const cnn_f32_gemm_epilogue* epilogue);

/* The same with an indirect B: row kk of B at b + b_offsets[kk] (implicit-GEMM convolution,
 * where row (ic, kh, kw) is a shifted view of the zero-padded input). */
typedef void cnn_f32_igemm_fn(size_t mr, size_t nr, size_t k, const float* a, size_t lda,
                              const float* b, const int64_t* b_offsets, float* c, size_t ldc,
                              const cnn_f32_gemm_epilogue* epilogue);

/* The AVX2 tile (f32-gemm-6x16-avx2.c). */
cnn_f32_gemm_fn cnn_f32_gemm_6x16_avx2;
cnn_f32_igemm_fn cnn_f32_igemm_6x16_avx2;

/* The AVX-512 tile: the same contract with mr <= 8 rows and nr <= 32 columns (B rows hold 32
 * floats; only the first nr are read). f32-gemm-8x32-avx512.c. */
#define CNN_F32_GEMM_AVX512_MR 8
#define CNN_F32_GEMM_AVX512_NR 32
cnn_f32_gemm_fn cnn_f32_gemm_8x32_avx512;
cnn_f32_igemm_fn cnn_f32_igemm_8x32_avx512;

/* A micro-kernel pair as the conv2d driver sees it: its tile (mr rows = output channels,
 * nr columns = output pixels) and its direct and indirect entry points. */
typedef struct cnn_f32_gemm_ukernel {
    int32_t mr;
    int32_t nr;
    cnn_f32_gemm_fn* gemm;
    cnn_f32_igemm_fn* igemm;
    /* Optional (NULL: a scalar loop): dst[i] = src[i*stride] for i < n, stride >= 2, reading
     * nothing past src[(n-1)*stride] (im2col rows of strided convs). */
    void (*copy_strided)(float* dst, const float* src, int64_t n, int64_t stride);
} cnn_f32_gemm_ukernel;

/* The descriptors of the two tiles, defined beside their micro-kernels (the AVX2 one with its
 * strided copy, the AVX-512 one without: conv2d forward adds its own); the linear and
 * conv-backward drivers use these and ignore the strided copy. */
extern const cnn_f32_gemm_ukernel cnn_f32_ukernel_6x16_avx2;
extern const cnn_f32_gemm_ukernel cnn_f32_ukernel_8x32_avx512;

/* Valid outputs i in [0, run) of a conv row: 0 <= i0 + i*stride < size, as [*lo, *hi)
 * (im2col of the forward and backward conv kernels). */
static inline void cnn_conv_valid_range(int64_t i0, int64_t stride, int64_t size, int64_t run,
                                        int64_t* lo, int64_t* hi) {
    int64_t l, h;
    if (stride == 1) { /* the common case, without divisions */
        l = i0 >= 0 ? 0 : -i0;
        h = size - i0 > 0 ? size - i0 : 0;
    } else {
        l = i0 >= 0 ? 0 : (-i0 + stride - 1) / stride;
        h = size - i0 > 0 ? (size - i0 + stride - 1) / stride : 0;
    }
    if (l > run) l = run;
    if (h > run) h = run;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* Convolution (not depthwise) as GEMM over the given micro-kernel: direct for 1x1, indirect
 * (implicit GEMM) for stride 1, im2col panels otherwise; f32-conv2d-gemm.c (plain C, shared by
 * the AVX2 and AVX-512 conv2d kernels). */
cnn_status cnn_f32_conv2d_gemm(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                               int32_t out_width, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output,
                               const cnn_f32_gemm_ukernel* ukernel);

/* Convolution gradients (not depthwise: those run AVX2 loops) as GEMMs over the given
 * micro-kernel; f32-conv2d-backward-avx2.c, see there. The results depend on the micro-kernel
 * but never on the thread count. */
cnn_status cnn_f32_conv2d_backward_data_gemm(cnn_context* ctx, const cnn_conv2d_params* p,
                                             int32_t out_height, int32_t out_width,
                                             const float* grad_output, const float* weight,
                                             int32_t accumulate, float* grad_input,
                                             const cnn_f32_gemm_ukernel* ukernel);
cnn_status cnn_f32_conv2d_backward_weights_gemm(cnn_context* ctx, const cnn_conv2d_params* p,
                                                int32_t out_height, int32_t out_width,
                                                const float* input, const float* grad_output,
                                                int32_t accumulate, float* grad_weight,
                                                float* grad_bias,
                                                const cnn_f32_gemm_ukernel* ukernel);

/* The table entries cnn_f32_conv2d_backward_{data,weights}_<ISA> of one micro-kernel. */
#define CNN_F32_CONV2D_BACKWARD_ENTRIES(ISA, UKERNEL)                                              \
    cnn_status cnn_f32_conv2d_backward_weights_##ISA(                                              \
        cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height, int32_t out_width,       \
        const float* input, const float* grad_output, int32_t accumulate, float* grad_weight,      \
        float* grad_bias) {                                                                        \
        return cnn_f32_conv2d_backward_weights_gemm(ctx, p, out_height, out_width, input,          \
                                                    grad_output, accumulate, grad_weight,          \
                                                    grad_bias, &(UKERNEL));                        \
    }                                                                                              \
    cnn_status cnn_f32_conv2d_backward_data_##ISA(                                                 \
        cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height, int32_t out_width,       \
        const float* grad_output, const float* weight, int32_t accumulate, float* grad_input) {    \
        return cnn_f32_conv2d_backward_data_gemm(ctx, p, out_height, out_width, grad_output,       \
                                                 weight, accumulate, grad_input, &(UKERNEL));      \
    }

/* Fully connected gradients as GEMMs over the given micro-kernel (bias: AVX2 vector sums);
 * f32-linear-backward-avx2.c. Results depend on the micro-kernel, never on the thread count. */
cnn_status cnn_f32_linear_backward_data_gemm(cnn_context* ctx, int32_t batch, int32_t in_features,
                                             int32_t out_features, const float* grad_output,
                                             const float* weight, int32_t accumulate,
                                             float* grad_input,
                                             const cnn_f32_gemm_ukernel* ukernel);
cnn_status cnn_f32_linear_backward_weights_gemm(cnn_context* ctx, int32_t batch,
                                                int32_t in_features, int32_t out_features,
                                                const float* input, const float* grad_output,
                                                int32_t accumulate, float* grad_weight,
                                                float* grad_bias,
                                                const cnn_f32_gemm_ukernel* ukernel);

/* The table entries cnn_f32_linear_backward_{data,weights}_<ISA> of one micro-kernel. */
#define CNN_F32_LINEAR_BACKWARD_ENTRIES(ISA, UKERNEL)                                              \
    cnn_status cnn_f32_linear_backward_data_##ISA(                                                 \
        cnn_context* ctx, int32_t batch, int32_t in_features, int32_t out_features,                \
        const float* grad_output, const float* weight, int32_t accumulate, float* grad_input) {    \
        return cnn_f32_linear_backward_data_gemm(ctx, batch, in_features, out_features,            \
                                                 grad_output, weight, accumulate, grad_input,      \
                                                 &(UKERNEL));                                      \
    }                                                                                              \
    cnn_status cnn_f32_linear_backward_weights_##ISA(                                              \
        cnn_context* ctx, int32_t batch, int32_t in_features, int32_t out_features,                \
        const float* input, const float* grad_output, int32_t accumulate, float* grad_weight,      \
        float* grad_bias) {                                                                        \
        return cnn_f32_linear_backward_weights_gemm(ctx, batch, in_features, out_features, input,  \
                                                    grad_output, accumulate, grad_weight,          \
                                                    grad_bias, &(UKERNEL));                        \
    }

/* Multiply-adds per thread-pool chunk of the linear kernels: below about twice this, waking a
 * second thread costs more than it saves. */
#define CNN_LINEAR_THREAD_MACS 262144

/* Fully connected layer as GEMM over the given micro-kernel (W packed into NR-wide panels);
 * f32-linear-gemm.c (plain C, shared by the AVX2 and AVX-512 linear kernels). */
cnn_status cnn_f32_linear_gemm(cnn_context* ctx, int32_t batch, int32_t in_features,
                               int32_t out_features, const float* input, const float* weight,
                               const float* bias, cnn_activation activation, float* output,
                               const cnn_f32_gemm_ukernel* ukernel);

/* Depthwise / channel-multiplier convolution (in_channels == groups);
 * f32-dwconv2d-{avx2,avx512}.c, see f32-dwconv2d.h. */
cnn_status cnn_f32_dwconv2d_avx2(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output);
cnn_status cnn_f32_dwconv2d_avx512(cnn_context* ctx, const cnn_conv2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* weight, const float* bias,
                                   cnn_activation activation, float* output);

#if defined(__AVX2__) /* the vector epilogue, for the -avx2.c kernels that include this */
#include "avx2-math.h"

/* Fused activation of one vector of outputs (the same vector math as f32-activation-avx2.c). */
static CNN_ALWAYS_INLINE __m256 cnn_f32_avx2_activate(__m256 x,
                                                                          cnn_activation act) {
    switch (act) {
        case CNN_ACTIVATION_RELU: return cnn_avx2_relu_ps(x);
        case CNN_ACTIVATION_SIGMOID: return cnn_avx2_sigmoid_ps(x);
        case CNN_ACTIVATION_TANH: return cnn_avx2_tanh_ps(x);
        case CNN_ACTIVATION_RELU6: return cnn_avx2_relu6_ps(x);
        case CNN_ACTIVATION_HARDSWISH: return cnn_avx2_hardswish_ps(x);
        case CNN_ACTIVATION_HARDSIGMOID: return cnn_avx2_hardsigmoid_ps(x);
        case CNN_ACTIVATION_SILU: return cnn_avx2_silu_ps(x);
        case CNN_ACTIVATION_GELU: return cnn_avx2_gelu_ps(x);
        default: return x;
    }
}
#endif

#if defined(__AVX512F__) /* the AVX-512 epilogue */
/* Lanes [0, n) of one 16-float vector as a mask, n clamped to [0, 16] (tails of every AVX-512
 * kernel that includes this). */
static inline __mmask16 cnn_avx512_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* Fused activation of one ZMM: NONE and ReLU natively; every other activation through the
 * AVX2 definition above on each half, so an activation is defined in one place only. */
static CNN_ALWAYS_INLINE __m512 cnn_f32_avx512_activate(__m512 x,
                                                                            cnn_activation act) {
    switch (act) {
        case CNN_ACTIVATION_NONE: return x;
        case CNN_ACTIVATION_RELU: return _mm512_max_ps(_mm512_setzero_ps(), x); /* NaN stays */
        default: {
            const __m256 lo = cnn_f32_avx2_activate(_mm512_castps512_ps256(x), act);
            const __m256 hi = cnn_f32_avx2_activate(_mm512_extractf32x8_ps(x, 1), act);
            return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
        }
    }
}
#endif

/* Winograd F(4x4, 3x3) convolution (3x3, stride 1, dilation 1, groups 1): the three transforms
 * per ISA (f32-winograd-4x4.h, instanced by f32-winograd-4x4-{avx2,avx512}.c) and the driver
 * that runs the 36 products on the GEMM micro-kernel (f32-conv2d-winograd.c). */
typedef struct cnn_f32_winograd_transforms {
    /* Filters w (OIHW) of input channels [ic_begin, ic_end) -> U[xi][oc panel][ic][nr]:
     * element (xi, ic, oc) at u + xi*xi_stride + (oc/nr)*IC*nr + ic*nr + oc%nr, i.e. per xi the
     * NR-column panels the micro-kernel streams (nr: a multiple of the vector). */
    void (*weights)(const float* w, int64_t in_channels, int64_t out_channels, int64_t nr,
                    int64_t ic_begin, int64_t ic_end, float* u, int64_t xi_stride);
    /* The 6x6 input window at (y0, x0) (zero outside in_h x in_w) of every channel of `in` ->
     * V[xi][ic] at v + xi*xi_stride + ic. */
    void (*input)(const float* in, int64_t in_h, int64_t in_w, int64_t channels, int64_t y0,
                  int64_t x0, float* v, int64_t xi_stride);
    /* M[xi][oc] at m + xi*xi_stride -> act(A^T m A + bias), the top-left rows x cols of the
     * 4x4 tile, into out[oc*plane + i*out_w + j]. */
    void (*output)(const float* m, int64_t xi_stride, int64_t channels, const float* bias,
                   cnn_activation act, float* out, int64_t plane, int64_t out_w, int rows,
                   int cols);
} cnn_f32_winograd_transforms;

extern const cnn_f32_winograd_transforms cnn_f32_winograd_4x4_avx2;
extern const cnn_f32_winograd_transforms cnn_f32_winograd_4x4_avx512;

/* Whether Winograd beats the GEMM driver on this shape (the measured rule is in
 * f32-conv2d-winograd.c); the conv2d kernels route there when it does. */
int cnn_f32_conv2d_winograd_suits(const cnn_conv2d_params* p, int32_t out_height,
                                  int32_t out_width, const cnn_f32_gemm_ukernel* ukernel);
cnn_status cnn_f32_conv2d_winograd(cnn_context* ctx, const cnn_conv2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* weight, const float* bias,
                                   cnn_activation activation, float* output,
                                   const cnn_f32_gemm_ukernel* ukernel,
                                   const cnn_f32_winograd_transforms* transforms);

/* Prepacked convolution (cnn_conv2d_plan): U of every filter transformed once, in the layout
 * the driver's GEMMs read (36 x [OC/NR][IC][NR] with a cache line between the xi slices). */
int64_t cnn_f32_conv2d_winograd_packed_floats(int32_t in_channels, int32_t out_channels,
                                              const cnn_f32_gemm_ukernel* ukernel);
void cnn_f32_conv2d_winograd_pack(cnn_context* ctx, int32_t in_channels, int32_t out_channels,
                                  const float* weight, float* packed,
                                  const cnn_f32_gemm_ukernel* ukernel,
                                  const cnn_f32_winograd_transforms* transforms);
/* Whether a plan should take Winograd (its own rule: no per-call weight transform to repay). */
int cnn_f32_conv2d_winograd_plan_suits(const cnn_conv2d_params* p, int32_t out_height,
                                       int32_t out_width, const cnn_f32_gemm_ukernel* ukernel);
/* cnn_f32_conv2d_winograd with U from cnn_f32_conv2d_winograd_pack; bitwise the same result. */
cnn_status cnn_f32_conv2d_winograd_packed(cnn_context* ctx, const cnn_conv2d_params* p,
                                          int32_t out_height, int32_t out_width,
                                          const float* input, const float* packed,
                                          const float* bias, cnn_activation activation,
                                          float* output, const cnn_f32_gemm_ukernel* ukernel,
                                          const cnn_f32_winograd_transforms* transforms);

/* What a conv plan needs from one vector ISA: the micro-kernel conv2d forward runs on (with its
 * strided copy), the Winograd transforms, the depthwise kernel and the plan-only direct tile
 * (NULL: none on this ISA); defined beside the ISA's conv2d kernel (f32-conv2d-{avx2,avx512}.c),
 * so a plan's GEMM route is exactly conv2d's. */
typedef struct cnn_f32_conv2d_isa {
    const cnn_f32_gemm_ukernel* ukernel;
    const cnn_f32_winograd_transforms* winograd;
    cnn_conv2d_kernel depthwise;
    const cnn_f32_direct_ukernel* direct;
} cnn_f32_conv2d_isa;
extern const cnn_f32_conv2d_isa cnn_f32_conv2d_isa_avx2;
extern const cnn_f32_conv2d_isa cnn_f32_conv2d_isa_avx512;

#endif /* CNN_F32_GEMM_H */
