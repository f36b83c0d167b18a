/* test_util.h — the tiny harness every native test program shares (no framework needed). */
#ifndef CNN_TEST_UTIL_H
#define CNN_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cnn/cnn.h"

extern int cnn_test_checks;
extern int cnn_test_failures;

/* Records one check; prints the location and message when it fails. */
#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        cnn_test_checks++;                                                   \
        if (!(cond)) {                                                       \
            cnn_test_failures++;                                             \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

/* A call must return `expected`; a failure must also leave a non-empty message. */
#define EXPECT_STATUS(call, expected)                                                          \
    do {                                                                                       \
        cnn_status st_ = (call);                                                               \
        EXPECT(st_ == (expected), "got status %d, expected %d (message: %s)", (int)st_,        \
               (int)(expected), cnn_get_last_error());                                         \
        if ((expected) != CNN_STATUS_SUCCESS)                                                  \
            EXPECT(cnn_get_last_error()[0] != '\0', "failed call left no error message");      \
    } while (0)

/* Checks that the thread-local error message contains every given fragment (NULL-terminated list;
 * a NULL first fragment checks nothing). EXPECT_MESSAGE adds the caller's line and the NULL. */
void test_expect_message(int line, const char* first, ...);
#define EXPECT_MESSAGE(...) test_expect_message(__LINE__, __VA_ARGS__, NULL)

/* a[0..count) = value, and whether every a[i] == value (for "nothing was written" checks). */
void test_fill(float* a, size_t count, float value);
int test_all_equal(const float* a, size_t count, float value);

/* Deterministic uniform values in [-1, 1) (xorshift); caller frees with free(). */
float* test_random_floats(size_t count, uint32_t seed);

/* max |a[i] - b[i]| and max |a[i]-b[i]| / max(1, |b[i]|). */
double test_max_abs_diff(const float* a, const float* b, size_t count);
double test_max_rel_diff(const float* a, const float* b, size_t count);

/* Contexts for each ISA this CPU supports (reference first); returns how many were created. */
int test_contexts(cnn_context* contexts[4], cnn_isa isas[4]);
const char* test_isa_name(cnn_isa isa);

/* A conv2d shape with stride 1, no padding, dilation 1, groups 1; tests adjust the rest.
 * Inline so the hand-built benchmarks (bench_util.h) share it without linking test_util.c. */
static inline cnn_conv2d_params test_conv2d_params(int n, int ic, int h, int w, int oc, int kh,
                                                   int kw) {
    cnn_conv2d_params p;
    memset(&p, 0, sizeof p);
    p.batch = n;
    p.in_channels = ic;
    p.in_height = h;
    p.in_width = w;
    p.out_channels = oc;
    p.kernel_height = kh;
    p.kernel_width = kw;
    p.stride_height = p.stride_width = 1;
    p.dilation_height = p.dilation_width = 1;
    p.groups = 1;
    return p;
}

/* A pool2d shape with dilation 1, count_include_pad 1 and norm_type 2; tests adjust the rest. */
cnn_pool2d_params test_pool2d_params(cnn_pool_kind kind, int n, int c, int h, int w, int kh,
                                     int kw, int sh, int sw, int ph, int pw);

/* Prints "<name>: N passed, N failed" and returns the process exit code. */
int test_finish(const char* name);

#endif
