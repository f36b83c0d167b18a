/*
 * f32-pool2d-rows.h — max and average pooling with stride_width 1 or 2, written once in the pv_*
 * primitives (include f32-pool-vec-avx2.h or f32-pool-vec-avx512.h first; one instance per
 * kernel file, everything here is static).
 *
 * Outputs are computed PV_LANES adjacent columns (a "block") at a time. A block reads its taps
 * straight from the input row when they all lie inside it, else through masked loads that read
 * the padding as -inf (max) or +0 (average): borders, ceil_mode tails and the last partial
 * block are ordinary vector code.
 *  - max: each input row a thread needs gets its horizontal max (kernel-width taps, in kw
 *    order) computed once and kept in a per-thread ring of rows (slot = ih mod a power of two
 *    >= the window extent, tagged with plane and ih), so the rows shared by vertically
 *    overlapping windows (3x3/2: every other row) are not redone; an output row is then the
 *    vertical max of its kernel-height rows in ih order. That is the reference's row-major
 *    window order, and each step is its "take v if v > m or v is NaN": ties keep the first max
 *    (+0/-0 as torch), NaN propagates, bit for bit; -inf padding never wins a step.
 *  - average sums all taps of a window into one accumulator in the reference's order (ih, then
 *    kw); +0 padding changes no sum (a float sum starting at +0 is never -0), and the divisor is
 *    the reference's per-column integer count.
 * Stride 2 loads 2*PV_LANES floats and deinterleaves them (with dilation 1 one load pair gives
 * the taps kw and kw + 1). Output rows are full vectors with a masked tail.
 */
#include <math.h>
#include <string.h>

#include "ops-common.h"

/* Per-thread scratch above this (floats) is not worth it: such shapes use the caller's path. */
#define POOL_ROWS_MAX_THREAD_FLOATS ((int64_t)1 << 22)

typedef struct {
    cnn_pool2d_plan plan;
    int32_t is_max;
    int32_t taps_w, step_w; /* kernel_width and the tap spacing (dilation for max, else 1) */
    int32_t step_h;
    int32_t slots;          /* max: ring rows per thread, a power of two >= the vertical extent */
    int64_t out_padded;     /* out_width rounded up to PV_LANES */
    int64_t direct_lo, direct_hi; /* blocks starting at o in [lo, hi] read the input directly */
    int64_t head_bytes;     /* per-thread tags and window row pointers */
    int64_t thread_bytes;   /* per-thread scratch */
    float pad_value;
    const int32_t* w_pool;  /* average: per output column, window width incl. padding */
    const int32_t* w_valid; /* average: per output column, input columns in the window */
    unsigned char* threads; /* per-thread scratch areas */
} pool_rows_job;

/* One thread's scratch: ring tags, the rows of the current window, the ring (max), the
 * divisor row (average). */
typedef struct {
    int64_t* tags;
    const float** taps;
    float* ring;
    float* divisor;
} pool_rows_thread;

static inline int64_t pool_rows_round_up(int64_t n, int64_t m) {
    return (n + m - 1) / m * m;
}

static pool_rows_thread pool_rows_thread_of(const pool_rows_job* j, int32_t thread_index) {
    pool_rows_thread t;
    unsigned char* base = j->threads + (int64_t)thread_index * j->thread_bytes;
    t.tags = (int64_t*)base;
    t.taps = (const float**)(t.tags + j->slots);
    t.ring = (float*)(base + j->head_bytes);
    t.divisor = t.ring + (j->is_max ? (int64_t)j->slots * j->out_padded : 0);
    return t;
}

static inline pv_f32 pool_rows_step(pv_f32 acc, pv_f32 v, int is_max) {
    return is_max ? pv_max_step(acc, v) : pv_add(acc, v);
}

/* One window row of a block: the taps of PV_LANES adjacent outputs whose first tap is b[0]
 * (stride 1) or b[0], b[2], ... (stride 2), in kw order; max starts from the first tap (the
 * reference's first step from -inf gives exactly it), average adds to acc. With `ranged`, only
 * b[lo..hi) is input and the rest reads as `fill` (masked loads: a border block costs a few
 * mask operations, and no store-to-load forwarding stall as a padded copy would). is_max,
 * ranged, taps and often step are constants at the call sites, so each gets its own unrolled
 * loop. */
