/* test_conv2d_direct.c — the plan-only direct convolution (vectors over output channels,
 * f32-conv2d-direct.c) called directly with every tile the CPU can run (the kernel list below),
 * whatever the plans' routing rule would pick, against the scalar reference within the oracle
 * tolerance (abs 1e-4 + rel 1e-4 per element), on 1 and 2 threads: pixel tails (output widths 1..15 around the 7-pixel tile), channel tails (output
 * channels below, at and above the 16-lane vector and the 64-channel panel), strides 1..4,
 * dilation, asymmetric padding, K in several blocks (> 1024 taps), batch > 1, every activation,
 * with and without bias; and nothing written past the output. The output widths and channel
 * counts straddle each tile's pixel count, vector and panel. A tile whose ISA the CPU lacks is
 * skipped with a note. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/f32-conv2d-direct.h"
#include "test_util.h"

typedef struct {
    const char* name;
    const cnn_f32_direct_ukernel* uk;
    cnn_isa isa;
} direct_kernel;

static const direct_kernel g_kernels[] = {
    {"f32-conv2d-direct-7x64-avx512", &cnn_f32_direct_7x64_avx512, CNN_ISA_AVX512},
    {"f32-conv2d-direct-4x24-avx2", &cnn_f32_direct_4x24_avx2, CNN_ISA_AVX2},
};

static cnn_context* g_ref;
static cnn_context* g_vec[2]; /* the kernel's ISA on 1 and 2 threads */
static const direct_kernel* g_kernel;
static double g_worst;

typedef struct {
    int n, ic, h, w, oc, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
    cnn_activation act;
    int bias;
} direct_case;

static void run_case(const direct_case* c) {
    cnn_conv2d_params p = test_conv2d_params(c->n, c->ic, c->h, c->w, c->oc, c->kh, c->kw);
    p.stride_height = c->sh;
    p.stride_width = c->sw;
    p.dilation_height = c->dh;
    p.dilation_width = c->dw;
    p.pad_top = c->pt;
    p.pad_bottom = c->pb;
    p.pad_left = c->pl;
    p.pad_right = c->pr;
    int32_t oh = 0, ow = 0;
    if (cnn_conv2d_output_size(&p, &oh, &ow) != CNN_STATUS_SUCCESS) {
        EXPECT(0, "case %dx%d k%dx%d: no output size", c->h, c->w, c->kh, c->kw);
        return;
    }
    const size_t in_n = (size_t)c->n * c->ic * c->h * c->w;
    const size_t k = (size_t)c->ic * c->kh * c->kw, w_n = (size_t)c->oc * k;
    const size_t out_n = (size_t)c->n * c->oc * oh * ow, slack = 37;
    float* in = test_random_floats(in_n, 3u + (uint32_t)in_n);
    float* w = test_random_floats(w_n, 5u + (uint32_t)w_n);
    float* b = test_random_floats((size_t)c->oc, 7u);
    const float scale = 1.0f / sqrtf((float)k); /* outputs O(1) */
    for (size_t i = 0; i < w_n; i++) w[i] *= scale;
    float* expected = (float*)malloc(out_n * sizeof(float));
    float* got = (float*)malloc((out_n + slack) * sizeof(float));
    float* packed = NULL;
    const cnn_f32_direct_ukernel* uk = g_kernel->uk;
    EXPECT_STATUS(cnn_alloc(cnn_f32_conv2d_direct_packed_floats(&p, uk) * (int64_t)sizeof(float),
                            (void**)&packed),
                  CNN_STATUS_SUCCESS);
    cnn_f32_conv2d_direct_pack(&p, w, packed, uk);
    EXPECT_STATUS(cnn_conv2d_forward(g_ref, &p, in, w, c->bias ? b : NULL, c->act, expected),
                  CNN_STATUS_SUCCESS);
    for (int t = 0; t < 2; t++) {
        test_fill(got, out_n + slack, -12345.0f);
        EXPECT_STATUS(cnn_f32_conv2d_direct(g_vec[t], &p, oh, ow, in, packed, c->bias ? b : NULL,
                                            c->act, got, uk),
                      CNN_STATUS_SUCCESS);
        double worst = 0.0;
        size_t at = 0;
        for (size_t i = 0; i < out_n; i++) {
            const double e = fabs((double)got[i] - expected[i]) / (1e-4 + 1e-4 * fabs((double)expected[i]));
            if (!(e <= worst)) { /* NaN counts as the worst */
                worst = isnan(e) ? INFINITY : e;
                at = i;
            }
        }
        if (worst > g_worst) g_worst = worst;
        EXPECT(worst <= 1.0,
               "%s: n%d %d->%d @%dx%d k%dx%d s%dx%d d%dx%d pad %d,%d,%d,%d act %d bias %d, %d "
               "thread(s): %.3f of the tolerance at %zu (got %g, expected %g)",
               g_kernel->name, c->n, c->ic, c->oc, c->h, c->w, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt,
               c->pb, c->pl, c->pr, (int)c->act, c->bias, t + 1, worst, at, got[at], expected[at]);
        EXPECT(test_all_equal(got + out_n, slack, -12345.0f),
               "%s: n%d %d->%d @%dx%d: wrote past the output", g_kernel->name, c->n, c->ic, c->oc,
               c->h, c->w);
    }
    cnn_free(packed);
    free(in);
    free(w);
    free(b);
    free(expected);
    free(got);
}

