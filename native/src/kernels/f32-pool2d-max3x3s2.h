/*
 * f32-pool2d-max3x3s2.h — max pooling 3x3 stride 2 dilation 1 (the ResNet stem pool), written
 * once in the pv_* primitives (included by f32-pool2d-rows.h; everything here is static).
 *
 * Why a separate path: the general row code of f32-pool2d-rows.h runs each input row's
 * horizontal max into a ring and then a second pass over the ring per output row, with per-row
 * window / tag bookkeeping; for this shape that bookkeeping and the extra passes cost more than
 * the max itself. Here one pass per output row does, per PV_LANES outputs:
 *  - for each of its new input rows: two loads (2*PV_LANES columns), the even / odd columns
 *    (one two-source permute each on AVX-512) and the tap two columns on as the even vector
 *    rotated by one lane with the next even column shifted in (one broadcast load + valignd),
 *    then the horizontal max of the three taps in kw order;
 *  - the vertical max of the window's rows in ih order, the row shared with the next output
 *    row (ih0 + 2 = its ih0) kept in a per-thread row so it is computed once.
 * That is the reference's row-major window order with its "take v if v > m or v is NaN" steps
 * (pv_max_step), so the result is bit for bit the reference's (see f32-pool2d-rows.h: -inf
 * padding never wins a step). Blocks whose columns are not all inside the row read through
 * masked loads with -inf fill.
 */

typedef struct {
    cnn_pool2d_plan plan;
    int64_t direct_lo, direct_hi; /* blocks starting at o in [lo, hi] read the row directly */
    int64_t out_padded;           /* floats of a thread's carry row */
    float* carry;                 /* per thread: out_padded floats */
    int64_t input_floats;
} pool_max3s2_job;
#ifndef POOL_MAX3S2_AHEAD
#define POOL_MAX3S2_AHEAD 4
#endif

/* Which columns of a block lie inside the rows (the same for every row): lanes of the two
 * loads, and whether the column after them is inside. */
typedef struct {
    pv_mask a, b;
    int next;
} pool_max3s2_range;

static inline pool_max3s2_range pool_max3s2_range_of(const pool_max3s2_job* j, int64_t o) {
    const int64_t width = j->plan.p->in_width;
    const int64_t first = 2 * o - j->plan.p->pad_width;
    const int64_t c = first + 2 * PV_LANES;
    pool_max3s2_range r = {pv_range_mask(-first, width - first),
                           pv_range_mask(-first - PV_LANES, width - first - PV_LANES),
                           c >= 0 && c < width};
    return r;
}

/* Horizontal max (3 taps, stride 2) of outputs o.. of one input row `in` (all columns inside
 * the row when `range` is NULL); *nan is set when a tap is NaN. Without NaN the steps are plain
 * ordered maxes (pv_max_ordered); a NaN takes the exact step (never in practice, so the branch
 * costs one compare). */
static inline __attribute__((always_inline)) pv_f32
pool_max3s2_hmax(const pool_max3s2_job* j, const float* in, int64_t o,
                 const pool_max3s2_range* range, int* nan) {
    const float* first = in + 2 * o - j->plan.p->pad_width; /* tap 0 of output o */
    pv_f32 a, b;
    float x;
    if (range == NULL) {
        a = pv_load(first);
        b = pv_load(first + PV_LANES);
        x = first[2 * PV_LANES];
    } else {
        a = pv_load_mask(first, range->a, -INFINITY);
        b = pv_load_mask(first + PV_LANES, range->b, -INFINITY);
        x = range->next ? first[2 * PV_LANES] : -INFINITY;
    }
    const pv_f32 even = pv_even(a, b), odd = pv_odd(a, b);
    const pv_f32 shifted = pv_shift_in(even, pv_set1(x));
    if (__builtin_expect(pv_any_nan(a, b) || x != x, 0)) {
        *nan = 1;
        return pv_max_step(pv_max_step(even, odd), shifted);
    }
    return pv_max_ordered(pv_max_ordered(even, odd), shifted);
}

/* The block of outputs o.. of one output row from its input rows r0, r1, r2 (ih0, ih0 + 1,
 * ih0 + 2; NULL = outside the input). use_carry: r0's horizontal max is in `carry`; r2's is left
 * there. direct: all columns inside the rows and a full output vector. */
static inline __attribute__((always_inline)) void
pool_max3s2_block(const pool_max3s2_job* j, const float* r0, const float* r1, const float* r2,
                  int use_carry, float* carry, float* out, int64_t o, int direct) {
    pool_max3s2_range border;
    const pool_max3s2_range* range = NULL;
    if (!direct) {
        border = pool_max3s2_range_of(j, o);
        range = &border;
    }
    pv_f32 m, h1 = pv_zero(), h2 = pv_zero();
    int nan = 0; /* a NaN in h1 or h2: the vertical steps take the exact form */
    if (use_carry) /* (a NaN in the first operand m needs no care) */
        m = pv_load(carry + o);
    else if (r0 != NULL)
        m = pool_max3s2_hmax(j, r0, o, range, &nan);
    else
        m = pv_set1(-INFINITY); /* -inf never wins a step */
    nan = 0;
    if (r1 != NULL) h1 = pool_max3s2_hmax(j, r1, o, range, &nan);
    if (r2 != NULL) {
        h2 = pool_max3s2_hmax(j, r2, o, range, &nan);
        pv_store(carry + o, h2);
    }
    if (__builtin_expect(nan, 0)) {
        if (r1 != NULL) m = pv_max_step(m, h1);
        if (r2 != NULL) m = pv_max_step(m, h2);
    } else {
        if (r1 != NULL) m = pv_max_ordered(m, h1);
        if (r2 != NULL) m = pv_max_ordered(m, h2);
    }
    const int64_t left = j->plan.out_width - o;
    if (direct)
        pv_store(out + o, m);
    else
        pv_store_first(out + o, m, left < PV_LANES ? left : PV_LANES);
}

