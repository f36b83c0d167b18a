using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnNative.Benchmarks.Peers;

/// <summary>
/// What the report prints at its top so runs on different machines can be read: the CPU model and the
/// FMA peak measured here. Zen 4 runs 512-bit FMAs double-pumped (its AVX-512 peak equals its AVX2 peak);
/// Zen 5 runs them at full width, so the two columns tell the machines apart.
/// </summary>
public static class MachineInfo
{
    /// <summary>"model name" of /proc/cpuinfo (or the processor identifier elsewhere).</summary>
    public static string CpuModel()
    {
        if (File.Exists("/proc/cpuinfo"))
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "unknown";
    }

    /// <summary>
    /// Single-precision FMA GFLOP/s of <paramref name="threads"/> threads at <paramref name="bits"/>-bit width
    /// (256: AVX2+FMA, 512: AVX-512F), the best of <paramref name="rounds"/> rounds; 0 when the CPU lacks the ISA.
    /// Each thread runs 12 independent accumulator chains, enough to hide the FMA latency on two FMA pipes.
    /// </summary>
    public static double FmaPeakGflops(int bits, int threads, int rounds = 5)
    {
        if (bits == 256 && !Fma.IsSupported || bits == 512 && !Avx512F.IsSupported)
        {
            return 0;
        }
        const long iterations = 20_000_000;
        double best = 0;
        for (int r = 0; r < rounds; r++)
        {
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                float sink = bits == 512 ? Chains512(iterations / 4) : Chains256(iterations / 4);
                GC.KeepAlive(sink);
            })).ToList();
            workers.ForEach(t => t.Start());
            start.SignalAndWait();
            long t0 = Stopwatch.GetTimestamp();
            workers.ForEach(t => t.Join());
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            // 12 FMAs per iteration, each 2 flops per lane.
            double flops = threads * (iterations / 4.0) * 12 * 2 * (bits / 32);
            best = Math.Max(best, flops / seconds / 1e9);
        }
        return best;
    }

    private static float Chains256(long n)
    {
        Vector256<float> a = Vector256.Create(0.999f), b = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
            c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < n; i++)
        {
            c0 = Fma.MultiplyAdd(c0, a, b); c1 = Fma.MultiplyAdd(c1, a, b); c2 = Fma.MultiplyAdd(c2, a, b);
            c3 = Fma.MultiplyAdd(c3, a, b); c4 = Fma.MultiplyAdd(c4, a, b); c5 = Fma.MultiplyAdd(c5, a, b);
            c6 = Fma.MultiplyAdd(c6, a, b); c7 = Fma.MultiplyAdd(c7, a, b); c8 = Fma.MultiplyAdd(c8, a, b);
            c9 = Fma.MultiplyAdd(c9, a, b); c10 = Fma.MultiplyAdd(c10, a, b); c11 = Fma.MultiplyAdd(c11, a, b);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }

    private static float Chains512(long n)
    {
        Vector512<float> a = Vector512.Create(0.999f), b = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
            c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < n; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, a, b); c1 = Avx512F.FusedMultiplyAdd(c1, a, b); c2 = Avx512F.FusedMultiplyAdd(c2, a, b);
            c3 = Avx512F.FusedMultiplyAdd(c3, a, b); c4 = Avx512F.FusedMultiplyAdd(c4, a, b); c5 = Avx512F.FusedMultiplyAdd(c5, a, b);
            c6 = Avx512F.FusedMultiplyAdd(c6, a, b); c7 = Avx512F.FusedMultiplyAdd(c7, a, b); c8 = Avx512F.FusedMultiplyAdd(c8, a, b);
            c9 = Avx512F.FusedMultiplyAdd(c9, a, b); c10 = Avx512F.FusedMultiplyAdd(c10, a, b); c11 = Avx512F.FusedMultiplyAdd(c11, a, b);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }
}
