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
 * padding never wins a step). Without NaN those steps are plain ordered maxes; a block collects
 * the NaN lanes of its loads in one bit set and, when any (never in practice), is redone with
 * the exact steps: one test per block instead of two branches per row.
 * Blocks whose columns are not all inside the row read through masked loads with -inf fill;
 * their masks are the same for every row, so they are made once per call (one entry per block).
 * The input rows a few output rows ahead are prefetched: at batch 8 (input far beyond the
 * caches) the hardware prefetcher alone left the loop ~1.3x slower.
 */

#define POOL_MAX3S2_AHEAD 4 /* output rows between a row and the one its prefetch is for */

/* Which columns of a block lie inside the rows (the same for every row): lanes of the two
 * loads, and whether the column after them is inside. */
typedef struct {
    pv_mask a, b;
    int next;
} pool_max3s2_range;

typedef struct {
    cnn_pool2d_plan plan;
    int64_t in_width, pad_width;
    int64_t direct_lo, direct_hi;    /* blocks starting at o in [lo, hi] read the row directly */
    int64_t out_padded;              /* floats of a carry row (whole vectors) */
    int64_t carry_stride;            /* floats from one thread's carry row to the next */
    int64_t input_floats;
    const pool_max3s2_range* ranges; /* per block (o / PV_LANES) */
    float* carry;                    /* per thread: carry_stride floats */
} pool_max3s2_job;

static pool_max3s2_range pool_max3s2_range_of(const pool_max3s2_job* j, int64_t o) {
    const int64_t width = j->in_width;
    const int64_t first = 2 * o - j->pad_width;
    const int64_t c = first + 2 * PV_LANES;
    pool_max3s2_range r = {pv_range_mask(-first, width - first),
                           pv_range_mask(-first - PV_LANES, width - first - PV_LANES),
                           c >= 0 && c < width};
    return r;
}

/* Horizontal max (3 taps, stride 2) of outputs o.. of one input row `in` (all columns inside
 * the row when `range` is NULL). exact: the reference's steps; else ordered maxes, the NaN
 * lanes of the taps added to *nan. */
static CNN_ALWAYS_INLINE pv_f32
pool_max3s2_hmax(const pool_max3s2_job* j, const float* in, int64_t o,
                 const pool_max3s2_range* range, int exact, unsigned* nan) {
    const float* first = in + 2 * o - j->pad_width; /* tap 0 of output o */
    pv_f32 a, b, x;
    if (range == NULL) {
        a = pv_load(first);
        b = pv_load(first + PV_LANES);
        x = pv_set1(first[2 * PV_LANES]);
    } else {
        a = pv_load_mask(first, range->a, -INFINITY);
        b = pv_load_mask(first + PV_LANES, range->b, -INFINITY);
        x = pv_set1(range->next ? first[2 * PV_LANES] : -INFINITY);
    }
    const pv_f32 even = pv_even(a, b), odd = pv_odd(a, b);
    const pv_f32 shifted = pv_shift_in(even, x);
    if (exact) return pv_max_step(pv_max_step(even, odd), shifted);
    *nan |= pv_nan_bits(a, b) | pv_nan_bits(shifted, shifted); /* (x is in shifted) */
    return pv_max_ordered(pv_max_ordered(even, odd), shifted);
}

/* The block of outputs o.. of one output row from its input rows r0, r1, r2 (ih0, ih0 + 1,
 * ih0 + 2; NULL = outside the input). use_carry: r0's horizontal max is in `carry`; r2's is left
 * there. direct: all columns inside the rows and a full output vector. Returns the NaN bits of
 * the taps (the block is then to be redone with exact = 1). */
static CNN_ALWAYS_INLINE unsigned
pool_max3s2_block(const pool_max3s2_job* j, const float* r0, const float* r1, const float* r2,
                  int use_carry, float* carry, float* out, int64_t o, int direct, int exact) {
    const pool_max3s2_range* range = direct ? NULL : &j->ranges[o / PV_LANES];
    unsigned nan = 0;
    pv_f32 m, h1 = pv_zero(), h2 = pv_zero();
    if (use_carry) /* exact already (a NaN in the first operand m needs no care) */
        m = pv_load(carry + o);
    else if (r0 != NULL)
        m = pool_max3s2_hmax(j, r0, o, range, exact, &nan);
    else
        m = pv_set1(-INFINITY); /* -inf never wins a step */
    if (r1 != NULL) h1 = pool_max3s2_hmax(j, r1, o, range, exact, &nan);
    if (r2 != NULL) h2 = pool_max3s2_hmax(j, r2, o, range, exact, &nan);
    if (CNN_UNLIKELY(nan != 0)) return nan;
    if (exact) {
        if (r1 != NULL) m = pv_max_step(m, h1);
        if (r2 != NULL) m = pv_max_step(m, h2);
    } else {
        if (r1 != NULL) m = pv_max_ordered(m, h1);
        if (r2 != NULL) m = pv_max_ordered(m, h2);
    }
    if (r2 != NULL) pv_store(carry + o, h2);
    const int64_t left = j->plan.out_width - o;
    if (direct)
        pv_store(out + o, m);
    else
        pv_store_first(out + o, m, left < PV_LANES ? left : PV_LANES);
    return 0;
}

