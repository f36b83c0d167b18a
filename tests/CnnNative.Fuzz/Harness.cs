using System.Globalization;

namespace CnnNative.Fuzz;

/// <summary>
/// Runs one input through a target and checks the invariants; a violation throws
/// <see cref="FuzzInvariantException"/>, which afl records as a crash. The invariants:
/// <list type="number">
/// <item>only the exception types the target's XML docs name escape (<see cref="FuzzTarget.Documented"/>);</item>
/// <item>memory: the managed bytes allocated while reading, and the growth of the process's peak RSS (native
///   tensors, touched managed arrays, everything), each stay within <see cref="BudgetFactor"/> x the input size
///   (for gzip IDX: its decompressed size) + <see cref="BudgetConstantBytes"/>;</item>
/// <item>no native leak: the library's live native bytes are back where they were once the results are disposed
///   (an input that leaves bytes behind is read a second time; growing again is a leak, growing once is scratch).</item>
/// </list>
/// </summary>
internal static class Harness
{
    /// <summary>Bytes of memory allowed per input byte. A float32 tensor from F16/BF16/uint8 data is 2-4x its
    /// bytes, plus the managed staging copy and the parser's own objects; 32x leaves room for that.</summary>
    public const long BudgetFactor = 32;

    /// <summary>Memory allowed whatever the input size: the JIT compiling a first-seen path, GC heap growth.</summary>
    public const long BudgetConstantBytes = 96L << 20;

    public static void Execute(FuzzTarget target, string path)
    {
        long basis = target.BudgetBasis(path);
        long budget = BudgetFactor * basis + BudgetConstantBytes;
        long liveGrowth = ReadOnce(target, path, budget);
        if (liveGrowth > 0 && ReadOnce(target, path, budget) is var again and > 0)
        {
            throw new FuzzInvariantException(
                $"{target.Name}: native leak: {again} live native bytes left behind by a second read of the same input " +
                $"({liveGrowth} by the first)");
        }
    }

    /// <summary>Reads the input once, checks exceptions and memory, returns the growth of live native bytes.</summary>
    private static long ReadOnce(FuzzTarget target, string path, long budget)
    {
        NativeMemoryStats nativeBefore = Cnn.MemoryStats();
        ResetPeakRss();
        long rssBefore = StatusKb("VmRSS") * 1024;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            target.Read(path);
        }
        catch (FuzzInvariantException)
        {
            throw;
        }
        catch (Exception e) when (target.IsDocumented(e))
        {
        }
        catch (Exception e)
        {
            throw new FuzzInvariantException(
                $"{target.Name}: undocumented exception {e.GetType().FullName}: {e.Message}", e);
        }

        long managed = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long peakGrowth = StatusKb("VmHWM") * 1024 - rssBefore;
        if (managed > budget)
            throw new FuzzInvariantException(Over(target, "managed allocation", managed, budget));
        if (peakGrowth > budget)
            throw new FuzzInvariantException(Over(target, "peak RSS growth", peakGrowth, budget));
        return Cnn.MemoryStats().LiveBytes - nativeBefore.LiveBytes;
    }

    private static string Over(FuzzTarget target, string what, long bytes, long budget)
        => string.Create(CultureInfo.InvariantCulture,
            $"{target.Name}: {what} {bytes:N0} bytes exceeds the budget {budget:N0} ({BudgetFactor} x input + {BudgetConstantBytes >> 20} MiB)");

    /// <summary>Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs), so the next peak is this input's.</summary>
    private static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FuzzInvariantException($"cannot reset the peak RSS through /proc/self/clear_refs ({e.Message}); the memory invariant needs Linux >= 4.0", e);
        }
    }

    private static long StatusKb(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
        }

        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }
}