/* One output row: the border blocks (masked loads), the interior ones in a straight loop. The
 * flags are constants at the common call sites, so each gets its own loops. */
static inline __attribute__((always_inline)) void
pool_max3s2_row(const pool_max3s2_job* j, const float* r0, const float* r1, const float* r2,
                int use_carry, float* carry, float* out) {
    const int64_t ow_n = j->plan.out_width;
    int64_t o = 0;
    for (; o < ow_n && o < j->direct_lo; o += PV_LANES)
        pool_max3s2_block(j, r0, r1, r2, use_carry, carry, out, o, 0);
    const int64_t hi = j->direct_hi < ow_n - PV_LANES ? j->direct_hi : ow_n - PV_LANES;
    for (; o <= hi; o += PV_LANES) pool_max3s2_block(j, r0, r1, r2, use_carry, carry, out, o, 1);
    for (; o < ow_n; o += PV_LANES) pool_max3s2_block(j, r0, r1, r2, use_carry, carry, out, o, 0);
}

static void pool_max3s2_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const pool_max3s2_job* j = (const pool_max3s2_job*)arg;
    const cnn_pool2d_params* p = j->plan.p;
    const int32_t oh_n = j->plan.out_height, ih_n = p->in_height;
    const int64_t ow_n = j->plan.out_width, plane_size = (int64_t)ih_n * p->in_width;
    float* carry = j->carry + (int64_t)thread_index * j->out_padded;
    int64_t plane = begin / oh_n;
    int32_t oh = (int32_t)(begin % oh_n);
    int carried = 0; /* carry holds the horizontal max of this row's r0 */
    for (int64_t row = begin; row < end; row++) {
        const float* in = j->plan.input + plane * plane_size;
        float* out = j->plan.output + row * ow_n;
        const int32_t ih0 = 2 * oh - p->pad_height;
        {
            const float* next = in + (int64_t)(ih0 + 3 + 2 * POOL_MAX3S2_AHEAD) * p->in_width;
            const float* stop = j->plan.input + j->input_floats;
            for (int64_t c = 0; c < 2 * (int64_t)p->in_width; c += 16)
                if (next + c < stop) __builtin_prefetch(next + c);
        }
        const float* r[3];
        for (int k = 0; k < 3; k++)
            r[k] = ih0 + k >= 0 && ih0 + k < ih_n ? in + (int64_t)(ih0 + k) * p->in_width : NULL;
        if (carried && r[1] != NULL && r[2] != NULL)
            pool_max3s2_row(j, r[0], r[1], r[2], 1, carry, out); /* the steady state */
        else if (!carried && r[0] != NULL && r[1] != NULL && r[2] != NULL)
            pool_max3s2_row(j, r[0], r[1], r[2], 0, carry, out);
        else if (r[0] == NULL && r[1] != NULL && r[2] != NULL)
            pool_max3s2_row(j, NULL, r[1], r[2], 0, carry, out); /* top padding */
        else if (r[0] == NULL && r[1] == NULL) /* no input row (not reachable by torch's sizes) */
            for (int64_t ow = 0; ow < ow_n; ow++) out[ow] = -INFINITY;
        else /* bottom edge: r2 (and maybe r1) outside */
            pool_max3s2_row(j, r[0], r[1], NULL, carried, carry, out);
        carried = r[2] != NULL;
        if (++oh == oh_n) {
            oh = 0;
            plane++;
            carried = 0;
        }
    }
}

/* Takes max pooling 3x3 / 2 with dilation 1 (returns 1, status in *status), else returns 0. */
static int pool_max3s2_run(cnn_context* ctx, const cnn_pool2d_params* p, int32_t out_height,
                           int32_t out_width, const float* input, float* output,
                           cnn_status* status) {
    if (p->kind != CNN_POOL_MAX || p->kernel_height != 3 || p->kernel_width != 3 ||
        p->stride_height != 2 || p->stride_width != 2 || p->dilation_height != 1 ||
        p->dilation_width != 1)
        return 0;
    pool_max3s2_job j;
    cnn_pool2d_plan_init(&j.plan, p, out_height, out_width, input, output);
    j.out_padded = pool_rows_round_up(out_width, PV_LANES);
    j.input_floats = (int64_t)p->batch * p->channels * p->in_height * p->in_width;
    if (j.out_padded > POOL_ROWS_MAX_THREAD_FLOATS) return 0;
    /* direct: first = 2o - pad >= 0 and its last read first + 2 * PV_LANES < in_width */
    j.direct_lo = p->pad_width;
    const int64_t last = (int64_t)p->in_width - 1 - 2 * PV_LANES + p->pad_width;
    j.direct_hi = last < 0 ? -1 : last / 2;
    const int64_t rows = (int64_t)p->batch * p->channels * out_height;
    const int64_t grain = cnn_pool2d_row_grain(&j.plan);
    const int32_t chunks = cnn_parallel_chunks(ctx, rows, grain);
    j.carry = (float*)cnn_context_scratch(ctx, (size_t)(chunks * j.out_padded) * sizeof(float));
    if (j.carry == NULL) {
        *status = CNN_STATUS_OUT_OF_MEMORY;
        return 1;
    }
    cnn_parallel_for(ctx, rows, grain, pool_max3s2_task, &j);
    *status = CNN_STATUS_SUCCESS;
    return 1;
}