static inline pv_f32 pool_rows_taps(const float* b, int64_t lo, int64_t hi, float fill,
                                    int ranged, int32_t stride, int32_t taps, int32_t step,
                                    pv_f32 acc, int is_max) {
#define POOL_ROWS_LOAD(off)                                                               \
    (ranged ? pv_load_range(b + (off), lo - (off), hi - (off), fill) : pv_load(b + (off)))
    if (stride == 1) {
        acc = is_max ? POOL_ROWS_LOAD(0) : pv_add(acc, POOL_ROWS_LOAD(0));
CNN_UNROLL(8)
        for (int32_t t = 1; t < taps; t++)
            acc = pool_rows_step(acc, POOL_ROWS_LOAD((int64_t)t * step), is_max);
        return acc;
    }
    pv_f32 a0 = POOL_ROWS_LOAD(0), a1 = POOL_ROWS_LOAD(PV_LANES);
    const pv_f32 even = pv_even(a0, a1);
    acc = is_max ? even : pv_add(acc, even);
    if (step == 1 && taps == 3) {
        /* tap 2 is the even vector one lane on with the next even column shifted in: one
         * scalar instead of a second load pair and permute (as f32-pool2d-max3x3s2.h) */
        const int64_t c = 2 * PV_LANES;
        const float x = !ranged || (c >= lo && c < hi) ? b[c] : fill;
        acc = pool_rows_step(acc, pv_odd(a0, a1), is_max);
        return pool_rows_step(acc, pv_shift_in(even, pv_set1(x)), is_max);
    }
    if (step == 1) {
        if (taps > 1) acc = pool_rows_step(acc, pv_odd(a0, a1), is_max);
CNN_UNROLL(8)
        for (int32_t t = 2; t < taps; t += 2) {
            a0 = POOL_ROWS_LOAD(t);
            a1 = POOL_ROWS_LOAD(t + PV_LANES);
            acc = pool_rows_step(acc, pv_even(a0, a1), is_max);
            if (t + 1 < taps) acc = pool_rows_step(acc, pv_odd(a0, a1), is_max);
        }
        return acc;
    }
    for (int32_t t = 1; t < taps; t++) {
        const int64_t c = (int64_t)t * step;
        acc = pool_rows_step(acc, pv_even(POOL_ROWS_LOAD(c), POOL_ROWS_LOAD(c + PV_LANES)),
                             is_max);
    }
#undef POOL_ROWS_LOAD
    return acc;
}

/* One window row of the block of outputs o..: straight from the input row when all its loads
 * are inside it, else through masked loads with the padding value. */
static inline pv_f32 pool_rows_block(const pool_rows_job* j, const float* in_row, int64_t o,
                                     int32_t taps, int32_t step, pv_f32 acc, int is_max) {
    const cnn_pool2d_params* p = j->plan.p;
    const int32_t s = p->stride_width;
    const int64_t first = o * s - p->pad_width; /* column of the first tap */
    if (o >= j->direct_lo && o <= j->direct_hi)
        return pool_rows_taps(in_row + first, 0, 0, 0.0f, 0, s, taps, step, acc, is_max);
    return pool_rows_taps(in_row + first, -first, p->in_width - first, j->pad_value, 1, s, taps,
                          step, acc, is_max);
}

/* The horizontal max of the blocks of one input row into `row` (taps, step constants when
 * inlined from pool_rows_hmax). */
static inline void pool_rows_hmax_row(const pool_rows_job* j, const float* in, float* row,
                                      int32_t taps, int32_t step) {
    for (int64_t o = 0; o < j->out_padded; o += PV_LANES)
        pv_store(row + o, pool_rows_block(j, in, o, taps, step, pv_zero(), 1));
}

/* Max: the horizontal max row of input row ih of `plane` (computed on a ring miss). */
static const float* pool_rows_hmax(const pool_rows_job* j, const pool_rows_thread* t,
                                   int64_t plane, int32_t ih) {
    const cnn_pool2d_params* p = j->plan.p;
    const int64_t key = plane * p->in_height + ih;
    const int32_t slot = ih & (j->slots - 1);
    float* row = t->ring + slot * j->out_padded;
    if (t->tags[slot] == key) return row;
    t->tags[slot] = key;
    const float* in = j->plan.input + key * p->in_width;
    if (j->step_w == 1 && j->taps_w == 3)
        pool_rows_hmax_row(j, in, row, 3, 1);
    else if (j->step_w == 1 && j->taps_w == 2)
        pool_rows_hmax_row(j, in, row, 2, 1);
    else
        pool_rows_hmax_row(j, in, row, j->taps_w, j->step_w);
    return row;
}

