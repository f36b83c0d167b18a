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
 * One call = two parallel regions:
 *  1. U for every filter (over input channels; small layers stay on the calling thread),
 *     [36][OC/NR][IC][NR]: the weights may change between calls (the API is stateless), and at
 *     these sizes the transform costs little next to the GEMMs (measured, see docs/design.md).
 *  2. Blocks of T tiles (across the batch, so batch > 1 gives more blocks): per block the
 *     thread transforms the input tiles into its V [36][T][IC], runs the 36 GEMMs into its M
 *     [36][T][OC], and transforms M into the output (bias + activation fused). V and M are
 *     sized to stay in L2 while U streams through.
 * The reductions (over IC in the micro-kernel, and the transforms) never depend on the block
 * partition, so results are the same for every thread count. */
#include "f32-gemm.h"

typedef struct {
    const cnn_conv2d_params* p;
    const cnn_f32_gemm_ukernel* uk;
    const cnn_f32_winograd_transforms* tr;
    int64_t out_h, out_w, tiles_w, tiles_per_image, total_tiles, block;
    int64_t ic, oc, u_xi_stride;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
    float* u;
    float* scratch;
    size_t thread_floats; /* V + M of one thread */
} wino_job;

static void wino_weights_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const wino_job* job = (const wino_job*)arg;
    job->tr->weights(job->weight, job->ic, job->oc, job->uk->nr, begin, end, job->u);
}

static void wino_tiles_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const wino_job* job = (const wino_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const cnn_f32_gemm_ukernel* uk = job->uk;
    const int64_t IC = job->ic, OC = job->oc, T = job->block, MR = uk->mr, NR = uk->nr;
    const int64_t in_plane = (int64_t)p->in_height * p->in_width;
    const int64_t out_plane = job->out_h * job->out_w;
    float* v = job->scratch + (size_t)thread_index * job->thread_floats;
    float* m = v + 36 * T * IC;
    const cnn_f32_gemm_epilogue plain = {NULL, NULL, CNN_ACTIVATION_NONE, 0};
    for (int64_t b = begin; b < end; b++) {
        const int64_t t0 = b * T;
        const int64_t nt = job->total_tiles - t0 < T ? job->total_tiles - t0 : T;
        for (int64_t j = 0; j < nt; j++) {
            const int64_t n = (t0 + j) / job->tiles_per_image, t = (t0 + j) % job->tiles_per_image;
            const int64_t ty = t / job->tiles_w, tx = t % job->tiles_w;
            job->tr->input(job->input + n * IC * in_plane, p->in_height, p->in_width, IC,
                           4 * ty - p->pad_top, 4 * tx - p->pad_left, v + j * IC, T * IC);
        }
        /* Per xi: each NR-column panel of U (K x NR, contiguous) is reused by every MR-tile
         * slice of the block while it sits in L1. */
        for (int64_t xi = 0; xi < 36; xi++) {
            const float* vx = v + xi * T * IC;
            const float* ux = job->u + xi * job->u_xi_stride;
            float* mx = m + xi * T * OC;
            for (int64_t oc = 0; oc < OC; oc += NR) {
                const size_t nr = (size_t)(OC - oc < NR ? OC - oc : NR);
                for (int64_t j = 0; j < nt; j += MR) {
                    const size_t mr = (size_t)(nt - j < MR ? nt - j : MR);
                    uk->gemm(mr, nr, (size_t)IC, vx + j * IC, (size_t)IC, ux + oc * IC,
                             (size_t)NR, mx + j * OC + oc, (size_t)OC, &plain);
                }
            }
        }
        for (int64_t j = 0; j < nt; j++) {
            const int64_t n = (t0 + j) / job->tiles_per_image, t = (t0 + j) % job->tiles_per_image;
            const int64_t oy = 4 * (t / job->tiles_w), ox = 4 * (t % job->tiles_w);
            const int rows = job->out_h - oy < 4 ? (int)(job->out_h - oy) : 4;
            const int cols = job->out_w - ox < 4 ? (int)(job->out_w - ox) : 4;
            job->tr->output(m + j * OC, T * OC, OC, job->bias, job->activation,
                            job->output + n * OC * out_plane + oy * job->out_w + ox, out_plane,
                            job->out_w, rows, cols);
        }
    }
}

static int64_t round_up(int64_t x, int64_t m) {
    return (x + m - 1) / m * m;
}

int cnn_f32_conv2d_winograd_suits(const cnn_conv2d_params* p, int32_t out_height,
                                  int32_t out_width) {
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
    /* Measured (CPU time, 1 thread, AVX-512 / AVX2 speedup over the GEMM driver): 64@56 1.94 /
     * 2.48, 128@28 1.76 / 1.79, 64@28 1.60 / 2.07, 32@28 1.39 / 1.92, 256@14 batch 2 1.20 /
     * 1.32, batch 8 1.88 / 2.15, 512@7 batch 8 1.18; but 16 tiles per call lose (64@14 0.95,
     * 128@14 0.90, 256@14 0.77-0.92, 512@7 batch 4 0.72): the per-call weight transform (36 x IC
     * x OC floats written, then read by the GEMMs) is not amortized, and 14 or 7 pixels leave a
     * quarter of the 4x4 tiles' outputs clipped. 16 channels: AVX-512 0.96 (the GEMM is too
     * short to win back the transforms). Hence: at least 32 tiles and 32 channels each way. */
    const int64_t tiles = (int64_t)p->batch * ((out_height + 3) / 4) * ((out_width + 3) / 4);
    if (p->in_channels < 32 || p->out_channels < 32 || tiles < 32) return 0;
    return 1;
}

cnn_status cnn_f32_conv2d_winograd(cnn_context* ctx, const cnn_conv2d_params* p,
                                   int32_t out_height, int32_t out_width, const float* input,
                                   const float* weight, const float* bias,
                                   cnn_activation activation, float* output,
                                   const cnn_f32_gemm_ukernel* ukernel,
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
    job.u_xi_stride = round_up(job.oc, NR) * job.ic;
    job.input = input;
    job.weight = weight;
    job.bias = bias;
    job.activation = activation;
    job.output = output;

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
    job.thread_floats = (size_t)round_up(36 * block * (job.ic + job.oc), 16);
    const size_t u_floats = (size_t)round_up(36 * job.u_xi_stride, 16);
    float* base = (float*)cnn_context_scratch(
        ctx, (u_floats + (size_t)chunks * job.thread_floats) * sizeof(float));
    if (base == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    job.u = base;
    job.scratch = base + u_floats;

    /* About 64K filter elements per weight-transform chunk: small layers stay on one thread. */
    cnn_parallel_for(ctx, job.ic, 1 + 65536 / (9 * job.oc), wino_weights_task, &job);
    cnn_parallel_for(ctx, blocks, 1, wino_tiles_task, &job);
    return CNN_STATUS_SUCCESS;
}
