/* test_broadcast_binary.c — cnn_broadcast_binary_forward: every shape pair of a sweep (ranks 1-4,
 * each dimension equal, repeated in a, repeated in b, or 1 in both) against a direct
 * multi-index reference, bitwise, on every ISA (a multi-threaded size included), and every
 * validation path (status and message). */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static cnn_context* g_ctx[4];
static cnn_isa g_isa[4];
static int g_n;

#define BAD CNN_STATUS_INVALID_ARGUMENT
#define OK CNN_STATUS_SUCCESS

#define INVALID(call, needle)                                                                   \
    do {                                                                                        \
        EXPECT_STATUS(call, BAD);                                                               \
        EXPECT(strstr(cnn_get_last_error(), needle) != NULL, "message '%s' lacks '%s'",         \
               cnn_get_last_error(), needle);                                                   \
    } while (0)

/* out[i] from the multi-index of i: the definition of broadcasting, no collapsing. */
static void reference(cnn_binary_op op, int rank, const int64_t* as, const float* a,
                      const int64_t* bs, const float* b, float* out) {
    int64_t os[CNN_BROADCAST_MAX_RANK], count = 1;
    for (int d = 0; d < rank; d++) {
        os[d] = as[d] > bs[d] ? as[d] : bs[d];
        count *= os[d];
    }
    for (int64_t i = 0; i < count; i++) {
        int64_t rest = i, ia = 0, ib = 0, ma = 1, mb = 1;
        for (int d = rank - 1; d >= 0; d--) {
            const int64_t idx = rest % os[d];
            rest /= os[d];
            ia += (as[d] == 1 ? 0 : idx) * ma;
            ib += (bs[d] == 1 ? 0 : idx) * mb;
            ma *= as[d];
            mb *= bs[d];
        }
        out[i] = op == CNN_BINARY_ADD ? a[ia] + b[ib] : a[ia] * b[ib];
    }
}

static int64_t count_of(int rank, const int64_t* s) {
    int64_t c = 1;
    for (int d = 0; d < rank; d++) c *= s[d];
    return c;
}

/* Every pattern per dimension (0 both full, 1 a repeated, 2 b repeated, 3 both 1) for ranks 1..4. */
static void test_sweep(void) {
    static const int64_t sizes[4] = {3, 5, 2, 7};
    int cases = 0, failures = 0;
    for (int rank = 1; rank <= 4; rank++) {
        int patterns = 1;
        for (int d = 0; d < rank; d++) patterns *= 4;
        for (int p = 0; p < patterns; p++) {
            int64_t as[4], bs[4];
            for (int d = 0, q = p; d < rank; d++, q /= 4) {
                const int64_t s = sizes[(d + rank) % 4];
                as[d] = (q % 4 == 1 || q % 4 == 3) ? 1 : s;
                bs[d] = (q % 4 == 2 || q % 4 == 3) ? 1 : s;
            }
            int64_t os[4];
            for (int d = 0; d < rank; d++) os[d] = as[d] > bs[d] ? as[d] : bs[d];
            const int64_t na = count_of(rank, as), nb = count_of(rank, bs), no = count_of(rank, os);
            float* a = test_random_floats((size_t)na, (uint32_t)(p + 1));
            float* b = test_random_floats((size_t)nb, (uint32_t)(p + 101));
            float* want = (float*)malloc((size_t)no * sizeof(float));
            float* got = (float*)malloc((size_t)no * sizeof(float));
            for (int op = CNN_BINARY_ADD; op <= CNN_BINARY_MUL; op++) {
                reference((cnn_binary_op)op, rank, as, a, bs, b, want);
                for (int c = 0; c < g_n; c++) {
                    memset(got, 0xff, (size_t)no * sizeof(float));
                    EXPECT_STATUS(cnn_broadcast_binary_forward(g_ctx[c], (cnn_binary_op)op, rank, as,
                                                               a, bs, b, got), OK);
                    if (memcmp(got, want, (size_t)no * sizeof(float)) != 0) failures++;
                    cases++;
                }
            }
            free(a); free(b); free(want); free(got);
        }
    }
    EXPECT(failures == 0, "%d of %d broadcast cases differ from the reference", failures, cases);
}

/* [N, C, H, W] * [N, C, 1, 1] and [N, 1, H, W] + [1, C, 1, W] large enough for several threads. */
static void test_threaded(void) {
    const int64_t x[4] = {2, 48, 33, 35}, g[4] = {2, 48, 1, 1};
    const int64_t p[4] = {2, 1, 33, 35}, q[4] = {1, 48, 1, 35};
    const int64_t n = count_of(4, x);
    float* a = test_random_floats((size_t)n, 7);
    float* b = test_random_floats((size_t)n, 8);
    float* want = (float*)malloc((size_t)n * sizeof(float));
    float* got = (float*)malloc((size_t)n * sizeof(float));
    for (int c = 0; c < g_n; c++) {
        const char* isa = test_isa_name(g_isa[c]);
        reference(CNN_BINARY_MUL, 4, x, a, g, b, want);
        EXPECT_STATUS(cnn_broadcast_binary_forward(g_ctx[c], CNN_BINARY_MUL, 4, x, a, g, b, got), OK);
        EXPECT(memcmp(got, want, (size_t)n * sizeof(float)) == 0, "%s gating mul", isa);
        reference(CNN_BINARY_ADD, 4, p, a, q, b, want);
        EXPECT_STATUS(cnn_broadcast_binary_forward(g_ctx[c], CNN_BINARY_ADD, 4, p, a, q, b, got), OK);
        EXPECT(memcmp(got, want, (size_t)n * sizeof(float)) == 0, "%s outer add", isa);
    }
    free(a); free(b); free(want); free(got);
}

static void test_validation(void) {
    cnn_context* ctx = g_ctx[0];
    float a[12] = {0}, b[12] = {0}, y[24];
    const int64_t s34[2] = {3, 4}, s14[2] = {1, 4}, s24[2] = {2, 4}, s0[2] = {0, 4};
    const int64_t big[2] = {INT64_MAX / 2, 4};
    INVALID(cnn_broadcast_binary_forward(NULL, CNN_BINARY_ADD, 2, s34, a, s14, b, y), "'context' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, NULL, a, s14, b, y), "'a_shape' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, NULL, s14, b, y), "'a' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, NULL, b, y), "'b_shape' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s14, NULL, y), "'b' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s14, b, NULL), "'output' is NULL");
    INVALID(cnn_broadcast_binary_forward(ctx, (cnn_binary_op)2, 2, s34, a, s14, b, y), "op = 2");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 0, s34, a, s14, b, y), "rank = 0");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, CNN_BROADCAST_MAX_RANK + 1, s34, a, s14, b, y), "rank = 9");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s0, a, s14, b, y), "a_shape[d] = 0");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s0, b, y), "b_shape[d] = 0");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s24, b, y), "a_shape[0] = 3 and b_shape[0] = 2");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, big, a, s14, b, y), "a");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_ADD, 2, s34, a, s14, b, a + 2), "overlaps a");
    INVALID(cnn_broadcast_binary_forward(ctx, CNN_BINARY_MUL, 2, s14, a, s34, b, b + 11), "overlaps b");
}

int main(void) {
    g_n = test_contexts(g_ctx, g_isa);
    test_sweep();
    test_threaded();
    test_validation();
    for (int c = 0; c < g_n; c++) cnn_context_destroy(g_ctx[c]);
    return test_finish("test_broadcast_binary");
}
