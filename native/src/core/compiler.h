/*
 * compiler.h — the one place that spells compiler-specific syntax (GCC/Clang vs MSVC).
 *
 * Every other native source uses these macros instead of __attribute__, __builtin_*, #pragma GCC
 * or _Thread_local, so the core builds with GCC, Clang, clang-cl and MSVC alike. On GCC and Clang
 * each macro expands to exactly what the sources spelled before, so Linux builds are unchanged
 * (same pragmas, same attributes, same code). native/tests/check_portability.py (a ctest test)
 * fails when a GCC-ism appears outside this file without an #if __GNUC__/__clang__ guard.
 */
#ifndef CNN_COMPILER_H
#define CNN_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#  define CNN_GNU_LIKE 1
#else
#  define CNN_GNU_LIKE 0
#endif

/* Stringizes its argument into a pragma, so a macro can emit one. */
#define CNN_PRAGMA(text) _Pragma(#text)

#if CNN_GNU_LIKE
/* Inline even where the optimizer's budget says no (kernel micro-tiles whose arrays of vectors
 * must stay in registers). Use as `static CNN_ALWAYS_INLINE void f(...)`. */
#  define CNN_ALWAYS_INLINE inline __attribute__((always_inline))
/* Keep a function out of line (a cold path that would bloat a hot loop). */
#  define CNN_NOINLINE __attribute__((noinline))
/* Unroll the next loop n times (GCC's pragma; Clang accepts it too). */
#  define CNN_UNROLL(n) CNN_PRAGMA(GCC unroll n)
/* Prefetch for a read into all cache levels (GCC's defaults: rw = 0, locality = 3). */
#  define CNN_PREFETCH(address) __builtin_prefetch(address)
/* Branch hint: the condition is almost always false. */
#  define CNN_UNLIKELY(condition) __builtin_expect(!!(condition), 0)
/* printf-style format checking of argument `fmt` with varargs from `first`. */
#  define CNN_PRINTF_FORMAT(fmt, first) __attribute__((format(printf, fmt, first)))
#  define CNN_THREAD_LOCAL _Thread_local
#elif defined(_MSC_VER)
#  include <xmmintrin.h> /* _mm_prefetch: SSE, always available on x64 */
#  define CNN_ALWAYS_INLINE __forceinline
#  define CNN_NOINLINE __declspec(noinline)
/* MSVC's C compiler has no loop-unroll pragma: it unrolls by its own heuristics. */
#  define CNN_UNROLL(n)
#  define CNN_PREFETCH(address) _mm_prefetch((const char*)(address), _MM_HINT_T0)
#  define CNN_UNLIKELY(condition) (condition)
#  define CNN_PRINTF_FORMAT(fmt, first)
/* MSVC's C mode lacks _Thread_local before VS 2022 17.x; __declspec(thread) is its equivalent. */
#  define CNN_THREAD_LOCAL __declspec(thread)
#else
#  error "compiler.h: unknown compiler (expected GCC, Clang or MSVC); add its spellings here"
#endif

#endif /* CNN_COMPILER_H */