static int pick(uint32_t* seed, int lo, int hi) { /* uniform in [lo, hi] */
    *seed = *seed * 1664525u + 1013904223u;
    return lo + (int)((*seed >> 8) % (uint32_t)(hi - lo + 1));
}

/* The sweep for the current kernel (g_kernel, g_vec). */
static void run_sweep(void) {
    const direct_case fixed[] = {
        /* n  ic   h    w   oc kh kw sh sw dh dw pt pb pl pr act bias */
        {1, 3, 32, 32, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, CNN_ACTIVATION_RELU, 1},   /* stem */
        {1, 3, 47, 47, 96, 11, 11, 4, 4, 1, 1, 0, 0, 0, 0, CNN_ACTIVATION_RELU, 1}, /* AlexNet */
        {1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, CNN_ACTIVATION_NONE, 1},  /* K blocks */
        {2, 64, 15, 15, 128, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, CNN_ACTIVATION_NONE, 0}, /* 1x1/2 */
        {1, 300, 5, 6, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, CNN_ACTIVATION_RELU6, 1},  /* 2700 taps */
        {1, 1025, 3, 9, 17, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, CNN_ACTIVATION_TANH, 1},  /* 1025 taps */
        {1, 1024, 2, 8, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, CNN_ACTIVATION_SIGMOID, 0},
        {3, 5, 9, 23, 65, 3, 5, 2, 3, 2, 1, 0, 2, 3, 1, CNN_ACTIVATION_RELU, 1},  /* asymmetric */
        {1, 8, 1, 1, 33, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, CNN_ACTIVATION_NONE, 1},   /* one pixel */
        {1, 4, 6, 60, 130, 2, 2, 1, 1, 1, 3, 1, 0, 0, 2, CNN_ACTIVATION_RELU, 1}, /* 3 panels */
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) run_case(&fixed[i]);
    /* Output widths 1..15 (tails of the 7- and 4-pixel tiles) x channel counts around the 8- and
     * 16-lane vectors and the 24- and 64-channel panels. */
    const int channels[] = {1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 48, 63, 64, 65, 80};
    for (int ow = 1; ow <= 15; ow++)
        for (size_t j = 0; j < sizeof channels / sizeof channels[0]; j++) {
            const direct_case c = {1, 6, 4, ow + 2, channels[j], 3, 3, 1, 1, 1, 1, 0, 1, 1, 0,
                                   CNN_ACTIVATION_NONE, (int)(j & 1)};
            run_case(&c);
        }
    /* Random shapes: every stride, dilation and padding combination the validation admits. */
    uint32_t seed = 2026u;
    const cnn_activation acts[] = {CNN_ACTIVATION_NONE, CNN_ACTIVATION_RELU, CNN_ACTIVATION_RELU6,
                                   CNN_ACTIVATION_SIGMOID, CNN_ACTIVATION_TANH};
    for (int i = 0; i < 120; i++) {
        direct_case c;
        c.n = pick(&seed, 1, 3);
        c.ic = pick(&seed, 1, 40);
        c.oc = pick(&seed, 1, 150);
        c.kh = pick(&seed, 1, 5);
        c.kw = pick(&seed, 1, 5);
        c.sh = pick(&seed, 1, 4);
        c.sw = pick(&seed, 1, 4);
        c.dh = pick(&seed, 1, 2);
        c.dw = pick(&seed, 1, 2);
        c.pt = pick(&seed, 0, 3);
        c.pb = pick(&seed, 0, 3);
        c.pl = pick(&seed, 0, 3);
        c.pr = pick(&seed, 0, 3);
        c.h = pick(&seed, 1, 24);
        c.w = pick(&seed, 1, 30);
        c.act = acts[pick(&seed, 0, 4)];
        c.bias = pick(&seed, 0, 1);
        /* the padded input must hold one dilated kernel */
        if (c.h + c.pt + c.pb < (c.kh - 1) * c.dh + 1) c.h = (c.kh - 1) * c.dh + 1;
        if (c.w + c.pl + c.pr < (c.kw - 1) * c.dw + 1) c.w = (c.kw - 1) * c.dw + 1;
        run_case(&c);
    }
}

int main(void) {
    EXPECT_STATUS(cnn_context_create(&g_ref), CNN_STATUS_SUCCESS);
    EXPECT_STATUS(cnn_context_set_isa(g_ref, CNN_ISA_REFERENCE), CNN_STATUS_SUCCESS);
    for (size_t kernel = 0; kernel < sizeof g_kernels / sizeof g_kernels[0]; kernel++) {
        g_kernel = &g_kernels[kernel];
        int32_t supported = 0;
        if (cnn_isa_is_supported(g_kernel->isa, &supported) != CNN_STATUS_SUCCESS || !supported) {
            printf("test_conv2d_direct: %s not run: this CPU lacks its ISA\n", g_kernel->name);
            continue;
        }
        for (int t = 0; t < 2; t++) {
            EXPECT_STATUS(cnn_context_create(&g_vec[t]), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_context_set_isa(g_vec[t], g_kernel->isa), CNN_STATUS_SUCCESS);
            EXPECT_STATUS(cnn_context_set_num_threads(g_vec[t], t + 1), CNN_STATUS_SUCCESS);
        }
        g_worst = 0.0;
        run_sweep();
        printf("test_conv2d_direct: %s worst error %.3f of the tolerance (abs 1e-4 + rel 1e-4)\n",
               g_kernel->name, g_worst);
        for (int t = 0; t < 2; t++) cnn_context_destroy(g_vec[t]);
    }
    cnn_context_destroy(g_ref);
    return test_finish("test_conv2d_direct");
}