/* A block with a NaN tap, redone with the reference's steps (out of line: never in practice). */
static CNN_NOINLINE void
pool_max3s2_block_exact(const pool_max3s2_job* j, const float* r0, const float* r1,
                        const float* r2, int use_carry, float* carry, float* out, int64_t o) {
    pool_max3s2_block(j, r0, r1, r2, use_carry, carry, out, o, 0, 1);
}

/* Horizontal maxes of outputs o.. and o + PV_LANES.. of one input row, all columns inside (the
 * interior pair of pool_max3s2_block2): the first half's kw = 2 tap shifts in the second half's
 * even vector (no broadcast), and the pair's next column is the only one tested on its own. */
static CNN_ALWAYS_INLINE void
pool_max3s2_hmax2(const pool_max3s2_job* j, const float* in, int64_t o, pv_f32* h0, pv_f32* h1,
                  unsigned* nan) {
    const float* first = in + 2 * o - j->pad_width;
    const pv_f32 a0 = pv_load(first), b0 = pv_load(first + PV_LANES);
    const pv_f32 a1 = pv_load(first + 2 * PV_LANES), b1 = pv_load(first + 3 * PV_LANES);
    const pv_f32 x = pv_set1(first[4 * PV_LANES]);
    const pv_f32 e0 = pv_even(a0, b0), e1 = pv_even(a1, b1);
    *nan |= pv_nan_bits(a0, b0) | pv_nan_bits(a1, b1) | pv_nan_bits(x, x);
    *h0 = pv_max_ordered(pv_max_ordered(e0, pv_odd(a0, b0)), pv_shift_in(e0, e1));
    *h1 = pv_max_ordered(pv_max_ordered(e1, pv_odd(a1, b1)), pv_shift_in(e1, x));
}

/* pool_max3s2_block for two interior blocks o, o + PV_LANES at once (direct, not exact): one
 * broadcast and one NaN test per pair, half the loop bookkeeping. Returns the NaN bits. */
static CNN_ALWAYS_INLINE unsigned
pool_max3s2_block2(const pool_max3s2_job* j, const float* r0, const float* r1, const float* r2,
                   int use_carry, float* carry, float* out, int64_t o) {
    unsigned nan = 0;
    pv_f32 m0, m1, h10 = pv_zero(), h11 = pv_zero(), h20 = pv_zero(), h21 = pv_zero();
    if (use_carry) {
        m0 = pv_load(carry + o);
        m1 = pv_load(carry + o + PV_LANES);
    } else if (r0 != NULL) {
        pool_max3s2_hmax2(j, r0, o, &m0, &m1, &nan);
    } else {
        m0 = m1 = pv_set1(-INFINITY);
    }
    if (r1 != NULL) pool_max3s2_hmax2(j, r1, o, &h10, &h11, &nan);
    if (r2 != NULL) pool_max3s2_hmax2(j, r2, o, &h20, &h21, &nan);
    if (CNN_UNLIKELY(nan != 0)) return nan;
    if (r1 != NULL) {
        m0 = pv_max_ordered(m0, h10);
        m1 = pv_max_ordered(m1, h11);
    }
    if (r2 != NULL) {
        m0 = pv_max_ordered(m0, h20);
        m1 = pv_max_ordered(m1, h21);
        pv_store(carry + o, h20);
        pv_store(carry + o + PV_LANES, h21);
    }
    pv_store(out + o, m0);
    pv_store(out + o + PV_LANES, m1);
    return 0;
}

/* One output row: the border blocks (masked loads), the interior ones in a straight loop. The
 * flags are constants at the common call sites, so each gets its own loops. */
static CNN_ALWAYS_INLINE void
pool_max3s2_row(const pool_max3s2_job* j, const float* r0, const float* r1, const float* r2,
                int use_carry, float* carry, float* out) {
    const int64_t ow_n = j->plan.out_width;
    int64_t o = 0;
#define POOL_MAX3S2_BLOCK(direct)                                                            \
    if (pool_max3s2_block(j, r0, r1, r2, use_carry, carry, out, o, direct, 0))               \
    pool_max3s2_block_exact(j, r0, r1, r2, use_carry, carry, out, o)
    for (; o < ow_n && o < j->direct_lo; o += PV_LANES) POOL_MAX3S2_BLOCK(0);
    const int64_t hi = j->direct_hi < ow_n - PV_LANES ? j->direct_hi : ow_n - PV_LANES;
    for (; o + PV_LANES <= hi; o += 2 * PV_LANES)
        if (pool_max3s2_block2(j, r0, r1, r2, use_carry, carry, out, o)) {
            pool_max3s2_block_exact(j, r0, r1, r2, use_carry, carry, out, o);
            pool_max3s2_block_exact(j, r0, r1, r2, use_carry, carry, out, o + PV_LANES);
        }
    for (; o <= hi; o += PV_LANES) POOL_MAX3S2_BLOCK(1);
    for (; o < ow_n; o += PV_LANES) POOL_MAX3S2_BLOCK(0);
#undef POOL_MAX3S2_BLOCK
}

