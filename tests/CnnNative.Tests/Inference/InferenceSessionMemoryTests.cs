using CnnNative.Inference;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Inference;

/// <summary>
/// After warm-up, a session run and the caller-owned-output forms of conv and pooling allocate nothing: no managed
/// bytes on the calling thread and no native allocation. In the serial memory collection (the native counter is
/// process-wide).
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class InferenceSessionMemoryTests(ITestOutputHelper output)
{
    private const int Runs = 20;

    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet18")]
    public void Run_allocates_nothing_after_warm_up(string name)
    {
        (Module model, int[] shape) = SessionTestModels.Build(name);
        using (model)
        using (Tensor x = TestData.NormalTensor(3, shape))
        {
            using InferenceSession session = InferenceSession.Create(model, shape);
            using Tensor yTensor = Tensor.Zeros(session.OutputShape);
            float[] xArray = x.ToArray();
            var yArray = new float[yTensor.Length];
            output.WriteLine(session.ToString());

            AssertAllocatesNothing($"{name} Run(span, span)", () => session.Run(xArray, yArray));
            AssertAllocatesNothing($"{name} Run(tensor, tensor)", () => session.Run(x, yTensor));
            Assert.Equal(yArray, yTensor.ToArray());
        }
    }

    [Fact]
    public void Conv2d_and_MaxPool2d_into_outputs_allocate_nothing_after_warm_up()
    {
        using Tensor x = TestData.NormalTensor(1, 1, 8, 12, 12);
        using Tensor w = TestData.NormalTensor(2, 16, 8, 3, 3);
        using Tensor b = TestData.NormalTensor(3, 16);
        using Tensor y = Tensor.Zeros(1, 16, 12, 12);
        using Tensor p = Tensor.Zeros(1, 16, 6, 6);
        var conv = new Conv2dOptions { Padding = Padding2d.Symmetric(1) };
        var pool = new Pool2dOptions(2);
        AssertAllocatesNothing("Functional.Conv2d(..., output)", () => Functional.Conv2d(x, w, b, conv, Activation.Relu, y));
        AssertAllocatesNothing("Functional.MaxPool2d(..., output)", () => Functional.MaxPool2d(y, pool, p));
    }

    /// <summary>Two warm-up calls, then <see cref="Runs"/> calls: 0 managed bytes on this thread, 0 native allocations.</summary>
    private void AssertAllocatesNothing(string what, Action call)
    {
        call();
        call();
        NativeMemoryStats nativeBefore = Cnn.MemoryStats();
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Runs; i++)
        {
            call();
        }

        long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
        long native = Cnn.MemoryStats().TotalAllocations - nativeBefore.TotalAllocations;
        output.WriteLine($"{what}: {Runs} calls, {managed} managed bytes, {native} native allocations");
        Assert.Equal(0, managed);
        Assert.Equal(0, native);
    }
}
