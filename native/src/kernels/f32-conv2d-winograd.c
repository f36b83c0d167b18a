/* f32-conv2d-winograd.c — 3x3 stride-1 convolution by Winograd F(4x4, 3x3): each 4x4 output
 * tile is A^T [ sum_ic U[ic] . V[ic] ] A with U = G g G^T (6x6 per filter) and V = B^T d B (6x6
 * per input tile), so the 9 multiply-adds per output pixel and input channel become 36/16 =
 * 2.25, spent as 36 independent GEMMs M[xi] = V[xi] * U[xi] (xi = one of the 6x6 positions).
 * Plain C: the GEMMs run on the conv2d micro-kernel (AVX2 6x16, AVX-512 8x32) and the
 * transforms are the vector code of f32-winograd-4x4.h, so this driver serves both ISAs.
 *
 * GEMM orientation: tiles are the rows (M = tiles, mr per slice), output channels the columns
 * (N = OC, nr-wide panels of U), K = IC. Small images (256@14: 16 tiles, 512@7: 4) still fill
 * whole 32-column vectors of the micro-kernel; the tile count only sets how many row slices
 * share a panel of U.
 *
 * The weights may change between calls (the API is stateless), so U is transformed on every
 * call, unless a prepacked plan (cnn_conv2d_plan, ops/conv2d_plan.c) hands in its U, packed once
 * at create in the blocked schedule's layout: then the blocked schedule skips pass (1) and the
 * panel schedule reads its panel of U in place. Two schedules, by which operand is smaller and stays whole, U (36 x IC x OC) or V and M
 * of every tile (36 x tiles x (IC + OC)):
 *  - blocked (many tiles: 64@56, batches), two parallel regions: (1) all of U,
 *    [36][OC/NR][IC][NR], over input channels (small layers stay on the calling thread);
 *    (2) blocks of T tiles across the batch: per block the thread transforms its input tiles
 *    into its V [36][T][IC], runs the 36 GEMMs into its M [36][T][OC] and transforms M into the
 *    output (bias + activation fused); V and M sized to stay in L2 while U streams through;
 *  - panels (few tiles, many channels: 256@14, 512@7), three regions: (1) V of every tile;
 *    (2) per NR-column panel of output channels, the thread transforms that panel of U into
 *    its own buffer (36 x IC x NR) and runs the 36 GEMMs over every tile at once, so U is
 *    never written out to memory (writing all of U and reading it back cost more than the
 *    GEMMs at 256@14); (3) the output transforms of every tile.
 * Each xi slice of U, V and M starts one cache line past a multiple of the matrix size: with
 * power-of-two strides the transforms' 36 streams all hit one L1 set (256@14 ran 1.8x slower).
 * The reductions (over IC in the micro-kernel, and the transforms) never depend on the block
 * partition, so results are the same for every thread count. */
#include "f32-gemm.h"

typedef struct {
    const cnn_conv2d_params* p;
    const cnn_f32_gemm_ukernel* uk;
    const cnn_f32_winograd_transforms* tr;
    int64_t out_h, out_w, tiles_w, tiles_per_image, total_tiles, block;
    int64_t ic, oc;
    /* Floats from one xi to the next in U, V and M: the matrix plus one cache line, so the 36
     * streams of a transform do not all map to one L1 set (power-of-two strides would). */
    int64_t u_xi_stride, v_xi_stride, m_xi_stride;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
    float* u;             /* blocked: all of U */
    const float* packed_u; /* a plan's U (all of it, blocked layout), or NULL: transform here */
    float* v_all, *m_all; /* panels: V and M of every tile */
    float* scratch;
    size_t thread_floats; /* blocked: V + M of one thread's block; panels: one panel of U */
} wino_job;

static void wino_weights_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const wino_job* job = (const wino_job*)arg;
    job->tr->weights(job->weight, job->ic, job->oc, job->uk->nr, begin, end, job->u,
                     job->u_xi_stride);
}

/* Input transforms of tiles [t0, t0 + nt) (numbered across the batch) into v: tile j's V[xi]
 * row at v + xi*xi_stride + j*IC. */
static void wino_input_tiles(const wino_job* job, int64_t t0, int64_t nt, float* v,
                             int64_t xi_stride) {
    const cnn_conv2d_params* p = job->p;
    const int64_t in_plane = (int64_t)p->in_height * p->in_width;
    for (int64_t j = 0; j < nt; j++) {
        const int64_t n = (t0 + j) / job->tiles_per_image, t = (t0 + j) % job->tiles_per_image;
        const int64_t ty = t / job->tiles_w, tx = t % job->tiles_w;
        job->tr->input(job->input + n * job->ic * in_plane, p->in_height, p->in_width, job->ic,
                       4 * ty - p->pad_top, 4 * tx - p->pad_left, v + j * job->ic, xi_stride);
    }
}

