using CnnNative.Interop;

namespace CnnNative.Tests.Infrastructure;

/// <summary>Native-memory baselines for the serial memory tests.</summary>
public static class MemoryBaseline
{
    /// <summary>The native memory statistics once pending finalizers (of undisposed tensors) have run.</summary>
    public static NativeMemoryStats Settled()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return Cnn.MemoryStats();
    }

    /// <summary>Settles, logs and asserts that a loop allocated natively and left the live blocks and bytes at <paramref name="baseline"/>.</summary>
    public static void AssertReturnedTo(NativeMemoryStats baseline, ITestOutputHelper output, CnnIsa isa)
    {
        NativeMemoryStats after = Settled();
        output.WriteLine($"{isa}: baseline {baseline}, after {after}");
        Assert.True(after.TotalAllocations > baseline.TotalAllocations, "the loop allocated nothing natively?");
        // A leak can only raise the counts. They may drop below the baseline: a thread-pool thread that
        // retires during the loop lets its per-thread native context (and scratch) be finalized.
        Assert.True(after.LiveBlocks <= baseline.LiveBlocks, $"live native blocks grew from {baseline.LiveBlocks} to {after.LiveBlocks}");
        Assert.True(after.LiveBytes <= baseline.LiveBytes, $"live native bytes grew from {baseline.LiveBytes} to {after.LiveBytes}");
    }
}
