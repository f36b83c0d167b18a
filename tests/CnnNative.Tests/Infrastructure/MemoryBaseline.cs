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
        Assert.Equal(baseline.LiveBlocks, after.LiveBlocks);
        Assert.Equal(baseline.LiveBytes, after.LiveBytes);
    }
}
