/* cpu.c — what this CPU and OS support, asked once through CPUID/XGETBV. */
#include "cnn_internal.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#  define CNN_X86 1
#  if defined(_MSC_VER)
#    include <intrin.h>
#  else
#    include <cpuid.h>
#  endif
#endif

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <unistd.h>
#endif

#if CNN_X86
static void cpuid(unsigned leaf, unsigned subleaf, unsigned r[4]) {
#  if defined(_MSC_VER)
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)subleaf);
    for (int i = 0; i < 4; i++) r[i] = (unsigned)regs[i];
#  else
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
#  endif
}

static unsigned long long xgetbv0(void) {
#  if defined(_MSC_VER)
    return _xgetbv(0);
#  else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#  endif
}

/* bit 0: AVX2+FMA usable, bit 1: AVX-512 F/BW/DQ/VL usable. */
static int detect(void) {
    unsigned r[4];
    cpuid(0, 0, r);
    unsigned max_leaf = r[0];
    if (max_leaf < 7) return 0;
    cpuid(1, 0, r);
    int fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx) return 0;
    unsigned long long xcr0 = xgetbv0();
    int ymm_ok = (xcr0 & 0x6) == 0x6;    /* XMM + YMM state saved by the OS */
    int zmm_ok = (xcr0 & 0xE6) == 0xE6;  /* + opmask, ZMM_Hi256, Hi16_ZMM */
    cpuid(7, 0, r);
    int avx2 = (r[1] >> 5) & 1;
    int avx512f = (r[1] >> 16) & 1, avx512dq = (r[1] >> 17) & 1;
    int avx512bw = (r[1] >> 30) & 1, avx512vl = (r[1] >> 31) & 1;
    int flags = 0;
    if (ymm_ok && avx2 && fma) flags |= 1;
    if ((flags & 1) && zmm_ok && avx512f && avx512dq && avx512bw && avx512vl) flags |= 2;
    return flags;
}
#else
static int detect(void) { return 0; }
#endif

/* Racy first call is harmless: every thread computes the same value. */
static int cpu_flags(void) {
    static volatile int cached = -1;
    if (cached < 0) cached = detect();
    return cached;
}

int cnn_cpu_has_avx2(void) { return cpu_flags() & 1; }
int cnn_cpu_has_avx512(void) { return (cpu_flags() >> 1) & 1; }

int32_t cnn_cpu_hardware_threads(void) {
#if defined(_WIN32)
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    long n = (long)info.dwNumberOfProcessors;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    if (n < 1) n = 1;
    if (n > CNN_MAX_THREADS) n = CNN_MAX_THREADS;
    return (int32_t)n;
}
