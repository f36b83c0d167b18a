/* f32-conv2d-direct-7x64-avx512.c — the AVX-512 tile of the direct convolution (see
 * f32-conv2d-direct.h): 7 output pixels x 64 output channels = 28 ZMM accumulators. Per tap:
 * 4 aligned loads of packed weights and 7 broadcasts that the compiler folds into the FMAs as
 * {1to16} memory operands, for 28 FMAs: 14 cycles on two 512-bit FMA pipes against 11 loads, and
 * 28 independent chains cover the FMA latency. The 7 pixel pointers (any stride, the tail
 * re-reading its last pixel) are registers, so one body serves every stride.
 * The store transposes each 7(+1) x 16 block into 16 rows of 8 pixels (24 shuffles), so the
 * output stays plain NCHW. The body is written once over NV (1..4 vectors of channels). */
#include <immintrin.h>

#include "f32-conv2d-direct.h"
#include "f32-gemm.h" /* cnn_f32_avx512_activate */

#define MR 7
#define VEC 16

/* acc += x * (*w) with the weight vector as the FMA's memory operand. Written as asm because
 * GCC otherwise keeps all NV weight vectors in registers: with 28 accumulators, 4 weight vectors
 * and the broadcast that is 33 registers, and it spills an accumulator to the stack on every tap.
 * The last vector is read from memory instead (7 more loads per tap, well within the 2 per cycle;
 * folding the broadcasts instead costs 28 loads per tap and was 1.4x slower). */
#if defined(__GNUC__) || defined(__clang__)
#define FMA_MEMORY(acc, x, w) \
    __asm__("vfmadd231ps %[m], %[b], %[a]" : [a] "+v"(acc) : [b] "v"(x), [m] "m"(*(const __m512*)(w)))
#else
#define FMA_MEMORY(acc, x, w) ((acc) = _mm512_fmadd_ps((x), _mm512_load_ps(w), (acc)))
#endif

/* lanes [0, n) of one vector, n clamped to [0, 16] */
static inline __mmask16 lanes(int64_t n) {
    return n >= VEC ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* rows r[0..7] (16 lanes each) -> z[0..7], where z[m] holds column c_lo(m) in its low 8 lanes
 * and c_hi(m) in its high 8 (rows 0..7 in order): m = 0..3 columns m and 4+m, m = 4..7 columns
 * 8+(m-4) and 12+(m-4). Unpack pairs, then quads within 128-bit lanes, then one two-source
 * permute per output joins rows 0..3 and 4..7 of two columns. */
static inline __attribute__((always_inline)) void transpose_8x16(const __m512 r[8], __m512 z[8]) {
    __m512 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) { /* rows 0..3 (t0..t3) and 4..7 (t4..t7) */
        u[4 * h + 0] = _mm512_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm512_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    /* u[m] (rows 0..3) and u[4+m] (rows 4..7): 128-bit lane L holds column 4L+m */
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i hi =
        _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int m = 0; m < 4; m++) {
        z[m] = _mm512_permutex2var_ps(u[m], lo, u[4 + m]);
        z[4 + m] = _mm512_permutex2var_ps(u[m], hi, u[4 + m]);
    }
}

static inline __attribute__((always_inline)) void direct_tile(
    const int NV, size_t mr, size_t nc, size_t k, const float* x, const int64_t* offsets,
    int64_t stride, const float* w, size_t ldw, const cnn_f32_direct_epilogue* e) {
    const float* xp[MR];
    for (int i = 0; i < MR; i++) xp[i] = x + (i < (int)mr ? i : (int)mr - 1) * stride;

    __m512 acc[MR][4];
#pragma GCC unroll 7
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[i][v] = e->first ? _mm512_setzero_ps()
                                 : _mm512_loadu_ps(e->partial + i * 64 + v * VEC);

    for (size_t kk = 0; kk < k; kk++) {
        const int64_t o = offsets[kk];
        const float* wr = w + kk * ldw;
        __m512 wv[3];
#pragma GCC unroll 4
        for (int v = 0; v < NV && v < 3; v++) wv[v] = _mm512_load_ps(wr + v * VEC);
#pragma GCC unroll 7
        for (int i = 0; i < MR; i++) {
            const __m512 xv = _mm512_set1_ps(xp[i][o]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                if (v == 3)
                    FMA_MEMORY(acc[i][v], xv, wr + v * VEC);
                else
                    acc[i][v] = _mm512_fmadd_ps(xv, wv[v], acc[i][v]);
            }
        }
    }

    if (!e->last) {
#pragma GCC unroll 7
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(e->partial + i * 64 + v * VEC, acc[i][v]);
        return;
    }
    const __mmask16 px_lo = lanes((int64_t)mr), px_hi = (__mmask16)(px_lo << 8);
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        const int64_t c0 = (int64_t)v * VEC, valid = (int64_t)nc - c0; /* channels of vector v */
        const __m512 bias =
            e->bias != NULL ? _mm512_maskz_loadu_ps(lanes(valid), e->bias + c0) : _mm512_setzero_ps();
        __m512 r[8], z[8];
#pragma GCC unroll 7
        for (int i = 0; i < MR; i++)
            r[i] = cnn_f32_avx512_activate(_mm512_add_ps(acc[i][v], bias), e->activation);
        r[MR] = _mm512_setzero_ps();
        transpose_8x16(r, z);
        float* out = e->out + c0 * e->out_stride;
        const int64_t os = e->out_stride;
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) {
            /* z[m]: column c (low half) and c + 4 (high half) */
            const int64_t c = m < 4 ? m : 8 + (m - 4);
            if (c < valid) _mm512_mask_storeu_ps(out + c * os, px_lo, z[m]);
            if (c + 4 < valid) _mm512_mask_storeu_ps(out + (c + 4) * os - 8, px_hi, z[m]);
        }
    }
}

static void tile_7x64(size_t mr, size_t nc, size_t k, const float* x, const int64_t* offsets,
                      int64_t stride, const float* w, size_t ldw,
                      const cnn_f32_direct_epilogue* e) {
    switch ((nc + VEC - 1) / VEC) {
        case 1: direct_tile(1, mr, nc, k, x, offsets, stride, w, ldw, e); break;
        case 2: direct_tile(2, mr, nc, k, x, offsets, stride, w, ldw, e); break;
        case 3: direct_tile(3, mr, nc, k, x, offsets, stride, w, ldw, e); break;
        default: direct_tile(4, mr, nc, k, x, offsets, stride, w, ldw, e); break;
    }
}

const cnn_f32_direct_ukernel cnn_f32_direct_7x64_avx512 = {MR, 4 * VEC, VEC, tile_7x64};