/* Output transforms of tiles [t0, t0 + nt) from m (tile j's M[xi] row at m + xi*xi_stride +
 * j*OC), bias and activation fused, edge tiles clipped. */
static void wino_output_tiles(const wino_job* job, int64_t t0, int64_t nt, const float* m,
                              int64_t xi_stride) {
    const int64_t out_plane = job->out_h * job->out_w;
    for (int64_t j = 0; j < nt; j++) {
        const int64_t n = (t0 + j) / job->tiles_per_image, t = (t0 + j) % job->tiles_per_image;
        const int64_t oy = 4 * (t / job->tiles_w), ox = 4 * (t % job->tiles_w);
        const int rows = job->out_h - oy < 4 ? (int)(job->out_h - oy) : 4;
        const int cols = job->out_w - ox < 4 ? (int)(job->out_w - ox) : 4;
        job->tr->output(m + j * job->oc, xi_stride, job->oc, job->bias, job->activation,
                        job->output + n * job->oc * out_plane + oy * job->out_w + ox, out_plane,
                        job->out_w, rows, cols);
    }
}

/* The products xi in [xi_begin, xi_end) for nt tiles and output channels [oc_begin, oc_end)
 * (whole NR panels): M[xi] = V[xi] (nt x IC, rows of IC) * U[xi] (NR-column panels, the first
 * one at u). Per xi, each panel of U (IC x NR, contiguous) serves every MR-tile slice while it
 * sits in L1. */
static void wino_products(const wino_job* job, int64_t xi_begin, int64_t xi_end, const float* v,
                          int64_t v_xi, int64_t nt, const float* u, int64_t u_xi, int64_t oc_begin,
                          int64_t oc_end, float* m, int64_t m_xi) {
    const cnn_f32_gemm_ukernel* uk = job->uk;
    const int64_t IC = job->ic, OC = job->oc, MR = uk->mr, NR = uk->nr;
    const cnn_f32_gemm_epilogue plain = {NULL, NULL, CNN_ACTIVATION_NONE, 0};
    for (int64_t xi = xi_begin; xi < xi_end; xi++)
        for (int64_t oc = oc_begin; oc < oc_end; oc += NR) {
            const size_t nr = (size_t)(oc_end - oc < NR ? oc_end - oc : NR);
            for (int64_t j = 0; j < nt; j += MR)
                uk->gemm((size_t)(nt - j < MR ? nt - j : MR), nr, (size_t)IC, v + xi * v_xi + j * IC,
                         (size_t)IC, u + xi * u_xi + (oc - oc_begin) * IC, (size_t)NR,
                         m + xi * m_xi + j * OC + oc, (size_t)OC, &plain);
        }
}

/* Blocked schedule, one item = a block of T tiles: input transforms into the thread's V, the
 * products with the whole U, output transforms from the thread's M. */
static void wino_blocks_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const wino_job* job = (const wino_job*)arg;
    const int64_t T = job->block;
    float* v = job->scratch + (size_t)thread_index * job->thread_floats;
    float* m = v + 36 * job->v_xi_stride;
    for (int64_t b = begin; b < end; b++) {
        const int64_t t0 = b * T;
        const int64_t nt = job->total_tiles - t0 < T ? job->total_tiles - t0 : T;
        wino_input_tiles(job, t0, nt, v, job->v_xi_stride);
        wino_products(job, 0, 36, v, job->v_xi_stride, nt, job->u, job->u_xi_stride, 0, job->oc,
                      m, job->m_xi_stride);
        wino_output_tiles(job, t0, nt, m, job->m_xi_stride);
    }
}

/* Panel schedule (few tiles, many channels): V and M of every tile are shared; one item of the
 * middle pass = one NR-column panel of output channels, whose U (36 x IC x NR) the thread
 * transforms into its own buffer and uses at once, so U never goes out to memory. */
static void wino_input_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const wino_job* job = (const wino_job*)arg;
    wino_input_tiles(job, begin, end - begin, job->v_all + begin * job->ic, job->v_xi_stride);
}

