using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests;

/// <summary>Runs alone (no other test allocates native memory meanwhile), after the parallel collections.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryCollection
{
    public const string Name = "Memory (serial)";
}

/// <summary>Native memory is back to its baseline after loops of creations, ops, failures and disposals.</summary>
[Collection(MemoryCollection.Name)]
public sealed class MemoryTests(ITestOutputHelper output)
{
    private static void OneRound(int i)
    {
        using Tensor x = TestData.NormalTensor(i, 2, 3, 9, 9);
        using Tensor w = TestData.NormalTensor(i + 1, 8, 3, 3, 3);
        using Tensor b = Tensor.Zeros(8);
        using Tensor y = Functional.Conv2d(x, w, b, new Conv2dOptions { Padding = Padding2d.Symmetric(1) }, Activation.Relu);
        using Tensor p = Functional.MaxPool2d(y, new Pool2dOptions(2) { CeilMode = true });
        using Tensor g = Functional.GlobalAvgPool2d(p);
        using Tensor flat = g.Reshape(2, -1);
        using Tensor s = Functional.LogSoftmax(flat, 1);
        using var plan = new Conv2dPlan(x.Shape, w, b, new Conv2dOptions { Padding = Padding2d.Symmetric(1) }, Activation.Relu);
        using Tensor yp = plan.Forward(x);
        Assert.ThrowsAny<ArgumentException>(() => new Conv2dPlan(x.Shape, w, b, new Conv2dOptions { Groups = 2 }));

        // Rejected calls allocate nothing that survives.
        Assert.ThrowsAny<ArgumentException>(() => Functional.Conv2d(x, w, b, new Conv2dOptions { Groups = 2 }));
        Assert.ThrowsAny<ArgumentException>(() => Functional.Add(x, y));
        Assert.ThrowsAny<ArgumentException>(() => Tensor.Zeros(1 << 30, 1 << 30));

        using var block = new BasicBlock(3, 4, 2);
        block.Eval();
        using Tensor z = block.Forward(x);
        Tensor forgotten = Tensor.Zeros(16); // never disposed: the finalizer must release it
        GC.KeepAlive(forgotten);
    }

    [Fact]
    public void Live_native_blocks_return_to_baseline_after_create_dispose_loops()
    {
        foreach (var isa in Isas.Tested)
        {
            using IDisposable _ = Isas.Use(isa);
            OneRound(-1); // warm-up: this thread's context and its scratch
            NativeMemoryStats baseline = MemoryBaseline.Settled();
            for (int i = 0; i < 100; i++)
            {
                OneRound(i);
            }

            // A safetensors round trip in the loop too.
            string path = TestPaths.NewScratchFile("mem", ".safetensors");
            for (int i = 0; i < 10; i++)
            {
                using var net = new LeNet5();
                net.SaveSafetensors(path);
                net.LoadSafetensors(path);
                foreach (var t in CnnNative.IO.Safetensors.Load(path).Values)
                {
                    t.Dispose();
                }
            }

            MemoryBaseline.AssertReturnedTo(baseline, output, isa);
        }
    }

    [Fact]
    public void Rejected_calls_allocate_nothing()
    {
        using Tensor x = Tensor.Zeros(1, 6, 5, 5);
        using Tensor w = Tensor.Zeros(4, 3, 3, 3);
        using Tensor a = Tensor.Zeros(2, 3);
        using Tensor b = Tensor.Zeros(3, 2);
        Functional.Relu(a).Dispose(); // this thread's context exists
        NativeMemoryStats before = Cnn.MemoryStats();
        for (int i = 0; i < 10; i++)
        {
            Assert.ThrowsAny<ArgumentException>(() => Tensor.Zeros(1 << 20, 1 << 20, 1 << 10));
            Assert.ThrowsAny<ArgumentException>(() => Tensor.Zeros(2, -1));
            Assert.ThrowsAny<ArgumentException>(() => Functional.Conv2d(x, w, null, new Conv2dOptions { Groups = 4 }));
            Assert.ThrowsAny<ArgumentException>(() => Functional.Conv2d(x, w, null, new Conv2dOptions { Stride = (0, 1) }));
            Assert.ThrowsAny<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(7)));
            Assert.ThrowsAny<ArgumentException>(() => Functional.AvgPool2d(x, new Pool2dOptions(3) { Padding = (2, 2) }));
            Assert.ThrowsAny<ArgumentException>(() => Functional.Add(a, b));
            Assert.ThrowsAny<ArgumentException>(() => Functional.Linear(a, b, null));
            Assert.ThrowsAny<ArgumentException>(() => Functional.Softmax(a, 5));
        }

        NativeMemoryStats after = Cnn.MemoryStats();
        output.WriteLine($"before {before}, after {after}");
        // Allocation count only: a finalizer may free a block another test forgot, meanwhile.
        Assert.Equal(before.TotalAllocations, after.TotalAllocations);
    }

    [Fact]
    public void Steady_state_calls_with_caller_owned_outputs_allocate_nothing()
    {
        foreach (var isa in Isas.Tested)
        {
            using IDisposable _ = Isas.Use(isa);
            using Tensor x = TestData.NormalTensor(1, 1, 16, 14, 14);
            using Tensor w = TestData.NormalTensor(2, 32, 16, 3, 3);
            using Tensor y = Tensor.Zeros(1, 32, 14, 14);
            using Tensor p = Tensor.Zeros(1, 32, 7, 7);
            using Tensor lw = TestData.NormalTensor(3, 10, 32 * 7 * 7);
            using Tensor l = Tensor.Zeros(1, 10);
            var conv = new Conv2dOptions { Padding = Padding2d.Symmetric(1) };
            var pool = new Pool2dOptions(2);

            void Step()
            {
                Functional.Conv2d(x, w, null, conv, Activation.Relu, y);
                Functional.MaxPool2d(y, pool, p);
                using Tensor flat = p.Reshape(1, -1); // a view: no native allocation
                Functional.Linear(flat, lw, null, Activation.None, l);
                Functional.Softmax(l, 1, l);
            }

            Step();
            Step(); // scratch has grown to its steady size
            NativeMemoryStats before = Cnn.MemoryStats();
            for (int i = 0; i < 20; i++)
            {
                Step();
            }

            NativeMemoryStats after = Cnn.MemoryStats();
            output.WriteLine($"{isa}: before {before}, after {after}");
            Assert.Equal(before.TotalAllocations, after.TotalAllocations);
        }
    }
}
