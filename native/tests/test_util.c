/* test_util.c — see test_util.h. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cnn_test_checks = 0;
int cnn_test_failures = 0;

float* test_random_floats(size_t count, uint32_t seed) {
    float* v = (float*)malloc((count ? count : 1) * sizeof(float));
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        v[i] = (float)((double)s / 2147483648.0 - 1.0);
    }
    return v;
}

double test_max_abs_diff(const float* a, const float* b, size_t count) {
    double m = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

double test_max_rel_diff(const float* a, const float* b, size_t count) {
    double m = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)b[i]));
        if (d > m || d != d) m = d;
    }
    return m;
}

const char* test_isa_name(cnn_isa isa) {
    switch (isa) {
        case CNN_ISA_REFERENCE: return "reference";
        case CNN_ISA_AVX2: return "avx2";
        case CNN_ISA_AVX512: return "avx512";
        default: return "auto";
    }
}

int test_contexts(cnn_context* contexts[4], cnn_isa isas[4]) {
    const cnn_isa all[3] = {CNN_ISA_REFERENCE, CNN_ISA_AVX2, CNN_ISA_AVX512};
    /* Said once per program: which ISAs the checks run on, and which were skipped and why, so a log
     * from a machine without AVX-512 does not read as if AVX-512 had been tested. */
    static int reported = 0;
    char ran[64] = "", skipped[128] = "";
    int n = 0;
    for (int i = 0; i < 3; i++) {
        int32_t supported = 0;
        const char* name = test_isa_name(all[i]);
        if (cnn_isa_is_supported(all[i], &supported) != CNN_STATUS_SUCCESS || !supported) {
            snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), "%s%s (the CPU lacks it)",
                     skipped[0] ? ", " : "", name);
            continue;
        }
        cnn_context* ctx = NULL;
        if (cnn_context_create(&ctx) != CNN_STATUS_SUCCESS) continue;
        if (cnn_context_set_isa(ctx, all[i]) != CNN_STATUS_SUCCESS) {
            snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), "%s%s (set_isa failed: %s)",
                     skipped[0] ? ", " : "", name, cnn_get_last_error());
            cnn_context_destroy(ctx);
            continue;
        }
        snprintf(ran + strlen(ran), sizeof ran - strlen(ran), "%s%s", ran[0] ? ", " : "", name);
        contexts[n] = ctx;
        isas[n] = all[i];
        n++;
    }
    if (!reported) {
        reported = 1;
        printf("ISAs tested: %s; skipped: %s\n", ran[0] ? ran : "none", skipped[0] ? skipped : "none");
    }
    return n;
}

cnn_pool2d_params test_pool2d_params(cnn_pool_kind kind, int n, int c, int h, int w, int kh,
                                     int kw, int sh, int sw, int ph, int pw) {
    cnn_pool2d_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.batch = n;
    p.channels = c;
    p.in_height = h;
    p.in_width = w;
    p.kernel_height = kh;
    p.kernel_width = kw;
    p.stride_height = sh;
    p.stride_width = sw;
    p.pad_height = ph;
    p.pad_width = pw;
    p.dilation_height = 1;
    p.dilation_width = 1;
    p.count_include_pad = 1;
    p.norm_type = 2.0f;
    return p;
}

int test_finish(const char* name) {
    printf("%s: %d passed, %d failed\n", name, cnn_test_checks - cnn_test_failures,
           cnn_test_failures);
    return cnn_test_failures == 0 ? 0 : 1;
}

void test_expect_message(int line, const char* first, ...) {
    const char* msg = cnn_get_last_error();
    va_list ap;
    va_start(ap, first);
    for (const char* f = first; f != NULL; f = va_arg(ap, const char*))
        EXPECT(strstr(msg, f) != NULL, "(line %d) message '%s' lacks '%s'", line, msg, f);
    va_end(ap);
}

void test_fill(float* a, size_t count, float value) {
    for (size_t i = 0; i < count; i++) a[i] = value;
}

int test_all_equal(const float* a, size_t count, float value) {
    int ok = 1;
    for (size_t i = 0; i < count; i++) ok &= a[i] == value;
    return ok;
}
