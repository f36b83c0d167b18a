/* f32-conv2d-direct-7x64-avx512.c — the AVX-512 tile of the direct convolution (see
 * f32-conv2d-direct.h; body in f32-conv2d-direct-tile.h): 7 output pixels x 64 output channels =
 * 28 ZMM accumulators. Per tap: 3 aligned weight loads, 7 broadcasts and 28 FMAs, 7 of them
 * with the 4th weight vector as a memory operand: 14 cycles on two 512-bit FMA pipes, and 28
 * independent chains cover the FMA latency. Measured on cached data: ~220 GFLOP/s, the same for
 * 6x64, 5x64 and 7x48 tiles (the machine's sustained FMA rate in our code, as for the 8x32 GEMM).
 * The store transposes each 7(+1) x 16 block into 16 rows of 8 pixels (24 shuffles), so the
 * output stays plain NCHW. */
#include <immintrin.h>

#include "f32-conv2d-direct.h"
#include "f32-gemm.h" /* cnn_f32_avx512_activate */

#define DT_MR 7
#define DT_VEC 16
#define DT_NVMAX 4
#define DT_WREGS 3

typedef __m512 dt_f32;
#define dt_zero() _mm512_setzero_ps()
#define dt_load(p) _mm512_load_ps(p)
#define dt_loadu(p) _mm512_loadu_ps(p)
#define dt_storeu(p, x) _mm512_storeu_ps((p), (x))
#define dt_set1(x) _mm512_set1_ps(x)
#define dt_add(a, b) _mm512_add_ps((a), (b))
#define dt_fma(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define dt_load_first(p, n) _mm512_maskz_loadu_ps(cnn_avx512_lanes(n), (p))
#define dt_activate(x, act) cnn_f32_avx512_activate((x), (act))

/* acc += x * (*w) with the weight vector as the FMA's memory operand. Written as asm because
 * GCC otherwise keeps all 4 weight vectors in registers: with 28 accumulators and the broadcast
 * that is 33 registers, and it spilled an accumulator to the stack on every tap (1.2x slower).
 * Folding the broadcasts into the FMAs instead (28 loads per tap) was 1.4x slower. */
#if defined(__GNUC__) || defined(__clang__)
#define dt_fma_mem(acc, x, w)                                                                     \
    __asm__("vfmadd231ps %[m], %[b], %[a]"                                                         \
            : [a] "+v"(acc)                                                                        \
            : [b] "v"(x), [m] "m"(*(const __m512*)(w)))
#else
#define dt_fma_mem(acc, x, w) ((acc) = _mm512_fmadd_ps((x), _mm512_load_ps(w), (acc)))
#endif

/* rows r[0..7] (16 lanes each) -> z[0..7], where z[m] holds column c_lo(m) in its low 8 lanes
 * and c_hi(m) in its high 8 (rows 0..7 in order): m = 0..3 columns m and 4+m, m = 4..7 columns
 * 8+(m-4) and 12+(m-4). Unpack pairs, then quads within 128-bit lanes, then one two-source
 * permute per output joins rows 0..3 and 4..7 of two columns. */
static CNN_ALWAYS_INLINE void transpose_8x16(const __m512 r[8], __m512 z[8]) {
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

/* 7 pixels (+ a zero row) x 16 channels -> 16 channel rows of mr pixels, masked. */
static CNN_ALWAYS_INLINE void dt_store_columns(const __m512 r[DT_MR],
                                                                   size_t mr, int64_t valid,
                                                                   float* out, int64_t os) {
    __m512 rows[8], z[8];
    for (int i = 0; i < DT_MR; i++) rows[i] = r[i];
    rows[DT_MR] = _mm512_setzero_ps();
    transpose_8x16(rows, z);
    const __mmask16 px_lo = cnn_avx512_lanes((int64_t)mr), px_hi = (__mmask16)(px_lo << 8);
CNN_UNROLL(8)
    for (int m = 0; m < 8; m++) {
        /* z[m]: column c (low half) and c + 4 (high half) */
        const int64_t c = m < 4 ? m : 8 + (m - 4);
        if (c < valid) _mm512_mask_storeu_ps(out + c * os, px_lo, z[m]);
        if (c + 4 < valid) _mm512_mask_storeu_ps(out + (c + 4) * os - 8, px_hi, z[m]);
    }
}

#include "f32-conv2d-direct-tile.h"

const cnn_f32_direct_ukernel cnn_f32_direct_7x64_avx512 = {DT_MR, DT_NVMAX * DT_VEC, DT_VEC,
                                                           direct_tile, 1024};