static void pool_max3s2_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const pool_max3s2_job* j = (const pool_max3s2_job*)arg;
    const cnn_pool2d_params* p = j->plan.p;
    const int32_t oh_n = j->plan.out_height, ih_n = p->in_height;
    const int64_t ow_n = j->plan.out_width, width = j->in_width, plane_size = ih_n * width;
    float* carry = j->carry + (int64_t)thread_index * j->carry_stride;
    int64_t plane = begin / oh_n;
    int32_t oh = (int32_t)(begin % oh_n);
    int carried = 0; /* carry holds the horizontal max of this row's r0 */
    for (int64_t row = begin; row < end; row++) {
        const float* in = j->plan.input + plane * plane_size;
        float* out = j->plan.output + row * ow_n;
        const int32_t ih0 = 2 * oh - p->pad_height;
        /* the two rows this row's r1, r2 will be POOL_MAX3S2_AHEAD output rows on (past the
         * plane: the next plane's first rows, usually the next rows of this chunk) */
        const int64_t ahead = plane * plane_size + (ih0 + 1 + 2 * POOL_MAX3S2_AHEAD) * width;
        const int64_t stop = ahead + 2 * width < j->input_floats ? ahead + 2 * width
                                                                 : j->input_floats;
        /* four lines per step (a prefetch past `stop` is harmless: it never faults); one line
         * per step was ~1/10 of the batch-1 profile in loop bookkeeping */
        for (int64_t c = ahead; c < stop; c += 4 * 64 / sizeof(float)) {
            CNN_PREFETCH(j->plan.input + c);
            CNN_PREFETCH(j->plan.input + c + 64 / sizeof(float));
            CNN_PREFETCH(j->plan.input + c + 2 * 64 / sizeof(float));
            CNN_PREFETCH(j->plan.input + c + 3 * 64 / sizeof(float));
        }
        const float* r[3];
        for (int k = 0; k < 3; k++)
            r[k] = ih0 + k >= 0 && ih0 + k < ih_n ? in + (int64_t)(ih0 + k) * width : NULL;
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
    j.in_width = p->in_width;
    j.pad_width = p->pad_width;
    j.out_padded = pool_rows_round_up(out_width, PV_LANES);
    if (j.out_padded > POOL_ROWS_MAX_THREAD_FLOATS) return 0;
    /* Whole cache lines per thread: 8-float AVX2 vectors at 56 outputs left the two threads'
     * carry rows sharing a line, which both write every row (2 threads took 1.6x the 1-thread
     * time: 130 vs 79 us at 64x112x112). */
    j.carry_stride = pool_rows_round_up(j.out_padded, 16);
    j.input_floats = (int64_t)p->batch * p->channels * p->in_height * p->in_width;
    /* direct: first = 2o - pad >= 0 and its last read first + 2 * PV_LANES < in_width */
    j.direct_lo = p->pad_width;
    const int64_t last = (int64_t)p->in_width - 1 - 2 * PV_LANES + p->pad_width;
    j.direct_hi = last < 0 ? -1 : last / 2;
    const int64_t rows = (int64_t)p->batch * p->channels * out_height;
    const int64_t grain = cnn_pool2d_row_grain(&j.plan);
    const int32_t chunks = cnn_parallel_chunks(ctx, rows, grain);
    const int64_t blocks = j.out_padded / PV_LANES;
    const int64_t range_bytes = pool_rows_round_up(blocks * (int64_t)sizeof(pool_max3s2_range), 64);
    unsigned char* scratch = (unsigned char*)cnn_context_scratch(
        ctx, (size_t)(range_bytes + chunks * j.carry_stride * (int64_t)sizeof(float)));
    if (scratch == NULL) {
        *status = CNN_STATUS_OUT_OF_MEMORY;
        return 1;
    }
    pool_max3s2_range* ranges = (pool_max3s2_range*)scratch;
    for (int64_t b = 0; b < blocks; b++) ranges[b] = pool_max3s2_range_of(&j, b * PV_LANES);
    j.ranges = ranges;
    j.carry = (float*)(scratch + range_bytes);
    cnn_parallel_for(ctx, rows, grain, pool_max3s2_task, &j);
    *status = CNN_STATUS_SUCCESS;
    return 1;
}