/* Average: the divisor of every column of an output row whose window has `h_valid` input rows
 * and `h_pool` rows including padding (the reference's integer counts, converted once). */
static void pool_rows_divisors(const pool_rows_job* j, int32_t h_valid, int32_t h_pool,
                               float* divisor) {
    const cnn_pool2d_params* p = j->plan.p;
    for (int32_t ow = 0; ow < j->plan.out_width; ow++) {
        const int64_t valid = (int64_t)h_valid * j->w_valid[ow];
        const int64_t pool = (int64_t)h_pool * j->w_pool[ow];
        float d = p->divisor_override > 0 ? (float)p->divisor_override
                                          : (float)(p->count_include_pad ? pool : valid);
        /* An empty window is 0 in the reference; its sum here is +0, and +0 / 1 = +0. */
        if (valid == 0 || d == 0.0f) d = 1.0f;
        divisor[ow] = d;
    }
}

/* Average: one output row from its n input rows (taps constant when inlined). */
static inline void pool_rows_average_row(const pool_rows_job* j, const pool_rows_thread* t,
                                         int32_t n, int32_t taps, float* out) {
    const int32_t ow_n = j->plan.out_width;
    for (int64_t o = 0; o < ow_n; o += PV_LANES) {
        pv_f32 sum = pv_zero();
        for (int32_t k = 0; k < n; k++)
            sum = pool_rows_block(j, t->taps[k], o, taps, 1, sum, 0);
        if (o + PV_LANES <= ow_n)
            pv_store(out + o, pv_div(sum, pv_load(t->divisor + o)));
        else
            pv_store_first(out + o, pv_div(sum, pv_load_first(t->divisor + o, ow_n - o)),
                           ow_n - o);
    }
}

static void pool_rows_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const pool_rows_job* j = (const pool_rows_job*)arg;
    const cnn_pool2d_plan* plan = &j->plan;
    const cnn_pool2d_params* p = plan->p;
    const pool_rows_thread t = pool_rows_thread_of(j, thread_index);
    for (int32_t s = 0; s < j->slots; s++) t.tags[s] = -1;
    const int32_t ow_n = plan->out_width;
    int32_t div_valid = -1, div_pool = -1; /* the counts t.divisor holds */
    int64_t plane = begin / plan->out_height;
    int32_t oh = (int32_t)(begin % plan->out_height) - 1;
    for (int64_t row = begin; row < end; row++) {
        if (++oh == plan->out_height) {
            oh = 0;
            plane++;
        }
        float* out = plan->output + row * ow_n;
        const cnn_pool2d_extent h = cnn_pool2d_window(p->kind, oh, p->stride_height,
                                                      p->pad_height, p->kernel_height,
                                                      j->step_h, p->in_height);
        int32_t n = 0;
        for (int32_t ih = h.begin; ih < h.end; ih += j->step_h)
            t.taps[n++] = j->is_max ? pool_rows_hmax(j, &t, plane, ih)
                                    : plan->input + (plane * p->in_height + ih) * p->in_width;
        if (n == 0) { /* no input row: -inf (max) / 0 (average) like the reference */
            const float v = j->is_max ? -INFINITY : 0.0f;
            for (int32_t ow = 0; ow < ow_n; ow++) out[ow] = v;
            continue;
        }
        if (j->is_max) {
            for (int64_t o = 0; o < ow_n; o += PV_LANES) {
                pv_f32 m = pv_load(t.taps[0] + o);
                for (int32_t k = 1; k < n; k++) m = pv_max_step(m, pv_load(t.taps[k] + o));
                if (o + PV_LANES <= ow_n)
                    pv_store(out + o, m);
                else
                    pv_store_first(out + o, m, ow_n - o);
            }
            continue;
        }
        if (h.end - h.begin != div_valid || h.pool_extent != div_pool) {
            div_valid = h.end - h.begin;
            div_pool = h.pool_extent;
            pool_rows_divisors(j, div_valid, div_pool, t.divisor);
        }
        if (p->kernel_width == 3)
            pool_rows_average_row(j, &t, n, 3, out);
        else if (p->kernel_width == 2)
            pool_rows_average_row(j, &t, n, 2, out);
        else
            pool_rows_average_row(j, &t, n, p->kernel_width, out);
    }
}