static void wino_panels_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const wino_job* job = (const wino_job*)arg;
    const int64_t IC = job->ic, OC = job->oc, NR = job->uk->nr;
    float* u = job->scratch + (size_t)thread_index * job->thread_floats;
    for (int64_t panel = begin; panel < end; panel++) {
        const int64_t oc0 = panel * NR, oc1 = oc0 + NR < OC ? oc0 + NR : OC;
        job->tr->weights(job->weight + oc0 * IC * 9, IC, oc1 - oc0, NR, 0, IC, u,
                         job->u_xi_stride);
        wino_products(job, 0, 36, job->v_all, job->v_xi_stride, job->total_tiles, u,
                      job->u_xi_stride, oc0, oc1, job->m_all, job->m_xi_stride);
    }
}

/* The same with a plan's U: one item = one xi for one panel, xi-major, so each thread's range
 * covers whole xi slices and reads V[xi] (all tiles) once for all of its panels while it is in
 * cache. Items by panel instead had each thread stream all of V once per panel from the other
 * core's cache: 128@28 ran 0.43 ms on 1 thread and 0.40 on 2. */
static void wino_packed_products_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const wino_job* job = (const wino_job*)arg;
    const int64_t IC = job->ic, OC = job->oc, NR = job->uk->nr;
    const int64_t panels = (OC + NR - 1) / NR;
    for (int64_t item = begin; item < end; item++) {
        const int64_t xi = item / panels, oc0 = item % panels * NR;
        const int64_t oc1 = oc0 + NR < OC ? oc0 + NR : OC;
        wino_products(job, xi, xi + 1, job->v_all, job->v_xi_stride, job->total_tiles,
                      job->packed_u + oc0 * IC, job->u_xi_stride, oc0, oc1, job->m_all,
                      job->m_xi_stride);
    }
}

static void wino_output_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const wino_job* job = (const wino_job*)arg;
    wino_output_tiles(job, begin, end - begin, job->m_all + begin * job->oc, job->m_xi_stride);
}

static int64_t round_up(int64_t x, int64_t m) {
    return (x + m - 1) / m * m;
}

/* Whether the driver can run this shape at all: 3x3, stride 1, dense, and planes the
 * transforms' 32-bit gathers can index. */
static int wino_shape_ok(const cnn_conv2d_params* p, int32_t out_height, int32_t out_width) {
    if (p->kernel_height != 3 || p->kernel_width != 3 || p->stride_height != 1 ||
        p->stride_width != 1 || p->dilation_height != 1 || p->dilation_width != 1 ||
        p->groups != 1)
        return 0;
    /* The transforms index channel planes with 32-bit gathers (16 lanes). */
    const int64_t in_plane = (int64_t)p->in_height * p->in_width;
    const int64_t out_plane = (int64_t)out_height * out_width;
    if (16 * in_plane > INT32_MAX || 16 * out_plane > INT32_MAX ||
        16 * 9 * (int64_t)p->in_channels > INT32_MAX)
        return 0;
    return 1;
}

/* The tiles of a call that both routing rules may consider (shape supported, at least one full
 * NR panel of channels each way: AVX-512 at 16 channels measured 0.96-1.05), else 0. */
static int64_t wino_candidate_tiles(const cnn_conv2d_params* p, int32_t out_height,
                                    int32_t out_width, const cnn_f32_gemm_ukernel* ukernel) {
    if (!wino_shape_ok(p, out_height, out_width)) return 0;
    if (p->in_channels < ukernel->nr || p->out_channels < ukernel->nr) return 0;
    return (int64_t)p->batch * ((out_height + 3) / 4) * ((out_width + 3) / 4);
}

int cnn_f32_conv2d_winograd_suits(const cnn_conv2d_params* p, int32_t out_height,
                                  int32_t out_width, const cnn_f32_gemm_ukernel* ukernel) {
    const int64_t tiles = wino_candidate_tiles(p, out_height, out_width, ukernel);
    /* Measured speedups over the GEMM driver (CPU time, busy 2-core Zen 5, 1 thread, AVX-512 /
     * AVX2; docs/design.md has the table): 64@56 2.15 / 2.89, 128@28 1.52-2.34 / 2.90, 256@14
     * 1.36-1.77 / 1.52, 64@14 1.58 / 2.05, 128@14 1.67 / 2.20, 64@7 2.04 / 2.30, 256@7 1.05 /
     * 1.48, 512@7 batch 4 1.58 / 1.89, batch 8 1.88 / 2.40. Losses, excluded below:
     *  - fewer output channels or input channels than the micro-kernel's NR columns: AVX-512
     *    with 16 channels 0.96-1.05 (AVX2, NR 16, wins 1.9x there);
     *  - more than 256 input channels with fewer than 16 tiles: 512@7 batch 1 (4 tiles) 0.49 /
     *    0.67, batch 2 0.99 / 1.10: a panel of U (36 x IC x NR) outgrows L2 and the weight
     *    transform of IC x OC filters is spread over too few tiles;
     *  - fewer than 4 tiles (not measured below that: the transforms' fixed costs dominate). */
    if (tiles < 4 || (p->in_channels > 256 && tiles < 16)) return 0;
    return 1;
}

