using CnnNative.Inference;
using CnnNative.Nn;
using CnnNative.Onnx;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;

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

    /// <summary>
    /// A session compiled from an ONNX ResNet-18 exported by torch (tests/oracle/export_onnx.py, a python process that
    /// has exited before anything is measured).
    /// </summary>
    [Fact]
    public void Run_of_an_imported_onnx_resnet18_allocates_nothing_after_warm_up()
    {
        int[] shape = [1, 3, 64, 64];
        OnnxExport file = OnnxFixtures.Export(new OnnxExportJob("resnet18", 13, shape, 10, 3));
        using OnnxModel model = OnnxModel.Load(file.Path);
        using Tensor x = TestData.NormalTensor(3, shape);
        using InferenceSession session = InferenceSession.Create(model, shape);
        using Tensor y = Tensor.Zeros(session.OutputShape);
        output.WriteLine(session.ToString());
        AssertAllocatesNothing("onnx resnet18 Run(tensor, tensor)", () => session.Run(x, y));
    }

    /// <summary>
    /// Each conv's weights are held once, by its prepacked plan, not also in the constants buffer: the constants are
    /// at most the model's non-conv parameters, the plans at least its conv weights, and the native bytes the session
    /// holds after Create (measured) are its reported constants + plans + one execution context (the self-check's:
    /// the arena plus the native context's scratch). Dispose gives everything back.
    /// </summary>
    [Fact]
    public void Session_holds_conv_weights_once_and_reports_what_it_holds()
    {
        (Module model, int[] shape) = SessionTestModels.Build("resnet18");
        using (model)
        {
            long convWeightBytes = model.NamedModules().Select(m => m.Module).OfType<Conv2d>().Sum(c => c.Weight.Length * sizeof(float));
            Tensor[] parameters = [.. model.Parameters()];
            long otherParameterBytes = (parameters.Sum(p => p.Length) * sizeof(float)) - convWeightBytes;

            long before = Cnn.MemoryStats().LiveBytes;
            InferenceSession session = InferenceSession.Create(model, shape, new InferenceSessionOptions { NumThreads = 1 }); // one thread's scratch
            long held = Cnn.MemoryStats().LiveBytes - before;
            long contextBytes = held - session.WeightBytes - session.ArenaBytes; // the native context: struct and scratch
            output.WriteLine(session.ToString());
            output.WriteLine($"conv weights {convWeightBytes} B, other parameters {otherParameterBytes} B; native held {held} B = " +
                $"{session.ConstantBytes} constants + {session.ConvPlanBytes} plans + {session.ArenaBytes} arena + {contextBytes} context");

            Assert.Equal(session.ConstantBytes + session.ConvPlanBytes, session.WeightBytes);
            Assert.True(session.ConstantBytes <= otherParameterBytes + (parameters.Length * MemoryPlanner.Alignment),
                $"constants {session.ConstantBytes} B exceed the non-conv parameters ({otherParameterBytes} B): conv weights kept twice?");
            Assert.True(session.ConvPlanBytes >= convWeightBytes, $"plans {session.ConvPlanBytes} B hold less than the conv weights");
            Assert.True(contextBytes >= 0, $"the session holds {held} B, less than it reports ({session.WeightBytes} B + arena)");
            // The context's scratch (~3 MB here: im2col / Winograd tiles of one thread) is far below a second copy of the weights.
            Assert.True(contextBytes < convWeightBytes / 2,
                $"the session holds {contextBytes} B more than its constants, plans and arena: an unreported copy of the weights?");

            session.Dispose();
            Assert.Equal(before, Cnn.MemoryStats().LiveBytes);
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

    /// <summary>
    /// Warm-up, then <see cref="Runs"/> calls: 0 managed bytes on this thread, 0 native allocations. Warm-up is up to 10
    /// windows of <see cref="Runs"/> calls, until one allocates nothing: the runtime may allocate once on the calling
    /// thread when it re-compiles a hot method (tiered JIT; late under a busy test run). A per-call allocation shows in
    /// every window and fails the final one.
    /// </summary>
    private void AssertAllocatesNothing(string what, Action call)
    {
        int warmUp = 1;
        while (warmUp < 10 && Window(call) != (0, 0))
        {
            warmUp++;
        }

        (long managed, long native) = Window(call);
        output.WriteLine($"{what}: {Runs} calls after {warmUp} warm-up windows, {managed} managed bytes, {native} native allocations");
        Assert.Equal(0, managed);
        Assert.Equal(0, native);
    }

    private static (long Managed, long Native) Window(Action call)
    {
        NativeMemoryStats nativeBefore = Cnn.MemoryStats();
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Runs; i++)
        {
            call();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - managedBefore, Cnn.MemoryStats().TotalAllocations - nativeBefore.TotalAllocations);
    }
}