#include "f32-pool2d-max3x3s2.h"

/* Runs max / average pooling with stride_width 1 or 2 and returns 1 (status in *status), or
 * returns 0 without doing anything for shapes this code does not take (LP, other strides,
 * rows too long for the per-thread scratch). */
static int pool2d_rows_run(cnn_context* ctx, const cnn_pool2d_params* p, int32_t out_height,
                           int32_t out_width, const float* input, float* output,
                           cnn_status* status) {
    if (p->kind == CNN_POOL_LP || (p->stride_width != 1 && p->stride_width != 2)) return 0;
    if (pool_max3s2_run(ctx, p, out_height, out_width, input, output, status)) return 1;
    pool_rows_job j;
    cnn_pool2d_plan_init(&j.plan, p, out_height, out_width, input, output);
    j.is_max = p->kind == CNN_POOL_MAX;
    j.taps_w = p->kernel_width;
    j.step_w = j.is_max ? p->dilation_width : 1;
    j.step_h = j.is_max ? p->dilation_height : 1;
    const int64_t s = p->stride_width;
    const int64_t extent_h = (int64_t)(p->kernel_height - 1) * j.step_h + 1;
    j.out_padded = pool_rows_round_up(out_width, PV_LANES);
    /* Floats a block reads from its first tap on (stride 2 with dilation 1 loads pairs at the
     * even taps), and so the blocks that stay inside the row. */
    const int64_t span = s == 1 ? PV_LANES + (int64_t)(j.taps_w - 1) * j.step_w
                         : j.step_w == 1 ? 2 * PV_LANES + (j.taps_w - 1) / 2 * 2
                                         : 2 * PV_LANES + (int64_t)(j.taps_w - 1) * j.step_w;
    j.direct_lo = (p->pad_width + s - 1) / s;
    const int64_t last = (int64_t)p->in_width + p->pad_width - span; /* last direct o*s */
    j.direct_hi = last < 0 ? -1 : last / s;
    if (extent_h > POOL_ROWS_MAX_THREAD_FLOATS) return 0;
    int64_t slots = 1;
    while (slots < extent_h) slots *= 2;
    if (!j.is_max) slots = 1; /* tags unused */
    const int64_t floats = j.is_max ? slots * j.out_padded : j.out_padded;
    if (floats > POOL_ROWS_MAX_THREAD_FLOATS) return 0;
    j.slots = (int32_t)slots;
    j.pad_value = j.is_max ? -INFINITY : 0.0f;
    /* tags and window row pointers: slots >= rows of one window (max); average has at most
     * kernel_height rows, so it reserves that many */
    const int64_t heads = j.is_max ? slots : p->kernel_height;
    j.head_bytes = pool_rows_round_up(heads * 16, 64);
    /* whole cache lines per thread (AVX2 average pooling at 56 outputs: 224-byte rows, two
     * threads writing one line) */
    j.thread_bytes = pool_rows_round_up(j.head_bytes + floats * (int64_t)sizeof(float), 64);

    const int64_t rows = (int64_t)p->batch * p->channels * out_height;
    const int64_t grain = cnn_pool2d_row_grain(&j.plan);
    const int32_t chunks = cnn_parallel_chunks(ctx, rows, grain);
    const int64_t shared = pool_rows_round_up(2 * (int64_t)out_width * sizeof(int32_t), 64);
    unsigned char* scratch =
        (unsigned char*)cnn_context_scratch(ctx, (size_t)(shared + chunks * j.thread_bytes));
    if (scratch == NULL) {
        *status = CNN_STATUS_OUT_OF_MEMORY;
        return 1;
    }
    int32_t* w_pool = (int32_t*)scratch;
    int32_t* w_valid = w_pool + out_width;
    if (!j.is_max)
        for (int32_t ow = 0; ow < out_width; ow++) {
            const cnn_pool2d_extent w = cnn_pool2d_window(p->kind, ow, p->stride_width,
                                                          p->pad_width, p->kernel_width, 1,
                                                          p->in_width);
            w_pool[ow] = w.pool_extent;
            w_valid[ow] = w.end - w.begin;
        }
    j.w_pool = w_pool;
    j.w_valid = w_valid;
    j.threads = scratch + shared;
    cnn_parallel_for(ctx, rows, grain, pool_rows_task, &j);
    *status = CNN_STATUS_SUCCESS;
    return 1;
}