/* All of U into job->u (blocked layout), over input channels: about 64K filter elements per
 * chunk, so small layers stay on one thread. */
static void wino_all_weights(cnn_context* ctx, wino_job* job) {
    cnn_parallel_for(ctx, job->ic, 1 + 65536 / (9 * job->oc), wino_weights_task, job);
}

/* Floats from one xi to the next in all of U (whole NR panels, plus one cache line). */
static int64_t wino_full_u_xi_stride(int64_t ic, int64_t oc, int64_t nr) {
    return round_up(round_up(oc, nr) * ic, 16) + 16;
}

int64_t cnn_f32_conv2d_winograd_packed_floats(int32_t in_channels, int32_t out_channels,
                                              const cnn_f32_gemm_ukernel* ukernel) {
    return 36 * wino_full_u_xi_stride(in_channels, out_channels, ukernel->nr);
}

void cnn_f32_conv2d_winograd_pack(cnn_context* ctx, int32_t in_channels, int32_t out_channels,
                                  const float* weight, float* packed,
                                  const cnn_f32_gemm_ukernel* ukernel,
                                  const cnn_f32_winograd_transforms* transforms) {
    wino_job job = {0};
    job.uk = ukernel;
    job.tr = transforms;
    job.ic = in_channels;
    job.oc = out_channels;
    job.weight = weight;
    job.u = packed;
    job.u_xi_stride = wino_full_u_xi_stride(job.ic, job.oc, ukernel->nr);
    wino_all_weights(ctx, &job);
}

int cnn_f32_conv2d_winograd_plan_suits(const cnn_conv2d_params* p, int32_t out_height,
                                       int32_t out_width, const cnn_f32_gemm_ukernel* ukernel) {
    const int64_t tiles = wino_candidate_tiles(p, out_height, out_width, ukernel);
    /* With U transformed once at create, only the input/output transforms and the 36 GEMMs
     * remain per call, so the per-call rule's large-channel exclusion mostly goes. Measured
     * plan (packed U) vs GEMM, CPU time, 1 thread, busy 2-core Zen 5, AVX2 / AVX-512
     * (bench_conv_plan.c): 256@14 2.34 / 2.39, batch 8 2.99 / 2.04; 256@7 2.61 / 2.36; 384@7
     * 1.56 / 1.43; 512@14 1.71 / 1.70; 512@7 batch 1 1.12-1.23 / 0.75-0.80, batch 2 1.43 /
     * 1.60, batch 8 2.71 / 2.81; 128@7 3.27 / 2.64; 64@56 2.89 / 2.12. Losses, excluded:
     *  - channels below NR (AVX-512 16@56: 0.96), as per call;
     *  - one tile (256@4: 0.78 / 0.89): the transforms' fixed costs; kept at >= 4 tiles;
     *  - AVX-512 with U beyond 384x384 filters (> 21 MB, 4x the plain weights) and < 8 tiles:
     *    the products stream U from memory for too few tiles while the AVX-512 GEMM reads only
     *    the plain weights (512@7 batch 1); AVX2's slower GEMM still loses there. */
    if (tiles < 4) return 0;
    if (ukernel->nr >= 32 && (int64_t)p->in_channels * p->out_channels > 384 * 384 && tiles < 8)
        return 0;
    return 1;
}

/* The driver; packed_u = a plan's U (cnn_f32_conv2d_winograd_pack), or NULL to transform
 * `weight` here. */
