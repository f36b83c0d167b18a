/* f32-broadcast-binary-scalar.c — a (op) b over collapsed broadcast shapes: the output is walked
 * row by row (a row = the innermost collapsed dimension), each operand read at stride 1 or 0
 * (repeated) along the row. The four stride cases are separate loops the compiler vectorizes,
 * so every ISA uses this kernel (pow calls powf per element); one IEEE op per element, so every ISA agrees bitwise. */
#include <math.h>

#include "ops-common.h"

typedef struct broadcast_job {
    cnn_binary_op op;
    int32_t rank; /* >= 1; dimension rank-1 is the row */
    const int64_t* shape;
    const float* a;
    const int64_t* sa;
    const float* b;
    const int64_t* sb;
    float* output;
} broadcast_job;

#define ROW_LOOP(EXPR)                                                          \
    do {                                                                        \
        if (ia && ib) for (int64_t i = 0; i < len; i++) { EXPR(x[i], y[i]); }   \
        else if (ia) for (int64_t i = 0; i < len; i++) { EXPR(x[i], y[0]); }    \
        else if (ib) for (int64_t i = 0; i < len; i++) { EXPR(x[0], y[i]); }    \
        else for (int64_t i = 0; i < len; i++) { EXPR(x[0], y[0]); }            \
    } while (0)
#define ADD(p, q) out[i] = (p) + (q)
#define MUL(p, q) out[i] = (p) * (q)
#define SUB(p, q) out[i] = (p) - (q)
#define DIV(p, q) out[i] = (p) / (q)
#define POW(p, q) out[i] = powf((p), (q))

static void broadcast_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const broadcast_job* job = (const broadcast_job*)arg;
    const int32_t last = job->rank - 1;
    const int64_t len = job->shape[last];
    const int ia = job->sa[last] != 0, ib = job->sb[last] != 0;
    for (int64_t row = begin; row < end; row++) {
        /* Offsets of this row in a and b from its multi-index over the outer dimensions. */
        int64_t rest = row, off_a = 0, off_b = 0;
        for (int32_t d = last - 1; d >= 0; d--) {
            const int64_t idx = rest % job->shape[d];
            rest /= job->shape[d];
            off_a += idx * job->sa[d];
            off_b += idx * job->sb[d];
        }
        const float* x = job->a + off_a;
        const float* y = job->b + off_b;
        float* out = job->output + row * len;
        switch (job->op) {
            case CNN_BINARY_ADD: ROW_LOOP(ADD); break;
            case CNN_BINARY_MUL: ROW_LOOP(MUL); break;
            case CNN_BINARY_SUB: ROW_LOOP(SUB); break;
            case CNN_BINARY_DIV: ROW_LOOP(DIV); break;
            default: ROW_LOOP(POW); break;
        }
    }
}

cnn_status cnn_f32_broadcast_binary_scalar(cnn_context* ctx, cnn_binary_op op, int32_t rank,
                                           const int64_t* out_shape, const float* a,
                                           const int64_t* a_strides, const float* b,
                                           const int64_t* b_strides, float* output) {
    broadcast_job job = {op, rank, out_shape, a, a_strides, b, b_strides, output};
    int64_t rows = 1;
    for (int32_t d = 0; d < rank - 1; d++) rows *= out_shape[d];
    int64_t grain = CNN_PARALLEL_GRAIN_WORK / out_shape[rank - 1];
    cnn_parallel_for(ctx, rows, grain < 1 ? 1 : grain, broadcast_task, &job);
    return CNN_STATUS_SUCCESS;
}
