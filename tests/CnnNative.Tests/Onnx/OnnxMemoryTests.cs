using CnnNative.Interop;
using CnnNative.Onnx;
using CnnNative.Onnx.Proto;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Onnx;

/// <summary>Loading, running and disposing ONNX models (and failing to) leaves native memory at its baseline.</summary>
[Collection(MemoryCollection.Name)]
public sealed class OnnxMemoryTests(ITestOutputHelper output)
{
    /// <summary>ConvRelu, then a per-channel Mul by a constant, Flatten, Gemm with transB=0 (a transposed copy).</summary>
    private static ModelProto Model()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        GraphProto g = model.Graph;
        g.Output[0] = OnnxFiles.Value("z", -1, 4);
        g.Initializer.Add(OnnxFiles.Floats("s", [3, 1, 1], [0.5f, 2f, -1f]));
        g.Initializer.Add(OnnxFiles.Floats("fw", [75, 4], Enumerable.Range(0, 300).Select(i => (i % 11) * 0.01f).ToArray()));
        g.Node.Add(OnnxFiles.Node("Mul", "scale", ["y", "s"], ["m"]));
        g.Node.Add(OnnxFiles.Node("Flatten", "flatten", ["m"], ["f"]));
        g.Node.Add(OnnxFiles.Node("Gemm", "fc", ["f", "fw"], ["z"]));
        return model;
    }

    [Fact]
    public void Load_run_dispose_and_rejected_files_leave_no_native_memory()
    {
        byte[] good = OnnxFiles.Bytes(Model());
        ModelProto bad = Model();
        bad.Graph.Node[^1].OpType = "Unknown"; // fails after the initializers became tensors
        byte[] rejected = OnnxFiles.Bytes(bad);
        // One untimed round first: the calling thread's native scratch grows to what the forward pass needs (a
        // reused buffer, not a leak), so the baseline holds it and the loop must come back to it exactly.
        using (OnnxModel warm = OnnxModel.Load(new MemoryStream(good)))
        using (Tensor x = TestData.NormalTensor(0, 2, 2, 5, 5))
        using (Tensor z = warm.Forward(x))
            Assert.Equal([2, 4], z.Shape);
        NativeMemoryStats baseline = MemoryBaseline.Settled();
        for (int i = 0; i < 20; i++)
        {
            using (OnnxModel model = OnnxModel.Load(new MemoryStream(good)))
            using (Tensor x = TestData.NormalTensor(i, 2, 2, 5, 5))
            using (Tensor z = model.Forward(x))
                Assert.Equal([2, 4], z.Shape);
            Assert.Throws<NotSupportedException>(() => OnnxModel.Load(new MemoryStream(rejected)));
        }

        MemoryBaseline.AssertReturnedTo(baseline, output, Cnn.Isa);
    }
}