static cnn_status wino_run(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                           int32_t out_width, const float* input, const float* weight,
                           const float* packed_u, const float* bias, cnn_activation activation,
                           float* output, const cnn_f32_gemm_ukernel* ukernel,
                           const cnn_f32_winograd_transforms* transforms) {
    const int64_t MR = ukernel->mr, NR = ukernel->nr;
    wino_job job = {0};
    job.p = p;
    job.uk = ukernel;
    job.tr = transforms;
    job.out_h = out_height;
    job.out_w = out_width;
    job.tiles_w = (out_width + 3) / 4;
    job.tiles_per_image = (int64_t)((out_height + 3) / 4) * job.tiles_w;
    job.total_tiles = p->batch * job.tiles_per_image;
    job.ic = p->in_channels;
    job.oc = p->out_channels;
    job.input = input;
    job.weight = weight;
    job.packed_u = packed_u;
    job.bias = bias;
    job.activation = activation;
    job.output = output;

    /* Which operand stays whole: U (36 x IC x OC) or V and M (36 x tiles x (IC + OC)). */
    if (job.ic * job.oc >= job.total_tiles * (job.ic + job.oc)) {
        const int64_t panels = (job.oc + NR - 1) / NR;
        const int32_t chunks = cnn_parallel_chunks(ctx, panels, 1);
        job.u_xi_stride = packed_u != NULL ? wino_full_u_xi_stride(job.ic, job.oc, NR)
                                           : round_up(job.ic * NR, 16) + 16;
        job.v_xi_stride = round_up(job.total_tiles * job.ic, 16) + 16;
        job.m_xi_stride = round_up(job.total_tiles * job.oc, 16) + 16;
        const size_t v_floats = (size_t)(36 * job.v_xi_stride);
        const size_t m_floats = (size_t)(36 * job.m_xi_stride);
        job.thread_floats = packed_u != NULL ? 0 : (size_t)(36 * job.u_xi_stride);
        float* base = (float*)cnn_context_scratch(
            ctx, (v_floats + m_floats + (size_t)chunks * job.thread_floats) * sizeof(float));
        if (base == NULL) return CNN_STATUS_OUT_OF_MEMORY;
        job.v_all = base;
        job.m_all = base + v_floats;
        job.scratch = base + v_floats + m_floats;
        /* Tiles per chunk of the transform passes: about 64K floats of V or M each. */
        cnn_parallel_for(ctx, job.total_tiles, 1 + 65536 / (36 * job.ic), wino_input_task, &job);
        if (packed_u != NULL)
            cnn_parallel_for(ctx, 36 * panels, 1, wino_packed_products_task, &job);
        else
            cnn_parallel_for(ctx, panels, 1, wino_panels_task, &job);
        cnn_parallel_for(ctx, job.total_tiles, 1 + 65536 / (36 * job.oc), wino_output_task, &job);
        return CNN_STATUS_SUCCESS;
    }

    /* Tile block: V + M of one thread (36 x T x (IC + OC) floats) within ~256 KiB of L2, whole
     * MR-row slices; then small enough that every thread gets about two blocks. */
    int64_t block = (65536 / (36 * (job.ic + job.oc))) / MR * MR;
    if (block < MR) block = MR;
    if (block > 8 * MR) block = 8 * MR;
    const int64_t want_blocks = 2 * (int64_t)ctx->num_threads;
    if (ctx->num_threads > 1 && (job.total_tiles + block - 1) / block < want_blocks) {
        block = round_up((job.total_tiles + want_blocks - 1) / want_blocks, MR);
        if (block < MR) block = MR;
    }
    job.block = block;
    const int64_t blocks = (job.total_tiles + block - 1) / block;
    const int32_t chunks = cnn_parallel_chunks(ctx, blocks, 1);
    job.u_xi_stride = wino_full_u_xi_stride(job.ic, job.oc, NR);
    job.v_xi_stride = round_up(block * job.ic, 16) + 16;
    job.m_xi_stride = round_up(block * job.oc, 16) + 16;
    job.thread_floats = (size_t)(36 * (job.v_xi_stride + job.m_xi_stride));
    const size_t u_floats = packed_u != NULL ? 0 : (size_t)(36 * job.u_xi_stride);
    float* base = (float*)cnn_context_scratch(
        ctx, (u_floats + (size_t)chunks * job.thread_floats) * sizeof(float));
    if (base == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    job.scratch = base + u_floats;
    if (packed_u != NULL) {
        job.u = (float*)packed_u; /* only read: wino_products takes it as const */
    } else {
        job.u = base;
        wino_all_weights(ctx, &job);
    }
    cnn_parallel_for(ctx, blocks, 1, wino_blocks_task, &job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_conv2d_winograd(cnn_context* ctx, const cnn_conv2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* weight, const float* bias,
                                   cnn_activation activation, float* output,
                                   const cnn_f32_gemm_ukernel* ukernel,
                                   const cnn_f32_winograd_transforms* transforms) {
    return wino_run(ctx, p, out_height, out_width, input, weight, NULL, bias, activation, output,
                    ukernel, transforms);
}

cnn_status cnn_f32_conv2d_winograd_packed(cnn_context* ctx, const cnn_conv2d_params* p,
                                          int32_t out_height, int32_t out_width,
                                          const float* input, const float* packed,
                                          const float* bias, cnn_activation activation,
                                          float* output, const cnn_f32_gemm_ukernel* ukernel,
                                          const cnn_f32_winograd_transforms* transforms) {
    return wino_run(ctx, p, out_height, out_width, input, NULL, packed, bias, activation, output,
                    ukernel, transforms);
}
